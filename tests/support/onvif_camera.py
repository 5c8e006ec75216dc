"""A small ONVIF PTZ camera for the tests: the device, media and PTZ services over SOAP 1.2 on
loopback, answering the calls onvif-zeep sends (from the WSDLs it ships), so the product is
tested through the real library and the real protocol, not a mock of it.

What it simulates:
- WS-Security UsernameToken with a password digest, checked on every call (a wrong password
  gets the ``ter:NotAuthorized`` fault a camera sends);
- one media profile with a PTZ configuration (``ptz=False``: none, and no PTZ service);
- a position that integrates the velocity of a continuous move over time, within limits
  (pan and tilt -1..1, zoom 0..1), stopped by Stop, or by the move's own ``Timeout`` (the camera
  stops by itself when the client died);
- relative and absolute moves (done at once), presets (set, go to, remove; a maximum count,
  unique names) and the status (position and move status);
- switches for bad cameras: ``delay_s`` (answers late), ``silent`` (takes the request and never
  answers), ``fault`` (every PTZ call answers this SOAP fault).

Every call is logged in ``calls`` (monotonic time, operation, parameters) for the tests and the
latency bench.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ENV = "http://www.w3.org/2003/05/soap-envelope"
TDS = "http://www.onvif.org/ver10/device/wsdl"
TRT = "http://www.onvif.org/ver10/media/wsdl"
TPTZ = "http://www.onvif.org/ver20/ptz/wsdl"
TT = "http://www.onvif.org/ver10/schema"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
PROFILE = "profile_1"
SPEED = 0.5  # position units per second at velocity 1
_SPACE = "http://www.onvif.org/ver10/tptz/"
_NS = f'xmlns:env="{ENV}" xmlns:tds="{TDS}" xmlns:trt="{TRT}" xmlns:tptz="{TPTZ}" xmlns:tt="{TT}"'


@dataclass
class Call:
    at: float  # time.monotonic() when the request arrived
    operation: str
    params: dict[str, Any]


@dataclass
class Preset:
    token: str
    name: str
    position: tuple[float, float, float]


@dataclass
class _Motion:
    position: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])  # pan, tilt, zoom
    velocity: tuple[float, float, float] = (0.0, 0.0, 0.0)
    since: float = 0.0  # when the velocity was last integrated
    until: float | None = None  # the move's Timeout: it stops itself then


class OnvifCamera:
    """``with OnvifCamera() as cam:`` serves on ``cam.port`` until the block ends."""

    def __init__(
        self,
        username: str = "admin",
        password: str = "secret",
        *,
        ptz: bool = True,
        max_presets: int = 8,
    ) -> None:
        self.username, self.password = username, password
        self.ptz = ptz
        self.max_presets = max_presets
        self.delay_s = 0.0
        self.silent = False
        self.fault: str | None = None  # e.g. "ter:Action" for a camera that refuses moves
        self.calls: list[Call] = []
        self.presets: dict[str, Preset] = {}
        self._next_token = 1
        self._motion = _Motion(since=time.monotonic())
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def __enter__(self) -> OnvifCamera:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.silent = False
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    # -- what the tests read -------------------------------------------------------------

    def position(self) -> tuple[float, float, float]:
        with self._lock:
            self._integrate(time.monotonic())
            return tuple(self._motion.position)  # type: ignore[return-value]

    def moving(self) -> bool:
        with self._lock:
            self._integrate(time.monotonic())
            return any(self._motion.velocity)

    def operations(self) -> list[str]:
        return [c.operation for c in list(self.calls)]

    # -- the camera ----------------------------------------------------------------------

    def _integrate(self, now: float) -> None:
        m = self._motion
        end = min(now, m.until) if m.until is not None else now
        dt = max(0.0, end - m.since)
        limits = ((-1.0, 1.0), (-1.0, 1.0), (0.0, 1.0))
        for axis, (low, high) in enumerate(limits):
            moved = m.position[axis] + m.velocity[axis] * SPEED * dt
            m.position[axis] = min(high, max(low, moved))
        m.since = now
        if m.until is not None and now >= m.until:
            m.velocity, m.until = (0.0, 0.0, 0.0), None

    def answer(self, operation: str, body: ET.Element) -> str:
        """The response body for one operation (``_Fault`` for a refused one)."""
        params = _params(body)
        self.calls.append(Call(time.monotonic(), operation, params))
        if operation in _DEVICE or operation in _MEDIA:
            return getattr(self, "_" + operation)(params)
        if not self.ptz:
            raise _Fault("env:Receiver", "ter:ActionNotSupported", "PTZ is not supported")
        if self.fault:
            raise _Fault("env:Receiver", self.fault, "Action failed")
        with self._lock:
            self._integrate(time.monotonic())
            handler = getattr(self, "_" + operation, None)
            if handler is None:
                raise _Fault("env:Receiver", "ter:ActionNotSupported", f"{operation} unknown")
            return str(handler(params))

    def _GetCapabilities(self, _: dict[str, Any]) -> str:
        base = f"http://127.0.0.1:{self.port}/onvif"
        ptz = f"<tt:PTZ><tt:XAddr>{base}/ptz_service</tt:XAddr></tt:PTZ>" if self.ptz else ""
        return (
            "<tds:GetCapabilitiesResponse><tds:Capabilities>"
            f"<tt:Device><tt:XAddr>{base}/device_service</tt:XAddr></tt:Device>"
            f"<tt:Media><tt:XAddr>{base}/media_service</tt:XAddr><tt:StreamingCapabilities>"
            "<tt:RTPMulticast>false</tt:RTPMulticast><tt:RTP_TCP>true</tt:RTP_TCP>"
            "<tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media>"
            f"{ptz}</tds:Capabilities></tds:GetCapabilitiesResponse>"
        )

    def _GetProfiles(self, _: dict[str, Any]) -> str:
        ptz = (
            '<tt:PTZConfiguration token="ptz_config_1"><tt:Name>ptz</tt:Name>'
            "<tt:UseCount>1</tt:UseCount><tt:NodeToken>node_1</tt:NodeToken>"
            "<tt:DefaultPTZTimeout>PT5S</tt:DefaultPTZTimeout></tt:PTZConfiguration>"
            if self.ptz
            else ""
        )
        return (
            f'<trt:GetProfilesResponse><trt:Profiles token="{PROFILE}" fixed="true">'
            f"<tt:Name>main</tt:Name>{ptz}</trt:Profiles></trt:GetProfilesResponse>"
        )

    def _GetConfigurationOptions(self, _: dict[str, Any]) -> str:
        return (
            "<tptz:GetConfigurationOptionsResponse><tptz:PTZConfigurationOptions><tt:Spaces>"
            + _space("AbsolutePanTiltPositionSpace", "PanTiltSpaces/PositionGenericSpace", True)
            + _space("AbsoluteZoomPositionSpace", "ZoomSpaces/PositionGenericSpace", False, 0)
            + _space(
                "RelativePanTiltTranslationSpace", "PanTiltSpaces/TranslationGenericSpace", True
            )
            + _space("RelativeZoomTranslationSpace", "ZoomSpaces/TranslationGenericSpace", False)
            + _space("ContinuousPanTiltVelocitySpace", "PanTiltSpaces/VelocityGenericSpace", True)
            + _space("ContinuousZoomVelocitySpace", "ZoomSpaces/VelocityGenericSpace", False)
            + "</tt:Spaces><tt:PTZTimeout><tt:Min>PT1S</tt:Min><tt:Max>PT60S</tt:Max>"
            "</tt:PTZTimeout></tptz:PTZConfigurationOptions>"
            "</tptz:GetConfigurationOptionsResponse>"
        )

    def _GetNode(self, _: dict[str, Any]) -> str:
        return (
            '<tptz:GetNodeResponse><tptz:PTZNode token="node_1" FixedHomePosition="false">'
            "<tt:Name>node</tt:Name><tt:SupportedPTZSpaces/>"
            f"<tt:MaximumNumberOfPresets>{self.max_presets}</tt:MaximumNumberOfPresets>"
            "<tt:HomeSupported>false</tt:HomeSupported></tptz:PTZNode></tptz:GetNodeResponse>"
        )

    def _GetStatus(self, _: dict[str, Any]) -> str:
        m = self._motion
        pan, tilt, zoom = m.position
        state = (
            "MOVING" if m.velocity[0] or m.velocity[1] else "IDLE",
            "MOVING" if m.velocity[2] else "IDLE",
        )
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return (
            "<tptz:GetStatusResponse><tptz:PTZStatus>"
            f"<tt:Position>{_pantilt(pan, tilt)}{_zoom(zoom)}</tt:Position>"
            f"<tt:MoveStatus><tt:PanTilt>{state[0]}</tt:PanTilt><tt:Zoom>{state[1]}</tt:Zoom>"
            f"</tt:MoveStatus><tt:UtcTime>{now}</tt:UtcTime></tptz:PTZStatus>"
            "</tptz:GetStatusResponse>"
        )

    def _ContinuousMove(self, params: dict[str, Any]) -> str:
        pan, tilt = params.get("PanTilt.x", 0.0), params.get("PanTilt.y", 0.0)
        zoom = params.get("Zoom.x", 0.0)
        if any(abs(v) > 1 for v in (pan, tilt, zoom)):
            raise _Fault("env:Sender", "ter:InvalidArgVal", "velocity out of bounds")
        timeout = _duration(params.get("Timeout", "PT5S"))
        self._motion.velocity = (pan, tilt, zoom)
        self._motion.until = time.monotonic() + timeout
        return "<tptz:ContinuousMoveResponse/>"

    def _Stop(self, _: dict[str, Any]) -> str:
        self._motion.velocity, self._motion.until = (0.0, 0.0, 0.0), None
        return "<tptz:StopResponse/>"

    def _RelativeMove(self, params: dict[str, Any]) -> str:
        m = self._motion
        m.position[0] = min(1.0, max(-1.0, m.position[0] + params.get("PanTilt.x", 0.0)))
        m.position[1] = min(1.0, max(-1.0, m.position[1] + params.get("PanTilt.y", 0.0)))
        m.position[2] = min(1.0, max(0.0, m.position[2] + params.get("Zoom.x", 0.0)))
        return "<tptz:RelativeMoveResponse/>"

    def _AbsoluteMove(self, params: dict[str, Any]) -> str:
        m = self._motion
        m.position[0] = min(1.0, max(-1.0, params.get("PanTilt.x", m.position[0])))
        m.position[1] = min(1.0, max(-1.0, params.get("PanTilt.y", m.position[1])))
        m.position[2] = min(1.0, max(0.0, params.get("Zoom.x", m.position[2])))
        return "<tptz:AbsoluteMoveResponse/>"

    def _GetPresets(self, _: dict[str, Any]) -> str:
        presets = "".join(
            f'<tptz:Preset token="{p.token}"><tt:Name>{_escape(p.name)}</tt:Name>'
            f"<tt:PTZPosition>{_pantilt(*p.position[:2])}{_zoom(p.position[2])}"
            "</tt:PTZPosition></tptz:Preset>"
            for p in self.presets.values()
        )
        return f"<tptz:GetPresetsResponse>{presets}</tptz:GetPresetsResponse>"

    def _SetPreset(self, params: dict[str, Any]) -> str:
        name = str(params.get("PresetName", ""))
        token = params.get("PresetToken")
        if len(name) > 64:
            raise _Fault("env:Sender", "ter:InvalidArgVal", "the preset name is too long")
        if any(p.name == name and p.token != token for p in self.presets.values()):
            raise _Fault("env:Sender", "ter:PresetExist", "a preset with this name exists")
        if token is None:
            if len(self.presets) >= self.max_presets:
                raise _Fault("env:Receiver", "ter:TooManyPresets", "no room for another preset")
            token, self._next_token = str(self._next_token), self._next_token + 1
        elif token not in self.presets:
            raise _Fault("env:Sender", "ter:NoToken", "no such preset")
        self.presets[token] = Preset(token, name, tuple(self._motion.position))  # type: ignore[arg-type]
        return (
            f"<tptz:SetPresetResponse><tptz:PresetToken>{token}</tptz:PresetToken>"
            "</tptz:SetPresetResponse>"
        )

    def _GotoPreset(self, params: dict[str, Any]) -> str:
        preset = self.presets.get(str(params.get("PresetToken")))
        if preset is None:
            raise _Fault("env:Sender", "ter:NoToken", "no such preset")
        self._motion.position = list(preset.position)
        self._motion.velocity, self._motion.until = (0.0, 0.0, 0.0), None
        return "<tptz:GotoPresetResponse/>"

    def _RemovePreset(self, params: dict[str, Any]) -> str:
        if self.presets.pop(str(params.get("PresetToken")), None) is None:
            raise _Fault("env:Sender", "ter:NoToken", "no such preset")
        return "<tptz:RemovePresetResponse/>"

    def check_auth(self, header: ET.Element | None) -> None:
        """The UsernameToken's digest: base64(sha1(nonce + created + password))."""
        token = header.find(f".//{{{WSSE}}}UsernameToken") if header is not None else None
        if token is None:
            raise _Fault("env:Sender", "ter:NotAuthorized", "Sender not Authorized")
        user = token.findtext(f"{{{WSSE}}}Username")
        digest = token.findtext(f"{{{WSSE}}}Password") or ""
        nonce = base64.b64decode(token.findtext(f"{{{WSSE}}}Nonce") or "")
        created = token.findtext(f"{{{WSU}}}Created") or ""
        wanted = hashlib.sha1(nonce + created.encode() + self.password.encode()).digest()
        if user != self.username or digest != base64.b64encode(wanted).decode():
            raise _Fault("env:Sender", "ter:NotAuthorized", "Sender not Authorized")


