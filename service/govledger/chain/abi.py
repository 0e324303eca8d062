"""ABI encoding and decoding for one contract, prepared once per contract rather than once per call.

web3's contract objects re-parse the ABI and re-resolve the function on every call, which dominates the
cost of signing thousands of transactions a second. This module builds the selectors, types and topic
hashes once and then encodes calls, decodes return values, custom errors and event logs with eth_abi
directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

from govledger.errors import ChainError

# Solidity's built-in revert reasons, which are not in any ABI.
_ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")
_PANIC_SELECTOR = bytes.fromhex("4e487b71")


def canonical_type(param: Mapping[str, Any]) -> str:
    """The canonical ABI type of a parameter, expanding tuples (structs) recursively."""
    abi_type: str = param["type"]
    if abi_type.startswith("tuple"):
        inner = ",".join(canonical_type(component) for component in param["components"])
        return f"({inner}){abi_type[len('tuple') :]}"
    return abi_type


def _normalise(value: Any, param: Mapping[str, Any]) -> Any:
    """Turn eth_abi's raw output into friendly Python: checksum addresses, dicts for structs."""
    abi_type: str = param["type"]
    if abi_type.endswith("]"):
        element = dict(param)
        element["type"] = abi_type[: abi_type.rindex("[")]
        return [_normalise(item, element) for item in value]
    if abi_type == "tuple":
        return {
            component["name"]: _normalise(item, component)
            for item, component in zip(value, param["components"], strict=True)
        }
    if abi_type == "address":
        return to_checksum_address(value)
    return value


@dataclass(frozen=True)
class _Function:
    name: str
    selector: bytes
    input_types: tuple[str, ...]
    inputs: tuple[Mapping[str, Any], ...]
    outputs: tuple[Mapping[str, Any], ...]
    output_types: tuple[str, ...]
    mutates: bool


@dataclass(frozen=True)
class _Error:
    name: str
    inputs: tuple[Mapping[str, Any], ...]
    types: tuple[str, ...]


@dataclass(frozen=True)
class _Event:
    name: str
    topic: bytes
    indexed: tuple[Mapping[str, Any], ...]
    data: tuple[Mapping[str, Any], ...]
    data_types: tuple[str, ...]


@dataclass(frozen=True)
class DecodedError:
    """A revert decoded into its custom error name and named arguments."""

    name: str
    args: dict[str, Any]


@dataclass(frozen=True)
class DecodedEvent:
    """One event log decoded with its contract's ABI."""

    name: str
    args: dict[str, Any]


