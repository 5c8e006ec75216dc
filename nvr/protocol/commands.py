"""Commands from user interfaces (``POST /api/command``) and the engine's replies, typed.

The fields are the roadmap's ``UICommandMessage``; the console, the tests and the coming web
server send them through ``nvr.protocol.client``. ``parse_command`` is the one place a request
body becomes a ``Command``: every rule a client can break is checked there, with a message that
names it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields
from typing import Any

from nvr.config_edit import parse_edits
from nvr.errors import RequestError
from nvr.protocol.alarms import Alarm
from nvr.protocol.codec import to_json
from nvr.protocol.health import ConfigStatus

SCHEMA_VERSION = "2.0"

# Commands the API accepts (Command.command), with the params each takes.
COMMANDS: dict[str, tuple[str, ...]] = {
    "start_recording": (),  # manual recording on camera_id ("*" = every camera), with pre-roll
    "stop_recording": (),  # end manual recording on camera_id ("*" = every camera)
    "panic": ("active",),  # active true/false: record every camera at once until cleared
    "reload_config": (),  # re-read the YAML file now
    "config_status": (),  # the config in force and the last reload result
    "ack_alarm": ("alarm_id", "by"),  # acknowledge alarm_id (a list of them, "*" = all); by = who
    "clear_alarm": ("alarm_id", "by"),  # clear ended alarm_id (a list of them, "*" = all ended)
    "watch_main": ("seconds",),  # decode camera_id's main stream into its second ring a while
    "restart_worker": ("by",),  # restart camera_id's worker (the others go on); by = who
    "maintain_catalog": (),  # check and optimise the catalog now (/health: catalog_check)
    # edit the config file (nvr.config_edit's edits) and put it in force; by = who, for history
    "save_config": ("edits", "base_sha256", "by", "note"),
    # put an earlier config version back, as a new one (refused over a newer save, like save)
    "revert_config": ("version", "base_sha256", "by"),
    # keep camera_id's recordings overlapping [start_ns, end_ns) from retention, or release them
    "protect": ("start_ns", "end_ns", "protected"),
    # steer camera_id (docs/ptz.md): velocities -1..1, Stop sent after timeout_s unless renewed
    "ptz_move": ("pan", "tilt", "zoom", "timeout_s"),
    "ptz_stop": (),
    "ptz_center": ("x", "y"),  # turn toward a point of the picture, -1..1 from its centre
    "ptz_goto_preset": ("name",),
    "ptz_save_preset": ("name", "replace"),  # replace: overwrite the preset of that name
    "ptz_remove_preset": ("name",),
    "ptz_rename_preset": ("name", "new_name"),  # the camera goes to the preset to store it
}
PTZ_COMMANDS = tuple(c for c in COMMANDS if c.startswith("ptz_"))
MAX_PTZ_TIMEOUT_S = 10.0
MAX_PRESET_CHARS = 40
MAX_WATCH_S = 30
MAX_BY_CHARS = 100  # a name (``by``, ``ui_session_id``): printable, at most this long
MAX_ALARM_IDS = 1000
_MAX_ID = 2**63 - 1
EVERY_CAMERA = "*"  # the camera_id that means every camera (no camera id can be "*")
# These need camera_id: there is no default.
NEEDS_CAMERA = (
    "start_recording",
    "stop_recording",
    "watch_main",
    "restart_worker",
    "protect",
    *PTZ_COMMANDS,
)
MAX_NOTE_CHARS = 200
ONE_CAMERA = ("restart_worker", "protect", "watch_main", *PTZ_COMMANDS)  # "*" is refused


@dataclass(frozen=True, slots=True)
class Command:
    """A command from a user interface, as the roadmap defines it."""

    command: str
    camera_id: str = "*"
    ui_session_id: str = ""
    timestamp: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    schema_version: str = SCHEMA_VERSION

    @property
    def every_camera(self) -> bool:
        return self.camera_id == EVERY_CAMERA


@dataclass(frozen=True, slots=True)
class CameraAck:
    """One camera's answer to a recording command (``recording`` None: no answer in time;
    ``pending``: the request is in force but the camera's stream is down, nothing is recorded)."""

    acknowledged: bool
    recording: bool | None = None
    pending: bool = False


