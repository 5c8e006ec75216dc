"""The supervisor's parts on a simulated clock, without an engine process: the watchdog, the
storage keeper's schedule and retention, the command desk, config diffs and the message table.

Real pieces throughout: real processes for the watchdog, a real SQLite catalog and real files
for retention, real threads for commands; only time is simulated (``tests/support/clock.py``).
"""

from __future__ import annotations

import inspect
import multiprocessing
import subprocess
import threading
import time
from pathlib import Path

import pytest

from nvr.config import Config, parse_config
from nvr.frames.ring import ring_name
from nvr.protocol import worker as messages
from nvr.protocol.commands import Command
from nvr.protocol.health import CameraStatus, ConfigStatus, Health, StreamStatus
from nvr.protocol.worker import Ack, SetRecording
from nvr.storage.catalog import Catalog, NewRecording
from nvr.supervisor import commands as commands_mod
from nvr.supervisor.alarms import AlarmDesk
from nvr.supervisor.commands import CommandDesk, Workers
from nvr.supervisor.dispatch import Dispatcher
from nvr.supervisor.events import EventBoard
from nvr.supervisor.ledger import Ledger
from nvr.supervisor.reload import SETTLE_S, ConfigWatcher, diff
from nvr.supervisor.storage import WRITE_RATE_WINDOW_S, StorageKeeper
from nvr.supervisor.worker_history import KEEP, SAMPLE_S, WorkerHistory
from nvr.supervisor.workers import (
    FIRST_HEARTBEAT_S,
    HEARTBEAT_TIMEOUT_S,
    WorkerHandle,
    WorkerPool,
)
from nvr.worker.process import WorkerSpec
from tests.support.clock import ManualClock

DAY_NS = 86400 * 10**9


def config(tmp_path: Path, cameras: str = "", storage: str = "") -> Config:
    """A config on ``tmp_path``; its free-space reserve is 100MB unless ``storage`` sets one, so
    retention here never depends on how full the test machine's disk is."""
    if "min_free_bytes" not in storage:
        storage += "  min_free_bytes: 100MB\n"
    return parse_config(f"storage:\n  path: {tmp_path}\n{storage}cameras:\n{cameras or '  []'}\n")


def camera_yaml(cam_id: str, extra: str = "") -> str:
    return f"  - id: {cam_id}\n    main: rtsp://127.0.0.1:9/{cam_id}\n{extra}"


def spec_for(tmp_path: Path):
    def make(cam) -> WorkerSpec:
        return WorkerSpec(
            cam, str(tmp_path), ring_name("test", cam.id), None, "INFO", 1, False, False
        )

    return make


# -- watchdog ------------------------------------------------------------------------------


def test_watchdog_kills_a_silent_worker_on_the_clock_and_restarts_it_after_its_backoff(tmp_path):
    clock = ManualClock()
    cfg = config(tmp_path, camera_yaml("door"))
    pool = WorkerPool(spec_for(tmp_path), clock)
    silent = subprocess.Popen(["sleep", "60"])  # a real process that never reports
    handle = WorkerHandle(spec_for(tmp_path)(cfg.cameras[0]))
    handle.pid, handle.running = silent.pid, True
    handle.started_mono = handle.heartbeat_mono = clock.monotonic()
    pool.handles["door"] = handle
    try:
        clock.advance(FIRST_HEARTBEAT_S - 1)
        pool.watchdog()
        assert silent.poll() is None  # still within its first heartbeat's grace
        clock.advance(2)
        pool.watchdog()
        assert silent.wait(5) == -9  # SIGKILL, from simulated time alone
        handle.running = False
        delay = pool.schedule_restart(handle, "killed by SIGKILL")
        assert delay == 1 and handle.last_exit == "killed by SIGKILL"
        clock.advance(delay - 0.1)
        pool.watchdog()
        assert handle.pid == silent.pid and handle.restarts == 0  # not yet due
        clock.advance(0.2)
        pool.watchdog()  # due: a real worker process starts
        assert handle.running and handle.restarts == 1 and handle.pid != silent.pid
        assert handle.started_mono == clock.monotonic()
    finally:
        silent.kill()
        handle.kill()
        handle.reap()


# -- storage keeper ------------------------------------------------------------------------