class ContractInterface:
    """Encoder and decoder for one contract's ABI."""

    def __init__(self, abi: Sequence[Mapping[str, Any]]):
        self.abi = list(abi)
        self._functions: dict[str, _Function] = {}
        self._errors: dict[bytes, _Error] = {}
        self._events: dict[bytes, _Event] = {}
        self._constructor_types: tuple[str, ...] = ()
        for entry in self.abi:
            kind = entry.get("type")
            inputs = tuple(entry.get("inputs", ()))
            types = tuple(canonical_type(p) for p in inputs)
            signature = f"{entry.get('name', '')}({','.join(types)})"
            if kind == "function":
                outputs = tuple(entry.get("outputs", ()))
                self._functions[entry["name"]] = _Function(
                    name=entry["name"],
                    selector=keccak(text=signature)[:4],
                    input_types=types,
                    inputs=inputs,
                    outputs=outputs,
                    output_types=tuple(canonical_type(p) for p in outputs),
                    mutates=entry.get("stateMutability") not in ("view", "pure"),
                )
            elif kind == "error":
                self._errors[keccak(text=signature)[:4]] = _Error(entry["name"], inputs, types)
            elif kind == "event":
                indexed = tuple(p for p in inputs if p.get("indexed"))
                data = tuple(p for p in inputs if not p.get("indexed"))
                self._events[keccak(text=signature)] = _Event(
                    entry["name"], keccak(text=signature), indexed, data, tuple(canonical_type(p) for p in data)
                )
            elif kind == "constructor":
                self._constructor_types = types

    # ------------------------------------------------------------ calls

    def function_names(self) -> list[str]:
        return list(self._functions)

    def _function(self, name: str) -> _Function:
        try:
            return self._functions[name]
        except KeyError:
            raise ChainError(f"the contract has no function {name!r}") from None

    def encode_call(self, function: str, args: Sequence[Any]) -> bytes:
        """Calldata for ``function(*args)``."""
        fn = self._function(function)
        if len(args) != len(fn.input_types):
            raise ChainError(f"{function} takes {len(fn.input_types)} arguments, got {len(args)}")
        return fn.selector + abi_encode(fn.input_types, list(args))

    def coerce_args(self, function: str, args: Sequence[Any]) -> list[Any]:
        """Turn JSON-stored arguments back into ABI values: "0x.." strings become bytes where the ABI says bytes.

        Operations keep their arguments as JSON (readable in the API and the audit trail); this makes the
        round trip exact without tagging values, because the ABI already says which ones are bytes.
        """
        fn = self._function(function)
        return [_from_json(value, param) for value, param in zip(args, fn.inputs, strict=True)]

    def encode_constructor(self, args: Sequence[Any]) -> bytes:
        """The ABI-encoded constructor arguments to append to the creation bytecode."""
        return abi_encode(self._constructor_types, list(args)) if self._constructor_types else b""

    def decode_output(self, function: str, data: bytes) -> Any:
        """The return value of ``function``: one value, a tuple for several, None for none."""
        fn = self._function(function)
        if not fn.output_types:
            return None
        values = abi_decode(fn.output_types, data)
        normalised = [_normalise(v, p) for v, p in zip(values, fn.outputs, strict=True)]
        return normalised[0] if len(normalised) == 1 else tuple(normalised)

    # ------------------------------------------------------------ errors

    def decode_error(self, revert_data: bytes) -> DecodedError:
        """Name and arguments of a revert; Solidity's Error(string) and Panic(uint256) included."""
        selector, body = revert_data[:4], revert_data[4:]
        if not revert_data:
            return DecodedError("EmptyRevert", {})
        if selector == _ERROR_STRING_SELECTOR:
            return DecodedError("Error", {"message": abi_decode(["string"], body)[0]})
        if selector == _PANIC_SELECTOR:
            return DecodedError("Panic", {"code": abi_decode(["uint256"], body)[0]})
        error = self._errors.get(selector)
        if error is None:
            return DecodedError("UnknownError", {"data": "0x" + revert_data.hex()})
        values = abi_decode(error.types, body)
        return DecodedError(
            error.name,
            {p["name"]: json_friendly(_normalise(v, p)) for v, p in zip(values, error.inputs, strict=True)},
        )

    # ------------------------------------------------------------ events

    def event_topic(self, name: str) -> bytes:
        for event in self._events.values():
            if event.name == name:
                return event.topic
        raise ChainError(f"the contract has no event {name!r}")

    def event_topics(self) -> list[bytes]:
        return list(self._events)

    def decode_log(self, topics: Sequence[bytes], data: bytes) -> DecodedEvent | None:
        """Decode a log emitted by this contract; None when its topic is not one of ours."""
        if not topics:
            return None
        event = self._events.get(bytes(topics[0]))
        if event is None:
            return None
        args: dict[str, Any] = {}
        for param, topic in zip(event.indexed, topics[1:], strict=True):
            param_type = canonical_type(param)
            if param_type in ("string", "bytes") or param_type.endswith("]") or param_type.startswith("("):
                # Dynamic indexed values are stored as their hash only.
                args[param["name"]] = "0x" + bytes(topic).hex()
            else:
                args[param["name"]] = _normalise(abi_decode([param_type], bytes(topic))[0], param)
        values = abi_decode(event.data_types, data)
        for param, value in zip(event.data, values, strict=True):
            args[param["name"]] = _normalise(value, param)
        return DecodedEvent(event.name, args)


def _from_json(value: Any, param: Mapping[str, Any]) -> Any:
    abi_type: str = param["type"]
    if abi_type.endswith("]"):
        element = dict(param)
        element["type"] = abi_type[: abi_type.rindex("[")]
        return [_from_json(item, element) for item in value]
    if abi_type == "tuple":
        return tuple(_from_json(value[c["name"]], c) for c in param["components"])
    if abi_type.startswith("bytes") and isinstance(value, str):
        return bytes.fromhex(value.removeprefix("0x"))
    return value


def json_friendly(value: Any) -> Any:
    """bytes as 0x-hex, recursively, so decoded errors and events can be stored as JSON and shown to people."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, list | tuple):
        return [json_friendly(v) for v in value]
    if isinstance(value, dict):
        return {k: json_friendly(v) for k, v in value.items()}
    return value
