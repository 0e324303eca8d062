"""Who signs a department's transactions: the ``Signer`` protocol and the in-process ``LocalSigner``.

The rest of govledger depends only on ``Signer`` so an HSM or cloud KMS signer can replace
``LocalSigner`` later without touching callers. ``LocalSigner`` holds a decrypted secp256k1 key in
memory and signs with libsecp256k1 through ``coincurve`` directly, skipping ``eth_account``'s generic
layers (see ``transactions`` for why and ``scripts/bench-signing`` for the measured difference).

A ``LocalSigner`` is deliberately hard to leak: its repr and str show only the address, it has no
attribute dict and no public attribute holding the key, and it refuses to be pickled or copied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol, runtime_checkable

import coincurve
from eth_hash.auto import keccak
from eth_utils import to_checksum_address

from govledger.errors import KeystoreError, ValidationError
from govledger.keys.transactions import parse_transaction

PRIVATE_KEY_LENGTH = 32


@dataclass(frozen=True, slots=True)
class SignedTransaction:
    """A signed transaction ready for ``eth_sendRawTransaction``."""

    raw: bytes
    tx_hash: str
    """``0x``-prefixed keccak of ``raw``: the hash the node will report for this transaction."""


@runtime_checkable
class Signer(Protocol):
    """Anything that can sign Ethereum transactions for one address."""

    @property
    def address(self) -> str:
        """The EIP-55 checksum address the signatures recover to."""
        ...

    def sign_transaction(self, tx: Mapping[str, Any]) -> SignedTransaction:
        """Sign a legacy (``gasPrice``) or EIP-1559 (``maxFeePerGas``) transaction dict."""
        ...


class LocalSigner:
    """Signs with a private key held in this process's memory."""

    __slots__ = ("__key", "_address")

    def __init__(self, private_key: bytes) -> None:
        if not isinstance(private_key, bytes | bytearray) or len(private_key) != PRIVATE_KEY_LENGTH:
            raise ValidationError(f"a private key must be {PRIVATE_KEY_LENGTH} bytes")
        try:
            self.__key = coincurve.PrivateKey(bytes(private_key))
        except ValueError:
            # coincurve's message does not contain the key, but do not chain it anyway: less to audit.
            raise ValidationError("the private key is not a valid secp256k1 scalar") from None
        self._address = address_of(self.__key.public_key)

    @property
    def address(self) -> str:
        return self._address

    def sign_transaction(self, tx: Mapping[str, Any]) -> SignedTransaction:
        unsigned = parse_transaction(tx, self._address)
        # The digest is already keccak-256, so coincurve must not hash it again (hasher=None).
        # libsecp256k1 signs deterministically (RFC 6979) with low-s, exactly as eth_keys does.
        signature = self.__key.sign_recoverable(unsigned.signing_hash(), hasher=None)
        raw = unsigned.encode_signed(
            signature[64], int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:64], "big")
        )
        return SignedTransaction(raw=raw, tx_hash="0x" + keccak(raw).hex())

    def __repr__(self) -> str:
        return f"LocalSigner(address={self._address!r})"

    def __str__(self) -> str:
        return self._address

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        # Pickling would write the key in the clear to wherever the bytes go (caches, queues, disk).
        raise KeystoreError("a LocalSigner cannot be pickled or copied; unlock the keystore instead")


def address_of(public_key: coincurve.PublicKey) -> str:
    """The checksum Ethereum address of a secp256k1 public key (last 20 bytes of its keccak)."""
    uncompressed = public_key.format(compressed=False)[1:]  # drop the 0x04 prefix byte
    return to_checksum_address(keccak(uncompressed)[-20:])
