"""No private key, passphrase, API key or holder identity number in any log line, response or error body.

A whole service runs a representative flow with every logger at DEBUG: governance, records, data sharing,
certificates issued with holder identity numbers, public verification with the holder check, errors, and
failed authentication up to the rate limit. The keys are re-encrypted under a distinctive passphrase and
the runtime unlocks them through its settings, exactly as a real start-up does, so that the passphrase can
be searched for (the demo's own passphrase, "demo", appears everywhere as an ordinary word).

Secrets are collected from the running system (the signers' private keys are read out of the keystore
here, never printed), then every formatted log record (with tracebacks) and every response (body and
headers) is searched for each of them. A finding names the kind of secret and where, not the secret.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from govledger.api.app import create_app
from govledger.config import Settings
from govledger.demo import DEMO_PASSPHRASE, prepare_demo
from govledger.keys import Keystore
from govledger.runtime import Runtime

# A test value, distinctive so that it can be searched for.
PASSPHRASE = "Xq7-security-scan-passphrase-2026"
ID_NUMBERS = ("430102199001011234", "43010219850505987X", "430104200012127777")
WRONG_KEYS = ("glk_wrongwrongwrongwrongwrongwrongwrong", "not-even-a-key-f00dfeedbeef", "glk_" + "A" * 56)
STACK_TRACE = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|\.py\", line")


class RecordingHandler(logging.Handler):
    """Keeps every record, formatted with its traceback, from every logger."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[tuple[str, str]] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.name, self.format(record)))


