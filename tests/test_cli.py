"""The govledger command as an operator runs it: demo, and keys → deploy → API keys → serve on a real node."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from govledger.bench.stack import invoke_cli
from govledger.cli import app
from tests.fixtures.anvil import AnvilNode, free_port

PASSPHRASE = "a long operator passphrase"


@dataclass(frozen=True)
class Ran:
    """What a command printed and how it exited."""

    returncode: int
    stdout: str
    stderr: str


def govledger_process(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> Ran:
    """Run the installed command in a fresh interpreter, exactly as an operator's shell does."""
    done = subprocess.run(
        [sys.executable, "-m", "govledger.cli", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    return Ran(done.returncode, done.stdout, done.stderr)


def govledger(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> Ran:
    """Run one command of the govledger CLI in this process (``invoke_cli``), from ``cwd``.

    The same code as the installed command (``govledger_process``) without a fresh interpreter.
    """
    with contextlib.chdir(cwd or Path.cwd()):
        result = invoke_cli(args, env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Ran(result.exit_code, result.stdout, result.stderr)


def http(method: str, url: str, key: str | None = None, body: dict | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_ready(base: str, process: subprocess.Popen, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}")
        try:
            status, _body = http("GET", f"{base}/readyz")
            if status == 200:
                return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{base} was not ready within {timeout} s")


def test_the_installed_command_starts_and_shows_help():
    result = govledger_process("--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_every_command_has_help():
    # In-process: a fresh interpreter per command would spend most of the test importing govledger again.
    runner = CliRunner()
    for command in (
        ["demo"],
        ["serve"],
        ["deploy"],
        ["worker"],
        ["compile"],
        ["keys", "create"],
        ["apikeys", "create"],
        ["apikeys", "revoke"],
        ["db", "upgrade"],
        ["departments", "list"],
        ["departments", "propose"],
        ["departments", "approve"],
        ["departments", "execute"],
        ["records", "import"],
        ["verify"],
        ["verify-proof"],
        ["audit", "export"],
        ["audit", "verify"],
        ["index", "rebuild"],
    ):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, (command, result.output)
        assert "Usage" in result.output


def test_the_demo_is_ready_within_thirty_seconds_and_serves_its_api_keys(tmp_path: Path):
    port = free_port()
    log = tmp_path / "demo.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "govledger.cli", "demo", "--port", str(port), "--data-dir", str(tmp_path / "d")],
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        seconds = wait_ready(f"http://127.0.0.1:{port}", process, timeout=30)
        print(f"\ndemo ready in {seconds:.1f} s")
        banner = log.read_text()
        key = re.search(r"CS-DRB\s+department_admin\s+(glk_\S+)", banner).group(1)
        status, departments = http("GET", f"http://127.0.0.1:{port}/api/v1/consortium/departments", key)
        assert status == 200
        assert {d["code"] for d in departments} == {"CS-DRB", "CS-MSA", "CS-HRSS", "CS-AUD"}
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_an_operator_deploys_to_a_node_and_serves_from_configuration(anvil: AnvilNode, tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVLEDGER_")}
    env.update(
        GOVLEDGER_CHAIN_URL=anvil.url,
        GOVLEDGER_CHAIN_ID="31337",
        GOVLEDGER_NETWORK="citynet",
        GOVLEDGER_DATA_DIR=str(tmp_path / "data"),
        GOVLEDGER_KEYSTORE_PASSPHRASE=PASSPHRASE,
        GOVLEDGER_KEYSTORE_SCRYPT_N=str(2**10),
        GOVLEDGER_RECEIPT_POLL_SECONDS="0.05",
    )
    accounts = {}
    for code in ("CS-DRB", "CS-MSA", "DEPLOYER"):
        created = govledger("keys", "create", "--department", code, env=env, cwd=tmp_path)
        assert created.returncode == 0, created.stderr
        accounts[code] = created.stdout.split()[0]
    spec = {
        "threshold": 1,
        "proposal_lifetime_days": 7,
        "departments": [
            {
                "code": "CS-DRB",
                "name": "长沙市数据资源管理局",
                "roles": ["governor", "data_owner"],
                "account": accounts["CS-DRB"],
            },
            {
                "code": "CS-MSA",
                "name": "长沙市市场监督管理局",
                "roles": ["governor", "certificate_issuer"],
                "account": accounts["CS-MSA"],
            },
        ],
    }
    (tmp_path / "departments.json").write_text(json.dumps(spec, ensure_ascii=False))
    deployed = govledger(
        "deploy", "--departments", "departments.json", "--deployer", accounts["DEPLOYER"], env=env, cwd=tmp_path
    )
    assert deployed.returncode == 0, deployed.stderr
    assert (tmp_path / "deployments" / "citynet.json").exists()

    listed = govledger("departments", "list", env=env, cwd=tmp_path)
    assert "CS-DRB" in listed.stdout and "长沙市市场监督管理局" in listed.stdout

    # Governance from the command line: threshold 1, so the proposer's approval is enough to execute.
    proposed = govledger("departments", "propose", "--department", "CS-DRB",
                         '{"kind": "set_roles", "code": "CS-MSA", "roles": ["governor", "record_keeper"]}',
                         env=env, cwd=tmp_path)
    assert proposed.returncode == 0, proposed.stderr
    assert json.loads(proposed.stdout)["status"] == "confirmed"
    executed = govledger("departments", "execute", "1", "--department", "CS-MSA", env=env, cwd=tmp_path)
    assert executed.returncode == 0, executed.stderr
    refused = govledger("departments", "execute", "1", "--department", "CS-MSA", env=env, cwd=tmp_path)
    assert refused.returncode == 1
    assert json.loads(refused.stdout)["error"]["name"] == "ConsortiumProposalAlreadyExecuted"
    listed = govledger("departments", "list", env=env, cwd=tmp_path)
    assert "governor,record_keeper" in listed.stdout

    created_key = govledger(
        "apikeys",
        "create",
        "--department",
        "CS-DRB",
        "--role",
        "department_admin",
        "--label",
        "ops",
        env=env,
        cwd=tmp_path,
    )
    assert created_key.returncode == 0, created_key.stderr
    api_key = created_key.stdout.strip()
    assert api_key.startswith("glk_") and api_key not in created_key.stderr

    port = free_port()
    with open(tmp_path / "serve.log", "w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "govledger.cli", "serve", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, server, timeout=60)
        status, operation = http(
            "POST",
            f"{base}/api/v1/consortium/proposals?wait=true",
            api_key,
            {"kind": "add_account", "code": "CS-MSA", "account": "0x" + "5a" * 20},
        )
        assert status == 200 and operation["status"] == "confirmed", operation
        status, proposal = http("GET", f"{base}/api/v1/consortium/proposals/2", api_key)
        assert proposal["approvals"] == 1 and proposal["status"] == "pending"
    finally:
        server.terminate()
        server.wait(timeout=10)
    log = (tmp_path / "serve.log").read_text()
    assert PASSPHRASE not in log and api_key not in log


def test_a_wrong_passphrase_stops_the_service_with_one_clear_line(anvil: AnvilNode, tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVLEDGER_")}
    env.update(
        GOVLEDGER_DATA_DIR=str(tmp_path / "data"),
        GOVLEDGER_KEYSTORE_PASSPHRASE=PASSPHRASE,
        GOVLEDGER_KEYSTORE_SCRYPT_N=str(2**10),
    )
    assert govledger("keys", "create", "--department", "CS-DRB", env=env, cwd=tmp_path).returncode == 0
    spec = {
        "threshold": 1,
        "departments": [{"code": "CS-DRB", "name": "数据局", "roles": ["governor"], "account": "0x" + "11" * 20}],
    }
    (tmp_path / "departments.json").write_text(json.dumps(spec))
    env["GOVLEDGER_KEYSTORE_PASSPHRASE"] = "another passphrase entirely"
    # A real process: the one clear line is the installed command's own handling of errors.
    result = govledger_process(
        "deploy", "--departments", "departments.json", "--deployer", "0x" + "00" * 20, env=env, cwd=tmp_path
    )
    assert result.returncode == 1
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("error: ") and "decrypt" in last_line
    assert "Traceback" not in result.stderr
    assert "another passphrase entirely" not in result.stderr


def operator_env(anvil: AnvilNode, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVLEDGER_")}
    env.update(
        GOVLEDGER_CHAIN_URL=anvil.url,
        GOVLEDGER_DATA_DIR=str(tmp_path / "data"),
        GOVLEDGER_KEYSTORE_PASSPHRASE=PASSPHRASE,
        GOVLEDGER_KEYSTORE_SCRYPT_N=str(2**10),
        GOVLEDGER_RECEIPT_POLL_SECONDS="0.05",
    )
    return env


def deploy_one_department(env: dict[str, str], tmp_path: Path,
                          roles: tuple[str, ...] = ("governor", "record_keeper")) -> None:
    accounts = {}
    for code in ("CS-DRB", "DEPLOYER"):
        created = govledger("keys", "create", "--department", code, env=env, cwd=tmp_path)
        assert created.returncode == 0, created.stderr
        accounts[code] = created.stdout.split()[0]
    spec = {"threshold": 1, "departments": [{"code": "CS-DRB", "name": "长沙市数据资源管理局",
                                              "roles": list(roles), "account": accounts["CS-DRB"]}]}
    (tmp_path / "departments.json").write_text(json.dumps(spec, ensure_ascii=False))
    deployed = govledger("deploy", "--departments", "departments.json", "--deployer", accounts["DEPLOYER"],
                         env=env, cwd=tmp_path)
    assert deployed.returncode == 0, deployed.stderr


def test_records_import_is_resumable_and_its_proofs_verify_against_the_node(anvil: AnvilNode, tmp_path: Path):
    env = operator_env(anvil, tmp_path)
    deploy_one_department(env, tmp_path)
    folder = tmp_path / "licences"
    folder.mkdir()
    for i in range(25):
        (folder / f"licence-{i:03d}.pdf").write_bytes(f"营业执照 {i}".encode() * 100)
    first = govledger("records", "import", str(folder), "--department", "CS-DRB", "--batch-size", "10",
                      env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "25 anchored in 3 batches, 0 already anchored" in first.stdout
    (folder / "licence-new.pdf").write_bytes(b"one more")
    second = govledger("records", "import", str(folder), "--department", "CS-DRB", "--batch-size", "10",
                       env=env, cwd=tmp_path)
    assert "1 anchored in 1 batches, 25 already anchored" in second.stdout, second.stdout

    # Fetch a proof bundle through the service's own code, then check it with nothing but the node.
    from govledger.config import Settings
    from govledger.runtime import Runtime

    settings = Settings(_env_file=None, chain_url=anvil.url, data_dir=tmp_path / "data",
                        deployment_file=tmp_path / "deployments" / "local.json",
                        keystore_passphrase=PASSPHRASE, keystore_scrypt_n=2**10)
    bundle = Runtime(settings).records.proof_bundle("licence-007.pdf")
    (tmp_path / "bundle.json").write_text(json.dumps(bundle))
    ok = govledger("verify-proof", "bundle.json", "--rpc-url", anvil.url,
                   "--document", str(folder / "licence-007.pdf"), cwd=tmp_path)
    assert ok.returncode == 0 and ok.stdout.startswith("OK"), ok.stdout + ok.stderr
    wrong_document = govledger("verify-proof", "bundle.json", "--document", str(folder / "licence-008.pdf"),
                               cwd=tmp_path)
    assert wrong_document.returncode == 1 and "FAIL" in wrong_document.stdout
    bundle["proof"] = list(reversed(bundle["proof"]))
    (tmp_path / "forged.json").write_text(json.dumps(bundle))
    forged = govledger("verify-proof", "forged.json", "--rpc-url", anvil.url, cwd=tmp_path)
    assert forged.returncode == 1 and "FAIL" in forged.stdout


def test_a_citizen_checks_a_certificate_file_against_its_bundle_and_the_node(anvil: AnvilNode, tmp_path: Path):
    from datetime import UTC, datetime, timedelta

    from govledger.certificates.models import CertificateIn, ReasonIn
    from govledger.config import Settings
    from govledger.runtime import Runtime
    from govledger.shortids import short_id_hex

    env = operator_env(anvil, tmp_path)
    deploy_one_department(env, tmp_path, roles=("governor", "certificate_issuer"))
    settings = Settings(_env_file=None, chain_url=anvil.url, data_dir=tmp_path / "data",
                        deployment_file=tmp_path / "deployments" / "local.json",
                        keystore_passphrase=PASSPHRASE, keystore_scrypt_n=2**10, receipt_poll_seconds=0.05)
    runtime = Runtime(settings)
    runtime.tx_manager.start()
    try:
        document = tmp_path / "licence.pdf"
        document.write_bytes("营业执照 正本".encode() * 50)
        import hashlib

        now = datetime.now(UTC)
        issued = runtime.certificates.issue("CS-DRB", CertificateIn(
            certificate_id="LIC-CLI-1", certificate_type="business-licence",
            document_hash=hashlib.sha256(document.read_bytes()).hexdigest(),
            holder_commitment="0x" + "ab" * 32, valid_from=now - timedelta(days=1),
            valid_until=now + timedelta(days=30)), None)
        assert runtime.tx_manager.wait(issued.operation["id"], 30).status == "confirmed"
        (tmp_path / "bundle.json").write_text(json.dumps(runtime.certificates.bundle("LIC-CLI-1")))

        ok = govledger("verify", str(document), "--bundle", "bundle.json", "--rpc-url", anvil.url, cwd=tmp_path)
        assert ok.returncode == 0 and "status on chain: valid" in ok.stdout, ok.stdout + ok.stderr
        (tmp_path / "forged.pdf").write_bytes(b"forged")
        forged = govledger("verify", "forged.pdf", "--bundle", "bundle.json", cwd=tmp_path)
        assert forged.returncode == 1 and "FAIL" in forged.stdout

        revoke = runtime.certificates.change_status(
            "CS-DRB", "LIC-CLI-1", "revoke", [short_id_hex(ReasonIn(reason_code="CANCELLED").reason_code)], None)
        assert runtime.tx_manager.wait(revoke.id, 30).status == "confirmed"
        revoked = govledger("verify", str(document), "--bundle", "bundle.json", "--rpc-url", anvil.url,
                            cwd=tmp_path)
        assert revoked.returncode == 2 and "status on chain: revoked" in revoked.stdout
    finally:
        runtime.tx_manager.stop()
