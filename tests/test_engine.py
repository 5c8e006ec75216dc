"""End to end: ``nvr run`` against a real GStreamer RTSP camera; recordings checked with PyAV,
ffprobe and the catalog; faults inflicted on the camera and the worker processes."""

from __future__ import annotations

import itertools
import json
import os
import signal
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import av
import pytest

from nvr.frames.ring import instance_id
from nvr.storage.catalog import Catalog, Recording
from tests.conftest import api_command, api_get, requires_rtsp, wait_for
from tests.support.cameras import RtspCamera
from tests.support.media import ffprobe_duration

pytestmark = [requires_rtsp, pytest.mark.slow]


@pytest.fixture(scope="module")
def camera_server() -> Iterator[RtspCamera]:
    with RtspCamera() as cam:
        yield cam


@pytest.fixture
def camera(camera_server: RtspCamera) -> RtspCamera:
    """The module's camera server, running: one that exited after an earlier test (CI saw a
    test find nothing listening, twice) is started again, with a warning giving its last words,
    so one test's crash of the fake camera does not fail the next."""
    died = camera_server.revive()
    if died is not None:
        warnings.warn(f"the test camera server had exited ({died}); started again", stacklevel=1)
    return camera_server


SECRET = "s3cr3t-Pa55"


def camera_yaml(
    cam_id: str,
    camera: RtspCamera,
    scene: str,
    mode: str = "continuous",
    segment_s: int = 5,
    pre_roll_s: int = 2,
    credentials: bool = False,
) -> str:
    """One camera entry; with ``credentials`` the URLs carry a user and password."""
    userinfo = f"admin:{SECRET}@" if credentials else ""
    main, sub = (
        camera.url(f"{scene}/{s}").replace("rtsp://", f"rtsp://{userinfo}") for s in ("main", "sub")
    )
    return f"""
  - id: {cam_id}
    main: {main}
    sub: {sub}
    timeout_s: 3
    record:
      mode: {mode}
      segment_s: {segment_s}
      pre_roll_s: {pre_roll_s}
      post_roll_s: 2
"""


def config_yaml(storage: Path, *cameras: str) -> str:
    return (
        f"storage:\n  path: {storage}\n  min_free_bytes: 100MB\napi:\n  port: 0\ncameras:"
        + "".join(cameras)
        + "\n"
    )


def recordings(storage: Path, camera_id: str | None = None) -> list[Recording]:
    with Catalog(storage / "catalog.db", readonly=True) as catalog:
        return catalog.recordings(camera_id)


def decoded_frames(path: Path) -> int:
    """Decode every frame of a file (raises on a broken file)."""
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def check_playable(storage: Path, rows: list[Recording]) -> None:
    """Every cataloged segment exists, decodes to its end and agrees with ffprobe."""
    for row in rows:
        path = storage / "recordings" / row.file_path
        assert path.stat().st_size == row.size_bytes, row
        frames = decoded_frames(path)
        seconds = row.duration_90k / 90000
        assert frames >= seconds * 15 * 0.8, (row.file_path, frames, seconds)
        assert abs(ffprobe_duration(path) - seconds) < 0.25, row.file_path


def shared(storage: Path) -> list[str]:
    """This engine's shared memory in /dev/shm: frame rings and packet rings (``_ps``, ``_pm``)."""
    return sorted(p.name for p in Path("/dev/shm").glob(f"nvr{instance_id(storage)}_*"))


def rings(storage: Path) -> list[str]:
    """This engine's shared-memory frame rings."""
    return [name for name in shared(storage) if not name.endswith(("_ps", "_pm"))]


class NotLive(Exception):
    """What the cameras not yet live show, kept by ``wait_for`` for its timeout message."""


def live(engine, *camera_ids: str):
    def check():
        cams = engine.health()["cameras"]
        waiting = [
            f"{c}: {cams[c]['state']} at {cams[c]['fps_in']:.1f} fps ({cams[c]['error']})"
            for c in camera_ids
            if not (cams[c]["state"] == "live" and cams[c]["fps_in"] > 5)
        ]
        if waiting:
            raise NotLive("; ".join(waiting))
        return True

    return check