@dataclass
class Run:
    client: TestClient
    api_keys: dict[str, str]  # "department/role" -> plaintext
    private_keys: dict[str, str]  # department -> hex, lower case, no 0x
    database_file: Path
    responses: list[tuple[str, httpx.Response]] = field(default_factory=list)

    def call(self, method: str, url: str, who: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if who is not None:
            headers["Authorization"] = f"Bearer {self.api_keys[who]}"
        response = self.client.request(method, url, headers=headers, **kwargs)
        self.responses.append((f"{method} {url}", response))
        return response

    def secrets(self) -> dict[str, str]:
        """kind -> value, for every secret the run must never reveal."""
        found = {"keystore passphrase": PASSPHRASE}
        found |= {f"private key of {dept}": key for dept, key in self.private_keys.items()}
        found |= {f"API key {who}": key for who, key in self.api_keys.items()}
        found |= {f"wrong API key #{i}": key for i, key in enumerate(WRONG_KEYS)}
        found |= {f"holder identity number #{i}": number for i, number in enumerate(ID_NUMBERS)}
        return found


@pytest.fixture
def recorded_logs() -> Iterator[RecordingHandler]:
    handler = RecordingHandler()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


@pytest.fixture
def run(tmp_path: Path, recorded_logs: RecordingHandler) -> Iterator[Run]:
    database_file = tmp_path / "govledger.db"
    demo = prepare_demo(tmp_path / "demo", database_url=f"sqlite:///{database_file}")
    old = demo.runtime.settings
    # Move the department keys to a keystore under the distinctive passphrase, reading them out on the way.
    keystore = Keystore(tmp_path / "keystore", scrypt_n=old.keystore_scrypt_n)
    private_keys: dict[str, str] = {}
    demo_keystore = Keystore(old.resolved_keystore_dir, scrypt_n=old.keystore_scrypt_n)
    unlocked = demo_keystore.unlock_all(DEMO_PASSPHRASE)
    for info in demo_keystore.list_keys():
        signer = unlocked[info.address]
        secret: bytes = signer._LocalSigner__key.secret  # type: ignore[attr-defined]
        private_keys[info.department] = secret.hex()
        keystore.import_key(info.department, secret, PASSPHRASE, label="security scan")
    settings = Settings(
        demo=True,
        data_dir=old.data_dir,
        database_url=f"sqlite:///{database_file}",
        network="demo",
        deployment_file=old.resolved_deployment_file,
        chain_url="embedded",
        keystore_dir=tmp_path / "keystore",
        keystore_passphrase=SecretStr(PASSPHRASE),
        keystore_scrypt_n=old.keystore_scrypt_n,
        confirmations=1,
        receipt_poll_seconds=0.05,
    )
    runtime = Runtime(settings, chain=demo.runtime.chain)  # unlocks the keystore from its settings
    assert set(runtime.signers) == set(private_keys)
    api_keys = {f"{dept}/{role}": key for dept, role, key in demo.api_keys}
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        yield Run(client, api_keys, private_keys, database_file)


def window() -> dict[str, str]:
    now = datetime.now(UTC)
    return {"valid_from": (now - timedelta(days=1)).isoformat(), "valid_until": (now + timedelta(days=90)).isoformat()}


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def full_flow(run: Run) -> None:
    """Every kind of request a day at the service brings, including the failing ones."""
    drb_admin, msa_user, hrss_user, auditor = "CS-DRB/department_admin", "CS-MSA/department_user", \
        "CS-HRSS/department_user", "CS-AUD/auditor"
    # Governance.
    proposal = run.call("POST", "/api/v1/consortium/proposals?wait=true", drb_admin,
                        json={"kind": "set_threshold", "threshold": 2})
    assert proposal.status_code == 200, proposal.text
    run.call("POST", "/api/v1/consortium/proposals/1/approve?wait=true", "CS-MSA/department_admin")
    run.call("GET", "/api/v1/consortium/proposals/1", drb_admin)
    # Records: single, batch, joint.
    run.call("POST", "/api/v1/records", "CS-DRB/department_user",
             json={"record_id": "LEAK-R-1", "schema_id": "s", "content_hash": sha("r1")})
    run.call("POST", "/api/v1/records/batch?wait=true", "CS-DRB/department_user",
             json={"records": [{"record_id": f"LEAK-B-{i}", "schema_id": "s", "content_hash": sha(str(i))}
                               for i in range(3)]})
    run.call("POST", "/api/v1/records/joint?wait=true", "CS-DRB/department_user",
             json={"record_id": "LEAK-J-1", "schema_id": "s", "content_hash": sha("j"), "co_maintainers": ["CS-HRSS"]})
    # Data sharing: dataset, grant, use.
    run.call("POST", "/api/v1/datasets?wait=true", "CS-DRB/department_user",
             json={"dataset_id": "LEAK-DS", "metadata_hash": "ab" * 32})
    run.call("POST", "/api/v1/datasets/LEAK-DS/grants?wait=true", "CS-DRB/department_user",
             json={"grant_id": "LEAK-G", "consumer": "CS-HRSS", "purpose": "P", "scope_hash": "cd" * 32, **window()})
    run.call("POST", "/api/v1/grants/LEAK-G/uses?wait=true", hrss_user, json={"request_hash": sha("use")})
    # Certificates with holder identity numbers: by hash, by upload, in a batch.
    issued = run.call("POST", "/api/v1/certificates?wait=true", msa_user,
                      json={"certificate_id": "LEAK-C-1", "certificate_type": "licence", "document_hash": sha("c1"),
                            "holder": {"id_number": ID_NUMBERS[0]}, **window()})
    assert issued.status_code == 200, issued.text
    salt = issued.json()["holder_salt"]
    run.call("POST", "/api/v1/certificates/upload?wait=true", msa_user, files={"document": ("c.pdf", b"c2 body")},
             data={"metadata": '{"certificate_id": "LEAK-C-2", "certificate_type": "licence", "holder": '
                               f'{{"id_number": "{ID_NUMBERS[1]}"}}, "valid_from": "{window()["valid_from"]}", '
                               f'"valid_until": "{window()["valid_until"]}"}}'})
    run.call("POST", "/api/v1/certificates/batch?wait=true", hrss_user,
             json={"certificates": [{"certificate_id": f"LEAK-CB-{i}", "certificate_type": "qual",
                                     "document_hash": sha(f"cb{i}"), "holder": {"id_number": ID_NUMBERS[2]},
                                     **window()} for i in range(2)]})
    run.call("POST", "/api/v1/certificates/LEAK-C-1/suspend?wait=true", msa_user, json={"reason_code": "CHECK"})
    run.call("POST", "/api/v1/certificates/LEAK-C-1/reinstate?wait=true", msa_user)
    # Public verification, with the holder check right and wrong.
    checked = run.call("POST", "/api/v1/verify", json={
        "cert_id": "LEAK-C-1", "document_hash": sha("c1"), "holder": {"id_number": ID_NUMBERS[0], "salt": salt}})
    assert checked.json()["holder"] == {"checked": True, "matches": True}, checked.text
    run.call("POST", "/api/v1/verify",
             json={"cert_id": "LEAK-C-1", "holder": {"id_number": ID_NUMBERS[1], "salt": salt}})
    run.call("POST", "/api/v1/verify", files={"document": ("c.pdf", b"c2 body")})
    run.call("GET", "/api/v1/verify/certificates/LEAK-C-1")
    bundle = run.call("GET", "/api/v1/certificates/LEAK-C-1/bundle", msa_user).json()
    run.call("POST", "/api/v1/verify/bundle", json=bundle)
    run.call("GET", "/verify/LEAK-C-1")
    # Errors that carry secrets in the request: invalid bodies, malformed JSON, bad holder fields.
    run.call("POST", "/api/v1/certificates", msa_user,
             json={"certificate_type": "licence", "document_hash": "zz", "holder": {"id_number": ID_NUMBERS[0]},
                   **window()})
    run.call("POST", "/api/v1/verify",
             json={"cert_id": "LEAK-C-1", "holder": {"id_number": ID_NUMBERS[0], "salt": "x"}})
    run.call("POST", "/api/v1/verify", json={"holder": {"id_number": ID_NUMBERS[0] * 5, "salt": salt}, "bogus": 1})
    run.call("POST", "/api/v1/certificates", msa_user, content=f'{{"holder": {{"id_number": "{ID_NUMBERS[1]}"',
             headers={"Content-Type": "application/json"})
    run.call("POST", "/api/v1/verify", content=f'{{"holder": "{ID_NUMBERS[2]}"',
             headers={"Content-Type": "application/json"})
    run.call("GET", "/api/v1/records/NOPE", drb_admin)
    # Failed authentication: wrong keys, malformed headers, mismatched headers, then past the limit (429).
    for i in range(25):
        key = WRONG_KEYS[i % len(WRONG_KEYS)]
        run.call("GET", "/api/v1/consortium", headers={"Authorization": f"Bearer {key}"})
    run.call("GET", "/api/v1/consortium", headers={"Authorization": f"Basic {WRONG_KEYS[0]}"})
    run.call("GET", "/api/v1/consortium",
             headers={"Authorization": f"Bearer {run.api_keys[drb_admin]}", "X-API-Key": WRONG_KEYS[1]})
    run.call("GET", "/api/v1/consortium", headers={"X-API-Key": run.api_keys[drb_admin]})  # limited by now
    # Auditors read everything that was written.
    run.call("GET", "/api/v1/audit/events?limit=500", auditor)
    run.call("GET", "/api/v1/audit/export?format=csv", auditor)
    run.call("GET", "/api/v1/audit/timeline/certificate/LEAK-C-1", auditor)
    for path in ("/docs", "/openapi.json", "/healthz", "/readyz", "/metrics", "/audit", "/verify"):
        run.call("GET", path)


def test_no_secret_appears_in_any_log_line_or_response(run: Run, recorded_logs: RecordingHandler):
    full_flow(run)
    secrets = run.secrets()
    assert len(run.private_keys) == 4 and all(len(k) == 64 for k in run.private_keys.values())
    findings: list[str] = []
    for logger_name, line in recorded_logs.lines:
        text = line.lower()
        findings += [f"{kind} in a log line of {logger_name}" for kind, value in secrets.items()
                     if value.lower() in text]
    for request, response in run.responses:
        text = (response.text + " " + " ".join(f"{k}: {v}" for k, v in response.headers.items())).lower()
        findings += [f"{kind} in the response to {request}" for kind, value in secrets.items() if value.lower() in text]
    stored = run.database_file.read_bytes().lower()
    at_rest = [kind for kind, value in secrets.items() if value.lower().encode() in stored]
    statuses = sorted({r.status_code for _, r in run.responses})
    print(f"\nsecret scan: {len(secrets)} secrets x {len(recorded_logs.lines)} log lines and "
          f"{len(run.responses)} responses (statuses {statuses}); found: {len(findings)}; in the database: {at_rest}")
    assert any(r.status_code == 429 for _, r in run.responses), "the failed attempts never reached the limit"
    assert len(recorded_logs.lines) > 50, "logging was not captured"
    assert not findings, sorted(set(findings))
    assert not at_rest, at_rest


def test_docs_openapi_and_error_bodies_carry_no_stack_trace(run: Run):
    full_flow(run)
    bad = [
        request
        for request, response in run.responses
        if (response.status_code >= 400 or request.endswith(("/docs", "/openapi.json")))
        and STACK_TRACE.search(response.text)
    ]
    errors = [r for _, r in run.responses if r.status_code >= 400]
    print(f"\nstack-trace scan: {len(run.responses)} responses, {len(errors)} error bodies; with a trace: {len(bad)}")
    assert errors and not bad, bad
    assert all("error" in r.json() and "code" in r.json()["error"] for r in errors
               if r.headers.get("content-type", "").startswith("application/json"))
    assert not any(r.status_code >= 500 for _, r in run.responses), [
        (q, r.status_code, r.text[:200]) for q, r in run.responses if r.status_code >= 500]
