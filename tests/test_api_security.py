"""The loopback API against hostile local clients: connection floods, slow clients, web pages
that try to drive it (CSRF, DNS rebinding), requests without the engine's token, and requests
no parser expects. A real engine process; raw sockets and http.client as the attackers."""

from __future__ import annotations

import http.client
import json
import resource
import socket
import stat
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

from nvr.demo import make_clip
from nvr.protocol.client import EngineClient
from nvr.protocol.runfile import read_token, token_path
from nvr.storage.catalog import Catalog, NewMotionEvent
from tests.conftest import wait_for

CLIPS = Path("/tmp/nvr-test-clips")


@pytest.fixture
def engine(engine_factory, tmp_path):
    storage = tmp_path / "storage"
    with Catalog(storage / "catalog.db") as catalog:
        for i in range(5):
            catalog.add_gap("front", 1_000 + i * 100, f"gap {i}", 1_050 + i * 100)
            catalog.add_motion_event(NewMotionEvent("front", 2_000 + i * 100, 2_050 + i * 100, 0.5))
    engine = engine_factory(
        f"storage:\n  path: {storage}\n  min_free_bytes: 100MB\napi:\n  port: 0\ncameras: []\n"
    )
    engine.start()
    yield engine
    assert engine.stop() == 0


def request(
    api: str,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict]:
    url = urlparse(api)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def raw(api: str, data: bytes) -> tuple[int, dict]:
    """Send raw bytes; the status and JSON body of the answer."""
    url = urlparse(api)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(data)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert b"application/json" in head.lower(), head
    return int(head.split()[1]), json.loads(body)


def command_body(command: str, **params: object) -> bytes:
    return json.dumps({"command": command, "camera_id": "*", "params": params}).encode()


def test_a_fresh_token_file_only_the_engine_user_reads(engine):
    path = token_path(engine.storage)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = read_token(engine.storage)
    assert len(first) >= 32 and first not in engine.output()  # never logged
    engine.stop()
    engine.start()
    assert read_token(engine.storage) != first


def test_commands_and_catalog_need_the_token_health_and_metrics_do_not(engine):
    token = read_token(engine.storage)
    json_type = {"Content-Type": "application/json"}
    status, reply = request(
        engine.api, "POST", "/api/command", command_body("config_status"), json_type
    )
    assert (status, reply["code"]) == (401, "unauthorized") and "api.token" in reply["error"]
    wrong = {**json_type, "Authorization": "Bearer " + "x" * len(token)}
    assert (
        request(engine.api, "POST", "/api/command", command_body("config_status"), wrong)[0] == 401
    )
    right = {**json_type, "Authorization": f"Bearer {token}"}
    for auth in (right, {**json_type, "Authorization": f"bearer {token}"}):  # any case: RFC 9110
        assert (
            request(engine.api, "POST", "/api/command", command_body("config_status"), auth)[0]
            == 200
        )
    other_scheme = {**json_type, "Authorization": f"Basic {token}"}
    assert (
        request(engine.api, "POST", "/api/command", command_body("config_status"), other_scheme)[0]
        == 401
    )
    for path in ("/api/recordings", "/api/events", "/api/gaps", "/api/cameras", "/api/config"):
        assert request(engine.api, "GET", path)[0] == 401, path
        assert request(engine.api, "GET", path, headers=right)[0] == 200, path
    assert request(engine.api, "GET", "/health")[0] == 200
    url = urlparse(engine.api)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    conn.request("GET", "/metrics")
    assert conn.getresponse().status == 200


def test_web_pages_cannot_drive_the_engine(engine):
    """CSRF (a form posting text/plain, a foreign Origin) and DNS rebinding (a foreign Host)."""
    token = read_token(engine.storage)
    auth = {"Authorization": f"Bearer {token}"}
    body = command_body("panic", active=True)
    status, reply = request(
        engine.api, "POST", "/api/command", body, {**auth, "Content-Type": "text/plain"}
    )
    assert (status, reply["code"]) == (415, "unsupported_media_type")
    evil = {**auth, "Content-Type": "application/json", "Origin": "http://evil.example"}
    status, reply = request(engine.api, "POST", "/api/command", body, evil)
    assert (status, reply["code"]) == (403, "forbidden_origin")
    port = urlparse(engine.api).port
    rebound = {"Host": f"evil.example:{port}"}
    status, reply = request(engine.api, "GET", "/health", headers=rebound)
    assert (status, reply["code"]) == (403, "forbidden_host")
    assert engine.health()["panic"] is False
    same_site = {**auth, "Content-Type": "application/json", "Origin": f"http://localhost:{port}"}
    assert (
        request(engine.api, "POST", "/api/command", command_body("config_status"), same_site)[0]
        == 200
    )


