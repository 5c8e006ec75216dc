"""Every measurement ``nvr bench`` runs, in order: add a new one with one line here.

A measurement is a function ``rows(quick: bool) -> list[bench.measure.Row]`` in a module of
this folder; the pytest-benchmark files (``bench_*.py``) call the same code.
"""

from __future__ import annotations

from bench.measure import Measurement

SUITE: tuple[Measurement, ...] = (
    Measurement("compile", "bench.compile:compile_rows"),
    Measurement("motion", "bench.kernels:motion_rows"),
    Measurement("scale", "bench.kernels:scale_rows"),
    Measurement("ring", "bench.ring:ring_rows"),
    Measurement("decode", "bench.decode:decode_rows"),
    Measurement("capacity", "bench.capacity:capacity_rows"),
    Measurement("start", "bench.capacity:start_rows"),
    Measurement("api", "bench.api:api_rows"),
    Measurement("retention", "bench.bench_retention:retention_rows"),
    Measurement("recovery", "bench.recovery:recovery_rows"),
    Measurement("playback", "bench.playback:playback_rows"),
    Measurement("console", "bench.console:console_rows"),
    Measurement("badge", "bench.badge:badge_rows"),
    Measurement("logs", "bench.logs:logs_rows"),
    Measurement("logs view", "bench.logs_view:logs_view_rows"),
    Measurement("admin", "bench.admin:admin_rows"),
    Measurement("ptz", "bench.ptz:ptz_rows"),
    Measurement("web", "bench.web:web_rows"),
    Measurement("web playback", "bench.web_playback:playback_rows"),
)
