"""The worker's recording decision, its frame sink, and the supervisor's restart policy,
without processes."""

from __future__ import annotations

import multiprocessing
import os
import time
from datetime import datetime

import av
import pytest

from nvr.config import parse_config
from nvr.supervisor.workers import BACKOFF_CAP_S, RESTART_STABLE_S, RestartPolicy
from nvr.worker.frames import FrameSink
from nvr.worker.process import CameraWorker, Channel, WorkerSpec


def worker(record_yaml: str, tmp_path) -> CameraWorker:
    config = parse_config(
        f"storage:\n  path: {tmp_path}\n  min_free_bytes: 100MB\n"
        "cameras:\n  - id: cam\n    main: /dev/null\n"
        f"    record:\n{record_yaml}"
    )
    spec = WorkerSpec(
        camera=config.cameras[0],
        storage_root=str(tmp_path),
        ring_name="nvrtest",
        log_dir=None,
        log_level="INFO",
        keep_days=1,
        manual=False,
        panic=False,
    )
    parent, child = multiprocessing.Pipe()
    return CameraWorker(spec, Channel(child))


def at(hour: int, minute: int = 0, day: int = 25) -> int:
    """Local wall time on a Wednesday (2026-11-25) as ns."""
    return int(datetime(2026, 11, day, hour, minute).timestamp() * 1e9)


def test_scheduled_mode_records_inside_its_windows_only(tmp_path):
    w = worker(
        '      mode: scheduled\n      schedule:\n        - {days: [wed], start: "08:00", '
        'end: "18:00"}\n        - {days: [sat], start: "22:00", end: "06:00"}\n',
        tmp_path,
    )
    assert w.reasons(at(9)) == ["scheduled"]
    assert w.reasons(at(7, 59)) == []
    assert w.reasons(at(18, 0)) == []
    assert w.reasons(at(23, day=28)) == ["scheduled"]  # Saturday night
    assert w.reasons(at(5, day=29)) == ["scheduled"]  # ... into Sunday morning
    assert w.reasons(at(9, day=26)) == []  # Thursday


def test_motion_mode_holds_post_roll_and_honours_its_schedule(tmp_path):
    w = worker(
        "      mode: motion\n      post_roll_s: 10\n      schedule:\n"
        '        - {start: "08:00", end: "20:00"}\n',
        tmp_path,
    )
    w.last_motion_end_ns = at(12)
    assert w.reasons(at(12) + int(9e9)) == ["motion"]
    assert w.reasons(at(12) + int(11e9)) == []
    w.last_motion_end_ns = at(21)
    assert w.reasons(at(21) + int(1e9)) == [], "motion outside the schedule is not recorded"


def test_manual_and_panic_stack_on_any_mode_strongest_first(tmp_path):
    w = worker("      mode: continuous\n", tmp_path)
    now = time.time_ns()
    assert w.reasons(now) == ["continuous"]
    w.manual = True
    w.panic = True
    assert w.reasons(now) == ["panic", "manual", "continuous"]
    off = worker("      mode: off\n", tmp_path)
    assert off.reasons(now) == []
    off.manual = True
    assert off.reasons(now) == ["manual"]


def test_restart_backoff_doubles_to_a_cap_and_resets_after_a_stable_run():
    policy = RestartPolicy()
    delays = [policy.delay_after_exit(ran_s=2) for _ in range(8)]
    assert delays[:4] == [1, 2, 4, 8]
    assert max(delays) == BACKOFF_CAP_S and delays[-1] == BACKOFF_CAP_S
    assert policy.delay_after_exit(ran_s=RESTART_STABLE_S + 1) == 1


@pytest.mark.parametrize("mode", ["continuous", "motion", "off"])
def test_schedule_is_ignored_where_the_mode_does_not_use_it(tmp_path, mode):
    w = worker(f"      mode: {mode}\n", tmp_path)
    assert w.reasons(at(3)) == (["continuous"] if mode == "continuous" else [])


def test_frame_sink_follows_a_resolution_switch(tmp_path):
    """Smaller frames stay in the ring; a larger one replaces it; motion restarts per size."""
    config = parse_config(
        f"storage:\n  path: {tmp_path}\n  min_free_bytes: 100MB\n"
        "cameras:\n  - id: cam\n    main: /dev/null\n"
    )
    ends: list[tuple[int, int]] = []
    sink = FrameSink(
        f"nvrtest{os.getpid()}",
        config.cameras[0].motion,
        lambda _s: None,
        lambda s, e, _c, _b: ends.append((s, e)),
    )
    try:
        sink.on_frame(av.VideoFrame(640, 360, "yuv420p"), 1)
        first = sink.ring
        assert first is not None and sink.detector is not None
        sink.active = True  # an open motion event ends with the size change
        sink.on_frame(av.VideoFrame(320, 180, "yuv420p"), 2)
        assert sink.ring is first and not first.closed, "a smaller frame needs no new ring"
        view = first.latest()
        assert view is not None and (view.width, view.height) == (320, 180)
        assert ends == [(0, 1)] and not sink.active
        sink.on_frame(av.VideoFrame(800, 450, "yuv420p"), 3)
        assert sink.ring is not first and first.closed
        assert (sink.ring.width, sink.ring.height) == (800, 450)
    finally:
        sink.close()
