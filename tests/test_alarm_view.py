"""What the console says about alarms, without a window: list and log rows, the status field,
each tile's alarm and mode, what is news, and the sound's player."""

from __future__ import annotations

import time
import wave

from gui.alarms.model import NewAlarms, alarm_row, camera_alarms, summary
from gui.alarms.sound import REPEAT_S, Sounder, player_command
from gui.present import mode_label, tile_info
from nvr.protocol.alarms import Alarm
from nvr.protocol.health import CameraStatus

NOW = time.time_ns()
S = 1_000_000_000
NAMES = {"door": "Front door"}


def alarm(**values: object) -> Alarm:
    base = {"id": 1, "kind": "offline", "camera_id": "door", "message": "Front door is offline"}
    return Alarm(**{**base, "raised_ns": NOW - 60 * S, **values})  # type: ignore[arg-type]


def test_a_row_says_what_happened_whether_it_lasts_and_who_acknowledged_it():
    row = alarm_row(alarm(), NAMES, NOW)
    assert (row.camera, row.title, row.state) == (
        "Front door",
        "Offline",
        "ACTIVE, NOT ACKNOWLEDGED",
    )
    assert row.urgent and row.can_ack and not row.can_clear
    acked = alarm_row(alarm(acked_ns=NOW, acked_by="ann", ended_ns=NOW, count=3), NAMES, NOW)
    stamp = time.strftime("%H:%M:%S", time.localtime(NOW / 1e9))
    assert acked.state == f"ended {stamp}, acknowledged {stamp} by ann"
    assert acked.title == "Offline (x3)" and acked.can_clear and not acked.can_ack
    storage = alarm_row(alarm(kind="storage_low", camera_id=""), NAMES, NOW)
    assert (storage.camera, storage.title) == ("Engine", "Storage low")
    old = alarm_row(alarm(raised_ns=NOW - 3 * 86400 * S), NAMES, NOW)
    assert len(old.raised.split()) == 3  # "Dec 02 14:03": another day shows its date


def test_the_status_field_is_urgent_until_every_alarm_is_acknowledged():
    assert summary([], known=True).level == "none"
    assert summary([alarm()], known=False).text == "Alarms: ?"
    urgent = summary([alarm(), alarm(id=2, acked_ns=NOW)], known=True)
    assert (urgent.text, urgent.level) == ("! 1 ALARM", "urgent")
    assert "Front door is offline" in urgent.detail
    calm = summary([alarm(acked_ns=NOW)], known=True)
    assert (calm.text, calm.level) == ("Alarms: 1 active, acknowledged", "acknowledged")


def test_a_tile_shows_its_most_urgent_alarm_and_its_mode():
    shown = camera_alarms(
        [
            alarm(id=1, acked_ns=NOW),
            alarm(id=2, kind="motion", raised_ns=NOW - S),
            alarm(id=3, camera_id="", kind="storage_low"),
            alarm(id=4, camera_id="yard", acked_ns=NOW, ended_ns=NOW),  # over and seen
        ]
    )
    assert {k: a.id for k, a in shown.items()} == {"door": 2}
    cam = CameraStatus(id="door", state="live", mode="motion", armed=False)
    info = tile_info(
        cam,
        "door",
        engine_error=None,
        frame_age_s=0.1,
        fps=15,
        motion=False,
        pending=None,
        alarm=shown["door"],
    )
    assert (info.mode, info.alarm, info.alarm_urgent) == (
        "REC MODE: ON MOTION, OFF-WINDOW",
        "ALARM Motion",
        True,
    )
    modes = [
        mode_label(CameraStatus(id="d", mode=m, armed=a, motion_alarm=alarm))
        for m, a, alarm in (
            ("continuous", True, False),
            ("motion", True, True),
            ("scheduled", False, False),
            ("scheduled", True, False),
            ("off", True, False),
        )
    ]
    assert modes == [
        "REC MODE: CONTINUOUS",
        "REC MODE: ON MOTION · MOTION ALARM ON",
        "REC MODE: SCHEDULED, OFF-WINDOW",
        "REC MODE: SCHEDULED",
        "REC MODE: OFF",
    ]
    ended = tile_info(
        cam,
        "door",
        engine_error=None,
        frame_age_s=0.1,
        fps=15,
        motion=False,
        pending=None,
        alarm=alarm(ended_ns=NOW),
    )
    assert ended.alarm == "ALARM Offline (ended)" and ended.alarm_urgent
    offline = tile_info(
        cam, "door", engine_error="gone", frame_age_s=None, fps=0, motion=False, pending=None
    )
    assert offline.mode == "" and offline.alarm is None


def test_news_is_an_alarm_raised_or_back_again_not_yet_acknowledged():
    news = NewAlarms()
    assert [a.id for a in news.take([alarm(), alarm(id=2, acked_ns=NOW)])] == [1]
    assert news.take([alarm()]) == []
    assert [a.id for a in news.take([alarm(count=2)])] == [1]  # it came back


def test_the_sound_plays_a_real_tone_through_the_player_at_most_every_few_seconds(tmp_path):
    sounder = Sounder(player_command(f"cp -t {tmp_path}"))
    sounder.ring(100.0)
    sounder.ring(101.0)
    deadline = time.monotonic() + 10
    while not (tmp_path / "alarm.wav").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sounder.played == 1
    with wave.open(str(tmp_path / "alarm.wav")) as tone:
        assert tone.getnchannels() == 1 and tone.getnframes() > 5000
    time.sleep(0.5)
    sounder.ring(100.0 + REPEAT_S)
    assert sounder.played == 2
    sounder.close()
    assert player_command("off") is None
    broken = Sounder(["/nonexistent/player"])
    broken.ring(0.0)
    assert broken.command is None  # visual only from now on, said once in the log
    broken.close()


def test_a_cleared_alarm_in_the_log_still_says_who_acknowledged_it():
    row = alarm_row(
        alarm(ended_ns=NOW, acked_ns=NOW, acked_by="bob", cleared_ns=NOW, cleared_by="carol"),
        NAMES,
        NOW,
    )
    assert "acknowledged" in row.state and "by bob" in row.state and "by carol" in row.state
    assert not row.can_ack and not row.can_clear and not row.urgent
