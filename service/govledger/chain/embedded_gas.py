"""Gas estimation for the embedded chain in two or three EVM runs instead of a dozen.

py-evm estimates gas by binary search between the intrinsic gas and the block gas limit: about 13 runs of
the transaction per estimate. Every write through the embedded chain (the demo, the fast tests) estimates
its gas first, so most of the embedded chain's time went into those repeated runs: deploying the demo's
contracts took 0.9 s of estimating for 0.2 s of work.

A JSON-RPC node does better by starting from what the transaction actually consumed, and so does this
estimator: run once with the whole block gas limit and take the gas consumed before refunds (and the
EIP-7623 calldata floor), then run once more with exactly that limit to prove it is enough. A transaction
with nested calls may need the 1/64 that EIP-150 keeps back from each call on top: that is the second
guess, proven the same way. Only when both fail (deeply nested calls) does it fall back to py-evm's binary
search, so the answer is always a limit that works.
"""

from __future__ import annotations

from typing import Any, cast

from eth.abc import ComputationAPI, SignedTransactionAPI, StateAPI
from eth.estimators.gas import binary_gas_search_intrinsic_tolerance
from eth.vm.spoof import SpoofTransaction

#: EIP-150: a call passes on at most 63/64 of the gas its caller has left.
_CALL_RETENTION = 64 / 63


def _run(state: StateAPI, transaction: SignedTransactionAPI, gas: int) -> ComputationAPI | None:
    """The finished computation of ``transaction`` with ``gas``, or None if it failed; the state is untouched."""
    spoofed = cast(SignedTransactionAPI, SpoofTransaction(transaction, gas=gas, gas_price=0))
    snapshot = state.snapshot()
    try:
        computation = state.apply_transaction(spoofed)
    except Exception:
        # py-evm refuses some limits before running (below the intrinsic gas or the calldata floor).
        return None
    finally:
        state.revert(snapshot)
    return None if computation.is_error else computation


def estimate_gas_from_one_run(state: StateAPI, transaction: SignedTransactionAPI) -> int:
    """A gas limit that lets ``transaction`` succeed, proven by running it with that limit."""
    ceiling = state.gas_limit
    full = _run(state, transaction, ceiling)
    if full is None:
        # Fails even with the whole block: the binary search raises the transaction's own error.
        return int(binary_gas_search_intrinsic_tolerance(state, transaction))
    consumed = ceiling - full.get_gas_remaining() + int(getattr(full, "data_floor_gas", 0))
    # What it consumed is enough unless a nested call needed the 1/64 its caller keeps back.
    for candidate in (consumed, int(consumed * _CALL_RETENTION) + 1):
        if candidate <= ceiling and _run(state, transaction, candidate) is not None:
            return candidate
    return int(binary_gas_search_intrinsic_tolerance(state, transaction))


def use_fast_gas_estimates(tester: Any) -> None:
    """Make ``tester`` (an ``EthereumTester`` on py-evm) estimate gas with ``estimate_gas_from_one_run``.

    py-evm copies the estimator onto each chain object when it is built, so it is set on the current chain
    and on its class: eth-tester builds a new chain object of the same class when it reverts to a snapshot
    at genesis, and that one then keeps the estimator too.
    """
    chain = tester.backend.chain
    type(chain).gas_estimator = staticmethod(estimate_gas_from_one_run)
    chain.gas_estimator = estimate_gas_from_one_run
