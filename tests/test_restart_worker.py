"""``restart_worker``: one camera's worker restarts on command; the others record on without a
break (their segments keep tiling time)."""

from __future__ import annotations

import time

from nvr.protocol.client import EngineClient
from nvr.protocol.runfile import read_token
from nvr.storage.catalog import Catalog
from tests.conftest import requires_rtsp, wait_for
from tests.support.cameras import RtspCamera

pytestmark = requires_rtsp


def test_restarting_one_worker_leaves_the_others_recording(engine_factory, tmp_path):
    storage = tmp_path / "storage"
    with RtspCamera() as camera:
        cams = "".join(
            f"  - id: {cid}\n    main: {camera.url('moving/main')}\n"
            f"    sub: {camera.url('moving/sub')}\n    record: {{segment_s: 5}}\n"
            for cid in ("door", "yard")
        )
        engine = engine_factory(
            f"storage:\n  path: {storage}\n  min_free_bytes: 100MB\n"
            f"api:\n  port: 0\ncameras:\n{cams}"
        )
        engine.start()
        client = EngineClient(engine.api, session_id="ann@desk", token=read_token(storage))
        live = lambda cid: client.health().cameras[cid]  # noqa: E731
        wait_for(lambda: live("door").state == "live" and live("yard").state == "live", 90)
        wait_for(lambda: live("door").cpu_pct is not None, 10, what="worker CPU measured")
        door, health = live("door"), client.health()
        assert door.rss_bytes and door.rss_bytes > 20e6 and door.uptime_s > 0
        assert health.rss_bytes and health.rss_bytes > door.rss_bytes and health.catalog_bytes > 0
        metrics = client.get("/metrics")
        assert 'nvr_camera_memory_bytes{camera="door"}' in metrics
        pid = door.pid
        yard_pid = live("yard").pid
        asked = time.monotonic()
        status, reply = client.command("restart_worker", "door")
        assert status == 202 and reply.ok and "restarts now" in (reply.detail or "")
        wait_for(lambda: live("door").pid not in (None, pid), 30, what="a new door worker")
        wait_for(lambda: live("door").state == "live", 60, what="door live again")
        assert live("door").uptime_s <= time.monotonic() - asked + 1  # from the new start
        assert (live("door").last_exit or "").startswith("restarted by ann@desk at ")
        assert live("door").restarts == 0  # not a crash

        def yard_segments() -> list:
            with Catalog(storage / "catalog.db", readonly=True) as catalog:
                return catalog.recordings("yard")

        before = len(yard_segments())
        wait_for(lambda: len(yard_segments()) >= before + 2, 60, what="yard recording on")
        segments = yard_segments()
        for a, b in zip(segments, segments[1:], strict=False):
            assert abs(b.start_ns - a.end_ns) < 5_000_000, (a, b)  # tiled: no break
        assert live("yard").pid == yard_pid
        with Catalog(storage / "catalog.db", readonly=True) as catalog:
            assert not catalog.gaps("yard")
            (gap,) = catalog.gaps("door")
        assert gap.kind == "worker_restart" and gap.cause == "worker restarted by ann@desk"
        assert client.command("restart_worker", "*")[0] == 400
        assert client.command("restart_worker", "nope")[0] == 404
        assert engine.stop() == 0
