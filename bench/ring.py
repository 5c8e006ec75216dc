"""Frame ring across processes: publish-to-read latency, and throughput with a reader attached.

A writer process (spawned) publishes 640x360 frames stamped with ``time.monotonic_ns()``
(CLOCK_MONOTONIC, one clock for every process on Linux); the reader is this process. The peer
sends the same frames through a ``multiprocessing`` pipe, the plain way to move frames between
processes. Every loop is bounded in time; a writer that overruns is terminated.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import statistics
import struct
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event

import numpy as np

from bench.measure import Row, make_row, percentile
from nvr.frames.ring import FrameRing

WIDTH, HEIGHT = 640, 360
SLOTS = 4  # as the camera worker creates its ring
FRAME_BYTES = WIDTH * HEIGHT * 3 // 2
LATENCY_TARGET_MS = 1.0
# Latency runs publish at about 100 frames/s with a random period, so the publish moments fall
# at random phases of the reader's polling.
PERIOD_S = (0.005, 0.015)
_STAMP = struct.Struct("<q")
_JOIN_S = 10.0


def _frames(count: int = 4) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(7)
    ch, cw = HEIGHT // 2, WIDTH // 2
    return [
        (
            rng.integers(0, 256, (HEIGHT, WIDTH), np.uint8),
            rng.integers(0, 256, (ch, cw), np.uint8),
            rng.integers(0, 256, (ch, cw), np.uint8),
        )
        for _ in range(count)
    ]


def _pace(paced: bool, rng: random.Random) -> None:
    if paced:
        time.sleep(rng.uniform(*PERIOD_S))


def ring_writer(
    name: str, ready: Event, go: Event, duration_s: float, paced: bool, published: Synchronized
) -> None:
    """Writer process: create the ring, publish for ``duration_s`` (paced or flat out), close.

    ``published`` receives the number of frames published.
    """
    frames = _frames()
    rng = random.Random(1)
    with FrameRing.create(name, WIDTH, HEIGHT, slots=SLOTS) as ring:
        ready.set()
        go.wait(_JOIN_S)
        end = time.monotonic() + duration_s
        i = 0
        while time.monotonic() < end:
            y, u, v = frames[i % len(frames)]
            ring.publish(y, u, v, time.monotonic_ns())
            i += 1
            _pace(paced, rng)
        published.value = i
        # Let the reader see the last frames before the ring goes away.
        time.sleep(0.2)


def pipe_writer(conn: Connection, go: Event, duration_s: float, paced: bool) -> None:
    """Peer writer process: send stamped frames through the pipe, then an empty message."""
    frames = [np.concatenate([p.ravel() for p in f]) for f in _frames()]
    buf = bytearray(_STAMP.size + FRAME_BYTES)
    rng = random.Random(1)
    go.wait(_JOIN_S)
    end = time.monotonic() + duration_s
    i = 0
    while time.monotonic() < end:
        buf[_STAMP.size :] = frames[i % len(frames)].data
        _STAMP.pack_into(buf, 0, time.monotonic_ns())
        conn.send_bytes(buf)
        i += 1
        _pace(paced, rng)
    conn.send_bytes(b"")
    conn.close()


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a reader got: per-frame latencies (ms) and distinct frames over the run, and how
    many frames the writer sent."""

    latencies_ms: list[float]
    frames: int
    seconds: float
    published: int

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def _finish(proc: mp.process.BaseProcess) -> None:
    proc.join(_JOIN_S)
    if proc.is_alive():
        proc.terminate()
        proc.join(_JOIN_S)


