"""The indexer's prepared log decoder gives exactly what each contract's own ABI interface gives, for every event.

The decoder reads one-word arguments straight from the log for speed; these tests encode every event of
every system contract with eth_abi and compare the two decoders value for value, including malformed
words (which must fail the same way) and events the fast path leaves to eth_abi.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

from govledger.chain.abi import ContractInterface, canonical_type
from govledger.chain.artifacts import SYSTEM_CONTRACTS, load_artifact
from govledger.chain.client import LogEntry
from govledger.indexer.mapping import LogDecoder

ADDRESSES = {name: to_checksum_address(f"0x{index + 1:040x}") for index, name in enumerate(SYSTEM_CONTRACTS)}


def sample(abi_type: str, rng: random.Random, param: dict[str, Any]) -> Any:
    """A random value of ``abi_type`` that eth_abi can encode."""
    if abi_type.endswith("]"):
        element = abi_type[: abi_type.rindex("[")]
        size = abi_type[abi_type.rindex("[") + 1 : -1]
        return [sample(element, rng, param) for _ in range(int(size) if size else rng.randint(0, 3))]
    if abi_type.startswith("("):
        return tuple(sample(canonical_type(c), rng, c) for c in param["components"])
    if abi_type.startswith("uint"):
        return rng.getrandbits(int(abi_type[4:]))
    if abi_type.startswith("int"):
        bits = int(abi_type[3:])
        return rng.randint(-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    if abi_type == "address":
        return to_checksum_address(rng.randbytes(20))
    if abi_type == "bool":
        return rng.random() < 0.5
    if abi_type == "string":
        return "".join(rng.choice("abcé ") for _ in range(rng.randint(0, 40)))
    if abi_type == "bytes":
        return rng.randbytes(rng.randint(0, 70))
    if abi_type.startswith("bytes"):
        return rng.randbytes(int(abi_type[5:]))
    raise AssertionError(f"no sample for {abi_type}")


def event_log(contract: str, entry: dict[str, Any], rng: random.Random) -> LogEntry:
    types = [canonical_type(p) for p in entry["inputs"]]
    topics = [keccak(text=f"{entry['name']}({','.join(types)})")]
    data_types, data_values = [], []
    for param, abi_type in zip(entry["inputs"], types, strict=True):
        value = sample(abi_type, rng, param)
        if not param["indexed"]:
            data_types.append(abi_type)
            data_values.append(value)
        elif abi_type in ("string", "bytes") or abi_type.endswith("]") or abi_type.startswith("("):
            topics.append(keccak(abi_encode([abi_type], [value])))
        else:
            topics.append(abi_encode([abi_type], [value]))
    data = abi_encode(data_types, data_values)
    return LogEntry(
        ADDRESSES[contract], tuple(topics), data, block_number=1, block_hash="0x", tx_hash="0x", log_index=0
    )


def system_events() -> list[tuple[str, dict[str, Any]]]:
    return [(name, entry) for name in SYSTEM_CONTRACTS for entry in load_artifact(name).abi if entry["type"] == "event"]


@pytest.fixture(scope="module")
def decoder() -> LogDecoder:
    return LogDecoder({address: (name, load_artifact(name).interface) for name, address in ADDRESSES.items()})


def interface(contract: str) -> ContractInterface:
    return load_artifact(contract).interface


@pytest.mark.parametrize(("contract", "entry"), system_events(), ids=lambda v: v if isinstance(v, str) else v["name"])
def test_every_system_event_decodes_as_its_contract_interface_decodes_it(
    decoder: LogDecoder, contract: str, entry: dict[str, Any]
):
    rng = random.Random(f"{contract}.{entry['name']}")
    for _ in range(25):
        log = event_log(contract, entry, rng)
        decoded = decoder.decode(log)
        assert decoded is not None
        name, event = decoded
        expected = interface(contract).decode_log(log.topics, log.data)
        assert name == contract
        assert event == expected
        assert list(event.args) == list(expected.args)  # same order too: indexed arguments first
        assert [type(v) for v in event.args.values()] == [type(v) for v in expected.args.values()]


def test_a_malformed_word_fails_exactly_as_the_interface_fails(decoder: LogDecoder):
    entry = next(e for _, e in system_events() if e["name"] == "CertificateIssued")
    log = event_log("CertificateRegistry", entry, random.Random(1))
    # hashAlgorithm is a uint8: a word with more bits set is not a uint8.
    position = [p["name"] for p in entry["inputs"] if not p["indexed"]].index("hashAlgorithm")
    bad = bytearray(log.data)
    bad[32 * position] = 1
    malformed = LogEntry(log.address, log.topics, bytes(bad), 1, "0x", "0x", 0)

    with pytest.raises(Exception) as from_interface:
        interface("CertificateRegistry").decode_log(malformed.topics, malformed.data)
    with pytest.raises(type(from_interface.value)):
        decoder.decode(malformed)


def test_logs_of_other_contracts_and_unknown_events_are_not_decoded(decoder: LogDecoder):
    entry = next(e for _, e in system_events() if e["name"] == "CertificateIssued")
    log = event_log("CertificateRegistry", entry, random.Random(2))
    elsewhere = LogEntry(to_checksum_address("0x" + "ee" * 20), log.topics, log.data, 1, "0x", "0x", 0)
    unknown = LogEntry(log.address, (keccak(text="Unknown()"),), b"", 1, "0x", "0x", 0)
    no_topics = LogEntry(log.address, (), b"", 1, "0x", "0x", 0)

    assert decoder.decode(elsewhere) is None
    assert decoder.decode(unknown) is None
    assert decoder.decode(no_topics) is None
