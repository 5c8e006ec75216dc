"""The engine's health document (``GET /health``) as typed, frozen values.

The supervisor builds one ``Health`` per loop tick and publishes it; the API serves it, the
console and the coming web server read it through ``nvr.protocol.client``. JSON comes from and
goes back to these types in one place, ``nvr.protocol.codec``; adding a field with a default
keeps older clients working (unknown keys are ignored when reading).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Camera states in ``CameraStatus.state``.
CAMERA_STATES = ("starting", "live", "reconnecting", "error", "restarting", "stopped", "disabled")


@dataclass(frozen=True, slots=True)
class StreamStatus:
    """One stream of a camera over the last heartbeat interval."""

    connected: bool = False
    fps: float = 0.0
    bitrate_bps: float = 0.0
    last_age_s: float | None = None  # seconds since the last packet/frame; None before the first
    width: int = 0
    height: int = 0
    codec: str = ""
    error: str | None = None  # its video does not decode: why
    clock_rate: float | None = None  # the camera's clock runs this many times real time (off)
    decoded_fps: float = 0.0  # pictures decoded into the frame ring (the analysis stream only)


@dataclass(frozen=True, slots=True)
class RecordingStatus:
    """Whether a camera writes a segment now, for which reason and since when."""

    active: bool = False
    type: str | None = None  # the strongest reason in force now: panic > manual > motion > ...
    since_ns: int | None = None
    duration_s: float = 0.0
    error: str | None = None  # the camera cannot write its segments now (disk full, I/O)


@dataclass(frozen=True, slots=True)
class PtzPreset:
    """A preset stored on the camera: its token there, its name, its position if reported."""

    token: str
    name: str
    position: tuple[float, float, float] | None = None  # pan, tilt, zoom


@dataclass(frozen=True, slots=True)
class PtzStatus:
    """A camera's pan, tilt and zoom as its worker last saw them over ONVIF."""

    reachable: bool = False  # connected, and the last call answered
    error: str | None = None  # the last failure, in plain words
    profile: str | None = None  # the media profile steered
    continuous: bool = False  # continuous moves (the pad, held)
    relative: bool = False  # relative moves (click to center)
    absolute: bool = False
    zoom: bool = False  # the camera zooms
    max_presets: int | None = None
    position: tuple[float, float, float] | None = None  # pan, tilt, zoom as the camera says
    moving: bool = False
    presets: tuple[PtzPreset, ...] = ()
    latency_ms: float | None = None  # the last command's round trip to the camera
    checked_ns: int = 0  # when the camera last answered


@dataclass(frozen=True, slots=True)
class CameraStatus:
    """One camera as the engine sees it now."""

    id: str
    name: str = ""
    enabled: bool = True
    state: str = "starting"  # one of CAMERA_STATES
    pid: int | None = None
    restarts: int = 0
    last_exit: str | None = None
    error: str | None = None
    fps_in: float = 0.0  # main-stream packets per second
    fps_out: float = 0.0  # decoded frames per second into the ring
    bitrate_bps: float = 0.0
    last_frame_age_s: float | None = None
    main: StreamStatus | None = None
    sub: StreamStatus | None = None
    recording: RecordingStatus = field(default_factory=RecordingStatus)
    manual: bool = False
    panic: bool = False
    motion: bool = False
    mode: str = "continuous"
    armed: bool = True  # its record schedule is in force now (always, without a schedule)
    motion_alarm: bool = False  # motion raises an alarm now (cameras[].alarms, in its schedule)
    ring: str | None = None  # the shared-memory frame ring's name, once frames are published
    main_ring: str | None = None  # the main stream's ring, while someone watches it alone
    uptime_s: float = 0.0  # since its worker last started
    cpu_pct: float | None = None  # its worker process, % of one core (None: not measured yet)
    rss_bytes: int | None = None  # its worker process's resident memory
    segments: int = 0
    motion_events: int = 0
    ptz: PtzStatus | None = None  # None: no onvif configured


@dataclass(frozen=True, slots=True)
class ConfigStatus:
    """The configuration in force and the result of the last reload."""

    path: str = ""
    ok: bool = True
    loaded_ns: int = 0
    errors: tuple[str, ...] = ()  # every problem of the last rejected edit
    needs_restart: tuple[str, ...] = ()  # changed keys that apply after an engine restart
    reloads: int = 0
    failed_reloads: int = 0
    version: int = 0  # the config history's version in force (0: none recorded)
    saved_by: str = ""  # who saved that version ("file edit": a text editor, via live reload)
    sha256: str = ""  # of that version's text: the base_sha256 for the next save_config


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    """What the start-up recovery did (``nvr.storage.recovery``)."""

    segments_checked: int = 0
    files_on_disk: int = 0
    orphans_indexed: int = 0
    repaired: int = 0
    removed_unplayable: int = 0
    unreadable: int = 0  # segment files left as they are, uncataloged (see the log)
    marked_missing: int = 0
    integrity: list[str] = field(default_factory=lambda: ["ok"])
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class RetentionReport:
    """What a retention pass did (``nvr.storage.retention.apply``).

    ``remaining`` counts planned deletions left undone because the pass ran out of time;
    ``unmet`` names the goals that protected recordings keep from being met.
    """

    deleted: int = 0
    freed_bytes: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    remaining: int = 0
    unmet: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CameraStorage:
    """Footage kept for one camera."""

    bytes: int = 0
    days_retained: float = 0.0
    oldest_ns: int | None = None  # the start of its oldest recording
    bytes_by_type: dict[str, int] = field(default_factory=dict)  # continuous, motion, ...
    protected_bytes: int = 0  # kept from retention


@dataclass(frozen=True, slots=True)
class StorageStatus:
    """The storage disk, the footage on it and the last retention pass."""

    path: str = ""
    id: str = ""
    free_bytes: int = 0
    total_bytes: int = 0
    used_bytes: int = 0
    min_free_bytes: int = 0
    max_bytes: int | None = None
    recordings_bytes: int = 0
    writing_bytes: int = 0  # the segments being written now (not cataloged yet)
    cameras: dict[str, CameraStorage] = field(default_factory=dict)
    write_rate_bps: float = 0.0
    days_until_full: float | None = None  # at this write rate, until the reserve is reached
    days_capacity: float | None = None  # days of footage the storage holds at this rate
    warning: str | None = None  # after a disk-full or write error: what happened and the fix
    retention: RetentionReport | None = None


@dataclass(frozen=True, slots=True)
class CatalogCheck:
    """The latest catalog maintenance: integrity check, statistics, WAL checkpoint."""

    at_ns: int
    ok: bool
    problems: tuple[str, ...] = ()
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class Health:
    """The whole engine: ``status`` is "ok" when every enabled camera is live and can write,
    and the config in force is the file's; else "degraded", with ``problems`` saying why."""

    status: str = "ok"
    problems: tuple[str, ...] = ()
    pid: int = 0
    uptime_s: float = 0.0
    cpu_pct: float | None = None  # supervisor and workers together, % of one core
    rss_bytes: int | None = None  # supervisor and workers together
    catalog_bytes: int = 0  # the catalog file with its WAL
    catalog_check: CatalogCheck | None = None  # None until the first maintenance ran
    panic: bool = False
    config: ConfigStatus = field(default_factory=ConfigStatus)
    recovery: RecoveryReport = field(default_factory=RecoveryReport)
    storage: StorageStatus = field(default_factory=StorageStatus)
    cameras: dict[str, CameraStatus] = field(default_factory=dict)  # by id, in config order
