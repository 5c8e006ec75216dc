"""pytest-benchmark: motion and scale kernels, ours against the OpenCV peer, grouped by size.

``one`` runs both sides on one thread each (the gated comparison of ``nvr bench``), ``default``
with their default threading.
"""

from __future__ import annotations

import contextlib

import pytest

from bench.kernels import (
    MOTION_SIZES,
    SCALE_TILES,
    SCENE_FRAMES,
    Step,
    motion_pair,
    one_thread,
    scale_pair,
)

SIDES = ("ours", "peer")
THREADS = ("one", "default")


def _run(benchmark, group: str, pair: tuple[Step, Step], side: str, threads: str) -> None:
    step = pair[SIDES.index(side)]
    benchmark.group = f"{group} ({threads} threads)"
    with one_thread() if threads == "one" else contextlib.nullcontext():
        for _ in range(SCENE_FRAMES):  # JIT compilation and caches before the clock starts
            step()
        benchmark(step)


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("size", MOTION_SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_motion(benchmark, size: tuple[int, int], side: str, threads: str) -> None:
    _run(benchmark, f"motion {size[0]}x{size[1]}", motion_pair(*size), side, threads)


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("tile", SCALE_TILES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_scale(benchmark, tile: tuple[int, int], side: str, threads: str) -> None:
    _run(benchmark, f"scale 640x360 -> {tile[0]}x{tile[1]}", scale_pair(*tile), side, threads)
