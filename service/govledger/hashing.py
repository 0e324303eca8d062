"""Content digests of records and certificates, and the algorithm codes that name them on chain.

Only a 32-byte digest of a document ever goes on chain. Which function produced it travels beside it as a
one-byte code, so a verifier holding the document knows how to recompute it:

    name        code  what
    sha256      1     FIPS 180-4 SHA-256
    keccak256   2     Ethereum's Keccak-256 (the pre-standard SHA-3 padding, as the EVM computes it)
    sm3         3     GB/T 32905-2016 SM3, the Chinese national standard digest (国密 SM3)

The codes are part of the contracts' ABI and of every proof bundle ever issued: never renumber them.

SM3 comes from OpenSSL through ``cryptography`` (already a dependency), which runs it at native speed; the
pure-Python packages on PyPI manage well under 1 MB/s, too slow for scanned documents of tens of megabytes.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from typing import BinaryIO, Protocol

import sha3 as _pysha3  # the safe-pysha3 distribution
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes

from govledger.errors import ConfigurationError, ValidationError

DIGEST_SIZE = 32

#: Enough to keep a read loop cheap without holding much of a large file in memory.
DEFAULT_CHUNK_SIZE = 1 << 20


class HashAlgorithm(IntEnum):
    """A digest algorithm; the integer value is its code on chain (``uint8``)."""

    SHA256 = 1
    KECCAK256 = 2
    SM3 = 3

    @property
    def label(self) -> str:
        """The lower-case name used in JSON and the API (``"sm3"``)."""
        return self.name.lower()

    @classmethod
    def from_name(cls, name: str) -> HashAlgorithm:
        """The algorithm called ``name`` (case-insensitive); ValidationError for an unknown name."""
        try:
            return cls[name.strip().upper()]
        except (KeyError, AttributeError):
            known = ", ".join(a.label for a in cls)
            raise ValidationError(
                f"unknown hash algorithm {name!r}; expected one of {known}", code="invalid_hash_algorithm"
            ) from None

    @classmethod
    def from_code(cls, code: int) -> HashAlgorithm:
        """The algorithm with on-chain code ``code``; ValidationError for an unknown code."""
        try:
            return cls(code)
        except ValueError:
            known = ", ".join(f"{a.value} ({a.label})" for a in cls)
            raise ValidationError(
                f"unknown hash algorithm code {code!r}; expected one of {known}", code="invalid_hash_algorithm"
            ) from None


class _Hasher(Protocol):
    def update(self, data: bytes) -> None: ...

    def finalize(self) -> bytes: ...


class _CryptographyHasher:
    """An incremental digest computed by OpenSSL (SHA-256 and SM3)."""

    def __init__(self, algorithm: hashes.HashAlgorithm):
        try:
            self._context = hashes.Hash(algorithm)
        except UnsupportedAlgorithm as exc:
            # Only a cryptography built against a trimmed system OpenSSL (a FIPS build, say) lacks SM3.
            raise ConfigurationError(
                f"the OpenSSL behind the 'cryptography' package does not provide {algorithm.name}"
            ) from exc

    def update(self, data: bytes) -> None:
        self._context.update(data)

    def finalize(self) -> bytes:
        return self._context.finalize()


class _KeccakHasher:
    """An incremental Keccak-256 (hashlib's sha3_256 uses the final SHA-3 padding, which differs)."""

    def __init__(self) -> None:
        self._state = _pysha3.keccak_256()

    def update(self, data: bytes) -> None:
        self._state.update(data)

    def finalize(self) -> bytes:
        return self._state.digest()


_HASHERS: dict[HashAlgorithm, Callable[[], _Hasher]] = {
    HashAlgorithm.SHA256: lambda: _CryptographyHasher(hashes.SHA256()),
    HashAlgorithm.KECCAK256: _KeccakHasher,
    HashAlgorithm.SM3: lambda: _CryptographyHasher(hashes.SM3()),
}


def _algorithm(algorithm: HashAlgorithm | str | int) -> HashAlgorithm:
    if isinstance(algorithm, HashAlgorithm):
        return algorithm
    if isinstance(algorithm, str):
        return HashAlgorithm.from_name(algorithm)
    return HashAlgorithm.from_code(algorithm)


def keccak256(data: bytes) -> bytes:
    """Ethereum's Keccak-256 of ``data``: the hash the EVM, ABI selectors and Merkle trees use.

    Straight from pysha3's C implementation: a Merkle batch of 1,000 records hashes about 3,000 times,
    and eth_hash's default backend costs ~9 us a call against ~1.7 us here.
    """
    return _pysha3.keccak_256(data).digest()


def digest(algorithm: HashAlgorithm | str | int, data: bytes) -> bytes:
    """The 32-byte digest of ``data``; ``algorithm`` is a HashAlgorithm, its name or its code."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ValidationError(f"digest needs bytes, got {type(data).__name__}")
    data = bytes(data)
    chosen = _algorithm(algorithm)
    if chosen is HashAlgorithm.KECCAK256:
        return keccak256(data)
    hasher = _HASHERS[chosen]()
    hasher.update(data)
    return hasher.finalize()


def digest_stream(
    algorithm: HashAlgorithm | str | int, stream: BinaryIO, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> bytes:
    """The digest of everything left to read in the binary file object ``stream``, a chunk at a time."""
    if chunk_size <= 0:
        raise ValidationError(f"chunk_size must be positive, got {chunk_size}")
    hasher = _HASHERS[_algorithm(algorithm)]()
    while chunk := stream.read(chunk_size):
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise ValidationError("digest_stream needs a file opened in binary mode")
        hasher.update(bytes(chunk))
    return hasher.finalize()


def parse_hash_hex(value: object) -> bytes:
    """The 32 bytes of a digest written as 64 hex digits, with or without ``0x``.

    Anything else (wrong length, non-hex characters, not a string) is a ValidationError with code
    ``invalid_hash``, so API callers learn exactly which field to fix.
    """
    if isinstance(value, str):
        digits = value[2:] if value.startswith("0x") else value
        if len(digits) == 2 * DIGEST_SIZE:
            try:
                raw = bytes.fromhex(digits)
            except ValueError:
                raw = b""
            # fromhex skips whitespace, so 64 characters with a space in them give fewer than 32 bytes.
            if len(raw) == DIGEST_SIZE:
                return raw
    shown = value if isinstance(value, str) and len(value) <= 80 else type(value).__name__
    raise ValidationError(
        f"expected a 32-byte hash as 64 hex digits (optionally 0x-prefixed), got {shown!r}", code="invalid_hash"
    )


def hash_hex(value: bytes) -> str:
    """A 32-byte digest as the ``0x``-prefixed lower-case hex used in JSON and on chain."""
    if len(value) != DIGEST_SIZE:
        raise ValidationError(f"expected {DIGEST_SIZE} bytes, got {len(value)}", code="invalid_hash")
    return "0x" + value.hex()
