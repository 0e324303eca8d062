"""The ``govledger`` command: compile, deploy, serve, demo, and the administration of keys and API keys.

Every command reads its configuration through ``govledger.config.Settings`` (``GOVLEDGER_`` environment
variables), with a few options on top. Errors are printed as one readable line and a non-zero exit code,
never as a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from govledger.config import Settings, load_settings
from govledger.errors import GovLedgerError, ValidationError
from govledger.heap import freeze_start_up_objects, limit_malloc_arenas
from govledger.logsetup import configure_logging

app = typer.Typer(
    name="govledger",
    help="Blockchain ledger service for government data: consortium, shared records, sharing, e-certificates.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
keys_app = typer.Typer(help="Department signing keys in the encrypted keystore.", no_args_is_help=True)
apikeys_app = typer.Typer(help="API keys of department users and auditors.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
departments_app = typer.Typer(
    help="Member departments: list them, and propose, approve and execute changes (governance).",
    no_args_is_help=True,
)
app.add_typer(keys_app, name="keys")
app.add_typer(apikeys_app, name="apikeys")
app.add_typer(db_app, name="db")
records_app = typer.Typer(help="Shared records: import and anchor files or hashes in batches.", no_args_is_help=True)
app.add_typer(departments_app, name="departments")
app.add_typer(records_app, name="records")
audit_app = typer.Typer(
    help="Auditing: export the event history, check the index against the chain.", no_args_is_help=True
)
index_app = typer.Typer(help="The event index (chain_events): rebuild it from the chain.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(index_app, name="index")

_F = TypeVar("_F", bound=Callable[..., Any])


def _fail(message: str, code: int = 1) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _settings(**overrides: Any) -> Settings:
    return load_settings(**{k: v for k, v in overrides.items() if v is not None})


def main() -> None:
    """Console entry point: GovLedgerError becomes one line on stderr and exit status 1."""
    configure_logging()
    try:
        app()
    except GovLedgerError as exc:
        typer.secho(f"error: {exc.message}", fg=typer.colors.RED, err=True)
        sys.exit(1)


# ------------------------------------------------------------------ toolchain and deployment


@app.command()
def compile(
    check: Annotated[
        bool, typer.Option("--check", help="Only check that the committed artifacts are current.")
    ] = False,
    repo_root: Annotated[Path, typer.Option(help="Repository root holding contracts/src.")] = Path("."),
) -> None:
    """Compile contracts/src with the pinned solc (native or solc-js shim) into the package's artifacts."""
    from govledger.chain import compiler

    args = ["--repo-root", str(repo_root)] + (["--check"] if check else [])
    raise typer.Exit(compiler.main(args))


@app.command()
def deploy(
    departments: Annotated[Path, typer.Option(help="JSON file: founding departments, threshold, lifetime.")],
    deployer: Annotated[str, typer.Option(help="Address of the keystore key that pays for deployment.")],
    network: Annotated[str | None, typer.Option(help="Deployment name (GOVLEDGER_NETWORK).")] = None,
    chain_url: Annotated[str | None, typer.Option(help="Node URL (GOVLEDGER_CHAIN_URL).")] = None,
    output: Annotated[
        Path | None, typer.Option(help="Where to write the record (default: deployments/<network>.json).")
    ] = None,
) -> None:
    """Deploy every system contract with the founding departments and write the deployment record.

    The departments file looks like:
    {"threshold": 2, "proposal_lifetime_days": 7, "departments": [{"code": "CS-DRB", "name": "...",
    "roles": ["governor", "data_owner"], "account": "0x..."}]}
    """
    from govledger.chain.deploy import DepartmentSpec, deploy_system
    from govledger.consortium.departments import Role
    from govledger.keys import Keystore
    from govledger.runtime import connect_chain

    settings = _settings(network=network, chain_url=chain_url)
    try:
        spec = json.loads(departments.read_text(encoding="utf-8"))
        founders = [
            DepartmentSpec(code=d["code"], name=d["name"], roles=Role.parse(d["roles"]), account=d["account"])
            for d in spec["departments"]
        ]
        threshold = int(spec["threshold"])
        lifetime = int(float(spec.get("proposal_lifetime_days", 7)) * 86400)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValidationError(f"cannot read {departments}: {exc}") from None
    keystore = Keystore(settings.resolved_keystore_dir, scrypt_n=settings.keystore_scrypt_n)
    signer = keystore.unlock_all(settings.passphrase()).get(deployer)
    if signer is None:
        _fail(f"no key {deployer} in {settings.resolved_keystore_dir}")
        return
    chain = connect_chain(settings)
    record = deploy_system(
        chain, signer, founders, threshold=threshold, network=settings.network, proposal_lifetime=lifetime
    )
    path = output or settings.resolved_deployment_file
    record.save(path)
    typer.echo(f"deployed to chain {record.chain_id}; record written to {path}")
    for name, contract in record.contracts.items():
        typer.echo(f"  {name}: {contract.address} (block {contract.block_number})")


