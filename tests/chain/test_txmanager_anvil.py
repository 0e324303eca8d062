"""The transaction manager against a real anvil node: pipelining, several processes, and crashes.

Each test ends by counting what was accepted against what is on chain: every accepted operation must be
confirmed exactly once, and the sending account's nonces must be contiguous.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from govledger.chain.client import Web3Chain
from govledger.chain.deploy import DepartmentSpec, Deployment, deploy_system
from govledger.chain.txmanager import TxManager, TxManagerOptions
from govledger.consortium.departments import Role
from govledger.db.engine import create_db_engine, session_scope
from govledger.db.migrate import upgrade_database
from govledger.db.models import Operation
from govledger.keys import Keystore
from govledger.operations import WriteRequest
from tests.fixtures.anvil import AnvilNode, start_anvil
from tests.support.consortium import SET_THRESHOLD, new_signer, payload

PASSPHRASE = "correct horse battery staple"
GOVERNOR = "CS-DRB"
#: Worker processes killed in the mid-stream test (each is a fresh interpreter: ~3 s of imports here).
KILL_ROUNDS = 3


@dataclass
class Network:
    """A deployed consortium on anvil whose department keys live in an encrypted keystore on disk."""

    chain: Web3Chain
    deployment: Deployment
    deployment_file: Path
    keystore_dir: Path
    signers: dict


def deploy_network(anvil: AnvilNode, tmp_path: Path) -> Network:
    chain = Web3Chain(anvil.url)
    keystore_dir = tmp_path / "keystore"
    keystore = Keystore(keystore_dir, scrypt_n=2**10)
    roles = {GOVERNOR: Role.GOVERNOR, "CS-MSA": Role.GOVERNOR | Role.CERTIFICATE_ISSUER}
    infos = {code: keystore.create_key(code, PASSPHRASE) for code in roles}
    deployment = deploy_system(
        chain,
        new_signer(chain),
        [DepartmentSpec(code, f"部门 {code}", role, infos[code].address) for code, role in roles.items()],
        threshold=1,
        network="anvil-test",
    )
    deployment_file = tmp_path / "deployment.json"
    deployment.save(deployment_file)
    unlocked = keystore.unlock_all(PASSPHRASE)
    signers = {code: unlocked[info.address] for code, info in infos.items()}
    return Network(chain, deployment, deployment_file, keystore_dir, signers)


def proposal(key: str | None = None) -> WriteRequest:
    body = "0x" + payload(["uint8"], [1]).hex()
    return WriteRequest(GOVERNOR, "consortium.propose", "Consortium", "propose", [SET_THRESHOLD, body], key)


def wait_until_settled(engine: Engine, expected: int, timeout: float) -> list[Operation]:
    deadline = time.monotonic() + timeout
    while True:
        with session_scope(engine, read_only=True) as session:
            rows = session.exec(select(Operation)).all()
        if len(rows) == expected and all(row.status in ("confirmed", "failed") for row in rows):
            return list(rows)
        if time.monotonic() > deadline:
            counts: dict[str, int] = {}
            for row in rows:
                counts[row.status] = counts.get(row.status, 0) + 1
            pytest.fail(f"operations did not settle in {timeout} s: {counts} of {expected}")
        time.sleep(0.2)


def assert_exactly_once(network: Network, rows: list[Operation], accepted: int) -> None:
    """Every accepted operation confirmed once; nonces contiguous; the chain holds exactly those proposals."""
    confirmed = [row for row in rows if row.status == "confirmed"]
    sender = network.signers[GOVERNOR].address
    nonces = sorted(row.nonce for row in confirmed if row.sender == sender)
    on_chain_proposals = network.deployment.bind(network.chain, "Consortium").call("proposalCount")
    on_chain_nonce = network.chain.transaction_count(sender, "latest")
    print(
        f"\naccepted={accepted} confirmed={len(confirmed)} failed={len(rows) - len(confirmed)} "
        f"proposals_on_chain={on_chain_proposals} account_nonce={on_chain_nonce} lost={accepted - len(confirmed)}"
    )
    assert len(confirmed) == accepted
    assert nonces == list(range(len(nonces)))
    assert on_chain_proposals == accepted
    assert on_chain_nonce == len(nonces)
    assert len({row.tx_hash for row in confirmed}) == accepted


def test_a_thousand_writes_from_one_account_are_pipelined_without_a_nonce_gap(tmp_path: Path, sqlite_database_url: str):
    # Blocks every second, as a production QBFT network makes them. (anvil's automine, one block per
    # transaction as it arrives, once stopped mining with 959 valid transactions in its pool.)
    node = start_anvil(tmp_path, "--block-time", "1")
    try:
        network = deploy_network(node, tmp_path)
        upgrade_database(sqlite_database_url)
        engine = create_db_engine(sqlite_database_url)
        manager = TxManager(
            network.chain,
            engine,
            network.deployment,
            network.signers,
            TxManagerOptions(poll_seconds=0.05, max_in_flight_per_account=1000, batch_size=500),
        )
        for _ in range(1000):
            manager.submit(proposal())
        started = time.monotonic()
        manager.start()
        try:
            rows = wait_until_settled(engine, 1000, timeout=180)
        finally:
            manager.stop()
        print(f"\n1000 operations confirmed in {time.monotonic() - started:.1f} s")
        assert_exactly_once(network, rows, 1000)
    finally:
        node.stop()


def worker_env(network: Network, database_url: str, anvil: AnvilNode) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVLEDGER_")}
    env.update(
        GOVLEDGER_CHAIN_URL=anvil.url,
        GOVLEDGER_DATABASE_URL=database_url,
        GOVLEDGER_DEPLOYMENT_FILE=str(network.deployment_file),
        GOVLEDGER_KEYSTORE_DIR=str(network.keystore_dir),
        GOVLEDGER_KEYSTORE_PASSPHRASE=PASSPHRASE,
        GOVLEDGER_KEYSTORE_SCRYPT_N=str(2**10),
        GOVLEDGER_RECEIPT_POLL_SECONDS="0.05",
        GOVLEDGER_REBROADCAST_AFTER_SECONDS="2",
        GOVLEDGER_INDEXER_POLL_SECONDS="0.5",
    )
    return env


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "govledger.cli", "worker"], env=env, stdout=log, stderr=subprocess.STDOUT
        )


def test_two_processes_sharing_postgresql_send_from_one_account_without_a_clash(
    anvil: AnvilNode, tmp_path: Path, postgresql_database_url: str, workers: list
):
    network = deploy_network(anvil, tmp_path)
    upgrade_database(postgresql_database_url)
    engine = create_db_engine(postgresql_database_url)
    submitter = TxManager(network.chain, engine, network.deployment, network.signers)
    env = worker_env(network, postgresql_database_url, anvil)
    workers.append(start_worker(env, tmp_path / "worker-1.log"))
    workers.append(start_worker(env, tmp_path / "worker-2.log"))
    total = 400
    for i in range(total):
        submitter.submit(proposal(f"two-processes-{i}"))
        if i % 50 == 0:
            time.sleep(0.05)  # let both workers take turns while writes keep arriving
    rows = wait_until_settled(engine, total, timeout=180)
    assert_exactly_once(network, rows, total)
    logs = "".join((tmp_path / f"worker-{n}.log").read_text(errors="replace") for n in (1, 2))
    assert "Traceback" not in logs


def test_killing_the_worker_mid_stream_loses_and_duplicates_nothing(
    tmp_path: Path, postgresql_database_url: str, workers: list
):
    node = start_anvil(tmp_path, "--block-time", "1")
    try:
        network = deploy_network(node, tmp_path)
        upgrade_database(postgresql_database_url)
        engine = create_db_engine(postgresql_database_url)
        submitter = TxManager(network.chain, engine, network.deployment, network.signers)
        env = worker_env(network, postgresql_database_url, node)
        rng = random.Random(20261124)
        accepted = 0
        in_flight_at_kill: list[int] = []
        for _round in range(KILL_ROUNDS):
            workers.append(start_worker(env, tmp_path / "worker.log"))
            # Keep writes arriving while the worker runs, so the kill lands among signed, unmined transactions.
            # Keep writes arriving; kill at a random moment once the worker has transactions signed and sent but
            # not mined (on a loaded machine the worker may take a while to start, so wait for that, bounded).
            kill_at = time.monotonic() + rng.uniform(1.0, 3.0)
            give_up_at = kill_at + 60
            while True:
                for _ in range(10):
                    submitter.submit(proposal(f"crash-{accepted}"))
                    accepted += 1
                # The same request retried after a crash must not become a second operation.
                submitter.submit(proposal(f"crash-{accepted - 1}"))
                time.sleep(0.1)
                with session_scope(engine, read_only=True) as session:
                    in_flight = len(session.exec(select(Operation).where(Operation.status == "submitted")).all())
                now = time.monotonic()
                if (now >= kill_at and in_flight > 0) or now >= give_up_at:
                    break
            in_flight_at_kill.append(in_flight)
            os.kill(workers[-1].pid, signal.SIGKILL)
            workers[-1].wait()
        workers.append(start_worker(env, tmp_path / "worker.log"))
        rows = wait_until_settled(engine, accepted, timeout=240)
        print(f"\nkills={len(in_flight_at_kill)} in_flight_at_each_kill={in_flight_at_kill}")
        # The test only proves something if the kills hit transactions signed and sent but not yet mined.
        assert all(n > 0 for n in in_flight_at_kill)
        assert_exactly_once(network, rows, accepted)
    finally:
        node.stop()


def test_a_transaction_dropped_from_the_pool_is_rebroadcast_at_the_same_nonce(tmp_path: Path, sqlite_database_url: str):
    node = start_anvil(tmp_path, "--no-mining")
    try:
        network = deploy_network_without_automine(node, tmp_path)
        upgrade_database(sqlite_database_url)
        engine = create_db_engine(sqlite_database_url)
        manager = TxManager(
            network.chain, engine, network.deployment, network.signers, TxManagerOptions(rebroadcast_after_seconds=0.3)
        )
        operation = manager.submit(proposal())
        manager.run_once()
        sent = manager.get(operation.id)
        assert sent.status == "submitted"
        node.rpc("anvil_dropAllTransactions")
        assert node.rpc("txpool_content")["pending"] == {}
        time.sleep(0.4)
        manager.run_once()  # notices the stale transaction and sends the same bytes again
        pending = node.rpc("txpool_content")["pending"]
        assert len(pending) == 1
        node.rpc("evm_mine")
        manager.run_once()
        done = manager.get(operation.id)
        assert done.status == "confirmed"
        assert (done.nonce, done.tx_hash) == (sent.nonce, sent.tx_hash)
    finally:
        node.stop()


def test_a_transaction_the_node_keeps_forgetting_is_sent_again_less_and_less_often(
    tmp_path: Path, sqlite_database_url: str
):
    node = start_anvil(tmp_path, "--no-mining")
    try:
        network = deploy_network_without_automine(node, tmp_path)
        upgrade_database(sqlite_database_url)
        engine = create_db_engine(sqlite_database_url)
        wait = 0.3
        manager = TxManager(
            network.chain,
            engine,
            network.deployment,
            network.signers,
            TxManagerOptions(forgotten_resend_seconds=wait, rebroadcast_after_seconds=60),
        )
        operation = manager.submit(proposal())
        # Times are taken just before the run that sends, so they are never later than the manager's own.
        last_send = time.monotonic()
        manager.run_once()
        assert manager.get(operation.id).status == "submitted"
        resends_after: list[float] = []
        for _ in range(3):
            # The node loses the transaction each time; the next re-send comes twice as late as the last.
            node.rpc("anvil_dropAllTransactions")
            expected_wait = wait * 2 ** len(resends_after)
            give_up_at = last_send + expected_wait + 2.0
            run_started = last_send
            while not node.rpc("txpool_content")["pending"] and time.monotonic() < give_up_at:
                time.sleep(0.02)
                run_started = time.monotonic()
                manager.run_once()
            assert node.rpc("txpool_content")["pending"], f"not re-sent within {expected_wait + 2.0:.2f} s"
            resent_after = time.monotonic() - last_send
            assert resent_after >= expected_wait, f"re-sent after {resent_after:.2f} s, before {expected_wait} s"
            resends_after.append(round(resent_after, 2))
            last_send = run_started
        print(f"\nre-sent after {resends_after} s (base wait {wait} s)")
        node.rpc("evm_mine")
        manager.run_once()
        assert manager.get(operation.id).status == "confirmed"
    finally:
        node.stop()


def deploy_network_without_automine(node: AnvilNode, tmp_path: Path) -> Network:
    """Deploy while mining on demand: a miner thread mines until deployment is done."""
    import threading

    done = threading.Event()

    def mine() -> None:
        while not done.is_set():
            node.rpc("evm_mine")
            time.sleep(0.05)

    miner = threading.Thread(target=mine, daemon=True)
    miner.start()
    try:
        return deploy_network(node, tmp_path)
    finally:
        done.set()
        miner.join()


def test_a_nonce_used_by_someone_else_makes_the_operation_sign_again(
    anvil: AnvilNode, tmp_path: Path, sqlite_database_url: str
):
    from govledger.chain.transactions import build_transaction
    from govledger.db.models import AccountNonce

    network = deploy_network(anvil, tmp_path)
    upgrade_database(sqlite_database_url)
    engine = create_db_engine(sqlite_database_url)
    signer = network.signers[GOVERNOR]
    # The service believes nonce 0 is free...
    with session_scope(engine) as session:
        session.add(AccountNonce(chain_id=network.chain.chain_id, address=signer.address, next_nonce=0))
    # ...but another tool sends from the same account first.
    foreign = build_transaction(network.chain, sender=signer.address, to=signer.address, data=b"", nonce=0, gas=21000)
    network.chain.send_raw_transaction(signer.sign_transaction(foreign).raw)
    manager = TxManager(
        network.chain, engine, network.deployment, network.signers, TxManagerOptions(foreign_nonce_grace_seconds=0.2)
    )
    operation = manager.submit(proposal())
    deadline = time.monotonic() + 20
    while not manager.get(operation.id).finished and time.monotonic() < deadline:
        manager.run_once()
        time.sleep(0.1)
    done = manager.get(operation.id)
    assert done.status == "confirmed"
    assert done.nonce == 1
    assert network.deployment.bind(network.chain, "Consortium").call("proposalCount") == 1


def test_legacy_transactions_are_used_when_the_chain_has_no_base_fee(tmp_path: Path, sqlite_database_url: str):
    node = start_anvil(tmp_path, "--hardfork", "berlin")
    try:
        chain = Web3Chain(node.url)
        assert chain.fee_fields() == {"gasPrice": 0}
        network = deploy_network(node, tmp_path)
        upgrade_database(sqlite_database_url)
        manager = TxManager(network.chain, create_db_engine(sqlite_database_url), network.deployment, network.signers)
        operation = manager.submit(proposal())
        for _ in range(20):
            if manager.get(operation.id).finished:
                break
            manager.run_once()
        done = manager.get(operation.id)
        assert done.status == "confirmed"
        tx = node.rpc("eth_getTransactionByHash", [done.tx_hash])
        assert tx["type"] == "0x0"
    finally:
        node.stop()
