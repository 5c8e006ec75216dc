"""A camera's pan, tilt, zoom and presets over ONVIF (onvif-zeep), on a thread of its own inside
the camera's worker (``docs/ptz.md`` says why there).

The worker's loop never waits on it: requests go into a queue (``request``), and what happens
comes back through ``report`` from this thread: a ``PtzReply`` per request and a ``PtzUpdate``
whenever the state changes. Every SOAP call has the configured time limit.

- It connects once: the device's capabilities, the media profile (the configured one, or the
  first with a PTZ configuration), the PTZ configuration's options (what moves the camera
  takes, its ranges) and node (how many presets); it keeps the services. A failed connection is
  tried again after ``RETRY_S`` (up to ``RETRY_MAX_S``); requests meanwhile fail at once with
  the reason.
- A continuous move carries ONVIF's ``Timeout``, so the camera stops by itself if the engine
  dies, and the driver sends Stop at the move's deadline unless the move was renewed: a held
  key or button renews it, a console that vanished stops renewing.
- The position is read after each command, every ``MOVING_STATUS_S`` while the camera moves and
  every ``IDLE_STATUS_S`` otherwise; the presets every ``PRESETS_S`` (a preset another client
  deleted is noticed then) and after each change.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from nvr.config import OnvifConfig
from nvr.protocol.health import PtzPreset, PtzStatus
from nvr.protocol.worker import PtzReply, PtzRequest, PtzUpdate

log = logging.getLogger(__name__)

RETRY_S = 5.0
RETRY_MAX_S = 60.0
MOVING_STATUS_S = 0.5
IDLE_STATUS_S = 10.0
PRESETS_S = 60.0
NAME_MAX = 40  # characters of a preset name
RENAME_WAIT_S = 15.0  # a rename waits this long for the camera to reach the preset
CENTER_GAIN = 0.25  # a click at the picture's edge turns by this share of the range (unzoomed)

Report = Callable[[object], None]


class PtzError(Exception):
    """A PTZ request that failed, in plain words."""


class PtzDriver:
    def __init__(self, camera_id: str, config: OnvifConfig, report: Report) -> None:
        self.camera_id = camera_id
        self.config = config
        self._report = report
        self._queue: queue.SimpleQueue[PtzRequest | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=f"ptz-{camera_id}", daemon=True)
        self.status = PtzStatus()
        self._ptz: Any = None  # the onvif-zeep PTZ service, once connected
        self._profile = ""
        self._ranges: dict[str, tuple[float, float]] = {}
        self._retry_s = RETRY_S
        self._connect_at = 0.0
        self._move_until: float | None = None  # Stop is sent then, unless renewed
        self._status_at = 0.0
        self._presets_at = 0.0

    # -- the worker's side ------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def request(self, request: PtzRequest) -> None:
        self._queue.put(request)

    def close(self, timeout_s: float = 3.0) -> None:
        """Stop a move in progress, then end the thread."""
        self._queue.put(None)
        self._thread.join(timeout_s)

    # -- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            now = time.monotonic()
            if self._ptz is None and now >= self._connect_at:
                self._connect()
            try:
                item = self._queue.get(timeout=max(0.0, self._next_due() - time.monotonic()))
            except queue.Empty:
                item = PtzRequest(0, "tick")
            if item is None:
                if self._move_until is not None:
                    self._quietly(self._stop)
                return
            for request in self._coalesced(item):
                self._handle(request)
            self._due(time.monotonic())

    def _coalesced(self, first: PtzRequest) -> list[PtzRequest]:
        """``first`` and what queued behind it, a move followed by another move or a stop
        answered as superseded: a slow camera never works through a backlog of stale moves."""
        batch = [first]
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:  # closing: handled at the next turn
                self._queue.put(None)
                break
            batch.append(item)
        kept = []
        for n, request in enumerate(batch):
            later = batch[n + 1 :]
            if request.action == "move" and any(r.action in ("move", "stop") for r in later):
                self._report(PtzReply(request.request_id, self.camera_id, True, None, 0.0))
            elif request.action != "tick":
                kept.append(request)
        return kept

    def _next_due(self) -> float:
        if self._ptz is None:
            return self._connect_at
        due = [self._status_at, self._presets_at]
        if self._move_until is not None:
            due.append(self._move_until)
        return min(due)

    def _due(self, now: float) -> None:
        if self._ptz is None:
            return
        if self._move_until is not None and now >= self._move_until:
            self._quietly(self._stop)  # not renewed: the key or button was let go
        if now >= self._presets_at:
            self._quietly(self._read_presets)
        if now >= self._status_at:
            self._quietly(self._read_status)

    def _handle(self, request: PtzRequest) -> None:
        started = time.monotonic()
        if self._ptz is None:  # the camera's fault: answered at once, with the reason
            said = self.status.error or "not connected to the camera yet"
            self._report(PtzReply(request.request_id, self.camera_id, False, said, 0.0))
            return
        try:
            getattr(self, "_do_" + request.action)(request)
            self._set(reachable=True, error=None)
            reply = PtzReply(request.request_id, self.camera_id, True, None, _ms(started))
        except PtzError as err:
            reply = PtzReply(
                request.request_id, self.camera_id, False, str(err), _ms(started), refused=True
            )
        except Exception as err:  # onvif-zeep and its transport: explained, never raised
            said = self._explain(err)
            self._set(reachable=not _unreachable(err), error=said)
            reply = PtzReply(request.request_id, self.camera_id, False, said, _ms(started))
        self._set(latency_ms=reply.latency_ms)
        self._report(reply)

    # -- requests -----------------------------------------------------------------------------

    def _do_move(self, request: PtzRequest) -> None:
        if not self.status.continuous:
            raise PtzError("this camera takes no continuous moves")
        timeout_s = min(max(request.timeout_s, 0.2), 10.0)
        velocity: dict[str, Any] = {
            "PanTilt": {
                "x": _scale(request.pan, self._ranges.get("pan")),
                "y": _scale(request.tilt, self._ranges.get("tilt")),
            }
        }
        if self.status.zoom:
            velocity["Zoom"] = {"x": _scale(request.zoom, self._ranges.get("zoom"))}
        # The deadline first: a camera that answers late may still carry the move out, and
        # gets its Stop then like any other.
        self._move_until = time.monotonic() + timeout_s
        self._ptz.ContinuousMove(
            {
                "ProfileToken": self._profile,
                "Velocity": velocity,
                "Timeout": f"PT{math.ceil(timeout_s)}S",  # the camera's own stop
            }
        )
        self._set(moving=True)
        self._status_at = min(self._status_at, time.monotonic() + MOVING_STATUS_S)

    def _do_stop(self, _: PtzRequest) -> None:
        self._stop()

    def _do_center(self, request: PtzRequest) -> None:
        if not self.status.relative:
            raise PtzError("this camera takes no relative moves: click-to-center is off")
        zoom = self.status.position[2] if self.status.position else 0.0
        gain = CENTER_GAIN * (1.0 - 0.8 * min(max(zoom, 0.0), 1.0))
        self._ptz.RelativeMove(
            {
                "ProfileToken": self._profile,
                "Translation": {"PanTilt": {"x": request.pan * gain, "y": request.tilt * gain}},
            }
        )
        self._status_at = time.monotonic()

    def _do_goto(self, request: PtzRequest) -> None:
        preset = self._preset(request.name)
        self._on_preset(preset, self._ptz.GotoPreset)
        self._move_until = None
        self._status_at = time.monotonic()

    def _do_save(self, request: PtzRequest) -> None:
        name = request.name.strip()
        self._check_name(name)
        existing = next((p for p in self.status.presets if p.name == name), None)
        if existing is not None and not request.replace:
            raise PtzError(f"a preset named {name!r} exists; pick another name or replace it")
        limit = self.status.max_presets
        if existing is None and limit is not None and len(self.status.presets) >= limit:
            raise PtzError(f"the camera holds at most {limit} presets; delete one first")
        params = {"ProfileToken": self._profile, "PresetName": name}
        if existing is not None:
            params["PresetToken"] = existing.token
        self._ptz.SetPreset(params)
        self._read_presets()

    def _do_rename(self, request: PtzRequest) -> None:
        """ONVIF keeps a preset's name with its position: go there, wait until the camera
        stands still, and store the preset again under the new name (its token kept)."""
        preset = self._preset(request.name)
        new = request.new_name.strip()
        self._check_name(new)
        if any(p.name == new for p in self.status.presets):
            raise PtzError(f"a preset named {new!r} exists; pick another name")
        self._on_preset(preset, self._ptz.GotoPreset)
        self._move_until = None
        deadline = time.monotonic() + RENAME_WAIT_S
        while time.monotonic() < deadline:
            time.sleep(0.2)
            self._read_status()
            if not self.status.moving:
                break
        else:
            raise PtzError(
                f"the camera did not reach preset {preset.name!r} within {RENAME_WAIT_S:g} s; "
                "nothing was renamed"
            )
        self._ptz.SetPreset(
            {"ProfileToken": self._profile, "PresetName": new, "PresetToken": preset.token}
        )
        self._read_presets()

    def _do_remove(self, request: PtzRequest) -> None:
        preset = self._preset(request.name)
        self._on_preset(preset, self._ptz.RemovePreset)
        self._read_presets()

    def _do_sync(self, _: PtzRequest) -> None:
        self._read_presets()
        self._read_status()

    def _on_preset(self, preset: PtzPreset, call: Callable[[dict[str, str]], Any]) -> None:
        """A call on a preset; one another client deleted is said so, and the list read."""
        try:
            call({"ProfileToken": self._profile, "PresetToken": preset.token})
        except Exception as err:
            if "NoToken" not in _subcodes(_root(err)):
                raise
            self._quietly(self._read_presets)
            raise PtzError(
                f"preset {preset.name!r} is no longer on the camera (removed by another "
                "client); the list was read again"
            ) from err

    @staticmethod
    def _check_name(name: str) -> None:
        if not name or len(name) > NAME_MAX or not name.isprintable():
            raise PtzError(f"a preset name is 1 to {NAME_MAX} printable characters")

    def _preset(self, name: str) -> PtzPreset:
        found = next((p for p in self.status.presets if p.name == name), None)
        if found is None:
            raise PtzError(f"no preset named {name[:NAME_MAX]!r} on this camera")
        return found

    def _stop(self) -> None:
        self._move_until = None
        self._ptz.Stop({"ProfileToken": self._profile, "PanTilt": True, "Zoom": True})
        self._status_at = time.monotonic()

    # -- reading the camera ---------------------------------------------------------------------

    def _connect(self) -> None:
        """Connect and read what the camera can do; on failure, try again later."""
        from onvif import ONVIFCamera  # loaded only by workers of cameras with onvif
        from zeep.transports import Transport

        cfg = self.config
        limit = cfg.timeout_s
        try:
            camera = ONVIFCamera(
                cfg.host,
                cfg.port,
                cfg.username,
                cfg.password.get_secret_value(),
                no_cache=True,
                transport=Transport(timeout=limit, operation_timeout=limit),
            )
            media = camera.create_media_service()
            profile = self._pick_profile(media.GetProfiles())
            ptz = camera.create_ptz_service()
            options = ptz.GetConfigurationOptions(
                {"ConfigurationToken": profile.PTZConfiguration.token}
            )
            node = _quiet(lambda: ptz.GetNode({"NodeToken": profile.PTZConfiguration.NodeToken}))
        except PtzError as err:
            self._failed(str(err))
            return
        except Exception as err:
            self._failed(self._explain(err))
            return
        spaces = getattr(options, "Spaces", None)
        velocity = _first(spaces, "ContinuousPanTiltVelocitySpace")
        zoom_velocity = _first(spaces, "ContinuousZoomVelocitySpace")
        self._ranges = {
            name: rng
            for name, rng in (
                ("pan", _range(velocity, "XRange")),
                ("tilt", _range(velocity, "YRange")),
                ("zoom", _range(zoom_velocity, "XRange")),
            )
            if rng is not None
        }
        self._ptz, self._profile = ptz, str(profile.token)
        self._retry_s = RETRY_S
        self._set(
            reachable=True,
            error=None,
            profile=self._profile,
            continuous=velocity is not None,
            relative=_first(spaces, "RelativePanTiltTranslationSpace") is not None,
            absolute=_first(spaces, "AbsolutePanTiltPositionSpace") is not None,
            zoom=zoom_velocity is not None,
            max_presets=_int(getattr(node, "MaximumNumberOfPresets", None)),
        )
        log.info(
            "%s: PTZ connected (%s:%d, profile %s)",
            self.camera_id,
            cfg.host,
            cfg.port,
            self._profile,
        )
        self._quietly(self._read_presets)
        self._quietly(self._read_status)

    def _pick_profile(self, profiles: Any) -> Any:
        wanted = self.config.profile
        for profile in profiles or ():
            if wanted is not None and str(profile.token) != wanted:
                continue
            if getattr(profile, "PTZConfiguration", None) is not None:
                return profile
            if wanted is not None:
                raise PtzError(
                    f"media profile {wanted!r} has no PTZ configuration; set onvif.profile to "
                    "one that has, or null"
                )
        if wanted is not None:
            tokens = ", ".join(str(p.token) for p in profiles or ())
            raise PtzError(f"the camera has no media profile {wanted!r} (it has: {tokens})")
        raise PtzError("the camera has no PTZ: none of its media profiles has a PTZ configuration")

    def _failed(self, said: str) -> None:
        self._connect_at = time.monotonic() + self._retry_s
        log.warning(
            "%s: PTZ unavailable: %s; trying again in %.0f s", self.camera_id, said, self._retry_s
        )
        self._retry_s = min(self._retry_s * 2, RETRY_MAX_S)
        self._set(reachable=False, error=said)

    def _read_status(self) -> None:
        self._status_at = time.monotonic() + (
            MOVING_STATUS_S if self.status.moving else IDLE_STATUS_S
        )
        found = self._ptz.GetStatus({"ProfileToken": self._profile})
        position = _position(getattr(found, "Position", None))
        moves = getattr(found, "MoveStatus", None)
        moving = any(
            str(getattr(moves, axis, "") or "").upper() == "MOVING" for axis in ("PanTilt", "Zoom")
        )
        moving = moving or self._move_until is not None
        self._set(position=position, moving=moving, reachable=True, checked_ns=time.time_ns())
        if moving:
            self._status_at = time.monotonic() + MOVING_STATUS_S

    def _read_presets(self) -> None:
        self._presets_at = time.monotonic() + PRESETS_S
        found = self._ptz.GetPresets({"ProfileToken": self._profile}) or ()
        presets = tuple(
            PtzPreset(str(p.token), str(p.Name or p.token), _position(p.PTZPosition)) for p in found
        )
        self._set(presets=presets, reachable=True, checked_ns=time.time_ns())

    def _quietly(self, read: Callable[[], None]) -> None:
        """A read or stop the driver does by itself: a failure is its state, not an exception."""
        try:
            read()
        except Exception as err:
            said = self._explain(err)
            if said != self.status.error:
                log.warning("%s: PTZ: %s", self.camera_id, said)
            self._set(reachable=not _unreachable(err), error=said)

    def _set(self, **changes: Any) -> None:
        new = replace(self.status, **changes)
        if new != self.status:
            self.status = new
            self._report(PtzUpdate(self.camera_id, new))

    def _explain(self, err: BaseException) -> str:
        """One sentence naming the cause and the fix (never raises)."""
        try:
            return self._cause(err)
        except Exception:
            return f"the PTZ request failed: {str(err)[:200]}"

    def _cause(self, err: BaseException) -> str:
        cfg = self.config
        root = _root(err)
        kind = type(root).__name__
        text = str(root)
        if kind in ("ReadTimeout", "ConnectTimeout", "Timeout") or "timed out" in text:
            return (
                f"the camera did not answer within {cfg.timeout_s:g} s; check that it is on "
                "the network, or raise onvif.timeout_s if it is slow"
            )
        if kind == "ConnectionError" or "Connection refused" in text:
            return (
                f"cannot reach {cfg.host}:{cfg.port} (nothing answers there); check onvif.host "
                "and onvif.port"
            )
        if kind == "Fault" and getattr(root, "code", None) is None:  # an answer, but no SOAP
            return (
                f"{cfg.host}:{cfg.port} does not answer in ONVIF SOAP; is it an ONVIF camera, "
                "and is onvif.port its ONVIF port?"
            )
        if kind == "Fault":
            subcodes = _subcodes(root)
            if "NotAuthorized" in subcodes or "not authorized" in text.lower():
                return (
                    "the camera refused the ONVIF user or password; check onvif.username and "
                    "onvif.password"
                )
            reason = str(getattr(root, "message", "") or text).strip()
            code = ", ".join(f"ter:{c}" for c in subcodes) or "no code"
            return (
                f"the camera refused the request ({code}: {reason}); check the camera's PTZ "
                "settings (its own web page or log says more)"
            )
        if kind == "TransportError":
            status = getattr(root, "status_code", 0)
            if status in (401, 403):
                return (
                    "the camera refused the ONVIF user or password; check onvif.username and "
                    "onvif.password"
                )
            return (
                f"no ONVIF service at {cfg.host}:{cfg.port} (HTTP {status}); is it an ONVIF "
                "camera, and is onvif.port its ONVIF port?"
            )
        if kind in ("XMLSyntaxError", "XMLParseError", "ParseError"):
            return (
                f"{cfg.host}:{cfg.port} does not answer in ONVIF SOAP; is it an ONVIF camera, "
                "and is onvif.port its ONVIF port?"
            )
        return f"the PTZ request failed: {text[:200]}"


# -- helpers ------------------------------------------------------------------------------------


def _root(err: BaseException) -> BaseException:
    """The error onvif-zeep wrapped (``ONVIFError`` keeps only its text)."""
    while type(err).__name__ == "ONVIFError" and err.__context__ is not None:
        err = err.__context__
    return err


def _subcodes(fault: BaseException) -> list[str]:
    """A SOAP fault's subcodes by local name (``NotAuthorized``, ``NoToken``...)."""
    return [getattr(q, "localname", str(q)) for q in getattr(fault, "subcodes", None) or ()]


