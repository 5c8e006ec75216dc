"""The one client of the engine's loopback API, for the console, the tests, the benchmarks and
the coming web server. Calls block (run them off any UI thread) and never hang: every request
has a timeout."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from nvr.errors import EngineRefusedError, EngineUnreachableError, NvrError
from nvr.protocol.alarms import Alarm, AlarmList, EventBatch
from nvr.protocol.codec import from_json
from nvr.protocol.commands import SCHEMA_VERSION, CommandReply
from nvr.protocol.health import Health
from nvr.protocol.runfile import read_run_file, read_token, run_file_path

if TYPE_CHECKING:
    from nvr.config import Config

TIMEOUT_S = 5.0
COMMAND_TIMEOUT_S = 10.0  # the engine waits up to 2 s for workers to acknowledge
CONFIG_TIMEOUT_S = 35.0  # a config save is answered once in force (workers restarted)
PROBE_TIMEOUT_S = 45.0  # a stream test waits for the camera (up to its timeouts)
DEFAULT_API = "http://127.0.0.1:8765"


@dataclass(frozen=True, slots=True)
class EngineAddress:
    """Where an engine's API answers, and its token (None: only /health and /metrics)."""

    url: str
    token: str | None = None


def find_engine(
    config: Config | None, api: str | None = None, token_file: Path | None = None
) -> EngineAddress:
    """The engine's API: ``api`` if given, else the config's ``api`` section, or the run file
    the engine wrote when it picked a free port (``api.port: 0``). The token comes from
    ``token_file``, else from the engine's storage when the config is known."""
    if token_file is not None:
        try:
            token: str | None = token_file.read_text().strip()
        except OSError as err:
            raise NvrError(f"cannot read the API token file {token_file} ({err.strerror})") from err
    else:
        token = _stored_token(config)
    if api:
        return EngineAddress(api_url(api), token)
    if config is None:
        return EngineAddress(DEFAULT_API, token)
    if config.api.port == 0:
        storage = Path(config.storage.path)
        try:
            return EngineAddress(read_run_file(storage).api, token)
        except (OSError, ValueError) as err:
            raise NvrError(
                f"api.port is 0 and {run_file_path(storage)} is unreadable ({err}); start the "
                "engine first or give its address with --api"
            ) from err
    host = "[::1]" if config.api.host == "::1" else config.api.host
    return EngineAddress(f"http://{host}:{config.api.port}", token)


def api_url(text: str) -> str:
    """An engine address given by hand (``127.0.0.1:8765``, ``http://[::1]:8765``) as a URL;
    ``NvrError`` naming the form for anything else (``htp:/x``, a path, no port)."""
    url = text if "://" in text else f"http://{text}"
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "http" or not parts.hostname or port is None or parts.path not in ("", "/"):
        raise NvrError(
            f"--api {text[:80]!r} is not an engine address: give HOST:PORT or "
            "http://HOST:PORT (the API speaks plain HTTP on a loopback address)"
        )
    return url.rstrip("/")


def _stored_token(config: Config | None) -> str | None:
    """The token the engine of ``config`` wrote at its start, if it can be read."""
    if config is None:
        return None
    try:
        return read_token(Path(config.storage.path))
    except NvrError:  # not started yet, or another user's: /health still answers
        return None


def describe_unreachable(api: str, err: BaseException) -> str:
    """One line naming why the engine cannot be reached and what to do about it."""
    reason = getattr(err, "reason", None) or err
    if isinstance(reason, ConnectionRefusedError):
        cause = "nothing is listening there"
    elif isinstance(reason, TimeoutError):
        cause = "it did not answer in time"
    else:
        cause = str(reason)
    return (
        f"engine not reachable at {api} ({cause}): start it with `nvr run -c CONFIG` "
        "or give its address with --api"
    )


