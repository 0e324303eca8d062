"""Every path of SharingRegistry.sol: data sets, grants, revocation, expiry and the log of each use.

Also the system-wide property that a department's actions across the Consortium and both modules are
numbered 1..N without a gap.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from eth_utils import keccak

from govledger.chain.client import Receipt, Web3Chain
from govledger.consortium.departments import Role
from govledger.indexer.mapping import department_of
from tests.support.consortium import SET_THRESHOLD, Consortium, deploy_consortium, dept, payload, reverts_with

SHARING = "SharingRegistry"
DATASET = keccak(text="dataset:household-register")
METADATA = keccak(text="metadata v1")
PURPOSE = keccak(text="purpose:subsidy-eligibility")
SCOPE = keccak(text="scope:name,address")
GRANT = keccak(text="grant-1")
DAY = 24 * 3600
NOT_YET_VALID, LIVE, EXPIRED, REVOKED = 1, 2, 3, 4


@pytest.fixture
def chain() -> Web3Chain:
    return Web3Chain("embedded")


@pytest.fixture
def consortium(chain: Web3Chain) -> Consortium:
    return deploy_consortium(chain)


def hexed(value: bytes) -> str:
    return "0x" + value.hex()


def act(consortium: Consortium, department: str, function: str, *args: Any) -> Receipt:
    return consortium.act(department, function, *args, contract=SHARING)


def view(consortium: Consortium, function: str, *args: Any) -> Any:
    return consortium.module(SHARING).call(function, *args)


def now(consortium: Consortium) -> int:
    return consortium.chain.get_block("latest").timestamp


def register(consortium: Consortium, owner: str = "CS-HRSS", dataset: bytes = DATASET) -> Receipt:
    return act(consortium, owner, "registerDataset", dataset, METADATA)


def issue(
    consortium: Consortium,
    *,
    owner: str = "CS-HRSS",
    consumer: str = "CS-MSA",
    grant_id: bytes = GRANT,
    dataset: bytes = DATASET,
    purpose: bytes = PURPOSE,
    starts_in: int = 0,
    lasts: int = 30 * DAY,
) -> tuple[Receipt, int, int]:
    valid_from = now(consortium) + starts_in
    valid_until = valid_from + lasts
    receipt = act(
        consortium, owner, "grant", grant_id, dataset, dept(consumer), purpose, SCOPE, valid_from, valid_until
    )
    return receipt, valid_from, valid_until


@pytest.fixture
def shared(consortium: Consortium) -> Consortium:
    """CS-HRSS owns DATASET and has granted CS-MSA use of it for 30 days from now."""
    register(consortium)
    issue(consortium)
    return consortium


# ------------------------------------------------------------------ data sets


def test_the_registry_is_deployed_bound_to_the_consortium(consortium: Consortium):
    registry = consortium.module(SHARING)
    assert registry.call("consortium") == consortium.contract.address
    assert registry.call("version") == "1.0.0"
    assert consortium.contract.call("isModule", registry.address)


def test_a_data_owner_registers_a_data_set(consortium: Consortium):
    receipt = register(consortium)
    assert consortium.events(receipt) == [
        (
            "DatasetRegistered",
            {"datasetId": DATASET, "ownerDept": dept("CS-HRSS"), "metadataHash": METADATA, "actionSeq": 1},
        )
    ]
    dataset = view(consortium, "datasetOf", DATASET)
    assert (dataset["datasetId"], dataset["ownerDept"], dataset["metadataHash"]) == (DATASET, dept("CS-HRSS"), METADATA)
    assert dataset["registeredAt"] == consortium.chain.get_block(receipt.block_number).timestamp


def test_registering_refuses_a_zero_id_a_zero_hash_a_taken_id_and_a_department_without_the_role(
    consortium: Consortium,
):
    with reverts_with("SharingRegistryInvalidDatasetId"):
        act(consortium, "CS-HRSS", "registerDataset", bytes(32), METADATA)
    with reverts_with("SharingRegistryInvalidMetadataHash"):
        act(consortium, "CS-HRSS", "registerDataset", DATASET, bytes(32))
    register(consortium)
    with reverts_with("SharingRegistryDatasetExists") as info:
        register(consortium, "CS-DRB")
    assert info.value.error_args == {"datasetId": hexed(DATASET)}
    with reverts_with("ConsortiumMissingRole") as info:
        register(consortium, "CS-MSA", keccak(text="other"))
    assert info.value.error_args == {"deptId": hexed(dept("CS-MSA")), "requiredRoles": int(Role.DATA_OWNER)}
    with reverts_with("SharingRegistryUnknownDataset"):
        view(consortium, "datasetOf", keccak(text="none"))


def test_only_the_owner_updates_a_data_sets_metadata(consortium: Consortium):
    register(consortium)
    updated = keccak(text="metadata v2")
    receipt = act(consortium, "CS-HRSS", "updateDatasetMetadata", DATASET, updated)
    assert consortium.events(receipt)[0][1] == {
        "datasetId": DATASET,
        "ownerDept": dept("CS-HRSS"),
        "previousMetadataHash": METADATA,
        "metadataHash": updated,
        "actionSeq": 2,
    }
    assert view(consortium, "datasetOf", DATASET)["metadataHash"] == updated
    with reverts_with("SharingRegistryNotDatasetOwner") as info:
        act(consortium, "CS-DRB", "updateDatasetMetadata", DATASET, METADATA)
    assert info.value.error_args == {"datasetId": hexed(DATASET), "callerDept": hexed(dept("CS-DRB"))}
    with reverts_with("SharingRegistryInvalidMetadataHash"):
        act(consortium, "CS-HRSS", "updateDatasetMetadata", DATASET, bytes(32))


# ------------------------------------------------------------------ grants


def test_the_owner_grants_a_consumer_use_for_a_purpose_and_a_window(consortium: Consortium):
    register(consortium)
    receipt, valid_from, valid_until = issue(consortium)
    assert consortium.events(receipt) == [
        (
            "GrantIssued",
            {
                "grantId": GRANT,
                "datasetId": DATASET,
                "consumerDept": dept("CS-MSA"),
                "ownerDept": dept("CS-HRSS"),
                "purposeCode": PURPOSE,
                "scopeHash": SCOPE,
                "validFrom": valid_from,
                "validUntil": valid_until,
                "actionSeq": 2,
            },
        )
    ]
    grant = view(consortium, "grantOf", GRANT)
    assert grant["ownerDept"] == dept("CS-HRSS") and grant["consumerDept"] == dept("CS-MSA")
    assert (grant["validFrom"], grant["validUntil"], grant["revokedAt"], grant["useCount"]) == (
        valid_from,
        valid_until,
        0,
        0,
    )
    assert grant["status"] == LIVE and view(consortium, "isLive", GRANT)
    assert view(consortium, "isAuthorised", DATASET, dept("CS-MSA"), PURPOSE) == (True, GRANT)
    assert view(consortium, "isAuthorised", DATASET, dept("CS-MSA"), keccak(text="other")) == (False, bytes(32))
    assert view(consortium, "isAuthorised", DATASET, dept("CS-PSB"), PURPOSE) == (False, bytes(32))


def test_grant_refuses_invalid_requests(consortium: Consortium):
    register(consortium)
    register(consortium, "CS-DRB", keccak(text="drb data"))
    cases: list[tuple[dict[str, Any], str]] = [
        ({"owner": "CS-DRB"}, "SharingRegistryNotDatasetOwner"),
        ({"owner": "CS-MSA"}, "ConsortiumMissingRole"),
        ({"dataset": keccak(text="none")}, "SharingRegistryUnknownDataset"),
        ({"grant_id": bytes(32)}, "SharingRegistryInvalidGrantId"),
        ({"consumer": "CS-HRSS"}, "SharingRegistryConsumerIsOwner"),
        ({"consumer": "CS-NOBODY"}, "ConsortiumUnknownDepartment"),
        ({"lasts": 0}, "SharingRegistryInvalidValidity"),
        ({"starts_in": -40 * DAY}, "SharingRegistryInvalidValidity"),
    ]
    for overrides, error in cases:
        with reverts_with(error):
            issue(consortium, **overrides)
    issue(consortium)
    with reverts_with("SharingRegistryGrantExists") as info:
        issue(consortium, consumer="CS-PSB")
    assert info.value.error_args == {"grantId": hexed(GRANT)}


def test_a_grant_window_must_not_be_over_already(consortium: Consortium):
    register(consortium)
    with reverts_with("SharingRegistryInvalidValidity") as info:
        issue(consortium, starts_in=-2 * DAY, lasts=DAY)
    args = info.value.error_args
    assert args["validUntil"] - args["validFrom"] == DAY and args["validUntil"] <= args["currentTime"]
    issue(consortium, starts_in=-2 * DAY, lasts=3 * DAY)  # started in the past, still running: fine
    assert view(consortium, "isLive", GRANT)


# ------------------------------------------------------------------ using data


def test_the_consumer_logs_uses_while_the_grant_is_live(shared: Consortium):
    first = act(shared, "CS-MSA", "logUse", GRANT, keccak(text="request 1"))
    assert shared.events(first) == [
        (
            "DataUseLogged",
            {
                "grantId": GRANT,
                "consumerDept": dept("CS-MSA"),
                "requestHash": keccak(text="request 1"),
                "useCount": 1,
                "actionSeq": 1,
            },
        )
    ]
    act(shared, "CS-MSA", "logUse", GRANT, keccak(text="request 2"))
    assert view(shared, "useCount", GRANT) == 2
    assert view(shared, "grantOf", GRANT)["useCount"] == 2


def test_only_the_consumer_department_may_log_a_use(shared: Consortium):
    for outsider in ("CS-PSB", "CS-HRSS"):
        with reverts_with("SharingRegistryNotConsumer") as info:
            act(shared, outsider, "logUse", GRANT, keccak(text="request"))
        assert info.value.error_args == {"grantId": hexed(GRANT), "callerDept": hexed(dept(outsider))}
    with reverts_with("SharingRegistryUnknownGrant"):
        act(shared, "CS-MSA", "logUse", keccak(text="no grant"), keccak(text="request"))


def test_access_logs_are_rejected_after_revocation_and_the_grant_stays_dead(shared: Consortium):
    act(shared, "CS-MSA", "logUse", GRANT, keccak(text="request 1"))
    with reverts_with("SharingRegistryNotDatasetOwner"):
        act(shared, "CS-DRB", "revoke", GRANT, keccak(text="reason"))
    receipt = act(shared, "CS-HRSS", "revoke", GRANT, keccak(text="reason:misuse"))
    assert shared.events(receipt) == [
        (
            "GrantRevoked",
            {
                "grantId": GRANT,
                "ownerDept": dept("CS-HRSS"),
                "reasonCode": keccak(text="reason:misuse"),
                "actionSeq": 3,
            },
        )
    ]
    revoked_at = shared.chain.get_block(receipt.block_number).timestamp
    with reverts_with("SharingRegistryGrantRevoked") as info:
        act(shared, "CS-MSA", "logUse", GRANT, keccak(text="request 2"))
    assert info.value.error_args == {"grantId": hexed(GRANT), "revokedAt": revoked_at}
    with reverts_with("SharingRegistryGrantRevoked"):
        act(shared, "CS-HRSS", "revoke", GRANT, keccak(text="again"))
    grant = view(shared, "grantOf", GRANT)
    assert (grant["status"], grant["revokedAt"], grant["useCount"]) == (REVOKED, revoked_at, 1)
    assert view(shared, "isAuthorised", DATASET, dept("CS-MSA"), PURPOSE) == (False, GRANT)


def test_access_logs_are_rejected_after_expiry_and_an_expired_grant_cannot_be_revoked(shared: Consortium):
    valid_until = view(shared, "grantOf", GRANT)["validUntil"]
    shared.chain.time_travel(valid_until - 60)
    act(shared, "CS-MSA", "logUse", GRANT, keccak(text="last minute"))
    shared.chain.time_travel(valid_until + 1)  # eth-tester stamps the travel block one second early
    assert view(shared, "grantStatus", GRANT) == EXPIRED and not view(shared, "isLive", GRANT)
    with reverts_with("SharingRegistryGrantExpired") as info:
        act(shared, "CS-MSA", "logUse", GRANT, keccak(text="too late"))
    assert info.value.error_args == {"grantId": hexed(GRANT), "validUntil": valid_until}
    with reverts_with("SharingRegistryGrantExpired"):
        act(shared, "CS-HRSS", "revoke", GRANT, keccak(text="reason"))
    assert view(shared, "isAuthorised", DATASET, dept("CS-MSA"), PURPOSE) == (False, GRANT)


def test_access_logs_are_rejected_before_the_window_opens(consortium: Consortium):
    register(consortium)
    _, valid_from, _ = issue(consortium, starts_in=7 * DAY)
    assert view(consortium, "grantStatus", GRANT) == NOT_YET_VALID
    assert view(consortium, "isAuthorised", DATASET, dept("CS-MSA"), PURPOSE) == (False, GRANT)
    with reverts_with("SharingRegistryGrantNotYetValid") as info:
        act(consortium, "CS-MSA", "logUse", GRANT, keccak(text="early"))
    assert info.value.error_args == {"grantId": hexed(GRANT), "validFrom": valid_from}
    consortium.chain.time_travel(valid_from)
    act(consortium, "CS-MSA", "logUse", GRANT, keccak(text="on time"))
    assert view(consortium, "isLive", GRANT)


def test_a_grant_can_be_revoked_before_its_window_opens(consortium: Consortium):
    register(consortium)
    issue(consortium, starts_in=7 * DAY)
    act(consortium, "CS-HRSS", "revoke", GRANT, keccak(text="plans changed"))
    assert view(consortium, "grantStatus", GRANT) == REVOKED


def test_the_latest_grant_for_a_dataset_consumer_and_purpose_answers_is_authorised(shared: Consortium):
    act(shared, "CS-HRSS", "revoke", GRANT, keccak(text="narrowing"))
    newer = keccak(text="grant-2")
    issue(shared, grant_id=newer, lasts=DAY)
    assert view(shared, "isAuthorised", DATASET, dept("CS-MSA"), PURPOSE) == (True, newer)


def test_unknown_grants_have_no_status(consortium: Consortium):
    unknown = keccak(text="none")
    assert view(consortium, "grantStatus", unknown) == 0 and not view(consortium, "isLive", unknown)
    with reverts_with("SharingRegistryUnknownGrant"):
        view(consortium, "grantOf", unknown)
    with reverts_with("SharingRegistryUnknownGrant"):
        act(consortium, "CS-HRSS", "revoke", unknown, keccak(text="reason"))


# ------------------------------------------------------------------ the whole system


def test_a_departments_actions_across_all_contracts_are_numbered_without_gaps(consortium: Consortium):
    record = keccak(text="record")
    register(consortium)  # HRSS 1
    issue(consortium)  # HRSS 2
    pid = consortium.propose("CS-MSA", SET_THRESHOLD, payload(["uint8"], [2]))  # MSA 1
    consortium.act("CS-HRSS", "approve", pid)  # HRSS 3
    records = "RecordRegistry"
    consortium.act(
        "CS-MSA", "anchorRecord", record, keccak(text="c"), 2, keccak(text="s"), [dept("CS-HRSS")], 1, contract=records
    )  # MSA 2
    act(consortium, "CS-MSA", "logUse", GRANT, keccak(text="r"))  # MSA 3
    consortium.act("CS-HRSS", "endorse", record, 1, contract=records)  # HRSS 4
    consortium.act("CS-MSA", "anchorBatch", keccak(text="root"), 2, contract=records)  # MSA 4
    consortium.act("CS-DRB", "execute", pid)  # DRB 1
    act(consortium, "CS-HRSS", "revoke", GRANT, keccak(text="done"))  # HRSS 5
    with reverts_with("SharingRegistryGrantRevoked"):
        act(consortium, "CS-MSA", "logUse", GRANT, keccak(text="r2"))  # refused: no number used

    contracts = [consortium.deployment.bind(consortium.chain, name) for name in consortium.deployment.contracts]
    seen: dict[str, list[int]] = defaultdict(list)
    for log in consortium.chain.get_logs(
        [c.address for c in contracts], consortium.deployment.start_block, consortium.chain.block_number()
    ):
        for contract in contracts:
            event = contract.decode_log(log)
            if event is not None and "actionSeq" in event.args:
                seen[str(department_of(event.args))].append(event.args["actionSeq"])
    assert dict(seen) == {"CS-HRSS": [1, 2, 3, 4, 5], "CS-MSA": [1, 2, 3, 4], "CS-DRB": [1]}
    for code, numbers in seen.items():
        assert consortium.contract.call("actionCount", dept(code)) == len(numbers)


# ------------------------------------------------------------------ gas


def test_gas_of_sharing_operations_stays_within_budget(consortium: Consortium):
    """Prints the gas of each write (for the gas report) and fails when one outgrows its budget."""
    budgets = {"registerDataset": 110_000, "grant": 200_000, "logUse": 50_000, "revoke": 50_000}
    used = {
        "registerDataset": register(consortium).gas_used,
        "grant": issue(consortium)[0].gas_used,
        "logUse": act(consortium, "CS-MSA", "logUse", GRANT, keccak(text="request")).gas_used,
        "revoke": act(consortium, "CS-HRSS", "revoke", GRANT, keccak(text="reason")).gas_used,
    }
    for operation, gas in used.items():
        print(f"SharingRegistry.{operation}: {gas} gas (budget {budgets[operation]})")
    assert all(used[op] <= budgets[op] for op in budgets), used
