"""Open one camera stream with PyAV and yield validated, wall-clock-stamped video packets.

Timestamps are validated, not patched: packets without a dts or with a dts that does not
increase are dropped; a jump larger than ``MAX_DTS_JUMP_S`` forward or ``MAX_DTS_BACK_S``
back (a camera that restarted its clock) marks a discontinuity (the recorder starts a new
segment, the wall-clock anchor is reset, and the break is cataloged as a gap with its cause).
New codec parameters in-band (a resolution switch, see ``params``) are a discontinuity too,
one that loses no time. A stream that ends -- PyAV ends a dropped RTSP connection silently --
or times out raises ``StreamError``.

Capture time (``CaptureClock``): a packet cannot arrive before it was captured, so the wall
time of the media clock's zero is the smallest ``arrival - media time`` seen so far. It settles
once the burst of packets buffered while the stream was probed is consumed, and never dates a
packet later than its arrival. Cameras lie about their clock rate, so that anchor is kept within
``DRIFT_BOUND_S`` of arrival: a clock running fast pulls it down as media time outruns the wall
clock; one running slow falls behind until it is re-anchored at arrival (once the lag has held
for ``DRIFT_HOLD_S``, so a network hiccup that catches up is not taken for drift). Each
re-anchor starts a new ``era``; a rate off by more than ``RATE_TOLERANCE`` in two eras running is
reported as ``ClockDrift``, and is ``off_rate`` until an era has lasted ``CLOCK_OK_S`` (the clock
was set right) or the clock is reset. Steady drift never breaks the stream. Wall time passing
``MAX_STALL_S`` more than media time between two packets (a stream that stalled and resumed with
continuous timestamps) is a discontinuity.

A ``file:`` URL or plain path is played as a camera: looped forever, paced in real time, with
timestamps continued across loops (the demo's synthetic cameras).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from urllib.parse import urlparse

import av

from nvr.errors import StreamError
from nvr.redact import redact_url
from nvr.worker.params import ParamWatch, StreamParams

log = logging.getLogger(__name__)

MAX_DTS_JUMP_S = 10.0  # a larger forward jump between packets is a discontinuity
MAX_DTS_BACK_S = 1.0  # a larger step back is a discontinuity; a smaller one drops the packet
MAX_STALL_S = 10.0  # wall time passing this much more than media time between two packets
DRIFT_BOUND_S = 1.0  # capture times are kept this close to arrival
DRIFT_HOLD_S = 2.0  # ... once a lag beyond the bound has lasted this long
SETTLE_S = 1.0  # the anchor's first refinements (the probe's burst, all at once): not drift
RATE_TOLERANCE = 1 / 60  # a clock off by more than a second a minute is reported
CLOCK_OK_S = 120.0  # ... until it has kept one era this long
OPEN_TIMEOUT_S = 10.0
PACE_SLICE_S = 0.1  # a file replayed in real time sleeps at most this long between stop checks


@dataclass(frozen=True, slots=True)
class Discontinuity:
    """The stream broke just before a packet: why, and since when nothing was captured."""

    cause: str
    since_ns: int  # end of the last packet before the break; the packet's own time if none lost
    same_clock: bool = False  # timestamps continue across it (new codec parameters only)

    def followed_by(self, cause: str) -> Discontinuity:
        """One break for two in a row (before the keyframe that ends this one): both causes,
        from this one's start."""
        return Discontinuity(f"{self.cause}; {cause}", self.since_ns)


@dataclass(slots=True)
class TimedPacket:
    """A demuxed packet with its original timestamps and the wall time it was captured."""

    packet: av.Packet
    pts: int
    dts: int
    wall_ns: int
    keyframe: bool
    size: int
    discontinuity: Discontinuity | None = None  # the stream broke before it: new segment
    params: StreamParams | None = None  # codec parameters in force from this keyframe on
    era: int = 0  # capture times within one era map linearly to media time (``CaptureClock``)
    drift: ClockDrift | None = None  # the camera's clock rate was found off just now
    clock_rate: float | None = None  # the camera's clock rate while it is off (``CaptureClock``)


def is_file_source(url: str) -> bool:
    """True for a local file (path or ``file:`` URL), played as a looping camera."""
    scheme = urlparse(url).scheme
    return scheme in ("", "file") or len(scheme) == 1  # a Windows drive letter is no scheme


