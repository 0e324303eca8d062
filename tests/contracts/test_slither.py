"""Slither's static analysis of contracts/src, compiled by our own compiler, with every serious finding explained.

Slither (pinned in scripts/install-slither, in its own venv because it needs web3<8) compiles the same
standard-JSON input that govledger.chain.compiler builds, with the same settings (evmVersion paris, optimizer
10,000 runs), through scripts/solc-shim: what it analyses is what we deploy. Every High or Medium finding must be
explained in contracts/slither-triage.json, and every entry there must still match a finding, so the triage can
neither fall behind the contracts nor keep excuses for code that is gone. Low and Informational findings are
counted and printed; contracts/slither.config.json says why they do not fail the test and that nothing is excluded.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from govledger.chain.compiler import collect_sources, standard_json_input

# One worker runs all of this module, so its module-scoped Slither run (about 18 s) happens once.
pytestmark = pytest.mark.xdist_group("slither")

REPO_ROOT = Path(__file__).resolve().parents[2]
SLITHER = REPO_ROOT / "tools" / "slither-venv" / "bin" / "slither"
CONFIG = REPO_ROOT / "contracts" / "slither.config.json"
TRIAGE = REPO_ROOT / "contracts" / "slither-triage.json"
BLOCKING_IMPACTS = ("High", "Medium")
VERDICTS = ("false-positive", "accepted")
IMPACT_ORDER = ("High", "Medium", "Low", "Informational", "Optimization")

# Slither needs the AST and the source maps besides what the artifacts select; everything else in the input
# (sources, evmVersion, optimizer, viaIR) is exactly what scripts/compile uses.
SLITHER_OUTPUT_SELECTION = {
    "*": {
        "*": ["abi", "metadata", "devdoc", "userdoc", "evm.bytecode", "evm.deployedBytecode", "evm.methodIdentifiers"],
        "": ["ast"],
    }
}
DEFINITION = re.compile(rb"^\s*(?:abstract\s+)?(?:contract|interface|library)\s+\w+", re.MULTILINE)


@dataclass(frozen=True)
class FindingKey:
    """What names a finding across edits: detector, where (Contract.signature) and the flagged expression."""

    detector: str
    function: str
    expression: str | None

    def __str__(self) -> str:
        return f"{self.detector} in {self.function}: {self.expression}"


@dataclass
class SlitherRun:
    findings: list[dict[str, Any]]
    log: str
    version: str


def finding_key(finding: dict[str, Any]) -> FindingKey:
    elements = finding["elements"]
    first = elements[0]
    fields = first.get("type_specific_fields", {})
    parent = fields.get("parent", {}).get("name")
    name = fields.get("signature") or first["name"]
    where = f"{parent}.{name}" if parent else name
    expression = next((element["name"] for element in elements if element["type"] == "node"), None)
    return FindingKey(finding["check"], where, expression)


def triage_key(entry: dict[str, Any]) -> FindingKey:
    return FindingKey(entry["detector"], entry["function"], entry.get("expression"))


def slither_input() -> dict[str, Any]:
    document = standard_json_input(collect_sources(REPO_ROOT))
    document["settings"]["outputSelection"] = SLITHER_OUTPUT_SELECTION
    return document


@pytest.fixture(scope="module")
def slither_run(tmp_path_factory: pytest.TempPathFactory) -> SlitherRun:
    assert SLITHER.is_file(), f"{SLITHER} is missing: run scripts/install-slither (scripts/test does)"
    work = tmp_path_factory.mktemp("slither")
    input_path = work / "contracts.standard-input.json"
    input_path.write_text(json.dumps(slither_input()), encoding="utf-8")
    output_path = work / "slither.json"
    version = subprocess.run([SLITHER, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    # The config's relative paths (scripts/solc-shim, working dir ".") are relative to the repository root.
    completed = subprocess.run(
        [SLITHER, str(input_path), "--config-file", str(CONFIG), "--json", str(output_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    log = completed.stdout + completed.stderr
    assert completed.returncode == 0, f"slither failed (exit {completed.returncode}):\n{log[-4000:]}"
    report = json.loads(output_path.read_text(encoding="utf-8"))
    assert report["success"], report.get("error")
    return SlitherRun(report["results"].get("detectors", []), log, version)


@pytest.fixture(scope="module")
def triage() -> list[dict[str, Any]]:
    return list(json.loads(TRIAGE.read_text(encoding="utf-8"))["findings"])


def test_slither_analyses_every_contract_with_our_compiler(slither_run: SlitherRun):
    assert "scripts/solc-shim --standard-json" in slither_run.log, "slither did not compile through scripts/solc-shim"
    analysed = re.search(r"analyzed \((\d+) contracts with (\d+) detectors\), (\d+) result", slither_run.log)
    assert analysed, slither_run.log[-2000:]
    contracts, detectors, results = (int(group) for group in analysed.groups())
    defined = sum(len(DEFINITION.findall(text)) for text in collect_sources(REPO_ROOT).values())
    assert contracts == defined, f"slither analysed {contracts} contracts, contracts/src defines {defined}"
    assert results == len(slither_run.findings)
    print(f"slither {slither_run.version}: contracts={contracts} detectors={detectors} findings={results}")


def test_every_high_and_medium_finding_is_triaged(slither_run: SlitherRun, triage: list[dict[str, Any]]):
    by_impact = Counter(finding["impact"] for finding in slither_run.findings)
    blocking = [finding for finding in slither_run.findings if finding["impact"] in BLOCKING_IMPACTS]
    explained = {triage_key(entry) for entry in triage}
    unexplained = [finding for finding in blocking if finding_key(finding) not in explained]
    figures = " ".join(f"{impact.lower()}={by_impact.get(impact, 0)}" for impact in IMPACT_ORDER)
    print(
        f"slither findings: {figures} total={len(slither_run.findings)} | high+medium={len(blocking)} "
        f"triaged={len(blocking) - len(unexplained)} unexplained={len(unexplained)}"
    )
    for detector, count in sorted(Counter(f"{f['impact']}/{f['check']}" for f in slither_run.findings).items()):
        print(f"  {detector}: {count}")
    assert not unexplained, "High/Medium findings missing from contracts/slither-triage.json:\n" + "\n".join(
        f"- {finding_key(finding)}\n  {finding['description'].strip()}" for finding in unexplained
    )


def test_the_triage_has_no_stale_entry(slither_run: SlitherRun, triage: list[dict[str, Any]]):
    occurring = {finding_key(finding): finding for finding in slither_run.findings}
    stale = [entry for entry in triage if triage_key(entry) not in occurring]
    assert not stale, "contracts/slither-triage.json explains findings that no longer occur:\n" + "\n".join(
        f"- {triage_key(entry)}" for entry in stale
    )
    # An entry's recorded impact must still be the finding's: a detector raised to High deserves a fresh look.
    moved = [
        (str(triage_key(entry)), entry["impact"], occurring[triage_key(entry)]["impact"])
        for entry in triage
        if occurring[triage_key(entry)]["impact"] != entry["impact"]
    ]
    assert not moved, f"findings whose impact changed since they were triaged: {moved}"


def test_every_triage_entry_gives_a_verdict_and_a_reason(triage: list[dict[str, Any]]):
    keys = [triage_key(entry) for entry in triage]
    assert len(keys) == len(set(keys)), "contracts/slither-triage.json lists a finding twice"
    for entry in triage:
        assert entry["verdict"] in VERDICTS, entry
        assert len(entry["reason"].split()) >= 10, f"explain {triage_key(entry)} in a sentence or more"
    print(f"slither triage: entries={len(triage)} verdicts={dict(Counter(entry['verdict'] for entry in triage))}")
