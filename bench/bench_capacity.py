"""pytest-benchmark: the real engine with N synthetic cameras (one timed round per N).

The figures (whole-tree CPU % of a core, PSS MB, fps per camera) are in ``extra_info``.
"""

from __future__ import annotations

import dataclasses

import pytest

from bench.capacity import health_while_starting, measure_capacity


@pytest.mark.parametrize("cameras", [1, 4, 16, 64])
def test_capacity(benchmark, cameras: int) -> None:
    benchmark.group = "capacity"
    run = benchmark.pedantic(measure_capacity, args=(cameras, 5.0, 10.0), rounds=1, iterations=1)
    assert run.live == cameras
    benchmark.extra_info.update(dataclasses.asdict(run))


def test_health_while_64_workers_start(benchmark) -> None:
    benchmark.group = "capacity"
    run = benchmark.pedantic(health_while_starting, args=(64,), rounds=1, iterations=1)
    assert run.live == 64 and run.unanswered == 0
    benchmark.extra_info.update(dataclasses.asdict(run))
