"""A govledger deployment that fault tests can break on purpose: kill the service, stop the node, start again.

It is started the way an operator starts one (the same steps as ``govledger.bench.stack``): keys in a
keystore, ``govledger deploy``, ``govledger apikeys create``, then ``govledger serve`` as a real subprocess.
Unlike the benchmark's stack, both processes can be stopped and started again on the same ports, data
folder and database, so a test can inject a fault and then check that nothing was lost:

    stack = start_stack(tmp_path)                  # anvil + deploy + API key + serve, ready
    try:
        stack.service.kill()                       # SIGKILL: no shutdown code runs
        stack.service.start()                      # same port, same database; returns once /readyz is 200
        stack.anvil.stop()                         # SIGTERM: anvil dumps its chain to its state file
        stack.anvil.start()                        # same port, chain loaded from the state file
        stack.anvil.freeze(); stack.anvil.thaw()   # SIGSTOP / SIGCONT: a node that hangs
        with stack.client() as client: ...         # httpx.Client with the API key
        stack.chain.logs("RecordRegistry", "BatchAnchored")   # what the chain says, not the service
    finally:
        stack.close()

anvil keeps mined blocks, receipts and logs across ``stop``/``start`` (``--state``); what sat in its mempool
is lost, as on a real node that restarts, and the service's transaction manager must send it again.
The database is the SQLite file in the data folder unless ``database_url`` is given (e.g. the
``postgresql_database_url`` fixture's scratch database).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import httpx
import pytest
from web3 import Web3
from web3.contract import Contract

from govledger.bench.stack import (
    ANVIL_BINARY,
    API_DEPARTMENT,
    BLOCK_GAS_LIMIT,
    PASSPHRASE,
    free_port,
    mining_each_transaction,
    rpc,
    run_setup_command,
)
from govledger.chain.deploy import Deployment

NETWORK = "faults"
CHAIN_ID = 31337
ARTIFACTS = Path(__file__).resolve().parents[2] / "service" / "govledger" / "chain" / "artifacts"
READY_TIMEOUT_SECONDS = 60.0


def _wait_for(check: Any, what: str, timeout: float, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"{what}: the process exited with {process.returncode}; {log.read_text(errors='replace')[-3000:]}"
            )
        try:
            if check():
                return
        except (httpx.TransportError, OSError):
            pass
        time.sleep(0.05)
    pytest.fail(f"{what}: not ready after {timeout:.0f} s; {log.read_text(errors='replace')[-3000:]}")


class AnvilProcess:
    """anvil on a fixed port whose chain survives ``stop()``/``start()`` through a state file."""

    def __init__(self, workdir: Path, *, block_time: int = 1):
        if not os.access(ANVIL_BINARY, os.X_OK):
            pytest.fail(f"anvil is not installed at {ANVIL_BINARY}; run scripts/install-tools")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.state_file = workdir / "anvil-state.json"
        self.log_path = workdir / "anvil.log"
        self.block_time = block_time
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start (again) on the same port, loading the chain from the state file when there is one."""
        args = [
            str(ANVIL_BINARY), "--port", str(self.port), "--host", "127.0.0.1",
            "--block-time", str(self.block_time), "--base-fee", "0", "--gas-price", "0",
            "--gas-limit", str(BLOCK_GAS_LIMIT), "--chain-id", str(CHAIN_ID),
            "--state", str(self.state_file), "--preserve-historical-states",
        ]  # fmt: skip
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        _wait_for(lambda: rpc(self.url, "eth_chainId"), "anvil", 30, self.process, self.log_path)

    def freeze(self) -> None:
        """SIGSTOP: the node keeps its port open but answers nothing, like a hung node or a network black hole."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT after ``freeze``."""
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """SIGTERM: anvil writes its chain (blocks, receipts, logs, state) to the state file, then exits."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # in case it was frozen
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                pytest.fail("anvil did not exit within 30 s of SIGTERM; its state was not saved")
        self.process = None


#: A ``govledger serve`` that does its imports first and then waits on stdin before serving: importing is most
#: of a start-up (seconds on a busy machine) and touches neither the database nor the chain, so a spare
#: process can do it while the current one still runs. Released, it runs exactly ``govledger serve``.
WARM_SERVE = """
import sys
import govledger.api.app, govledger.runtime, uvicorn
if sys.stdin.readline() != "serve\\n":
    sys.exit(0)
