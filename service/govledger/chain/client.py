"""The connection to an EVM chain: the embedded eth-tester chain or any JSON-RPC node.

Everything above this module talks to the ``Chain`` protocol and sees plain dataclasses and
``govledger.errors`` exceptions, never web3 objects, so domain code and tests do not care whether the
chain is eth-tester, anvil, Besu QBFT or GoQuorum.

Permissioned chains differ from public Ethereum in ways handled here:
- many run with a zero gas price (Besu ``--min-gas-price=0``, GoQuorum by default): fees come from the
  node and may be zero;
- some do not support EIP-1559, so legacy transactions are used when the latest block has no base fee;
- QBFT/IBFT/Clique put more than 32 bytes in ``extraData``, which web3 rejects unless told it is PoA.
"""

from __future__ import annotations

import ast
import functools
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

from eth_utils import ValidationError as EthValidationError
from eth_utils import to_checksum_address
from web3 import Web3
from web3.exceptions import BlockNotFound, ContractLogicError, TransactionNotFound, Web3RPCError
from web3.middleware import ExtraDataToPOAMiddleware

from govledger.chain.node_http import PooledHTTPProvider
from govledger.errors import ChainError, ChainUnavailableError, ConfigurationError

log = logging.getLogger(__name__)

EMBEDDED_URL = "embedded"

#: Calls per JSON-RPC batch request: large enough to amortise the round-trip, small enough for any node.
BATCH_CHUNK = 100

TxType = Literal["auto", "legacy", "eip1559"]


class NonceTooLowError(ChainError):
    """The node has already seen a transaction with this nonce from this account: look for its receipt."""

    code = "nonce_too_low"


class AlreadyKnownError(ChainError):
    """The node already holds exactly this transaction in its pool."""

    code = "transaction_already_known"


class ReplacementUnderpricedError(ChainError):
    """Another transaction with the same nonce is in the pool and ours does not outbid it."""

    code = "replacement_underpriced"


class CallReverted(ChainError):
    """An eth_call or gas estimate reverted; ``data`` is the raw revert data for the ABI to decode."""

    status = 422
    code = "contract_reverted"

    def __init__(self, data: bytes, message: str = "the call reverted"):
        super().__init__(message)
        self.data = data


@dataclass(frozen=True)
class BlockInfo:
    number: int
    hash: str
    parent_hash: str
    timestamp: int
    base_fee: int | None


@dataclass(frozen=True)
class Receipt:
    tx_hash: str
    status: int
    block_number: int
    block_hash: str
    gas_used: int
    contract_address: str | None
    logs: tuple[LogEntry, ...]


@dataclass(frozen=True)
class LogEntry:
    address: str
    topics: tuple[bytes, ...]
    data: bytes
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int


@runtime_checkable
class Chain(Protocol):
    """What govledger needs from a chain."""

    @property
    def chain_id(self) -> int: ...

    def block_number(self) -> int: ...

    def get_block(self, number: int | Literal["latest"]) -> BlockInfo: ...

    def get_blocks(self, numbers: Sequence[int]) -> list[BlockInfo]: ...

    def get_code(self, address: str) -> bytes: ...

    def call(self, to: str, data: bytes, *, sender: str | None = None, block: int | str = "latest") -> bytes: ...

    def call_many(self, calls: Sequence[tuple[str, bytes]]) -> list[bytes | CallReverted]: ...

    def estimate_gas(self, tx: dict[str, Any]) -> int: ...

    def fee_fields(self) -> dict[str, int]: ...

    def send_raw_transaction(self, raw: bytes) -> str: ...

    def get_receipt(self, tx_hash: str) -> Receipt | None: ...

    def estimate_gas_many(self, txs: Sequence[dict[str, Any]]) -> list[int | CallReverted]: ...

    def send_raw_transactions(self, raws: Sequence[bytes]) -> list[ChainError | None]: ...

    def get_receipts(self, tx_hashes: Sequence[str]) -> list[Receipt | None]: ...

    def transaction_count(self, address: str, block: str = "pending") -> int: ...

    def get_logs(
        self, addresses: Sequence[str], from_block: int, to_block: int, topics: Sequence[Any] | None = None
    ) -> list[LogEntry]: ...

    def close_connections(self) -> None: ...


_T = TypeVar("_T")


class _NeverRaised(Exception):
    """Placeholder exception type for except clauses that only apply to the embedded chain."""


