"""pytest-benchmark: the frame ring across processes (latency and throughput, against a pipe).

Each run is one timed round of the shared measurement; its figures are in ``extra_info``.
"""

from __future__ import annotations

import statistics

import pytest

from bench.measure import percentile
from bench.ring import pipe_delivery, ring_delivery

SECONDS = 3.0


@pytest.mark.parametrize("reader", ["wait_newer", "spin", "pipe"])
def test_latency(benchmark, reader: str) -> None:
    benchmark.group = "ring latency"
    if reader == "pipe":
        run = benchmark.pedantic(pipe_delivery, args=(SECONDS, True), rounds=1, iterations=1)
    else:
        run = benchmark.pedantic(
            ring_delivery, args=(SECONDS, True, reader), rounds=1, iterations=1
        )
    assert run.latencies_ms
    benchmark.extra_info.update(
        median_ms=statistics.median(run.latencies_ms),
        p99_ms=percentile(run.latencies_ms, 0.99),
        frames=run.frames,
    )


@pytest.mark.parametrize("transport", ["ring", "pipe"])
def test_throughput(benchmark, transport: str) -> None:
    benchmark.group = "ring throughput"
    if transport == "pipe":
        run = benchmark.pedantic(pipe_delivery, args=(SECONDS, False), rounds=1, iterations=1)
    else:
        run = benchmark.pedantic(
            ring_delivery, args=(SECONDS, False, "copy"), rounds=1, iterations=1
        )
    assert run.frames
    benchmark.extra_info.update(
        published_per_s=run.published / run.seconds, delivered_per_s=run.fps
    )