# ------------------------------------------------------------------ running


#: The C HTTP parser and event loop (1.4x the requests of the pure-Python ones on this project's benchmark
#: machine), and no uvicorn access log: the API's own middleware writes one line per request, with its id.
#: Idle keep-alive connections are kept longer than clients keep theirs (httpx and requests: 5 s), so a
#: client never sends a request on a connection the server is closing at that moment (a reset).
UVICORN_OPTIONS: dict[str, Any] = {
    "http": "govledger.api.http_protocol:CoalescingHttpToolsProtocol",
    "loop": "uvloop",
    "access_log": False,
    "timeout_keep_alive": 30,
}


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on (GOVLEDGER_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (GOVLEDGER_PORT).")] = None,
    processes: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=64,
            help="API processes (GOVLEDGER_API_PROCESSES). More than 1: that many API processes plus one "
            "background-worker process (needs a node URL, not the embedded chain).",
        ),
    ] = None,
) -> None:
    """Serve the API, pages and background workers from the configuration (any chain)."""
    limit_malloc_arenas()
    settings = _settings(host=host, port=port, api_processes=processes)
    if settings.api_processes > 1:
        from govledger.processes import serve_in_processes

        serve_in_processes(settings, settings.api_processes, UVICORN_OPTIONS)
        return
    import uvicorn

    from govledger.api.app import create_app
    from govledger.runtime import Runtime

    runtime = Runtime(settings)
    served = create_app(runtime)
    freeze_start_up_objects()
    uvicorn.run(served, host=settings.host, port=settings.port, log_level="info", **UVICORN_OPTIONS)


@app.command()
def worker() -> None:
    """Run only the background workers (transaction manager, indexer): no HTTP. Stops on SIGTERM/SIGINT."""
    from govledger.background import run_until_stopped
    from govledger.runtime import Runtime

    limit_malloc_arenas()
    run_until_stopped(Runtime(_settings()))


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    data_dir: Annotated[Path, typer.Option(help="Folder for the demo's database and keys (wiped).")] = Path(
        ".govledger/demo"
    ),
) -> None:
    """Start the embedded chain, deploy, create the demo consortium with API keys, and serve."""
    import uvicorn

    from govledger.api.app import create_app
    from govledger.demo import prepare_demo

    limit_malloc_arenas()
    prepared = prepare_demo(data_dir, host=host, port=port)
    served = create_app(prepared.runtime)
    freeze_start_up_objects()
    typer.echo(prepared.banner())
    uvicorn.run(served, host=host, port=port, log_level="warning", **UVICORN_OPTIONS)


