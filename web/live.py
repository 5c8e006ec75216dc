"""``/api/v1/live/{camera_id}``: live video over a WebSocket, as fMP4 for Media Source
Extensions, from the worker's packet ring (no second camera connection, no transcoding).

One ``LiveSource`` per camera stream reads the ring once and fans each frame out, as its own
fragment, to every viewer of that stream; one pump task polls all sources. A viewer gets the
codecs string (a text message), the init segment, then the fragments from the newest keyframe
on. A viewer whose socket falls ``MAX_QUEUED`` fragments behind drops its backlog and resumes at
the next keyframe rather than drifting further from the live edge.

Binary messages carry a 24-byte header before the MP4 bytes: kind (0 init, 1 fragment), seven
zero bytes, the capture time (Unix ns) and the presentation time (90 kHz ticks), both int64
big-endian; the page uses them to measure its latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path

from starlette.websockets import WebSocket, WebSocketDisconnect

from nvr.frames.packets import LOST, Packet, PacketRing, StreamParams
from nvr.frames.ring import instance_id, ring_name
from nvr.worker.live import packet_ring_name
from web import fmp4
from web.context import context
from web.events import POLICY_VIOLATION, RECHECK_S, refuse, ws_session

log = logging.getLogger(__name__)

PUMP_S = 0.008  # how often the rings are polled: the latency it adds is half of it on average
TOUCH_S = 2.0  # how often a watched ring is touched (the worker publishes for 10 s after)
MAX_QUEUED = 60  # fragments a viewer may have waiting before it skips to the next keyframe
MAX_GOP_FRAGMENTS = 300  # the fragments kept for a new viewer (from the newest keyframe)
MAX_JUMP_TICKS = 5 * fmp4.TIMESCALE  # a larger dts step is a new timeline (reconnect)
DEFAULT_TICKS = fmp4.TIMESCALE // 15
FRESH_NS = 3 * 10**9  # a keyframe older than this is not where a live picture starts
_HEADER = struct.Struct(">B7xqq")
INIT, FRAGMENT = 0, 1


@dataclass(eq=False)
class Viewer:
    queue: asyncio.Queue[bytes | str] = field(default_factory=lambda: asyncio.Queue(MAX_QUEUED))
    waiting_key: bool = False
    skipped: int = 0

    def offer(self, item: bytes | str, key: bool = False) -> None:
        """Queue a message; a viewer too far behind drops its backlog until a keyframe."""
        if isinstance(item, bytes) and item[0] == FRAGMENT:
            if self.waiting_key and not key:
                self.skipped += 1
                return
            self.waiting_key = False
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            while not self.queue.empty():
                self.queue.get_nowait()
                self.skipped += 1
            self.waiting_key = True
            if key:
                self.offer(item, key)


class LiveSource:
    """One camera stream's packet ring, muxed into fragments for its viewers."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.viewers: set[Viewer] = set()
        self.ring: PacketRing | None = None
        self._inode = 0
        self._next = 0  # the index of the next packet to read
        self._touched = 0.0
        self._checked = 0.0
        self.status = "waiting for the camera's stream"
        self.codecs: str | None = None
        self.init: bytes | None = None
        self.gop: list[tuple[bytes, bool]] = []
        self._generation = 0
        self._length_prefixed = False
        self._time_base = (1, fmp4.TIMESCALE)
        self._last_raw: int | None = None
        self._last_out = 0
        self._ticks = DEFAULT_TICKS
        self._sequence = 0
        self._last_capture_ns = 0

    def add(self, viewer: Viewer) -> None:
        self.viewers.add(viewer)
        if self.codecs and self.init:
            viewer.offer(json.dumps({"type": "codecs", "codecs": self.codecs}))
            viewer.offer(self.init)
            if time.time_ns() - self._last_capture_ns < FRESH_NS:  # else it waits for a keyframe
                for item, key in self.gop:
                    viewer.offer(item, key)
        if self.status != "live":
            viewer.offer(json.dumps({"type": "status", "text": self.status}))

    def pump(self, now: float) -> None:
        """Read what the worker published since the last call and hand it to the viewers."""
        ring = self._attached(now)
        if ring is None:
            return
        if now - self._touched >= TOUCH_S:
            ring.touch()
            self._touched = now
        for _ in range(200):  # at most this many per call: the loop stays responsive
            got = ring.read(self._next)
            if got is None:
                return
            if got is LOST:
                self._next = self._start(ring)
                self._last_raw = None
                continue
            assert isinstance(got, Packet)
            self._next += 1
            self._on_packet(ring, got)

    def close(self) -> None:
        if self.ring is not None:
            self.ring.close()
            self.ring = None

    def _attached(self, now: float) -> PacketRing | None:
        """The ring, attached (again, when a restarted worker made a new one) at most once a
        second while it is missing or replaced."""
        if self.ring is not None and now - self._checked < 1.0:
            return self.ring
        self._checked = now
        try:
            inode = os.stat(f"/dev/shm/{self.name}").st_ino
        except OSError:
            self._set_status(
                "no picture: the camera's worker is not running (the engine may be stopped or "
                "restarting)"
            )
            self.close()
            return None
        if self.ring is not None and inode == self._inode and not self.ring.closed:
            return self.ring
        self.close()
        try:
            self.ring = PacketRing.attach(self.name)
        except (OSError, ValueError) as err:
            self._set_status(f"the camera's packets cannot be read ({err})")
            return None
        self._inode = inode
        self.ring.touch()
        self._touched = now
        self._next = self._start(self.ring)
        self._generation = 0
        self._last_raw = None
        self._set_status("waiting for the camera's stream")
        return self.ring

    @staticmethod
    def _start(ring: PacketRing) -> int:
        """Where to start reading: the newest keyframe if it is fresh, else the next packet
        (the ring keeps what it got while last watched: never show that as live)."""
        key = ring.newest_keyframe()
        if key is not None:
            packet = ring.read(key)
            if isinstance(packet, Packet) and time.time_ns() - packet.capture_ns < FRESH_NS:
                return key
        return ring.count

    def _on_packet(self, ring: PacketRing, packet: Packet) -> None:
        if packet.params_generation != self._generation:
            if not packet.keyframe:
                return  # new parameters start at a keyframe
            params = ring.params()
            if params is None or params.generation != packet.params_generation:
                return
            if not self._new_init(params, packet):
                return
        if self.init is None:
            return
        out_dts = self._timeline(packet)
        scale = fmp4.TIMESCALE * self._time_base[0]
        pts = packet.pts * scale // self._time_base[1]
        dts = packet.dts * scale // self._time_base[1]
        offset = max(0, pts - dts)
        data = fmp4.sample(packet.data, self._length_prefixed)
        self._sequence += 1
        body = fmp4.fragment(self._sequence, out_dts, self._ticks, offset, packet.keyframe, data)
        item = _HEADER.pack(FRAGMENT, packet.capture_ns, out_dts + offset) + body
        if packet.keyframe:
            self.gop = []
        if len(self.gop) < MAX_GOP_FRAGMENTS:
            self.gop.append((item, packet.keyframe))
        for viewer in self.viewers:
            viewer.offer(item, packet.keyframe)
        self._last_capture_ns = packet.capture_ns

    def _new_init(self, params: StreamParams, packet: Packet) -> bool:
        """A new init segment for ``params``; False (with a status) if a browser cannot play."""
        self._generation = params.generation
        if params.codec != "h264":
            self._set_status(
                f"this camera sends {params.codec.upper()}, which browsers cannot play live: "
                "give it an H.264 sub stream"
            )
            self.init = self.codecs = None
            return False
        try:
            if fmp4.is_length_prefixed(params.extradata):
                config = params.extradata
                self._length_prefixed = True
            else:
                sps, pps = fmp4.parameter_sets(params.extradata + packet.data)
                config = fmp4.avcc(sps, pps)
                self._length_prefixed = False
        except fmp4.Unplayable as err:
            self._set_status(str(err))
            return False
        self._time_base = params.time_base if params.time_base[1] else (1, fmp4.TIMESCALE)
        codecs = fmp4.codecs_string(config)
        init = fmp4.init_segment(params.width, params.height, config)
        self.codecs, self.init = codecs, _HEADER.pack(INIT, packet.capture_ns, 0) + init
        self.gop = []
        self.status = "live"
        for viewer in self.viewers:
            viewer.offer(json.dumps({"type": "codecs", "codecs": codecs}))
            viewer.offer(self.init)
        return True

    def _timeline(self, packet: Packet) -> int:
        """The packet's decode time on the viewers' timeline, which never goes back: a
        reconnect (timestamps restarting) or a jump continues one frame after the last."""
        raw = packet.dts * fmp4.TIMESCALE * self._time_base[0] // self._time_base[1]
        last = self._last_raw
        if last is not None and 0 < raw - last <= MAX_JUMP_TICKS:
            self._ticks = raw - last
            out = self._last_out + self._ticks
        elif self._sequence:
            out = self._last_out + self._ticks
        else:
            out = 0
        self._last_raw, self._last_out = raw, out
        return out

    def _set_status(self, text: str) -> None:
        if text != self.status:
            self.status = text
            for viewer in self.viewers:
                viewer.offer(json.dumps({"type": "status", "text": text}))