def _hex(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return str(value) if str(value).startswith("0x") else "0x" + str(value)


def _tester_revert_data(exc: Exception) -> bytes:
    """Revert data from eth-tester's TransactionFailed, whose message ends in a Python bytes literal.

    web3's eth-tester provider flattens custom-error data into ``"execution reverted: b'...'"``; reading the
    literal back (safely, with ``ast.literal_eval``) recovers the exact bytes for the ABI to decode.
    """
    text = str(exc)
    _, _, literal = text.partition("execution reverted: ")
    try:
        value = ast.literal_eval(literal)
    except (ValueError, SyntaxError):
        return b""
    return value if isinstance(value, bytes) else b""


def _revert_data(exc: ContractLogicError) -> bytes:
    data = exc.data
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        return bytes.fromhex(data[2:])
    return b""


def _send_refusal(message: str) -> ChainError:
    """The error for a node's refusal of a raw transaction, by the (node-specific) wording of its message."""
    lowered = message.lower()
    if "nonce too low" in lowered or "nonce is too low" in lowered or "already been used" in lowered:
        return NonceTooLowError(message or "nonce too low")
    if "already known" in lowered or "known transaction" in lowered or "already imported" in lowered:
        return AlreadyKnownError(message or "already known")
    if "underpriced" in lowered:
        return ReplacementUnderpricedError(message or "replacement underpriced")
    return ChainError(f"the node refused the transaction: {message}")


#: Gas is estimated against the latest block, not the node's pending one. Asked for "pending" (anvil's
#: default), the node first executes every transaction in its pool, for each estimate: 0.75 ms of the node's
#: CPU per estimate with 122 transactions pooled against 0.05 ms at the latest block, and under certificate
#: issue the node's largest cost (1.9-4.1 ms of CPU per certificate, 0.8-1.1 after). Besu and GoQuorum
#: estimate against the latest block anyway. A write that needs an earlier one mined first reverts here and
#: is estimated again once that one settles (TxManager._plan).
ESTIMATE_AT = "latest"


def _json_tx(tx: dict[str, Any]) -> dict[str, Any]:
    """A call/estimate request in JSON-RPC form (hex quantities and data)."""
    request: dict[str, Any] = {}
    for key in ("from", "to"):
        if tx.get(key) is not None:
            request[key] = checksummed(tx[key])
    if "data" in tx:
        request["data"] = _hex(tx["data"])
    if tx.get("value"):
        request["value"] = hex(int(tx["value"]))
    return request


def _is_revert(error: dict[str, Any]) -> bool:
    """Geth-style nodes (anvil, Besu, GoQuorum) answer a revert with code 3 or 'execution reverted'."""
    return error.get("code") == 3 or "revert" in str(error.get("message", "")).lower()


def _result_or_revert(
    answer: dict[str, Any], method: str, parse: Callable[[Any], _T], *, reverted: str = "the call reverted"
) -> _T | CallReverted:
    """One JSON-RPC answer of ``method``: its parsed result, or its revert; any other error raises ChainError."""
    error = answer.get("error")
    if error is None:
        return parse(answer["result"])
    if _is_revert(error):
        return CallReverted(_error_data(error), str(error.get("message") or reverted))
    raise ChainError(f"{method} failed: {error.get('message')}")


def _or_revert(action: Callable[[], _T]) -> _T | CallReverted:
    """``action()``'s result, or the CallReverted it raised (the embedded chain's answer to a batch)."""
    try:
        return action()
    except CallReverted as exc:
        return exc


def _return_data(result: Any) -> bytes:
    return bytes.fromhex(str(result)[2:])


def _quantity(result: Any) -> int:
    return int(result, 16)


def _error_data(error: dict[str, Any]) -> bytes:
    data = error.get("data")
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        return bytes.fromhex(data[2:])
    return b""


def _receipt_from_json(raw: dict[str, Any]) -> Receipt:
    return Receipt(
        tx_hash=raw["transactionHash"],
        status=int(raw["status"], 16),
        block_number=int(raw["blockNumber"], 16),
        block_hash=raw["blockHash"],
        gas_used=int(raw["gasUsed"], 16),
        contract_address=to_checksum_address(raw["contractAddress"]) if raw.get("contractAddress") else None,
        logs=tuple(_log_from_json(log) for log in raw["logs"]),
    )


@functools.lru_cache(maxsize=4096)
def checksummed(address: str) -> str:
    """``address`` in its checksummed form, remembered: logs come from a handful of contracts and
    transactions from a handful of accounts, and checksumming costs a keccak each time."""
    return to_checksum_address(address)


def _log_from_json(log: dict[str, Any]) -> LogEntry:
    return LogEntry(
        address=checksummed(log["address"]),
        topics=tuple(bytes.fromhex(topic[2:]) for topic in log["topics"]),
        data=bytes.fromhex(log["data"][2:]),
        block_number=int(log["blockNumber"], 16),
        block_hash=log["blockHash"],
        tx_hash=log["transactionHash"],
        log_index=int(log["logIndex"], 16),
    )


class Web3Chain:
    """``Chain`` over web3.py: an HTTP(S) JSON-RPC node, or the embedded eth-tester chain."""

    def __init__(
        self,
        url: str = EMBEDDED_URL,
        *,
        expected_chain_id: int | None = None,
        tx_type: TxType = "auto",
        gas_price_wei: int | None = None,
        priority_fee_wei: int | None = None,
        request_timeout: float = 30.0,
    ):
        self.url = url
        self.embedded = url == EMBEDDED_URL
        self._tx_type = tx_type
        self._gas_price_wei = gas_price_wei
        self._priority_fee_wei = priority_fee_wei
        # eth-tester is not thread-safe; a JSON-RPC node is, so only the embedded chain is serialised.
        self._lock: threading.Lock | None = threading.Lock() if self.embedded else None
        self._tester: Any = None
        self._node: PooledHTTPProvider | None = None
        # An exception type no JSON-RPC path raises, so the except clauses below are inert off eth-tester.
        self._tester_failure: type[Exception] = _NeverRaised
        if self.embedded:
            from eth_tester import EthereumTester, PyEVMBackend
            from eth_tester.exceptions import TransactionFailed

            self._tester_failure = TransactionFailed
            from web3 import EthereumTesterProvider

            from govledger.chain.embedded_gas import use_fast_gas_estimates

            self._tester = EthereumTester(PyEVMBackend())
            use_fast_gas_estimates(self._tester)
            self.w3 = Web3(EthereumTesterProvider(self._tester))
        elif url.startswith(("http://", "https://")):
            self._node = PooledHTTPProvider(url, timeout=request_timeout)
            self.w3 = Web3(self._node)
            self.w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
        else:
            raise ConfigurationError(f"unsupported chain URL {url!r}: use 'embedded' or an http(s):// node URL")
        self._chain_id = self._rpc(lambda: int(self.w3.eth.chain_id))
        if expected_chain_id is not None and expected_chain_id != self._chain_id:
            raise ConfigurationError(
                f"the node at {url} reports chain id {self._chain_id}, configuration expects {expected_chain_id}"
            )
        self._uses_1559 = self._decide_tx_type()

    # ------------------------------------------------------------ plumbing

    @contextmanager
    def _serialised(self) -> Iterator[None]:
        if self._lock is None:
            yield
        else:
            with self._lock:
                yield

    def _rpc(self, fn: Callable[[], _T]) -> _T:
        """Run one node request, translating transport failures into ChainUnavailableError."""
        try:
            with self._serialised():
                return fn()
        except (ContractLogicError, BlockNotFound, TransactionNotFound, Web3RPCError, ChainError, self._tester_failure):
            raise
        except (ConnectionError, TimeoutError, OSError) as exc:
            raise self._unreachable(exc) from exc
        except Exception as exc:
            # requests' and urllib3's connection errors do not all derive from OSError.
            if type(exc).__module__.startswith(("requests", "urllib3", "aiohttp")):
                raise self._unreachable(exc) from exc
            raise

    def _unreachable(self, exc: Exception) -> ChainUnavailableError:
        # The node's URL stays out of the message, which API clients see: a provider URL can carry a token.
        log.warning("chain node unreachable: %s", type(exc).__name__)
        return ChainUnavailableError(f"the chain node is unreachable ({type(exc).__name__}); try again later")

    def _decide_tx_type(self) -> bool:
        if self._tx_type == "legacy":
            return False
        latest = self.get_block("latest")
        if self._tx_type == "eip1559":
            if latest.base_fee is None:
                raise ConfigurationError("tx_type is eip1559 but the node's blocks have no base fee")
            return True
        return latest.base_fee is not None

    # ------------------------------------------------------------ Chain protocol

    @property
    def chain_id(self) -> int:
        return self._chain_id

    def close_connections(self) -> None:
        """Close the kept-alive connections to the node; the next request opens a new one.

        For a process about to fork: a connection both processes went on using would interleave their
        requests and answers on one socket.
        """
        if self._node is not None:
            self._node.close_connections()

    def block_number(self) -> int:
        if self._node is not None:
            return int(self._result("eth_blockNumber", []), 16)
        return self._rpc(lambda: int(self.w3.eth.block_number))

    def get_block(self, number: int | Literal["latest"]) -> BlockInfo:
        try:
            block = self._rpc(lambda: self.w3.eth.get_block(number))
        except BlockNotFound:
            raise ChainError(f"block {number} does not exist on the chain", code="block_not_found") from None
        return BlockInfo(
            number=int(block["number"]),
            hash=_hex(block["hash"]),
            parent_hash=_hex(block["parentHash"]),
            timestamp=int(block["timestamp"]),
            base_fee=int(block["baseFeePerGas"]) if block.get("baseFeePerGas") is not None else None,
        )

    def get_code(self, address: str) -> bytes:
        return bytes(self._rpc(lambda: self.w3.eth.get_code(to_checksum_address(address))))

    def call(self, to: str, data: bytes, *, sender: str | None = None, block: int | str = "latest") -> bytes:
        tx: dict[str, Any] = {"to": to_checksum_address(to), "data": _hex(data)}
        if sender:
            tx["from"] = to_checksum_address(sender)
        if self._node is not None:
            answer = self._single("eth_call", [tx, block if isinstance(block, str) else hex(block)])
            returned = _result_or_revert(answer, "eth_call", _return_data)
            if isinstance(returned, CallReverted):
                raise returned
            return returned
        try:
            return bytes(self._rpc(lambda: self.w3.eth.call(tx, block)))  # type: ignore[arg-type]
        except self._tester_failure as exc:
            raise CallReverted(_tester_revert_data(exc)) from None
        except ContractLogicError as exc:
            raise CallReverted(_revert_data(exc), exc.message or "the call reverted") from None
        except Web3RPCError as exc:
            raise ChainError(f"eth_call failed: {exc.message}") from None

    def estimate_gas(self, tx: dict[str, Any]) -> int:
        request = {k: v for k, v in tx.items() if k in ("from", "to", "data", "value")}
        if "data" in request:
            request["data"] = _hex(request["data"])
        try:
            return int(self._rpc(lambda: self.w3.eth.estimate_gas(request, ESTIMATE_AT)))  # type: ignore[arg-type]
        except self._tester_failure as exc:
            raise CallReverted(_tester_revert_data(exc), "gas estimation reverted") from None
        except ContractLogicError as exc:
            raise CallReverted(_revert_data(exc), exc.message or "gas estimation reverted") from None
        except Web3RPCError as exc:
            raise ChainError(f"eth_estimateGas failed: {exc.message}") from None

    def fee_fields(self) -> dict[str, int]:
        """Fee fields for a new transaction: legacy gasPrice or EIP-1559 maxFee/priority."""
        if not self._uses_1559:
            price = self._gas_price_wei
            if price is None:
                price = int(self._rpc(lambda: self.w3.eth.gas_price))
            return {"gasPrice": price}
        base_fee = self.get_block("latest").base_fee or 0
        priority = self._priority_fee_wei
        if priority is None:
            priority = 0 if base_fee == 0 else int(self._rpc(lambda: self.w3.eth.max_priority_fee))
        if self._gas_price_wei is not None:
            return {"maxFeePerGas": self._gas_price_wei, "maxPriorityFeePerGas": min(priority, self._gas_price_wei)}
        # Twice the base fee keeps a transaction valid through several full blocks of rising fees.
        return {"maxFeePerGas": 2 * base_fee + priority, "maxPriorityFeePerGas": priority}

    def send_raw_transaction(self, raw: bytes) -> str:
        try:
            return _hex(self._rpc(lambda: self.w3.eth.send_raw_transaction(raw)))
        except Web3RPCError as exc:
            raise _send_refusal(exc.message or str(exc)) from None
        except (ValueError, EthValidationError) as exc:
            # eth-tester reports validation failures (such as a used nonce) as plain ValueErrors or as
            # eth-utils' ValidationError, which is not one.
            message = str(exc).lower()
            if "nonce" in message:
                raise NonceTooLowError(str(exc)) from None
            raise ChainError(f"the chain refused the transaction: {exc}") from None

    def get_receipt(self, tx_hash: str) -> Receipt | None:
        try:
            receipt = self._rpc(lambda: self.w3.eth.get_transaction_receipt(tx_hash))  # type: ignore[arg-type]
        except TransactionNotFound:
            return None
        if receipt is None or receipt.get("blockNumber") is None:
            return None
        block_hash = _hex(receipt["blockHash"])
        return Receipt(
            tx_hash=_hex(receipt["transactionHash"]),
            status=int(receipt["status"]),
            block_number=int(receipt["blockNumber"]),
            block_hash=block_hash,
            gas_used=int(receipt["gasUsed"]),
            contract_address=receipt.get("contractAddress"),
            logs=tuple(self._log_entry(log) for log in receipt["logs"]),
        )

    # ------------------------------------------------------------ many at once (one JSON-RPC batch per chunk)

    def call_many(self, calls: Sequence[tuple[str, bytes]]) -> list[bytes | CallReverted]:
        """``eth_call`` of each (contract, calldata) at the latest block, in one request to a node: each
        call's return data, or its revert, in order."""
        if self._node is None:
            return [_or_revert(functools.partial(self.call, to, data)) for to, data in calls]
        requests = [("eth_call", [{"to": checksummed(to), "data": _hex(data)}, "latest"]) for to, data in calls]
        return [_result_or_revert(answer, "eth_call", _return_data) for answer in self._batch(requests)]

    def estimate_gas_many(self, txs: Sequence[dict[str, Any]]) -> list[int | CallReverted]:
        """Gas estimates, or the revert of each transaction that would fail, in order."""
        if self._node is None:
            return [_or_revert(functools.partial(self.estimate_gas, tx)) for tx in txs]
        calls = [("eth_estimateGas", [_json_tx(tx), ESTIMATE_AT]) for tx in txs]
        return [
            _result_or_revert(answer, "eth_estimateGas", _quantity, reverted="gas estimation reverted")
            for answer in self._batch(calls)
        ]

    def send_raw_transactions(self, raws: Sequence[bytes]) -> list[ChainError | None]:
        """Send signed transactions in order; for each, None or why the node refused it."""
        if self._node is None:
            outcomes: list[ChainError | None] = []
            for raw in raws:
                try:
                    self.send_raw_transaction(raw)
                    outcomes.append(None)
                except ChainUnavailableError:
                    raise
                except ChainError as exc:
                    outcomes.append(exc)
            return outcomes
        answers = self._batch([("eth_sendRawTransaction", [_hex(raw)]) for raw in raws])
        return [
            None if answer.get("error") is None else _send_refusal(str(answer["error"].get("message") or ""))
            for answer in answers
        ]

    def get_receipts(self, tx_hashes: Sequence[str]) -> list[Receipt | None]:
        """Receipts of mined transactions, None for those not mined (yet), in order."""
        if self._node is None:
            return [self.get_receipt(tx_hash) for tx_hash in tx_hashes]
        receipts: list[Receipt | None] = []
        for answer in self._batch([("eth_getTransactionReceipt", [tx_hash]) for tx_hash in tx_hashes]):
            if answer.get("error") is not None:
                raise ChainError(f"eth_getTransactionReceipt failed: {answer['error'].get('message')}")
            result = answer.get("result")
            receipts.append(None if not result or result.get("blockNumber") is None else _receipt_from_json(result))
        return receipts

    def get_blocks(self, numbers: Sequence[int]) -> list[BlockInfo]:
        """Headers of existing blocks, in the order of ``numbers`` (the indexer reads hundreds per window)."""
        if self._node is None:
            return [self.get_block(number) for number in numbers]
        blocks: list[BlockInfo] = []
        answers = self._batch([("eth_getBlockByNumber", [hex(number), False]) for number in numbers])
        for number, answer in zip(numbers, answers, strict=True):
            if answer.get("error") is not None:
                raise ChainError(f"eth_getBlockByNumber failed: {answer['error'].get('message')}")
            raw = answer.get("result")
            if not raw:
                raise ChainError(f"block {number} does not exist on the chain", code="block_not_found")
            blocks.append(
                BlockInfo(
                    number=int(raw["number"], 16),
                    hash=raw["hash"],
                    parent_hash=raw["parentHash"],
                    timestamp=int(raw["timestamp"], 16),
                    base_fee=int(raw["baseFeePerGas"], 16) if raw.get("baseFeePerGas") is not None else None,
                )
            )
        return blocks

    def _single(self, method: str, params: list[Any]) -> dict[str, Any]:
        node = self._node
        assert node is not None
        return self._rpc(lambda: node.single(method, params))

    def _result(self, method: str, params: list[Any]) -> Any:
        answer = self._single(method, params)
        if answer.get("error") is not None:
            raise ChainError(f"{method} failed: {answer['error'].get('message')}")
        return answer["result"]

    def _batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        node = self._node
        assert node is not None
        answers: list[dict[str, Any]] = []
        for start in range(0, len(calls), BATCH_CHUNK):
            chunk = calls[start : start + BATCH_CHUNK]
            answers.extend(self._rpc(lambda chunk=chunk: node.batch(chunk)))  # type: ignore[misc]
        return answers

    def transaction_count(self, address: str, block: str = "pending") -> int:
        checksum = to_checksum_address(address)
        if self._node is not None:
            return int(self._result("eth_getTransactionCount", [checksum, block]), 16)
        return int(self._rpc(lambda: self.w3.eth.get_transaction_count(checksum, block)))  # type: ignore[arg-type]

    def get_logs(
        self, addresses: Sequence[str], from_block: int, to_block: int, topics: Sequence[Any] | None = None
    ) -> list[LogEntry]:
        params: dict[str, Any] = {
            "address": [to_checksum_address(a) for a in addresses],
            "fromBlock": from_block,
            "toBlock": to_block,
        }
        if topics:
            params["topics"] = [_hex(t) if isinstance(t, bytes) else t for t in topics]
        if self._node is not None:
            # Read raw: web3's result formatting cost ~14x the request itself per log (docs/PERFORMANCE.md).
            answer = self._single("eth_getLogs", [{**params, "fromBlock": hex(from_block), "toBlock": hex(to_block)}])
            if answer.get("error") is not None:
                message = answer["error"].get("message")
                raise ChainError(f"eth_getLogs failed: {message}", code="get_logs_failed")
            return [_log_from_json(log) for log in answer["result"]]
        try:
            logs = self._rpc(lambda: self.w3.eth.get_logs(params))  # type: ignore[arg-type]
        except Web3RPCError as exc:
            raise ChainError(f"eth_getLogs failed: {exc.message}", code="get_logs_failed") from None
        return [self._log_entry(log) for log in logs]

    @staticmethod
    def _log_entry(log: Any) -> LogEntry:
        return LogEntry(
            address=checksummed(log["address"]),
            topics=tuple(bytes(t) for t in log["topics"]),
            data=bytes(log["data"]),
            block_number=int(log["blockNumber"]),
            block_hash=_hex(log["blockHash"]),
            tx_hash=_hex(log["transactionHash"]),
            log_index=int(log["logIndex"]),
        )

    # ------------------------------------------------------------ embedded chain only

    def fund(self, address: str, wei: int = 10**21) -> None:
        """Give an account ether on the embedded chain, whose base fee cannot be zero.

        Only the embedded chain has a faucet: it is a development chain with prefunded accounts. On a real
        permissioned network gas is free or funded by the network operators.
        """
        if not self.embedded:
            raise ChainError("funding accounts is only possible on the embedded chain")
        with self._serialised():
            source = self._tester.get_accounts()[0]
            self._tester.send_transaction(
                {
                    "from": source,
                    "to": to_checksum_address(address),
                    "value": wei,
                    "gas": 21000,
                    "max_fee_per_gas": 10**11,
                    "max_priority_fee_per_gas": 1,
                }
            )

    def mine_blocks(self, count: int = 1) -> None:
        """Mine empty blocks on the embedded chain, for confirmation depth in tests and the demo."""
        if not self.embedded:
            raise ChainError("mining on demand is only possible on the embedded chain")
        with self._serialised():
            self._tester.mine_blocks(count)

    def time_travel(self, timestamp: int) -> None:
        """Move the embedded chain's clock forward (proposal expiry tests)."""
        if not self.embedded:
            raise ChainError("time travel is only possible on the embedded chain")
        with self._serialised():
            self._tester.time_travel(timestamp)