def add_segment(catalog: Catalog, root: Path, cam: str, start_ns: int, size: int = 1000) -> None:
    rel = f"{cam}/{start_ns}.mp4"
    (root / "recordings" / cam).mkdir(parents=True, exist_ok=True)
    (root / "recordings" / rel).write_bytes(b"\0" * size)
    catalog.add_recording(
        NewRecording(cam, start_ns, start_ns + 60 * 10**9, 60 * 90000, rel, size, "continuous")
    )


def test_keeper_runs_retention_on_the_clock_and_ages_footage_by_wall_time(tmp_path):
    clock = ManualClock()
    cfg = config(
        tmp_path,
        camera_yaml("door", "    retention:\n      max_days: 7\n"),
        "  retention_check_s: 60\n",
    )
    with Catalog(tmp_path / "catalog.db") as catalog:
        now = clock.wall_ns()
        for age_days in (10, 8, 3):
            add_segment(catalog, tmp_path, "door", now - age_days * DAY_NS)
        keeper = StorageKeeper(tmp_path, catalog, "id1", clock)
        assert keeper.due()
        keeper.run_pass(cfg, 0.0)
        assert keeper.retention is not None and keeper.retention.deleted == 2
        assert keeper.cameras["door"].days_retained == pytest.approx(3, abs=0.01)
        assert not keeper.due()
        add_segment(catalog, tmp_path, "door", now - 6 * DAY_NS)
        clock.advance(59)
        assert not keeper.due()
        clock.advance(2 * DAY_NS / 1e9)  # two days later the 6-day-old one has aged out too
        assert keeper.due()
        keeper.run_pass(cfg, 0.0)
        assert keeper.retention.deleted == 1
        assert [r.start_ns for r in catalog.recordings("door")] == [now - 3 * DAY_NS]
        keeper.run_soon()
        assert keeper.due()


def test_keeper_write_rate_covers_the_last_five_minutes(tmp_path):
    clock = ManualClock()
    cfg = config(tmp_path)
    with Catalog(tmp_path / "catalog.db") as catalog:
        keeper = StorageKeeper(tmp_path, catalog, "id1", clock)
        clock.advance(60)  # a minute after the engine started, its first minute's segment:
        keeper.segment_written(75_000)  # the rate over that minute, not over five
        assert keeper.status(cfg).write_rate_bps == 10_000.0
        # Early on, segments close a segment's length late: the streams give the rate sooner.
        assert keeper.status(cfg, writing_bps=40_000.0).write_rate_bps == 40_000.0
        assert keeper.status(cfg, writing_bps=4_000.0).write_rate_bps == 10_000.0
        clock.advance(WRITE_RATE_WINDOW_S + 1)  # that one has left the window
        keeper.segment_written(375_000)
        assert keeper.status(cfg).write_rate_bps == 10_000.0
        assert keeper.status(cfg, writing_bps=40_000.0).write_rate_bps == 10_000.0  # averaged
        clock.advance(WRITE_RATE_WINDOW_S + 1)
        status = keeper.status(cfg)
        assert status.write_rate_bps == 0.0 and status.id == "id1" and status.free_bytes > 0
        assert status.days_until_full is None  # nothing written: no forecast


def test_keeper_forecasts_days_and_reads_footage_by_type(tmp_path):
    clock = ManualClock()
    cfg = config(tmp_path, storage="  min_free_bytes: 0\n")
    with Catalog(tmp_path / "catalog.db") as catalog:
        add_segment(catalog, tmp_path, "door", 10**18, size=5000)
        keeper = StorageKeeper(tmp_path, catalog, "id1", clock)
        clock.advance(WRITE_RATE_WINDOW_S)
        keeper.segment_written(WRITE_RATE_WINDOW_S * 1000)  # 1,000 bytes a second
        status = keeper.status(cfg)
        free = status.free_bytes
        assert status.days_until_full == pytest.approx(free / 86.4e6, rel=1e-2)
        assert status.days_capacity == pytest.approx((free + 5000) / 86.4e6, rel=1e-2)
        door = status.cameras["door"]
        assert door.bytes_by_type == {"continuous": 5000} and door.protected_bytes == 0
        assert door.oldest_ns == 10**18