def _file_path(url: str) -> Path:
    return Path(urlparse(url).path) if url.startswith("file:") else Path(url)


class StreamSource:
    """One video stream of a camera: open, iterate packets, close. Not thread-safe."""

    def __init__(
        self,
        url: str,
        *,
        transport: str = "tcp",
        timeout_s: float = 5.0,
        label: str = "",
        open_timeout_s: float = 0.0,  # 0: OPEN_TIMEOUT_S
    ) -> None:
        self.url = url
        self.open_timeout_s = open_timeout_s or OPEN_TIMEOUT_S
        self.transport = transport
        self.timeout_s = timeout_s
        self.label = label or redact_url(url)
        self.container: av.container.InputContainer | None = None
        self.stream: av.video.stream.VideoStream | None = None
        self._loop = is_file_source(url)

    def open(self) -> None:
        """Connect; raises ``StreamError`` naming the cause (unreachable, refused, no video)."""
        try:
            if self._loop:
                path = _file_path(self.url)
                if not path.is_file():
                    raise StreamError(f"{self.label}: file {path} does not exist")
                self.container = av.open(str(path))
            else:
                options = {"rtsp_transport": self.transport, "max_delay": "500000"}
                # PyAV's read timeout fires after twice its value (measured): halve it so a
                # silent camera is detected after timeout_s.
                self.container = av.open(
                    self.url, options=options, timeout=(self.open_timeout_s, self.timeout_s / 2)
                )
        except StreamError:
            raise
        except av.error.InvalidDataError as err:  # an RTSP server that never answered
            raise StreamError(
                f"{self.label}: the camera accepted the connection but sent no stream within "
                f"{self.open_timeout_s:g} s (frozen or overloaded?); retrying"
            ) from err
        except (av.error.FFmpegError, OSError) as err:
            raise StreamError(f"{self.label}: cannot open stream: {_describe(err)}") from err
        if not self.container.streams.video:
            self.close()
            raise StreamError(f"{self.label}: the stream has no video track")
        self.stream = self.container.streams.video[0]

    def close(self) -> None:
        if self.container is not None:
            try:
                self.container.close()
            except (av.error.FFmpegError, OSError):
                log.debug("%s: error while closing", self.label, exc_info=True)
        self.container = None
        self.stream = None

    def packets(self, stop: threading.Event) -> Iterator[TimedPacket]:
        """Validated packets until ``stop`` is set; raises ``StreamError`` when the stream ends."""
        assert self.container is not None and self.stream is not None
        raw = self._looped_raw(stop) if self._loop else self._demux()
        tb = self.stream.time_base or Fraction(1, 90000)
        timed = validate(raw, tb, stop, self.label)
        watch = ParamWatch.for_stream(self.stream, self.label)
        yield from (timed if watch is None else track_params(timed, watch, self.label))
        if not stop.is_set():
            raise StreamError(f"{self.label}: stream ended (connection dropped or camera silent)")

    def _demux(self) -> Iterator[av.Packet]:
        assert self.container is not None
        try:
            yield from self.container.demux(self.stream)
        except av.error.ExitError as err:  # PyAV's read timeout interrupts the demuxer
            raise StreamError(
                f"{self.label}: no data from the camera for {self.timeout_s:g} s"
            ) from err
        except (av.error.FFmpegError, OSError) as err:
            raise StreamError(f"{self.label}: stream lost: {_describe(err)}") from err

    def _looped_raw(self, stop: threading.Event) -> Iterator[av.Packet]:
        """Replay the file forever in real time, continuing timestamps across loops."""
        assert self.container is not None and self.stream is not None
        tb = self.stream.time_base or Fraction(1, 90000)
        offset = 0
        start_mono = time.monotonic()
        first: int | None = None
        while not stop.is_set():
            last_end = offset
            for packet in self.container.demux(self.stream):
                if packet.dts is None:
                    continue
                if first is None:
                    first = packet.dts
                step = packet.duration or 0
                packet.dts = packet.dts - first + offset
                packet.pts = (packet.pts - first + offset) if packet.pts is not None else None
                due = start_mono + float(packet.dts * tb)
                # A plain sleep costs a third less CPU than ``stop.wait`` (a new lock per call),
                # and a stop still ends it within PACE_SLICE_S.
                while (delay := due - time.monotonic()) > 0:
                    time.sleep(min(delay, PACE_SLICE_S))
                    if stop.is_set():
                        return
                last_end = max(last_end, packet.dts + step, (packet.pts or 0) + step)
                yield packet
            offset = last_end
            self.container.seek(0, stream=self.stream)


