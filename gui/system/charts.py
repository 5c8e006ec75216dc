"""The worker chart's data: a camera's CPU, memory and frame rates over the last hour, from the
engine's own samples (``GET /api/workers/history``, one every 10 s kept by the engine: the chart
covers the hour before the console opened, and shows only what was measured, nothing
interpolated)."""

from __future__ import annotations

from typing import Any

MEASURES = ("CPU %", "memory MB", "fps in", "fps out")

Series = dict[str, tuple[list[float], list[float]]]


def series(document: dict[str, Any], camera_id: str, now_ns: int) -> Series:
    """Per measure, (minutes before ``now_ns``, values); a gap where it was not measured."""
    out: Series = {name: ([], []) for name in MEASURES}
    found = document.get("cameras", {}).get(camera_id)
    if not found:
        return out
    rows = zip(
        found["at_ns"],
        found["cpu_pct"],
        found["rss_bytes"],
        found["fps_in"],
        found["fps_out"],
        strict=True,
    )
    for at_ns, cpu, rss, fps_in, fps_out in rows:
        minutes = (at_ns - now_ns) / 60e9
        memory = rss / 1e6 if rss is not None else None
        for name, value in zip(MEASURES, (cpu, memory, fps_in, fps_out), strict=True):
            if value is not None:
                out[name][0].append(minutes)
                out[name][1].append(value)
    return out
