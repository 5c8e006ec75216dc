"""The loopback API under hostile local clients: ``/health`` latency while 1,000 connections
are held open (half idle, half sending a request head a few bytes at a time and never finishing
it), and 200 ``/health`` requests at once. The peer is the same engine's ``/health`` with no
hostile connection, measured in the same run.

Gated: ``/health`` p95 under the flood below 100 ms, and all 200 concurrent requests answered.
"""

from __future__ import annotations

import http.client
import resource
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

from bench.capacity import EngineRun
from bench.measure import Row, make_row, percentile

HOSTILE = 1000
CONCURRENT = 200
P95_LIMIT_MS = 100.0


def _health_ms(host: str, port: int) -> float:
    """One ``GET /health`` on a new connection, in milliseconds (a failure is infinite)."""
    started = time.perf_counter()
    try:
        conn = http.client.HTTPConnection(host, port, timeout=10)
        conn.request("GET", "/health")
        response = conn.getresponse()
        response.read()
        conn.close()
        if response.status != 200:
            return float("inf")
    except OSError:
        return float("inf")
    return (time.perf_counter() - started) * 1000


def _latencies(host: str, port: int, count: int) -> list[float]:
    return [_health_ms(host, port) for _ in range(count)]


def _flood(host: str, port: int) -> list[socket.socket]:
    """``HOSTILE`` connections: even ones idle, odd ones stuck in the middle of a request head."""
    held = []
    for i in range(HOSTILE):
        sock = socket.create_connection((host, port), timeout=10)
        if i % 2:
            sock.sendall(b"GET /health HTTP/1.1\r\nHo")
        held.append(sock)
    return held


def _concurrent(host: str, port: int) -> int:
    """How many of ``CONCURRENT`` simultaneous ``/health`` requests were answered."""
    results: list[float] = []
    threads = [
        threading.Thread(target=lambda: results.append(_health_ms(host, port)))
        for _ in range(CONCURRENT)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return sum(1 for ms in results if ms != float("inf"))


def measure_api(requests: int) -> dict[str, float]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    with tempfile.TemporaryDirectory(prefix="nvr-bench-api-") as tmp:
        folder = Path(tmp)
        config = folder / "nvr.yaml"
        config.write_text(
            f"storage:\n  path: {folder / 'storage'}\n  min_free_bytes: 100MB\n"
            "api:\n  port: 0\ncameras: []\n"
        )
        engine = EngineRun(folder / "storage", folder / "engine.out")
        held: list[socket.socket] = []
        try:
            engine.start(config, timeout_s=60)
            url = urlparse(engine.api)
            host, port = str(url.hostname), int(url.port or 0)
            quiet = _latencies(host, port, requests)
            held = _flood(host, port)
            flooded = _latencies(host, port, requests)
            answered = _concurrent(host, port)
        finally:
            for sock in held:
                sock.close()
            engine.stop()
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return {
        "quiet_p95_ms": percentile(quiet, 0.95),
        "flooded_p95_ms": percentile(flooded, 0.95),
        "flooded_median_ms": statistics.median(flooded),
        "answered": answered,
    }


def api_rows(quick: bool) -> list[Row]:
    """Rows for ``nvr bench``."""
    m = measure_api(100 if quick else 400)
    return [
        make_row(
            f"api /health p95, {HOSTILE} hostile connections open",
            "ms",
            m["flooded_p95_ms"],
            m["quiet_p95_ms"],
            below=P95_LIMIT_MS,
            gated=True,
            group="api",
            note=f"median {m['flooded_median_ms']:.2f} ms; peer: the same engine with none open",
            detail=m,
        ),
        make_row(
            f"api {CONCURRENT} concurrent /health: answered",
            "requests",
            m["answered"],
            better="higher",
            above=CONCURRENT,
            gated=True,
            group="api",
            note=f"while {HOSTILE} hostile connections were held open",
        ),
    ]
