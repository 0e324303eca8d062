"""Compiles contracts/src into the JSON artifacts that ship inside the package.

The service never compiles at run time: it loads the committed artifacts from
``govledger/chain/artifacts/``, so running it needs neither a compiler nor Node. This module is the one
place that turns Solidity into those artifacts, and the one place that can tell whether the committed
artifacts still match the sources (``check_artifacts``; ``python -m govledger.chain.compiler --check``).

Which compiler runs is decided by ``find_solc``: a native solc 0.8.28 if there is one, else one that
py-solc-x installed, else ``scripts/solc-shim`` (solc-js from ``tools/node_modules``, set up by
``scripts/install-tools``). All three produce the same bytecode for the same input, and the artifacts
record the compiler version without its platform suffix, so the check passes whichever one ran.

Nothing here imports web3, and py-solc-x is imported only inside the functions that call it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from govledger.errors import ToolchainError

SOLC_VERSION = "0.8.28"
# Paris predates PUSH0 (Shanghai), so the bytecode also runs on the older EVMs permissioned chains
# such as Besu or Quorum networks are often pinned to.
EVM_VERSION = "paris"
# runs = 10,000: the contracts are deployed once and called millions of times; measured against 200 it
# saves about 250 gas per certificate action, which the revoke budget needs (contracts/gas-report.json).
OPTIMIZER: dict[str, Any] = {"enabled": True, "runs": 10_000}
VIA_IR = False

CONTRACTS_SOURCE_DIR = Path("contracts") / "src"
SHIM_PATH = Path("scripts") / "solc-shim"
SOLCJS_PACKAGE_DIR = Path("tools") / "node_modules" / "solc"
ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"
MANIFEST_NAME = "manifest.json"

INSTALL_HINT = "run scripts/install-tools"
RECOMPILE_HINT = "run scripts/compile"

_OUTPUT_SELECTION = [
    "abi",
    "evm.bytecode.object",
    "evm.bytecode.linkReferences",
    "evm.deployedBytecode.object",
    "evm.deployedBytecode.immutableReferences",
    "evm.methodIdentifiers",
    "metadata",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CompiledContracts(Mapping[str, dict[str, Any]]):
    """The artifacts of one compile, by contract name, plus what the manifest records about it.

    It reads like a plain ``{contract name: artifact}`` dict; ``warnings`` holds the compiler's
    non-fatal messages so callers can show them.
    """

    contracts: dict[str, dict[str, Any]]
    compiler_version: str
    source_hashes: dict[str, str]
    warnings: tuple[str, ...] = field(default=())

    def __getitem__(self, name: str) -> dict[str, Any]:
        return self.contracts[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.contracts)

    def __len__(self) -> int:
        return len(self.contracts)

    def manifest(self) -> dict[str, Any]:
        """What ``manifest.json`` holds: compiler, settings, source hashes and the artifact files."""
        return {
            "compiler": {"version": self.compiler_version, "settings": compiler_settings()},
            "sources": dict(sorted(self.source_hashes.items())),
            "contracts": {name: f"{name}.json" for name in sorted(self.contracts)},
        }


def compiler_settings() -> dict[str, Any]:
    """The standard-JSON settings every compile uses (minus the output selection)."""
    return {"evmVersion": EVM_VERSION, "optimizer": dict(OPTIMIZER), "viaIR": VIA_IR}


# --- finding a compiler -------------------------------------------------------------------------


def find_solc(repo_root: Path) -> Path:
    """Return the solc executable to compile with.

    Prefers a native ``solc`` on PATH that is exactly ``SOLC_VERSION``, then a py-solc-x installed
    binary of that version, then ``scripts/solc-shim``. Raises ``ToolchainError`` (telling the caller to
    run scripts/install-tools) when none of them is usable.
    """
    native = shutil.which("solc")
    if native is not None and _reports_expected_version(Path(native)):
        return Path(native)
    installed = _solcx_installed_solc()
    if installed is not None:
        return installed
    return shim_solc(repo_root)


def shim_solc(repo_root: Path) -> Path:
    """Return ``scripts/solc-shim`` after checking that node and the pinned solc-js are in place."""
    shim = Path(repo_root) / SHIM_PATH
    if shutil.which("node") is None:
        raise ToolchainError(f"no solc {SOLC_VERSION} found and node is not on PATH; {INSTALL_HINT}")
    package_json = Path(repo_root) / SOLCJS_PACKAGE_DIR / "package.json"
    try:
        solcjs_version = json.loads(package_json.read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError) as error:
        raise ToolchainError(f"solc-js is not installed in {package_json.parent}; {INSTALL_HINT}") from error
    if solcjs_version != SOLC_VERSION:
        raise ToolchainError(
            f"solc-js in {package_json.parent} is {solcjs_version}, expected {SOLC_VERSION}; {INSTALL_HINT}"
        )
    if not os.access(shim, os.X_OK):
        raise ToolchainError(f"{shim} is missing or not executable; {INSTALL_HINT}")
    return shim


def _reports_expected_version(solc_binary: Path) -> bool:
    from packaging.version import Version
    from solcx.exceptions import SolcError
    from solcx.wrapper import get_solc_version

    try:
        return bool(get_solc_version(solc_binary) == Version(SOLC_VERSION))
    except (SolcError, OSError, subprocess.SubprocessError, ValueError):
        # A broken or foreign binary just is not a candidate; the next one is tried.
        return False


def _solcx_installed_solc() -> Path | None:
    import solcx
    from packaging.version import Version
    from solcx.exceptions import SolcNotInstalled

    if Version(SOLC_VERSION) not in solcx.get_installed_solc_versions():
        return None
    try:
        binary = Path(solcx.install.get_executable(SOLC_VERSION))
    except SolcNotInstalled:
        return None
    return binary if _reports_expected_version(binary) else None


# --- compiling ----------------------------------------------------------------------------------


def collect_sources(repo_root: Path) -> dict[str, bytes]:
    """Every ``contracts/src/**/*.sol`` by source unit name (path relative to the repo, POSIX form)."""
    source_dir = Path(repo_root) / CONTRACTS_SOURCE_DIR
    if not source_dir.is_dir():
        raise ToolchainError(f"no contract sources: {source_dir} is not a directory")
    return {
        path.relative_to(repo_root).as_posix(): path.read_bytes()
        for path in sorted(source_dir.rglob("*.sol"))
        if path.is_file()
    }


def standard_json_input(sources: Mapping[str, bytes]) -> dict[str, Any]:
    """The solc standard-JSON input for these sources with the project's fixed settings."""
    try:
        contents = {name: {"content": text.decode("utf-8")} for name, text in sorted(sources.items())}
    except UnicodeDecodeError as error:
        raise ToolchainError(f"a contract source is not valid UTF-8: {error}") from error
    return {
        "language": "Solidity",
        "sources": contents,
        "settings": {**compiler_settings(), "outputSelection": {"*": {"*": _OUTPUT_SELECTION}}},
    }