from govledger.cli import main
sys.argv = ["govledger", "serve", *sys.argv[1:]]
main()
"""


class ServiceProcess:
    """``govledger serve`` on a fixed port; can be killed and started again on the same data.

    With ``warm_spare`` a spare process (``WARM_SERVE``) is kept importing in the background, so that
    ``start()`` after a kill costs only the service's own start-up, not Python's imports.
    """

    def __init__(self, workdir: Path, env: Mapping[str, str], *, warm_spare: bool = False):
        self.workdir = workdir
        self.env = dict(env)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "serve.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.warm_spare = warm_spare
        self._spare: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _spawn(self, args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        with open(self.log_path, "ab") as log:
            return subprocess.Popen(
                [sys.executable, *args, "--port", str(self.port)],
                env=self.env, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT, **kwargs,
            )  # fmt: skip

    def start(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        """Start (again) and return once ``/readyz`` answers 200."""
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== start {self.starts + 1} at {time.strftime('%H:%M:%S')} =====\n".encode())
        spare, self._spare = self._spare, None
        if spare is not None and spare.poll() is None and spare.stdin is not None:
            spare.stdin.write(b"serve\n")
            spare.stdin.close()
            self.process = spare
        else:
            self.process = self._spawn(["-m", "govledger.cli", "serve"])
        self.starts += 1
        _wait_for(
            lambda: httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200,
            "govledger serve",
            timeout,
            self.process,
            self.log_path,
        )
        if self.warm_spare:
            self._spare = self._spawn(["-c", WARM_SERVE], stdin=subprocess.PIPE)

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to finish anything."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def stop(self) -> None:
        """SIGTERM (the spare, if any, is told to exit without serving)."""
        if self._spare is not None:
            if self._spare.stdin is not None:
                self._spare.stdin.close()
            try:
                self._spare.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._spare.kill()
                self._spare.wait()
            self._spare = None
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


class ChainReader:
    """Reads the system contracts straight from the node with web3.py: the ground truth a fault test checks."""

    def __init__(self, url: str, deployment: Deployment):
        self.w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30}))
        self.deployment = deployment
        self._contracts: dict[str, Contract] = {}

    def contract(self, name: str) -> Contract:
        if name not in self._contracts:
            abi = json.loads((ARTIFACTS / f"{name}.json").read_text(encoding="utf-8"))["abi"]
            address = Web3.to_checksum_address(self.deployment.address_of(name))
            self._contracts[name] = self.w3.eth.contract(address=address, abi=abi)
        return self._contracts[name]

    def logs(self, contract: str, event: str) -> list[Any]:
        """Every ``event`` the contract emitted since it was deployed, decoded, in chain order."""
        return list(
            self.contract(contract).events[event].get_logs(from_block=self.deployment.start_block, to_block="latest")
        )


@dataclass
class ReliabilityStack:
    """anvil + deployed system + ``govledger serve``, each restartable; ``close()`` stops both."""

    workdir: Path
    anvil: AnvilProcess
    service: ServiceProcess
    api_key: str
    deployment: Deployment
    env: dict[str, str] = field(default_factory=dict)

    @cached_property
    def chain(self) -> ChainReader:
        """Reads the contracts from the node (the same port across anvil restarts)."""
        return ChainReader(self.anvil.url, self.deployment)

    @property
    def database_url(self) -> str:
        """The database the service uses (its SQLite file unless ``database_url`` was given to start_stack)."""
        return self.env.get("GOVLEDGER_DATABASE_URL") or f"sqlite:///{self.workdir / 'data' / 'govledger.db'}"

    def client(self, *, timeout: float = 30.0, connections: int = 64) -> httpx.Client:
        """An httpx client for the API, authenticated as the department's user (thread-safe, pooled)."""
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        return httpx.Client(
            base_url=self.service.url,
            headers={"Authorization": f"Bearer {self.api_key}"},
            limits=limits,
            timeout=timeout,
        )

    def close(self) -> None:
        self.service.stop()
        self.anvil.stop()


def start_stack(
    workdir: Path,
    *,
    database_url: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    block_time: int = 1,
    warm_restarts: bool = False,
) -> ReliabilityStack:
    """Start anvil, create keys, deploy one department (``API_DEPARTMENT``), create its API key and serve.

    ``extra_env`` adds or overrides ``GOVLEDGER_*`` settings of every ``govledger`` command; ``warm_restarts``
    keeps a spare service process importing (see ``ServiceProcess``) for tests that restart it many times.
    The caller must ``close()`` the stack.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    anvil = AnvilProcess(workdir, block_time=block_time)
    anvil.start()
    service: ServiceProcess | None = None
    deployment_file = workdir / "deployments" / f"{NETWORK}.json"
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GOVLEDGER_")}
        env.update(
            GOVLEDGER_CHAIN_URL=anvil.url,
            GOVLEDGER_CHAIN_ID=str(CHAIN_ID),
            GOVLEDGER_NETWORK=NETWORK,
            GOVLEDGER_DATA_DIR=str(workdir / "data"),
            GOVLEDGER_DEPLOYMENT_FILE=str(deployment_file),
            GOVLEDGER_KEYSTORE_PASSPHRASE=PASSPHRASE,
            GOVLEDGER_KEYSTORE_SCRYPT_N=str(2**10),
            GOVLEDGER_RECEIPT_POLL_SECONDS="0.1",
            GOVLEDGER_PUBLIC_RATE_LIMIT_PER_MINUTE="1000000",
        )
        if database_url is not None:
            env["GOVLEDGER_DATABASE_URL"] = database_url
        env.update(extra_env or {})
        account = run_setup_command(env, "keys", "create", "--department", API_DEPARTMENT).split()[0]
        deployer = run_setup_command(env, "keys", "create", "--department", "DEPLOYER").split()[0]
        spec = {
            "threshold": 1,
            "proposal_lifetime_days": 7,
            "departments": [
                {
                    "code": API_DEPARTMENT,
                    "name": "Department whose service is broken on purpose",
                    "roles": ["governor", "record_keeper", "certificate_issuer"],
                    "account": account,
                }
            ],
        }
        departments = workdir / "departments.json"
        departments.write_text(json.dumps(spec))
        with mining_each_transaction(anvil.url, block_time):
            run_setup_command(env, "deploy", "--departments", str(departments), "--deployer", deployer)
        api_key = run_setup_command(
            env, "apikeys", "create", "--department", API_DEPARTMENT, "--role", "department_user", "--label", "faults"
        ).strip()
        service = ServiceProcess(workdir, env, warm_spare=warm_restarts)
        service.start()
    except BaseException:
        if service is not None:
            service.stop()
        anvil.stop()
        raise
    deployment = Deployment.load(deployment_file)
    return ReliabilityStack(
        workdir=workdir, anvil=anvil, service=service, api_key=api_key, deployment=deployment, env=env
    )
