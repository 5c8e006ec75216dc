"""The log index: incremental reading of the JSON-lines logs across rotations, and queries by
level, camera, component, words and time; the API route over it on a real engine."""

from __future__ import annotations

import json
import os
import time

from nvr.protocol.client import EngineClient
from nvr.protocol.runfile import read_token
from nvr.storage.logindex import LogIndex


def line(ts: str, level: str, logger: str, message: str, **extra: str) -> str:
    entry = {"ts": ts, "level": level, "process": "p", "pid": 1, "logger": logger}
    return json.dumps({**entry, "message": message, **extra}) + "\n"


def test_the_index_follows_the_files_and_answers_every_filter(tmp_path):
    supervisor = tmp_path / "supervisor.log"
    worker = tmp_path / "worker-door.log"
    supervisor.write_text(
        line("2026-12-05T10:00:00.000", "INFO", "nvr.supervisor.loop", "engine starting")
        + line("2026-12-05T10:00:01.000", "ERROR", "nvr.supervisor.api", "API refused a client")
    )
    worker.write_text(
        line(
            "2026-12-05T10:00:02.000",
            "WARNING",
            "nvr.worker.source",
            "door/main: connection refused",
        )
        + '{"ts": "2026-12-05T10:00:03'  # a line being written: waits
    )
    index = LogIndex(tmp_path)
    assert index.update() == 3
    assert index.update() == 0  # nothing new: nothing read twice
    assert [e.message for e in index.query()] == [
        "door/main: connection refused",
        "API refused a client",
        "engine starting",
    ]
    assert [e.camera_id for e in index.query(level="WARNING")] == ["door", ""]
    assert [e.message for e in index.query(camera_id="door")] == ["door/main: connection refused"]
    assert len(index.query(component="nvr.supervisor")) == 2
    assert [e.message for e in index.query(text="refuse conn")] == ["door/main: connection refused"]
    assert index.query(text='" OR NEAR( AND *') == []  # user text is never query syntax

    # The line completes; the file rotates at midnight and a new one begins.
    with worker.open("a") as fh:
        fh.write('.000", "level": "INFO", "logger": "nvr.worker.process", "message": "live"}\n')
    rotated = tmp_path / "worker-door.log.2026-12-05"
    worker.rename(rotated)
    os.utime(rotated, (time.time() - 60, time.time() - 60))
    worker.write_text(line("2026-12-06T00:00:01.000", "INFO", "nvr.worker.process", "new day"))
    assert index.update() == 2  # "live" and "new day": the rotated file is not read again
    assert len(index.query(camera_id="door")) == 3
    later = index.query(since_ns=index.query(text="live")[0].ts_ns + 1)
    assert [e.message for e in later] == ["new day"]

    rotated.unlink()  # log retention deleted it: its entries go too
    index.update()
    assert [e.message for e in index.query(camera_id="door")] == ["new day"]
    assert index.query(text="connection") == []
    index.close()


def test_the_engine_serves_its_logs_filtered(engine_factory, tmp_path):
    storage = tmp_path / "storage"
    engine = engine_factory(
        f"storage:\n  path: {storage}\n  min_free_bytes: 100MB\napi:\n  port: 0\ncameras: []\n"
    )
    engine.start()
    client = EngineClient(engine.api, token=read_token(storage))
    (entry,) = client.logs(q="API listening")
    assert entry["component"] == "nvr.supervisor.api" and entry["level"] == "INFO"
    assert client.logs(level="error") == []
    for bad in ("level=LOUD", "limit=0", "q=" + "x" * 201, "since_ns=-5", "colour=red"):
        status, body = client.request("GET", f"/api/logs?{bad}")
        assert status == 400 and body["code"] == "bad_request", bad
    assert engine.stop() == 0
