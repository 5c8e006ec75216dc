"""Shared pieces of the suite: result rows, targets, timing helpers and the test clips."""

from __future__ import annotations

import importlib
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from nvr.demo import make_clip

# Clips are encoded once per machine and reused (a few seconds of libx264 work).
CLIP_DIR = Path(tempfile.gettempdir()) / "nvr-bench-clips"

Better = Literal["lower", "higher"]


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the results table.

    ``ratio`` is how many times better ours is than the peer (> 1: ours wins), whichever way
    the unit points; ``min_ratio`` is set where the target is on the ratio. ``passed`` is None
    where the row has no target. Only ``gated`` rows decide the exit status of ``nvr bench``.
    """

    name: str
    unit: str
    ours: float
    peer: float | None = None
    ratio: float | None = None
    target: str = ""
    min_ratio: float | None = None
    gated: bool = False
    passed: bool | None = None
    group: str = ""
    note: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


def make_row(
    name: str,
    unit: str,
    ours: float,
    peer: float | None = None,
    *,
    better: Better = "lower",
    min_ratio: float | None = None,
    below: float | None = None,
    above: float | None = None,
    gated: bool = False,
    group: str = "",
    note: str = "",
    detail: dict[str, Any] | None = None,
    ratios: list[float] | None = None,
) -> Row:
    """A row with its ratio and verdict: ``min_ratio`` targets the ratio, ``below`` or ``above``
    the figure. With ``ratios`` (one per repeat, ours and the peer timed side by side) the
    ratio is their median, and their spread goes into the note and the detail."""
    ratio = None
    if ratios:
        ratio = statistics.median(ratios)
        spread = f"ratio min/median/max {min(ratios):.2f}/{ratio:.2f}/{max(ratios):.2f}x"
        note = f"{spread} over {len(ratios)} repeats" + (f"; {note}" if note else "")
        detail = {**(detail or {}), "ratios": list(ratios)}
    elif peer is not None and ours > 0 and peer > 0:
        ratio = peer / ours if better == "lower" else ours / peer
    target = ""
    passed: bool | None = None
    if min_ratio is not None:
        target = f"ratio >= {min_ratio:g}"
        passed = ratio is not None and ratio >= min_ratio
    elif below is not None:
        target = f"< {below:g} {unit}"
        passed = ours < below
    elif above is not None:
        target = f">= {above:g} {unit}"
        passed = ours >= above
    return Row(
        name,
        unit,
        ours,
        peer,
        ratio,
        target,
        min_ratio,
        gated,
        passed,
        group,
        note,
        dict(detail or {}),
    )


@dataclass(frozen=True, slots=True)
class Measurement:
    """A named measurement: ``function`` (``"module:name"``) called with ``quick`` gives its rows.

    The module is imported only when the measurement runs, so code under measurement that fails
    to import fails that measurement alone.
    """

    name: str
    function: str

    def run(self, quick: bool) -> list[Row]:
        module, _, attr = self.function.partition(":")
        rows: list[Row] = getattr(importlib.import_module(module), attr)(quick)
        return rows


def mean_call_s(fn: Callable[[], object], calls: int) -> float:
    """Mean wall seconds per call of ``fn`` over ``calls`` back-to-back calls."""
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


@dataclass(frozen=True, slots=True)
class Comparison:
    """Seconds per call of ours and of the peer, one figure per repeat, taken side by side."""

    ours_s: list[float]
    peer_s: list[float]

    @property
    def ours(self) -> float:
        return statistics.median(self.ours_s)

    @property
    def peer(self) -> float:
        return statistics.median(self.peer_s)

    @property
    def ratios(self) -> list[float]:
        """How many times faster ours was in each repeat: a burst of noise spoils one repeat's
        ratio, not the median of them."""
        return [p / o for o, p in zip(self.ours_s, self.peer_s, strict=True) if o > 0]


def compare(
    ours: Callable[[], object],
    peer: Callable[[], object],
    *,
    calls: int,
    repeats: int,
    warmup: int,
) -> Comparison:
    """Seconds per call of ``ours`` and ``peer`` in each repeat, after warm-up.

    Repeats alternate between the two, so drift in a shared, noisy machine hits both alike.
    """
    for _ in range(warmup):
        ours()
        peer()
    ours_s: list[float] = []
    peer_s: list[float] = []
    for _ in range(repeats):
        ours_s.append(mean_call_s(ours, calls))
        peer_s.append(mean_call_s(peer, calls))
    return Comparison(ours_s, peer_s)


def error_note(err: BaseException) -> str:
    """One line for the table: the error's first line and, if it has more, its last."""
    lines = str(err).strip().splitlines() or [""]
    text = lines[0] if len(lines) == 1 else f"{lines[0]} ... {lines[-1].strip()}"
    return f"{type(err).__name__}: {text}"[:200]


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def demo_clips() -> tuple[Path, Path]:
    """The 1920x1080 main and 640x360 sub H.264 clips (12 s at 15 fps) of a demo camera."""
    return make_clip(CLIP_DIR, "bench", 0)
