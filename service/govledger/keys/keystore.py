"""The encrypted key directory: each department's signing keys, encrypted at rest, unlocked once at start-up.

File format "govledger-keystore-1" — one JSON file per key, named ``<checksum address>.json``::

    {
      "format": "govledger-keystore-1",
      "version": 1,
      "address": "0x5B38Da6a701c568545dCfcB03FcB875f56beddC4",   EIP-55 checksum address of the key
      "department": "CS-MSA",                                     department code that owns the key
      "label": "records signer",                                  free text for operators
      "created_at": "2025-01-31T12:00:00+00:00",                  ISO 8601, UTC
      "kdf": {"name": "scrypt", "n": 32768, "r": 8, "p": 1, "salt": "<32 hex bytes>"},
      "cipher": {"name": "aes-256-gcm", "nonce": "<12 hex bytes>"},
      "ciphertext": "<hex: the 32-byte private key encrypted, followed by the 16-byte GCM tag>"
    }

The AES-256-GCM key is scrypt(passphrase, salt) with a fresh random salt and nonce per file. The header
fields ``format``, ``address``, ``department``, ``label`` and ``created_at`` are bound to the ciphertext
as GCM associated data, so a file whose header was edited (say, a key moved to another department) or
whose ciphertext was swapped in from another file fails to decrypt instead of silently signing for the
wrong department. After decryption the key's derived address must equal the header's and the file name.

Passphrases are normalised to Unicode NFC before use so the same passphrase typed on different
systems derives the same key. They are accepted as ``str`` or pydantic ``SecretStr`` and never appear
in an exception, repr or log line. Files are written atomically with mode 0600 in a 0700 directory.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import coincurve
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from eth_utils import is_address, to_checksum_address
from pydantic import SecretStr

from govledger.errors import ConfigurationError, ConflictError, KeystoreError, NotFoundError, ValidationError
from govledger.keys.signer import PRIVATE_KEY_LENGTH, LocalSigner

logger = logging.getLogger(__name__)

FORMAT = "govledger-keystore-1"
VERSION = 1
DEFAULT_SCRYPT_N = 2**15
DEFAULT_SCRYPT_R = 8
DEFAULT_SCRYPT_P = 1
# Upper bounds on parameters read from a file: a hostile file must not be able to make start-up
# allocate gigabytes or run for hours inside scrypt.
_MAX_SCRYPT_N = 2**20
_MAX_SCRYPT_R = 32
_MAX_SCRYPT_P = 16
_SALT_LENGTH = 32
_NONCE_LENGTH = 12
_AES_KEY_LENGTH = 32
_DEPARTMENT_PATTERN = re.compile(r"[A-Z0-9]+(?:-[A-Z0-9]+)*")
_MAX_DEPARTMENT_LENGTH = 32
_MAX_LABEL_LENGTH = 200

Passphrase = str | SecretStr


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What is known about a stored key without decrypting it."""

    address: str
    department: str
    label: str
    created_at: datetime
    path: Path


@dataclass(frozen=True, slots=True)
class _KeyFile:
    """A parsed, structurally valid key file (header plus the encrypted parts)."""

    info: KeyInfo
    scrypt_n: int
    scrypt_r: int
    scrypt_p: int
    salt: bytes
    nonce: bytes
    ciphertext: bytes


