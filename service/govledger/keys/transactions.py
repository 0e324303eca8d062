"""Turning an Ethereum transaction dict into the bytes a signer hashes and the raw bytes a node accepts.

Signing must keep up with thousands of transactions per second, and ``eth_account`` spends most of its
~300 µs per signature validating and re-shaping dicts through several layers of generic serializers.
This module does the same job directly: it checks the dict once, RLP-encodes the fields once, and
reuses that encoding for both the signing digest and the signed transaction. The tests prove the
output is byte-identical to ``eth_account.Account.sign_transaction`` on random transactions.

Two transaction kinds are supported, both replay-protected (``chainId`` is required):

* legacy (EIP-155): ``gasPrice``, optional ``type`` 0;
* dynamic fee (EIP-1559, type 2): ``maxFeePerGas`` and ``maxPriorityFeePerGas``, optional ``accessList``.

Common fields: ``chainId``, ``nonce``, ``gas``, ``value`` (default 0), ``data`` (default empty) and
``to`` (absent, ``None`` or empty for contract creation). Integers may be given as ``int`` or
``"0x..."`` strings; ``data`` as bytes or a ``"0x..."`` string; ``to`` as an EIP-55 checksum string
or 20 raw bytes. A ``from`` field is accepted only if it is the signer's own address.

An HSM or KMS signer can use ``UnsignedTransaction`` too: hash ``signing_hash`` remotely, then call
``encode_signed`` with the recovery id, r and s it returns.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_hash.auto import keccak
from eth_utils import is_checksum_address

from govledger.errors import ValidationError

LEGACY_TYPE = 0
DYNAMIC_FEE_TYPE = 2

_UINT256_LIMIT = 1 << 256
_UINT64_LIMIT = 1 << 64

_COMMON_KEYS = frozenset({"chainId", "nonce", "gas", "to", "value", "data", "type", "from"})
_LEGACY_KEYS = _COMMON_KEYS | {"gasPrice"}
_DYNAMIC_FEE_KEYS = _COMMON_KEYS | {"maxFeePerGas", "maxPriorityFeePerGas", "accessList"}

# RLP item: a byte string or a (nested) list of items.
RlpItem = bytes | Sequence["RlpItem"]


@dataclass(frozen=True, slots=True)
class UnsignedTransaction:
    """A validated transaction, RLP-encoded once, ready to be hashed and wrapped with a signature."""

    transaction_type: int
    chain_id: int
    encoded_fields: bytes
    """Concatenated RLP encodings of the unsigned fields, without the enclosing list header."""

    def signing_hash(self) -> bytes:
        """The 32-byte digest the sender signs (EIP-155 for legacy, EIP-2718/1559 for type 2)."""
        if self.transaction_type == LEGACY_TYPE:
            # EIP-155: chainId, 0, 0 appended in place of v, r, s bind the signature to one chain.
            tail = encode_uint(self.chain_id) + b"\x80\x80"
            return keccak(_wrap_list(self.encoded_fields + tail))
        return keccak(bytes((self.transaction_type,)) + _wrap_list(self.encoded_fields))

    def encode_signed(self, recovery_id: int, r: int, s: int) -> bytes:
        """The raw signed transaction, as ``eth_sendRawTransaction`` expects it."""
        if self.transaction_type == LEGACY_TYPE:
            v = recovery_id + 35 + 2 * self.chain_id
            return _wrap_list(self.encoded_fields + encode_uint(v) + encode_uint(r) + encode_uint(s))
        signature = encode_uint(recovery_id) + encode_uint(r) + encode_uint(s)
        return bytes((self.transaction_type,)) + _wrap_list(self.encoded_fields + signature)


def parse_transaction(tx: Mapping[str, Any], sender: str) -> UnsignedTransaction:
    """Validate ``tx`` (sent by ``sender``) and encode its unsigned fields.

    Raises ``ValidationError`` naming the offending field but not its value, which may be kilobytes
    of calldata.
    """
    transaction_type = _transaction_type(tx)
    allowed = _LEGACY_KEYS if transaction_type == LEGACY_TYPE else _DYNAMIC_FEE_KEYS
    unknown = tx.keys() - allowed
    if unknown:
        raise ValidationError(f"transaction has unsupported fields: {sorted(unknown)}")
    if "from" in tx and tx["from"] != sender:
        raise ValidationError(f"transaction 'from' is not the signer's address {sender}")

    chain_id = _uint(tx, "chainId", _UINT64_LIMIT, required=True)
    if chain_id == 0:
        raise ValidationError("transaction 'chainId' must be positive")
    nonce = _uint(tx, "nonce", _UINT64_LIMIT, required=True)
    gas = _uint(tx, "gas", _UINT64_LIMIT, required=True)
    to = _recipient(tx.get("to"))
    value = _uint(tx, "value", _UINT256_LIMIT)
    data = _data(tx.get("data", b""))

    if transaction_type == LEGACY_TYPE:
        gas_price = _uint(tx, "gasPrice", _UINT256_LIMIT, required=True)
        encoded = b"".join(
            (
                encode_uint(nonce),
                encode_uint(gas_price),
                encode_uint(gas),
                rlp_encode(to),
                encode_uint(value),
                rlp_encode(data),
            )
        )
    else:
        encoded = b"".join(
            (
                encode_uint(chain_id),
                encode_uint(nonce),
                encode_uint(_uint(tx, "maxPriorityFeePerGas", _UINT256_LIMIT, required=True)),
                encode_uint(_uint(tx, "maxFeePerGas", _UINT256_LIMIT, required=True)),
                encode_uint(gas),
                rlp_encode(to),
                encode_uint(value),
                rlp_encode(data),
                rlp_encode(_access_list(tx.get("accessList", ()))),
            )
        )
    return UnsignedTransaction(transaction_type, chain_id, encoded)


def _transaction_type(tx: Mapping[str, Any]) -> int:
    declared = tx.get("type")
    if declared is None:
        if "maxFeePerGas" in tx or "maxPriorityFeePerGas" in tx:
            return DYNAMIC_FEE_TYPE
        if "gasPrice" in tx:
            return LEGACY_TYPE
        raise ValidationError("transaction needs 'gasPrice' (legacy) or 'maxFeePerGas' (EIP-1559)")
    transaction_type = _to_int("type", declared)
    if transaction_type not in (LEGACY_TYPE, DYNAMIC_FEE_TYPE):
        raise ValidationError(f"transaction type {transaction_type} is not supported (only 0 and 2)")
    return transaction_type


def _to_int(field: str, raw: Any) -> int:
    # bool is an int subclass; True as a nonce is a bug, not a value.
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw[:2] in ("0x", "0X") and len(raw) > 2:
        try:
            return int(raw[2:], 16)
        except ValueError:
            pass
    raise ValidationError(f"transaction field '{field}' must be an integer or a 0x-prefixed hex string")


def _uint(tx: Mapping[str, Any], field: str, limit: int, *, required: bool = False) -> int:
    raw = tx.get(field)
    if raw is None:
        if required:
            raise ValidationError(f"transaction field '{field}' is required")
        return 0
    number = _to_int(field, raw)
    if not 0 <= number < limit:
        raise ValidationError(f"transaction field '{field}' is out of range")
    return number


def _recipient(raw: Any) -> bytes:
    if raw is None or raw in ("", b""):
        return b""  # contract creation
    return _address_bytes("to", raw)


def _address_bytes(field: str, raw: Any) -> bytes:
    if isinstance(raw, bytes | bytearray) and len(raw) == 20:
        return bytes(raw)
    if isinstance(raw, str) and _is_checksum_address(raw):
        return bytes.fromhex(raw[2:])
    raise ValidationError(f"transaction field '{field}' must be a checksum address or 20 bytes")


@functools.lru_cache(maxsize=4096)
def _is_checksum_address(text: str) -> bool:
    # Demanding the EIP-55 checksum catches mistyped addresses before value is sent to nowhere. The
    # check costs a keccak; the same few contract addresses recur in nearly every transaction, so cache.
    return bool(is_checksum_address(text))


def _data(raw: Any) -> bytes:
    if isinstance(raw, bytes | bytearray):
        return bytes(raw)
    if isinstance(raw, str) and raw[:2] in ("0x", "0X"):
        try:
            return bytes.fromhex(raw[2:])
        except ValueError:
            pass
    raise ValidationError("transaction field 'data' must be bytes or an even-length 0x-prefixed hex string")


def _access_list(raw: Any) -> list[RlpItem]:
    if isinstance(raw, str | bytes) or not isinstance(raw, Sequence):
        raise ValidationError("transaction field 'accessList' must be a list")
    entries: list[RlpItem] = []
    for entry in raw:
        if not isinstance(entry, Mapping) or entry.keys() != {"address", "storageKeys"}:
            raise ValidationError("each 'accessList' entry needs exactly 'address' and 'storageKeys'")
        keys = entry["storageKeys"]
        if isinstance(keys, str | bytes) or not isinstance(keys, Sequence):
            raise ValidationError("'accessList' storageKeys must be a list")
        slots: list[RlpItem] = []
        for key in keys:
            slot = _to_int("accessList.storageKeys", key)
            if not 0 <= slot < _UINT256_LIMIT:
                raise ValidationError("transaction field 'accessList.storageKeys' is out of range")
            slots.append(slot.to_bytes(32, "big"))  # storage keys are fixed 32-byte words
        entries.append([_address_bytes("accessList.address", entry["address"]), slots])
    return entries


def encode_uint(number: int) -> bytes:
    """RLP encoding of a non-negative integer (big-endian, no leading zeros; zero is the empty string)."""
    if number < 0x80:
        return b"\x80" if number == 0 else bytes((number,))
    payload = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return _length_header(len(payload), 0x80) + payload


def rlp_encode(item: RlpItem) -> bytes:
    """RLP encoding of a byte string or a nested list of them (the Ethereum yellow paper, appendix B)."""
    if isinstance(item, bytes):
        if len(item) == 1 and item[0] < 0x80:
            return item
        return _length_header(len(item), 0x80) + item
    return _wrap_list(b"".join(rlp_encode(element) for element in item))


def _wrap_list(encoded_items: bytes) -> bytes:
    return _length_header(len(encoded_items), 0xC0) + encoded_items


def _length_header(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes((offset + length,))
    length_bytes = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((offset + 55 + len(length_bytes),)) + length_bytes
