"""The memory a process tree takes from the machine, each physical page counted once.

``serve --processes N`` forks its children from a supervisor that has imported their code, so the
processes share most of their library pages. Adding up VmRSS counts a shared page once per process that
maps it: four processes sharing 75 MiB would count 300. The footprint counts every page once:

- anonymous memory (the heap, Python objects, stacks) by its proportional share (``Pss_Anon`` from
  ``/proc/<pid>/smaps_rollup``): a page shared by k processes counts 1/k in each. The service's anonymous
  pages are shared only among its own processes (the supervisor is a fresh ``exec``; its children are
  forked from it), so the sum over the tree is each page exactly once.
- file-backed pages (the code of libpython and of compiled extensions) by the union of their physical page
  numbers over the tree, from ``/proc/<pid>/pagemap``. Their proportional share would not do: the
  benchmark's own process maps the same libraries, and would take part of them off the service's count.
  Reading page numbers needs CAP_SYS_ADMIN; without it every process's file-backed pages count in full
  (an over-count), and ``pages_identified`` says so.

Summed VmRSS is still recorded, as the comparison with earlier rounds.
"""

from __future__ import annotations

import array
import threading
from pathlib import Path

from govledger.bench.procfs import process_name, process_tree

PAGE_BYTES = 4096
_PRESENT = 1 << 63
_PAGE_NUMBER = (1 << 55) - 1


def _rollup_kib(pid: int) -> dict[str, int] | None:
    """The fields of ``/proc/<pid>/smaps_rollup`` in KiB; None if the process is gone."""
    try:
        lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]
    except OSError:
        return None
    return {line.split(":", 1)[0]: int(line.split()[1]) for line in lines if line.endswith(" kB")}


def _file_mappings(pid: int) -> list[tuple[int, int]]:
    """(start, end) of every mapping of a file (inode not 0) in the process's address space."""
    ranges = []
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) >= 5 and fields[4] != "0":
            start, end = fields[0].split("-")
            ranges.append((int(start, 16), int(end, 16)))
    return ranges


def resident_file_pages(pid: int) -> tuple[set[int], int]:
    """(physical page numbers of the resident file-backed pages, how many resident pages were seen).

    Without the right to read page numbers the kernel reports them as 0: the set is then empty while the
    count is not.
    """
    numbers: set[int] = set()
    present = 0
    try:
        with open(f"/proc/{pid}/pagemap", "rb") as pagemap:
            for start, end in _file_mappings(pid):
                pagemap.seek(start // PAGE_BYTES * 8)
                entries = array.array("Q", pagemap.read((end - start) // PAGE_BYTES * 8))
                for entry in entries:
                    if entry & _PRESENT:
                        present += 1
                        if entry & _PAGE_NUMBER:
                            numbers.add(entry & _PAGE_NUMBER)
    except OSError:
        pass  # the process is gone, or a mapping went away while it was read
    return numbers, present


class FootprintSampler:
    """Largest footprint (see the module) of a process and all its descendants over its life.

    Anonymous shares are sampled every ``interval`` s; the union of file-backed pages, which changes little
    once the code has been loaded and costs more to read, every ``file_interval`` s, and each sample adds
    the latest union.
    """

    def __init__(self, pid: int, interval: float = 0.2, file_interval: float = 2.0):
        self.pid = pid
        self.interval = interval
        self.file_interval = file_interval
        self.max_kib = 0
        #: Summed VmRSS of the tree at the largest footprint, and the largest summed VmRSS seen at all.
        self.rss_at_max_kib = 0
        self.max_rss_kib = 0
        #: How many processes the largest sample covered, and each one's name and anonymous share (KiB) then.
        self.processes_at_max = 0
        self.anonymous_at_max: list[tuple[str, int]] = []
        #: False if page numbers could not be read, so that file-backed pages counted once per process.
        self.pages_identified = True
        self._file_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="footprint-sampler", daemon=True)
        self._thread.start()

    def _sample_files(self, pids: list[int]) -> None:
        union: set[int] = set()
        counted_in_full = 0
        for pid in pids:
            numbers, present = resident_file_pages(pid)
            union |= numbers
            if present and not numbers:
                counted_in_full += present
        self.pages_identified = self.pages_identified and not counted_in_full
        self._file_kib = (len(union) + counted_in_full) * PAGE_BYTES // 1024

    def _sample(self, *, files: bool) -> None:
        pids = process_tree(self.pid)
        rollups = {pid: rollup for pid, rollup in zip(pids, map(_rollup_kib, pids), strict=True) if rollup is not None}
        if not rollups:
            return
        if files:
            self._sample_files(pids)
        shares = {pid: rollup.get("Pss_Anon", 0) + rollup.get("Pss_Shmem", 0) for pid, rollup in rollups.items()}
        rss = sum(rollup.get("Rss", 0) for rollup in rollups.values())
        self.max_rss_kib = max(self.max_rss_kib, rss)
        footprint = sum(shares.values()) + self._file_kib
        if footprint > self.max_kib:
            self.max_kib = footprint
            self.rss_at_max_kib = rss
            self.processes_at_max = len(rollups)
            self.anonymous_at_max = [(process_name(pid), share) for pid, share in shares.items()]

    def _run(self) -> None:
        ticks_per_file_sample = max(1, round(self.file_interval / self.interval))
        tick = 0
        while not self._stop.wait(self.interval):
            self._sample(files=tick % ticks_per_file_sample == 0)
            tick += 1

    def stop(self) -> float:
        """Stop sampling; the largest footprint seen, in MiB."""
        self._stop.set()
        self._thread.join()
        self._sample(files=True)
        return self.max_kib / 1024

    @property
    def file_kib(self) -> int:
        """The file-backed pages of the latest sample."""
        return self._file_kib
