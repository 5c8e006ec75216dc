"""pytest-benchmark: one PTZ request through the driver (``nvr.worker.ptz``) and onvif-zeep to
the ONVIF simulator, answered; the console-to-camera figures are in ``bench/ptz.py``."""

from __future__ import annotations

import itertools
import queue
import time

from nvr.config import OnvifConfig
from nvr.protocol.worker import PtzReply, PtzRequest
from nvr.worker.ptz import PtzDriver
from tests.support.onvif_camera import OnvifCamera


def test_ptz_stop_through_the_driver(benchmark) -> None:
    benchmark.group = "ptz"
    replies: queue.SimpleQueue[PtzReply] = queue.SimpleQueue()
    with OnvifCamera() as camera:
        config = OnvifConfig(
            host="127.0.0.1", port=camera.port, username="admin", password="secret"
        )
        driver = PtzDriver(
            "dome", config, lambda m: replies.put(m) if isinstance(m, PtzReply) else None
        )
        driver.start()
        deadline = time.monotonic() + 10
        while not driver.status.reachable and time.monotonic() < deadline:
            time.sleep(0.05)
        ids = itertools.count(1)

        def stop() -> PtzReply:
            driver.request(PtzRequest(next(ids), "stop"))
            return replies.get(timeout=5)

        try:
            reply = benchmark(stop)
        finally:
            driver.close()
    assert reply.ok
