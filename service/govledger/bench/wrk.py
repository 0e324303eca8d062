"""Load from ``wrk``, a C load generator, for the rows that measure how many requests a server answers.

With Python clients the benchmark measured its own clients as much as the service: on two cores, 32 client
threads spend as much CPU per request as the handler they call. ``wrk`` costs a few microseconds per
request, so the figure is the server's (and the same generator drives the baseline, so the ratio is fair).
Requests are given as a list and sent round-robin by every connection.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from govledger.errors import GovLedgerError

#: Connections per wrk thread at most; wrk runs one thread per core.
THREADS = 2


class WrkError(GovLedgerError):
    """wrk is missing, failed, or saw responses that were not 2xx."""


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: str | None = None


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    p99_seconds: float
    requests: int


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal for this ASCII content


def _script(requests: list[Request]) -> str:
    lines = ["local requests = {}", "init = function(args)"]
    for index, request in enumerate(requests, start=1):
        if request.body is None:
            lines.append(
                f"  requests[{index}] = wrk.format({_lua_string(request.method)}, {_lua_string(request.path)})"
            )
        else:
            lines.append(
                f"  requests[{index}] = wrk.format({_lua_string(request.method)}, {_lua_string(request.path)}, "
                f'{{["Content-Type"] = "application/json"}}, {_lua_string(request.body)})'
            )
    lines += [
        "end",
        "local n = 0",
        "request = function()",
        "  n = n + 1",
        "  return requests[(n % #requests) + 1]",
        "end",
    ]
    return "\n".join(lines) + "\n"


_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _seconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if match is None:
        raise WrkError(f"cannot read wrk's latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def run(base_url: str, requests: list[Request], *, connections: int, seconds: float) -> WrkResult:
    """Hammer ``base_url`` with ``requests`` (round-robin) from ``connections`` keep-alive connections."""
    binary = shutil.which("wrk")
    if binary is None:
        raise WrkError("wrk is not installed; scripts/bench and scripts/test install it (apt-get install wrk)")
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "requests.lua"
        script.write_text(_script(requests))
        done = subprocess.run(  # noqa: S603 - wrk from PATH, arguments built here
            [
                binary, f"-t{min(THREADS, connections)}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
                "--latency", "--timeout", "10s", "-s", str(script), base_url,
            ],
            capture_output=True, text=True, timeout=seconds + 60,
        )  # fmt: skip
    output = done.stdout
    if done.returncode != 0:
        raise WrkError(f"wrk failed: {done.stderr.strip()[-500:]}")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if bad is not None:
        raise WrkError(f"{bad.group(1)} responses were not 2xx:\n{output}")
    errors = re.search(r"Socket errors: .*", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    total = re.search(r"(\d+) requests in", output)
    if rate is None or p99 is None or total is None:
        raise WrkError(f"cannot read wrk's output:\n{output}")
    if errors is not None and "timeout" in errors.group(0) and not errors.group(0).endswith("timeout 0"):
        raise WrkError(f"requests timed out: {errors.group(0)}")
    return WrkResult(float(rate.group(1)), _seconds(p99.group(1)), int(total.group(1)))
