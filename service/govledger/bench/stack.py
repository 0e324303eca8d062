"""The system under test, started as an operator would: anvil, keys, deploy, API key, ``govledger serve``.

Three departments are founded: BENCH-API, whose key lives in the service's keystore and which every API row
writes for; BENCH-W3, whose account is one of anvil's unlocked development accounts so that the web3.py
baseline and the gas row can call ``transact()`` the usual way; and BENCH-W3-USE (another unlocked account),
which BENCH-W3 grants data to in the gas row. Everything runs in a scratch folder that is removed afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from govledger.bench.footprint import FootprintSampler
from govledger.bench.procfs import process_tree
from govledger.errors import GovLedgerError

if TYPE_CHECKING:
    from typer.testing import Result

REPO_ROOT = Path(__file__).resolve().parents[3]
ANVIL_BINARY = REPO_ROOT / "tools" / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
BLOCK_GAS_LIMIT = 30_000_000
BLOCK_TIME_SECONDS = 1
PASSPHRASE = "bench-only keystore passphrase"  # noqa: S105 - a throwaway keystore in a scratch folder
API_DEPARTMENT = "BENCH-API"
WEB3_DEPARTMENT = "BENCH-W3"
#: The department BENCH-W3 grants data to in the gas row, so that it can log a use (another unlocked account).
WEB3_CONSUMER_DEPARTMENT = "BENCH-W3-USE"


class BenchSetupError(GovLedgerError):
    """The benchmark could not start anvil, deploy or serve."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rpc(url: str, method: str, params: list | None = None) -> object:
    reply = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}, timeout=10)
    body = reply.json()
    if "error" in body:
        raise BenchSetupError(f"{method}: {body['error']}")
    return body["result"]


@contextlib.contextmanager
def mining_each_transaction(chain_url: str, block_time: int = BLOCK_TIME_SECONDS) -> Iterator[None]:
    """Mine every transaction at once inside the block, then go back to a block every ``block_time`` seconds.

    For the steps that send a dozen transactions one after the other and measure no time (deploying, the gas
    row): waiting for a block after each would only add a dozen seconds to every run.
    """
    rpc(chain_url, "evm_setAutomine", [True])
    try:
        yield
    finally:
        rpc(chain_url, "evm_setIntervalMining", [block_time])


