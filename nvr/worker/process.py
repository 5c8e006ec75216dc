"""The camera worker process: one per camera, isolated from the others.

Threads (all in this process):
- main: demux the main stream and hand packets to the recorder (stream copy, never decoded
  unless the camera has no sub stream);
- sub: decode the sub stream into the shared-memory ring and run motion detection;
- control: receive supervisor commands (manual/panic recording, stop) and acknowledge them;
- heartbeat: report health every second.

A lost stream (error, timeout, or PyAV's silent end of demux) closes the open segment and
reconnects with capped exponential backoff; the supervisor restarts the whole process if it
dies or stops reporting. A stream that breaks without disconnecting (broken timestamps, a
resolution switch) starts a new segment and is reported for the catalog as a gap with its cause.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path

from nvr.config import CameraConfig
from nvr.errors import StreamError
from nvr.logs import setup_logging
from nvr.protocol.health import StreamStatus
from nvr.protocol.worker import (
    Ack,
    ClockDrifting,
    Heartbeat,
    MotionEnded,
    MotionStarted,
    PtzReply,
    PtzRequest,
    SetRecording,
    StopWorker,
    StreamDiscontinuity,
    StreamDown,
    StreamUp,
    UpdateCamera,
    WatchMain,
)
from nvr.storage import thumbnails
from nvr.storage.thumbnails import event_thumbnail
from nvr.worker.decodable import DecodeCheck, JudgeDecoder, decode, malformed
from nvr.worker.frames import FrameSink
from nvr.worker.live import LivePackets
from nvr.worker.mainview import MainView
from nvr.worker.memory import map_large_blocks
from nvr.worker.ptz import PtzDriver
from nvr.worker.recorder import REASON_PRIORITY, Recorder
from nvr.worker.source import Discontinuity, StreamSource, TimedPacket

log = logging.getLogger(__name__)

HEARTBEAT_S = 1.0
ACK_WAIT_S = 1.5  # the most a recording request waits for the recorder (desk gives up at 2 s)
RECONNECT_DELAYS_S = (0.5, 1.0, 2.0, 4.0)  # then the last value, until the stream comes back
RECONNECT_STABLE_S = 30.0  # a connection that lasted this long resets the reconnect backoff
DOUBT_EVERY_S = 30.0  # a broken main stream is re-judged (decoded) at most this often
JUDGE_HOLD_S = 10.0  # the most video kept while a new connection's video is judged


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """Everything a worker needs, picklable for the forkserver."""

    camera: CameraConfig
    storage_root: str
    ring_name: str
    log_dir: str | None
    log_level: str
    keep_days: int
    manual: bool
    panic: bool


class Channel:
    """The worker's end of the supervisor pipe; sends are serialised across threads."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._lock = threading.Lock()

    def send(self, message: object) -> None:
        # A gone supervisor (broken pipe) is ignored: the worker is about to be stopped anyway.
        with self._lock, contextlib.suppress(BrokenPipeError, OSError):
            self.conn.send(message)


class StreamCounter:
    """Packet, byte and decoded-picture counts, turned into rates once per heartbeat."""

    def __init__(self) -> None:
        self.count = 0
        self.bytes = 0
        self.decoded = 0  # pictures decoded into the ring (the analysis stream)
        self.last_mono: float | None = None
        self.connected = False
        self.width = self.height = 0
        self.codec = ""
        self.error: str | None = None  # the stream's video does not decode (``DecodeCheck``)
        self.clock_rate: float | None = None  # the camera's clock rate, when found off
        self._window_start = time.monotonic()

    def set_params(self, codec: str, width: int, height: int) -> None:
        self.codec, self.width, self.height = codec, width, height

    def add(self, size: int) -> None:
        self.count += 1
        self.bytes += size
        self.last_mono = time.monotonic()

    def snapshot(self) -> StreamStatus:
        now = time.monotonic()
        span = max(1e-3, now - self._window_start)
        stats = StreamStatus(
            connected=self.connected,
            fps=round(self.count / span, 2),
            bitrate_bps=round(self.bytes * 8 / span, 1),
            last_age_s=None if self.last_mono is None else round(now - self.last_mono, 3),
            width=self.width,
            height=self.height,
            codec=self.codec,
            error=self.error,
            clock_rate=self.clock_rate,
            decoded_fps=round(self.decoded / span, 2),
        )
        self.count = self.bytes = self.decoded = 0
        self._window_start = now
        return stats


