"""Configuration schema, loader and error reporting for the NVR's YAML file.

The file is read with ruamel.yaml's round-trip loader so that every problem can be reported with
its key path and line number; ``${VAR}`` / ``${VAR:-default}`` references in string values are
expanded from the environment before validation. The pydantic models are frozen and compare with
``==``, which is how the supervisor tells which cameras changed on a live reload.
"""

from __future__ import annotations

import contextlib
import grp
import ipaddress
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from nvr.errors import ConfigError
from nvr.redact import redact_text, redact_url

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _bool_for_number(value: Any, kind: str) -> PydanticCustomError:
    """YAML's true or false where a number is expected: a slip, not 1 or 0."""
    return PydanticCustomError(
        "bool_for_number",
        "must be a {kind}, not {value}",
        {"kind": kind, "value": str(value).lower()},
    )


def _number_not_truth(value: Any) -> Any:
    """A number's before-validator: true and false are refused (see ``_bool_for_number``)."""
    if isinstance(value, bool):
        raise _bool_for_number(value, "number")
    return value


Coord = Annotated[float, BeforeValidator(_number_not_truth), Field(ge=0, le=1)]
Point = tuple[Coord, Coord]
Polygon = Annotated[tuple[Point, ...], Field(min_length=3)]

_LOOPBACK = ("127.0.0.1", "::1", "localhost")
_CAMERA_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_STREAM_SCHEMES = ("rtsp", "rtsps")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]i?b|b)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1} | {
    f"{prefix}{infix}b": base**power
    for power, prefix in enumerate("kmgtp", start=1)
    for infix, base in (("", 1000), ("i", 1024))
}
_MAX_SIZE = 10**18  # 1000PB: far beyond any disk, well inside SQLite's 64-bit integers
_MAX_DAYS = 36500


def _show(value: Any) -> str:
    """A short, credential-free rendering of an offending value for an error message."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        text = redact_url(value)
        return repr(text if len(text) <= 60 else text[:57] + "...")
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def parse_size(value: Any) -> int:
    """Bytes from a whole number or a size text: ``"500GB"``, ``"1.5TiB"``, ``"750 MB"``.

    Units are case-insensitive: B, KB, MB, GB, TB, PB are powers of 1000; KiB .. PiB of 1024.
    ValueError for anything else.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    match = _SIZE.match(value) if isinstance(value, str) else None
    if match:
        return int(Decimal(match[1]) * _SIZE_UNITS[(match[2] or "b").lower()])
    raise ValueError(
        'must be a whole number of bytes or a size such as "500GB" or "1.5TiB" (KB, MB, GB, '
        f"TB, PB: powers of 1000; KiB, MiB, GiB, TiB, PiB: powers of 1024); got {_show(value)}"
    )


def format_size(size_bytes: int) -> str:
    """A short decimal rendering of a byte count: ``5GB``, ``1.65TB``, ``512B``."""
    for power, unit in ((5, "PB"), (4, "TB"), (3, "GB"), (2, "MB"), (1, "KB")):
        if abs(size_bytes) >= 1000**power:
            value = size_bytes / 1000**power
            return f"{value:.3g}{unit}" if abs(value) < 1000 else f"{value:.0f}{unit}"
    return f"{size_bytes}B"


def _size_in_range(value: Any, field: FieldInfo) -> Any:
    """Parse a size for ``field`` (null passes) and check it against the field's ``ge``/``le``."""
    if value is None:
        return None
    size = parse_size(value)
    low, high = _bounds(field.metadata)
    if not low <= size <= high:
        raise ValueError(
            f"must be between {format_size(low)} and {format_size(high)}; got {_show(value)}"
        )
    return size


def _minutes(hhmm: str) -> int:
    """``"HH:MM"`` (already validated) -> minutes since midnight."""
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _blank_to_none(value: Any) -> Any:
    """Treat an empty string (e.g. ``${SUB_URL:-}``) as "not set"."""
    return None if isinstance(value, str) and not value.strip() else value


def _check_stream(value: str) -> str:
    """Accept an rtsp(s):// URL with a host, a file:// URL, or a local file path."""
    if not value.strip():
        raise ValueError("must not be empty; give an rtsp:// or rtsps:// URL or a video file path")
    if any(not c.isprintable() for c in value):  # a line break would be sent to the camera
        raise ValueError("must not contain line breaks or control characters")
    if "://" not in value:
        return value
    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    if scheme == "file":
        if not parts.path:
            raise ValueError("file:// URL has no path; write it as file:///path/to/video.mp4")
        return value
    if scheme not in _STREAM_SCHEMES:
        raise ValueError(
            f"unsupported URL scheme {scheme!r}; use rtsp://, rtsps://, file:// "
            "or a plain local file path"
        )
    try:
        host = parts.hostname
    except ValueError:
        host = None
    if not host:
        raise ValueError(f"{scheme}:// URL has no host; expected {scheme}://[user:pass@]host/path")
    return value