class PacketReaders:
    """Every watched camera stream; one pump task polls them all while anyone watches."""

    def __init__(self) -> None:
        self.sources: dict[str, LiveSource] = {}
        self._task: asyncio.Task[None] | None = None

    def join(self, name: str, viewer: Viewer) -> LiveSource:
        source = self.sources.get(name)
        if source is None:
            source = self.sources[name] = LiveSource(name)
        source.add(viewer)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._pump(), name="live-pump")
        return source

    def leave(self, source: LiveSource, viewer: Viewer) -> None:
        source.viewers.discard(viewer)
        if not source.viewers:
            source.close()
            self.sources.pop(source.name, None)

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        for source in self.sources.values():
            source.close()
        self.sources.clear()

    async def _pump(self) -> None:
        while self.sources:
            now = time.monotonic()
            for source in list(self.sources.values()):
                try:
                    source.pump(now)
                except Exception:  # noqa: BLE001 - one broken stream must not stop the others
                    log.exception("live %s: reading its packets failed", source.name)
                    source.close()
            await asyncio.sleep(PUMP_S)


def packet_ring(storage: Path, camera_id: str, stream: str) -> str:
    return packet_ring_name(ring_name(instance_id(storage), camera_id), stream)


async def live(socket: WebSocket) -> None:
    camera_id = socket.path_params["camera_id"]
    denied = ws_session(socket, camera_id)
    if denied is not None:
        await refuse(socket, denied)
        return
    ctx = context(socket)
    stream = socket.query_params.get("stream", "sub")
    health = ctx.engine.snapshot.health
    cam = health.cameras.get(camera_id) if health else None
    if stream not in ("sub", "main") or (stream == "sub" and cam is not None and cam.sub is None):
        stream = "main"  # a camera without a sub stream shows its main stream
    readers: PacketReaders = socket.app.state.packets
    await socket.accept()
    viewer = Viewer()
    source = readers.join(packet_ring(Path(ctx.config.storage.path), camera_id, stream), viewer)
    token = socket.cookies.get(ctx.cookie, "")
    receiver = asyncio.create_task(_drain(socket))
    try:
        checked = time.monotonic()
        while not receiver.done():
            try:
                item = await asyncio.wait_for(viewer.queue.get(), 1.0)
            except TimeoutError:
                item = None
            if time.monotonic() - checked > RECHECK_S:  # a revoked or expired session stops here
                checked = time.monotonic()
                if ctx.accounts.session(token, ctx.idle_s) is None:
                    await socket.close(code=POLICY_VIOLATION, reason="session ended")
                    return
            if item is None:
                continue
            if isinstance(item, str):
                await socket.send_text(item)
            else:
                await socket.send_bytes(item)
    except (WebSocketDisconnect, RuntimeError, ConnectionError):
        pass
    finally:
        receiver.cancel()
        readers.leave(source, viewer)
        with contextlib.suppress(RuntimeError, ConnectionError):
            await socket.close()


async def _drain(socket: WebSocket) -> None:
    """Read (and ignore) what the browser sends, to notice it closing."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            message = await socket.receive()
            if message["type"] == "websocket.disconnect":
                return
