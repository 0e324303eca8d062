"""Which govledger operations (one chain transaction each) are confirmed, for the rows that watch operations."""

from __future__ import annotations

import httpx

from govledger.bench.load import BenchRunError, expect


def operations_confirmed(client: httpx.Client, operation_ids: list[str]) -> set[str]:
    """The confirmed ones among ``operation_ids``, in one bulk lookup; a failed operation stops the run."""
    answer = expect(client.post("/api/v1/operations/lookup", json={"ids": operation_ids}), 200)
    if answer["not_found"]:
        raise BenchRunError(f"operations unknown to the service: {answer['not_found'][:5]}")
    confirmed = set()
    for operation in answer["operations"]:
        if operation["status"] == "failed":
            raise BenchRunError(f"operation {operation['id']} failed: {operation['error']}")
        if operation["status"] == "confirmed":
            confirmed.add(operation["id"])
    return confirmed
