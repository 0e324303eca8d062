"""A runtime built before a fork (``serve --processes``): it lets go of its connections; each side opens its own."""

from __future__ import annotations

import os
from pathlib import Path

from govledger.config import Settings
from govledger.runtime import Runtime
from tests.fixtures.anvil import AnvilNode
from tests.test_cli import PASSPHRASE, deploy_one_department, operator_env

ALL_OK = {"database": "ok", "chain": "ok", "contracts": "ok"}
_ESTABLISHED = "01"


def _open_file_targets() -> list[str]:
    """What each of this process's file descriptors points at (a path, or ``socket:[inode]``)."""
    targets = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            targets.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            continue  # the descriptor listdir itself held, closed since
    return targets


def connections_to(port: int) -> int:
    """This process's established TCP connections to ``port`` on this machine."""
    mine = {target[len("socket:[") : -1] for target in _open_file_targets() if target.startswith("socket:[")}
    count = 0
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if remote_port == port and fields[3] == _ESTABLISHED and fields[9] in mine:
                count += 1
    return count


def open_files(database: Path) -> int:
    """How many of this process's file descriptors are open on ``database``."""
    return _open_file_targets().count(str(database))


def test_a_runtime_lets_go_of_its_connections_and_both_sides_of_a_fork_open_their_own(
    anvil: AnvilNode, tmp_path: Path
):
    deploy_one_department(operator_env(anvil, tmp_path), tmp_path)
    node_port = int(anvil.url.rsplit(":", 1)[1])
    others = connections_to(node_port)  # the test's own, if any (the node fixture)
    settings = Settings(
        _env_file=None,
        chain_url=anvil.url,
        data_dir=tmp_path / "data",
        deployment_file=tmp_path / "deployments" / "local.json",
        keystore_passphrase=PASSPHRASE,
        keystore_scrypt_n=2**10,
    )
    runtime = Runtime(settings)
    database = Path(settings.resolved_database_url.removeprefix("sqlite:///")).resolve()
    assert runtime.readiness() == ALL_OK
    assert open_files(database) >= 1 and connections_to(node_port) > others

    runtime.release_connections()

    assert open_files(database) == 0
    assert connections_to(node_port) == others
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through its exit status only
        os._exit(0 if runtime.readiness() == ALL_OK else 1)
    assert runtime.readiness() == ALL_OK
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert open_files(database) >= 1 and connections_to(node_port) > others
