"""A PostgreSQL cluster of a test's own, on a free port, that the test may stop and restart at will.

The shared server at 127.0.0.1:5432 serves every other test, so a test that restarts PostgreSQL must not
touch it. This starts a throwaway cluster with Debian's server binaries instead. ``initdb`` refuses to run as
root, so every server command runs as the ``postgres`` system user, in a scratch folder that user owns.
Durability is switched off (``fsync=off``): the cluster lives for one test, and a restart with ``-m fast``
is a clean shutdown anyway.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from tests.fixtures.anvil import free_port

POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")
SYSTEM_USER = "postgres"
DATABASE = "govledger"


class PrivatePostgres:
    """One cluster in a scratch folder; ``close()`` stops it at once and removes the folder."""

    def __init__(self) -> None:
        for tool in ("initdb", "pg_ctl"):
            if not os.access(POSTGRES_BIN / tool, os.X_OK):
                pytest.fail(f"PostgreSQL server binaries are missing: {POSTGRES_BIN / tool}")
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="govledger-pg-"))
        shutil.chown(self.root, SYSTEM_USER, SYSTEM_USER)
        self.data_dir = self.root / "data"
        self.log_file = self.root / "server.log"
        self._run("initdb", "-D", str(self.data_dir), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        self.start()
        with psycopg.connect(self.admin_conninfo, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{DATABASE}"')

    # ------------------------------------------------------------ addresses

    @property
    def admin_conninfo(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres connect_timeout=3"

    @property
    def url(self) -> str:
        """The SQLAlchemy URL the service is given."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{DATABASE}"

    # ------------------------------------------------------------ life cycle

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
        self._run(
            "pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-o", options, "-w", "-t", "30", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "30", "stop")

    def restart(self, mode: str = "fast") -> None:
        """``pg_ctl restart``: every connection is cut, the server comes back on the same port."""
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
        self._run(
            "pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-m", mode, "-o", options, "-w", "-t", "30",
            "restart",
        )  # fmt: skip

    def is_running(self) -> bool:
        done = subprocess.run(
            ["runuser", "-u", SYSTEM_USER, "--", str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.data_dir), "status"],
            capture_output=True,
            check=False,
        )
        return done.returncode == 0

    def close(self) -> None:
        try:
            if self.is_running():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def wait_accepting(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.admin_conninfo) as connection:
                    connection.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            ["runuser", "-u", SYSTEM_USER, "--", str(POSTGRES_BIN / tool), *args],
            capture_output=True,
            text=True,
            check=False,
            cwd=self.root,
        )
        if done.returncode != 0:
            log = self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""
            pytest.fail(f"{tool} {args[-1]} failed: {done.stderr[-2000:]}\n{log}")
