"""The Playback view's model, without a window: the cursor's clock, transport, zoom, marks,
cameras; and the events list's rows."""

from __future__ import annotations

import time

import pytest

from gui.playback.events import day_start, entries
from gui.playback.library import DayList
from gui.playback.model import (
    MAX_SPAN_NS,
    MIN_SPAN_NS,
    PlaybackModel,
)
from nvr.storage.catalog import Gap, MotionEvent

S = 1_000_000_000
T0 = 1_796_000_000 * S


def model() -> PlaybackModel:
    m = PlaybackModel(now_ns=T0)
    m.toggle_camera("door")
    return m


def test_playing_advances_the_cursor_at_the_speed():
    m = model()
    start = m.cursor_ns
    m.tick(100.0)
    m.tick(101.0)
    assert m.cursor_ns == start  # paused
    m.play_pause()
    m.tick(102.0)
    assert m.cursor_ns == start + S
    m.set_speed(4.0)
    m.tick(102.5)
    assert m.cursor_ns == start + 3 * S
    assert not m.keyframes_only
    m.faster(1)
    assert m.speed == 8.0 and m.keyframes_only
    m.faster(1)
    assert m.speed == 8.0  # the fastest
    m.scrub(T0)
    m.tick(103.5)
    assert m.cursor_ns == T0  # the operator holds it
    m.release(T0 + 5 * S)
    m.tick(104.5)
    assert m.cursor_ns == T0 + 5 * S + 8 * S


def test_the_timeline_follows_a_cursor_that_leaves_it():
    m = model()
    m.window = (T0, T0 + 60 * S)
    m.seek(T0 + 90 * S)
    start, end = m.window
    assert start <= m.cursor_ns < end and end - start == 60 * S


def test_zoom_keeps_the_anchor_in_place_and_stays_in_bounds():
    m = model()
    m.window = (T0, T0 + 100 * S)
    m.zoom(0.5, T0 + 25 * S)
    assert m.window == (T0 + 25 * S - 25 * S // 2, T0 + 25 * S - 25 * S // 2 + 50 * S)
    for _ in range(100):
        m.zoom(0.5, T0)
    assert m.window[1] - m.window[0] == MIN_SPAN_NS
    for _ in range(100):
        m.zoom(2.0, T0)
    assert m.window[1] - m.window[0] == MAX_SPAN_NS


def test_marks_and_jumps():
    m = model()
    m.seek(T0)
    m.mark(False)
    assert not m.marks.complete
    m.jump(10)
    m.mark(True)
    assert m.marks.complete and (m.marks.start_ns, m.marks.end_ns) == (T0, T0 + 10 * S)
    m.jump(-20)
    m.mark(True)  # an end before the start is no range
    assert not m.marks.complete
    starts = [T0 - 5 * S, T0 + 3 * S]  # the cursor is at T0 - 10 s
    assert m.next_event(starts, 1) and m.cursor_ns == T0 - 5 * S
    assert m.next_event(starts, 1) and m.cursor_ns == T0 + 3 * S
    assert not m.next_event(starts, 1)
    assert m.next_event(starts, -1) and m.cursor_ns == T0 - 5 * S
    assert not m.next_event(starts, -1)


def test_go_to_reads_local_time_and_iso_and_refuses_the_rest():
    m = model()
    assert m.go_to("2026-12-05 14:30:05")
    local = time.mktime((2026, 12, 5, 14, 30, 5, 0, 0, -1))
    assert m.cursor_ns == int(local) * S
    assert m.window[0] < m.cursor_ns < m.window[1]
    assert m.go_to("2026-12-05T14:30:05Z") and m.cursor_ns == 1796481005 * S
    assert not m.go_to("yesterday") and "2026-12-05 14:30:00" in m.error


def test_cameras_up_to_four_and_open_from_live():
    m = model()
    for camera_id in ("a", "b", "c"):
        assert m.toggle_camera(camera_id)
    assert not m.toggle_camera("e") and "at most 4" in m.error
    assert m.toggle_camera("door") and m.cameras == ["a", "b", "c"]
    m.open("e", T0)
    assert m.cameras == ["a", "b", "c", "e"] and m.selected == "e"
    assert m.playing and m.speed == 1.0 and m.cursor_ns == T0
    m.open("f", T0)  # no room: shown alone
    assert m.cameras == ["f"]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("motion", ["12:00:30", "12:00:00"]),
        ("gaps", ["12:00:10"]),
        ("all", ["12:00:30", "12:00:10", "12:00:00"]),
    ],
)
def test_events_list_rows(kind, expected):
    noon = day_start(T0) + 12 * 3600 * S
    day = DayList(
        "door",
        day_start(T0),
        day_start(T0) + 86400 * S,
        [
            MotionEvent(2, 1, "door", noon + 30 * S, None, 0.0, (), None),
            MotionEvent(1, 1, "door", noon, noon + 8 * S, 0.42, (), "x.jpg"),
        ],
        [
            Gap(
                1,
                "door",
                noon + 10 * S,
                noon + 15 * S,
                "door/main: no data from the camera",
                "stream_lost",
            )
        ],
    )
    rows = entries(day, kind)
    assert [r.text[:8] for r in rows] == expected
    texts = {r.text for r in rows}
    if kind != "gaps":
        assert "12:00:00  motion  8 s  42%" in texts and "12:00:30  motion  going on" in texts
    if kind != "motion":
        assert "12:00:10  gap  5 s: door/main: no data from the camera" in texts