def _duplicate_ids(cameras: Iterable[Any]) -> list[tuple[int, int, str]]:
    """``(first index, duplicate index, id)`` for every repeated camera id."""
    seen: dict[str, int] = {}
    duplicates = []
    for index, camera in enumerate(cameras):
        cam_id = camera.get("id") if isinstance(camera, dict) else getattr(camera, "id", None)
        if not isinstance(cam_id, str):
            continue
        if cam_id in seen:
            duplicates.append((seen[cam_id], index, cam_id))
        else:
            seen[cam_id] = index
    return duplicates


def _duplicate_text(first: int, second: int, cam_id: str) -> str:
    """The message for a repeated camera id (shared by the model and the loader)."""
    return f"duplicate camera id {cam_id!r}: used by cameras[{first}] and cameras[{second}]"


class _Model(BaseModel):
    """Shared model settings.

    Unknown keys are errors, instances are immutable and hashable, numbers must be finite, and a
    number given for a text field (``id: 1``) is read as text.
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, coerce_numbers_to_str=True, allow_inf_nan=False
    )

    @field_validator("*", mode="before")
    @classmethod
    def _no_truth_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        """YAML's true and false are refused where a number is expected (``threshold: true``
        is a slip, not 1)."""
        if isinstance(value, bool) and info.field_name in cls.model_fields:
            tp, _ = _unwrap(cls.model_fields[info.field_name].annotation, [])
            if tp in (int, float):
                raise _bool_for_number(value, "whole number" if tp is int else "number")
        return value


class StorageConfig(_Model):
    """Where recordings and the catalog live, and how much of the disk they may take."""

    path: Path = Field(
        description="Directory for recordings and the catalog database (required; must be "
        "writable)."
    )
    max_bytes: int | None = Field(
        default=None,
        ge=10**6,
        le=_MAX_SIZE,
        description='Byte budget for all recordings, 1MB..1000PB ("500GB", "1.5TiB" or bytes); '
        "the oldest unprotected recordings go first. null = no budget.",
    )
    min_free_bytes: int = Field(
        default=5 * 10**9,
        ge=0,
        le=_MAX_SIZE,
        description="Free space kept on the disk, 0..1000PB (same size syntax); retention "
        "deletes the oldest unprotected recordings to restore it.",
    )
    retention_check_s: float = Field(
        default=60.0, ge=5, le=3600, description="Seconds between retention passes, 5..3600."
    )
    require_mount: bool = Field(
        default=False,
        description="Refuse to start unless storage.path is on a mounted disk of its own, not "
        "on the root filesystem (set it for a dedicated disk: a disk that failed to mount "
        "would otherwise fill the system disk).",
    )
    group: str | None = Field(
        default=None,
        description="A group whose members may read the footage, the catalog and the logs "
        "(not the API token); null = the engine's user only.",
    )

    @field_validator("group")
    @classmethod
    def _known_group(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                grp.getgrnam(value)
            except KeyError:
                raise ValueError(
                    f"{_show(value)} is not a group on this machine; create it (groupadd) or "
                    "leave storage.group out"
                ) from None
        return value

    @field_validator("path", mode="before")
    @classmethod
    def _non_empty(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            raise ValueError("must be a directory path; got an empty string")
        return value

    @field_validator("max_bytes", "min_free_bytes", mode="before")
    @classmethod
    def _size(cls, value: Any, info: ValidationInfo) -> Any:
        return _size_in_range(value, cls.model_fields[str(info.field_name)])


class ApiConfig(_Model):
    """The local HTTP API: loopback only (a token guards its commands, nothing encrypts it)."""

    host: str = Field(
        default="127.0.0.1",
        description="Address the API listens on: 127.0.0.1, ::1 or localhost (loopback only).",
    )
    port: int = Field(
        default=8765, ge=0, le=65535, description="TCP port 0..65535; 0 picks a free port."
    )

    @field_validator("host")
    @classmethod
    def _loopback_only(cls, value: str) -> str:
        if value not in _LOOPBACK:
            raise ValueError(
                "the API is loopback-only (plain HTTP, for this machine); use 127.0.0.1, ::1 or "
                f"localhost (reach it remotely through an SSH tunnel); got {_show(value)}"
            )
        return value


class TlsFiles(_Model):
    """A certificate and its key (PEM files), reloaded when they change."""

    cert: Path = Field(description="Certificate chain file (PEM).")
    key: Path = Field(description="Private key file (PEM).")


class WebConfig(_Model):
    """The web server (``nvr web``): its own process, HTTPS, users and roles."""

    listen: str = Field(
        default="0.0.0.0:8443",
        description="HOST:PORT the web server listens on ([::]:8443 for IPv6; port 0..65535, "
        "0 picks a free one and nvr web prints it).",
    )
    tls: Literal["auto", "off"] | TlsFiles = Field(
        default="auto",
        description="auto: a self-signed certificate kept under storage; {cert, key}: PEM files, "
        "reloaded when they change; off: plain HTTP, allowed only on a loopback address.",
    )
    session_idle_minutes: int = Field(
        default=30, ge=1, le=1440, description="Minutes without a request that end a session."
    )
    session_max_hours: int = Field(
        default=12, ge=1, le=720, description="Hours after login that end a session anyway."
    )
    trusted_proxies: tuple[str, ...] = Field(
        default=(),
        description="Addresses of reverse proxies whose X-Forwarded-For is believed (IPs or "
        "networks such as 10.0.0.0/8); empty = none.",
    )

    @field_validator("tls", mode="before")
    @classmethod
    def _tls_form(cls, value: Any) -> Any:
        if isinstance(value, dict):
            missing = [k for k in ("cert", "key") if not value.get(k)]
            unknown = sorted(set(map(str, value)) - {"cert", "key"})
            if missing or unknown:
                raise ValueError(
                    "must be auto, off or {cert: FILE, key: FILE}; "
                    + (f"missing {', '.join(missing)}" if missing else f"unknown key {unknown[0]}")
                )
        elif value not in ("auto", "off"):
            raise ValueError(f"must be auto, off or {{cert: FILE, key: FILE}}; got {_show(value)}")
        return value

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        listen_address(value)
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"{_show(item)} is not an IP address or network (10.0.0.5, 10.0.0.0/8)"
                ) from None
        return value

    @model_validator(mode="after")
    def _tls_off_on_loopback(self) -> WebConfig:
        host, _ = listen_address(self.listen)
        if self.tls == "off" and host not in _LOOPBACK:
            raise ValueError(
                f"tls: off is allowed only when listen is a loopback address (127.0.0.1, ::1); "
                f"{self.listen} would send passwords in clear text: use tls: auto or give "
                "{cert, key}"
            )
        return self


def listen_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8443`` for IPv6) as a host and a port; ValueError naming the form."""
    match = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:(\d{1,5})|([^\s:\[\]]+):(\d{1,5})", text)
    if match is None:
        raise ValueError(f"must be HOST:PORT, such as 0.0.0.0:8443 or [::]:8443; got {_show(text)}")
    host = match[1] or match[3]
    port = int(match[2] or match[4])
    if port > 65535:
        raise ValueError(f"port must be between 0 and 65535 (0 picks a free one); got {port}")
    return host, port