def test_keeper_reports_a_storage_folder_that_went_away(tmp_path):
    root = tmp_path / "storage"
    root.mkdir()
    cfg = config(root)
    with Catalog(tmp_path / "catalog.db") as catalog:
        keeper = StorageKeeper(root, catalog, "id1", ManualClock())
        root.rename(tmp_path / "moved")
        status = keeper.status(cfg)
        assert status.free_bytes == 0 and "cannot be read" in status.warning


# -- commands ------------------------------------------------------------------------------


class Cameras:
    """Workers that are pipes to this test: it reads what the desk sends and answers."""

    def __init__(self, ids: list[str], reachable: bool = True) -> None:
        self.ids, self.reachable = ids, reachable
        self.disabled: list[str] = []  # configured, kept idle: no worker
        self.sent: list[tuple[str, object]] = []
        self.reloads = 0
        self.restarted: list[tuple[str, str]] = []

    def workers(self) -> Workers:
        def send(camera_id: str, message: object) -> bool:
            self.sent.append((camera_id, message))
            return self.reachable

        def reload() -> None:
            self.reloads += 1

        return Workers(
            lambda: list(self.ids),
            lambda: list(self.disabled),
            send,
            lambda: ConfigStatus("nvr.yaml"),
            reload,
            lambda camera_id, who: self.restarted.append((camera_id, who)),
            lambda: None,
            lambda command: None,
            lambda command: 0,
            lambda camera_id: None,  # no camera has PTZ here (test_ptz.py drives it)
        )


def alarm_desk(tmp_path: Path) -> AlarmDesk:
    return AlarmDesk(Catalog(tmp_path / "alarms.db"), EventBoard(), 0)


def submit_in_thread(desk: CommandDesk, command: Command) -> tuple[threading.Thread, list]:
    out: list = []
    thread = threading.Thread(target=lambda: out.append(desk.submit(command)))
    thread.start()
    return thread, out


def run_loop_until(desk: CommandDesk, predicate) -> None:
    deadline = time.monotonic() + 5
    while not predicate() and time.monotonic() < deadline:
        desk.run_queued()
        time.sleep(0.01)


def test_desk_answers_once_every_camera_acknowledged(tmp_path):
    clock = ManualClock()
    cams = Cameras(["door", "yard"])
    desk = CommandDesk(cams.workers(), clock, alarm_desk(tmp_path))
    thread, out = submit_in_thread(desk, Command("start_recording", "*", "ui-1"))
    run_loop_until(desk, lambda: len(cams.sent) == 2)
    assert desk.manual == {"door", "yard"}
    (_, first), (_, second) = cams.sent
    assert isinstance(first, SetRecording) and first.reason == "manual" and first.active
    clock.advance(0.004)
    desk.on_ack(Ack(first.request_id, "door", True, True))
    assert not desk.replies_ready  # yard has not answered
    desk.on_ack(Ack(second.request_id, "yard", True, True))
    assert desk.replies_ready
    desk.deliver()
    thread.join(5)
    status, reply = out[0]
    assert status == 200 and reply.ok and reply.ack_ms == 4.0 and reply.ui_session_id == "ui-1"
    assert {c: (a.acknowledged, a.recording) for c, a in reply.cameras.items()} == {
        "door": (True, True),
        "yard": (True, True),
    }
    desk.close()


def test_desk_replies_202_when_a_camera_stays_silent_and_keeps_the_request(tmp_path):
    clock = ManualClock()
    cams = Cameras(["door"])
    desk = CommandDesk(cams.workers(), clock, alarm_desk(tmp_path))
    thread, out = submit_in_thread(desk, Command("panic", params={"active": True}))
    run_loop_until(desk, lambda: bool(cams.sent))
    assert desk.panic
    assert desk.expire() == pytest.approx(commands_mod.ACK_TIMEOUT_S)
    clock.advance(commands_mod.ACK_TIMEOUT_S)
    assert desk.expire() is None and desk.replies_ready
    desk.deliver()
    thread.join(5)
    status, reply = out[0]
    assert status == 202 and not reply.ok and "did not acknowledge" in reply.detail
    assert reply.to_json()["cameras"] == {
        "door": {"acknowledged": False, "recording": None, "pending": False}
    }
    assert desk.panic  # in force: a restarted worker gets it in its spec
    desk.close()