# ------------------------------------------------------------------ administration


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations (the service also does this at start-up)."""
    from govledger.db.migrate import upgrade_database

    settings = _settings()
    revision = upgrade_database(settings.resolved_database_url)
    typer.echo(f"database at revision {revision}")


@keys_app.command("create")
def keys_create(
    department: Annotated[str, typer.Option(help="Department code, e.g. CS-MSA.")],
    label: Annotated[str, typer.Option(help="Free text for operators.")] = "",
) -> None:
    """Create a new signing key for a department, encrypted under the keystore passphrase."""
    from govledger.keys import Keystore

    settings = _settings()
    keystore = Keystore(settings.resolved_keystore_dir, scrypt_n=settings.keystore_scrypt_n)
    info = keystore.create_key(department, settings.passphrase(), label=label)
    typer.echo(f"{info.address}  {info.department}  {info.label}")
    typer.echo("The account acts for the department once governance adds it (AddAccount proposal).", err=True)


@keys_app.command("list")
def keys_list() -> None:
    """List the keys in the keystore (addresses and departments only; nothing is decrypted)."""
    from govledger.keys import Keystore

    settings = _settings()
    for info in Keystore(settings.resolved_keystore_dir).list_keys():
        typer.echo(f"{info.address}  {info.department:<12} {info.created_at}  {info.label}")


@apikeys_app.command("create")
def apikeys_create(
    department: Annotated[str, typer.Option(help="Department code the key acts for.")],
    role: Annotated[str, typer.Option(help="department_admin, department_user or auditor.")],
    label: Annotated[str, typer.Option(help="Who or what uses the key.")] = "created with the CLI",
    expires_in_days: Annotated[int | None, typer.Option(help="Expiry; none by default.")] = None,
) -> None:
    """Create an API key; the key is printed once and only its hash is stored."""
    from govledger.apikeys import create_api_key
    from govledger.db.engine import create_db_engine
    from govledger.db.migrate import upgrade_database

    settings = _settings()
    upgrade_database(settings.resolved_database_url)
    engine = create_db_engine(settings.resolved_database_url)
    expires = datetime.now(UTC) + timedelta(days=expires_in_days) if expires_in_days else None
    plaintext, public = create_api_key(engine, department, role, label, expires_at=expires)
    typer.echo(plaintext)
    typer.echo(f"id {public.id}, {public.department} {public.role}; store it now, it is not shown again", err=True)


@apikeys_app.command("list")
def apikeys_list(department: Annotated[str | None, typer.Option()] = None) -> None:
    """List API keys (never their secrets)."""
    from govledger.apikeys import list_api_keys
    from govledger.db.engine import create_db_engine

    settings = _settings()
    for key in list_api_keys(create_db_engine(settings.resolved_database_url), department=department):
        state = "revoked" if key.revoked_at else "active"
        typer.echo(f"{key.id}  {key.prefix}  {key.department:<10} {key.role:<17} {state}  {key.label}")


@apikeys_app.command("revoke")
def apikeys_revoke(key: Annotated[str, typer.Argument(help="The key's id or prefix.")]) -> None:
    """Revoke an API key at once."""
    from govledger.apikeys import revoke_api_key
    from govledger.db.engine import create_db_engine

    settings = _settings()
    revoke_api_key(create_db_engine(settings.resolved_database_url), key)
    typer.echo("revoked")


@departments_app.command("list")
def departments_list() -> None:
    """List the member departments as the Consortium contract records them."""
    from govledger.chain.deploy import Deployment
    from govledger.consortium.departments import Role, decode_department_code
    from govledger.runtime import connect_chain

    settings = _settings()
    chain = connect_chain(settings)
    consortium = Deployment.load(settings.resolved_deployment_file).bind(chain, "Consortium")
    for raw in consortium.call("departmentIds"):
        dept = consortium.call("getDepartment", raw)
        state = "active" if dept["active"] else "suspended"
        roles = ",".join(Role(dept["roles"]).names())
        typer.echo(f"{decode_department_code(raw):<12} {state:<9} {roles:<50} {dept['name']}")


def _governance(department: str, submit: Callable[[Any], Any], wait: bool) -> None:
    """Run one governance write through this service's transaction manager and report the outcome."""
    from govledger.consortium.service import ConsortiumService
    from govledger.runtime import Runtime

    settings = _settings()
    runtime = Runtime(settings)
    runtime.tx_manager.start()
    try:
        operation = submit(ConsortiumService(runtime.tx_manager))
        if wait:
            operation = runtime.tx_manager.wait(operation.id, settings.wait_timeout_seconds)
    finally:
        runtime.tx_manager.stop()
    typer.echo(json.dumps(operation.model_dump(mode="json"), ensure_ascii=False, indent=2))
    if operation.status == "failed":
        raise typer.Exit(1)