@dataclass(frozen=True, slots=True)
class RecordedFrame:
    """A recorded frame as the API serves it: a JPEG, shown from ``time_ns`` to ``end_ns``."""

    jpeg: bytes
    time_ns: int
    end_ns: int
    recording_id: int | None  # None: the segment being written (no catalog row yet)


class EngineClient:
    """Requests to one engine's API; ``EngineUnreachableError`` when it cannot be reached."""

    def __init__(
        self,
        api: str,
        session_id: str = "",
        timeout_s: float = TIMEOUT_S,
        token: str | None = None,
    ) -> None:
        self.api = api.rstrip("/")
        self.session_id = session_id
        self.timeout_s = timeout_s
        self._headers = {"Content-Type": "application/json"}
        if token:  # commands and catalog routes need it; /health and /metrics do not
            self._headers["Authorization"] = f"Bearer {token}"

    def request(
        self, method: str, path: str, body: Any = None, timeout_s: float | None = None
    ) -> tuple[int, Any]:
        """HTTP status and parsed JSON body (text for ``/metrics``), error statuses included."""
        status, raw, headers = self._fetch(method, path, body, timeout_s)
        if not (headers.get("Content-Type") or "").startswith("application/json"):
            return status, raw.decode(errors="replace")
        try:
            return status, json.loads(raw or b"{}")
        except ValueError as err:
            raise EngineUnreachableError(
                f"the engine at {self.api} answered {path} with broken JSON ({err})"
            ) from err

    def _fetch(
        self, method: str, path: str, body: Any = None, timeout_s: float | None = None
    ) -> tuple[int, bytes, Message]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.api + path, data=data, method=method, headers=self._headers
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_s or self.timeout_s) as response:
                return response.status, response.read(), response.headers
        except urllib.error.HTTPError as err:
            return err.code, err.read(), err.headers
        except (OSError, ValueError) as err:
            raise EngineUnreachableError(describe_unreachable(self.api, err)) from err

    def get(self, path: str) -> Any:
        """A GET route's JSON (text for ``/metrics``); ``NvrError`` when it is refused."""
        status, body = self.request("GET", path)
        if status >= 400:
            error = body.get("error") if isinstance(body, dict) else body
            raise EngineRefusedError(f"GET {path}", status, error)
        return body

    def health(self) -> Health:
        return from_json(Health, self.get("/health"))

    # -- recorded footage ------------------------------------------------------------------

    def timeline(
        self, camera_ids: list[str], start_ns: int, end_ns: int, buckets: int = 200
    ) -> dict[str, Any]:
        query = urlencode(
            {
                "camera_id": ",".join(camera_ids),
                "start_ns": start_ns,
                "end_ns": end_ns,
                "buckets": buckets,
            }
        )
        result: dict[str, Any] = self.get(f"/api/timeline?{query}")
        return result

    def frame(self, camera_id: str, at_ns: int, width: int | None = None) -> RecordedFrame | None:
        """The recorded frame shown at ``at_ns`` as JPEG (full size, or ``width`` pixels wide);
        None where nothing was recorded."""
        values: dict[str, str | int] = {"camera_id": camera_id, "at_ns": at_ns}
        if width is not None:
            values["width"] = width
        query = urlencode(values)
        status, raw, headers = self._fetch(
            "GET", f"/api/frame?{query}", timeout_s=COMMAND_TIMEOUT_S
        )
        if status == 404 and json.loads(raw or b"{}").get("code") == "not_found":
            return None
        self._check_image(status, raw, "/api/frame")
        return RecordedFrame(
            raw,
            int(headers["X-Frame-Time-Ns"]),
            int(headers["X-Frame-End-Ns"]),
            int(headers["X-Recording-Id"]) if headers.get("X-Recording-Id") else None,
        )

    def thumbnail(self, recording_id: int | None = None, event_id: int | None = None) -> bytes:
        """A recording's or an event's thumbnail (JPEG); ``NvrError`` when it has none."""
        key, value = ("recording_id", recording_id) if event_id is None else ("event_id", event_id)
        status, raw, _ = self._fetch("GET", f"/api/thumbnail?{key}={value}")
        self._check_image(status, raw, "/api/thumbnail")
        return raw

    def export(self, camera_ids: list[str], start_ns: int, end_ns: int) -> dict[str, Any]:
        """Start an export job; the job as the engine reports it (``export_status``)."""
        body = {"camera_ids": camera_ids, "start_ns": start_ns, "end_ns": end_ns}
        status, reply = self.request("POST", "/api/export", body)
        if status != 202 or not isinstance(reply, dict):
            error = reply.get("error") if isinstance(reply, dict) else reply
            raise EngineRefusedError("export refused", status, error)
        job: dict[str, Any] = reply["job"]
        return job

    def export_status(self, job_id: str) -> dict[str, Any]:
        job: dict[str, Any] = self.get(f"/api/export/{job_id}")
        return job

    def ptz(self, camera_id: str) -> dict[str, Any]:
        """A camera's PTZ: ``ptz`` (capabilities, position, moving, presets, error) and the
        presets mirrored in the catalog; ``NvrError`` for a camera without PTZ."""
        status, reply = self.request("GET", "/api/ptz?" + urlencode({"camera_id": camera_id}))
        if status != 200 or not isinstance(reply, dict):
            error = reply.get("error") if isinstance(reply, dict) else reply
            raise NvrError(f"no PTZ state: {error}")
        return reply

    def worker_history(self, camera_id: str | None = None) -> dict[str, Any]:
        """Each worker's last hour as the engine sampled it (``sample_s``, and per camera one
        list per field: ``at_ns``, ``cpu_pct``, ``rss_bytes``, ``fps_in``, ``fps_out``,
        ``bitrate_bps``)."""
        query = "?" + urlencode({"camera_id": camera_id}) if camera_id else ""
        found: dict[str, Any] = self.get("/api/workers/history" + query)
        return found

    def logs(self, **filters: str | int) -> list[dict[str, Any]]:
        """The engine's log entries, newest first (``GET /api/logs``: level, camera_id,
        component, q, since_ns, until_ns, limit)."""
        entries: list[dict[str, Any]] = self.get(f"/api/logs?{urlencode(filters)}")["entries"]
        return entries

    # -- configuration ---------------------------------------------------------------------

    def config_document(self) -> dict[str, Any]:
        """The config in force (URLs redacted), the file's ``sha256`` and its path."""
        document: dict[str, Any] = self.get("/api/config/document")
        return document

    def config_history(self, limit: int = 100) -> list[dict[str, Any]]:
        """Saved config versions, newest first: version, saved_ns, saved_by, note, sha256."""
        versions: list[dict[str, Any]] = self.get(f"/api/config/history?limit={limit}")["versions"]
        return versions

    def config_version(self, version: int) -> dict[str, Any]:
        """One config version with its text (credentials redacted)."""
        found: dict[str, Any] = self.get(f"/api/config/version?version={version}")
        return found

    def config_diff(self, old: int, new: int | None = None) -> str:
        """A unified diff from version ``old`` to ``new`` (None: the newest)."""
        query = f"from={old}" + (f"&to={new}" if new is not None else "")
        diff: str = self.get(f"/api/config/diff?{query}")["diff"]
        return diff

    def probe(
        self, url: str | None = None, camera_id: str | None = None, stream: str = "main"
    ) -> dict[str, Any]:
        """Test a stream URL, or a configured camera's stream: codec, size, fps, or the cause."""
        body = {"url": url} if camera_id is None else {"camera_id": camera_id, "stream": stream}
        status, reply = self.request("POST", "/api/probe", body, PROBE_TIMEOUT_S)
        if status != 200 or not isinstance(reply, dict):
            error = reply.get("error") if isinstance(reply, dict) else reply
            raise EngineRefusedError("stream test refused", status, error)
        return reply

    # -- upkeep ------------------------------------------------------------------------------

    def backup(self, with_recordings: bool = False) -> dict[str, Any]:
        """Start a backup into the engine's ``<storage>/backups/``; the job."""
        status, reply = self.request("POST", "/api/backup", {"with_recordings": with_recordings})
        if status != 202 or not isinstance(reply, dict):
            error = reply.get("error") if isinstance(reply, dict) else reply
            raise EngineRefusedError("backup refused", status, error)
        job: dict[str, Any] = reply["job"]
        return job

    def restore(self, archive: str, by: str) -> dict[str, Any]:
        """Ask the engine to restore ``archive`` (a name from ``backups``): it checks it, stops,
        puts it back and starts again; the restore job (follow it with ``backups``)."""
        status, reply = self.request("POST", "/api/restore", {"archive": archive, "by": by})
        if status != 202 or not isinstance(reply, dict):
            error = reply.get("error") if isinstance(reply, dict) else reply
            raise NvrError(f"restore refused: {error}")
        job: dict[str, Any] = reply["restore"]
        return job

    def backups(self) -> dict[str, Any]:
        """The backup job (``job``), the restore job (``restore``: ``state``, ``progress``,
        ``by``, ``kept``, ``error``) and the archives (``name``, ``path``, ``bytes``)."""
        found: dict[str, Any] = self.get("/api/backup")
        return found

    def report(self) -> bytes:
        """The health report, one self-contained HTML page."""
        status, raw, _ = self._fetch("GET", "/api/report", timeout_s=COMMAND_TIMEOUT_S)
        if status != 200:
            raise NvrError(f"GET /api/report: HTTP {status}: {raw[:200]!r}")
        return raw

    # -- alarms and the event stream -------------------------------------------------------

    def alarms(self) -> AlarmList:
        """The alarms not yet cleared, newest first."""
        return from_json(AlarmList, self.get("/api/alarms"))

    def alarm_log(
        self,
        camera_id: str | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
        limit: int = 200,
    ) -> list[Alarm]:
        """Alarms raised in a range, newest first, with who acknowledged and cleared them."""
        values = {"camera_id": camera_id, "start_ns": start_ns, "end_ns": end_ns, "limit": limit}
        query = urlencode({k: v for k, v in values.items() if v is not None})
        rows = self.get(f"/api/alarms/log?{query}")["alarms"]
        return [from_json(Alarm, row) for row in rows]

    def stream(self, after: int, wait_s: int = 0) -> EventBatch:
        """The events after ``after``, waiting up to ``wait_s`` for the first one."""
        status, body = self.request(
            "GET", f"/api/stream?after={after}&wait_s={wait_s}", timeout_s=wait_s + self.timeout_s
        )
        if status != 200:
            error = body.get("error") if isinstance(body, dict) else body
            raise EngineRefusedError("GET /api/stream", status, error)
        return from_json(EventBatch, body)

    @staticmethod
    def _check_image(status: int, raw: bytes, path: str) -> None:
        if status != 200:
            try:
                error = json.loads(raw).get("error")
            except ValueError:
                error = raw[:200].decode(errors="replace")
            raise EngineRefusedError(f"GET {path}", status, error)

    def command(
        self, command: str, camera_id: str = "*", **params: Any
    ) -> tuple[int, CommandReply]:
        """Send one command; the HTTP status and the engine's reply (200 done, 202 not every
        camera acknowledged yet, 4xx refused with ``error`` and ``code``)."""
        message = {
            "schema_version": SCHEMA_VERSION,
            "command": command,
            "camera_id": camera_id,
            "ui_session_id": self.session_id,
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "params": params,
        }
        slow = command in ("save_config", "revert_config")
        timeout_s = CONFIG_TIMEOUT_S if slow else COMMAND_TIMEOUT_S
        status, body = self.request("POST", "/api/command", message, timeout_s)
        if not isinstance(body, dict):
            raise EngineUnreachableError(f"the engine at {self.api} answered {status}: {body}")
        return status, from_json(CommandReply, body)
