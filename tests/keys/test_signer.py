"""LocalSigner produces exactly what eth_account produces, recovers to its own address and keeps its key."""

import copy
import pickle
from typing import Any

import pytest
from eth_account import Account
from eth_keys import KeyAPI
from eth_keys.backends import CoinCurveECCBackend
from eth_utils import keccak, to_checksum_address
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govledger.errors import GovLedgerError, KeystoreError, ValidationError
from govledger.keys import LocalSigner, SignedTransaction, Signer

SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
PRIVATE_KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
RECIPIENT = "0xF0109fC8DF283027b6285cc889F5aA624EaC1F55"

private_keys = st.integers(1, SECP256K1_ORDER - 1).map(lambda n: n.to_bytes(32, "big"))
uint64 = st.integers(0, 2**64 - 1)
uint256 = st.integers(0, 2**256 - 1)
addresses = st.binary(min_size=20, max_size=20)


def int_or_hex(values: st.SearchStrategy[int]) -> st.SearchStrategy[int | str]:
    """Integers as callers pass them: plain, or as 0x-hex strings (web3 does both)."""
    return st.one_of(values, values.map(hex))


recipients = st.one_of(
    addresses.map(to_checksum_address),  # usual case
    addresses,  # raw bytes are accepted too
    st.none(),  # contract creation, spelled explicitly
)
payloads = st.one_of(st.binary(max_size=300), st.binary(max_size=300).map(lambda b: "0x" + b.hex()))
access_lists = st.lists(
    st.fixed_dictionaries(
        {
            "address": addresses.map(to_checksum_address),
            "storageKeys": st.lists(int_or_hex(uint256), max_size=3),
        }
    ),
    max_size=3,
)


@st.composite
def transactions(draw: st.DrawFn, fee_fields: dict[str, st.SearchStrategy[Any]]) -> dict[str, Any]:
    tx: dict[str, Any] = {
        "chainId": draw(int_or_hex(st.integers(1, 2**64 - 1))),
        "nonce": draw(int_or_hex(uint64)),
        "gas": draw(int_or_hex(uint64)),
        "value": draw(int_or_hex(uint256)),
        "data": draw(payloads),
    }
    tx.update({name: draw(strategy) for name, strategy in fee_fields.items()})
    recipient = draw(st.one_of(st.just("absent"), recipients))
    if recipient != "absent":
        tx["to"] = recipient
    return tx


legacy_transactions = transactions({"gasPrice": int_or_hex(uint256)})
dynamic_fee_transactions = transactions(
    {
        "maxFeePerGas": int_or_hex(uint256),
        "maxPriorityFeePerGas": int_or_hex(uint256),
        "accessList": access_lists,
        "type": st.sampled_from([2, "0x2"]),
    }
)

property_settings = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("kind", [legacy_transactions, dynamic_fee_transactions], ids=["legacy", "eip1559"])
@property_settings
@given(private_key=private_keys, data=st.data())
def test_signed_transactions_are_byte_identical_to_eth_account(
    kind: st.SearchStrategy[dict[str, Any]], private_key: bytes, data: st.DataObject
) -> None:
    tx = data.draw(kind, label="tx")
    signer = LocalSigner(private_key)
    ours = signer.sign_transaction(tx)
    theirs = Account.sign_transaction(tx, private_key)
    assert ours.raw == bytes(theirs.raw_transaction)
    assert ours.tx_hash == theirs.hash.to_0x_hex()
    assert ours.tx_hash == "0x" + keccak(ours.raw).hex()
    assert Account.recover_transaction(ours.raw) == signer.address


def test_contract_creation_without_to_recovers_to_the_signer() -> None:
    signer = LocalSigner(PRIVATE_KEY)
    tx = {
        "chainId": 1337,
        "nonce": 0,
        "maxFeePerGas": 10**9,
        "maxPriorityFeePerGas": 10**9,
        "gas": 1_000_000,
        "data": bytes.fromhex("6080604052348015600f57600080fd5b50"),
    }
    signed = signer.sign_transaction(tx)
    assert signed.raw == bytes(Account.sign_transaction(tx, PRIVATE_KEY).raw_transaction)
    assert Account.recover_transaction(signed.raw) == signer.address
    assert Account.recover_transaction(signer.sign_transaction({**tx, "to": None}).raw) == signer.address


def test_known_legacy_vector_from_eth_account_docs_is_reproduced() -> None:
    tx = {
        "to": RECIPIENT,
        "value": 1000000000,
        "gas": 2000000,
        "gasPrice": 234567897654321,
        "nonce": 0,
        "chainId": 1337,
    }
    signed = LocalSigner(PRIVATE_KEY).sign_transaction(tx)
    assert signed.tx_hash == "0xd0a3e5dc7439f260c64cb0220139ec5dc7e016f82ce272a25a0f0b38fe751673"