SNAPSHOT_SLACK_NS = 2_000_000_000  # a thumbnail's picture is at most this much older


class CameraWorker:
    """Runs one camera until told to stop."""

    def __init__(self, spec: WorkerSpec, channel: Channel) -> None:
        self.spec = spec
        self.cam: CameraConfig = spec.camera
        self.channel = channel
        self.stop = threading.Event()
        self.manual = spec.manual
        self.panic = spec.panic
        self.state = "starting"
        self.error: str | None = None
        self.main_stats = StreamCounter()
        self.sub_stats = StreamCounter() if self.cam.sub else None
        self._streams = (StreamStatus(), StreamStatus() if self.cam.sub else None)
        self.asserted: deque[str] = deque()  # reasons turned on (control thread -> main)
        # Recording requests to acknowledge once the recorder has acted on them (control ->
        # main): the heartbeat sent with the Ack then shows the recording as it is.
        self.acks_due: deque[int] = deque()
        self._ack_lock = threading.Lock()
        self._acks_since: float | None = None  # monotonic: since when requests wait
        self.loop_mono = time.monotonic()
        self.motion_starts = 0
        self.last_motion_end_ns = 0
        self.recordings = Path(spec.storage_root) / "recordings"
        self.recorder = Recorder(
            self.cam.id,
            self.recordings,
            self.cam.record.pre_roll_s,
            self.cam.record.segment_s,
            channel.send,
            snapshot=self._snapshot,
        )
        self.sink = FrameSink(
            spec.ring_name, self.cam.motion, self._motion_started, self._motion_ended
        )
        self.main_view = MainView(spec.ring_name + "_m", f"{self.cam.id}/main")
        self.live_main = LivePackets(spec.ring_name, "main")
        self.live_sub = LivePackets(spec.ring_name, "sub") if self.cam.sub else None
        self._schedule_cache = (0, False)
        self.ptz = self._ptz_driver(self.cam)

    # -- motion callbacks (sub thread, or main thread without a sub stream) -------------------

    def _motion_started(self, start_ns: int) -> None:
        self.motion_starts += 1
        thumbnail = self._snapshot(event_thumbnail(self.cam.id, start_ns), start_ns)
        self.channel.send(MotionStarted(self.cam.id, start_ns, thumbnail))

    def _snapshot(self, rel_path: str, at_ns: int) -> str | None:
        """Write the newest decoded picture (the ring's) as the thumbnail ``rel_path`` of a
        moment at ``at_ns``; None when there is none of that moment (the analysis stream is
        still reconnecting: its picture is older) or it cannot be written: the backfill makes
        it later from the segment itself."""
        ring = self.sink.ring
        try:
            view = ring.read_copy() if ring is not None else None
            if view is None or view.capture_ns < at_ns - SNAPSHOT_SLACK_NS:
                return None
            thumbnails.write(
                self.recordings, rel_path, thumbnails.jpeg_from_i420(view.y, view.u, view.v)
            )
        except Exception as err:  # a thumbnail never costs a recording  # noqa: BLE001
            log.warning("%s: no thumbnail %s: %s", self.cam.id, rel_path, err)
            return None
        return rel_path

    def _motion_ended(self, start_ns: int, end_ns: int, confidence: float, boxes: tuple) -> None:
        self.last_motion_end_ns = end_ns
        self.channel.send(MotionEnded(self.cam.id, start_ns, end_ns, confidence, boxes))

    # -- recording decision ------------------------------------------------------------------

    def reasons(self, wall_ns: int) -> list[str]:
        """Why the camera should be recording now, strongest reason first."""
        rec = self.cam.record
        found = []
        if self.panic:
            found.append("panic")
        if self.manual:
            found.append("manual")
        recent = self.sink.active or wall_ns - self.last_motion_end_ns <= rec.post_roll_s * 1e9
        if rec.mode == "motion" and recent and self._scheduled(wall_ns):  # armed by schedule
            found.append("motion")
        if rec.mode == "scheduled" and self._scheduled(wall_ns):
            found.append("scheduled")
        if rec.mode == "continuous":
            found.append("continuous")
        return sorted(found, key=REASON_PRIORITY.index)

    def _scheduled(self, wall_ns: int) -> bool:
        second = wall_ns // 1_000_000_000
        if self._schedule_cache[0] != second:
            active = self.cam.record.schedule_active(datetime.fromtimestamp(second))
            self._schedule_cache = (second, active)
        return self._schedule_cache[1]

    # -- threads -----------------------------------------------------------------------------

    def control_loop(self) -> None:
        conn = self.channel.conn
        while not self.stop.is_set():
            try:
                if not conn.poll(0.5):
                    continue
                message = conn.recv()
            except (EOFError, OSError):
                log.warning("%s: supervisor pipe closed; stopping", self.cam.id)
                self.stop.set()
                return
            if isinstance(message, StopWorker):
                self.stop.set()
            elif isinstance(message, UpdateCamera):
                self.update(message.camera)
            elif isinstance(message, PtzRequest):
                if self.ptz is not None:
                    self.ptz.request(message)
                else:
                    said = "this camera has no PTZ: give it an onvif section in the configuration"
                    self.channel.send(PtzReply(message.request_id, self.cam.id, False, said, None))
            elif isinstance(message, WatchMain):
                if self.cam.sub:  # without a sub stream the ring is the main stream already
                    self.main_view.watch(message.seconds)
            elif isinstance(message, SetRecording):
                if message.reason == "panic":
                    self.panic = message.active
                else:
                    self.manual = message.active
                if message.active:  # the open segment has seen it, however short it lasts
                    self.asserted.append(message.reason)
                log.info(
                    "%s: %s recording %s",
                    self.cam.id,
                    message.reason,
                    "on" if message.active else "off",
                )
                self.acks_due.append(message.request_id)
                if self.state != "live":  # else answered after the next packet
                    self.answer_acks(live=False)

    def answer_acks(self, live: bool) -> None:
        """Acknowledge the recording requests waiting, after a heartbeat that shows their
        effect (so /health says it before the reply does). While live, the recorder gets up to
        ``ACK_WAIT_S`` to start or stop (a start may wait for a keyframe)."""
        if not self.acks_due:
            self._acks_since = None
            return
        wanted = bool(self.reasons(time.time_ns()))
        now = time.monotonic()
        if self._acks_since is None:
            self._acks_since = now
        if live and self.recorder.recording != wanted and now - self._acks_since < ACK_WAIT_S:
            return
        self._acks_since = None
        with self._ack_lock:  # the control thread answers too while the stream is down
            self.channel.send(self._heartbeat())
            while self.acks_due:
                self.channel.send(Ack(self.acks_due.popleft(), self.cam.id, wanted, live))

    def update(self, camera: CameraConfig) -> None:
        """Apply a config edit that needs no reconnect: recording and motion settings."""
        old, self.cam = self.cam, camera
        self._schedule_cache = (0, False)
        self.recorder.configure(camera.record.pre_roll_s, camera.record.segment_s)
        if camera.motion != old.motion:
            self.sink.configure(camera.motion)
        if camera.onvif != old.onvif:  # reconnect PTZ with the new settings (or drop it)
            if self.ptz is not None:
                self.ptz.close()
            self.ptz = self._ptz_driver(camera)
            if self.ptz is not None:
                self.ptz.start()
        log.info("%s: settings updated without a restart", camera.id)

    def _ptz_driver(self, camera: CameraConfig) -> PtzDriver | None:
        """PTZ on a thread of its own, for a camera with ``onvif`` (``nvr.worker.ptz``)."""
        return PtzDriver(camera.id, camera.onvif, self.channel.send) if camera.onvif else None

    def heartbeat_loop(self) -> None:
        while not self.stop.wait(HEARTBEAT_S):
            self._streams = (
                self.main_stats.snapshot(),
                self.sub_stats.snapshot() if self.sub_stats else None,
            )
            # Built and sent under the acks' lock: a heartbeat built just before a request's
            # effect and sent after its answer would show the old state again for a second.
            with self._ack_lock:
                self.channel.send(self._heartbeat())

    def _heartbeat(self) -> Heartbeat:
        """The camera now, with the streams' last measured rates. The recording's type is the
        strongest reason in force now (a segment is cataloged under the strongest it saw)."""
        rec = self.recorder
        reasons = self.reasons(time.time_ns()) if rec.recording else []
        main, sub = self._streams
        return Heartbeat(
            camera_id=self.cam.id,
            pid=os.getpid(),
            state=self.state,
            main=main,
            sub=sub,
            recording=rec.recording,
            recording_type=reasons[0] if reasons else rec.recording_type,
            recording_since_ns=rec.since_ns,
            motion=self.sink.active,
            loop_age_s=round(time.monotonic() - self.loop_mono, 3),
            error=self.error,
            ring=self.sink.ring.name if self.sink.ring else None,
            write_error=rec.write_error,
            main_ring=self.main_view.ring_in_use(),
        )

    def sub_loop(self) -> None:
        assert self.cam.sub and self.sub_stats
        stats = self.sub_stats
        source = StreamSource(
            self.cam.sub,
            transport=self.cam.transport,
            timeout_s=self.cam.timeout_s,
            label=f"{self.cam.id}/sub",
        )

        check = DecodeCheck(f"{self.cam.id}/sub")
        live = self.live_sub

        def consume() -> None:
            assert source.stream is not None
            # One thread: a small picture decodes in a fraction of a millisecond, slice
            # threads would only add wake-ups and their own buffers.
            source.stream.codec_context.thread_count = 1
            check.restart()
            assert live is not None
            live.on_connect(source.stream)
            for tp in source.packets(self.stop):
                stats.add(tp.size)
                if tp.params is not None:
                    stats.set_params(tp.params.codec, tp.params.width, tp.params.height)
                live.on_packet(tp)
                self._analyse(source, tp, check, stats)

        # Without its analysis stream a camera cannot see motion: end any open event.
        self._keep_connected(source, stats, consume, on_lost=lambda _err: self.sink.finish())
        self.sink.close()

    def main_loop(self) -> None:
        source = StreamSource(
            self.cam.main,
            transport=self.cam.transport,
            timeout_s=self.cam.timeout_s,
            label=f"{self.cam.id}/main",
        )
        check = DecodeCheck(f"{self.cam.id}/main")
        up: bool | None = None  # announced stream state; None until judged or failed
        last_wall_ns: int | None = None  # capture time of the last packet: where a gap starts
        # A break lasts until the next keyframe: no packet before it can start a segment.
        broken: Discontinuity | None = None
        doubted = -DOUBT_EVERY_S  # when the video was last re-judged (monotonic)
        failed_ns = 0  # capture time of the last packet that failed to decode
        suspect_ns: int | None = None  # since when malformed data stopped the recording
        judge_decoder: JudgeDecoder | None = None  # the connection's, while it is judged

        def report_break(end_ns: int) -> None:
            nonlocal broken
            if broken is not None:
                self.channel.send(
                    StreamDiscontinuity(
                        self.cam.id, broken.since_ns, max(end_ns, broken.since_ns), broken.cause
                    )
                )
                broken = None

        def judge(tp: TimedPacket) -> bool | None:
            """Whether the video decodes (decoding the packet if it must be judged); None
            until judged, and until the keyframe the recording can start with."""
            nonlocal up, doubted, failed_ns, suspect_ns
            assert source.stream is not None and judge_decoder is not None
            ctx = source.stream.codec_context
            now = time.monotonic()
            was, failures = check.decodes, check.failures
            if not check.judging and (why := malformed(ctx, tp.packet)) is not None:
                # Proof of garbage: record none of it, and judge the video afresh.
                log.warning("%s: %s; judging the video again", check.label, why)
                check.restart(forget=True)
                self.recorder.close("malformed video data")
                self.recorder.buffer.hold_ns = int(JUDGE_HOLD_S * 1e9)
                suspect_ns = tp.wall_ns
            doubt = tp.discontinuity is not None or tp.params is not None
            if doubt and not check.judging and now - doubted >= DOUBT_EVERY_S:
                check.restart()  # a broken stream may have turned to garbage: look again
                doubted = now
            if self.sub_stats is None:
                decodes = self._analyse(source, tp, check, self.main_stats)
            elif check.judging:
                decodes = check.add(tp.keyframe, judge_decoder.error(tp.packet), now)
                if not check.judging:
                    judge_decoder.release()
            else:
                decodes = check.decodes
            if check.failures > failures:
                failed_ns = tp.wall_ns
            if decodes is True and (up is not True or suspect_ns is not None):
                # What is recorded starts with the first whole GOP after the last failure.
                self.recorder.buffer.discard_through(failed_ns)
                since_ns = self.recorder.buffer.start_ns
                if since_ns is None and not tp.keyframe:
                    return None
                since_ns = since_ns or tp.wall_ns
                tp.discontinuity = None  # recording starts here: no break within it
                if up is not True:  # also after a worker restart: ends the gap
                    self.channel.send(StreamUp(self.cam.id, since_ns))
                elif suspect_ns is not None:
                    cause = f"{check.label}: malformed video data; it decodes again"
                    self.channel.send(StreamDiscontinuity(self.cam.id, suspect_ns, since_ns, cause))
                up, suspect_ns, self.error, self.state = True, None, None, "live"
                self.main_stats.error = None
            elif decodes is False and was is not False:
                self.recorder.close("the video does not decode")
                # The reason first: a heartbeat between the two must not say "error" without it.
                self.error = check.reason()
                self.state = "error"
                self.main_stats.error = self.error
                log.error("%s", self.error)
                if up is not False:
                    at_ns = suspect_ns or tp.wall_ns
                    self.channel.send(StreamDown(self.cam.id, at_ns, self.error))
                    up = False
                suspect_ns = None
            return decodes

        def consume() -> None:
            nonlocal last_wall_ns, broken, judge_decoder
            assert source.stream is not None
            judge_decoder = JudgeDecoder(source.stream)
            self.recorder.set_input(source.stream)
            self.main_view.reset()
            check.restart()
            # While the video is judged, keep all of it: recording starts with the connection.
            self.recorder.buffer.hold_ns = int(JUDGE_HOLD_S * 1e9)
            self.state = "starting" if check.decodes is not False else self.state
            self.live_main.on_connect(source.stream)
            for tp in source.packets(self.stop):
                self.loop_mono = time.monotonic()
                self.live_main.on_packet(tp)
                self.main_stats.add(tp.size)
                last_wall_ns = tp.wall_ns
                if tp.params is not None:
                    self.main_stats.set_params(tp.params.codec, tp.params.width, tp.params.height)
                self.main_stats.clock_rate = tp.clock_rate
                if tp.drift is not None:
                    self._clock_drift(tp)
                decodes = judge(tp)
                if self.sub_stats is not None:  # before muxing, which retimes the packet
                    self.main_view.on_packet(tp, source.stream)
                if decodes is not True:  # nothing is recorded: no break to catalog either
                    broken = None
                    if self.state != "live":
                        self.answer_acks(live=False)
                    if decodes is None:  # buffered: the pre-roll once the video is judged
                        self.recorder.on_packet(tp, [], False, self.motion_starts)
                    continue
                if tp.discontinuity is not None:  # a second one before a keyframe: one gap
                    broken = (
                        broken.followed_by(tp.discontinuity.cause) if broken else tp.discontinuity
                    )
                if tp.keyframe:
                    report_break(tp.wall_ns)
                while self.asserted:
                    self.recorder.saw(self.asserted.popleft())
                self.recorder.on_packet(
                    tp, self.reasons(tp.wall_ns), self.sink.active, self.motion_starts
                )
                self.recorder.buffer.hold_ns = 0
                self.answer_acks(live=True)

        def on_lost(err: StreamError) -> None:
            nonlocal up
            self.recorder.close("stream lost")
            self.main_view.stop()
            self.answer_acks(live=False)
            if self.sub_stats is None:
                self.sink.finish()
            self.state = "reconnecting"
            report_break(last_wall_ns or time.time_ns())
            if up is not False:
                at_ns = last_wall_ns or time.time_ns()
                self.channel.send(StreamDown(self.cam.id, at_ns, str(err)))
                up = False

        self._keep_connected(source, self.main_stats, consume, on_lost)
        report_break(last_wall_ns or time.time_ns())
        self.recorder.close("worker stopping")
        self.main_view.stop()
        self.answer_acks(live=False)

    def _clock_drift(self, tp: TimedPacket) -> None:
        """Report a camera clock found running fast or slow."""
        assert tp.drift is not None
        cause = f"{self.cam.id}/main: {tp.drift.describe()}"
        self.channel.send(ClockDrifting(self.cam.id, tp.wall_ns, tp.drift.rate, cause))

    def _analyse(
        self, source: StreamSource, tp: TimedPacket, check: DecodeCheck, stats: StreamCounter
    ) -> bool | None:
        """Decode an analysis packet into the ring (motion); whether the stream decodes."""
        assert source.stream is not None
        was = check.decodes
        frames, error = decode(source.stream.codec_context, tp.packet)
        decodes = check.add(tp.keyframe, error, time.monotonic())
        if decodes is False:
            if was is not False:
                stats.error = check.reason()
                log.error("%s; no motion detection", stats.error)
                self.sink.finish()
            return decodes  # garbage pictures are no motion
        if was is False and decodes:
            stats.error = None
            log.info("%s: the video decodes again", check.label)
        for frame in frames:
            self.sink.on_frame(frame, tp.wall_ns)
            stats.decoded += 1
        return decodes

    def _keep_connected(
        self,
        source: StreamSource,
        stats: StreamCounter,
        consume: Callable[[], None],
        on_lost: Callable[[StreamError], None],
    ) -> None:
        """Open the stream and ``consume`` it; on loss, reconnect with capped backoff. The main
        stream's trouble is the camera's (``error``, its state); the sub stream's is its own
        (``stats.error``): it never overwrites or clears the camera's."""
        main = stats is self.main_stats
        attempt = 0
        lost: str | None = None  # the sub stream's connection error, shown until it connects
        while not self.stop.is_set():
            connected_at = time.monotonic()
            try:
                source.open()
                assert source.stream is not None
                ctx = source.stream.codec_context
                stats.set_params(ctx.name, ctx.width, ctx.height)
                stats.connected = True
                if main:
                    self.error = None
                elif lost is not None and stats.error == lost:
                    stats.error = lost = None
                log.info("%s: connected (%s %dx%d)", source.label, ctx.name, ctx.width, ctx.height)
                consume()
            except Exception as err:  # noqa: BLE001 - any failure of one stream is a reconnect
                stats.connected = False
                if self.stop.is_set():
                    break
                if not isinstance(err, StreamError):
                    log.exception("%s: unexpected error; reconnecting", source.label)
                    err = StreamError(f"{source.label}: {type(err).__name__}: {err}")
                if time.monotonic() - connected_at >= RECONNECT_STABLE_S:
                    attempt = 0
                delay = RECONNECT_DELAYS_S[min(attempt, len(RECONNECT_DELAYS_S) - 1)]
                attempt += 1
                if main:
                    self.error = str(err)
                elif stats.error is None:  # a decode error, if any, says more
                    stats.error = lost = str(err)
                on_lost(err)
                log.warning("%s; reconnecting in %.1f s", err, delay)
                self.loop_mono = time.monotonic()
                self.stop.wait(delay)
            finally:
                source.close()

    def run(self) -> None:
        self._open_live()
        name_thread(f"nvr {self.cam.id}")  # the process, as top and ps -o comm show it
        loops = [("control", self.control_loop), ("heartbeat", self.heartbeat_loop)]
        if self.cam.sub:
            loops.append(("sub", self.sub_loop))
        threads = [
            threading.Thread(target=named(f"nvr {name}", loop), name=name, daemon=True)
            for name, loop in loops
        ]
        for thread in threads:
            thread.start()
        if self.ptz is not None:
            self.ptz.start()
        try:
            self.main_loop()
        finally:
            self.stop.set()
            if self.ptz is not None:
                self.ptz.close()  # a move in progress is stopped first
            for thread in threads[2:]:
                thread.join(timeout=5)
            self.sink.close()
            self._close_live()

    def _open_live(self) -> None:
        """Create the packet rings (here, not in ``__init__``: a worker built but never run
        leaves none behind); if one cannot be made, none is left."""
        try:
            self.live_main.open()
            if self.live_sub is not None:
                self.live_sub.open()
        except BaseException:
            self._close_live()
            raise

    def _close_live(self) -> None:
        self.live_main.close()
        if self.live_sub is not None:
            self.live_sub.close()