class LoggingConfig(_Model):
    """Log level and daily rotated log files."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Minimum level written: DEBUG, INFO, WARNING or ERROR."
    )
    dir: Path | None = Field(
        default=None, description="Directory for log files; null = <storage.path>/logs."
    )
    keep_days: int = Field(
        default=14, ge=1, le=3650, description="Daily rotated log files kept, 1..3650."
    )

    _blank_dir = field_validator("dir", mode="before")(_blank_to_none)

    def log_dir(self, storage_path: Path | str) -> Path:
        """The log directory: ``dir`` when set, else ``<storage_path>/logs``."""
        return self.dir if self.dir is not None else Path(storage_path) / "logs"


class ScheduleWindow(_Model):
    """A weekly time window in local wall time; ``end`` before ``start`` crosses midnight."""

    days: tuple[Day, ...] = Field(
        default=DAYS,
        min_length=1,
        description="Days the window starts on: mon, tue, wed, thu, fri, sat, sun (default all).",
    )
    start: str = Field(default="00:00", description='Start time "HH:MM", 00:00..23:59.')
    end: str = Field(
        default="24:00",
        description='End time "HH:MM", 00:00..24:00; earlier than start = ends the next day.',
    )

    @field_validator("start", "end", mode="before")
    @classmethod
    def _hhmm(cls, value: Any, info: ValidationInfo) -> str:
        latest = "24:00" if info.field_name == "end" else "23:59"
        match = _TIME.match(value) if isinstance(value, str) else None
        if match:
            hours, minutes = int(match[1]), int(match[2])
            total = hours * 60 + minutes
            if minutes < 60 and total <= _minutes(latest):
                return f"{hours:02d}:{minutes:02d}"
        raise ValueError(f'must be a time "HH:MM" from 00:00 to {latest}; got {_show(value)}')

    @model_validator(mode="after")
    def _not_empty(self) -> ScheduleWindow:
        if self.start == self.end:
            raise ValueError(
                f"start and end are both {self.start}; for a whole day use start 00:00, end 24:00"
            )
        return self

    def contains(self, t: datetime) -> bool:
        """Whether local wall time ``t`` is inside the window.

        A window crossing midnight belongs to the day it starts on: ``fri 22:00-06:00`` covers
        Friday from 22:00 and Saturday until 06:00.
        """
        now = t.hour * 60 + t.minute + (t.second + t.microsecond / 1e6) / 60
        start, end = _minutes(self.start), _minutes(self.end)
        today = DAYS[t.weekday()]
        if start < end:
            return today in self.days and start <= now < end
        yesterday = DAYS[(t.weekday() - 1) % 7]
        return (today in self.days and now >= start) or (yesterday in self.days and now < end)


def in_schedule(schedule: tuple[ScheduleWindow, ...], t: datetime) -> bool:
    """Whether local wall time ``t`` is inside one of the windows (none: always)."""
    return not schedule or any(window.contains(t) for window in schedule)


class RecordConfig(_Model):
    """What is recorded and how it is cut into segment files."""

    mode: Literal["continuous", "motion", "scheduled", "off"] = Field(
        default="continuous",
        description="continuous (always), motion (around motion events), scheduled (inside the "
        "schedule windows) or off.",
    )
    pre_roll_s: float = Field(
        default=5.0, ge=0, le=60, description="Seconds kept before a motion event starts, 0..60."
    )
    post_roll_s: float = Field(
        default=10.0, ge=0, le=600, description="Seconds kept after a motion event ends, 0..600."
    )
    segment_s: float = Field(
        default=60.0, ge=5, le=3600, description="Target length of a segment file, 5..3600 s."
    )
    schedule: tuple[ScheduleWindow, ...] = Field(
        default=(),
        validate_default=True,
        description="Weekly windows; required for mode scheduled. In motion mode a non-empty "
        "schedule limits recording to the windows. Empty = always armed.",
    )

    @field_validator("schedule", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return () if value is None else value

    @field_validator("schedule")
    @classmethod
    def _required_when_scheduled(
        cls, value: tuple[ScheduleWindow, ...], info: ValidationInfo
    ) -> tuple[ScheduleWindow, ...]:
        if not value and info.data.get("mode") == "scheduled":
            raise ValueError(
                'required when mode is scheduled; add a window such as {start: "08:00", '
                'end: "18:00"}'
            )
        return value

    def schedule_active(self, t: datetime) -> bool:
        """Whether local wall time ``t`` is inside a schedule window (an empty schedule: always)."""
        return in_schedule(self.schedule, t)


class MotionConfig(_Model):
    """Frame-differencing motion detector settings."""

    enabled: bool = Field(default=True, description="Run motion detection on this camera.")
    threshold: int = Field(
        default=25, ge=1, le=254, description="Per-pixel luma difference counted as change, 1..254."
    )
    min_area: float = Field(
        default=0.003,
        ge=0.0001,
        le=1,
        description="Fraction of the zone's pixels that must change, 0.0001..1.",
    )
    alpha: float = Field(
        default=0.05, ge=0.001, le=1, description="Background adaptation rate per frame, 0.001..1."
    )
    scale_width: int = Field(
        default=320, ge=64, le=1920, description="Width of the analysis image in pixels, 64..1920."
    )
    light_guard: float = Field(
        default=0.5,
        ge=0.01,
        le=1,
        description="Changed fraction treated as a lighting change (re-calibrate, no event), "
        "0.01..1.",
    )
    start_frames: int = Field(
        default=2, ge=1, le=30, description="Consecutive moving frames that start an event, 1..30."
    )
    end_s: float = Field(
        default=2.0, ge=0, le=60, description="Seconds without motion that end an event, 0..60."
    )
    zones: tuple[Polygon, ...] = Field(
        default=(),
        description="Polygons of >= 3 [x, y] points normalised to 0..1; empty = whole frame.",
    )

    @field_validator("zones", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return () if value is None else value


class CameraAlarms(_Model):
    """Which of this camera's conditions raise an alarm beyond the ones that always do (offline,
    stalled, not recording, restarting in a loop)."""

    motion: bool = Field(default=False, description="Raise an alarm on motion (when armed).")
    schedule: tuple[ScheduleWindow, ...] = Field(
        default=(),
        description="Weekly windows when motion alarms are armed; empty = always armed.",
    )

    @field_validator("schedule", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return () if value is None else value

    def armed(self, t: datetime) -> bool:
        """Whether motion raises an alarm at local wall time ``t``."""
        return self.motion and in_schedule(self.schedule, t)


class AlarmsConfig(_Model):
    """When the engine raises the alarms every camera has."""

    offline_after_s: float = Field(
        default=10.0,
        ge=0,
        le=3600,
        description="Seconds a camera must be offline or not recording before it is an alarm, "
        "0..3600.",
    )
    restarts: int = Field(
        default=3,
        ge=2,
        le=100,
        description="Worker restarts within restarts_within_s that are an alarm, 2..100.",
    )
    restarts_within_s: float = Field(
        default=600.0, ge=60, le=86400, description="The window restarts are counted in, 60..86400."
    )


def _days_field(recording_type: str) -> Any:
    return Field(
        default=None,
        ge=1,
        le=_MAX_DAYS,
        description=f"Days {recording_type} recordings are kept, 1..36500; null = max_days.",
    )


class TypeDays(_Model):
    """Days kept per recording type, overriding the camera's ``max_days`` (longer or shorter)."""

    continuous: int | None = _days_field("continuous")
    motion: int | None = _days_field("motion")
    scheduled: int | None = _days_field("scheduled")
    manual: int | None = _days_field("manual")
    panic: int | None = _days_field("panic")


