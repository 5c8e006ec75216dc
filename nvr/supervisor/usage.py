"""CPU and memory of the engine's processes (psutil), for the health document.

Sampled at most every ``SAMPLE_S``: a process's CPU share is measured between two samples, so a
sample taken four times a second with the health would only be noise. Memory is the resident
set (RSS) of each process; the engine's total adds the supervisor's to its workers'.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import psutil

SAMPLE_S = 2.0


@dataclass(frozen=True, slots=True)
class ProcessUsage:
    cpu_pct: float  # of one core, since the previous sample
    rss_bytes: int


class UsageMeter:
    """The last sample of each process asked about; the loop's thread only."""

    def __init__(self) -> None:
        self._processes: dict[int, psutil.Process] = {}
        self._last: dict[int, ProcessUsage] = {}
        self._sampled_at = 0.0

    def sample(self, pids: list[int]) -> dict[int, ProcessUsage]:
        """Usage by pid (processes gone or not yet measured are left out)."""
        now = time.monotonic()
        if now - self._sampled_at < SAMPLE_S and set(pids) <= set(self._processes):
            return self._last
        self._sampled_at = now
        last: dict[int, ProcessUsage] = {}
        for pid in pids:
            process = self._processes.get(pid)
            try:
                if process is None:  # its first sample only starts the CPU measure
                    process = self._processes[pid] = psutil.Process(pid)
                    process.cpu_percent(None)
                    continue
                last[pid] = ProcessUsage(
                    round(process.cpu_percent(None), 1), process.memory_info().rss
                )
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                self._processes.pop(pid, None)
        for gone in set(self._processes) - set(pids):
            del self._processes[gone]
        self._last = last
        return last