def test_records_playable_segments_and_catalogs_them(camera, engine_factory, tmp_path):
    storage = tmp_path / "storage"
    engine = engine_factory(
        config_yaml(
            storage,
            camera_yaml("moving", camera, "moving", credentials=True),
            camera_yaml("still", camera, "still", credentials=True),
        )
    )
    engine.start()
    wait_for(live(engine, "moving", "still"), 30, what="both cameras live")
    t_live = time.time_ns()
    health = engine.health()
    assert health["cameras"]["moving"]["recording"]["active"]
    assert health["cameras"]["moving"]["main"]["width"] == 1920
    assert health["cameras"]["moving"]["sub"]["height"] == 360
    metrics = api_get(engine.api, "/metrics")
    assert 'nvr_camera_up{camera="moving"} 1.0' in metrics
    exposed = [json.dumps(health), metrics, json.dumps(api_get(engine.api, "/api/cameras"))]
    assert len(rings(storage)) == 2
    assert {c["ring"] for c in health["cameras"].values()} == set(rings(storage))
    assert len(shared(storage)) == 6  # and a packet ring per stream, for the web's live view
    time.sleep(14)
    t_stop = time.time_ns()
    assert engine.stop() == 0
    assert shared(storage) == [], "rings left in /dev/shm after a clean stop"
    logs = [p.read_text() for p in (storage / "logs").glob("*.log")]
    assert len(logs) == 3, "one log file per process (supervisor + two workers)"
    for text in [*logs, engine.output(), *exposed]:
        assert SECRET not in text, "a camera password leaked"

    on_disk = {
        p.relative_to(storage / "recordings").as_posix()
        for p in (storage / "recordings").rglob("*.mp4")
    }
    rows = recordings(storage)
    assert {r.file_path for r in rows} == on_disk, "catalog rows and files differ"
    check_playable(storage, rows)
    for cam_id in ("moving", "still"):
        segs = [r for r in rows if r.camera_id == cam_id]
        assert len(segs) >= 3, segs
        assert all(r.recording_type == "continuous" and r.width == 1920 for r in segs)
        for a, b in zip(segs, segs[1:], strict=False):  # consecutive segments tile time
            assert abs(b.start_ns - a.end_ns) < 0.2e9, (a, b)
        total_s = sum(r.duration_90k for r in segs) / 90000
        span_s = (segs[-1].end_ns - segs[0].start_ns) / 1e9
        assert abs(total_s - span_s) < 0.5
        assert segs[0].start_ns < t_live and segs[-1].end_ns > t_stop - 2e9
        assert all(r.duration_90k / 90000 < 5 + 1.5 for r in segs[:-1])

    with Catalog(storage / "catalog.db", readonly=True) as catalog:
        moving_events = catalog.motion_events("moving")
        still_events = catalog.motion_events("still")
        assert catalog.integrity_check() == ["ok"]
    assert moving_events, "no motion event on the moving scene"
    assert still_events == [], "motion reported on a still scene"
    assert all(e.recording_id is not None and e.confidence > 0 for e in moving_events)
    assert sum(r.motion_events for r in rows if r.camera_id == "moving") >= 1


def test_camera_outages_and_killed_worker_are_survived(camera, engine_factory, tmp_path):
    storage = tmp_path / "storage"
    engine = engine_factory(config_yaml(storage, camera_yaml("moving", camera, "moving")))
    engine.start()
    wait_for(live(engine, "moving"), 30, what="camera live")
    time.sleep(3)

    # 1. The camera disappears (server stopped), then comes back on the same address.
    camera.stop()
    t0 = time.monotonic()
    wait_for(
        lambda: engine.health()["cameras"]["moving"]["state"] == "reconnecting",
        15,
        what="outage detected",
    )
    detected_s = time.monotonic() - t0
    time.sleep(2)
    camera.start()
    wait_for(live(engine, "moving"), 15, what="recording resumed after the camera returned")

    # 2. The camera goes silent (frozen), then resumes.
    time.sleep(3)
    camera.pause()
    t0 = time.monotonic()
    try:
        wait_for(
            lambda: engine.health()["cameras"]["moving"]["state"] == "reconnecting",
            15,
            what="silent camera detected",
        )
        silent_s = time.monotonic() - t0
        error = engine.health()["cameras"]["moving"]["error"]
        assert "no data from the camera for 3 s" in error, error
    finally:
        camera.resume()
    wait_for(live(engine, "moving"), 15, what="recording resumed after silence")

    # 3. The worker is killed.
    time.sleep(3)
    pid = engine.health()["cameras"]["moving"]["pid"]
    os.kill(pid, signal.SIGKILL)
    wait_for(
        lambda: engine.health()["cameras"]["moving"]["restarts"] == 1, 15, what="worker restarted"
    )
    wait_for(live(engine, "moving"), 20, what="recording resumed after the kill")
    assert engine.health()["cameras"]["moving"]["pid"] != pid
    assert len(rings(storage)) == 1, "the killed worker's ring was not replaced cleanly"
    assert len(shared(storage)) == 3, "nor its packet rings"
    time.sleep(4)
    assert engine.stop() == 0
    assert shared(storage) == []

    assert detected_s < 10 and silent_s < 10, (detected_s, silent_s)
    with Catalog(storage / "catalog.db", readonly=True) as catalog:
        gaps = catalog.gaps("moving")
        rows = catalog.recordings("moving")
    assert len(gaps) == 3, gaps
    assert all(g.end_ns is not None and g.end_ns > g.start_ns for g in gaps)
    assert "SIGKILL" in gaps[-1].cause
    for gap in gaps:  # recording stopped before each gap and resumed after it
        assert any(r.end_ns <= gap.start_ns + 1e9 for r in rows)
        assert any(r.start_ns >= gap.end_ns - 1e9 for r in rows)
        assert not any(
            r.start_ns < gap.start_ns - 1e9 and r.end_ns > gap.end_ns + 1e9 for r in rows
        ), "a segment claims to span an outage"
    check_playable(storage, rows)


