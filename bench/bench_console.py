"""pytest-benchmark: the console's render loop on N live tiles under Xvfb (one timed round per N).

The figures (frame time and its breakdown, video fps per tile, skipped frames, CPU, PSS) are in
``extra_info``; see ``bench/console.py``.
"""

from __future__ import annotations

import pytest

from bench.console import SCREEN, run_probe
from bench.display import VirtualDisplay, xvfb_available

pytestmark = pytest.mark.skipif(not xvfb_available(), reason="Xvfb missing: run scripts/setup.sh")


@pytest.mark.parametrize(
    ("tiles", "fps", "main"),
    [
        (1, 15.0, False),
        (4, 15.0, False),
        (9, 15.0, False),
        (16, 15.0, False),
        (1, 30.0, False),
        (1, 15.0, True),
    ],  # the last: full screen on a 1080p main stream
)
def test_console(benchmark, tiles: int, fps: float, main: bool) -> None:
    benchmark.group = "console"
    with VirtualDisplay(*SCREEN) as display:
        run = benchmark.pedantic(
            run_probe, args=(display, tiles, fps, 10.0, main), rounds=1, iterations=1
        )
    assert run["shown_frames"] > 0
    benchmark.extra_info.update(run)
