"""The loopback API of a real engine process: routes, command validation, metrics."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
from urllib.parse import urlparse

import pytest

from nvr.protocol.runfile import read_run_file, run_file_path
from nvr.storage.catalog import Catalog, NewMotionEvent
from tests.conftest import ROOT, api_command, api_get, wait_for
from tests.support.api import TOKENS
from tests.support.cameras import free_port


@pytest.fixture
def engine(engine_factory, tmp_path):
    storage = tmp_path / "storage"
    with Catalog(storage / "catalog.db") as catalog:  # rows a crashed earlier run left open
        catalog.add_gap("front", 1_000, "camera unreachable")
        catalog.add_motion_event(NewMotionEvent("front", 2_000, None, 0.5))
    engine = engine_factory(
        f"storage:\n  path: {storage}\n  min_free_bytes: 100MB\napi:\n  port: 0\ncameras: []\n"
    )
    engine.start()
    yield engine
    assert engine.stop() == 0


def raw_post(api: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    """A command as bytes, with the engine's token."""
    url = urlparse(api)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    headers = {"Authorization": f"Bearer {TOKENS[api]}", **headers}
    conn.request("POST", "/api/command", body=body, headers=headers)
    resp = conn.getresponse()
    return resp.status, json.loads(resp.read())


def test_health_metrics_and_config(engine):
    health = engine.health()
    assert health["status"] == "ok" and health["cameras"] == {}
    assert health["storage"]["free_bytes"] > 0 and health["config"]["ok"]
    metrics = api_get(engine.api, "/metrics")
    assert "# TYPE nvr_up gauge" in metrics and "nvr_up 1" in metrics
    assert "nvr_storage_free_bytes" in metrics
    assert "nvr_storage_write_bps 0.0" in metrics and "# TYPE nvr_storage_days_retained" in metrics
    assert health["recovery"]["integrity"] == ["ok"] and health["storage"]["warning"] is None
    assert api_get(engine.api, "/api/config")["ok"] is True
    status, reply = api_command(engine.api, "config_status")
    assert status == 200 and reply["config"]["path"].endswith("nvr.yaml")
    assert reply["ui_session_id"] == "tests" and reply["schema_version"] == "2.0"


def test_rows_left_open_by_an_earlier_run_are_closed_at_start(engine):
    gaps = api_get(engine.api, "/api/gaps")["gaps"]
    events = api_get(engine.api, "/api/events?camera_id=front")["events"]
    assert gaps[0]["end_ns"] > gaps[0]["start_ns"] and events[0]["end_ns"] == 2_000


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        (b"not json", 400, "bad command"),
        (b"[1, 2]", 400, "JSON object"),
        (b'{"command": "start_recording", "colour": "red"}', 400, "unknown field"),
        (b'{"command": "start_recording", "camera_id": ["a"]}', 400, "camera_id must be"),
        (b'{"command": "panic", "params": {"active": "false"}}', 400, "true or false"),
        (b'{"command": "explode"}', 400, "unknown command"),
        (b'{"command": "panic", "schema_version": "1.0"}', 400, "schema_version"),
        (b'{"command": "start_recording", "camera_id": "nowhere"}', 404, "unknown camera"),
        (b'{"command": "panic", "params": {"Active": false}}', 400, "takes no params ['Active']"),
        (b'{"command": "config_status", "command": "panic"}', 400, "given twice"),
        (b'{"command": "panic", "params": ' + b"[" * 20000 + b"]" * 20000 + b"}", 400, "deeply"),
    ],
)
def test_bad_commands_get_one_clear_answer(engine, body, status, needle):
    got, reply = raw_post(engine.api, body, {"Content-Type": "application/json"})
    assert got == status and needle in reply["error"] and reply["ok"] is False


def test_bad_requests_and_routes(engine):
    status, reply = raw_post(engine.api, b"{}", {"Content-Length": "many"})
    assert status == 400 and "Content-Length" in reply["error"]
    status, reply = raw_post(engine.api, b"{}", {"Content-Length": "-1"})
    assert (status, reply["code"]) == (400, "bad_request") and "Content-Length" in reply["error"]
    url = urlparse(engine.api)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    auth = {"Authorization": f"Bearer {TOKENS[engine.api]}"}
    conn.request("GET", "/api/recordings?start_ns=yesterday", headers=auth)
    resp = conn.getresponse()
    assert resp.status == 400 and "integers" in json.loads(resp.read())["error"]
    conn.request("GET", "/nothing-here")
    resp = conn.getresponse()
    assert resp.status == 404 and "README" in json.loads(resp.read())["error"]
    status, reply = api_command(engine.api, "panic", active=True)
    assert status == 200 and reply["ok"] and engine.health()["panic"] is True
    status, reply = api_command(engine.api, "panic", active=False)
    assert engine.health()["panic"] is False


def test_a_second_engine_on_the_same_storage_is_refused_before_it_touches_anything(
    engine, tmp_path
):
    second = subprocess.run(
        [sys.executable, "-m", "nvr", "run", "-c", str(engine.config), "--duration", "5"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert second.returncode == 2
    assert f"in use by another engine (pid {engine.proc.pid})" in second.stderr
    assert "recovery" not in second.stderr and "closed" not in second.stderr
    assert read_run_file(engine.storage).pid == engine.proc.pid  # still the first engine's
    assert engine.health()["status"] == "ok"


def test_a_clean_stop_removes_the_run_file(engine_factory, tmp_path):
    storage = tmp_path / "storage"
    engine = engine_factory(
        f"storage:\n  path: {storage}\n  min_free_bytes: 100MB\napi:\n  port: 0\ncameras: []\n"
    )
    engine.start()
    assert read_run_file(storage).pid == engine.proc.pid
    assert engine.stop() == 0
    assert not run_file_path(storage).exists()


def test_recording_asked_of_a_camera_whose_stream_is_down_is_pending_and_says_so(
    engine_factory, tmp_path
):
    storage = tmp_path / "storage"
    engine = engine_factory(
        f"storage:\n  path: {storage}\n  min_free_bytes: 100MB\n"
        "api:\n  port: 0\ncameras:\n  - id: door\n"
        f"    main: rtsp://127.0.0.1:{free_port()}/main\n    record: {{mode: 'off'}}\n"
    )
    engine.start()
    # Its worker runs (a first start may spend seconds compiling kernels) and found no stream.
    wait_for(
        lambda: engine.health()["cameras"]["door"]["state"] == "reconnecting",
        60,
        what="door's worker without a stream",
    )
    status, reply = api_command(engine.api, "start_recording", "door")
    assert status == 202 and reply["ok"] is False
    assert reply["cameras"]["door"] == {"acknowledged": True, "recording": False, "pending": True}
    assert "door: the stream is down, so nothing is being recorded" in reply["detail"]
    health = engine.health()
    assert health["cameras"]["door"]["manual"] is True  # in force for when the stream returns
    assert health["status"] == "degraded"
    assert any(p.startswith("door is ") for p in health["problems"]), health["problems"]
    assert engine.stop() == 0
