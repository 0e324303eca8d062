"""The size of the next ``eth_getLogs`` block range: what the node accepts, and few enough logs to hold.

Nodes cap the range or the result size of ``eth_getLogs`` (Besu, GoQuorum and hosted gateways all do,
each differently), and the only portable signal is an error. So the range halves on every refusal, down
to a single block, and doubles again only after a run of successes, never past the largest size the node
has accepted since its last refusal: the indexer does not keep probing a fixed limit with ranges it knows are
refused. A long run of successes lifts that ceiling again, because some limits are on result size (a busy
stretch of blocks), not on range, and should not keep the indexer slow forever.

Memory sets the other bound. While the node's answer is parsed, a read holds 3-5 KB per log (the answer's
bytes, its JSON objects, the logs built from them), so the logs one read brings are its caller's peak: a
window of 2,000 blocks on a busy stretch of chain brought 100,000 logs and several hundred MB. How many logs
a range holds is only known once it has been read, so the window is sized by the density of what it read
last: it shrinks at once to the blocks that would have held ``target_logs`` logs, and it grows only after
reads that covered their whole range and came back well under the target. A read cut short by the head (an
indexer following the chain reads one or two new blocks at a time) says nothing about a whole window of
blocks, so it never grows the window: when that indexer falls behind (the node was down, a burst of
transactions), it starts again from the size it had, not from the maximum. The first read is small for the
same reason. A range whose density jumps can still bring more than the target (at most what its blocks
hold); it is kept, not read again, since its memory was spent by the time its size was known.
"""

from __future__ import annotations

from govledger.errors import ValidationError

#: Successful full reads in a row before the range doubles again.
GROW_AFTER_SUCCESSES = 4

#: Successful requests in a row before the ceiling set by a refusal is lifted.
LIFT_CEILING_AFTER_SUCCESSES = 64

#: Logs one read should bring at most. Measured on the benchmark's chain (~440 logs per block), catching up
#: on 100,000 events: ~3.4 KB of Python heap per log at the peak of a read (7.3 MiB for 2,241 logs), and
#: 15,200-16,300 events/s with this target against 16,800-18,200 with 4,000 (docs/PERFORMANCE.md, round 8).
TARGET_LOGS_PER_WINDOW = 2_000

#: Blocks the first read covers, before anything is known of the chain's density.
FIRST_WINDOW_BLOCKS = 16


class BlockWindow:
    """How many blocks the next log request covers (between 1 and ``maximum``)."""

    def __init__(self, maximum: int, *, target_logs: int = TARGET_LOGS_PER_WINDOW):
        if maximum < 1:
            raise ValidationError(f"the block window must be at least 1 block, got {maximum}")
        if target_logs < 1:
            raise ValidationError(f"a window must be allowed at least 1 log, got {target_logs}")
        self.maximum = maximum
        self.target_logs = target_logs
        self.size = min(maximum, FIRST_WINDOW_BLOCKS)
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

    def succeeded(self, blocks: int, logs: int) -> None:
        """Count a read of ``blocks`` blocks that brought ``logs`` logs, and size the next one by it."""
        self._successes += 1
        self._successes_since_refusal += 1
        if self._successes_since_refusal >= LIFT_CEILING_AFTER_SUCCESSES:
            self.ceiling = self.maximum
        if logs > self.target_logs:
            self.size = max(1, blocks * self.target_logs // logs)
            self._successes = 0
            return
        whole = blocks >= self.size
        if not whole or 2 * logs > self.target_logs:
            return  # cut short by the head, or already near the target: no evidence that more would fit
        if self._successes >= GROW_AFTER_SUCCESSES and self.size < self.ceiling:
            fits = blocks * self.target_logs // max(1, 2 * logs)  # blocks that should bring half the target
            self.size = min(self.ceiling, 2 * self.size, fits)
            self._successes = 0