def validate(
    raw: Iterable[av.Packet], tb: Fraction, stop: threading.Event, label: str
) -> Iterator[TimedPacket]:
    """Drop packets with bad timestamps, mark discontinuities, stamp capture times.

    Ends when ``raw`` ends or ``stop`` is set (see the module docstring for the rules).
    """
    max_jump = int(MAX_DTS_JUMP_S / tb)
    max_back = int(MAX_DTS_BACK_S / tb)
    clock = CaptureClock(tb)
    last_dts: int | None = None
    step_ns = 0  # the last regular dts step: how long the newest packet lasts
    latest_ns = 0  # the latest capture time so far
    cause: str | None = None  # why the stream broke before this packet
    for packet in raw:
        if stop.is_set():
            return
        dts = packet.dts
        if dts is None or packet.size == 0:
            continue
        if last_dts is not None:
            if last_dts - dts > max_back:
                cause = f"timestamps went back {float((last_dts - dts) * tb):.1f} s (clock reset)"
            elif dts <= last_dts:
                log.debug("%s: dropped packet with non-increasing dts %s", label, dts)
                continue
            elif dts - last_dts > max_jump:
                cause = f"timestamps jumped {float((dts - last_dts) * tb):.1f} s forward"
            else:
                step_ns = int((dts - last_dts) * tb * 1_000_000_000)
        pts = packet.pts if packet.pts is not None else dts
        now_ns = time.time_ns()
        cause = cause or clock.stall(pts, now_ns)
        if cause is not None:
            log.warning("%s: %s", label, cause)
            clock.restart()
        wall_ns, drift = clock.stamp(pts, now_ns)
        if drift is not None:
            log.warning("%s: %s", label, drift.describe())
        broke = None
        if cause is not None:
            broke = Discontinuity(cause, min(latest_ns + step_ns, wall_ns))
            latest_ns, cause = wall_ns, None
        last_dts, latest_ns = dts, max(latest_ns, wall_ns)
        yield TimedPacket(
            packet,
            pts,
            dts,
            wall_ns,
            bool(packet.is_keyframe),
            packet.size,
            broke,
            era=clock.era,
            drift=drift,
            clock_rate=clock.off_rate,
        )


@dataclass(frozen=True, slots=True)
class ClockDrift:
    """The camera's clock runs at ``rate`` media seconds per wall second."""

    rate: float

    def describe(self) -> str:
        pace = "fast" if self.rate > 1 else "slow"
        return (
            f"camera clock runs {pace}: {self.rate:.2f}x real time; capture times follow "
            "arrival (set the camera's clock, or its NTP server)"
        )