class RetentionConfig(_Model):
    """How long, and how many bytes of, one camera's recordings are kept.

    Protected recordings are never deleted. The storage section adds a global budget and a
    free-space reserve.
    """

    max_days: int | None = Field(
        default=None,
        ge=1,
        le=_MAX_DAYS,
        description=(
            "Days a recording is kept after it ends, 1..36500; null (default) = no age limit: "
            "the oldest go only when the free-space reserve or a byte budget needs room."
        ),
    )
    max_bytes: int | None = Field(
        default=None,
        ge=10**6,
        le=_MAX_SIZE,
        description='Byte budget for this camera, 1MB..1000PB ("200GB" or bytes); the oldest '
        "unprotected recordings go first. null = no budget.",
    )
    per_type_days: TypeDays = Field(
        default_factory=TypeDays,
        description="Days per recording type (continuous, motion, scheduled, manual, panic), "
        "e.g. {motion: 60, continuous: 7}; types not listed keep max_days.",
    )

    @field_validator("max_bytes", mode="before")
    @classmethod
    def _size(cls, value: Any, info: ValidationInfo) -> Any:
        return _size_in_range(value, cls.model_fields[str(info.field_name)])

    @field_validator("per_type_days", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value

    def days_for(self, recording_type: str) -> int | None:
        """Days recordings of this type are kept (None = no age limit)."""
        days: int | None = getattr(self.per_type_days, recording_type)
        return self.max_days if days is None else days


_HOST = re.compile(r"^[A-Za-z0-9._:\[\]-]{1,253}$")


class OnvifConfig(_Model):
    """How the engine reaches a camera's ONVIF services for pan, tilt, zoom and presets."""

    host: str = Field(description="The camera's address for ONVIF: a host name or IP (required).")
    port: int = Field(default=80, ge=1, le=65535, description="Its ONVIF HTTP port, 1..65535.")
    username: str = Field(description="ONVIF user (required).")
    password: SecretStr = Field(
        description="ONVIF password (required); ${VAR} keeps it out of the file."
    )
    profile: str | None = Field(
        default=None,
        description="Media profile token to steer; null = the first with a PTZ configuration.",
    )
    timeout_s: float = Field(
        default=2.0, ge=0.5, le=10, description="Every ONVIF call's time limit, 0.5..10 s."
    )

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if not _HOST.match(value):
            raise ValueError(
                "must be a host name or IP address alone (no http://, path or spaces); got "
                f"{_show(value)}"
            )
        return value

    @field_validator("username")
    @classmethod
    def _user(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("password")
    @classmethod
    def _password(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value():
            raise ValueError("must not be empty; put it in an environment variable: ${VAR}")
        return value


class CameraConfig(_Model):
    """One camera: its streams, recording mode and motion detection."""

    id: str = Field(
        description="Unique id: 1..32 of a-z, 0-9, '_' and '-', starting with a letter or digit."
    )
    name: str | None = Field(
        default=None,
        max_length=80,
        description="Display name, 1..80 characters on one line; null = the id.",
    )
    enabled: bool = Field(default=True, description="false keeps the camera configured but idle.")
    main: str = Field(
        description="Main stream: rtsp:// or rtsps:// URL, or a local video file path / file:// "
        "URL (looped in real time). Recorded as-is (required)."
    )
    sub: str | None = Field(
        default=None,
        description="Optional low-resolution stream decoded for motion and live view; "
        "null = decode the main stream.",
    )
    transport: Literal["tcp", "udp"] = Field(default="tcp", description="RTSP transport: tcp|udp.")
    timeout_s: float = Field(
        default=5.0, ge=1, le=60, description="Silence after which the stream is lost, 1..60 s."
    )
    record: RecordConfig = Field(default_factory=RecordConfig, description="Recording settings.")
    motion: MotionConfig = Field(default_factory=MotionConfig, description="Motion detection.")
    retention: RetentionConfig = Field(
        default_factory=RetentionConfig, description="How long recordings are kept."
    )
    alarms: CameraAlarms = Field(
        default_factory=CameraAlarms, description="Motion alarms and when they are armed."
    )
    onvif: OnvifConfig | None = Field(
        default=None, description="ONVIF pan, tilt, zoom and presets; null = no PTZ."
    )

    _blank_name_sub = field_validator("name", "sub", mode="before")(_blank_to_none)

    @field_validator("id")
    @classmethod
    def _id_format(cls, value: str) -> str:
        if not _CAMERA_ID.match(value):
            raise ValueError(
                "must be 1 to 32 characters of a-z, 0-9, '_' or '-', starting with a letter or "
                f"digit; got {_show(value)}"
            )
        return value

    @field_validator("main", "sub")
    @classmethod
    def _stream(cls, value: str | None) -> str | None:
        return None if value is None else _check_stream(value)

    @field_validator("record", "motion", "retention", "alarms", mode="before")
    @classmethod
    def _null_is_defaults(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("name")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is not None and any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in value):
            raise ValueError("must be text on one line, without control characters")
        return value

    @field_validator("motion")
    @classmethod
    def _motion_for_motion_mode(cls, value: MotionConfig, info: ValidationInfo) -> MotionConfig:
        record = info.data.get("record")
        if record is not None and record.mode == "motion" and not value.enabled:
            raise PydanticCustomError(
                "motion_disabled",
                "must be true when record.mode is motion; enable motion detection or choose "
                "another record.mode",
                {"sub_loc": ("enabled",)},
            )
        return value

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Like pydantic's, with stream credentials redacted (reprs end up in logs)."""
        for name, value in super().__repr_args__():
            yield name, redact_url(value) if name in ("main", "sub") and value else value

    @property
    def display_name(self) -> str:
        """The name shown to people: ``name`` or, when unset, the id."""
        return self.name or self.id


class Config(_Model):
    """The whole configuration file."""

    storage: StorageConfig = Field(description="Recordings and catalog location (required).")
    api: ApiConfig = Field(default_factory=ApiConfig, description="Local HTTP API.")
    logging: LoggingConfig = Field(default_factory=LoggingConfig, description="Log files.")
    alarms: AlarmsConfig = Field(
        default_factory=AlarmsConfig, description="When camera and storage alarms are raised."
    )
    web: WebConfig = Field(
        default_factory=WebConfig, description="Web server for remote access (nvr web)."
    )
    cameras: tuple[CameraConfig, ...] = Field(
        default=(), description="Cameras; ids must be unique. May be empty."
    )

    @field_validator("api", "logging", "storage", "alarms", "web", mode="before")
    @classmethod
    def _null_is_defaults(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("cameras", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return () if value is None else value

    @field_validator("cameras")
    @classmethod
    def _unique_ids(cls, value: tuple[CameraConfig, ...]) -> tuple[CameraConfig, ...]:
        for first, second, cam_id in _duplicate_ids(value):
            raise PydanticCustomError(
                "duplicate_camera_id",
                _duplicate_text(first, second, cam_id),
                {"sub_loc": (second, "id")},
            )
        return value

    def camera(self, camera_id: str) -> CameraConfig | None:
        """The camera with this id, or None."""
        return next((c for c in self.cameras if c.id == camera_id), None)


# --- loading and error reporting -------------------------------------------------------------

Loc = tuple[str | int, ...]


def _path_text(loc: Loc) -> str:
    """``('cameras', 0, 'record')`` -> ``cameras[0].record``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "top level"


def _line_of(lines: dict[Loc, int], loc: Loc) -> int | None:
    """Line of ``loc`` in the file, falling back to the nearest ancestor that has one."""
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _unwrap(tp: Any, meta: list[Any]) -> tuple[Any, list[Any]]:
    """Strip ``Annotated`` (collecting its constraints) and ``| None`` from a type."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp, *extra = get_args(tp)
            for item in extra:
                meta = meta + (item.metadata if isinstance(item, FieldInfo) else [item])
        elif origin in (Union, UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp, meta
            tp = args[0]
        else:
            return tp, meta


def _schema_at(loc: Loc) -> tuple[Any, list[Any]]:
    """The type and constraint metadata that validate the value at ``loc`` (None if unknown)."""
    tp: Any = Config
    meta: list[Any] = []
    for part in loc:
        tp, meta = _unwrap(tp, meta)
        if isinstance(tp, type) and issubclass(tp, BaseModel) and part in tp.model_fields:
            field = tp.model_fields[str(part)]
            tp, meta = field.annotation, list(field.metadata)
        elif isinstance(part, int) and get_origin(tp) is tuple:
            args = get_args(tp)
            if args[-1] is Ellipsis:
                tp = args[0]
            elif part < len(args):
                tp = args[part]
            else:
                return None, []
            meta = []
        else:
            return None, []
    return _unwrap(tp, meta)


def _bounds(meta: list[Any]) -> tuple[Any, Any]:
    """The ``ge`` and ``le`` limits among a field's constraints (None where absent)."""
    low = next((m.ge for m in meta if hasattr(m, "ge")), None)
    high = next((m.le for m in meta if hasattr(m, "le")), None)
    return low, high


_TYPE_TEXT = {
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be a text string",
    "tuple_type": "must be a list",
    "path_type": "must be a filesystem path",
}


def _explain(error: Any) -> tuple[Loc, str]:
    """Turn one pydantic error into ``(location, plain sentence)``."""
    kind, loc, ctx = error["type"], tuple(error["loc"]), error.get("ctx") or {}
    got = f"; got {_show(error.get('input'))}"
    if kind == "missing":
        return loc, "required key is missing"
    if kind == "extra_forbidden":
        parent, _ = _schema_at(loc[:-1])
        if isinstance(parent, type) and issubclass(parent, BaseModel):
            return loc, f"unknown key; allowed keys are {', '.join(parent.model_fields)}"
        return loc, "unknown key"
    if kind == "literal_error":
        tp, _ = _schema_at(loc)
        allowed = ", ".join(map(str, get_args(tp))) if get_origin(tp) is Literal else None
        return loc, f"must be one of {allowed or ctx.get('expected')}{got}"
    if kind in ("greater_than_equal", "less_than_equal"):
        low, high = _bounds(_schema_at(loc)[1])
        if low is not None and high is not None:
            return loc, f"must be between {low} and {high}{got}"
        if "ge" in ctx:
            return loc, f"must be at least {ctx['ge']}{got}"
        return loc, f"must be at most {ctx['le']}{got}"
    if kind == "model_type":
        tp, _ = _schema_at(loc)
        is_model = isinstance(tp, type) and issubclass(tp, BaseModel)
        keys = f" with keys {', '.join(tp.model_fields)}" if is_model else ""
        return loc, f"must be a mapping{keys}{got}"
    if kind in ("too_short", "too_long"):
        bound = "at least" if kind == "too_short" else "at most"
        limit = ctx.get("min_length" if kind == "too_short" else "max_length")
        return loc, f"must have {bound} {limit} item(s); got {ctx.get('actual_length')}"
    if kind in ("string_too_short", "string_too_long"):
        bound = "at least" if kind == "string_too_short" else "at most"
        limit = ctx.get("min_length" if kind == "string_too_short" else "max_length")
        return loc, f"must be {bound} {limit} characters; got {len(str(error['input']))}"
    if kind in _TYPE_TEXT:
        return loc, _TYPE_TEXT[kind] + got
    if kind == "value_error":
        return loc, str(ctx.get("error", error["msg"]))
    return loc + tuple(ctx.get("sub_loc", ())), error["msg"]


def _expand(value: str, loc: Loc, problems: list[tuple[Loc, str]], unset: set[Loc]) -> str:
    """Substitute ``${VAR}`` / ``${VAR:-default}``; report variables that are unset, no default."""

    def substitute(match: re.Match[str]) -> str:
        name, default = match[1], match[2]
        current = os.environ.get(name)
        if default is not None:
            return current or default
        if current is None:
            problems.append(
                (
                    loc,
                    f"environment variable {name} is not set; export it or put the value in the "
                    "file",
                )
            )
            unset.add(loc)
            return match[0]
        return current

    return _ENV.sub(substitute, value)


def _plain(
    node: Any, loc: Loc, lines: dict[Loc, int], problems: list[tuple[Loc, str]], unset: set[Loc]
) -> Any:
    """Convert the ruamel tree to plain data, recording each key's and item's line."""
    if isinstance(node, CommentedMap):
        out: dict[str, Any] = {}
        for key, value in node.items():
            child = (*loc, str(key))
            with contextlib.suppress(KeyError):  # merged (<<) keys have no position of their own
                lines[child] = node.lc.key(key)[0] + 1
            out[str(key)] = _plain(value, child, lines, problems, unset)
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for index, value in enumerate(node):
            child = (*loc, index)
            lines[child] = node.lc.item(index)[0] + 1
            items.append(_plain(value, child, lines, problems, unset))
        return items
    if isinstance(node, str):
        return _expand(str(node), loc, problems, unset)
    if isinstance(node, bool):
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


def _yaml_problem(exc: YAMLError) -> str:
    """A one-line description of a YAML syntax error with its line and column."""
    if isinstance(exc, MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        text = f"YAML syntax error at line {mark.line + 1}, column {mark.column + 1}: {exc.problem}"
        if exc.context and exc.context_mark is not None:
            text += f" ({exc.context} at line {exc.context_mark.line + 1})"
        return redact_text(text)
    return redact_text(f"YAML syntax error: {exc}")


def _validation_problems(exc: ValidationError, unset: set[Loc]) -> list[tuple[Loc, str]]:
    """Explain pydantic's errors, minus follow-on noise.

    Dropped: errors on a value whose environment variable is unset (already reported), and a
    list's length error when some of its items are invalid (pydantic counts only valid items).
    """
    errors = exc.errors()
    locs = [tuple(e["loc"]) for e in errors]
    kept = []
    for error, loc in zip(errors, locs, strict=True):
        if any(loc[: len(u)] == u for u in unset):
            continue
        if error["type"] in ("too_short", "too_long") and any(
            len(other) > len(loc) and other[: len(loc)] == loc for other in locs
        ):
            continue
        kept.append(_explain(error))
    return kept


def parse_config(text: str, source: str = "<config>") -> Config:
    """Parse and validate YAML text; raise ConfigError listing every problem found."""
    try:
        document = YAML(typ="rt").load(text)
    except YAMLError as exc:
        raise ConfigError(source, [_yaml_problem(exc)]) from None
    if document is None:
        raise ConfigError(
            source,
            [
                "the configuration is empty; it must at least set storage.path "
                "(see config/nvr.example.yaml)"
            ],
        )
    if not isinstance(document, dict):
        line = document.lc.line + 1 if isinstance(document, CommentedSeq) else 1
        sections = ", ".join(Config.model_fields)
        raise ConfigError(
            source,
            [
                f"top level (line {line}): must be a mapping of the sections {sections}; "
                f"got {_show(document)}"
            ],
        )

    lines: dict[Loc, int] = {}
    problems: list[tuple[Loc, str]] = []
    unset: set[Loc] = set()
    data = _plain(document, (), lines, problems, unset)
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems.extend(_validation_problems(exc, unset))
        cameras = data.get("cameras")
        if isinstance(cameras, list):  # the model checks this only when every camera is valid
            problems.extend(
                (("cameras", second, "id"), _duplicate_text(first, second, cam_id))
                for first, second, cam_id in _duplicate_ids(cameras)
            )
    else:
        if not problems:
            return config

    located = [(_line_of(lines, loc), _path_text(loc), text) for loc, text in problems]
    located.sort(key=lambda item: item[0] or 0)
    messages = [
        f"{path} (line {line}): {text}" if line else f"{path}: {text}"
        for line, path, text in located
    ]
    raise ConfigError(source, list(dict.fromkeys(messages)))


def load_config(path: str | Path) -> Config:
    """Read and validate the configuration file at ``path``; raise ConfigError on any problem."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), [f"the file is not UTF-8 text ({exc.reason})"]) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError(str(path), [f"cannot read the configuration file: {reason}"]) from None
    return parse_config(text, source=str(path))
