"""pytest-benchmark: the loopback API's /health under 1,000 hostile connections (one round).

The figures (quiet and flooded p95, answered concurrent requests) are in ``extra_info``.
"""

from __future__ import annotations

from bench.api import CONCURRENT, measure_api


def test_api_under_a_flood(benchmark) -> None:
    benchmark.group = "api"
    run = benchmark.pedantic(measure_api, args=(100,), rounds=1, iterations=1)
    assert run["answered"] == CONCURRENT
    benchmark.extra_info.update(run)
