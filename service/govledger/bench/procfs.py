"""Reading the kernel's view of processes: their names, status fields and the tree of processes under one."""

from __future__ import annotations

from pathlib import Path


def process_name(pid: int) -> str:
    """The kernel's name of a process (``comm``: govledger-api, govledger-work, python ...); "?" once gone."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def stat_fields(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after "pid (comm)" (state is [0], ppid [1], utime [11] ...), or
    None once the process is gone. comm may hold spaces and parentheses, so they start after the last ")"."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def process_tree(root: int) -> list[int]:
    """``root`` and every process under it (children, their children, ...), from the parent ids in /proc.

    ``govledger serve --processes N`` is a supervisor, N API processes and the background worker: the
    service is all of them.
    """
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = stat_fields(int(entry.name))
        if fields is None:
            continue  # exited while we looked
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree
