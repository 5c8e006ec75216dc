"""pytest-benchmark: from the engine's acknowledgement of a recording command to the console's
badge showing it (one timed run of 20 starts and stops); see ``bench/badge.py``."""

from __future__ import annotations

import pytest

from bench.badge import measure_badge
from bench.display import xvfb_available

pytestmark = pytest.mark.skipif(not xvfb_available(), reason="Xvfb missing: run scripts/setup.sh")


def test_badge_truth(benchmark) -> None:
    benchmark.group = "console"
    run = benchmark.pedantic(measure_badge, args=(20,), rounds=1, iterations=1)
    assert run["shown"] > 0
    benchmark.extra_info.update(run)