_DEVICE = ("GetCapabilities",)
_MEDIA = ("GetProfiles",)


class _Fault(Exception):
    def __init__(self, code: str, subcode: str, reason: str) -> None:
        super().__init__(reason)
        self.code, self.subcode, self.reason = code, subcode, reason

    def xml(self) -> str:
        return (
            f"<env:Fault><env:Code><env:Value>{self.code}</env:Value><env:Subcode><env:Value "
            f'xmlns:ter="http://www.onvif.org/ver10/error">{self.subcode}</env:Value>'
            f'</env:Subcode></env:Code><env:Reason><env:Text xml:lang="en">{_escape(self.reason)}'
            "</env:Text></env:Reason></env:Fault>"
        )


def _handler(camera: OnvifCamera) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if camera.silent:
                time.sleep(60)  # a camera that took the request and hangs
                return
            if camera.delay_s:
                time.sleep(camera.delay_s)
            status, body = 200, ""
            try:
                envelope = ET.fromstring(data)
                payload = envelope.find(f"{{{ENV}}}Body")
                request = payload[0] if payload is not None and len(payload) else None
                if request is None:
                    raise _Fault("env:Sender", "ter:WellFormed", "no request in the body")
                camera.check_auth(envelope.find(f"{{{ENV}}}Header"))
                body = camera.answer(request.tag.split("}")[1], request)
            except _Fault as fault:
                status, body = (400 if fault.code == "env:Sender" else 500), fault.xml()
            except ET.ParseError:
                status, body = 400, _Fault("env:Sender", "ter:WellFormed", "bad XML").xml()
            out = f'<?xml version="1.0" encoding="UTF-8"?><env:Envelope {_NS}><env:Body>{body}'
            out += "</env:Body></env:Envelope>"
            raw = out.encode()
            with contextlib.suppress(OSError):  # the client gave up (its own timeout)
                self.send_response(status)
                self.send_header("Content-Type", "application/soap+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        def log_message(self, *_: Any) -> None:  # quiet
            return

    return Handler


def _params(request: ET.Element) -> dict[str, Any]:
    """A request's values by local name; vectors as ``PanTilt.x``; numbers as floats."""
    out: dict[str, Any] = {}
    for element in request.iter():
        name = element.tag.split("}")[1]
        for attr in ("x", "y"):
            if attr in element.attrib:
                out[f"{name}.{attr}"] = float(element.attrib[attr])
        if element is not request and element.text and element.text.strip() and not len(element):
            out[name] = element.text.strip()
    return out


def _duration(text: str) -> float:
    """An xs:duration such as PT1S or PT0.5S, in seconds (the forms cameras are sent)."""
    text = str(text).upper().removeprefix("PT")
    seconds = 0.0
    for unit, scale in (("H", 3600), ("M", 60), ("S", 1)):
        if unit in text:
            value, text = text.split(unit, 1)
            seconds += float(value) * scale
    return seconds


def _space(tag: str, uri: str, pantilt: bool, low: float = -1.0) -> str:
    ranges = f"<tt:XRange><tt:Min>{low}</tt:Min><tt:Max>1</tt:Max></tt:XRange>"
    if pantilt:
        ranges += "<tt:YRange><tt:Min>-1</tt:Min><tt:Max>1</tt:Max></tt:YRange>"
    return f"<tt:{tag}><tt:URI>{_SPACE}{uri}</tt:URI>{ranges}</tt:{tag}>"


def _pantilt(pan: float, tilt: float) -> str:
    return f'<tt:PanTilt x="{pan:.4f}" y="{tilt:.4f}"/>'


def _zoom(zoom: float) -> str:
    return f'<tt:Zoom x="{zoom:.4f}"/>'


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
