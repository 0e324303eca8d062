"""Exports stream: a large range goes out page by page in bounded memory, in both formats, and through the CLI."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from govledger.audit.export import export_chunks
from govledger.audit.filters import EventFilters, filter_conditions
from govledger.audit.queries import iter_pages
from govledger.audit.synthetic import insert_rows, synthetic_rows
from govledger.cli import app
from govledger.db.engine import create_db_engine, session_scope
from govledger.db.migrate import upgrade_database
from govledger.db.models import IndexerCheckpoint

CHAIN = 31337
LARGE = 100_000
#: Growth of the exporting process's peak memory allowed: a few pages' worth. The whole range as text is
#: ~75 MB, and as decoded events several times more, so loading it at once could not pass.
GROWTH_LIMIT_BYTES = 32 * 1024 * 1024

#: Runs in a fresh interpreter, so the peak (ru_maxrss) before the export is that of imports alone.
EXPORT_AND_MEASURE = """
import json, resource, sys
from govledger.audit.export import export_chunks
from govledger.audit.filters import EventFilters, filter_conditions
from govledger.audit.queries import iter_pages
from govledger.db.engine import create_db_engine
engine = create_db_engine(sys.argv[1])
conditions = filter_conditions(engine, int(sys.argv[2]), EventFilters())
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
lines = characters = 0
for chunk in export_chunks(iter_pages(engine, conditions), "jsonl", final_block=10**9):
    lines += chunk.count("\\n")
    characters += len(chunk)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"lines": lines, "characters": characters, "growth": (after - before) * 1024}))
"""


@pytest.fixture(scope="module")
def large_index(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    url = f"sqlite:///{tmp_path_factory.mktemp('export') / 'large.db'}"
    upgrade_database(url)
    engine = create_db_engine(url)
    insert_rows(engine, synthetic_rows(LARGE, chain_id=CHAIN))
    return engine


def test_a_large_range_is_exported_in_bounded_memory(large_index: Engine):
    measured = subprocess.run([sys.executable, "-c", EXPORT_AND_MEASURE, str(large_index.url), str(CHAIN)],
                              capture_output=True, text=True, timeout=120, check=True)
    result = json.loads(measured.stdout)
    assert result["lines"] == LARGE
    assert result["characters"] > 2 * GROWTH_LIMIT_BYTES
    assert result["growth"] < GROWTH_LIMIT_BYTES, f"peak grew by {result['growth'] / 2**20:.1f} MiB"


def test_csv_and_jsonl_carry_the_same_events(large_index: Engine):
    conditions = filter_conditions(large_index, CHAIN, EventFilters(departments=("CS-EDU",), to_block=2000))
    as_jsonl = "".join(export_chunks(iter_pages(large_index, conditions), "jsonl", final_block=1000))
    as_csv = "".join(export_chunks(iter_pages(large_index, conditions), "csv", final_block=1000))
    events = [json.loads(line) for line in as_jsonl.splitlines()]
    rows = list(csv.DictReader(io.StringIO(as_csv)))
    assert len(events) == len(rows) > 100
    assert all(e["department"] == "CS-EDU" and e["block_number"] <= 2000 for e in events)
    assert [r["tx_hash"] for r in rows] == [e["tx_hash"] for e in events]
    assert [json.loads(r["args"]) for r in rows] == [e["args"] for e in events]
    assert {r["final"] for r in rows} == {"True", "False"} and [e["final"] for e in events] == [
        e["block_number"] <= 1000 for e in events]


def test_the_cli_exports_from_the_database_alone(large_index: Engine, tmp_path: Path):
    with session_scope(large_index) as session:
        session.merge(IndexerCheckpoint(name="main", chain_id=CHAIN, block_number=50_000, block_hash="0x" + "00" * 32))
    out = tmp_path / "export.csv"
    env = {"GOVLEDGER_DATABASE_URL": str(large_index.url), "GOVLEDGER_DEPLOYMENT_FILE": str(tmp_path / "none.json"),
           "GOVLEDGER_CONFIRMATIONS": "10"}
    result = CliRunner().invoke(app, ["audit", "export", "--format", "csv", "--out", str(out), "--event",
                                      "CertificateRevoked", "--department", "CS-MSA,CS-DRB"], env=env)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert rows and {r["event"] for r in rows} == {"CertificateRevoked"}
    assert {r["department"] for r in rows} == {"CS-MSA", "CS-DRB"}
    # Final as the database alone can tell: the checkpoint less the confirmations.
    assert all((r["final"] == "True") == (int(r["block_number"]) <= 49_991) for r in rows)
    assert f"{len(rows)} events written" in result.output

    refused = CliRunner().invoke(app, ["audit", "export", "--format", "xml", "--out", str(out)], env=env)
    assert refused.exit_code != 0
