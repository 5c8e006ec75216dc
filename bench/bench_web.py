"""pytest-benchmark: the live muxer's fragments for 150 frames of a 360p stream, ours and FFmpeg's
through PyAV; the browser figures (load, latency, 10 sessions) are in ``bench/web.py``."""

from __future__ import annotations

from bench.web import SubPackets


def test_live_fragments_ours(benchmark) -> None:
    benchmark.group = "web"
    packets = SubPackets(150)
    try:
        size = benchmark(packets.mux_ours)
    finally:
        packets.close()
    assert size > 100_000


def test_live_fragments_pyav(benchmark) -> None:
    benchmark.group = "web"
    packets = SubPackets(150)
    try:
        size = benchmark(packets.mux_pyav)
    finally:
        packets.close()
    assert size > 100_000
