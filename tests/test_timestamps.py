"""Camera streams that lie: timestamps validated, not patched (missing, non-monotonic,
jumping, a clock that runs fast or slow), and a camera that answers nothing."""

from __future__ import annotations

import socket
import threading
import time
from fractions import Fraction

import av
import pytest

from nvr.errors import StreamError
from nvr.worker import source
from nvr.worker.source import DRIFT_BOUND_S, DRIFT_HOLD_S, CaptureClock, ClockDrift, validate

TB = Fraction(1, 90000)
FRAME = 6000  # 15 fps in 90 kHz ticks


def packet(dts: int | None, pts: int | None = None, key: bool = False) -> av.Packet:
    p = av.Packet(b"\x00\x00\x00\x01\x65data")
    p.dts, p.pts = dts, dts if pts is None else pts
    p.is_keyframe = key
    return p


def run(dts_list: list[int | None]) -> list:
    return list(validate((packet(d) for d in dts_list), TB, threading.Event(), "cam/main"))


def test_missing_and_non_increasing_dts_are_dropped():
    out = run([0, FRAME, None, 2 * FRAME, 2 * FRAME, FRAME + 10, 3 * FRAME])
    assert [tp.dts for tp in out] == [0, FRAME, 2 * FRAME, 3 * FRAME]
    assert all(tp.discontinuity is None for tp in out)


def test_forward_jump_and_clock_reset_are_discontinuities_with_causes():
    jump = 3 * FRAME + 15 * 90000  # 15 s forward
    reset = 1000  # the camera rebooted its clock
    out = run([0, FRAME, 2 * FRAME, jump, jump + FRAME, reset, reset + FRAME])
    breaks = [tp.discontinuity for tp in out]
    assert [b is not None for b in breaks] == [False, False, False, True, False, True, False]
    jumped, went_back = breaks[3], breaks[5]
    assert jumped is not None and went_back is not None
    assert jumped.cause == "timestamps jumped 15.1 s forward"
    assert went_back.cause == "timestamps went back 15.3 s (clock reset)"
    for i in (3, 5):  # a burst: no capture time was lost, the gap is (nearly) empty
        since_ns = breaks[i].since_ns  # type: ignore[union-attr]
        assert out[i - 1].wall_ns < since_ns <= out[i].wall_ns
        assert not breaks[i].same_clock  # type: ignore[union-attr]


def test_a_stall_with_continuous_timestamps_is_a_gap_from_the_last_frame(monkeypatch):
    monkeypatch.setattr(source, "MAX_STALL_S", 0.3)

    def stalled():
        for i in range(10):
            if i == 5:
                time.sleep(0.6)  # the camera stalls, then resumes on the same clock
            yield packet(i * FRAME)

    out = list(validate(stalled(), TB, threading.Event(), "cam/main"))
    assert [tp.discontinuity is not None for tp in out] == [i == 5 for i in range(10)]
    broke = out[5].discontinuity
    assert broke is not None and broke.cause.startswith("media clock fell")
    assert broke.since_ns == out[4].wall_ns + FRAME * 1_000_000_000 // 90000
    assert 0.4e9 < out[5].wall_ns - broke.since_ns < 5e9  # the stall, without the last frame


def test_capture_times_never_run_ahead_of_arrival_and_keep_media_spacing():
    before = time.time_ns()
    out = run([i * FRAME for i in range(30)])  # a burst: all arrive "now"
    after = time.time_ns()
    assert all(before <= tp.wall_ns <= after for tp in out)
    steps = {b.wall_ns - a.wall_ns for a, b in zip(out, out[1:], strict=False)}
    assert max(steps) < 5_000_000  # compressed to arrival, never in the future


def clocked(rate: float, seconds: float, start_ns: int = 10**18, burst_s: float = 0.0):
    """(arrival, pts) of a 15 fps camera whose clock runs at ``rate`` x real time; the first
    ``burst_s`` of media arrive at once (buffered while the stream was probed)."""
    frames = int(seconds * 15)
    for i in range(frames):
        media_s = i / 15 * rate
        arrival_s = max(i / 15, burst_s)
        yield start_ns + int(arrival_s * 1e9), round(media_s * 90000)


