"""Tests for the offline compile pipeline: the solc-js shim, compile_sources and the artifact check.

They run the real compiler through scripts/solc-shim. When the shim cannot run (no node, or
tools/node_modules missing) they fail on purpose, because the artifact check below is what stops a
.sol edit from shipping without recompiled artifacts; run scripts/install-tools to fix that.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from packaging.version import Version
from solcx.wrapper import get_solc_version

from govledger.chain.compiler import (
    ARTIFACTS_DIR,
    MANIFEST_NAME,
    check_artifacts,
    compile_sources,
    shim_solc,
    write_artifacts,
)
from govledger.errors import ToolchainError

REPO_ROOT = Path(__file__).resolve().parents[2]

PUSH0 = 0x5F
PUSH1, PUSH32 = 0x60, 0x7F

COUNTER_SOURCE = """// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

contract Counter {
    uint256 private _count;
    address private immutable _owner;

    event Incremented(uint256 count);

    constructor() {
        _owner = msg.sender;
    }

    function increment(uint256 by) external returns (uint256) {
        _count += by;
        emit Incremented(_count);
        return _count;
    }

    function owner() external view returns (address) {
        return _owner;
    }
}
"""


@pytest.fixture(scope="module")
def shim() -> Path:
    try:
        return shim_solc(REPO_ROOT)
    except ToolchainError as error:
        pytest.fail(f"the solc-js shim cannot run: {error.message}", pytrace=False)


def make_repo(root: Path, sources: dict[str, str]) -> Path:
    for name, text in sources.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def opcodes(code: bytes) -> list[int]:
    """The opcodes of ``code`` in execution layout: PUSH immediates are data, not opcodes."""
    found = []
    position = 0
    while position < len(code):
        opcode = code[position]
        found.append(opcode)
        position += 1
        if PUSH1 <= opcode <= PUSH32:
            position += opcode - PUSH1 + 1
    return found


def without_metadata(runtime: bytes) -> bytes:
    """Runtime code minus the CBOR metadata solc appends (its length is in the last two bytes)."""
    metadata_length = int.from_bytes(runtime[-2:], "big")
    return runtime[: -(metadata_length + 2)]


def executable_parts(artifact: dict) -> list[bytes]:
    """The constructor code and the runtime code, each without the trailing data solc appends."""
    creation = bytes.fromhex(artifact["bytecode"].removeprefix("0x"))
    runtime = bytes.fromhex(artifact["deployedBytecode"].removeprefix("0x"))
    assert creation.endswith(runtime), "creation code should carry the runtime code at its end"
    return [creation[: -len(runtime)], without_metadata(runtime)]


def test_opcode_walk_tells_push0_from_push_data() -> None:
    assert PUSH0 in opcodes(bytes([0x5F, 0x80, 0xFD]))
    assert PUSH0 not in opcodes(bytes([0x60, 0x5F, 0x61, 0x5F, 0x5F, 0x00]))


def test_shim_reports_a_version_py_solc_x_understands(shim: Path) -> None:
    assert get_solc_version(shim) == Version("0.8.28")
    assert str(get_solc_version(shim, with_commit_hash=True)) == "0.8.28+commit.7893614a"


def test_compiled_bytecode_has_no_push0_and_the_expected_abi(shim: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"contracts/src/Counter.sol": COUNTER_SOURCE})

    compiled = compile_sources(repo, shim)

    assert list(compiled) == ["Counter"]
    counter = compiled["Counter"]
    assert counter["sourceName"] == "contracts/src/Counter.sol"
    for part in executable_parts(counter):
        assert part, "an executable part is empty"
        assert PUSH0 not in opcodes(part), "PUSH0 would not run on a pre-Shanghai chain"
    abi_names = {(entry["type"], entry.get("name")) for entry in counter["abi"]}
    assert abi_names == {
        ("constructor", None),
        ("event", "Incremented"),
        ("function", "increment"),
        ("function", "owner"),
    }
    assert counter["methodIdentifiers"] == {"increment(uint256)": "7cf5dab0", "owner()": "8da5cb5b"}
    assert counter["immutableReferences"], "the immutable owner should be recorded"
    assert counter["compiler"]["evmVersion"] == "paris"


def test_interfaces_and_abstract_contracts_get_no_artifact(shim: Path, tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path,
        {
            "contracts/src/interfaces/ICounter.sol": (
                "pragma solidity 0.8.28;\ninterface ICounter { function count() external view returns (uint256); }\n"
            ),
            "contracts/src/Base.sol": (
                'pragma solidity 0.8.28;\nimport {ICounter} from "./interfaces/ICounter.sol";\n'
                "abstract contract Base is ICounter {}\n"
                "contract Counter is Base {\n"
                "    function count() external pure returns (uint256) { return 1; }\n"
                "}\n"
            ),
        },
    )

    compiled = compile_sources(repo, shim)

    assert list(compiled) == ["Counter"]
    assert set(compiled.source_hashes) == {"contracts/src/Base.sol", "contracts/src/interfaces/ICounter.sol"}


def test_syntax_error_is_reported_with_file_and_line(shim: Path, tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path,
        {"contracts/src/Broken.sol": "pragma solidity 0.8.28;\n\ncontract Broken {\n    uint256 x\n}\n"},
    )

    with pytest.raises(ToolchainError) as raised:
        compile_sources(repo, shim)

    assert "ParserError" in raised.value.message
    assert "contracts/src/Broken.sol:5:1" in raised.value.message


def test_import_from_outside_the_repo_is_refused(shim: Path, tmp_path: Path) -> None:
    outside = make_repo(tmp_path / "outside", {"Secret.sol": "pragma solidity 0.8.28;\ncontract Secret {}\n"})
    thief = f'pragma solidity 0.8.28;\nimport "{outside / "Secret.sol"}";\ncontract Thief {{}}\n'
    repo = make_repo(tmp_path / "repo", {"contracts/src/Thief.sol": thief})

    with pytest.raises(ToolchainError) as raised:
        compile_sources(repo, shim)

    assert "outside of allowed directories" in raised.value.message


def test_import_through_a_symlink_leaving_the_repo_is_refused(shim: Path, tmp_path: Path) -> None:
    make_repo(tmp_path / "outside", {"Secret.sol": "pragma solidity 0.8.28;\ncontract Secret {}\n"})
    repo = make_repo(
        tmp_path / "repo",
        {"contracts/src/Thief.sol": 'pragma solidity 0.8.28;\nimport "lib/Secret.sol";\ncontract Thief {}\n'},
    )
    os.symlink(tmp_path / "outside", repo / "lib")

    with pytest.raises(ToolchainError) as raised:
        compile_sources(repo, shim)

    assert "outside of allowed directories" in raised.value.message


def test_artifact_check_names_edited_missing_and_extra_files(shim: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"contracts/src/Counter.sol": COUNTER_SOURCE})
    out_dir = tmp_path / "artifacts"
    write_artifacts(compile_sources(repo, shim), out_dir)
    assert json.loads((out_dir / MANIFEST_NAME).read_text())["contracts"] == {"Counter": "Counter.json"}
    assert check_artifacts(repo, out_dir, shim) == []

    (repo / "contracts/src/Counter.sol").write_text(COUNTER_SOURCE.replace("+= by", "+= by + 1"))
    (out_dir / "Old.json").write_text("{}\n")
    problems = check_artifacts(repo, out_dir, shim)

    assert "contracts/src/Counter.sol changed since the artifacts were written" in problems
    assert any("Counter.json differs from a fresh compile in:" in p and "bytecode" in p for p in problems)
    assert any("Old.json is not produced by the current sources" in p for p in problems)

    (out_dir / "Counter.json").unlink()
    assert any("Counter.json is missing" in p for p in check_artifacts(repo, out_dir, shim))


def test_committed_artifacts_match_the_contract_sources(shim: Path) -> None:
    problems = check_artifacts(REPO_ROOT, ARTIFACTS_DIR, shim)

    assert problems == [], "contract artifacts are stale; run scripts/compile:\n" + "\n".join(problems)