class CaptureClock:
    """Wall-clock capture times for one stream's media times (rules in the module docstring)."""

    def __init__(self, tb: Fraction) -> None:
        self._ns_per_tick = (tb.numerator * 1_000_000_000, tb.denominator)
        self.era = 0  # a new era at every re-anchor: within one, media maps to wall time as is
        self._origin: int | None = None  # pts at the media clock's zero
        self._offset_ns = 0  # wall time of media zero
        self._last = (0, 0)  # (arrival, media time) of the last packet
        self._era_start = (0, 0, 0)  # (arrival, media time, offset) where the era began
        self._settled = False  # past SETTLE_S into the era: refinements are drift from now on
        self._lag_since: int | None = None  # arrival since which capture trails beyond the bound
        self._rate: float | None = None  # media/wall rate of the last era that ended
        self.off_rate: float | None = None  # the rate reported as drift, while it lasts

    def restart(self) -> None:
        """A discontinuity: the next packet anchors a new media clock (a reset clock may be
        right now: a drift is measured and reported afresh)."""
        self._origin = None
        self.off_rate = self._rate = None

    def stall(self, pts: int, now_ns: int) -> str | None:
        """Why the stream stalled before this packet (wall time ran on, media time did not)."""
        if self._origin is None:
            return None
        arrival, media = self._last
        excess_ns = (now_ns - arrival) - (self._media_ns(pts) - media)
        if excess_ns <= MAX_STALL_S * 1e9:
            return None
        return f"media clock fell {excess_ns / 1e9:.1f} s behind the wall clock (stall)"

    def stamp(self, pts: int, now_ns: int) -> tuple[int, ClockDrift | None]:
        """The packet's capture time, and a clock drift newly found (reported once per rate)."""
        if self._origin is None:
            self._origin, self._offset_ns, self._settled = pts, now_ns, False
            self._new_era(now_ns, 0)
        media_ns = self._media_ns(pts)
        self._last = (now_ns, media_ns)
        arrival_offset = now_ns - media_ns
        self._offset_ns = min(self._offset_ns, arrival_offset)
        if not self._settled and now_ns - self._era_start[0] >= SETTLE_S * 1e9:
            self._settled = True
            self._era_start = (now_ns, media_ns, self._offset_ns)
        drift = None
        if self._settled and self._era_start[2] - self._offset_ns > DRIFT_BOUND_S * 1e9:
            drift = self._reanchor(now_ns, media_ns)  # media time ran ahead of the wall clock
        elif arrival_offset - self._offset_ns > DRIFT_BOUND_S * 1e9:
            if self._lag_since is None:
                self._lag_since = now_ns
            elif now_ns - self._lag_since >= DRIFT_HOLD_S * 1e9:
                self._offset_ns = arrival_offset  # media time fell behind: capture at arrival
                drift = self._reanchor(now_ns, media_ns)
        else:
            self._lag_since = None
        if self.off_rate is not None and now_ns - self._era_start[0] > CLOCK_OK_S * 1e9:
            self.off_rate = self._rate = None  # no re-anchor for so long: the clock is right
        return media_ns + self._offset_ns, drift

    def _media_ns(self, pts: int) -> int:
        assert self._origin is not None
        return (pts - self._origin) * self._ns_per_tick[0] // self._ns_per_tick[1]

    def _new_era(self, now_ns: int, media_ns: int) -> None:
        self.era += 1
        self._era_start = (now_ns, media_ns, self._offset_ns)
        self._lag_since = None

    def _reanchor(self, now_ns: int, media_ns: int) -> ClockDrift | None:
        """Start a new era; the drift if the last two eras agree the rate is off."""
        arrival, media, _ = self._era_start
        rate = (media_ns - media) / max(1, now_ns - arrival)
        self._new_era(now_ns, media_ns)
        previous, self._rate = self._rate, rate
        if abs(rate - 1) <= RATE_TOLERANCE or not _close(rate, previous):
            return None  # in tolerance, or one era alone (a hiccup): not a clock's rate
        if _close(rate, self.off_rate):
            return None  # already reported
        self.off_rate = rate
        return ClockDrift(round(rate, 2))


def _close(rate: float, other: float | None) -> bool:
    """Within 10 % of ``other``."""
    return other is not None and abs(rate - other) <= 0.1 * other


def track_params(
    timed: Iterable[TimedPacket], watch: ParamWatch, label: str
) -> Iterator[TimedPacket]:
    """Set ``params`` on keyframes whose in-band parameter sets change.

    The first keyframe's sets replace the SDP's silently (nothing was written yet); a later
    change is a discontinuity on the same clock: no time is lost.
    """
    first_keyframe = True
    for tp in timed:
        if tp.keyframe:
            old = watch.current
            tp.params = watch.check(bytes(tp.packet))
            if tp.params is not None and not first_keyframe:
                new = tp.params
                change = (
                    f"stream parameters changed: {old.describe()} -> {new.describe()}"
                    if old.describe() != new.describe()
                    else f"stream parameters changed: new parameter sets, {new.describe()}"
                )
                log.warning("%s: %s", label, change)
                broke = tp.discontinuity
                tp.discontinuity = (
                    broke.followed_by(change)
                    if broke
                    else Discontinuity(change, tp.wall_ns, same_clock=True)
                )
            first_keyframe = False
        yield tp


def _describe(err: BaseException) -> str:
    """A short cause for a PyAV/OS error, with credentials removed."""
    text = getattr(err, "strerror", None) or str(err)
    return redact_url(str(text))