def test_live_reload_applies_valid_and_rejects_invalid_edits(camera, engine_factory, tmp_path):
    storage = tmp_path / "storage"
    moving = camera_yaml("moving", camera, "moving", segment_s=30)
    engine = engine_factory(config_yaml(storage, moving))
    engine.start()
    wait_for(live(engine, "moving"), 30, what="camera live")
    moving_pid = engine.health()["cameras"]["moving"]["pid"]

    def edit(text: str) -> None:
        engine.config.write_text(text)

    edit(config_yaml(storage, moving, camera_yaml("still", camera, "still")))
    t0 = time.monotonic()
    wait_for(live(engine, "still"), 10, what="added camera live")
    assert time.monotonic() - t0 < 10
    assert engine.health()["cameras"]["moving"]["pid"] == moving_pid

    edit(config_yaml(storage, moving, camera_yaml("still", camera, "still", mode="bogus")))
    status = wait_for(
        lambda: (s := api_get(engine.api, "/api/config"))["ok"] is False and s,
        10,
        what="invalid edit reported",
    )
    assert any("cameras[1].record.mode" in e and "line" in e for e in status["errors"]), status
    health = engine.health()
    assert health["status"] == "degraded" and not health["config"]["ok"]
    assert health["cameras"]["moving"]["pid"] == moving_pid
    assert health["cameras"]["still"]["state"] == "live"

    still_pid = health["cameras"]["still"]["pid"]
    # Recording settings apply in the running worker: no restart, no hole.
    renamed = camera_yaml("still", camera, "still", segment_s=6).replace(
        "  - id: still\n", "  - id: still\n    name: Still life\n"
    )
    edit(config_yaml(storage, moving, renamed))
    wait_for(lambda: engine.health()["cameras"]["still"]["name"] == "Still life", 10, what="name")
    assert engine.health()["cameras"]["still"]["pid"] == still_pid
    assert api_get(engine.api, "/api/config")["ok"] is True
    # A crash is counted; a restart to apply a config change keeps the count.
    os.kill(still_pid, signal.SIGKILL)
    wait_for(
        lambda: engine.health()["cameras"]["still"]["restarts"] == 1, 15, what="still restarted"
    )
    wait_for(live(engine, "still"), 20, what="still recording after the kill")
    still_pid = engine.health()["cameras"]["still"]["pid"]
    # A stream change needs a new connection: the worker restarts, and says so in a gap.
    edit(config_yaml(storage, moving, renamed.replace("timeout_s: 3", "timeout_s: 4")))
    wait_for(
        lambda: (
            (c := engine.health()["cameras"]["still"])["pid"] not in (None, still_pid)
            and c["state"] == "live"
        ),
        15,
        what="changed camera restarted",
    )
    assert engine.health()["cameras"]["still"]["restarts"] == 1
    kinds = [g["kind"] for g in api_get(engine.api, "/api/gaps?camera_id=still")["gaps"]]
    assert kinds == ["worker_exit", "worker_restart"], kinds  # the kill, then the edit

    edit(config_yaml(storage, moving))
    wait_for(lambda: "still" not in engine.health()["cameras"], 10, what="removed camera stop")
    assert engine.health()["cameras"]["moving"]["pid"] == moving_pid
    assert engine.stop() == 0

    with Catalog(storage / "catalog.db", readonly=True) as catalog:
        assert catalog.gaps("moving") == []
        moving_rows = catalog.recordings("moving")
    # Untouched camera: its segments follow each other without a hole.
    assert moving_rows and all(
        b.start_ns - a.end_ns < 100_000_000 for a, b in itertools.pairwise(moving_rows)
    ), moving_rows
    check_playable(storage, recordings(storage))


