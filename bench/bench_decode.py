"""pytest-benchmark: decoding a whole demo clip with PyAV, and with the ffmpeg command line."""

from __future__ import annotations

import pytest

from bench.decode import ffmpeg_decode_s, pyav_decode_s
from bench.measure import demo_clips

CLIPS = ("360p", "1080p")


def _clip(label: str):
    main, sub = demo_clips()
    return sub if label == "360p" else main


@pytest.mark.parametrize("threaded", [False, True], ids=["1thread", "auto"])
@pytest.mark.parametrize("label", CLIPS)
def test_pyav(benchmark, label: str, threaded: bool) -> None:
    path = _clip(label)
    benchmark.group = f"decode {label}"
    _, frames = benchmark.pedantic(
        pyav_decode_s, args=(path, threaded), rounds=5, iterations=1, warmup_rounds=1
    )
    benchmark.extra_info.update(frames=frames)


@pytest.mark.parametrize("threads", [1, None], ids=["1thread", "default"])
@pytest.mark.parametrize("label", CLIPS)
def test_ffmpeg(benchmark, label: str, threads: int | None) -> None:
    """Times the whole ffmpeg process; ``extra_info`` holds its own decode-loop time."""
    path = _clip(label)
    benchmark.group = f"decode {label}"
    rtime, _ = benchmark.pedantic(
        ffmpeg_decode_s, args=(path, threads), rounds=5, iterations=1, warmup_rounds=1
    )
    benchmark.extra_info.update(last_rtime_s=rtime)
