"""Worker messages to the object that owns each kind: a table from message type to handler.

Heartbeats and PTZ states go to the worker's handle (presets mirrored in the catalog),
segments, motion and gaps to the ledger, acknowledgements and PTZ replies to the command desk,
write failures to the storage keeper. A message the catalog cannot write
now (a full disk) is kept, in order, and replayed after space is freed (``replay``); any other
failure of one message is logged and never stops the supervision of every camera.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from nvr.clock import Clock
from nvr.config import Config
from nvr.errors import CatalogFullError
from nvr.protocol.worker import (
    Ack,
    ClockDrifting,
    Heartbeat,
    MotionEnded,
    MotionStarted,
    PtzReply,
    PtzUpdate,
    SegmentClosed,
    SegmentOpened,
    StreamDiscontinuity,
    StreamDown,
    StreamUp,
    WorkerFailed,
    WriteFailed,
)
from nvr.supervisor.commands import CommandDesk
from nvr.supervisor.ledger import Ledger
from nvr.supervisor.storage import DISK_FULL, StorageKeeper
from nvr.supervisor.workers import WorkerHandle, WorkerPool

log = logging.getLogger(__name__)

Handler = Callable[[WorkerHandle, Any], None]


class Dispatcher:
    def __init__(
        self,
        ledger: Ledger,
        desk: CommandDesk,
        keeper: StorageKeeper,
        pool: WorkerPool,
        config: Callable[[], Config],
        clock: Clock,
    ) -> None:
        self.ledger = ledger
        self.keeper = keeper
        self.pool = pool
        self.config = config
        self.clock = clock
        self._deferred: list[tuple[WorkerHandle, object]] = []  # refused by a full disk, in order
        self._table: dict[type, Handler] = {
            Heartbeat: self._heartbeat,
            SegmentOpened: self._segment_opened,
            SegmentClosed: self._segment_closed,
            MotionStarted: lambda _h, m: ledger.motion_started(
                m.camera_id, m.start_ns, m.thumbnail
            ),
            MotionEnded: lambda _h, m: ledger.motion_ended(m),
            StreamDown: lambda _h, m: ledger.open_gap(m.camera_id, m.at_ns, m.cause),
            StreamUp: self._stream_up,
            StreamDiscontinuity: lambda _h, m: ledger.discontinuity(m),
            ClockDrifting: lambda _h, m: ledger.clock_drifting(m),
            Ack: lambda _h, m: desk.on_ack(m),
            PtzReply: lambda _h, m: desk.on_ptz(m),
            PtzUpdate: self._ptz_update,
            WriteFailed: self._write_failed,
            WorkerFailed: lambda h, m: log.error("%s: %s", h.camera_id, m.message),
        }

    def drain(self, handle: WorkerHandle) -> None:
        """Handle every message waiting in the worker's pipe."""
        conn = handle.conn
        while conn is not None and not conn.closed:
            try:
                if not conn.poll():
                    return
                message = conn.recv()
            except (EOFError, OSError):
                return
            except Exception:  # a message cut short by a killed worker
                log.warning("%s: unreadable message from worker dropped", handle.camera_id)
                return
            self.dispatch(handle, message)

    def dispatch(self, handle: WorkerHandle, message: object) -> None:
        """Handle one message; one the catalog cannot take now is kept for ``replay``."""
        try:
            self._handle(handle, message)
        except CatalogFullError as err:
            if not self._deferred:
                log.error("%s; deferring %s until space is freed", err, type(message).__name__)
            self._deferred.append((handle, message))
            self.keeper.run_soon()

    def replay(self) -> None:
        """Handle the deferred messages, in order, until the catalog refuses one again."""
        deferred, self._deferred = self._deferred, []
        for index, (handle, message) in enumerate(deferred):
            try:
                self._handle(handle, message)
            except CatalogFullError:
                self._deferred = deferred[index:]  # still full: keep the order, try next pass
                return

    def _handle(self, handle: WorkerHandle, message: object) -> None:
        handler = self._table.get(type(message))
        if handler is None:
            log.warning("%s: unknown message %s dropped", handle.camera_id, type(message).__name__)
            return
        try:
            handler(handle, message)
        except CatalogFullError:
            raise
        except Exception:  # one bad write must not stop every camera's supervision
            log.exception(
                "%s: could not process %s; continuing", handle.camera_id, type(message).__name__
            )

    # -- handlers ----------------------------------------------------------------------------

    def _heartbeat(self, handle: WorkerHandle, msg: Heartbeat) -> None:
        handle.heartbeat = msg
        handle.heartbeat_mono = self.clock.monotonic()

    def _ptz_update(self, handle: WorkerHandle, msg: PtzUpdate) -> None:
        """The camera's PTZ state for the health; its presets mirrored in the catalog."""
        before = handle.ptz
        handle.ptz = msg.status
        if msg.status.reachable and (before is None or before.presets != msg.status.presets):
            self.ledger.catalog.sync_presets(
                handle.camera_id,
                {
                    p.name: {"token": p.token, "position": list(p.position or ())}
                    for p in msg.status.presets
                },
            )

    def _segment_opened(self, handle: WorkerHandle, msg: SegmentOpened) -> None:
        handle.open_segment = msg
        self.ledger.end_gap(msg.camera_id, msg.start_ns, kinds=("disk_full", "write_error"))
        self.keeper.segment_opened(msg.camera_id)

    def _segment_closed(self, handle: WorkerHandle, msg: SegmentClosed) -> None:
        if handle.open_segment and handle.open_segment.file_path == msg.file_path:
            handle.open_segment = None
        self.ledger.segment_closed(msg)
        self.keeper.segment_written(msg.size_bytes)

    def _stream_up(self, handle: WorkerHandle, msg: StreamUp) -> None:
        if self.ledger.end_gap(msg.camera_id, msg.at_ns):
            log.info("%s: main stream back; gap closed", msg.camera_id)

    def _write_failed(self, handle: WorkerHandle, msg: WriteFailed) -> None:
        """Make room if the disk is full; catalog what reached the disk of the segment, and
        the hole until the camera writes again."""
        self.keeper.write_failed(
            handle.camera_id, msg.errno, msg.message, self.config(), self.pool.bitrate_bps()
        )
        opened = handle.open_segment
        video_end_ns = None
        if opened is not None and opened.file_path == msg.file_path:
            handle.open_segment = None
            video_end_ns = self.ledger.repair(opened)
        kind = "disk_full" if msg.errno in DISK_FULL else "write_error"
        start_ns = video_end_ns or self.clock.wall_ns()
        self.ledger.open_gap(msg.camera_id, start_ns, f"cannot write: {msg.message}", kind)
