"""Saving the configuration through the engine (the camera editor's path), against a real
engine, a real camera and the real file: edits keep the admin's comments, keep numbered
backups and a history with who and when, apply live, refuse an invalid edit with the key named
(the file and the running config stay), refuse a stale edit, and revert. Zones saved this way
change what motion detection reports. Also the stream test and range protection."""

from __future__ import annotations

import time

from nvr.protocol.client import EngineClient
from nvr.protocol.runfile import read_token
from nvr.storage.catalog import Catalog
from tests.conftest import requires_rtsp, wait_for
from tests.support.cameras import RtspCamera, free_port

pytestmark = requires_rtsp

CORNER = [[0.0, 0.0], [0.04, 0.0], [0.0, 0.04]]  # the moving box almost never gets here


def test_an_edit_is_saved_with_its_comments_applied_live_and_kept_in_history(
    engine_factory, tmp_path
):
    storage = tmp_path / "storage"
    secret_url = f"rtsp://admin:s3cret@127.0.0.1:{free_port()}/main"
    with RtspCamera() as camera:
        text = (
            f"# Our site: edited by hand and by the console\nstorage:\n  path: {storage}\n"
            "  min_free_bytes: 100MB\n"
            "api:\n  port: 0\ncameras:\n"
            "  # the door, by the stairs\n"
            f"  - id: door\n    main: {camera.url('moving/main')}\n"
            f"    sub: {camera.url('moving/sub')}\n"
            "    record:\n      mode: continuous   # the insurer wants everything\n"
            "      segment_s: 5\n"
            f"  - {{id: yard, main: '{secret_url}'}}\n"
        )
        engine = engine_factory(text)
        config_file = tmp_path / "nvr.yaml"
        engine.start()
        client = EngineClient(engine.api, session_id="ann@desk", token=read_token(storage))
        door = lambda: client.health().cameras["door"]  # noqa: E731
        wait_for(lambda: door().state == "live" and door().motion, 90, what="door moving")
        status = client.health().config
        assert (status.version, status.saved_by) == (1, "engine start")

        document = client.config_document()
        assert document["config"]["cameras"][0]["record"]["mode"] == "continuous"
        assert "s3cret" not in str(document) and "***@" in document["config"]["cameras"][1]["main"]

        # A zone in a corner: the box that moves over the rest of the picture is no motion.
        code, reply = client.command(
            "save_config",
            edits=[
                {"path": ["cameras", "door", "motion", "zones"], "value": [CORNER]},
                {"path": ["cameras", "door", "name"], "value": "Front door"},
            ],
            base_sha256=document["sha256"],
            note="ignore the street",
        )
        assert code == 200 and reply.ok, reply
        assert reply.config and reply.config.version == 2 and reply.config.saved_by == "ann@desk"
        # Answered once in force (how long that takes is bench/admin.py's to measure).
        assert client.health().cameras["door"].name == "Front door"
        wait_for(lambda: not door().motion, 15, what="motion outside the zone ignored")
        for _ in range(6):  # and it stays so while the box keeps moving
            assert not door().motion
            time.sleep(0.5)

        saved = config_file.read_text()
        assert "# the door, by the stairs\n" in saved
        assert "mode: continuous   # the insurer wants everything\n" in saved
        assert "zones: [[[0.0, 0.0], [0.04, 0.0], [0.0, 0.04]]]" in saved
        assert (tmp_path / "nvr.yaml.~1~").read_text() == text  # the numbered backup
        history = client.config_history()
        assert [(v["version"], v["saved_by"], v["note"]) for v in history] == [
            (2, "ann@desk", "ignore the street"),
            (1, "engine start", "as found at engine start"),
        ]
        diff = client.config_diff(1, 2)
        assert "+    name: Front door\n" in diff and "s3cret" not in diff
        assert "s3cret" not in client.config_version(1)["text"]

        # An invalid edit: refused with the key named; the file and the running config stay.
        code, reply = client.command(
            "save_config", edits=[{"path": ["cameras", "door", "record", "segment_s"], "value": 1}]
        )
        assert code == 422 and reply.code == "config_invalid"
        assert "cameras[0].record.segment_s" in (reply.error or "")
        assert config_file.read_text() == saved and len(client.config_history()) == 2
        assert client.health().config.ok and client.health().config.version == 2

        # An edit built on a text that has changed since: refused, nothing written.
        stale = {"path": ["cameras", "door", "name"], "value": "Door"}
        code, reply = client.command("save_config", edits=[stale], base_sha256=document["sha256"])
        assert code == 409 and "changed since it was opened (version 2, by ann@desk)" in (
            reply.error or ""
        )

        # A hand edit put in force by live reload joins the history as a file edit.
        config_file.write_text(saved.replace("name: Front door", "name: Main door"))
        wait_for(lambda: client.health().config.version == 3, 15, what="the hand edit")
        assert client.config_history(1)[0]["saved_by"] == "file edit"
        assert client.health().cameras["door"].name == "Main door"

        # Revert to the first version: a new version; the whole picture is watched again.
        code, reply = client.command("revert_config", version=1)
        assert code == 200 and reply.config and reply.config.version == 4
        assert config_file.read_text() == text
        assert client.config_history(1)[0]["note"] == "revert to version 1"
        wait_for(lambda: door().motion, 15, what="motion over the whole picture again")
        assert client.command("revert_config", version=99)[0] == 404