def compile_sources(repo_root: Path, solc_binary: Path | None = None) -> CompiledContracts:
    """Compile every contract under ``contracts/src`` and return the deployable ones' artifacts.

    ``solc_binary`` defaults to ``find_solc(repo_root)``. Imports resolve relative to the repo root
    and may not leave it. Raises ``ToolchainError`` carrying the compiler's formatted messages (file,
    line and column) when it reports any error; warnings are logged and kept in ``.warnings``.
    """
    repo_root = Path(repo_root).resolve()
    sources = collect_sources(repo_root)
    if not sources:
        raise ToolchainError(f"no .sol files under {repo_root / CONTRACTS_SOURCE_DIR}")
    binary = solc_binary if solc_binary is not None else find_solc(repo_root)
    output = _run_solc(binary, standard_json_input(sources), repo_root)

    messages = output.get("errors", [])
    warnings = tuple(m.get("formattedMessage", m.get("message", "")) for m in messages)
    for warning in warnings:
        logger.warning("solc: %s", warning)

    selected = _deployable_contracts(output.get("contracts", {}))
    artifacts: dict[str, dict[str, Any]] = {}
    for source_name, contract_name in sorted(selected):
        if contract_name in artifacts:
            # One file per contract name keeps artifact lookup by name unambiguous.
            raise ToolchainError(
                f"contract name {contract_name} is defined twice ({artifacts[contract_name]['sourceName']}"
                f" and {source_name}); artifact names must be unique"
            )
        artifacts[contract_name] = _artifact(source_name, contract_name, output["contracts"])

    return CompiledContracts(
        contracts=artifacts,
        compiler_version=_compiler_version(output, binary),
        source_hashes={name: hashlib.sha256(text).hexdigest() for name, text in sources.items()},
        warnings=warnings,
    )