@dataclass
class Stack:
    """A running anvil + deployed system + ``govledger serve``; ``close()`` stops both (serve stops its children)."""

    workdir: Path
    chain_url: str
    api_url: str
    api_key: str
    web3_account: str
    web3_consumer_account: str
    deployment_file: Path
    env: dict[str, str]
    anvil: subprocess.Popen[bytes]
    server: subprocess.Popen[bytes]
    memory: FootprintSampler

    def close(self) -> None:
        for process in (self.server, self.anvil):
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 30 s; a killed serve cannot stop its children, so they are killed too."""
    if process.poll() is not None:
        return
    children = process_tree(process.pid)[1:]
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def invoke_cli(args: Sequence[str], env: Mapping[str, str] | None = None) -> Result:
    """Run one command of the ``govledger`` CLI in this process, with exactly ``env`` as its environment.

    The same code as the installed command, minus a fresh interpreter: each of those spends ~3 s importing
    web3 and the service on a 2-core machine. Variables of this process that ``env`` leaves out are unset
    for the command (``env=None`` keeps this process's environment as it is).
    """
    from typer.testing import CliRunner

    from govledger.cli import app

    overrides: dict[str, str | None] | None = None
    if env is not None:
        overrides = {name: None for name in os.environ if name not in env}
        overrides.update(env)
    return CliRunner().invoke(app, list(args), env=overrides)


def run_setup_command(env: Mapping[str, str], *args: str) -> str:
    """Run one set-up command of the ``govledger`` CLI in this process with exactly ``env``; its stdout.

    Setting up is not what a benchmark or a fault test measures, so it runs in-process (``invoke_cli``).
    Relative paths resolve against this process's working directory, so callers pass absolute ones.
    """
    result = invoke_cli(args, env)
    if result.exit_code != 0:
        reason = result.output[-2000:] or repr(result.exception)
        raise BenchSetupError(f"govledger {' '.join(args[:2])} failed: {reason}") from result.exception
    return result.stdout


def _start_anvil(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    if not os.access(ANVIL_BINARY, os.X_OK):
        raise BenchSetupError(f"anvil is not installed at {ANVIL_BINARY}; run scripts/install-tools")
    port = free_port()
    args = [
        str(ANVIL_BINARY), "--port", str(port), "--host", "127.0.0.1",
        "--block-time", str(BLOCK_TIME_SECONDS), "--base-fee", "0", "--gas-price", "0",
        "--gas-limit", str(BLOCK_GAS_LIMIT),
    ]  # fmt: skip
    with open(workdir / "anvil.log", "wb") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603 - the pinned anvil
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            rpc(url, "eth_chainId")
            return process, url
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise BenchSetupError("anvil did not start; see anvil.log") from None
            time.sleep(0.05)


def _wait_ready(base: str, server: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BenchSetupError("govledger serve exited during start-up; see serve.log")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise BenchSetupError("govledger serve did not become ready")


#: What each process of ``serve --processes N`` logs once it is up: uvicorn for each API process, the CLI for
#: the background worker.
API_PROCESS_STARTED = "Application startup complete."
BACKGROUND_WORKER_STARTED = "worker running"


def _wait_all_started(log_path: Path, processes: int, server: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait until every API process and the background worker have started, not only the first to answer.

    The others would otherwise still be starting (seconds of CPU each) while the first rows are measured.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BenchSetupError("govledger serve exited during start-up; see serve.log")
        log = log_path.read_text(errors="replace")
        if log.count(API_PROCESS_STARTED) >= processes and BACKGROUND_WORKER_STARTED in log:
            return
        time.sleep(0.1)
    raise BenchSetupError(f"not all {processes} API processes and the background worker started; see serve.log")


def start_stack(
    workdir: Path, *, rate_limit_per_minute: int, processes: int = 1, extra_env: dict[str, str] | None = None
) -> Stack:
    """Start anvil, deploy with two departments, create an API key and serve; the caller must ``close()``.

    ``processes`` is ``GOVLEDGER_API_PROCESSES``: above 1, the service runs that many API processes and one
    background worker, and the stack is returned once all of them have started.
    """
    anvil, chain_url = _start_anvil(workdir)
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GOVLEDGER_")}
        env.update(
            GOVLEDGER_CHAIN_URL=chain_url,
            GOVLEDGER_CHAIN_ID="31337",
            GOVLEDGER_NETWORK="bench",
            GOVLEDGER_DATA_DIR=str(workdir / "data"),
            GOVLEDGER_DEPLOYMENT_FILE=str(workdir / "deployments" / "bench.json"),
            GOVLEDGER_KEYSTORE_PASSPHRASE=PASSPHRASE,
            GOVLEDGER_KEYSTORE_SCRYPT_N=str(2**10),
            GOVLEDGER_RECEIPT_POLL_SECONDS="0.1",
            GOVLEDGER_PUBLIC_RATE_LIMIT_PER_MINUTE=str(rate_limit_per_minute),
            GOVLEDGER_API_PROCESSES=str(processes),
            **(extra_env or {}),
        )
        api_account = run_setup_command(env, "keys", "create", "--department", API_DEPARTMENT).split()[0]
        deployer = run_setup_command(env, "keys", "create", "--department", "DEPLOYER").split()[0]
        unlocked = rpc(chain_url, "eth_accounts")
        assert isinstance(unlocked, list)
        web3_account, web3_consumer_account = str(unlocked[1]), str(unlocked[2])
        spec = {
            "threshold": 1,
            "proposal_lifetime_days": 7,
            "departments": [
                {
                    "code": API_DEPARTMENT,
                    "name": "Bench department served through the API",
                    "roles": ["governor", "record_keeper", "certificate_issuer"],
                    "account": api_account,
                },
                {
                    "code": WEB3_DEPARTMENT,
                    "name": "Bench department driven by plain web3.py",
                    "roles": ["record_keeper", "certificate_issuer", "data_owner"],
                    "account": web3_account,
                },
                {
                    "code": WEB3_CONSUMER_DEPARTMENT,
                    "name": "Bench department that logs its use of BENCH-W3's data",
                    "roles": ["record_keeper"],
                    "account": web3_consumer_account,
                },
            ],
        }
        (workdir / "departments.json").write_text(json.dumps(spec))
        with mining_each_transaction(chain_url):
            run_setup_command(env, "deploy", "--departments", str(workdir / "departments.json"), "--deployer", deployer)
        api_key = run_setup_command(
            env, "apikeys", "create", "--department", API_DEPARTMENT, "--role", "department_user",
            "--label", "bench",
        ).strip()  # fmt: skip
        port = free_port()
        with open(workdir / "serve.log", "wb") as log:
            server = subprocess.Popen(  # noqa: S603 - our own CLI
                [sys.executable, "-m", "govledger.cli", "serve", "--port", str(port)],
                env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
    except BaseException:
        anvil.kill()
        raise
    api_url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(api_url, server, timeout=90)
        if processes > 1:
            _wait_all_started(workdir / "serve.log", processes, server, timeout=90)
    except BaseException:
        _stop(server)
        anvil.kill()
        raise
    return Stack(
        workdir=workdir,
        chain_url=chain_url,
        api_url=api_url,
        api_key=api_key,
        web3_account=web3_account,
        web3_consumer_account=web3_consumer_account,
        deployment_file=workdir / "deployments" / "bench.json",
        env=env,
        anvil=anvil,
        server=server,
        memory=FootprintSampler(server.pid),
    )