@dataclass(frozen=True, slots=True)
class CommandReply:
    """The engine's reply to a command; ``ok`` False with ``error`` and ``code`` when refused,
    or with ``detail`` when some camera did not acknowledge in time (HTTP 202)."""

    ok: bool
    command: str = ""
    camera_id: str = ""
    ui_session_id: str = ""
    schema_version: str = SCHEMA_VERSION
    error: str | None = None
    code: str | None = None
    detail: str | None = None
    ack_ms: float | None = None
    cameras: dict[str, CameraAck] | None = None
    config: ConfigStatus | None = None  # config_status; save_config, revert_config: in force
    alarms: tuple[Alarm, ...] | None = None  # the alarms an ack_alarm or clear_alarm changed

    @classmethod
    def to(cls, command: Command, ok: bool, **values: Any) -> CommandReply:
        """A reply echoing the command's identity."""
        return cls(
            ok,
            command.command,
            command.camera_id,
            command.ui_session_id,
            command.schema_version,
            **values,
        )

    def to_json(self) -> dict[str, Any]:
        """The reply's JSON; fields that do not apply (None) are left out."""
        return {k: v for k, v in to_json(self).items() if v is not None}


_FIELDS = tuple(f.name for f in fields(Command))


def parse_command(body: bytes) -> Command:
    """The command in a request body; ``RequestError`` ("bad command: ...") naming what is wrong."""
    try:
        data = json.loads(body or b"{}", object_pairs_hook=_no_duplicates)
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        unknown = set(data) - set(_FIELDS)
        if unknown:
            raise ValueError(f"unknown field(s) {sorted(unknown)}; allowed: {sorted(_FIELDS)}")
        for name, value in data.items():
            if name != "params" and not isinstance(value, str):
                raise ValueError(f"{name} must be a string")
        session = data.get("ui_session_id", "")
        if session and not _is_name(session):  # it names who did what in the logs
            raise ValueError(f"ui_session_id must be at most {MAX_BY_CHARS} printable characters")
        if "command" not in data:
            raise ValueError("the command field is missing")
        if data["command"] in NEEDS_CAMERA and not data.get("camera_id"):
            one = data["command"] in ONE_CAMERA
            raise ValueError(
                f"{data['command']} needs camera_id: a camera's id"
                + ("" if one else ', or "*" for every camera')
            )
        command = Command(**data)
        if command.schema_version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
            raise ValueError(
                f"schema_version {command.schema_version} is not supported; send {SCHEMA_VERSION}"
            )
        if command.command not in COMMANDS:
            raise ValueError(f"unknown command {command.command!r}; allowed: {list(COMMANDS)}")
        if not isinstance(command.params, dict):
            raise ValueError("params must be a JSON object")
        allowed = COMMANDS[command.command]
        unknown = set(command.params) - set(allowed)
        if unknown:  # a typo must not fall back to a default (panic's "active" is true)
            raise ValueError(
                f"{command.command} takes no params {sorted(unknown)}"
                + (f"; allowed: {list(allowed)}" if allowed else "")
            )
        if not isinstance(command.params.get("active", True), bool):
            raise ValueError("params.active must be true or false")
        if command.command in ("ack_alarm", "clear_alarm"):
            _check_alarm_params(command.params)
        if command.command in ONE_CAMERA and command.every_camera:
            raise ValueError(f"{command.command} takes one camera_id, not every camera")
        if command.command in ("save_config", "revert_config"):
            _check_config_params(command.command, command.params)
        if command.command == "protect":
            _check_protect_params(command.params)
        if command.command in PTZ_COMMANDS:
            _check_ptz_params(command.command, command.params)
        if command.command == "restart_worker":
            by = command.params.get("by", "")
            if not isinstance(by, str) or not _is_name(by) and by != "":
                raise ValueError(f"params.by must be a name of at most {MAX_BY_CHARS} characters")
        if command.command == "watch_main":
            seconds = command.params.get("seconds", 6)
            if isinstance(seconds, bool) or not isinstance(seconds, int | float):
                raise ValueError(f"params.seconds must be a number from 1 to {MAX_WATCH_S}")
            if not 1 <= seconds <= MAX_WATCH_S or command.every_camera:
                raise ValueError(
                    f"watch_main takes one camera_id and params.seconds from 1 to {MAX_WATCH_S}"
                )
    except (ValueError, TypeError, RecursionError) as err:
        raise RequestError(f"bad command: {_reason(err)}") from err
    return command


