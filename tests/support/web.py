"""``nvr web`` as a real subprocess, users made with the real ``nvr user``, and a small HTTPS
client that keeps a session cookie and its CSRF token (the way a browser's page does)."""

from __future__ import annotations

import json
import os
import re
import signal
import ssl
import subprocess
import sys
import time
from http.client import HTTPResponse, HTTPSConnection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]


def add_user(config: Path, name: str, role: str, password: str, cameras: str | None = None) -> None:
    """``nvr user add`` with the password on standard input."""
    args = [sys.executable, "-m", "nvr", "user", "add", name, "--role", role, "-c", str(config)]
    if cameras is not None:
        args += ["--cameras", cameras]
    result = subprocess.run(
        args, input=password + "\n", capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 0, result.stderr


class WebServer:
    """``nvr web -c CONFIG``; ``url`` and ``fingerprint`` from the line it prints."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config = config
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.fingerprint = ""

    def start(self, timeout_s: float = 30.0) -> str:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "nvr", "web", "-c", str(self.config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            line = r"web: listening on (\S+)(?: \(certificate SHA-256 ([0-9A-F:]+)\))?\n"
            found = re.search(line, self.output())  # the whole line: it may be half written
            if found:
                self.url, self.fingerprint = found[1], found[2] or ""
                return self.url
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"nvr web exited with {self.proc.returncode}:\n{self.output()}"
                )
            time.sleep(0.1)
        raise AssertionError(f"nvr web did not listen within {timeout_s} s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-8000:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def __enter__(self) -> WebServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def insecure_context() -> ssl.SSLContext:
    """TLS without certificate checks: the tests compare the fingerprint themselves."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class Reply:
    def __init__(self, response: HTTPResponse) -> None:
        self.status = response.status
        self.headers = {k.lower(): v for k, v in response.getheaders()}
        self.body = response.read()

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


class WebClient:
    """One browser-like client: a cookie jar of one session cookie and the CSRF token."""

    def __init__(self, base: str, address: str | None = None) -> None:
        self.base = base
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 443
        self.cookie = ""
        self.csrf = ""
        self.address = address  # sent as X-Forwarded-For (the server trusts 127.0.0.1)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        csrf: bool = True,
    ) -> Reply:
        sent = {"Origin": self.base, "Host": f"{self.host}:{self.port}"}
        if self.cookie:
            sent["Cookie"] = self.cookie
        if csrf and self.csrf:
            sent["X-CSRF-Token"] = self.csrf
        if self.address:
            sent["X-Forwarded-For"] = self.address
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        conn = HTTPSConnection(self.host, self.port, context=insecure_context(), timeout=30)
        try:
            conn.request(method, path, body=data, headers=sent)
            reply = Reply(conn.getresponse())
        finally:
            conn.close()
        cookie = reply.headers.get("set-cookie", "")
        if cookie:
            pair = cookie.split(";", 1)[0]
            self.cookie = "" if pair.endswith('=""') or "Max-Age=0" in cookie else pair
        return reply

    def login(self, name: str, password: str) -> Reply:
        reply = self.request("POST", "/api/v1/login", {"username": name, "password": password})
        if reply.status == 200:
            self.csrf = reply.json()["csrf_token"]
        return reply

    def get(self, path: str, **kw: Any) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.request("POST", path, body, **kw)

    def ws(self, path: str, origin: str | None = None) -> Any:
        """A WebSocket to ``path`` with this client's cookie (``websockets``' sync client);
        the handshake's refusal raises ``websockets.exceptions.InvalidStatus``."""
        from websockets.sync.client import connect

        scheme_base = self.base.replace("https://", "wss://").replace("http://", "ws://")
        headers = {"Cookie": self.cookie} if self.cookie else {}
        return connect(
            scheme_base + path,
            ssl=insecure_context() if self.base.startswith("https") else None,
            origin=origin or self.base,  # type: ignore[arg-type]
            additional_headers=headers,
            open_timeout=30,  # a loaded CI machine once took over 15 s
            max_size=2**24,
        )


PASSWORDS = {
    "ann": "ann's long password",  # admin
    "otto": "otto's long password",  # operator
    "vera": "vera's long password",  # viewer of camera door only
    "walt": "walt's long password",  # viewer of every camera
    "rita": "rita's long password",  # for the login rate limit
    "olga": "olga's long password",  # operator of camera yard only
}


class Site:
    """A real camera, engine and web server, with one user per role."""

    def __init__(self, tmp: Path, engine: Any, web: WebServer) -> None:
        self.tmp = tmp
        self.engine = engine
        self.web = web
        self.url = web.url
        self.onvif: Any = None  # the yard camera's ONVIF PTZ (tests/support/onvif_camera.py)

    def client(self, user: str | None = None, address: str | None = None) -> WebClient:
        """A new client, logged in as ``user`` (its own session) when given."""
        client = WebClient(self.url, address)
        if user is not None:
            reply = client.login(user, PASSWORDS[user])
            assert reply.status == 200, reply.text
        return client


def site_config(storage: Path, camera: Any, onvif_port: int) -> str:
    return (
        f"storage:\n  path: {storage}\n  min_free_bytes: 100MB\napi:\n  port: 0\n"
        "web:\n  listen: 127.0.0.1:0\n  trusted_proxies: [127.0.0.1]\n"
        "cameras:\n"
        f"  - id: door\n    main: {camera.url('counter/main')}\n"
        f"    sub: {camera.url('counter/sub')}\n    record: {{segment_s: 5}}\n"
        "    alarms: {motion: true}\n"
        f"  - id: yard\n    main: {camera.url('still/main')}\n    sub: {camera.url('still/sub')}\n"
        "    record: {segment_s: 5, mode: motion}\n"
        f"    onvif: {{host: 127.0.0.1, port: {onvif_port}, username: admin, password: secret}}\n"
    )


def create_users(config: Path) -> None:
    add_user(config, "ann", "admin", PASSWORDS["ann"])
    add_user(config, "otto", "operator", PASSWORDS["otto"])
    add_user(config, "vera", "viewer", PASSWORDS["vera"], cameras="door")
    add_user(config, "walt", "viewer", PASSWORDS["walt"])
    add_user(config, "rita", "viewer", PASSWORDS["rita"])
    add_user(config, "olga", "operator", PASSWORDS["olga"], cameras="yard")