def name_thread(name: str) -> None:
    """Give the calling thread an OS name (15 bytes at most): ``top -H`` and ``bench/``'s
    per-thread profile tell the worker's threads apart by it. Linux only; else nothing."""
    with contextlib.suppress(OSError):
        Path("/proc/thread-self/comm").write_text(name.encode()[:15].decode(errors="ignore"))


def named(name: str, loop: Callable[[], None]) -> Callable[[], None]:
    """``loop``, run in a thread named ``name`` (``name_thread``)."""

    def run() -> None:
        name_thread(name)
        loop()

    return run


def worker_main(spec: WorkerSpec, conn: Connection) -> None:
    """Process entry point (spawn/forkserver safe)."""
    signal.signal(
        signal.SIGINT, signal.SIG_IGN
    )  # Ctrl-C reaches the whole group: supervisor decides
    log_dir = Path(spec.log_dir) if spec.log_dir else None
    setup_logging(log_dir, f"worker-{spec.camera.id}", spec.log_level, spec.keep_days)
    map_large_blocks()
    from nvr.worker.warmup import ensure_warm

    log.info("%s: native kernels ready (warm-up took %.2f s)", spec.camera.id, ensure_warm())
    worker = CameraWorker(spec, Channel(conn))
    signal.signal(signal.SIGTERM, lambda *_: worker.stop.set())
    log.info("%s: worker started (pid %d)", spec.camera.id, os.getpid())
    try:
        worker.run()
    except Exception:
        # Logged through the redacting handlers; re-raising would print a raw traceback.
        log.exception("%s: worker failed", spec.camera.id)
        sys.exit(1)
    finally:
        log.info("%s: worker stopped", spec.camera.id)
        conn.close()