def _unreachable(err: BaseException) -> bool:
    kind = type(_root(err)).__name__
    return kind in ("ReadTimeout", "ConnectTimeout", "Timeout", "ConnectionError")


def _quiet(read: Callable[[], Any]) -> Any:
    """An optional read: None when the camera does not answer it."""
    try:
        return read()
    except Exception:
        return None


def _first(spaces: Any, name: str) -> Any:
    found = getattr(spaces, name, None) if spaces is not None else None
    if isinstance(found, list):
        return found[0] if found else None
    return found


def _range(space: Any, axis: str) -> tuple[float, float] | None:
    rng = getattr(space, axis, None) if space is not None else None
    if rng is None:
        return None
    return float(rng.Min), float(rng.Max)


def _scale(value: float, rng: tuple[float, float] | None) -> float:
    """A velocity of -1..1 in the camera's range (the generic space is -1..1 itself)."""
    value = min(max(value, -1.0), 1.0)
    if rng is None:
        return value
    low, high = rng
    return value * (high if value >= 0 else -low)


def _position(found: Any) -> tuple[float, float, float] | None:
    if found is None:
        return None
    pantilt, zoom = getattr(found, "PanTilt", None), getattr(found, "Zoom", None)
    if pantilt is None and zoom is None:
        return None
    return (
        float(getattr(pantilt, "x", 0.0) or 0.0),
        float(getattr(pantilt, "y", 0.0) or 0.0),
        float(getattr(zoom, "x", 0.0) or 0.0),
    )


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
