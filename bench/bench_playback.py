"""pytest-benchmark: playback on real 1080p segments (see ``bench/playback.py``)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from bench.playback import measure_export, measure_play, measure_seek, measure_timeline, recording


@pytest.fixture(scope="module")
def recorded():
    folder = Path(tempfile.mkdtemp(prefix="nvr-bench-playback-"))
    catalog = recording(folder)
    yield catalog, folder
    catalog.close()
    shutil.rmtree(folder, ignore_errors=True)


def test_seek(benchmark, recorded) -> None:
    benchmark.group = "playback"
    result = benchmark.pedantic(measure_seek, args=(*recorded, 20), rounds=1, iterations=1)
    benchmark.extra_info.update(result)


def test_play(benchmark, recorded) -> None:
    benchmark.group = "playback"
    result = benchmark.pedantic(measure_play, args=(*recorded, 30), rounds=1, iterations=1)
    benchmark.extra_info.update(result)


def test_export(benchmark, recorded) -> None:
    benchmark.group = "playback"
    result = benchmark.pedantic(measure_export, args=recorded, rounds=1, iterations=1)
    benchmark.extra_info.update(result)


def test_timeline(benchmark) -> None:
    benchmark.group = "playback"
    result = benchmark.pedantic(measure_timeline, args=(30,), rounds=1, iterations=1)
    benchmark.extra_info.update(result)
