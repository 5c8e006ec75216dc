"""Full resolution on demand: a camera shown alone has its main stream decoded into a second
ring while the console renews ``watch_main``, and let go when it stops."""

from __future__ import annotations

from nvr.frames.ring import FrameRing
from nvr.protocol.client import EngineClient
from nvr.protocol.runfile import read_token
from tests.conftest import requires_rtsp, wait_for
from tests.support.cameras import RtspCamera

pytestmark = requires_rtsp


def test_the_main_stream_is_decoded_into_its_own_ring_only_while_watched(engine_factory, tmp_path):
    storage = tmp_path / "storage"
    with RtspCamera(main_size=(1280, 720)) as camera:
        engine = engine_factory(
            f"storage:\n  path: {storage}\n  min_free_bytes: 100MB\napi:\n  port: 0\ncameras:\n"
            f"  - id: door\n    main: {camera.url('moving/main')}\n"
            f"    sub: {camera.url('moving/sub')}\n"
            f"  - id: yard\n    main: {camera.url('still/main')}\n"
        )
        engine.start()
        client = EngineClient(engine.api, session_id="tests", token=read_token(storage))
        door = lambda: client.health().cameras["door"]  # noqa: E731
        wait_for(lambda: door().state == "live" and door().ring, 90, what="door live")
        assert door().main_ring is None  # nobody watches: only the sub stream is decoded

        status, reply = client.command("watch_main", "door", seconds=4)
        assert status == 200 and reply.ok
        name = wait_for(lambda: door().main_ring, 15, what="the main stream's ring")
        with FrameRing.attach(name) as ring:
            first = wait_for(ring.latest, 10, what="a main-stream frame")
            assert (first.width, first.height) == (1280, 720)
            index = first.index
            wait_for(lambda: ring.latest().index > index + 5, 10, what="main frames flowing")
        sub_name = door().ring
        with FrameRing.attach(sub_name) as sub:
            assert (sub.latest().width, sub.latest().height) == (640, 360)

        # Not renewed: after its lease the ring goes.
        wait_for(lambda: door().main_ring is None, 20, what="the ring let go")

        # A camera without a sub stream has the main stream in its one ring already.
        assert client.command("watch_main", "yard", seconds=4)[0] == 200
        for params, camera_id in (
            ({"seconds": 0}, "door"),
            ({"seconds": 99}, "door"),
            ({"seconds": "x"}, "door"),
            ({}, "*"),
        ):
            assert client.command("watch_main", camera_id, **params)[0] == 400, params
        assert client.command("watch_main", "nope")[0] == 404
        assert client.health().cameras["yard"].main_ring is None
        assert engine.stop() == 0