def _check_alarm_params(params: dict[str, Any]) -> None:
    alarm_id = params.get("alarm_id")
    ids = alarm_id if isinstance(alarm_id, list) else [alarm_id]
    if alarm_id != "*" and not (
        0 < len(ids) <= MAX_ALARM_IDS
        and all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i <= _MAX_ID for i in ids)
    ):
        raise ValueError(
            "params.alarm_id must be an alarm's id, a list of up to "
            f'{MAX_ALARM_IDS} of them, or "*" for every one'
        )
    by = params.get("by", "")
    if not isinstance(by, str) or not _is_name(by) and by != "":
        raise ValueError(f"params.by must be a name of at most {MAX_BY_CHARS} printable characters")


def _check_config_params(name: str, params: dict[str, Any]) -> None:
    base = params.get("base_sha256")
    if base is not None and not (isinstance(base, str) and re.fullmatch("[0-9a-f]{64}", base)):
        raise ValueError("params.base_sha256 must be the 64 hex digits /api/config/text gave")
    if name == "save_config":
        parse_edits(params.get("edits"))  # RequestError naming the malformed edit
        note = params.get("note", "")
        if not isinstance(note, str) or len(note) > MAX_NOTE_CHARS or not note.isprintable():
            raise ValueError(f"params.note must be at most {MAX_NOTE_CHARS} printable characters")
    else:
        version = params.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or not 0 < version < _MAX_ID:
            raise ValueError("params.version must be a version number from the config history")
    by = params.get("by", "")
    if not isinstance(by, str) or not _is_name(by) and by != "":
        raise ValueError(f"params.by must be a name of at most {MAX_BY_CHARS} printable characters")


def _check_ptz_params(command: str, params: dict[str, Any]) -> None:
    for key in ("pan", "tilt", "zoom", "x", "y"):
        value = params.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int | float) or not -1 <= value <= 1:
            raise ValueError(f"params.{key} must be a number from -1 to 1")
    timeout = params.get("timeout_s", 1)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise ValueError(f"params.timeout_s must be seconds from 0.2 to {MAX_PTZ_TIMEOUT_S:g}")
    if not 0.2 <= timeout <= MAX_PTZ_TIMEOUT_S:
        raise ValueError(f"params.timeout_s must be seconds from 0.2 to {MAX_PTZ_TIMEOUT_S:g}")
    for key in ("name", "new_name"):  # a preset command's names are required
        value = params.get(key)
        if key in COMMANDS[command] and not (
            isinstance(value, str)
            and value.strip()
            and len(value) <= MAX_PRESET_CHARS
            and value.isprintable()
        ):
            raise ValueError(
                f"params.{key} must be a preset name of 1 to {MAX_PRESET_CHARS} printable "
                "characters"
            )
    if not isinstance(params.get("replace", False), bool):
        raise ValueError("params.replace must be true or false")


def _check_protect_params(params: dict[str, Any]) -> None:
    start, end = params.get("start_ns"), params.get("end_ns")
    if not all(
        isinstance(t, int) and not isinstance(t, bool) and 0 <= t < _MAX_ID for t in (start, end)
    ):
        raise ValueError("params.start_ns and params.end_ns must be times in ns since 1970")
    assert isinstance(start, int) and isinstance(end, int)
    if start >= end:
        raise ValueError("params.start_ns must be before params.end_ns")
    if not isinstance(params.get("protected"), bool):
        raise ValueError("params.protected is required: true (keep) or false (release)")


def alarm_ids(params: dict[str, Any]) -> list[int] | None:
    """A checked command's alarms: their ids, or None for every one."""
    alarm_id = params["alarm_id"]
    return None if alarm_id == "*" else list(alarm_id) if isinstance(alarm_id, list) else [alarm_id]


def _is_name(text: str) -> bool:
    return 0 < len(text) <= MAX_BY_CHARS and text.isprintable() and not text.isspace()


def load_json(body: bytes, what: str) -> Any:
    """A request body's JSON; ``RequestError`` ("bad <what>: ...") for broken JSON, a field
    given twice, or nesting too deep."""
    try:
        return json.loads(body, object_pairs_hook=_no_duplicates)
    except (ValueError, RecursionError) as err:
        raise RequestError(f"bad {what}: {_reason(err)}") from None


def _reason(err: BaseException) -> str:
    """Why a body was refused, in the client's terms (not Python's)."""
    if isinstance(err, RecursionError):
        return "nested too deeply"
    if "int_max_str_digits" in str(err):
        return "a number with thousands of digits"
    return str(err)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise ValueError(f"field(s) {repeated} given twice")
    return dict(pairs)