def test_the_recording_type_in_health_is_the_reason_in_force_now(camera, engine_factory, tmp_path):
    """A continuous camera asked to record manually, then panic, then neither: /health names
    the reason in force as soon as the command is answered (not the segment's strongest,
    which stayed "panic" until the segment rotated)."""
    storage = tmp_path / "storage"
    engine = engine_factory(
        config_yaml(storage, camera_yaml("door", camera, "still", segment_s=60))
    )
    engine.start()
    wait_for(
        lambda: engine.health()["cameras"]["door"]["recording"]["active"], 30, what="recording"
    )

    def answered(command: str, expected: str, **params) -> None:
        status, reply = api_command(engine.api, command, **params)
        assert status == 200 and reply["ok"], reply
        wait_for(
            lambda: engine.health()["cameras"]["door"]["recording"]["type"] == expected,
            0.5,
            interval=0.05,
            what=f"REC {expected} in /health after {command}",
        )

    assert engine.health()["cameras"]["door"]["recording"]["type"] == "continuous"
    answered("start_recording", "manual", camera_id="door")
    answered("panic", "panic", active=True)
    answered("panic", "manual", active=False)
    answered("stop_recording", "continuous", camera_id="door")
    assert engine.stop() == 0
    (row,) = recordings(storage)
    assert row.recording_type == "panic"  # the segment is cataloged under the strongest


def test_manual_panic_and_motion_recording(camera, engine_factory, tmp_path):
    storage = tmp_path / "storage"
    engine = engine_factory(
        config_yaml(
            storage,
            camera_yaml("door", camera, "still", mode="off", pre_roll_s=3),
            camera_yaml("yard", camera, "still", mode="off", pre_roll_s=3),
            camera_yaml("street", camera, "moving", mode="motion", pre_roll_s=2),
        )
    )
    engine.start()
    wait_for(live(engine, "door", "yard", "street"), 60, what="cameras live")
    time.sleep(4)  # fill the pre-roll buffers
    assert not engine.health()["cameras"]["door"]["recording"]["active"]

    t_cmd = time.time_ns()
    status, reply = api_command(engine.api, "start_recording", "door")
    assert status == 200 and reply["ok"], reply
    assert reply["ack_ms"] < 2000 and reply["cameras"]["door"]["recording"] is True
    wait_for(
        lambda: engine.health()["cameras"]["door"]["recording"]["active"],
        2,
        what="manual recording visible in health",
    )
    time.sleep(3)
    status, reply = api_command(engine.api, "stop_recording", "door")
    assert status == 200 and reply["cameras"]["door"]["recording"] is False

    status, reply = api_command(engine.api, "panic", active=True)
    assert status == 200 and set(reply["cameras"]) == {"door", "yard", "street"}
    health = engine.health()
    assert health["panic"]
    time.sleep(3)
    assert all(c["recording"]["active"] for c in engine.health()["cameras"].values())
    status, reply = api_command(engine.api, "panic", active=False)
    assert status == 200
    status, reply = api_command(engine.api, "start_recording", "nowhere")
    assert status == 404 and "nowhere" in reply["error"]
    time.sleep(8)  # motion-mode segments close after the post-roll
    assert engine.stop() == 0

    rows = recordings(storage)
    door = [r for r in rows if r.camera_id == "door"]
    types = [r.recording_type for r in door]
    # Manual, then panic; each may rotate (segment_s 5 < pre-roll + recording time).
    assert types == sorted(types, key=["manual", "panic"].index) and set(types) == {
        "manual",
        "panic",
    }, door
    assert door[0].start_ns <= t_cmd - 2e9, "manual recording lacks its pre-roll"
    assert {r.recording_type for r in rows if r.camera_id == "yard"} == {"panic"}
    street = [r for r in rows if r.camera_id == "street"]
    assert street and {r.recording_type for r in street} <= {"motion", "panic"}
    assert any(r.recording_type == "motion" for r in street)
    check_playable(storage, rows)
