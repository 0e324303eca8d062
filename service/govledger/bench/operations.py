"""Whether a govledger operation (one chain transaction) is confirmed, for the rows that watch operations."""

from __future__ import annotations

import httpx

from govledger.bench.load import BenchRunError, expect


def operation_confirmed(client: httpx.Client, operation_id: str) -> bool:
    status = expect(client.get(f"/api/v1/operations/{operation_id}"), 200)["status"]
    if status == "failed":
        raise BenchRunError(f"operation {operation_id} failed")
    return status == "confirmed"
