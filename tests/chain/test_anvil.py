"""The same deployment and governance against a real anvil node over JSON-RPC."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from eth_utils import keccak

from govledger.chain.client import (
    BATCH_CHUNK,
    AlreadyKnownError,
    CallReverted,
    NonceTooLowError,
    Receipt,
    Web3Chain,
)
from govledger.chain.deploy import verify_deployment
from govledger.chain.node_http import PooledHTTPProvider
from govledger.chain.transactions import build_transaction, wait_for_receipt
from govledger.consortium.departments import Role, decode_department_code
from govledger.errors import ChainUnavailableError, ContractRevertError
from tests.fixtures.anvil import AnvilNode, rpc, start_anvil
from tests.support.consortium import (
    ADD_ACCOUNT,
    SET_MODULE,
    SET_THRESHOLD,
    Consortium,
    deploy_consortium,
    dept,
    new_signer,
    payload,
)


def test_deploy_and_govern_on_anvil(anvil: AnvilNode):
    chain = Web3Chain(anvil.url, expected_chain_id=31337)
    assert chain.fee_fields() == {"maxFeePerGas": 0, "maxPriorityFeePerGas": 0}
    consortium = deploy_consortium(chain)
    verify_deployment(chain, consortium.deployment)
    ids = [decode_department_code(i) for i in consortium.contract.call("departmentIds")]
    assert ids[:3] == ["CS-DRB", "CS-MSA", "CS-HRSS"]

    rotated = new_signer(chain)
    receipt = consortium.pass_proposal(ADD_ACCOUNT, payload(["bytes32", "address"], [dept("CS-AUD"), rotated.address]))
    assert ("AccountAdded", {"deptId": dept("CS-AUD"), "account": rotated.address}) in consortium.events(receipt)
    with pytest.raises(ContractRevertError) as info:
        consortium.act("CS-AUD", "approve", 1)
    assert info.value.error_name == "ConsortiumMissingRole"
    assert info.value.error_args["requiredRoles"] == Role.GOVERNOR


def test_a_module_records_department_actions_on_anvil(anvil: AnvilNode):
    """recordAction from a registered module bumps the acting department's sequence number."""
    chain = Web3Chain(anvil.url)
    consortium = deploy_consortium(chain)
    module = new_signer(chain).address
    # Give the module address code so governance accepts it, then send from it as anvil allows.
    anvil.rpc("anvil_setCode", [module, "0x00"])
    consortium.pass_proposal(SET_MODULE, payload(["address", "bool"], [module, True]))
    anvil.rpc("anvil_impersonateAccount", [module])
    issuer = consortium.signers["CS-MSA"].address
    calldata = consortium.contract.encode("recordAction", issuer, int(Role.CERTIFICATE_ISSUER))
    before = consortium.contract.call("actionCount", dept("CS-MSA"))
    for _ in range(3):
        tx_hash = anvil.rpc(
            "eth_sendTransaction",
            [
                {
                    "from": module,
                    "to": consortium.contract.address,
                    "data": "0x" + calldata.hex(),
                    "gas": hex(100_000),
                    "gasPrice": "0x0",
                }
            ],
        )
        # Automine answers before the block is sealed on a busy machine: wait for the receipt.
        assert wait_for_receipt(chain, str(tx_hash), timeout=30).status == 1
    assert consortium.contract.call("actionCount", dept("CS-MSA")) == before + 3
    # A department without the role is refused even through a module.
    auditor = consortium.signers["CS-AUD"].address
    with pytest.raises(ContractRevertError) as info:
        consortium.contract.call("recordAction", auditor, int(Role.CERTIFICATE_ISSUER), sender=module)
    assert info.value.error_name == "ConsortiumMissingRole"


# ------------------------------------------------------------------ batch methods (one JSON-RPC batch per chunk)

UNKNOWN_TX_HASH = "0x" + "ab" * 32
#: Init code that deploys an empty contract (PUSH1 0 PUSH1 0 RETURN): a receipt with a contract address.
EMPTY_CONTRACT_INIT_CODE = bytes.fromhex("60006000f3")


@pytest.fixture(params=["embedded", pytest.param("anvil", marks=pytest.mark.anvil)])
def any_chain(request: pytest.FixtureRequest) -> Web3Chain:
    """The embedded eth-tester chain (loops) and a real anvil node (JSON-RPC batches), in turn."""
    if request.param == "embedded":
        return Web3Chain("embedded")
    node: AnvilNode = request.getfixturevalue("anvil")
    return Web3Chain(node.url)


