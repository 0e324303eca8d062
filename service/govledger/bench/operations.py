"""Which govledger operations (one chain transaction each) are confirmed, for the rows that watch operations."""

from __future__ import annotations

import httpx

from govledger.bench.load import confirmed_in_lookup


def operations_confirmed(client: httpx.Client, operation_ids: list[str]) -> set[str]:
    """The confirmed ones among ``operation_ids``, in one bulk lookup; a failed operation stops the run."""
    return confirmed_in_lookup(
        client, "/api/v1/operations/lookup", operation_ids, items="operations", key="id", done="confirmed"
    )
