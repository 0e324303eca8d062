"""What an event is about, for people: ``record:0x5231…`` reads as ``record R-0001``, and back.

The indexer stores a subject as ``<kind>:<value>`` with the on-chain form of the value (bytes32 ids as
0x-hex). Records, certificates, datasets and grants have short readable ids packed into bytes32
(``govledger.shortids``), so an auditor can name them as they know them and still match the stored form.
"""

from __future__ import annotations

import re

from govledger.errors import ValidationError
from govledger.shortids import SHORT_ID_PATTERN, decode_short_id, short_id_hex

#: Kinds whose ids are short readable ids packed into bytes32.
SHORT_ID_KINDS = frozenset({"record", "certificate", "dataset", "grant"})
#: Kinds whose ids are 32-byte hashes (Merkle roots, request hashes).
HASH_KINDS = frozenset({"batch", "request"})
#: Every kind the indexer's mapping produces.
SUBJECT_KINDS = SHORT_ID_KINDS | HASH_KINDS | {"proposal", "account", "module", "department", "contract"}

_BYTES32_HEX = re.compile(r"^0x[0-9a-fA-F]{64}$")


def subject_label(subject: str | None) -> str | None:
    """``record R-0001``, ``batch 0x1f2e3d4c…``, ``proposal 12``; None for events without a subject."""
    if subject is None:
        return None
    kind, _, value = subject.partition(":")
    if kind in SHORT_ID_KINDS and _BYTES32_HEX.match(value):
        readable = decode_short_id(value)
        return f"{kind} {readable if SHORT_ID_PATTERN.match(readable) else _abbreviated(value)}"
    if kind in HASH_KINDS and _BYTES32_HEX.match(value):
        return f"{kind} {_abbreviated(value)}"
    return f"{kind} {value}"


def stored_subject(kind: str, identifier: str) -> str:
    """The stored subject for a kind and an id as people write it (``R-0001``) or as stored (0x-hex)."""
    if kind not in SUBJECT_KINDS:
        raise ValidationError(f"unknown subject kind {kind!r}; known: {', '.join(sorted(SUBJECT_KINDS))}")
    identifier = identifier.strip()
    if not identifier:
        raise ValidationError(f"the {kind} id is empty")
    if kind in SHORT_ID_KINDS and not _BYTES32_HEX.match(identifier):
        try:
            return f"{kind}:{short_id_hex(identifier)}"
        except ValueError:
            raise ValidationError(f"{identifier!r} is neither a {kind} id nor a 0x-prefixed bytes32") from None
    if kind in SHORT_ID_KINDS | HASH_KINDS:
        if not _BYTES32_HEX.match(identifier):
            raise ValidationError(f"a {kind} id must be a 0x-prefixed 32-byte hex value, got {identifier!r}")
        return f"{kind}:0x{identifier[2:].lower()}"
    if kind == "proposal" and not identifier.isdigit():
        raise ValidationError(f"a proposal id is a number, got {identifier!r}")
    return f"{kind}:{identifier}"


def parse_subject(text: str) -> str:
    """A subject filter ``kind:id`` (``record:R-0001`` or ``record:0x…``) in its stored form."""
    kind, separator, identifier = text.strip().partition(":")
    if not separator:
        raise ValidationError(f"a subject is written kind:id, e.g. record:R-0001; got {text!r}")
    return stored_subject(kind, identifier)


def _abbreviated(hex_value: str) -> str:
    return f"{hex_value[:10]}…{hex_value[-4:]}"
