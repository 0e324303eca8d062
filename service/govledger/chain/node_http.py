"""The HTTP transport to a JSON-RPC node: one pooled session for every thread, and batch requests.

web3's ``HTTPProvider`` keeps one ``requests`` session per thread and lets ``requests`` consult the
environment on every call (proxy variables, ``~/.netrc``, CA bundle folders): under load that is file-system
work on each request, and a thread pool of 40 request handlers opens 40 separate connection pools. Here one
session with a bounded connection pool serves all threads, and the environment is read once, at start.

JSON-RPC batches (several calls in one HTTP request) are what lets the transaction manager estimate, send
and track hundreds of transactions per round without a round-trip for each.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies
from web3 import HTTPProvider
from web3.types import RPCEndpoint, RPCResponse

from govledger.errors import ChainError

#: Connections kept open to the node: enough for every request-handling thread plus the workers.
POOL_SIZE = 64


class PooledHTTPProvider(HTTPProvider):
    """``HTTPProvider`` over one shared, thread-safe connection pool that never re-reads the environment."""

    def __init__(self, endpoint_uri: str, *, timeout: float, pool_size: int = POOL_SIZE):
        super().__init__(endpoint_uri, request_kwargs={"timeout": timeout}, exception_retry_configuration=None)
        self._timeout = timeout
        session = requests.Session()
        session.trust_env = False
        # Honour HTTP(S)_PROXY / NO_PROXY as they were when the service started, without per-call lookups.
        session.proxies.update(get_environ_proxies(endpoint_uri))
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        self._session = session

    def _post(self, body: bytes) -> bytes:
        response = self._session.post(
            str(self.endpoint_uri), data=body, headers={"Content-Type": "application/json"}, timeout=self._timeout
        )
        response.raise_for_status()
        return response.content

    def _make_request(self, method: RPCEndpoint, request_data: bytes) -> bytes:
        return self._post(request_data)

    def make_batch_request(self, batch_requests: list[tuple[RPCEndpoint, Any]]) -> list[RPCResponse] | RPCResponse:
        response = self.decode_rpc_response(self._post(self.encode_batch_rpc_request(batch_requests)))
        if not isinstance(response, list):
            return response  # the node refused the batch as a whole
        return sorted(response, key=lambda item: int(item["id"]))

    def single(self, method: str, params: list[Any]) -> dict[str, Any]:
        """One raw JSON-RPC answer (``result`` or ``error``), without web3's formatters and validators.

        For the hot read paths (contract calls, block number, nonces): web3's machinery around a request
        costs more than the request itself, and its validation asks the node for the chain id each time.
        """
        answer = self.decode_rpc_response(self._post(self.encode_rpc_request(RPCEndpoint(method), params)))
        return dict(answer)

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        """Raw JSON-RPC answers (``result`` or ``error``), in the order of ``calls``."""
        if not calls:
            return []
        answers = self.make_batch_request([(RPCEndpoint(method), params) for method, params in calls])
        if not isinstance(answers, list):
            error = answers.get("error") if isinstance(answers, dict) else None
            return [{"error": error or {"message": "the node refused the batch request"}} for _ in calls]
        if len(answers) != len(calls):
            raise ChainError(f"the node answered {len(answers)} of {len(calls)} batched calls")
        return [dict(answer) for answer in answers]
