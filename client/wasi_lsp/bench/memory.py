"""Reading a server's memory from /proc: peak RSS of its process tree, and the guest's linear memory."""

from __future__ import annotations

from pathlib import Path



#: An inaccessible mapping at least this large is the unused rest of a wasm linear-memory reservation
#: (wasmtime reserves 4 GiB + guard, V8 more); the accessible part, the linear memory, lies just before it.
LINEAR_RESERVATION = 1 << 30

def _process_tree(pid: int) -> list[int]:
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue
    return found

def tree_memory(pid: int) -> dict:
    """Peak RSS (VmHWM) of the server and its children, and the resident part of wasm linear memory.

    The peak covers the host process with its linear memory inside it (the
    embedded host) or the wrapper plus the child host (CLI hosts). Linear
    memory never shrinks, so what is resident in it now is its peak.
    """
    peak_kib = linear_kib = 0
    for current in _process_tree(pid):
        try:
            status = Path(f"/proc/{current}/status").read_text()
            peak_kib += int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1])
            linear_kib += _linear_kib(Path(f"/proc/{current}/smaps").read_text())
        except (OSError, StopIteration, ValueError):
            continue
    return {"peak_rss_mib": peak_kib / 1024, "linear_mib": linear_kib / 1024}

def _linear_kib(smaps: str) -> int:
    """Resident KiB of read-write mappings that end where a huge inaccessible reservation begins."""
    mappings: list[list] = []  # [start, end, perms, rss_kib]
    for line in smaps.splitlines():
        head = line.split(maxsplit=2)
        if len(head) >= 2 and "-" in head[0] and len(head[1]) == 4 and head[1][0] in "r-":
            start, end = (int(x, 16) for x in head[0].split("-"))
            mappings.append([start, end, head[1], 0])
        elif line.startswith("Rss:") and mappings:
            mappings[-1][3] = int(line.split()[1])
    return sum(before[3] for before, after in zip(mappings, mappings[1:], strict=False)
               if before[2].startswith("rw") and after[2] == "---p" and after[0] == before[1]
               and after[1] - after[0] >= LINEAR_RESERVATION)