@departments_app.command("propose")
def departments_propose(
    department: Annotated[str, typer.Option(help="The governor department proposing (its key signs).")],
    change: Annotated[
        str,
        typer.Argument(
            help='The change as JSON, e.g. \'{"kind": "add_account", "code": "CS-MSA", "account": "0x..."}\'; '
            "kinds: add_department, suspend_department, reinstate_department, set_roles, add_account, "
            "remove_account, set_threshold, set_module."
        ),
    ],
    wait: Annotated[bool, typer.Option(help="Wait until the proposal is on chain.")] = True,
) -> None:
    """Propose a consortium change (department, roles, accounts, threshold) for a governor department."""
    from pydantic import TypeAdapter
    from pydantic import ValidationError as PydanticValidationError

    from govledger.consortium.proposals import ProposalRequest

    try:
        request = TypeAdapter(ProposalRequest).validate_json(change)
    except PydanticValidationError as exc:
        raise ValidationError(f"invalid change: {exc.errors(include_input=False)}") from None
    _governance(department, lambda service: service.propose(department, request, None), wait)


@departments_app.command("approve")
def departments_approve(
    proposal_id: Annotated[int, typer.Argument(help="The proposal to approve.")],
    department: Annotated[str, typer.Option(help="The governor department approving.")],
    wait: Annotated[bool, typer.Option(help="Wait until the approval is on chain.")] = True,
) -> None:
    """Approve a pending proposal for a governor department."""
    _governance(department, lambda service: service.approve(department, proposal_id, None), wait)


@departments_app.command("execute")
def departments_execute(
    proposal_id: Annotated[int, typer.Argument(help="The proposal to execute.")],
    department: Annotated[str, typer.Option(help="The governor department executing.")],
    wait: Annotated[bool, typer.Option(help="Wait until the change is on chain.")] = True,
) -> None:
    """Execute a proposal that reached the approval threshold."""
    _governance(department, lambda service: service.execute(department, proposal_id, None), wait)


@app.command("verify-proof")
def verify_proof(
    bundle: Annotated[Path, typer.Argument(help="The proof bundle (JSON) to check.")],
    rpc_url: Annotated[
        str | None, typer.Option(help="Any node of the network; without it only offline checks.")
    ] = None,
    document: Annotated[Path | None, typer.Option(help="The record's document, to check it matches the hash.")] = None,
    contract: Annotated[str | None, typer.Option(help="The published RecordRegistry address, if known.")] = None,
) -> None:
    """Check a record's proof bundle without trusting any govledger service: leaf, proof, root, and the chain."""
    from govledger.chain.client import Web3Chain
    from govledger.records.bundle import check_content, check_offline, check_on_chain, parse_bundle

    try:
        data = json.loads(bundle.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValidationError(f"cannot read {bundle}: {exc}") from None
    parsed = parse_bundle(data)
    problems = check_offline(parsed)
    if document is not None:
        with document.open("rb") as stream:
            problems += check_content(parsed, stream)
    if rpc_url is not None and not problems:
        problems += check_on_chain(parsed, Web3Chain(rpc_url), expected_contract=contract)
    if problems:
        for problem in problems:
            typer.secho(f"FAIL  {problem}", fg=typer.colors.RED)
        raise typer.Exit(1)
    where = f"on chain {parsed.anchor.chain_id} at block {parsed.anchor.block_number}" if rpc_url else "offline only"
    typer.secho(f"OK    the record is in the anchored batch {parsed.root} ({where})", fg=typer.colors.GREEN)


@records_app.command("import")
def records_import(
    path: Annotated[Path, typer.Argument(help="A folder of files to hash, or a CSV with record_id,content_hash.")],
    department: Annotated[str, typer.Option(help="The department anchoring the records.")],
    schema_id: Annotated[str, typer.Option(help="Schema or category id of the records.")] = "imported",
    hash_algorithm: Annotated[str, typer.Option(help="sha256, keccak256 or sm3.")] = "sha256",
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Records per Merkle batch.")] = 1000,
) -> None:
    """Hash files locally (or read a CSV of hashes) and anchor them in batches; safe to stop and re-run."""
    from govledger.records.importer import import_records, scan
    from govledger.runtime import Runtime

    settings = _settings()
    records = scan(path, schema_id=schema_id, hash_algorithm=hash_algorithm)
    runtime = Runtime(settings)
    runtime.tx_manager.start()
    try:
        with typer.progressbar(length=len(records), label="anchoring", file=sys.stderr) as bar:
            summary = import_records(
                runtime.records,
                records,
                department=department,
                batch_size=batch_size,
                progress=bar.update,
                wait_timeout=settings.wait_timeout_seconds,
            )
    finally:
        runtime.tx_manager.stop()
    typer.echo(
        f"{summary.anchored} anchored in {summary.batches} batches, {summary.skipped} already anchored, "
        f"{summary.failed} failed"
    )
    if summary.failed:
        raise typer.Exit(1)


@app.command("verify")
def verify_certificate(
    document: Annotated[Path, typer.Argument(help="The certificate document (file) to check.")],
    bundle: Annotated[Path, typer.Option(help="The certificate's proof bundle (JSON) from its issuer.")],
    rpc_url: Annotated[str | None, typer.Option(help="Any node of the network, for the status now.")] = None,
) -> None:
    """Check a certificate document against its bundle offline and, with a node, its status on chain now."""
    from govledger.certificates.bundle import check_offline, check_on_chain, parse_certificate_bundle
    from govledger.chain.client import Web3Chain

    try:
        parsed = parse_certificate_bundle(json.loads(bundle.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValidationError(f"cannot read {bundle}: {exc}") from None
    with document.open("rb") as stream:
        problems = check_offline(parsed, stream)
    status = "unchecked (offline)"
    if rpc_url is not None and not problems:
        chain_problems, status = check_on_chain(parsed, Web3Chain(rpc_url))
        problems += chain_problems
    for problem in problems:
        typer.secho(f"FAIL  {problem}", fg=typer.colors.RED)
    if problems:
        raise typer.Exit(1)
    typer.secho(
        f"OK    certificate {parsed.cert_id}: document matches; status on chain: {status}", fg=typer.colors.GREEN
    )
    if status not in ("valid", "unchecked (offline)"):
        raise typer.Exit(2)


# ------------------------------------------------------------------ auditing and the index


def _audit_chain(settings: Settings) -> tuple[Any, Any]:
    """The node and the verified deployment record: an audit trusts only code the chain really runs."""
    from govledger.chain.deploy import Deployment, verify_deployment
    from govledger.runtime import connect_chain

    chain = connect_chain(settings)
    deployment = Deployment.load(settings.resolved_deployment_file)
    verify_deployment(chain, deployment)
    return chain, deployment


@audit_app.command("export")
def audit_export(
    out: Annotated[Path, typer.Option("--out", help="The file to write.")],
    export_format: Annotated[str, typer.Option("--format", help="csv or jsonl (JSON Lines).")] = "jsonl",
    event: Annotated[list[str] | None, typer.Option(help="Event name(s); repeat or separate with commas.")] = None,
    department: Annotated[list[str] | None, typer.Option(help="Department code(s).")] = None,
    contract: Annotated[list[str] | None, typer.Option(help="Contract name(s) or address(es).")] = None,
    subject: Annotated[str | None, typer.Option(help="kind:id, e.g. record:R-0001.")] = None,
    from_block: Annotated[int | None, typer.Option(min=0)] = None,
    to_block: Annotated[int | None, typer.Option(min=0)] = None,
    from_time: Annotated[str | None, typer.Option(help="ISO 8601 or Unix seconds, inclusive.")] = None,
    to_time: Annotated[str | None, typer.Option(help="ISO 8601 or Unix seconds, exclusive.")] = None,
) -> None:
    """Export indexed events (any filtered range) as CSV or JSON Lines, streamed from the database."""
    from govledger.audit import EventFilters
    from govledger.audit.export import check_format, export_chunks
    from govledger.audit.filters import filter_conditions
    from govledger.audit.offline import indexed_chain_id, offline_final_block
    from govledger.audit.queries import count_events, iter_pages
    from govledger.db.engine import create_db_engine

    settings = _settings()
    check_format(export_format)
    engine = create_db_engine(settings.resolved_database_url)
    chain_id = indexed_chain_id(engine, settings.resolved_deployment_file)
    filters = EventFilters.parse(
        events=event,
        departments=department,
        contracts=contract,
        subject=subject,
        from_block=from_block,
        to_block=to_block,
        from_time=from_time,
        to_time=to_time,
    )
    conditions = filter_conditions(engine, chain_id, filters)
    # Final as far as the database alone can tell: the node is not asked, so this works on a copy too.
    final_block = offline_final_block(engine, chain_id=chain_id, name="main", confirmations=settings.confirmations)
    total = count_events(engine, conditions)
    try:
        with (
            out.open("w", encoding="utf-8", newline="") as stream,
            typer.progressbar(length=total, label="exporting", file=sys.stderr) as bar,
        ):
            pages = iter_pages(engine, conditions)
            for chunk in export_chunks(pages, export_format, final_block=final_block, progress=bar.update):
                stream.write(chunk)
    except OSError as exc:
        raise ValidationError(f"cannot write {out}: {exc.strerror}") from None
    typer.echo(f"{total} events written to {out}", err=True)


@audit_app.command("verify")
def audit_verify(
    from_block: Annotated[int | None, typer.Option(min=0, help="Default: the deployment's first block.")] = None,
    to_block: Annotated[int | None, typer.Option(min=0, help="Default: the last final indexed block.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole report as JSON.")] = False,
) -> None:
    """Re-read the events from the node and compare them with the index: missing, extra or altered rows."""
    from govledger.audit import Auditor
    from govledger.db.engine import create_db_engine
    from govledger.indexer import Indexer

    settings = _settings()
    chain, deployment = _audit_chain(settings)
    engine = create_db_engine(settings.resolved_database_url)
    indexer = Indexer(chain, engine, deployment, confirmations=settings.confirmations)
    auditor = Auditor(engine, chain, deployment, indexer)
    first = deployment.start_block if from_block is None else from_block
    last = auditor.final_block() if to_block is None else min(to_block, auditor.final_block())
    with typer.progressbar(length=max(last - first + 1, 0), label="verifying blocks", file=sys.stderr) as bar:
        report = auditor.integrity(first, last, progress=bar.update)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo(f"blocks {report.from_block}..{report.to_block}: {report.checked_events} events on chain")
        for kind, count, items in (
            ("missing", report.missing_count, report.missing),
            ("extra", report.extra_count, report.extra),
            ("altered", report.altered_count, report.altered),
        ):
            typer.echo(f"  {kind}: {count}")
            for item in items:
                fields = ", ".join(item.get("differences", {}))
                where = f"block {item['block_number']} log {item['log_index']} tx {item['tx_hash']}"
                typer.echo(f"    {item['event']} ({item['contract']}) {where}" + (f": {fields}" if fields else ""))
    if report.ok:
        typer.secho("OK    the index matches the chain", fg=typer.colors.GREEN, err=True)
    else:
        typer.secho(
            "FAIL  the index differs from the chain; `govledger index rebuild` restores it",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1)


@index_app.command("rebuild")
def index_rebuild() -> None:
    """Delete this chain's indexed events and checkpoint, and index everything again from the chain alone."""
    from govledger.audit.rebuild import rebuild_index
    from govledger.db.engine import create_db_engine
    from govledger.db.migrate import upgrade_database

    settings = _settings()
    upgrade_database(settings.resolved_database_url)
    chain, deployment = _audit_chain(settings)
    engine = create_db_engine(settings.resolved_database_url)
    written = rebuild_index(chain, engine, deployment, confirmations=settings.confirmations)
    typer.echo(f"index rebuilt from the chain: {written} events up to block {chain.block_number()}")


if __name__ == "__main__":
    main()
