"""`govledger audit verify` and `govledger index rebuild` against a real node, and the benchmark script."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy import Engine, delete, select, update
from typer.testing import CliRunner

from govledger.audit.filters import EVENTS
from govledger.chain.client import Web3Chain
from govledger.cli import app
from govledger.db.engine import create_db_engine, session_scope
from govledger.db.migrate import upgrade_database
from govledger.indexer import Indexer
from tests.fixtures.anvil import AnvilNode
from tests.indexer.chain_activity import propose_many
from tests.support.consortium import deploy_consortium

REPO_ROOT = Path(__file__).resolve().parents[2]


def rows(engine: Engine) -> list[tuple]:
    with session_scope(engine, read_only=True) as session:
        return [tuple(row) for row in session.execute(
            select(EVENTS.c.tx_hash, EVENTS.c.log_index, EVENTS.c.args_json, EVENTS.c.subject_id)
            .order_by(EVENTS.c.block_number, EVENTS.c.log_index)).all()]


def test_verify_finds_a_tampered_index_and_rebuild_restores_it_from_the_chain(anvil: AnvilNode, tmp_path: Path):
    chain = Web3Chain(anvil.url)
    consortium = deploy_consortium(chain)
    propose_many(anvil, consortium, 30, per_block=5)
    deployment_file = tmp_path / "deployments" / "test.json"
    consortium.deployment.save(deployment_file)
    url = f"sqlite:///{tmp_path / 'govledger.db'}"
    upgrade_database(url)
    engine = create_db_engine(url)
    Indexer(chain, engine, consortium.deployment, confirmations=1).sync_once()
    original = rows(engine)
    env = {"GOVLEDGER_CHAIN_URL": anvil.url, "GOVLEDGER_DATABASE_URL": url,
           "GOVLEDGER_DEPLOYMENT_FILE": str(deployment_file), "GOVLEDGER_CONFIRMATIONS": "1"}
    runner = CliRunner()

    clean = runner.invoke(app, ["audit", "verify"], env=env)
    assert clean.exit_code == 0, clean.output
    assert f"{len(original)} events on chain" in clean.stdout and "missing: 0" in clean.stdout

    with session_scope(engine) as session:
        session.execute(update(EVENTS).where(EVENTS.c.tx_hash == original[-5][0], EVENTS.c.log_index == original[-5][1])
                        .values(subject_id="proposal:999999"))
        session.execute(delete(EVENTS).where(EVENTS.c.tx_hash == original[-9][0],
                                             EVENTS.c.log_index == original[-9][1]))
    tampered = runner.invoke(app, ["audit", "verify"], env=env)
    assert tampered.exit_code == 1
    report = tampered.stdout
    assert "missing: 1" in report and "altered: 1" in report and "extra: 0" in report
    assert original[-9][0] in report and f"{original[-5][0]}: subject" in report

    rebuilt = runner.invoke(app, ["index", "rebuild"], env=env)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert f"{len(original)} events" in rebuilt.stdout
    assert rows(engine) == original
    assert runner.invoke(app, ["audit", "verify", "--from-block", "0"], env=env).exit_code == 0
    engine.dispose()


def test_the_benchmark_runs_end_to_end_on_both_databases(postgres_admin_conninfo: str):
    result = subprocess.run([str(REPO_ROOT / "scripts" / "bench-audit"), "--rows", "3000", "--repeat", "3",
                             "--postgres", postgres_admin_conninfo], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    table = result.stdout.splitlines()
    assert "SQLite p99" in table[0] and "PostgreSQL p99" in table[0]
    for query in ("first page, no filter", "deep cursor page, one department", "completeness of one department"):
        assert any(line.startswith(query) and line.count(" ms") == 4 for line in table), query
