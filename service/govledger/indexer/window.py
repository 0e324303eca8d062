"""The size of the next ``eth_getLogs`` block range, adapted to what the node accepts.

Nodes cap the range or the result size of ``eth_getLogs`` (Besu, GoQuorum and hosted gateways all do,
each differently), and the only portable signal is an error. So the range halves on every refusal, down
to a single block, and doubles again only after a run of successes, never past the largest size the node
has accepted since its last refusal: the indexer does not keep probing a fixed limit with ranges it knows are
refused. A long run of successes lifts that ceiling again, because some limits are on result size (a busy
stretch of blocks), not on range, and should not keep the indexer slow forever.
"""

from __future__ import annotations

from govledger.errors import ValidationError

#: Successful requests in a row before the range doubles again.
GROW_AFTER_SUCCESSES = 4

#: Successful requests in a row before the ceiling set by a refusal is lifted.
LIFT_CEILING_AFTER_SUCCESSES = 64

#: Logs one window should bring at most: a window's logs, decoded events and rows are all in memory at once,
#: so a dense stretch of chain read 2,000 blocks at a time could take gigabytes (several KB per event).
MAX_LOGS_PER_WINDOW = 5_000


class BlockWindow:
    """How many blocks the next log request covers (between 1 and ``maximum``)."""

    def __init__(self, maximum: int):
        if maximum < 1:
            raise ValidationError(f"the block window must be at least 1 block, got {maximum}")
        self.maximum = maximum
        self.size = maximum
        self.ceiling = maximum
        self._successes = 0
        self._successes_since_refusal = 0

    def shrink(self) -> bool:
        """Halve after a refusal; False when the window is already one block and cannot shrink."""
        self._successes = 0
        self._successes_since_refusal = 0
        if self.size == 1:
            return False
        self.ceiling = self.size - 1
        self.size = max(1, self.size // 2)
        return True

    def too_dense(self, blocks: int, logs: int) -> bool:
        """After a read of ``logs`` logs over ``blocks`` blocks: True, with a smaller window, if it brought more
        than MAX_LOGS_PER_WINDOW, so that the caller reads the stretch again in smaller pieces."""
        if logs <= MAX_LOGS_PER_WINDOW or blocks <= 1:
            return False
        self._successes = 0
        self.size = max(1, min(blocks - 1, blocks * MAX_LOGS_PER_WINDOW // logs))
        return True

    def succeeded(self) -> None:
        """Count a successful request; grow back towards the ceiling after enough of them."""
        self._successes += 1
        self._successes_since_refusal += 1
        if self._successes_since_refusal >= LIFT_CEILING_AFTER_SUCCESSES:
            self.ceiling = self.maximum
        if self._successes >= GROW_AFTER_SUCCESSES and self.size < self.ceiling:
            self.size = min(self.ceiling, self.size * 2)
            self._successes = 0
