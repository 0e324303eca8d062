"""How decoded events become chain_events columns, independent of any chain or database."""

from __future__ import annotations

import json

from govledger.chain.abi import DecodedEvent
from govledger.chain.client import LogEntry
from govledger.indexer.mapping import args_json, department_of, event_row, subject_of
from tests.support.consortium import dept

ACCOUNT = "0x00000000000000000000000000000000000000Aa"


def test_the_department_is_the_first_department_argument_in_priority_order():
    assert department_of({"proposerDept": dept("CS-MSA"), "deptId": dept("CS-DRB")}) == "CS-DRB"
    assert department_of({"executorDept": dept("CS-HRSS"), "proposalId": 3}) == "CS-HRSS"


def test_a_department_argument_of_a_future_contract_is_recognised_by_its_name():
    assert department_of({"recordId": b"\x01" * 32, "keeperDept": dept("CS-PSB")}) == "CS-PSB"


def test_an_event_without_a_department_has_none():
    assert department_of({"previousThreshold": 2, "threshold": 3}) is None


def test_the_subject_prefers_the_thing_acted_on_over_the_actor():
    assert subject_of("Consortium", {"proposalId": 12, "deptId": dept("CS-MSA")}) == "proposal:12"
    assert subject_of("Consortium", {"deptId": dept("CS-MSA"), "account": ACCOUNT}) == f"account:{ACCOUNT}"
    assert subject_of("Consortium", {"deptId": dept("CS-MSA")}) == "department:CS-MSA"
    assert subject_of("Records", {"recordId": b"\xab" * 32, "ownerDept": dept("CS-PSB")}) == "record:0x" + "ab" * 32


def test_an_event_about_the_whole_contract_has_the_contract_as_subject():
    assert subject_of("Consortium", {"previousThreshold": 2, "threshold": 3}) == "contract:Consortium"


def test_json_args_show_department_codes_and_hex_bytes():
    decoded = json.loads(args_json({"proposerDept": dept("CS-MSA"), "payload": b"\x00\x01", "expiresAt": 5}))
    assert decoded == {"proposerDept": "CS-MSA", "payload": "0x0001", "expiresAt": 5}


def test_a_row_carries_the_log_position_and_the_action_sequence():
    log = LogEntry(ACCOUNT, (), b"", block_number=7, block_hash="0xbb", tx_hash="0xtt", log_index=2)
    event = DecodedEvent("ProposalApproved", {"proposalId": 4, "deptId": dept("CS-HRSS"), "actionSeq": 9})

    row = event_row(chain_id=31337, contract_name="Consortium", log=log, event=event, block_timestamp=1700)

    assert row["department"] == "CS-HRSS"
    assert row["subject_id"] == "proposal:4"
    assert row["action_seq"] == 9
    assert (row["block_number"], row["block_hash"], row["tx_hash"], row["log_index"]) == (7, "0xbb", "0xtt", 2)
    assert row["block_timestamp"] == 1700