def test_a_stream_test_reports_what_it_carries_or_why_not(engine_factory, tmp_path):
    storage = tmp_path / "storage"
    with RtspCamera() as camera:
        engine = engine_factory(
            f"storage:\n  path: {storage}\n  min_free_bytes: 100MB\napi:\n  port: 0\ncameras:\n"
            f"  - {{id: door, main: '{camera.url('moving/main')}', record: {{segment_s: 5}}}}\n"
        )
        engine.start()
        client = EngineClient(engine.api, session_id="ann@desk", token=read_token(storage))
        found = client.probe(camera.url("moving/sub"))
        assert found["ok"] and found["codec"] == "h264"
        assert (found["width"], found["height"]) == (640, 360)
        assert 12 <= found["fps"] <= 18 and found["bitrate_bps"] > 10_000
        assert client.probe(camera_id="door")["width"] == 1920

        missing = client.probe(camera.url("nowhere/main"))
        assert not missing["ok"] and missing["kind"] == "not_found", missing
        assert "check the stream's path" in missing["error"]
        nowhere = client.probe("rtsp://camera.invalid/main")
        assert nowhere["kind"] == "unreachable" and "cannot resolve" in nowhere["error"]
        dead = client.probe(f"rtsp://admin:pw@127.0.0.1:{free_port()}/main")
        assert not dead["ok"] and dead["kind"] == "unreachable", dead
        assert "***@" in dead["url"] and "pw@" not in dead["error"]
        web = client.probe(f"rtsp://{engine.api.split('://')[1]}/x")  # an HTTP server
        assert web["kind"] == "not_video" and "no RTSP camera answered" in web["error"], web
        assert web["took_s"] < 3
        noise = client.probe(camera.url("noise/main"))  # RTP packets of random bytes
        assert not noise["ok"] and noise["kind"] == "not_video", noise
        assert "does not decode" in noise["error"]
        body = {"url": camera.url("moving/main"), "camera_id": "door"}
        assert client.request("POST", "/api/probe", body)[0] == 400
        body = {"url": camera.url("moving/main") + "\r\nX-Evil: 1"}
        assert client.request("POST", "/api/probe", body)[0] == 400
        status, reply = client.request("POST", "/api/probe", {"url": "file:///etc/passwd"})
        assert status == 400 and "rtsp://" in reply["error"]
        status, reply = client.request("POST", "/api/backup", {"to": "/etc"})
        assert status == 400 and "with_recordings" in reply["error"]
        assert client.request("DELETE", "/api/backup")[0] == 405
        assert b"door" in client.report()

        # Protection: the door's recordings of a range are kept from retention, then released.
        wait_for(
            lambda: len(Catalog(storage / "catalog.db", readonly=True).recordings("door")) >= 2,
            60,
            what="two segments",
        )
        code, reply = client.command("protect", "door", start_ns=0, end_ns=2**62, protected=True)
        assert code == 400 and "an hour from now" in (reply.error or "")  # no future hoarding
        now_ns = time.time_ns()
        code, reply = client.command("protect", "door", start_ns=0, end_ns=now_ns, protected=True)
        assert code == 200 and reply.detail and reply.detail.endswith("recording(s) protected")
        said = int(reply.detail.split()[0])

        def kept() -> list:
            with Catalog(storage / "catalog.db", readonly=True) as catalog:
                return [r for r in catalog.recordings("door") if r.protected]

        # The segment being written at that instant is kept too, once catalogued (it is in
        # ``said`` already if it closed before the command ran).
        writing = wait_for(
            lambda: [r for r in kept() if r.start_ns <= now_ns < r.end_ns], 30, what="it kept"
        )
        protected = len(kept())
        assert writing and said <= protected <= said + 1

        def later() -> list:
            with Catalog(storage / "catalog.db", readonly=True) as catalog:
                return [r for r in catalog.recordings("door") if r.start_ns > now_ns]

        assert not any(r.protected for r in wait_for(later, 30, what="a later segment"))
        with Catalog(storage / "catalog.db", readonly=True) as catalog:
            usage = catalog.usage_by_type()["door"]["continuous"]
        assert usage[1] == sum(r.size_bytes for r in kept())
        code, reply = client.command("protect", "door", start_ns=0, end_ns=2**62, protected=False)
        assert code == 200 and f"{protected} recording(s) released" == reply.detail
        assert kept() == []
        assert client.command("protect", "door", start_ns=5, end_ns=5)[0] == 400


def test_library_messages_map_to_a_kind_and_its_fix():
    from nvr.worker.probe import _kind

    assert (
        _kind("cannot open stream: Server returned 401 Unauthorized (authorization failed)")[0]
        == "auth"
    )
    assert _kind("cannot open stream: Connection refused")[0] == "unreachable"
    assert _kind("cannot open stream: Server returned 404 Not Found")[0] == "not_found"
    assert _kind("the stream has no video track")[0] == "not_video"
    assert _kind("cannot open stream: Connection refused (port 40351)")[0] == "unreachable"
    assert _kind("a 4013 frame")[0] == "not_video"  # digits inside a number are no status