def one_by_one_estimate(chain: Web3Chain, tx: dict[str, Any]) -> int | CallReverted:
    try:
        return chain.estimate_gas(tx)
    except CallReverted as exc:
        return exc


def assert_same_estimates(batched: list[int | CallReverted], single: list[int | CallReverted]) -> None:
    assert len(batched) == len(single)
    for index, (many, one) in enumerate(zip(batched, single, strict=True)):
        if isinstance(one, CallReverted):
            assert isinstance(many, CallReverted), (index, many)
            assert many.data == one.data and many.data, (index, many.data.hex(), one.data.hex())
        else:
            assert many == one, (index, many, one)


def estimate_requests(consortium: Consortium) -> tuple[list[dict[str, Any]], list[str | None]]:
    """Calls that succeed and calls that revert with Consortium custom errors, with the error expected."""
    contract = consortium.contract
    governor = consortium.signers["CS-DRB"].address
    auditor = consortium.signers["CS-AUD"].address
    outsider = new_signer(consortium.chain).address
    propose = contract.encode("propose", SET_THRESHOLD, payload(["uint8"], [1]))
    requests_and_errors: list[tuple[dict[str, Any], str | None]] = [
        ({"from": governor, "to": contract.address, "data": propose}, None),
        ({"from": auditor, "to": contract.address, "data": contract.encode("approve", 1)}, "ConsortiumMissingRole"),
        ({"from": governor, "to": outsider, "value": 1, "data": b""}, None),
        ({"from": outsider, "to": contract.address, "data": propose}, "ConsortiumNotMember"),
        (
            {"from": governor, "to": contract.address, "data": contract.encode("execute", 999)},
            "ConsortiumUnknownProposal",
        ),
    ]
    return [r for r, _ in requests_and_errors], [e for _, e in requests_and_errors]


def test_batched_gas_estimates_equal_single_estimates_and_reverts(any_chain: Web3Chain):
    consortium = deploy_consortium(any_chain)
    txs, expected_errors = estimate_requests(consortium)
    single = [one_by_one_estimate(any_chain, tx) for tx in txs]
    batched = any_chain.estimate_gas_many(txs)
    print(f"estimates chain={'embedded' if any_chain.embedded else 'anvil'} batched={batched} single={single}")
    assert_same_estimates(batched, single)
    interface = consortium.contract.interface
    for answer, error in zip(batched, expected_errors, strict=True):
        if error is None:
            continue
        assert isinstance(answer, CallReverted)
        assert interface.decode_error(answer.data).name == error
    assert isinstance(batched[0], int) and batched[0] > 21_000
    assert batched[2] == 21_000
    assert any_chain.estimate_gas_many([]) == []


def test_many_view_calls_in_one_request_equal_single_calls_and_reverts(any_chain: Web3Chain):
    consortium = deploy_consortium(any_chain)
    contract = consortium.contract
    asked = [(dept("CS-DRB"),), (dept("NO-SUCH"),), (dept("CS-AUD"),)]

    many = contract.call_many("getDepartment", asked)

    assert [answer["name"] for answer in (many[0], many[2])] == [
        contract.call("getDepartment", dept("CS-DRB"))["name"],
        contract.call("getDepartment", dept("CS-AUD"))["name"],
    ]
    assert isinstance(many[1], ContractRevertError)
    with pytest.raises(ContractRevertError) as single:
        contract.call("getDepartment", dept("NO-SUCH"))
    assert many[1].error_name == single.value.error_name and "Unknown" in single.value.error_name
    assert contract.call_many("getDepartment", []) == []


