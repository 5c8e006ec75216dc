"""pytest-benchmark: start-up recovery of 1,000 segments (see ``bench/recovery.py``)."""

from __future__ import annotations

from bench.recovery import CAMERAS, measure_recovery


def test_recovery_of_a_thousand_segments(benchmark) -> None:
    benchmark.group = "recovery"
    result = benchmark.pedantic(measure_recovery, rounds=1, iterations=1)
    assert result["after_crash"]["repaired"] == CAMERAS
    assert result["catalog_lost"]["orphans_indexed"] == 1000
    benchmark.extra_info.update(result)
