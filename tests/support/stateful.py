"""What the stateful property tests of the contracts share: one deployed consortium per test module, a fresh
copy of it for every Hypothesis example (an eth-tester snapshot, reverted to), and sending a department's
transaction so that a refusal is mined like any other transaction and reported as its custom error.

Transactions are sent with a fixed gas limit instead of an estimate: estimating runs the EVM a dozen times
per transaction, which would cost most of the time budget, and a refused transaction then goes on chain
(and is explained by replaying it) as it would from a department that skipped the estimate.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from govledger.chain.client import Receipt, Web3Chain
from govledger.chain.transactions import send_and_confirm
from govledger.errors import ContractRevertError
from govledger.keys import LocalSigner
from tests.support.consortium import Consortium, deploy_consortium, new_signer

#: Enough for every governance and certificate write in these tests; unused gas is refunded.
FIXED_GAS = 1_500_000


@dataclass
class Figures:
    """What a stateful run did, printed at its end so that a run shows how much was exercised."""

    examples: int = 0
    steps: int = 0
    transactions: int = 0
    accepted: int = 0
    reverts_checked: int = 0
    views_checked: int = 0
    #: What went through, by name (e.g. the kinds of executed proposals), to show the run reached them.
    reached: Counter[str] = field(default_factory=Counter)
    #: The refusals checked, by custom error.
    refusals: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.perf_counter)

    def line(self, name: str) -> str:
        return (
            f"{name}: examples={self.examples} steps={self.steps} transactions={self.transactions} "
            f"accepted={self.accepted} reverts_checked={self.reverts_checked} views_checked={self.views_checked} "
            f"mismatches=0 wall={time.perf_counter() - self.started:.1f}s\n"
            f"  reached: {self._counts(self.reached)}\n"
            f"  refused: {self._counts(self.refusals)}"
        )

    @staticmethod
    def _counts(counter: Counter[str]) -> str:
        return ", ".join(f"{name}={count}" for name, count in sorted(counter.items())) or "nothing"


@dataclass
class World:
    """A consortium deployed once, the chain's snapshot right after, and spare funded accounts.

    The spare accounts act for no department at first: governance may give them to one (AddDepartment,
    AddAccount), and until then they play outsiders.
    """

    chain: Web3Chain
    consortium: Consortium
    spares: list[LocalSigner]
    snapshot: Any = None

    @classmethod
    def deploy(cls, spare_accounts: int, **consortium_options: Any) -> World:
        chain = Web3Chain("embedded")
        consortium = deploy_consortium(chain, **consortium_options)
        world = cls(chain, consortium, [new_signer(chain) for _ in range(spare_accounts)])
        world.snapshot = world._tester().take_snapshot()
        return world

    def _tester(self) -> Any:
        # Snapshots are an eth-tester feature the Chain protocol rightly does not offer; tests may use it.
        return self.chain._tester

    def reset(self) -> None:
        """Back to the state right after deployment: every Hypothesis example starts from the same chain."""
        self._tester().revert_to_snapshot(self.snapshot)

    def signers(self) -> dict[str, LocalSigner]:
        """Every account the tests can sign with, by address (lower case)."""
        accounts = [*self.consortium.signers.values(), *self.spares]
        return {signer.address.lower(): signer for signer in accounts}

    def latest_timestamp(self) -> int:
        return self.chain.get_block("latest").timestamp

    def send(self, signer: LocalSigner, function: str, *args: Any, contract: str) -> Receipt | ContractRevertError:
        """Send one transaction; return its receipt, or the custom error it was refused with."""
        bound = self.consortium.deployment.bind(self.chain, contract)
        try:
            return send_and_confirm(
                self.chain, signer, bound.interface, to=bound.address, data=bound.encode(function, *args), gas=FIXED_GAS
            )
        except ContractRevertError as refusal:
            return refusal


def normalised(values: Iterable[Any]) -> tuple[Any, ...]:
    """Error or view values in one comparable form: bytes and hex strings as lower-case hex without 0x."""
    out: list[Any] = []
    for value in values:
        if isinstance(value, bytes | bytearray):
            out.append(bytes(value).hex())
        elif isinstance(value, str) and value.startswith("0x"):
            out.append(value[2:].lower())
        elif isinstance(value, list | tuple):
            out.append(normalised(value))
        else:
            out.append(value)
    return tuple(out)


@dataclass(frozen=True)
class Refusal:
    """A custom error the model expects, with its arguments in declaration order."""

    name: str
    args: tuple[Any, ...] = ()

    def matches(self, error: ContractRevertError) -> bool:
        return error.error_name == self.name and normalised(error.error_args.values()) == normalised(self.args)


def check_outcome(outcome: Receipt | ContractRevertError, expected: Refusal | None, figures: Figures) -> None:
    """The transaction went through exactly when the model said it would, or was refused with its error."""
    figures.transactions += 1
    if expected is None:
        assert isinstance(outcome, Receipt), f"the model expected success, the contract refused: {outcome!r}"
        assert outcome.status == 1
        figures.accepted += 1
        return
    assert isinstance(outcome, ContractRevertError), f"the model expected {expected}, the contract accepted"
    assert expected.matches(outcome), (
        f"expected {expected.name}{normalised(expected.args)}, "
        f"got {outcome.error_name}{normalised(outcome.error_args.values())}"
    )
    figures.reverts_checked += 1
    figures.refusals[expected.name] += 1


#: No shrinking: every replayed step costs chain transactions, and shrinking a long failing run outlasts the
#: suite's timeout. A failure is reported with the steps exactly as they ran.
NO_SHRINKING = (Phase.explicit, Phase.reuse, Phase.generate)


def run_machine(machine: Any, *, examples: int, steps: int, label: str) -> None:
    """Run a state machine against the chain with bounded examples, print its figures, insist it did work."""
    machine.figures = figures = Figures()
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            phases=NO_SHRINKING,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    print(figures.line(label))
    assert figures.accepted > 0 and figures.reverts_checked > 0