def test_gas_is_estimated_against_the_latest_block_not_the_nodes_pool(tmp_path: Path):
    """anvil's default "pending" would execute every pooled transaction for each estimate (ESTIMATE_AT)."""
    node = start_anvil(tmp_path)
    try:
        chain = Web3Chain(node.url)
        consortium = deploy_consortium(chain)
        contract = consortium.contract
        node.rpc("evm_setAutomine", [False])
        proposer = consortium.signers["CS-DRB"]
        propose = build_transaction(
            chain,
            sender=proposer.address,
            to=contract.address,
            data=contract.encode("propose", SET_THRESHOLD, payload(["uint8"], [1])),
            nonce=chain.transaction_count(proposer.address),
            gas=500_000,
        )
        assert chain.send_raw_transactions([bytes(proposer.sign_transaction(propose).raw)]) == [None]

        # The proposal is pooled, not mined: approving it succeeds only on top of the pool.
        approve = {
            "from": consortium.signers["CS-MSA"].address,
            "to": contract.address,
            "data": contract.encode("approve", 1),
        }
        (estimate,) = chain.estimate_gas_many([approve])
        assert isinstance(estimate, CallReverted)
        assert contract.interface.decode_error(estimate.data).name == "ConsortiumUnknownProposal"
        with pytest.raises(CallReverted):
            chain.estimate_gas(approve)
    finally:
        node.stop()


def signed_transfer(chain: Web3Chain, signer: Any, nonce: int, value: int, to: str | None = None) -> bytes:
    tx = build_transaction(
        chain, sender=signer.address, to=to or signer.address, data=b"", nonce=nonce, gas=21_000, value=value
    )
    return bytes(signer.sign_transaction(tx).raw)


def test_batched_sends_report_each_refusal_in_order(any_chain: Web3Chain):
    signer = new_signer(any_chain)
    if not any_chain.embedded:
        # anvil's zero-fee transactions still need the sender to hold the value sent.
        rpc(any_chain.url, "anvil_setBalance", [signer.address, hex(10**21)])
    first, second = signed_transfer(any_chain, signer, 0, 1), signed_transfer(any_chain, signer, 1, 1)
    assert any_chain.send_raw_transactions([first, second]) == [None, None]
    hashes = ["0x" + keccak(raw).hex() for raw in (first, second)]
    for tx_hash in hashes:
        assert wait_for_receipt(any_chain, tx_hash, timeout=30).status == 1

    reused_nonce = signed_transfer(any_chain, signer, 0, 2)  # a different transaction with a used nonce
    third = signed_transfer(any_chain, signer, 2, 1)
    outcomes = any_chain.send_raw_transactions([first, reused_nonce, third])
    print(
        f"sends chain={'embedded' if any_chain.embedded else 'anvil'} outcomes={[type(o).__name__ for o in outcomes]}"
    )
    assert isinstance(outcomes[0], NonceTooLowError | AlreadyKnownError), outcomes[0]
    assert isinstance(outcomes[1], NonceTooLowError), outcomes[1]
    assert outcomes[2] is None
    assert wait_for_receipt(any_chain, "0x" + keccak(third).hex(), timeout=30).status == 1
    assert any_chain.transaction_count(signer.address, "latest") == 3
    # The single path refuses the same resend the same way.
    with pytest.raises(type(outcomes[0])):
        any_chain.send_raw_transaction(first)
    assert any_chain.send_raw_transactions([]) == []


def test_batched_receipts_equal_single_receipts(any_chain: Web3Chain):
    consortium = deploy_consortium(any_chain)
    with_logs = consortium.act("CS-DRB", "propose", SET_THRESHOLD, payload(["uint8"], [1]))
    deployer = consortium.deployer
    creation_tx = build_transaction(
        any_chain,
        sender=deployer.address,
        to=None,
        data=EMPTY_CONTRACT_INIT_CODE,
        nonce=any_chain.transaction_count(deployer.address),
        gas=100_000,
    )
    creation_hash = any_chain.send_raw_transaction(deployer.sign_transaction(creation_tx).raw)
    creation = wait_for_receipt(any_chain, creation_hash, timeout=30)
    hashes = [with_logs.tx_hash, UNKNOWN_TX_HASH, creation.tx_hash]

    batched = any_chain.get_receipts(hashes)
    single = [any_chain.get_receipt(tx_hash) for tx_hash in hashes]
    assert batched == single
    assert batched[1] is None
    logged, created = batched[0], batched[2]
    assert isinstance(logged, Receipt) and isinstance(created, Receipt)
    assert logged.logs and logged.logs[0].topics and logged.contract_address is None
    assert created.contract_address is not None and created.logs == ()
    # Field by field, so a mismatch names the field rather than two long reprs.
    for many, one in zip(batched, single, strict=True):
        if one is not None:
            assert many is not None
            for name in ("tx_hash", "status", "block_number", "block_hash", "gas_used", "contract_address"):
                assert getattr(many, name) == getattr(one, name), name
            assert many.logs == one.logs
    assert any_chain.get_receipts([]) == []