def ring_delivery(duration_s: float, paced: bool, reader: str) -> Delivery:
    """Run a ring writer process and read it here.

    ``reader``: ``"wait_newer"`` (the consumer API, asleep on a futex) or ``"spin"`` (busy loop on
    ``latest``), both taking each frame's latency; ``"copy"`` spins on ``read_copy`` into a
    preallocated frame (the throughput case). A reader gets the newest frame each time, so one
    slower than the writer skips frames, and one much slower (a copy that the writer laps, as
    when the copy crosses cores while the writer stays in its cache) retries torn copies.
    """
    ctx = mp.get_context("spawn")
    name = f"nvrbench_{os.getpid()}_{time.monotonic_ns() % 1_000_000}"
    ready, go = ctx.Event(), ctx.Event()
    published = ctx.Value("q", 0, lock=False)
    proc = ctx.Process(
        target=ring_writer, args=(name, ready, go, duration_s, paced, published), daemon=True
    )
    proc.start()
    try:
        if not ready.wait(30):
            raise RuntimeError("ring writer process did not start within 30 s")
        ring = FrameRing.attach(name)
        y0, u0, v0 = _frames(1)[0]
        out = (np.empty_like(y0), np.empty_like(u0), np.empty_like(v0))
        latencies: list[float] = []
        frames = 0
        last = -1
        go.set()
        start = time.monotonic()
        end = start + duration_s
        try:
            while time.monotonic() < end:
                if reader == "wait_newer":
                    view = ring.wait_newer(last, 0.5)
                elif reader == "spin":
                    view = ring.latest()
                else:
                    view = ring.read_copy(out)
                if view is None or view.index <= last:
                    continue
                if reader != "copy":
                    latencies.append((time.monotonic_ns() - view.capture_ns) / 1e6)
                last = view.index
                frames += 1
            seconds = time.monotonic() - start
        finally:
            ring.close()
    finally:
        _finish(proc)
    return Delivery(latencies, frames, seconds, published.value)


def pipe_delivery(duration_s: float, paced: bool) -> Delivery:
    """Run a pipe writer process and receive every frame here into a preallocated buffer."""
    ctx = mp.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    go = ctx.Event()
    proc = ctx.Process(target=pipe_writer, args=(send, go, duration_s, paced), daemon=True)
    proc.start()
    send.close()
    buf = bytearray(_STAMP.size + FRAME_BYTES)
    latencies: list[float] = []
    frames = 0
    try:
        go.set()
        start = time.monotonic()
        deadline = start + duration_s + _JOIN_S
        while time.monotonic() < deadline and recv.poll(max(0.0, deadline - time.monotonic())):
            if recv.recv_bytes_into(buf) == 0:
                break
            latencies.append((time.monotonic_ns() - _STAMP.unpack_from(buf)[0]) / 1e6)
            frames += 1
        seconds = time.monotonic() - start
    finally:
        recv.close()
        _finish(proc)
    return Delivery(latencies, frames, seconds, frames)


def ring_rows(quick: bool) -> list[Row]:
    """Latency (median, p99) and throughput of the ring against a pipe."""
    seconds = 1.5 if quick else 4.0
    polled = ring_delivery(seconds, paced=True, reader="wait_newer")
    spun = ring_delivery(seconds, paced=True, reader="spin")
    piped = pipe_delivery(seconds, paced=True)
    copied = ring_delivery(seconds, paced=False, reader="copy")
    flat_pipe = pipe_delivery(seconds, paced=False)
    for run in (polled, spun, piped):
        if not run.latencies_ms:
            raise RuntimeError("a latency run delivered no frames")
    med = statistics.median
    mb = FRAME_BYTES / 1e6
    published_fps = copied.published / copied.seconds
    group = "ring"
    note = f"{len(polled.latencies_ms)} frames at ~100/s; peer: multiprocessing pipe"
    return [
        make_row(
            "ring latency median (wait_newer)",
            "ms",
            med(polled.latencies_ms),
            med(piped.latencies_ms),
            below=LATENCY_TARGET_MS,
            gated=True,
            group=group,
            note=note,
        ),
        make_row(
            "ring latency p99 (wait_newer)",
            "ms",
            percentile(polled.latencies_ms, 0.99),
            percentile(piped.latencies_ms, 0.99),
            below=LATENCY_TARGET_MS,
            group=group,
        ),
        make_row(
            "ring latency median (spin on latest)",
            "ms",
            med(spun.latencies_ms),
            med(piped.latencies_ms),
            group=group,
            note=f"p99 {percentile(spun.latencies_ms, 0.99):.3f} ms: the ring without polling",
        ),
        make_row(
            "ring throughput 640x360, publish with a reader",
            "frames/s",
            published_fps,
            flat_pipe.fps,
            better="higher",
            group=group,
            note=(
                f"{published_fps * mb:.0f} MB/s vs pipe {flat_pipe.fps * mb:.0f} MB/s; "
                f"the copying reader got {copied.fps:.0f}/s"
            ),
            detail={
                "mb_per_s": published_fps * mb,
                "peer_mb_per_s": flat_pipe.fps * mb,
                "reader_fps": copied.fps,
            },
        ),
    ]