def _run_solc(solc_binary: Path, input_json: dict[str, Any], repo_root: Path) -> dict[str, Any]:
    import solcx
    from solcx.exceptions import SolcError

    try:
        output: dict[str, Any] = solcx.compile_standard(
            input_json,
            solc_binary=solc_binary,
            base_path=repo_root,
            allow_paths=[repo_root],
        )
    except SolcError as error:
        compiler_errors = [
            entry.get("formattedMessage", entry.get("message", ""))
            for entry in (error.error_dict or [])
            if entry.get("severity") == "error"
        ]
        if compiler_errors:
            raise ToolchainError(
                "the Solidity compiler reported errors:\n" + "\n".join(compiler_errors),
                details={"errors": compiler_errors},
            ) from error
        raise ToolchainError(f"running {solc_binary} failed: {error}") from error
    except (OSError, ValueError) as error:
        # ValueError covers output that is not JSON, e.g. a crashed shim.
        raise ToolchainError(f"running {solc_binary} failed: {error}") from error
    return output


def _deployable_contracts(contracts: Mapping[str, Mapping[str, Any]]) -> set[tuple[str, str]]:
    """Contracts directly under contracts/src with bytecode, plus the libraries they must be linked to.

    Interfaces, abstract contracts and internal-only libraries are left out: nothing deploys them or
    needs their ABI at run time (the implementations' ABIs include every inherited function).
    """
    top_level = CONTRACTS_SOURCE_DIR.as_posix()
    selected = {
        (source, name)
        for source, by_name in contracts.items()
        for name, output in by_name.items()
        if Path(source).parent.as_posix() == top_level and output["evm"]["bytecode"]["object"]
    }
    pending = list(selected)
    while pending:
        source, name = pending.pop()
        for lib_source, libraries in contracts[source][name]["evm"]["bytecode"]["linkReferences"].items():
            for library in libraries:
                if (lib_source, library) not in selected:
                    selected.add((lib_source, library))
                    pending.append((lib_source, library))
    return selected


def _artifact(source_name: str, contract_name: str, contracts: Mapping[str, Any]) -> dict[str, Any]:
    output = contracts[source_name][contract_name]
    evm = output["evm"]
    metadata = output["metadata"]
    return {
        "contractName": contract_name,
        "sourceName": source_name,
        "abi": output["abi"],
        "bytecode": "0x" + evm["bytecode"]["object"],
        "deployedBytecode": "0x" + evm["deployedBytecode"]["object"],
        "immutableReferences": evm["deployedBytecode"].get("immutableReferences", {}),
        "linkReferences": evm["bytecode"].get("linkReferences", {}),
        "methodIdentifiers": evm.get("methodIdentifiers", {}),
        # Kept as the exact string solc hashed into the bytecode, so source verification still works.
        "metadata": metadata,
        "compiler": {
            "version": json.loads(metadata)["compiler"]["version"],
            "evmVersion": EVM_VERSION,
            "optimizer": dict(OPTIMIZER),
        },
    }


def _compiler_version(output: Mapping[str, Any], solc_binary: Path) -> str:
    """The long version (``0.8.28+commit.7893614a``) without the platform suffix.

    The platform part differs between native solc and solc-js although the bytecode does not, so
    leaving it out keeps the artifacts identical whichever compiler produced them.
    """
    for by_name in output.get("contracts", {}).values():
        for contract in by_name.values():
            return str(json.loads(contract["metadata"])["compiler"]["version"])
    from solcx.wrapper import get_solc_version

    return str(get_solc_version(solc_binary, with_commit_hash=True))


# --- artifacts on disk --------------------------------------------------------------------------


def render_json(document: Any) -> str:
    """The one deterministic JSON layout for artifact files (sorted keys, indent 2, final newline)."""
    return json.dumps(document, sort_keys=True, indent=2) + "\n"


def render_artifact_files(artifacts: CompiledContracts) -> dict[str, str]:
    """File name -> exact file text, for every artifact and the manifest."""
    files = {f"{name}.json": render_json(artifact) for name, artifact in artifacts.items()}
    files[MANIFEST_NAME] = render_json(artifacts.manifest())
    return files