def test_more_calls_than_one_chunk_are_answered_in_order(any_chain: Web3Chain):
    consortium = deploy_consortium(any_chain)
    txs, _ = estimate_requests(consortium)
    # Two full chunks and a partial one over JSON-RPC; the embedded chain loops, so one call past a chunk will do.
    count = BATCH_CHUNK + 1 if any_chain.embedded else 2 * BATCH_CHUNK + 7
    many_txs = [txs[i % len(txs)] for i in range(count)]
    receipt = consortium.act("CS-DRB", "propose", SET_THRESHOLD, payload(["uint8"], [1]))
    single = [one_by_one_estimate(any_chain, tx) for tx in txs]  # after the proposal: estimates depend on state
    hashes = [receipt.tx_hash if i % 3 else UNKNOWN_TX_HASH for i in range(count)]

    http_posts = []
    if not any_chain.embedded:
        node = any_chain._node
        assert node is not None
        spy_on_posts(node, lambda _headers: http_posts.append(1))
    estimates = any_chain.estimate_gas_many(many_txs)
    receipts = any_chain.get_receipts(hashes)
    print(f"chunking chain={'embedded' if any_chain.embedded else 'anvil'} calls={2 * count} posts={len(http_posts)}")
    assert_same_estimates(estimates, [single[i % len(txs)] for i in range(count)])
    assert receipts == [receipt if i % 3 else None for i in range(count)]
    if not any_chain.embedded:
        chunks = -(-count // BATCH_CHUNK)
        assert len(http_posts) == 2 * chunks  # one HTTP request per chunk, per method


@contextmanager
def recording_proxy(target: str) -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A local HTTP server that passes each POST on to ``target`` and keeps the headers it arrived with."""
    received: list[dict[str, str]] = []

    class Forward(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(dict(self.headers.items()))
            body = self.rfile.read(int(self.headers["Content-Length"]))
            answer = requests.post(target, data=body, headers={"Content-Type": "application/json"}, timeout=10)
            self.send_response(answer.status_code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def spy_on_posts(node: PooledHTTPProvider, seen: Callable[[dict[str, str]], None]) -> None:
    """Report the headers of every HTTP request the transport sends, then send it unchanged."""
    send = node._pool.request

    def request(method: str, url: str, **kwargs: Any) -> Any:
        seen(dict(kwargs.get("headers") or {}))
        return send(method, url, **kwargs)

    node._pool.request = request  # type: ignore[method-assign]


@pytest.mark.anvil
def test_the_node_transport_never_consults_netrc(anvil: AnvilNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Credentials in a netrc file for the node's host would be sent by a default requests session."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
    # Control: the file is one that requests would use, so the check below is meaningful.
    with requests.Session() as default_session:
        assert "Authorization" in default_session.post(anvil.url, json=body, timeout=10).request.headers

    with recording_proxy(anvil.url) as (url, sent_headers):
        chain = Web3Chain(url)
        sent_headers.clear()
        chain.block_number()
        chain.get_receipts([UNKNOWN_TX_HASH])
        chain.estimate_gas_many([{"from": new_signer(chain).address, "to": new_signer(chain).address, "value": 0}])
    assert len(sent_headers) == 3  # what reached the wire, as the node would have received it
    assert not any("authorization" in {name.lower() for name in headers} for headers in sent_headers)


@pytest.mark.anvil
def test_a_stopped_node_makes_the_batch_methods_raise_chain_unavailable(anvil: AnvilNode):
    chain = Web3Chain(anvil.url)
    signer = new_signer(chain)
    raw = signed_transfer(chain, signer, 0, 0)
    assert chain.get_receipts([UNKNOWN_TX_HASH]) == [None]  # a pooled connection is now open
    anvil.stop()
    calls = {
        "estimate_gas_many": lambda: chain.estimate_gas_many([{"from": signer.address, "to": signer.address}]),
        "send_raw_transactions": lambda: chain.send_raw_transactions([raw]),
        "get_receipts": lambda: chain.get_receipts([UNKNOWN_TX_HASH]),
        "get_blocks": lambda: chain.get_blocks([0]),
    }
    for name, call in calls.items():
        started = time.monotonic()
        with pytest.raises(ChainUnavailableError):
            call()
        assert time.monotonic() - started < 10, name