def stamp_all(clock: CaptureClock, packets) -> tuple[list[tuple[int, int]], list[ClockDrift]]:
    """(arrival, capture time) per packet, and the drifts reported; no packet may stall."""
    stamped, drifts = [], []
    for arrival, pts in packets:
        assert clock.stall(pts, arrival) is None
        wall, drift = clock.stamp(pts, arrival)
        stamped.append((arrival, wall))
        drifts += [drift] if drift else []
    return stamped, drifts


@pytest.mark.parametrize("rate", [2.0, 0.5, 1.05, 0.95])
def test_a_clock_running_fast_or_slow_is_drift_kept_near_arrival_and_reported_once(rate):
    """Media time running ahead of or behind the wall clock never dates a packet after its
    arrival or more than the bound (plus the hold, for a slow clock) before it, is never a
    stall, and is reported once with its rate."""
    clock = CaptureClock(TB)
    stamped, drifts = stamp_all(clock, clocked(rate, 240))
    lag_bound_s = DRIFT_BOUND_S + DRIFT_HOLD_S * max(0.0, 1 - rate) + 0.1
    for arrival, wall in stamped:
        assert 0 <= arrival - wall <= lag_bound_s * 1e9, (arrival - wall) / 1e9
    assert [round(d.rate, 2) for d in drifts] == [rate]
    assert clock.era > 3  # re-anchored again and again, never a new segment
    assert "fast" in drifts[0].describe() if rate > 1 else "slow" in drifts[0].describe()


def test_a_clock_set_right_is_no_longer_reported_off():
    """2x for a minute, then right (continuing smoothly): the drift is reported, then cleared
    once an era has lasted CLOCK_OK_S; a clock reset clears it at once."""
    clock = CaptureClock(TB)
    start_ns = 10**18
    fast = list(clocked(2.0, 60, start_ns))
    last_arrival, last_pts = fast[-1]
    right = [(last_arrival + a - start_ns, last_pts + p) for a, p in clocked(1.0, 200, start_ns)]
    rates = []
    for arrival, pts in fast + right:
        clock.stamp(pts, arrival)
        rates.append(clock.off_rate)
    assert rates[len(fast) - 1] == pytest.approx(2.0, rel=0.1)
    cleared = rates.index(None, len(fast))
    assert (cleared - len(fast)) / 15 == pytest.approx(source.CLOCK_OK_S, abs=5)
    assert rates[-1] is None
    clock = CaptureClock(TB)
    stamp_all(clock, clocked(2.0, 60, start_ns))
    assert clock.off_rate is not None
    clock.restart()
    assert clock.off_rate is None


def test_a_true_clock_with_a_start_up_burst_and_a_hiccup_keeps_one_era():
    """The probe's burst and a network hiccup that catches up are not drift: capture times
    keep media spacing in one era, and nothing is reported."""
    packets = list(clocked(1.0, 120, burst_s=1.5))
    hiccup = [(a + int(1.2e9), p) if 900 <= i < 915 else (a, p) for i, (a, p) in enumerate(packets)]
    clock = CaptureClock(TB)
    stamped, drifts = stamp_all(clock, hiccup)
    assert drifts == [] and clock.era == 1
    walls = [w for _, w in stamped]
    steps = {b - a for a, b in zip(walls[30:], walls[31:], strict=False)}  # after the burst
    assert max(steps) - min(steps) < 1000, steps  # rounding only: media spacing, hiccup or not


def test_stop_ends_the_stream_at_once():
    stop = threading.Event()
    stop.set()
    assert list(validate((packet(i * FRAME) for i in range(5)), TB, stop, "cam")) == []


def test_a_camera_that_accepts_the_connection_and_says_nothing_is_named_so():
    """A frozen camera's port still accepts connections (the kernel does); nothing answers."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        stream = source.StreamSource(f"rtsp://127.0.0.1:{port}/main", label="door/main")
        with pytest.raises(StreamError, match="accepted the connection but sent no stream"):
            stream.open()
