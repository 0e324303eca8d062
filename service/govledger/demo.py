"""The demo: a whole govledger network in one process, on the embedded chain, ready in seconds.

It plays every role a real installation splits between people: it creates the departments' keys, deploys
the contracts with the demo consortium from GLOSSARY.md, and hands out API keys. Nothing here is used
outside ``govledger demo``; the placeholder passphrase it uses is refused by Settings everywhere else.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from govledger.chain.client import Web3Chain
from govledger.chain.deploy import DepartmentSpec, deploy_system
from govledger.config import Settings
from govledger.consortium.departments import Role
from govledger.keys import Keystore
from govledger.runtime import Runtime, department_signers

DEMO_PASSPHRASE = "demo"  # noqa: S105 - the demo only; Settings refuses it elsewhere

#: The demo consortium: code, name, roles, and the API keys handed out (role names of govledger.apikeys).
DEMO_DEPARTMENTS: tuple[tuple[str, str, Role, tuple[str, ...]], ...] = (
    (
        "CS-DRB",
        "长沙市数据资源管理局",
        Role.GOVERNOR | Role.DATA_OWNER | Role.RECORD_KEEPER,
        ("department_admin", "department_user"),
    ),
    (
        "CS-MSA",
        "长沙市市场监督管理局",
        Role.GOVERNOR | Role.CERTIFICATE_ISSUER | Role.RECORD_KEEPER,
        ("department_admin", "department_user"),
    ),
    (
        "CS-HRSS",
        "长沙市人力资源和社会保障局",
        Role.GOVERNOR | Role.CERTIFICATE_ISSUER | Role.RECORD_KEEPER | Role.DATA_OWNER,
        ("department_admin", "department_user"),
    ),
    ("CS-AUD", "长沙市审计局", Role.AUDITOR, ("auditor",)),
)


@dataclass
class PreparedDemo:
    runtime: Runtime
    host: str
    port: int
    api_keys: list[tuple[str, str, str]] = field(default_factory=list)  # (department, role, key)

    def banner(self) -> str:
        base = f"http://{self.host}:{self.port}"
        lines = [
            "govledger demo is ready (embedded chain, SQLite in the data folder; everything resets on restart)",
            "",
            f"  API docs      {base}/docs",
            f"  health        {base}/readyz",
            f"  departments   {base}/api/v1/consortium/departments",
            "",
            "API keys (send as 'Authorization: Bearer <key>'):",
        ]
        lines += [f"  {dept:<8} {role:<17} {key}" for dept, role, key in self.api_keys]
        return "\n".join(lines)


def prepare_demo(
    data_dir: Path, *, host: str = "127.0.0.1", port: int = 8000, database_url: str | None = None
) -> PreparedDemo:
    """Wipe ``data_dir``, deploy the demo consortium on a fresh embedded chain and create its API keys.

    ``database_url`` defaults to a SQLite file in ``data_dir``; the tests also run the demo on PostgreSQL.
    """
    from govledger.apikeys import create_api_key

    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    settings = Settings(
        demo=True,
        data_dir=data_dir,
        database_url=database_url,
        network="demo",
        deployment_file=data_dir / "deployments" / "demo.json",
        chain_url="embedded",
        keystore_passphrase=SecretStr(DEMO_PASSPHRASE),
        keystore_scrypt_n=2**10,
        confirmations=1,
        receipt_poll_seconds=0.05,
        host=host,
        port=port,
    )
    chain = Web3Chain("embedded")
    keystore = Keystore(settings.resolved_keystore_dir, scrypt_n=settings.keystore_scrypt_n)
    deployer = keystore.create_key("DEPLOYER", DEMO_PASSPHRASE, label="demo deployer")
    accounts = {code: keystore.create_key(code, DEMO_PASSPHRASE, label="demo signer") for code, *_ in DEMO_DEPARTMENTS}
    for info in [deployer, *accounts.values()]:
        chain.fund(info.address)
    unlocked = keystore.unlock_all(DEMO_PASSPHRASE)
    deployment = deploy_system(
        chain,
        unlocked[deployer.address],
        [DepartmentSpec(code, name, roles, accounts[code].address) for code, name, roles, _ in DEMO_DEPARTMENTS],
        threshold=2,
        network="demo",
    )
    deployment.save(settings.resolved_deployment_file)
    # The deployer's only privilege is spent; like a real operator, keep its key out of the service's keystore.
    keystore.remove_key(deployer.address)
    signers = department_signers(chain, deployment, keystore, DEMO_PASSPHRASE)
    runtime = Runtime(settings, chain=chain, signers=signers)
    prepared = PreparedDemo(runtime, host, port)
    for code, _, _, roles in DEMO_DEPARTMENTS:
        for role in roles:
            plaintext, _public = create_api_key(runtime.engine, code, role, f"demo {role}")
            prepared.api_keys.append((code, role, plaintext))
    return prepared
