"""Messages between the supervisor and its camera workers, over one duplex pipe per worker.

They travel pickled; only small values travel, never frames (frames live in the shared-memory
ring). The supervisor dispatches each type to its handler through a table
(``nvr.supervisor.dispatch``).
"""

from __future__ import annotations

from dataclasses import dataclass

from nvr.config import CameraConfig
from nvr.protocol.health import PtzStatus, StreamStatus

# --- supervisor -> worker -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetRecording:
    """Turn a manual or panic recording reason on or off; the worker answers with ``Ack``."""

    request_id: int
    reason: str  # "manual" | "panic"
    active: bool


@dataclass(frozen=True, slots=True)
class StopWorker:
    """Close the open segment, report it, and exit."""


@dataclass(frozen=True, slots=True)
class UpdateCamera:
    """The camera's config changed in what a running worker can apply (its name, recording
    and motion settings): apply it without reconnecting, so nothing is lost."""

    camera: CameraConfig


@dataclass(frozen=True, slots=True)
class WatchMain:
    """Someone shows this camera alone: decode its main stream into the second ring for
    ``seconds`` more (``nvr.worker.mainview``)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class PtzRequest:
    """A pan/tilt/zoom request for the worker's PTZ driver (``nvr.worker.ptz``); answered with
    ``PtzReply``. ``action``: move (velocities -1..1, Stop sent after ``timeout_s`` unless
    renewed), stop, center (a relative move toward ``pan``, ``tilt``: the point clicked, -1..1
    from the picture's centre), goto, save, rename, remove (a preset by ``name``)."""

    request_id: int
    action: str
    pan: float = 0.0
    tilt: float = 0.0
    zoom: float = 0.0
    timeout_s: float = 1.0
    name: str = ""
    replace: bool = False  # save: overwrite the preset of that name with the position now
    new_name: str = ""  # rename: the preset's new name (the camera goes to it to store it)


# --- worker -> supervisor -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ack:
    request_id: int
    camera_id: str
    recording: bool  # the camera has a reason to record now
    live: bool  # its main stream delivers: it does record (False: it will once the stream is up)


@dataclass(frozen=True, slots=True)
class PtzReply:
    """How a ``PtzRequest`` went: ``error`` in plain words when it failed."""

    request_id: int
    camera_id: str
    ok: bool
    error: str | None
    latency_ms: float | None  # the SOAP round trips it took
    refused: bool = False  # refused before the camera was asked (a bad name, no PTZ)


@dataclass(frozen=True, slots=True)
class PtzUpdate:
    """The camera's PTZ state changed (connected, moved, stopped, presets, a failure)."""

    camera_id: str
    status: PtzStatus


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Sent every second by each worker."""

    camera_id: str
    pid: int
    state: str  # starting | live | reconnecting | error
    main: StreamStatus  # over the last heartbeat interval, as /health shows it
    sub: StreamStatus | None  # None when the main stream is decoded for motion
    recording: bool
    recording_type: str | None
    recording_since_ns: int | None
    motion: bool
    loop_age_s: float  # seconds since the main loop last made progress (stuck-worker watchdog)
    error: str | None
    ring: str | None  # shared-memory ring name once frames are published
    write_error: str | None = None  # the last segment write failed, and none succeeded since
    main_ring: str | None = None  # the main stream's ring while someone watches it


@dataclass(frozen=True, slots=True)
class SegmentOpened:
    """A segment file was created; if the worker dies, the supervisor repairs this file."""

    camera_id: str
    file_path: str  # relative to <storage.path>/recordings
    start_ns: int
    recording_type: str


@dataclass(frozen=True, slots=True)
class SegmentClosed:
    """A segment file is complete and fsynced; the supervisor catalogs it."""

    camera_id: str
    file_path: str  # relative to <storage.path>/recordings
    start_ns: int
    end_ns: int
    duration_90k: int
    size_bytes: int
    recording_type: str
    motion_events: int
    video_codec: str
    width: int
    height: int
    thumbnail_path: str | None = None  # its picture, written when it opened


@dataclass(frozen=True, slots=True)
class WriteFailed:
    """Writing the open segment failed (disk full, I/O error); the worker retries shortly."""

    camera_id: str
    file_path: str | None  # the abandoned segment (repaired by the supervisor), if one was open
    errno: int | None
    message: str


@dataclass(frozen=True, slots=True)
class MotionStarted:
    camera_id: str
    start_ns: int
    thumbnail: str | None = None  # the picture it started on, relative to the recordings folder


@dataclass(frozen=True, slots=True)
class MotionEnded:
    camera_id: str
    start_ns: int
    end_ns: int
    confidence: float
    boxes: tuple[tuple[int, int, int, int], ...]


@dataclass(frozen=True, slots=True)
class StreamDown:
    """The main stream was lost (or never came up); the supervisor opens a catalog gap."""

    camera_id: str
    at_ns: int
    cause: str


@dataclass(frozen=True, slots=True)
class StreamUp:
    """The main stream delivers packets again; the supervisor closes the open gap."""

    camera_id: str
    at_ns: int


@dataclass(frozen=True, slots=True)
class ClockDrifting:
    """The camera's clock runs fast or slow (``rate`` x real time); capture times follow arrival
    and recording goes on. The supervisor catalogs a zero-length discontinuity with ``cause``."""

    camera_id: str
    at_ns: int
    rate: float
    cause: str


@dataclass(frozen=True, slots=True)
class StreamDiscontinuity:
    """The main stream broke without disconnecting (timestamps jumped or were reset, codec
    parameters changed); the supervisor catalogs a closed gap, zero-length if no time was lost."""

    camera_id: str
    start_ns: int
    end_ns: int
    cause: str


@dataclass(frozen=True, slots=True)
class WorkerFailed:
    """An error the worker cannot recover from by itself (the message names cause and fix)."""

    camera_id: str
    message: str