class Keystore:
    """A directory of encrypted signing keys, one file per key."""

    def __init__(
        self,
        directory: Path,
        *,
        scrypt_n: int = DEFAULT_SCRYPT_N,
        scrypt_r: int = DEFAULT_SCRYPT_R,
        scrypt_p: int = DEFAULT_SCRYPT_P,
    ) -> None:
        """``scrypt_*`` apply to keys written from now on; each file records its own parameters."""
        if not _scrypt_parameters_acceptable(scrypt_n, scrypt_r, scrypt_p):
            raise ConfigurationError(f"scrypt parameters n={scrypt_n}, r={scrypt_r}, p={scrypt_p} are out of range")
        self.directory = Path(directory)
        self._scrypt = (scrypt_n, scrypt_r, scrypt_p)

    def __repr__(self) -> str:
        return f"Keystore(directory={str(self.directory)!r})"

    def create_key(self, department: str, passphrase: Passphrase, label: str = "") -> KeyInfo:
        """Generate a fresh key for ``department``, store it encrypted and describe it."""
        return self.import_key(department, coincurve.PrivateKey().secret, passphrase, label)

    def import_key(self, department: str, private_key: bytes, passphrase: Passphrase, label: str = "") -> KeyInfo:
        """Store an existing key encrypted; refuses a key that is already in the keystore."""
        _check_department(department)
        _check_label(label)
        address = LocalSigner(private_key).address  # also validates the key
        path = self._path_for(address)
        if path.exists():
            raise ConflictError(f"key {address} is already in the keystore ({path.name})")

        scrypt_n, scrypt_r, scrypt_p = self._scrypt
        salt = secrets.token_bytes(_SALT_LENGTH)
        nonce = secrets.token_bytes(_NONCE_LENGTH)
        created_at = datetime.now(UTC).replace(microsecond=0)
        info = KeyInfo(address, department, label, created_at, path)
        aes_key = _derive_key(_passphrase_bytes(passphrase), salt, scrypt_n, scrypt_r, scrypt_p)
        ciphertext = AESGCM(aes_key).encrypt(nonce, bytes(private_key), _associated_data(info))
        document = {
            "format": FORMAT,
            "version": VERSION,
            "address": address,
            "department": department,
            "label": label,
            "created_at": created_at.isoformat(),
            "kdf": {"name": "scrypt", "n": scrypt_n, "r": scrypt_r, "p": scrypt_p, "salt": salt.hex()},
            "cipher": {"name": "aes-256-gcm", "nonce": nonce.hex()},
            "ciphertext": ciphertext.hex(),
        }
        self._write_new_file(path, json.dumps(document, indent=2).encode() + b"\n")
        logger.info("stored key %s for department %s in %s", address, department, path.name)
        return info

    def list_keys(self) -> list[KeyInfo]:
        """Every stored key, from the file headers only (nothing is decrypted)."""
        return [key_file.info for key_file in self._read_all()]

    def unlock_all(self, passphrase: Passphrase) -> dict[str, LocalSigner]:
        """Decrypt every key once; any file that does not decrypt stops start-up with a KeystoreError."""
        secret = _passphrase_bytes(passphrase)
        signers: dict[str, LocalSigner] = {}
        for key_file in self._read_all():
            signer = _decrypt(key_file, secret)
            signers[signer.address] = signer
        logger.info("unlocked %d key(s) from %s", len(signers), self.directory)
        return signers

    def remove_key(self, address: str) -> None:
        """Delete a key file. The key is gone for good unless it is backed up elsewhere."""
        if not isinstance(address, str) or not is_address(address):
            raise ValidationError("not an Ethereum address")
        path = self._path_for(to_checksum_address(address))
        try:
            path.unlink()
        except FileNotFoundError:
            raise NotFoundError(f"no key {to_checksum_address(address)} in the keystore") from None
        except OSError as exc:
            raise KeystoreError(f"cannot remove {path.name}: {exc.strerror}") from None
        _fsync_directory(self.directory)
        logger.info("removed key %s", path.stem)

    def _path_for(self, address: str) -> Path:
        return self.directory / f"{address}.json"

    def _read_all(self) -> list[_KeyFile]:
        if not self.directory.is_dir():
            return []
        # Temporary files start with a dot, so a crash mid-write never shows up as a half-written key.
        paths = sorted(p for p in self.directory.glob("*.json") if not p.name.startswith("."))
        key_files = [_read_key_file(path) for path in paths]
        key_files.sort(key=lambda k: (k.info.department, k.info.created_at, k.info.address))
        return key_files

    def _write_new_file(self, path: Path, content: bytes) -> None:
        self._ensure_directory()
        descriptor, temporary = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=self.directory)
        try:
            # mkstemp already creates the file 0600; chmod anyway so the guarantee does not rest on it.
            os.fchmod(descriptor, 0o600)
            with os.fdopen(descriptor, "wb") as stream:
                stream.write(content)
                stream.flush()
                os.fsync(stream.fileno())
            # os.link (unlike os.replace) refuses to overwrite, so two concurrent imports of the same
            # key cannot clobber each other; the rename is just as atomic.
            os.link(temporary, path)
        except FileExistsError:
            raise ConflictError(f"key file {path.name} already exists") from None
        except OSError as exc:
            raise KeystoreError(f"cannot write {path.name}: {exc.strerror}") from None
        finally:
            Path(temporary).unlink(missing_ok=True)
        _fsync_directory(self.directory)

    def _ensure_directory(self) -> None:
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(self.directory, 0o700)  # mkdir's mode is filtered by the umask; be explicit
        except OSError as exc:
            raise KeystoreError(f"cannot prepare keystore directory {self.directory}: {exc.strerror}") from None


def _read_key_file(path: Path) -> _KeyFile:
    try:
        document = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise KeystoreError(f"{path.name} is not a readable keystore file: {exc}") from None
    try:
        return _parse_document(document, path)
    except (KeyError, TypeError, ValueError) as exc:
        raise KeystoreError(f"{path.name} is not a valid {FORMAT} file: {exc}") from None