def test_desk_refusals_carry_error_codes(tmp_path, monkeypatch):
    clock = ManualClock()
    cams = Cameras(["door"])
    desk = CommandDesk(cams.workers(), clock, alarm_desk(tmp_path))
    thread, out = submit_in_thread(desk, Command("stop_recording", "nowhere"))
    run_loop_until(desk, lambda: desk.replies_ready)
    desk.deliver()
    thread.join(5)
    status, reply = out[0]
    assert (status, reply.code) == (404, "unknown_camera") and "'nowhere'" in reply.error
    cams.disabled.append("yard")  # configured but disabled: said so, not "unknown"
    for name in ("restart_worker", "start_recording"):
        thread, out = submit_in_thread(desk, Command(name, "yard"))
        run_loop_until(desk, lambda: desk.replies_ready)
        desk.deliver()
        thread.join(5)
        status, reply = out[0]
        assert (status, reply.code) == (409, "conflict"), reply
        assert "'yard' is disabled in the configuration" in reply.error
    thread, out = submit_in_thread(desk, Command("reload_config"))
    run_loop_until(desk, lambda: desk.replies_ready)
    desk.deliver()
    thread.join(5)
    assert out[0][0] == 202 and cams.reloads == 1
    # A loop that never picks the command up: refused, and never run later.
    monkeypatch.setattr(commands_mod, "PICKUP_TIMEOUT_S", 0.1)
    status, reply = desk.submit(Command("start_recording", "door"))
    assert (status, reply.code) == (503, "engine_busy") and not reply.ok
    desk.run_queued()
    assert desk.manual == set() and cams.sent == []
    desk.close()
    status, reply = desk.submit(Command("config_status"))
    assert (status, reply.code) == (503, "engine_busy") and "stopping" in reply.error


def test_commands_that_reach_a_stopping_engine_are_refused_not_left_in_force(tmp_path):
    cams = Cameras(["door"])
    desk = CommandDesk(cams.workers(), ManualClock(), alarm_desk(tmp_path))
    desk.stopping()
    thread, out = submit_in_thread(desk, Command("panic", params={"active": True}))
    run_loop_until(desk, lambda: desk.replies_ready)
    desk.deliver()
    thread.join(5)
    status, reply = out[0]
    assert (status, reply.code) == (503, "engine_busy") and "stopping" in reply.error
    assert not desk.panic and cams.sent == []
    desk.close()


# -- config reload -------------------------------------------------------------------------


def test_config_diff_restarts_a_worker_only_when_its_stream_changed(tmp_path):
    old = config(
        tmp_path,
        camera_yaml("a")
        + camera_yaml("b")
        + camera_yaml("c")
        + camera_yaml("d")
        + camera_yaml("f")
        + camera_yaml("g"),
    )
    new = parse_config(
        f"storage:\n  path: {tmp_path / 'elsewhere'}\n  min_free_bytes: 100MB\n"
        "  max_bytes: 10GB\ncameras:\n"
        + camera_yaml("a", "    retention:\n      max_days: 3\n")  # retention only
        + camera_yaml("b", "    record:\n      mode: motion\n")
        + camera_yaml("c", "    enabled: false\n")
        + camera_yaml("e")
        + camera_yaml("f", "    name: Front gate\n    motion:\n      threshold: 40\n")
        + camera_yaml("g").replace("rtsp://127.0.0.1:9/g", "rtsp://127.0.0.1:9/g2")
    )
    change = diff(old, new)
    assert (change.added, change.removed, change.changed) == (("e",), ("c", "d"), ("g",))
    assert (change.updated, change.untouched) == (("b", "f"), ("a",))
    assert change.needs_restart == ("storage.path",)
    assert change.config.storage.path == old.storage.path  # kept until a restart
    assert change.config.storage.max_bytes == 10 * 10**9  # the rest applies live