def test_eth_keys_signs_with_the_coincurve_backend_so_the_comparison_is_fair() -> None:
    assert isinstance(KeyAPI().backend, CoinCurveECCBackend)
    assert isinstance(Account.from_key(PRIVATE_KEY)._key_obj.backend, CoinCurveECCBackend)


def test_address_is_the_eip55_address_of_the_key() -> None:
    assert LocalSigner(PRIVATE_KEY).address == Account.from_key(PRIVATE_KEY).address


def test_local_signer_satisfies_the_signer_protocol() -> None:
    assert isinstance(LocalSigner(PRIVATE_KEY), Signer)


def test_signed_transaction_is_immutable() -> None:
    signed = LocalSigner(PRIVATE_KEY).sign_transaction(
        {"chainId": 1, "nonce": 0, "gasPrice": 1, "gas": 21000, "to": RECIPIENT}
    )
    assert isinstance(signed, SignedTransaction)
    with pytest.raises(AttributeError):
        signed.raw = b""  # type: ignore[misc]


def test_repr_and_str_show_the_address_and_never_the_key() -> None:
    signer = LocalSigner(PRIVATE_KEY)
    for text in (repr(signer), str(signer), f"{signer}", f"{signer!r}"):
        assert signer.address in text
        assert PRIVATE_KEY.hex() not in text.lower()


def test_no_public_attribute_holds_the_key() -> None:
    signer = LocalSigner(PRIVATE_KEY)
    assert not hasattr(signer, "__dict__")
    for name in dir(signer):
        if name.startswith("_"):
            continue
        value = getattr(signer, name)
        assert PRIVATE_KEY not in (value if isinstance(value, bytes) else b""), name
        assert PRIVATE_KEY.hex() not in str(value).lower(), name


@pytest.mark.parametrize("duplicate", [pickle.dumps, copy.copy, copy.deepcopy])
def test_signer_refuses_to_be_pickled_or_copied(duplicate: Any) -> None:
    with pytest.raises(KeystoreError):
        duplicate(LocalSigner(PRIVATE_KEY))


@pytest.mark.parametrize("bad_key", [b"", b"\x01" * 31, b"\x00" * 32, SECP256K1_ORDER.to_bytes(32, "big")])
def test_invalid_private_keys_are_refused_without_echoing_them(bad_key: bytes) -> None:
    with pytest.raises(ValidationError) as caught:
        LocalSigner(bad_key)
    if bad_key:
        assert bad_key.hex() not in str(caught.value)


BASE_TX: dict[str, Any] = {"chainId": 1337, "nonce": 1, "gasPrice": 10**9, "gas": 21000, "to": RECIPIENT}


@pytest.mark.parametrize(
    "change",
    [
        {"chainId": None},  # unprotected transactions could be replayed on any chain
        {"chainId": 0},
        {"nonce": -1},
        {"nonce": 2**64},
        {"gas": True},
        {"gasPrice": "12"},  # decimal strings are ambiguous
        {"to": RECIPIENT.lower()},  # no checksum: could be a typo
        {"to": b"\x01" * 19},
        {"data": "0xabc"},
        {"data": 5},
        {"type": 1},
        {"accessList": []},  # type 1 (EIP-2930) is not supported
        {"maxFeePerGas": 1, "maxPriorityFeePerGas": 1},  # fee fields of both kinds
        {"blobVersionedHashes": []},
        {"from": "0x5B38Da6a701c568545dCfcB03FcB875f56beddC4"},
    ],
)
def test_malformed_transactions_are_refused_with_a_govledger_error(change: dict[str, Any]) -> None:
    tx = {key: value for key, value in {**BASE_TX, **change}.items() if value is not None}
    with pytest.raises(ValidationError):
        LocalSigner(PRIVATE_KEY).sign_transaction(tx)


def test_missing_fee_fields_are_refused() -> None:
    tx = {key: value for key, value in BASE_TX.items() if key != "gasPrice"}
    with pytest.raises(GovLedgerError):
        LocalSigner(PRIVATE_KEY).sign_transaction(tx)


def test_from_field_matching_the_signer_is_accepted() -> None:
    signer = LocalSigner(PRIVATE_KEY)
    with_from = signer.sign_transaction({**BASE_TX, "from": signer.address})
    assert with_from == signer.sign_transaction(BASE_TX)
