"""Alarms: which conditions raise them, their life (grace, merge, end, acknowledge, clear), the
alarm log in the catalog, and the event stream, driven by typed health without an engine."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import pytest

from nvr.config import Config
from nvr.errors import ConflictError, NotFoundError
from nvr.protocol.alarms import Alarm
from nvr.protocol.client import EngineClient
from nvr.protocol.health import (
    CameraStatus,
    Health,
    RecordingStatus,
    RetentionReport,
    StorageStatus,
    StreamStatus,
)
from nvr.storage.catalog import Catalog
from nvr.supervisor.alarms import MERGE_S, AlarmDesk, conditions
from nvr.supervisor.events import KEEP, EventBoard
from tests.conftest import wait_for
from tests.support.api import TOKENS
from tests.support.cameras import free_port

S = 1_000_000_000
MONDAY_NOON = datetime(2026, 12, 7, 12, 0)
MONDAY_NIGHT = datetime(2026, 12, 7, 23, 0)


def config(tmp_path: Path, **alarms: object) -> Config:
    cameras = [
        {"id": "door", "name": "Front door", "main": "rtsp://cam/door"},
        {
            "id": "yard",
            "main": "rtsp://cam/yard",
            "record": {"mode": "motion"},
            "alarms": {"motion": True, "schedule": [{"start": "20:00", "end": "06:00"}]},
        },
    ]
    return Config.model_validate(
        {"storage": {"path": str(tmp_path)}, "cameras": cameras, "alarms": alarms}
    )


def live(cam_id: str, **values: object) -> CameraStatus:
    stream = StreamStatus(connected=True, fps=15, last_age_s=0.1)
    base = CameraStatus(
        id=cam_id,
        state="live",
        main=stream,
        sub=stream,
        mode="motion" if cam_id == "yard" else "continuous",
        recording=RecordingStatus(active=cam_id == "door", type="continuous"),
    )
    return replace(base, **values)  # type: ignore[arg-type]


def health(*cameras: CameraStatus, storage: StorageStatus | None = None) -> Health:
    cams = {c.id: c for c in cameras}
    for cam_id in ("door", "yard"):
        cams.setdefault(cam_id, live(cam_id))
    return Health(cameras=cams, storage=storage or StorageStatus())


def test_a_healthy_site_raises_nothing(tmp_path):
    assert conditions(health(), config(tmp_path), MONDAY_NOON) == {}


def test_each_condition_is_named_with_its_cause(tmp_path):
    cfg = config(tmp_path)
    offline = live("door", state="reconnecting", error="connection refused", sub=None)
    found = conditions(health(offline), cfg, MONDAY_NOON)
    assert list(found) == [("offline", "door")]
    assert "Front door is offline: connection refused" in found["offline", "door"]
    # Its worker waiting to retry changes nothing an operator reads (the alarm's text is stable).
    waiting = replace(offline, state="restarting")
    assert conditions(health(waiting), cfg, MONDAY_NOON) == found

    main_lost = live("door", state="reconnecting", error="timed out")
    found = conditions(health(main_lost), cfg, MONDAY_NOON)
    assert list(found) == [("not_recording", "door")]
    assert "main stream is lost: timed out" in found["not_recording", "door"]

    cannot_write = live("door", recording=RecordingStatus(active=False, error="disk full"))
    assert (
        "cannot write (disk full)"
        in conditions(health(cannot_write), cfg, MONDAY_NOON)["not_recording", "door"]
    )
    idle = live("door", recording=RecordingStatus(active=False))
    assert ("not_recording", "door") in conditions(health(idle), cfg, MONDAY_NOON)
    resting = live("yard", recording=RecordingStatus(active=False))  # motion mode may rest
    assert conditions(health(resting), cfg, MONDAY_NOON) == {}

    frozen = live("door", sub=StreamStatus(connected=True, last_age_s=9.0))
    assert (
        "stalled: no new video for 9 s"
        in conditions(health(frozen), cfg, MONDAY_NOON)["stalled", "door"]
    )

    full = StorageStatus(free_bytes=10**9, min_free_bytes=5 * 10**9)
    unmet = StorageStatus(retention=RetentionReport(unmet=("door keeps 2 days, not 30",)))
    assert (
        "1.0 GB free, under storage.min_free_bytes"
        in conditions(health(storage=full), cfg, MONDAY_NOON)["storage_low", ""]
    )
    assert (
        "door keeps 2 days"
        in conditions(health(storage=unmet), cfg, MONDAY_NOON)["storage_low", ""]
    )


def test_motion_raises_an_alarm_only_on_armed_cameras_inside_their_schedule(tmp_path):
    cfg = config(tmp_path)
    moving = health(live("door", motion=True), live("yard", motion=True))
    assert conditions(moving, cfg, MONDAY_NOON) == {}  # yard is armed 20:00-06:00 only
    assert conditions(moving, cfg, MONDAY_NIGHT) == {("motion", "yard"): "Motion on yard"}


@pytest.fixture
def desk(tmp_path):
    catalog = Catalog(tmp_path / "catalog.db")
    yield AlarmDesk(catalog, EventBoard(), 0), catalog
    catalog.close()


def test_offline_waits_for_its_grace_then_ends_and_clears_with_who_did_it(tmp_path, desk):
    alarms, catalog = desk
    cfg = config(tmp_path, offline_after_s=10)
    down = health(live("door", state="reconnecting", sub=None))
    alarms.evaluate(down, cfg, 100 * S, MONDAY_NOON)
    alarms.evaluate(down, cfg, 105 * S, MONDAY_NOON)
    assert alarms.current().alarms == ()  # a 5 s hiccup is no alarm
    alarms.evaluate(down, cfg, 110 * S, MONDAY_NOON)
    (alarm,) = alarms.current().alarms
    assert (alarm.kind, alarm.camera_id, alarm.raised_ns, alarm.active) == (
        "offline",
        "door",
        100 * S,
        True,
    )
    with pytest.raises(ConflictError, match="still active"):
        alarms.clear([alarm.id], "ann", 111 * S)
    (acked,) = alarms.acknowledge([alarm.id], "ann", 112 * S)
    assert (acked.acked_by, acked.acked_ns) == ("ann", 112 * S)
    assert alarms.acknowledge([alarm.id], "bob", 113 * S) == []  # acknowledged once, by ann

    alarms.evaluate(health(), cfg, 120 * S, MONDAY_NOON)
    (ended,) = alarms.current().alarms
    assert ended.ended_ns == 120 * S and not ended.active
    alarms.clear([alarm.id], "bob", 121 * S)
    assert alarms.current().alarms == ()
    with pytest.raises(NotFoundError):
        alarms.clear([alarm.id], "bob", 122 * S)
    (logged,) = catalog.alarm_log()
    assert (logged.acked_by, logged.cleared_by, logged.cleared_ns) == ("ann", "bob", 121 * S)


def test_a_condition_back_soon_reopens_its_alarm_and_counts_it(tmp_path, desk):
    alarms, catalog = desk
    cfg = config(tmp_path)
    moving = health(live("yard", motion=True))
    for t in (0, 5, 30, 31 + MERGE_S + 1):  # motion, still, motion, still ... then much later
        alarms.evaluate(moving, cfg, t * S, MONDAY_NIGHT)
        alarms.evaluate(health(), cfg, (t + 1) * S, MONDAY_NIGHT)
    first, second = sorted(alarms.current().alarms, key=lambda a: a.id)
    assert (first.count, second.count) == (3, 1)
    assert len(catalog.alarm_log()) == 2


def test_an_acknowledged_alarm_that_comes_back_is_a_new_alarm(tmp_path, desk):
    alarms, catalog = desk
    cfg = config(tmp_path, offline_after_s=0)
    down = health(live("door", state="error", sub=None))
    alarms.evaluate(down, cfg, 1 * S, MONDAY_NOON)
    (first,) = alarms.current().alarms
    alarms.acknowledge([first.id], "bob", 2 * S)
    alarms.evaluate(health(), cfg, 3 * S, MONDAY_NOON)
    alarms.evaluate(down, cfg, 10 * S, MONDAY_NOON)  # back within a minute, but bob saw it go
    again = [a for a in alarms.current().alarms if a.active]
    assert len(again) == 1 and again[0].id != first.id and not again[0].acknowledged
    assert [a.acked_by for a in catalog.alarm_log()] == [None, "bob"]


def test_a_camera_restarting_neither_ends_nor_raises_its_alarms(tmp_path, desk):
    alarms, _ = desk
    cfg = config(tmp_path, offline_after_s=0)
    alarms.evaluate(health(live("door", state="error", sub=None)), cfg, 1 * S, MONDAY_NOON)
    restarting = health(live("door", state="starting", sub=None))  # a config reload
    alarms.evaluate(restarting, cfg, 2 * S, MONDAY_NOON)
    assert alarms.current().alarms[0].active  # not "ended", not offered for Clear
    alarms.evaluate(health(), cfg, 3 * S, MONDAY_NOON)  # live now: over
    assert not alarms.current().alarms[0].active


def test_only_the_alarms_named_are_acknowledged(tmp_path, desk):
    alarms, _ = desk
    cfg = config(tmp_path, offline_after_s=0)
    alarms.evaluate(health(live("door", state="error", sub=None)), cfg, 1 * S, MONDAY_NOON)
    (seen,) = alarms.current().alarms
    alarms.evaluate(  # raised after the operator's screen was drawn
        health(live("door", state="error", sub=None), live("yard", state="error", sub=None)),
        cfg,
        2 * S,
        MONDAY_NOON,
    )
    changed = alarms.acknowledge([seen.id, 999], "ann", 3 * S)  # 999: cleared meanwhile
    assert [a.id for a in changed] == [seen.id]
    unseen = [a for a in alarms.current().alarms if a.id != seen.id]
    assert unseen and not unseen[0].acknowledged


def test_acknowledge_and_clear_every_alarm_at_once(tmp_path, desk):
    alarms, _ = desk
    cfg = config(tmp_path, offline_after_s=0)
    both_down = health(
        live("door", state="error", sub=None), live("yard", state="reconnecting", sub=None)
    )
    alarms.evaluate(both_down, cfg, 1 * S, MONDAY_NOON)
    assert len(alarms.acknowledge(None, "ann", 2 * S)) == 2
    alarms.evaluate(health(live("yard", state="reconnecting", sub=None)), cfg, 3 * S, MONDAY_NOON)
    (cleared,) = alarms.clear(None, "ann", 4 * S)  # only the ended one goes
    assert cleared.camera_id == "door"
    assert [a.camera_id for a in alarms.current().alarms] == ["yard"]


def test_a_worker_restarting_in_a_loop_is_an_alarm_until_it_settles(tmp_path, desk):
    alarms, _ = desk
    cfg = config(tmp_path, restarts=3, restarts_within_s=600)
    for minute, restarts in enumerate((1, 2, 3)):
        crashing = live("door", restarts=restarts, last_exit="killed by SIGSEGV")
        alarms.evaluate(health(crashing), cfg, minute * 60 * S, MONDAY_NOON)
    (alarm,) = alarms.current().alarms
    assert alarm.kind == "restart_loop"
    assert "restarted 3 times in 10 min; last exit: killed by SIGSEGV" in alarm.message
    settled = live("door", restarts=3)
    alarms.evaluate(health(settled), cfg, 700 * S, MONDAY_NOON)  # the first restart aged out
    assert not alarms.current().alarms[0].active


def test_alarms_survive_an_engine_restart_ended_and_uncleared(tmp_path):
    cfg = config(tmp_path, offline_after_s=0)
    with Catalog(tmp_path / "catalog.db") as catalog:
        first = AlarmDesk(catalog, EventBoard(), 0)
        first.evaluate(health(live("door", state="error", sub=None)), cfg, 1 * S, MONDAY_NOON)
    with Catalog(tmp_path / "catalog.db") as catalog:
        again = AlarmDesk(catalog, EventBoard(), 50 * S)
        (alarm,) = again.current().alarms
        assert alarm.ended_ns == 50 * S and alarm.acked_ns is None


def test_the_stream_carries_alarms_camera_states_and_motion_in_order(tmp_path):
    events = EventBoard()
    with Catalog(tmp_path / "catalog.db") as catalog:
        alarms = AlarmDesk(catalog, events, 0)
        cfg = config(tmp_path, offline_after_s=0)
        alarms.evaluate(health(), cfg, 1 * S, MONDAY_NIGHT)
        start = events.seq
        alarms.evaluate(
            health(live("door", state="error", sub=None), live("yard", motion=True)),
            cfg,
            2 * S,
            MONDAY_NIGHT,
        )
    batch = events.since(start)
    kinds = [
        (e.type, e.camera_id, e.state or (e.alarm.kind if e.alarm else None)) for e in batch.events
    ]
    assert kinds == [
        ("camera", "door", "error"),
        ("motion", "yard", "start"),
        ("alarm", "door", "offline"),
        ("alarm", "yard", "motion"),
    ]
    assert batch.seq == events.seq and not batch.missed
    assert events.since(batch.seq).events == ()
    assert events.since(events.seq + 5).missed  # from another run of the engine


def test_a_reader_that_falls_behind_is_told_it_missed_events():
    events = EventBoard()
    for i in range(KEEP + 10):
        events.publish("camera", i, "door", state="live")
    assert events.since(3).missed
    assert not events.since(events.seq - 5).missed


def test_a_real_engine_raises_alarms_streams_them_and_logs_who_acknowledged(
    engine_factory, rtsp_camera, tmp_path
):
    storage = tmp_path / "storage"
    dead = f"rtsp://127.0.0.1:{free_port()}/main"
    engine = engine_factory(
        f"storage:\n  path: {storage}\n  min_free_bytes: 100MB\n"
        "api:\n  port: 0\nalarms:\n  offline_after_s: 1\n"
        "cameras:\n"
        f"  - {{id: door, name: Front door, main: '{dead}'}}\n"
        f"  - {{id: lobby, main: '{dead}', sub: '{rtsp_camera.url('moving/sub')}'}}\n"
        f"  - id: yard\n    main: {rtsp_camera.url('moving/main')}\n"
        f"    sub: {rtsp_camera.url('moving/sub')}\n    alarms: {{motion: true}}\n"
    )
    engine.start()
    client = EngineClient(engine.api, session_id="tests", token=TOKENS[engine.api])

    def kinds() -> dict[tuple[str, str], Alarm]:
        return {(a.kind, a.camera_id): a for a in client.alarms().alarms}

    wanted = {("offline", "door"), ("not_recording", "lobby"), ("motion", "yard")}
    found = wait_for(lambda: wanted <= kinds().keys() and kinds(), 90, what="three alarms")
    assert "Front door is offline" in found["offline", "door"].message
    assert (
        "lobby is not recording: its main stream is lost" in found["not_recording", "lobby"].message
    )

    batch = client.stream(0)
    raised = {(e.alarm.kind, e.camera_id) for e in batch.events if e.alarm}
    assert wanted <= raised
    assert {("camera", "yard", "live")} <= {(e.type, e.camera_id, e.state) for e in batch.events}
    door = found["offline", "door"]
    with ThreadPoolExecutor(1) as pool:  # held until something happens: the acknowledgement
        later = pool.submit(client.stream, client.stream(0).seq, 20)
        time.sleep(1)
        status, reply = client.command("ack_alarm", **params_by("ann", door.id))
        assert status == 200 and reply.alarms and reply.alarms[0].acked_by == "ann"
        batch = later.result(timeout=25)

    def acks(events) -> list:
        return [e.alarm for e in events if e.alarm and e.alarm.id == door.id]

    # Another event (a motion edge on yard) may have ended the wait first: read on from there.
    events = list(batch.events)
    deadline = time.monotonic() + 20
    while not acks(events) and time.monotonic() < deadline:
        batch = client.stream(batch.seq, 5)
        events += batch.events
    (acked,) = acks(events)
    assert acked.acked_by == "ann"
    status, reply = client.command("clear_alarm", **params_by("ann", door.id))
    assert status == 409 and reply.code == "conflict" and "still active" in (reply.error or "")
    for params, code in (
        ({"alarm_id": "x"}, 400),
        ({"alarm_id": []}, 400),
        ({"alarm_id": [door.id, "x"]}, 400),
        ({"alarm_id": 2**64}, 400),
        ({"alarm_id": door.id, "by": "   "}, 400),
        ({"alarm_id": door.id, "by": "a" * 101}, 400),
        ({"alarm_id": door.id, "by": "ann\n"}, 400),
        ({"alarm_id": 10**9}, 404),
        ({}, 400),
    ):
        assert client.command("ack_alarm", **params)[0] == code, params
    (logged,) = client.alarm_log(camera_id="door")
    assert (logged.id, logged.acked_by, logged.cleared_ns) == (door.id, "ann", None)

    status, body = EngineClient(engine.api).request("GET", "/api/stream?after=0&wait_s=20")
    assert status == 401  # refused at once, not held
    for path in (
        "/api/stream?after=\u00b2",
        "/api/alarms/log?limit=\u00b2",
        "/api/recordings?limit=\uff11",
    ):
        assert client.request("GET", quote(path, safe="/?=&"))[0] == 400, path
    forged = EngineClient(
        engine.api, session_id="mallory\r\nFAKE LOG LINE", token=TOKENS[engine.api]
    )
    status, reply = forged.command("ack_alarm", alarm_id="*")
    assert status == 400 and "ui_session_id" in (reply.error or "")
    body = b'{"command": "ack_alarm", "params": {"alarm_id": ' + b"9" * 5000 + b"}}"
    request = urllib.request.Request(
        engine.api + "/api/command",
        data=body,
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {TOKENS[engine.api]}",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    text = refused.value.read().decode()
    assert refused.value.code == 400 and "thousands of digits" in text and "sys." not in text
    assert engine.stop() == 0


def params_by(by: str, alarm_id: int) -> dict[str, object]:
    return {"alarm_id": alarm_id, "by": by}


def test_the_consoles_alarms_follow_an_engine_restarted_with_a_new_token(engine_factory, tmp_path):
    from gui.link import EngineLink
    from nvr.config import load_config
    from nvr.protocol.client import find_engine

    storage = tmp_path / "storage"
    engine = engine_factory(
        f"storage:\n  path: {storage}\n  min_free_bytes: 100MB\n"
        f"api:\n  port: {free_port()}\nalarms:\n"
        f"  offline_after_s: 0\ncameras:\n  - {{id: door, main: 'rtsp://127.0.0.1:{free_port()}/x'}}\n"
    )
    engine.start()
    config = load_config(engine.config)
    link = EngineLink(find_engine(config), poll_s=0.2, locate=lambda: find_engine(config))
    link.start()
    try:
        wait_for(lambda: link.alarms().known and link.alarms().current, 60, what="the alarm")
        first_token = link.engine.token
        assert engine.stop() == 0
        engine.start()  # same port, new token: /health (no token) never notices
        wait_for(
            lambda: link.engine.token != first_token and link.alarms().known,
            60,
            what="the alarms read again from the restarted engine, no command sent",
        )
    finally:
        link.stop()
    assert engine.stop() == 0
