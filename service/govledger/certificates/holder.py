"""The holder commitment: a salted hash of the holder's identity number, the only trace of the holder on chain.

The salt stays with the holder (printed on the certificate or kept in their wallet), never in the service's
database. Without it the commitment cannot be linked to a person, so deleting the salt is erasure under
personal-information law; with it, anyone the holder shows it to can check that the certificate is theirs.

    commitment = SHA-256("govledger-holder-v1" ‖ 0x00 ‖ salt ‖ 0x00 ‖ normalised id number)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata

from govledger.errors import ValidationError

DOMAIN = b"govledger-holder-v1"
SALT_BYTES = 16


def new_salt() -> str:
    return secrets.token_hex(SALT_BYTES)


def _normalise(id_number: str) -> bytes:
    text = unicodedata.normalize("NFKC", id_number).strip().upper()
    if not 4 <= len(text) <= 64:
        raise ValidationError("the identity number must be 4-64 characters", code="invalid_holder")
    return text.encode("utf-8")


def holder_commitment(id_number: str, salt: str) -> str:
    """The 0x-hex commitment to ``id_number`` under ``salt``."""
    if not 16 <= len(salt) <= 128:
        raise ValidationError("the holder salt must be 16-128 characters", code="invalid_holder")
    digest = hashlib.sha256(DOMAIN + b"\0" + salt.encode("utf-8") + b"\0" + _normalise(id_number)).digest()
    return "0x" + digest.hex()


def holder_matches(commitment: str, id_number: str, salt: str) -> bool:
    """Constant-time comparison, so timing says nothing about how close a guess was."""
    return hmac.compare_digest(holder_commitment(id_number, salt).lower(), commitment.lower())