def test_a_config_file_is_read_once_it_has_kept_still(tmp_path):
    """A file written in pieces (an editor, a script) is not applied half-written."""
    clock = ManualClock()
    path = tmp_path / "nvr.yaml"
    path.write_text(f"storage:\n  path: {tmp_path}\n  min_free_bytes: 100MB\ncameras: []\n")
    watcher = ConfigWatcher(path, clock)
    path.write_text(
        f"storage:\n  path: {tmp_path}\n  min_free_bytes: 100MB\ncameras:\n  - id: a\n"
    )  # half of it
    assert watcher.poll() is None
    clock.advance(0.6)
    path.write_text(
        f"storage:\n  path: {tmp_path}\n  min_free_bytes: 100MB\ncameras:\n" + camera_yaml("a")
    )
    clock.advance(0.6)
    assert watcher.poll() is None  # it changed again: wait for it to keep still
    clock.advance(SETTLE_S)
    new = watcher.poll()
    assert new is not None and [c.id for c in new.cameras] == ["a"]
    assert watcher.status.failed_reloads == 0  # the half-written file was never read
    watcher.request()  # asked for: read at once, edited or not
    assert watcher.poll() is not None


def test_a_free_space_reserve_under_a_minute_of_writing_is_named(tmp_path, caplog):
    cfg = config(tmp_path, storage="  min_free_bytes: 1MB\n")
    with Catalog(tmp_path / "catalog.db") as catalog:
        keeper = StorageKeeper(tmp_path, catalog, "id1", ManualClock())
        keeper.run_pass(cfg, bitrate_bps=4e6)  # 30 MB a minute
        keeper.run_soon()
        keeper.run_pass(cfg, bitrate_bps=4e6)
    warnings = [r.getMessage() for r in caplog.records if "min_free_bytes" in r.getMessage()]
    assert len(warnings) == 1 and "at least 90MB" in warnings[0], warnings


# -- the message table ---------------------------------------------------------------------


def test_one_cameras_rows_never_overlap(tmp_path):
    """A segment dated into the camera's previous one (a capture-time estimate that moved)
    starts where that one ends; another camera's rows are its own."""
    s = 10**9

    def closed(camera_id: str, name: str, start_s: float, end_s: float):
        return messages.SegmentClosed(
            camera_id, name, int(start_s * s), int(end_s * s), int((end_s - start_s) * 90000),
            1, "continuous", 0, "h264", 64, 64,
        )  # fmt: skip

    with Catalog(tmp_path / "catalog.db") as catalog:
        ledger = Ledger(catalog, tmp_path)
        ledger.segment_closed(closed("a", "a/1.mp4", 100, 160))
        ledger.segment_closed(closed("a", "a/2.mp4", 154, 220))  # 6 s into the first
        ledger.segment_closed(closed("b", "b/1.mp4", 150, 210))
        ledger.segment_closed(closed("a", "a/3.mp4", 230, 290))  # after a gap: as dated
        starts = {r.file_path: r.start_ns / s for r in catalog.recordings()}
    assert starts == {"a/1.mp4": 100, "a/2.mp4": 160, "b/1.mp4": 150, "a/3.mp4": 230}


def test_a_segment_dated_across_a_clock_jump_is_dated_by_its_video(tmp_path):
    """A clock set from 1970 while a segment was written would date it across 56 years (and
    make the timeline sum 56 years of slots): it is dated by its video up to its end."""
    s = 10**9
    with Catalog(tmp_path / "catalog.db") as catalog:
        ledger = Ledger(catalog, tmp_path)
        ledger.segment_closed(
            messages.SegmentClosed(
                "a",
                "a/1.mp4",
                5 * s,
                1_796_000_060 * s,
                60 * 90000,
                1,
                "continuous",
                0,
                "h264",
                64,
                64,
            )  # fmt: skip
        )
        (row,) = catalog.recordings()
    assert (row.start_ns, row.end_ns) == (1_796_000_000 * s, 1_796_000_060 * s)


def test_a_gap_that_runs_into_the_next_segment_ends_where_it_starts(tmp_path):
    """A stream back: its gap ended at the first keyframe's capture time as first estimated,
    the segment starting there is dated 0.8 s earlier once settled. Nothing is covered twice."""
    s = 10**9
    with Catalog(tmp_path / "catalog.db") as catalog:
        ledger = Ledger(catalog, tmp_path)
        ledger.open_gap("a", 100 * s, "stream lost: camera silent")
        ledger.end_gap("a", 110 * s)
        ledger.segment_closed(
            messages.SegmentClosed(
                "a", "a/1.mp4", int(109.2 * s), 170 * s, 90000, 1, "continuous", 0, "h264", 64, 64
            )
        )
        ledger.segment_closed(  # later segments leave the gap alone
            messages.SegmentClosed(
                "a", "a/2.mp4", 170 * s, 230 * s, 90000, 1, "continuous", 0, "h264", 64, 64
            )
        )
        (gap,) = catalog.gaps("a")
    assert (gap.start_ns, gap.end_ns) == (100 * s, int(109.2 * s))