@pytest.mark.parametrize(
    ("data", "status", "needle"),
    [
        (b"HELLO\r\n\r\n", 400, "bad request"),
        (b"PUT /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 405, "GET or POST"),
        (b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 431, "too large"),
        (
            b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-A: b\r\n" * 3000 + b"\r\n",
            431,
            "too large",
        ),
        (
            b"POST /api/command HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n",
            400,
            "bad request",
        ),
    ],
)
def test_every_malformed_request_gets_a_json_error(engine, data, status, needle):
    port = urlparse(engine.api).port
    got, reply = raw(
        engine.api, data.replace(b"Host: 127.0.0.1", f"Host: 127.0.0.1:{port}".encode())
    )
    assert got == status and needle in reply["error"] and reply["ok"] is False


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ("limit=1180591620717411303424", "limit"),
        ("limit=-1", "limit"),
        ("limit=0", "limit"),
        ("limit=100001", "limit"),
        ("start_ns=99999999999999999999999", "start_ns"),
        ("order=sideways", "order"),
        ("start_ns=yesterday", "start_ns"),
        ("limit=1&limit=2", "'limit' given twice"),
    ],
)
def test_list_queries_are_validated_in_one_place(engine, query, needle):
    auth = {"Authorization": f"Bearer {read_token(engine.storage)}"}
    for route in ("/api/recordings", "/api/events", "/api/gaps"):
        status, reply = request(engine.api, "GET", f"{route}?{query}", headers=auth)
        assert (status, reply["code"]) == (400, "bad_request") and needle in reply["error"], route


def test_every_list_route_honours_limit_and_order(engine):
    client = EngineClient(engine.api, token=read_token(engine.storage))
    for route, key in (("/api/events", "events"), ("/api/gaps", "gaps")):
        rows = client.get(f"{route}?limit=2")[key]
        assert [r["start_ns"] for r in rows] == [rows[0]["start_ns"], rows[0]["start_ns"] + 100]
        newest = client.get(f"{route}?limit=2&order=desc")[key]
        assert newest[0]["start_ns"] > newest[1]["start_ns"] and len(newest) == 2


def test_health_stays_up_under_a_flood_of_idle_and_slow_connections(engine):
    """1,000 hostile connections (idle, or sending headers a byte at a time), then 200
    simultaneous /health requests: every one answered, and no traceback printed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    url = urlparse(engine.api)
    hostile: list[socket.socket] = []
    try:
        for i in range(1000):
            sock = socket.create_connection((url.hostname, url.port), timeout=10)
            if i % 2:
                sock.sendall(b"GET /health HTTP/1.1\r\nHo")  # a slow client, never finishing
            hostile.append(sock)
        answered: list[int] = []

        def ask() -> None:
            try:
                answered.append(request(engine.api, "GET", "/health")[0])
            except OSError as err:
                answered.append(-1)
                print(err)

        threads = [threading.Thread(target=ask) for _ in range(200)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert answered.count(200) == 200, sorted(set(answered))
    finally:
        for sock in hostile:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    wait_for(lambda: engine.health()["status"] == "ok", 10, what="health after the flood")
    assert "Traceback" not in engine.output()


def test_one_wildcard_and_no_command_without_its_camera(engine_factory, tmp_path):
    main, sub = make_clip(CLIPS, "security", 3)
    cams = "".join(
        f"  - id: {cam}\n    main: {main}\n    sub: {sub}\n    record: {{mode: 'off'}}\n"
        for cam in ("all", "door")
    )
    storage = tmp_path / "storage"
    engine = engine_factory(
        f"storage:\n  path: {storage}\n  min_free_bytes: 100MB\napi:\n  port: 0\ncameras:\n{cams}"
    )
    engine.start()
    client = EngineClient(engine.api, session_id="tests", token=read_token(storage))
    wait_for(
        lambda: all(c.state == "live" for c in client.health().cameras.values()), 60, what="live"
    )
    status, reply = client.command("start_recording", "all")
    assert status == 200 and set(reply.cameras) == {"all"}
    manual = {c.id: c.manual for c in client.health().cameras.values()}
    assert manual == {"all": True, "door": False}
    auth = {"Authorization": f"Bearer {read_token(storage)}", "Content-Type": "application/json"}
    status, reply = request(
        engine.api, "POST", "/api/command", b'{"command": "stop_recording"}', auth
    )
    assert status == 400 and "camera_id" in reply["error"]
    assert client.health().cameras["all"].manual is True
    # A camera playing a local file (the demo's) is tested like a network camera.
    found = client.probe(camera_id="door", stream="sub")
    assert found["ok"] and found["codec"] == "h264" and found["width"] == 640, found
    engine.stop()
