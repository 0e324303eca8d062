"""The HTTP transport to a JSON-RPC node: one connection pool for every thread, and batch requests.

web3's ``HTTPProvider`` keeps one ``requests`` session per thread and lets ``requests`` consult the
environment on every call (proxy variables, ``~/.netrc``, CA bundle folders): under load that is file-system
work on each request, and a thread pool of 40 request handlers opens 40 separate connection pools. Here one
urllib3 pool serves all threads and the environment is read once, at start. urllib3 rather than a
``requests`` session: ``requests`` spends ~1 ms of CPU per call preparing and merging settings that a fixed
JSON-RPC endpoint never needs, as much as the node takes to answer an ``eth_call``.

JSON-RPC batches (several calls in one HTTP request) are what lets the transaction manager estimate, send
and track hundreds of transactions per round without a round-trip for each.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, cast
from urllib.parse import urlsplit

import urllib3
from requests.utils import get_environ_proxies
from web3 import HTTPProvider
from web3.types import RPCEndpoint, RPCResponse

from govledger.errors import ChainError, ChainUnavailableError

#: Connections kept open to the node: enough for every request-handling thread plus the workers.
POOL_SIZE = 64
_JSON_HEADERS = {"Content-Type": "application/json"}


def connection_pool(endpoint_uri: str, *, timeout: float, pool_size: int) -> urllib3.PoolManager:
    """A pool to the node, through the HTTP(S)_PROXY of the start-up environment unless NO_PROXY exempts it.

    No retries and no redirects: a failed call is reported at once, and the transaction manager decides
    what to send again.
    """
    proxies = get_environ_proxies(endpoint_uri)
    proxy = proxies.get(urlsplit(endpoint_uri).scheme) or proxies.get("all")
    options: dict[str, Any] = {"maxsize": pool_size, "timeout": urllib3.Timeout(timeout), "retries": False}
    if proxy:
        return urllib3.ProxyManager(proxy, **options)
    return urllib3.PoolManager(**options)


class PooledHTTPProvider(HTTPProvider):
    """``HTTPProvider`` over one shared, thread-safe urllib3 pool that never re-reads the environment."""

    def __init__(self, endpoint_uri: str, *, timeout: float, pool_size: int = POOL_SIZE):
        super().__init__(endpoint_uri, request_kwargs={"timeout": timeout}, exception_retry_configuration=None)
        self._url = str(endpoint_uri)
        self._pool = connection_pool(self._url, timeout=timeout, pool_size=pool_size)

    def _post(self, body: bytes) -> bytes:
        response = self._pool.request("POST", self._url, body=body, headers=_JSON_HEADERS)
        if response.status >= 400:
            # The URL stays out of the message (it can carry a token); see Web3Chain._unreachable.
            raise ChainUnavailableError(f"the chain node answered HTTP {response.status}; try again later")
        return bytes(response.data)

    @staticmethod
    def decode_rpc_response(raw_response: bytes) -> RPCResponse:
        """The answer parsed from its bytes. web3 decodes them into a str first: for an ``eth_getLogs`` answer
        of thousands of logs, megabytes more held while the JSON is parsed."""
        return cast(RPCResponse, json.loads(raw_response))

    def close_connections(self) -> None:
        """Close every pooled connection (Web3Chain.close_connections)."""
        self._pool.clear()

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
