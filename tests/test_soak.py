"""Soak: several synthetic cameras for an hour; memory growth per hour and dropped frames.

Not run by default (marker ``soak``). Run: ``.venv/bin/python -m pytest -m soak -s``; set
``NVR_SOAK_SECONDS`` (default 3600) and ``NVR_SOAK_CAMERAS`` (default 4).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import psutil
import pytest

from nvr.demo import FPS, make_clip
from tests.conftest import Engine, wait_for

pytestmark = pytest.mark.soak


def pss_bytes(pid: int) -> int:
    """PSS of a process and all its descendants (shared pages split fairly)."""
    root = psutil.Process(pid)
    total = 0
    for proc in [root, *root.children(recursive=True)]:
        try:
            total += proc.memory_full_info().pss
        except psutil.Error:
            continue
    return total


def test_soak(tmp_path: Path):
    seconds = float(os.environ.get("NVR_SOAK_SECONDS", "3600"))
    cameras = int(os.environ.get("NVR_SOAK_CAMERAS", "4"))
    clips = [make_clip(tmp_path / "clips", f"soak{i}", i) for i in range(cameras)]
    storage = tmp_path / "storage"
    cams = "".join(
        f"  - id: cam{i}\n    main: {m}\n    sub: {s}\n    record: {{mode: motion}}\n"
        for i, (m, s) in enumerate(clips)
    )
    config = tmp_path / "nvr.yaml"
    config.write_text(f"storage:\n  path: {storage}\napi:\n  port: 0\ncameras:\n{cams}")
    engine = Engine(config, storage)
    engine.start()
    try:
        wait_for(
            lambda: all(c["state"] == "live" for c in engine.health()["cameras"].values()),
            60,
            what="cameras live",
        )
        time.sleep(min(60.0, seconds / 10))  # settle: caches, pre-roll buffers
        assert engine.proc is not None
        samples: list[tuple[float, int]] = []
        fps: list[float] = []
        start = time.monotonic()
        while (now := time.monotonic()) - start < seconds:
            samples.append((now, pss_bytes(engine.proc.pid)))
            fps += [c["fps_in"] for c in engine.health()["cameras"].values()]
            time.sleep(min(30.0, seconds / 20))
        health = engine.health()
    finally:
        engine.stop()
    (t0, m0), (t1, m1) = samples[0], samples[-1]
    growth_per_hour = (m1 - m0) / max(1e-9, t1 - t0) * 3600
    restarts = sum(c["restarts"] for c in health["cameras"].values())
    dropped = sum(max(0.0, FPS - f) for f in fps) / max(1, len(fps)) / FPS
    print(
        f"soak: {cameras} cameras for {t1 - t0:.0f} s; PSS {m0 / 2**20:.0f} -> {m1 / 2**20:.0f} "
        f"MiB ({growth_per_hour / 2**20:+.1f} MiB/h); mean input shortfall {dropped:.1%}; "
        f"worker restarts {restarts}"
    )
    assert restarts == 0
