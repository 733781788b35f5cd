"""What the benchmark scripts share: how busy other processes keep the machine (for their
noise warnings), and reading the JSON a measured command prints.

Standard library only (the benchmarks import it before torch). `OtherLoad` measures the
average number of cores kept busy by OTHER processes over a span of time: all CPU time used on
the machine (from /proc/stat) minus this process's own and, with ``children=True``, its finished
children's (for scripts that run the program they measure as a subprocess).
"""

from __future__ import annotations

import json
import os
import resource
import time


def busy_cpu_seconds() -> float | None:
    """CPU-seconds spent busy by all processes since boot, from /proc/stat
    (None where that is not available)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    hz = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    guest = sum(fields[8:10])  # guest time is already counted in user/nice
    return (sum(fields) - idle - guest) / hz


def own_cpu_seconds(children: bool = False) -> float:
    """CPU time of this process and, with ``children``, of its children that have been waited for."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) if children else (resource.RUSAGE_SELF,):
        ru = resource.getrusage(who)
        total += ru.ru_utime + ru.ru_stime
    return total


class OtherLoad:
    """Average number of cores kept busy by other processes since this object was made."""

    def __init__(self, children: bool = False) -> None:
        self.children = children
        self.t0 = time.perf_counter()
        self.busy0 = busy_cpu_seconds()
        self.own0 = own_cpu_seconds(children)

    def cores(self) -> float | None:
        busy = busy_cpu_seconds()
        if busy is None or self.busy0 is None:
            return None
        wall = time.perf_counter() - self.t0
        own = own_cpu_seconds(self.children) - self.own0
        return max(0.0, (busy - self.busy0 - own) / wall) if wall > 0 else None


def parse_json_object(text: str, key: str) -> dict:
    """The last JSON object in `text` that has `key` (so log lines or other
    objects around it are tolerated)."""
    dec = json.JSONDecoder()
    found = None
    i = text.find("{")
    while i != -1:
        try:
            obj, end = dec.raw_decode(text, i)
        except json.JSONDecodeError:
            i = text.find("{", i + 1)
            continue
        if isinstance(obj, dict) and key in obj:
            found = obj
        i = text.find("{", end)
    if found is None:
        raise ValueError(f"no JSON object with key '{key}' in the command's stdout")
    return found