def _parse_document(document: Any, path: Path) -> _KeyFile:
    if not isinstance(document, dict) or document.get("format") != FORMAT or document.get("version") != VERSION:
        raise ValueError(f"expected format {FORMAT!r} version {VERSION}")
    kdf, cipher = document["kdf"], document["cipher"]
    if kdf["name"] != "scrypt" or cipher["name"] != "aes-256-gcm":
        raise ValueError("unsupported kdf or cipher")
    scrypt_n, scrypt_r, scrypt_p = (_strict_int(kdf[name]) for name in ("n", "r", "p"))
    if not _scrypt_parameters_acceptable(scrypt_n, scrypt_r, scrypt_p):
        raise ValueError(f"scrypt parameters n={scrypt_n}, r={scrypt_r}, p={scrypt_p} are out of range")
    address, department, label = document["address"], document["department"], document["label"]
    if not isinstance(address, str) or not is_address(address) or address != to_checksum_address(address):
        raise ValueError("address is not a checksum address")
    if not isinstance(department, str) or not isinstance(label, str):
        raise ValueError("department and label must be strings")
    created_at = datetime.fromisoformat(document["created_at"])
    info = KeyInfo(address, department, label, created_at, path)
    return _KeyFile(
        info=info,
        scrypt_n=scrypt_n,
        scrypt_r=scrypt_r,
        scrypt_p=scrypt_p,
        salt=bytes.fromhex(kdf["salt"]),
        nonce=bytes.fromhex(cipher["nonce"]),
        ciphertext=bytes.fromhex(document["ciphertext"]),
    )


def _decrypt(key_file: _KeyFile, passphrase: bytes) -> LocalSigner:
    info = key_file.info
    aes_key = _derive_key(passphrase, key_file.salt, key_file.scrypt_n, key_file.scrypt_r, key_file.scrypt_p)
    try:
        private_key = AESGCM(aes_key).decrypt(key_file.nonce, key_file.ciphertext, _associated_data(info))
    except (InvalidTag, ValueError):
        raise KeystoreError(f"cannot decrypt {info.path.name}: wrong passphrase, or the file was modified") from None
    if len(private_key) != PRIVATE_KEY_LENGTH:
        raise KeystoreError(f"{info.path.name} holds a key of the wrong length")
    signer = LocalSigner(private_key)
    # GCM already authenticates the header; this catches a correctly encrypted file that was
    # renamed, so the file name an operator sees is always the address that will sign.
    if signer.address != info.address or info.path.stem != info.address:
        raise KeystoreError(f"{info.path.name} does not hold the key for the address it names")
    return signer


def _derive_key(passphrase: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    try:
        return Scrypt(salt=salt, length=_AES_KEY_LENGTH, n=n, r=r, p=p).derive(passphrase)
    except (ValueError, MemoryError) as exc:
        raise KeystoreError(f"scrypt key derivation failed: {type(exc).__name__}") from None


def _associated_data(info: KeyInfo) -> bytes:
    # A JSON array is unambiguous: no choice of label can make two different headers encode alike.
    header = [FORMAT, info.address, info.department, info.label, info.created_at.isoformat()]
    return json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode()


def _passphrase_bytes(passphrase: Passphrase) -> bytes:
    text = passphrase.get_secret_value() if isinstance(passphrase, SecretStr) else passphrase
    if not isinstance(text, str):
        raise ValidationError("the passphrase must be a str or SecretStr")
    if not text:
        raise ValidationError("the passphrase must not be empty")
    return unicodedata.normalize("NFC", text).encode()


def _strict_int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("scrypt parameters must be integers")
    return value


def _scrypt_parameters_acceptable(n: int, r: int, p: int) -> bool:
    power_of_two = n > 1 and n & (n - 1) == 0
    return power_of_two and n <= _MAX_SCRYPT_N and 1 <= r <= _MAX_SCRYPT_R and 1 <= p <= _MAX_SCRYPT_P


def _check_department(department: str) -> None:
    if (
        not isinstance(department, str)
        or len(department) > _MAX_DEPARTMENT_LENGTH
        or not _DEPARTMENT_PATTERN.fullmatch(department)
    ):
        raise ValidationError("a department code is upper-case letters and digits in dash-separated parts")


def _check_label(label: str) -> None:
    if not isinstance(label, str) or len(label) > _MAX_LABEL_LENGTH or not label.isprintable():
        raise ValidationError(f"a label is printable text of at most {_MAX_LABEL_LENGTH} characters")


def _fsync_directory(directory: Path) -> None:
    # Without this a power cut right after the write can lose the new directory entry.
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