def test_every_worker_message_has_a_handler(tmp_path):
    to_supervisor = {
        cls
        for _, cls in inspect.getmembers(messages, inspect.isclass)
        if cls.__module__ == messages.__name__
        and "camera_id" in getattr(cls, "__dataclass_fields__", {})
    }
    with Catalog(tmp_path / "catalog.db") as catalog:
        clock = ManualClock()
        keeper = StorageKeeper(tmp_path, catalog, "id", clock)
        desk = CommandDesk(Cameras([]).workers(), clock, alarm_desk(tmp_path))
        pool = WorkerPool(spec_for(tmp_path), clock)
        dispatcher = Dispatcher(
            Ledger(catalog, tmp_path / "recordings"), desk, keeper, pool, lambda: None, clock
        )
        assert to_supervisor == set(dispatcher._table)
        desk.close()


def test_a_heartbeat_is_stamped_on_the_supervisors_clock(tmp_path):
    clock = ManualClock()
    cfg = config(tmp_path, camera_yaml("door"))
    with Catalog(tmp_path / "catalog.db") as catalog:
        desk = CommandDesk(Cameras([]).workers(), clock, alarm_desk(tmp_path))
        pool = WorkerPool(spec_for(tmp_path), clock)
        dispatcher = Dispatcher(
            Ledger(catalog, tmp_path / "recordings"),
            desk,
            StorageKeeper(tmp_path, catalog, "id", clock),
            pool,
            lambda: cfg,
            clock,
        )
        handle = WorkerHandle(spec_for(tmp_path)(cfg.cameras[0]))
        parent, child = multiprocessing.Pipe()
        handle.conn = parent
        stats = StreamStatus(True, 15.0, 1e6, 0.1, 1920, 1080, "h264")
        heartbeat = messages.Heartbeat(
            "door", 1, "live", stats, None, False, None, None, False, 0.0, None, None
        )
        child.send(heartbeat)
        clock.advance(42)
        dispatcher.drain(handle)
        assert handle.heartbeat == heartbeat and handle.heartbeat_mono == clock.monotonic()
        assert handle.stall_reason(clock.monotonic() + HEARTBEAT_TIMEOUT_S + 1, 5.0)
        desk.close()


def test_the_worker_history_keeps_one_sample_per_period_for_an_hour():
    history = WorkerHistory()

    def health(*cameras: CameraStatus) -> Health:
        return Health(status="ok", cameras={c.id: c for c in cameras})

    door = CameraStatus(id="door", fps_in=15.0, fps_out=5.0, cpu_pct=2.5, rss_bytes=50_000_000)
    yard = CameraStatus(id="yard", enabled=False)  # stopped: nothing measured but the rates
    history.sample(health(door, yard), mono=0.0, now_ns=10**18)
    history.sample(health(door, yard), mono=SAMPLE_S / 2, now_ns=10**18 + 5)  # not due
    found = history.document()
    assert found["sample_s"] == SAMPLE_S and set(found["cameras"]) == {"door", "yard"}
    assert found["cameras"]["door"] == {
        "at_ns": [10**18],
        "cpu_pct": [2.5],
        "rss_bytes": [50_000_000],
        "fps_in": [15.0],
        "fps_out": [5.0],
        "bitrate_bps": [0.0],
    }
    assert found["cameras"]["yard"]["cpu_pct"] == [None]
    for n in range(1, KEEP + 5):  # an hour and more: the oldest go
        history.sample(health(door), mono=n * SAMPLE_S, now_ns=10**18 + n)
    kept = history.document("door")["cameras"]
    assert set(kept) == {"door"} and len(kept["door"]["at_ns"]) == KEEP  # yard removed: gone
    assert kept["door"]["at_ns"][-1] == 10**18 + KEEP + 4