def write_artifacts(artifacts: CompiledContracts, out_dir: Path) -> list[Path]:
    """Write one JSON file per contract plus ``manifest.json`` into ``out_dir``; return the paths.

    JSON files in ``out_dir`` that this compile does not produce are deleted, so a removed contract
    does not leave a stale artifact behind. Files whose text is unchanged are not rewritten.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = render_artifact_files(artifacts)
    for stale in out_dir.glob("*.json"):
        if stale.name not in files:
            stale.unlink()
    written = []
    for name, text in sorted(files.items()):
        path = out_dir / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def check_artifacts(repo_root: Path, out_dir: Path, solc_binary: Path | None = None) -> list[str]:
    """Compile afresh and list how ``out_dir`` differs from the result; an empty list means up to date."""
    fresh = compile_sources(repo_root, solc_binary)
    expected = render_artifact_files(fresh)
    out_dir = Path(out_dir)
    committed = {path.name: path.read_text(encoding="utf-8") for path in sorted(out_dir.glob("*.json"))}

    problems = _manifest_differences(fresh.manifest(), committed.get(MANIFEST_NAME))
    for name in sorted(expected.keys() | committed.keys()):
        if name == MANIFEST_NAME:
            continue
        if name not in committed:
            problems.append(f"{out_dir / name} is missing")
        elif name not in expected:
            problems.append(f"{out_dir / name} is not produced by the current sources (stale file)")
        elif committed[name] != expected[name]:
            fields = _differing_fields(expected[name], committed[name])
            problems.append(f"{out_dir / name} differs from a fresh compile in: {', '.join(fields)}")
    if not problems and committed.get(MANIFEST_NAME) != expected[MANIFEST_NAME]:
        problems.append(f"{out_dir / MANIFEST_NAME} differs from a fresh compile")
    return problems


def _manifest_differences(fresh: dict[str, Any], committed_text: str | None) -> list[str]:
    if committed_text is None:
        return [f"{MANIFEST_NAME} is missing"]
    try:
        committed = json.loads(committed_text)
        committed_sources: dict[str, str] = committed.get("sources", {})
        committed_compiler = committed.get("compiler")
    except (ValueError, AttributeError):
        return [f"{MANIFEST_NAME} is not valid JSON"]
    problems = []
    if committed_compiler != fresh["compiler"]:
        problems.append(f"compiler or settings changed: artifacts have {committed_compiler}, now {fresh['compiler']}")
    for source in sorted(fresh["sources"].keys() | committed_sources.keys()):
        if source not in committed_sources:
            problems.append(f"{source} is new since the artifacts were written")
        elif source not in fresh["sources"]:
            problems.append(f"{source} was removed since the artifacts were written")
        elif committed_sources[source] != fresh["sources"][source]:
            problems.append(f"{source} changed since the artifacts were written")
    return problems


def _differing_fields(expected_text: str, committed_text: str) -> list[str]:
    try:
        expected, committed = json.loads(expected_text), json.loads(committed_text)
    except ValueError:
        return ["(not valid JSON)"]
    if not isinstance(committed, dict):
        return ["(not an artifact object)"]
    keys = sorted(expected.keys() | committed.keys())
    return [key for key in keys if expected.get(key) != committed.get(key)] or ["formatting"]


# --- command line -------------------------------------------------------------------------------


def default_repo_root() -> Path:
    """The checkout this module lives in (service/govledger/chain/compiler.py -> repo root)."""
    return Path(__file__).resolve().parents[3]


def main(argv: list[str] | None = None) -> int:
    """``python -m govledger.chain.compiler [--check]``: write the artifacts, or check they are current."""
    parser = argparse.ArgumentParser(
        prog="python -m govledger.chain.compiler",
        description="Compile contracts/src into the packaged JSON artifacts.",
    )
    parser.add_argument("--check", action="store_true", help="only report whether artifacts are current")
    parser.add_argument("--repo-root", type=Path, default=default_repo_root(), help="checkout to compile")
    parser.add_argument("--out-dir", type=Path, default=ARTIFACTS_DIR, help="artifacts directory")
    parser.add_argument("--solc", type=Path, default=None, help="solc executable (default: find_solc)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")

    started = time.perf_counter()
    try:
        solc_binary = args.solc or find_solc(args.repo_root)
        if args.check:
            problems = check_artifacts(args.repo_root, args.out_dir, solc_binary)
            if problems:
                print("contract artifacts are out of date:", *problems, sep="\n  ", file=sys.stderr)
                print(RECOMPILE_HINT, file=sys.stderr)
                return 1
            print(f"contract artifacts are up to date ({time.perf_counter() - started:.1f}s)")
            return 0
        compiled = compile_sources(args.repo_root, solc_binary)
        write_artifacts(compiled, args.out_dir)
    except ToolchainError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    print(
        f"compiled {len(compiled)} contract(s) [{', '.join(sorted(compiled)) or 'none'}] with solc "
        f"{compiled.compiler_version} via {solc_binary} in {elapsed:.1f}s -> {args.out_dir}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
