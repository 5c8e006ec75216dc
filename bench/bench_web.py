"""pytest-benchmark: the live muxer's fragments for 150 frames of a 360p stream, ours and FFmpeg's
through PyAV; the browser figures (load, latency, 10 sessions) are in ``bench/web.py``."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bench.web import SubPackets


@pytest.mark.parametrize("mux", [SubPackets.mux_ours, SubPackets.mux_pyav], ids=["ours", "pyav"])
def test_live_fragments(benchmark, mux: Callable[[SubPackets], int]) -> None:
    benchmark.group = "web"
    packets = SubPackets(150)
    try:
        size = benchmark(mux, packets)
    finally:
        packets.close()
    assert size > 100_000
