"""The PTZ driver (``nvr.worker.ptz``) through the real onvif-zeep against the ONVIF simulator
(``tests.support.onvif_camera``): moves that always end, presets, and cameras that lie, refuse
or hang, each explained in one sentence while the driver stays responsive."""

from __future__ import annotations

import http.server
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dearpygui.dearpygui as dpg
import pytest

from gui.link import EngineLink
from gui.live.ptz import RENEW_S, Steering
from gui.shell import Console
from gui.view import ViewState
from nvr.config import OnvifConfig
from nvr.demo import make_clip
from nvr.errors import NvrError
from nvr.protocol.client import EngineAddress, EngineClient
from nvr.protocol.runfile import read_token
from nvr.protocol.worker import PtzReply, PtzRequest, PtzUpdate
from nvr.storage.catalog import Catalog
from nvr.worker.ptz import PtzDriver
from tests.conftest import TOKENS, wait_for
from tests.support.cameras import free_port
from tests.support.onvif_camera import OnvifCamera
from tests.test_console_system import settler

CLIPS = Path("/tmp/nvr-test-clips")


class Driven:
    """A driver and what it reported, with a blocking ``ask``."""

    def __init__(self, port: int, password: str = "secret", timeout_s: float = 1.0) -> None:
        config = OnvifConfig(
            host="127.0.0.1", port=port, username="admin", password=password, timeout_s=timeout_s
        )
        self.replies: dict[int, PtzReply] = {}
        self.updates: list[PtzUpdate] = []
        self.driver = PtzDriver("dome", config, self._report)
        self._ids = iter(range(1, 10**6))

    def _report(self, message: object) -> None:
        if isinstance(message, PtzReply):
            self.replies[message.request_id] = message
        elif isinstance(message, PtzUpdate):
            self.updates.append(message)

    @property
    def status(self) -> Any:
        return self.driver.status

    def ask(self, action: str, timeout: float = 10, **params: Any) -> PtzReply:
        request_id = next(self._ids)
        self.driver.request(PtzRequest(request_id, action, **params))
        return wait_for(lambda: self.replies.get(request_id), timeout, 0.01, what=action)


@pytest.fixture
def camera() -> Iterator[OnvifCamera]:
    with OnvifCamera() as cam:
        yield cam


@pytest.fixture
def driven(camera: OnvifCamera) -> Iterator[Driven]:
    d = Driven(camera.port)
    d.driver.start()
    wait_for(lambda: d.status.reachable and d.status.position is not None, 10, what="connected")
    yield d
    d.driver.close()


def test_it_connects_once_and_reads_what_the_camera_can_do(camera, driven):
    status = driven.status
    assert status.profile == "profile_1" and status.continuous and status.relative
    assert status.zoom and status.max_presets == 8 and status.position == (0.0, 0.0, 0.0)
    assert status.error is None and not status.moving
    assert camera.operations()[:2] == ["GetCapabilities", "GetProfiles"]
    assert driven.updates[-1].status == status  # every change was reported


def test_a_held_move_goes_on_while_renewed_and_stops_when_let_go(camera, driven):
    reply = driven.ask("move", pan=1.0, tilt=0.0, timeout_s=0.5)
    assert reply.ok and reply.latency_ms is not None and reply.latency_ms < 1000
    for _ in range(4):  # held: renewed every 0.3 s
        time.sleep(0.3)
        assert driven.ask("move", pan=1.0, timeout_s=0.5).ok
    assert camera.moving()
    assert driven.status.moving and driven.status.position[0] > 0.2  # read while it moves
    let_go = time.monotonic()
    wait_for(lambda: not camera.moving(), 2, 0.01, what="the stop")
    stop = next(c for c in reversed(camera.calls) if c.operation == "Stop")
    assert stop.at - let_go < 0.5 + 0.2  # the deadline, and little more
    pan = camera.position()[0]
    assert 0.6 < pan <= 1.0  # 1.7 s at 0.5 units/s, within the limit
    # The ONVIF Timeout rides with every move: the camera stops by itself if the engine dies.
    move = next(c for c in camera.calls if c.operation == "ContinuousMove")
    assert move.params["Timeout"] == "PT1S"
    wait_for(
        lambda: not driven.status.moving and abs(driven.status.position[0] - pan) < 1e-3, 3, 0.05
    )
    assert driven.ask("stop").ok


def test_presets_are_saved_recalled_and_removed_with_their_errors_in_words(camera, driven):
    assert driven.ask("save", name="door").ok
    camera.position()  # noqa: B018 - the simulator integrates on read
    assert driven.ask("move", pan=-1.0, tilt=1.0, timeout_s=0.4).ok
    wait_for(lambda: not camera.moving(), 3, 0.02, what="stopped")
    assert driven.ask("save", name="gate").ok
    names = [p.name for p in driven.status.presets]
    assert names == ["door", "gate"] and driven.status.presets[1].position[0] < 0
    assert driven.ask("goto", name="door").ok
    assert camera.position()[:2] == (0.0, 0.0)
    taken = driven.ask("save", name="door")
    assert not taken.ok and "exists" in taken.error
    assert driven.ask("save", name="door", replace=True).ok  # moved on purpose
    long = driven.ask("save", name="x" * 41)
    assert not long.ok and "1 to 40" in long.error
    missing = driven.ask("goto", name="attic")
    assert not missing.ok and "no preset named 'attic'" in missing.error
    assert driven.ask("rename", name="gate", new_name="yard").ok  # goes there to store it
    assert camera.position()[0] < 0 and [p.name for p in driven.status.presets] == [
        "door",
        "yard",
    ]
    assert camera.presets["2"].name == "yard"  # the same preset on the camera, renamed
    taken = driven.ask("rename", name="yard", new_name="door")
    assert not taken.ok and "exists" in taken.error
    assert driven.ask("remove", name="yard").ok
    assert [p.name for p in driven.status.presets] == ["door"]
    # Deleted on the camera by another client: gone at the next sync.
    camera.presets.clear()
    assert driven.ask("sync").ok and driven.status.presets == ()
    # Full: the camera's maximum is said before it is asked.
    for n in range(8):
        assert driven.ask("save", name=f"p{n}").ok
    full = driven.ask("save", name="one more")
    assert not full.ok and "at most 8 presets" in full.error
    assert driven.status.error is None  # a refused request is not a camera fault


def test_a_camera_that_hangs_is_reported_and_the_driver_answers_after(camera, driven):
    camera.silent = True
    started = time.monotonic()
    hung = driven.ask("stop")
    assert not hung.ok and hung.error.startswith("the camera did not answer within 1 s; check")
    assert time.monotonic() - started < 1.8
    assert not driven.status.reachable and driven.status.error == hung.error
    camera.silent = False
    assert driven.ask("stop").ok and driven.status.reachable and driven.status.error is None


def test_a_slow_camera_that_moves_after_the_engine_gave_up_still_gets_its_stop(camera, driven):
    camera.delay_s = 2.0  # answers after the 1 s limit, and does what it was asked then
    late = driven.ask("move", pan=1.0, timeout_s=0.5)
    assert not late.ok and "did not answer within 1 s" in late.error
    wait_for(lambda: "Stop" in camera.operations(), 6, 0.05, what="the Stop at the deadline")
    camera.delay_s = 0.0
    wait_for(lambda: not camera.moving(), 4, 0.05, what="stopped")
    moved = camera.position()[0]
    time.sleep(0.5)
    assert camera.position()[0] == moved


def test_a_refusing_camera_says_why(camera, driven):
    camera.fault = "ter:Action"
    refused = driven.ask("move", pan=0.5)
    assert not refused.ok
    assert refused.error.startswith("the camera refused the request (ter:Action: Action failed)")
    assert driven.status.reachable  # it answered


@pytest.mark.parametrize(
    ("setup", "said"),
    [
        ("password", "refused the ONVIF user or password; check onvif.username"),
        ("closed", "cannot reach 127.0.0.1:"),
        ("no_ptz", "the camera has no PTZ"),
        ("not_onvif", "does not answer in ONVIF SOAP; is it an ONVIF camera"),
    ],
)
def test_a_camera_it_cannot_steer_is_explained_and_tried_again(setup, said):
    with OnvifCamera(ptz=setup != "no_ptz") as camera, _NotOnvif() as web:
        port = {"closed": free_port(), "not_onvif": web.port}.get(setup, camera.port)
        d = Driven(port, password="wrong" if setup == "password" else "secret")
        d.driver.start()
        try:
            wait_for(lambda: d.status.error, 10, what="the failure")
            assert said in d.status.error and not d.status.reachable, d.status.error
            asked = d.ask("move", pan=1.0)
            assert not asked.ok and said in asked.error  # answered at once, with the reason
        finally:
            d.driver.close()


class _NotOnvif:
    """A web server that is not a camera: 404 for everything."""

    def __enter__(self) -> _NotOnvif:
        self.server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler
        )
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- through the engine -------------------------------------------------------------------------


def two_cameras(storage: Path, camera: OnvifCamera, extra: str) -> str:
    """A config: dome (a demo clip, steered through ``camera``), and fixed (no PTZ)."""
    main, sub = make_clip(CLIPS, "ptz", 5)
    return (
        f"storage:\n  path: {storage}\n  min_free_bytes: 100MB\napi:\n  port: 0\ncameras:\n"
        f"  - id: dome\n    {extra}\n    main: {main}\n    sub: {sub}\n"
        f"    onvif: {{host: 127.0.0.1, port: {camera.port}, username: admin,"
        " password: secret, timeout_s: 1}\n"
        f"  - id: fixed\n    main: {main}\n    record: {{mode: 'off'}}\n"
    )


def test_the_engine_steers_a_camera_and_a_hung_one_never_stops_recording(engine_factory, tmp_path):
    storage = tmp_path / "storage"
    with OnvifCamera() as camera:
        engine = engine_factory(two_cameras(storage, camera, "record: {segment_s: 5}"))
        engine.start()
        client = EngineClient(engine.api, session_id="ann@desk", token=TOKENS[engine.api])
        ptz = wait_for(
            lambda: (p := client.health().cameras["dome"].ptz) and p.reachable and p, 30, what="ptz"
        )
        assert (
            ptz.continuous and ptz.max_presets == 8 and client.health().cameras["fixed"].ptz is None
        )

        status, reply = client.command("ptz_move", "dome", pan=1.0, timeout_s=0.5)
        assert status == 200 and reply.ok and reply.ack_ms is not None, reply
        wait_for(camera.moving, 2, 0.02, what="moving")
        wait_for(lambda: not camera.moving(), 1.5, 0.02, what="stopped when not renewed")

        assert client.command("ptz_save_preset", "dome", name="door")[0] == 200
        status, reply = client.command("ptz_save_preset", "dome", name="door")
        assert status == 409 and "exists" in reply.error and reply.code == "ptz_refused"
        found = client.ptz("dome")
        assert [p["name"] for p in found["ptz"]["presets"]] == ["door"]
        assert found["mirrored_presets"][0]["name"] == "door"  # in the catalog too
        assert client.command("ptz_goto_preset", "dome", name="door")[0] == 200
        status, reply = client.command("ptz_goto_preset", "dome", name="attic")
        assert status == 409 and "no preset named 'attic'" in reply.error
        assert client.command("ptz_save_preset", "dome", name="x" * 41)[0] == 400
        status, reply = client.command("ptz_move", "fixed", pan=1.0)
        assert status == 409 and "fixed has no PTZ" in reply.error
        with pytest.raises(NvrError, match="fixed has no PTZ"):
            client.ptz("fixed")
        assert client.command("ptz_move", "dome", pan=2.0)[0] == 400

        # A camera that hangs: the request fails in words, the recording goes on.
        def segments() -> int:
            with Catalog(storage / "catalog.db", readonly=True) as catalog:
                return len(catalog.recordings("dome"))

        wait_for(lambda: client.health().cameras["dome"].state == "live", 30, what="live")
        before = segments()
        camera.silent = True
        started = time.monotonic()
        status, reply = client.command("ptz_stop", "dome")
        assert status == 502 and reply.error.startswith("the camera did not answer within 1 s")
        assert time.monotonic() - started < 3
        health_started = time.monotonic()
        health = client.health()
        assert time.monotonic() - health_started < 0.5  # the engine never waited on it
        assert not health.cameras["dome"].ptz.reachable
        assert health.cameras["dome"].state in ("starting", "live")
        wait_for(lambda: segments() >= before + 2, 30, what="recording on")
        camera.silent = False
        assert client.command("ptz_stop", "dome")[0] == 200
        metrics = client.request("GET", "/metrics")[1]
        assert 'nvr_ptz_reachable{camera="dome"} 1.0' in metrics

        # The engine dies mid-move: the camera stops by itself (ONVIF's Timeout).
        assert client.command("ptz_move", "dome", pan=-1.0, timeout_s=1.0)[0] == 200
        os.killpg(engine.proc.pid, signal.SIGKILL)
        engine.proc.wait(10)
        killed = time.monotonic()
        wait_for(lambda: not camera.moving(), 4, 0.05, what="the camera's own stop")
        assert time.monotonic() - killed < 2.5

        # Presets live on the camera and in the catalog: a restarted engine has them.
        engine.start()
        client = EngineClient(engine.api, session_id="ann@desk", token=TOKENS[engine.api])
        wait_for(
            lambda: [p.name for p in client.health().cameras["dome"].ptz.presets] == ["door"],
            30,
            what="the presets again",
        )
        camera.presets.clear()  # deleted by another client: noticed at the next sync
        status, reply = client.command("ptz_goto_preset", "dome", name="door")
        assert status == 409 and "no longer on the camera" in reply.error
        wait_for(lambda: client.health().cameras["dome"].ptz.presets == (), 5, what="synced")
        assert client.ptz("dome")["mirrored_presets"] == []
        engine.stop()


# -- the console's PTZ panel --------------------------------------------------------------------


def test_steering_renews_a_held_move_stops_at_release_and_never_stacks_moves():
    sent: list[tuple[str, str, dict]] = []

    def send(command: str, camera_id: str, **params: Any) -> int:
        sent.append((command, camera_id, params))
        return len(sent)

    steering = Steering(send)
    steering.steer("dome", (0.5, 0.0, 0.0), 0.0)
    assert sent == [("ptz_move", "dome", {"pan": 0.5, "tilt": 0.0, "zoom": 0.0, "timeout_s": 1.0})]
    steering.steer("dome", (0.5, 0.0, 0.0), RENEW_S + 0.1)  # due, but the first is on its way
    assert len(sent) == 1
    steering.answered(1)
    steering.steer("dome", (0.5, 0.0, 0.0), RENEW_S + 0.2)  # renewed
    steering.answered(2)
    steering.steer("dome", (0.5, 0.0, 0.0), RENEW_S + 0.3)  # not due yet
    assert [c for c, *_ in sent] == ["ptz_move", "ptz_move"]
    steering.steer("dome", (0.0, 0.0, 0.0), RENEW_S + 0.4)  # let go: Stop at once
    steering.steer("dome", (0.0, 0.0, 0.0), RENEW_S + 0.5)  # and only once
    assert [c for c, *_ in sent] == ["ptz_move", "ptz_move", "ptz_stop"]
    steering.steer("dome", (0.0, 1.0, 0.0), 5.0)
    steering.steer("yard", (0.0, 1.0, 0.0), 5.1)  # another camera picked while held
    assert sent[-1] == ("ptz_stop", "dome", {})


def test_the_console_panel_steers_saves_and_recalls_and_says_what_fails(
    context, engine_factory, tmp_path
):
    storage = tmp_path / "storage"
    with OnvifCamera() as camera:
        engine = engine_factory(two_cameras(storage, camera, "name: Dome"))
        engine.start()
        link = EngineLink(EngineAddress(engine.api, read_token(storage)), poll_s=0.2)
        console = Console(link, ViewState(), tmp_path / "console.json", operator="ann@desk")
        console.build()
        link.start()
        live, panel = console.live, console.live.ptz
        settle = settler(console)

        try:
            settle(lambda: link.snapshot().connected, "the engine")
            live.model.view.selected = "fixed"
            console.update()
            assert not dpg.get_item_configuration(live.toolbar.ptz)["enabled"]
            assert panel.camera is None
            live.model.view.selected = "dome"
            live.model.toggle_fullscreen()  # shown alone: the panel opens by itself
            settle(lambda: panel.camera == "dome", "the panel open")
            assert dpg.get_item_configuration(live.toolbar.ptz)["enabled"]
            settle(
                lambda: dpg.get_value(panel.status).startswith("Still\npan +0.00"),
                "the camera's state and position",
            )

            panel.pad_held = (1, 0)  # the pad's right arrow, held
            settle(camera.moving, "moving")
            settle(lambda: "Moving" in dpg.get_value(panel.status), "moving said")
            held_until = time.monotonic() + 1.5  # longer than a move lasts: renewed
            while time.monotonic() < held_until:
                console.update()
                time.sleep(0.03)
            assert camera.moving()
            # The console freezes while held: the engine stops the camera (the move's 1 s
            # deadline passes unrenewed; waited on without running the console's frames).
            wait_for(lambda: not camera.moving(), 3, interval=0.05, what="stopped by the engine")
            console.update()
            settle(camera.moving, "moving again once the console runs")
            panel.pad_held = None
            released = time.monotonic()
            settle(lambda: not camera.moving(), "stopped at release", 2)
            assert time.monotonic() - released < 0.6
            settle(lambda: "Still" in dpg.get_value(panel.status), "still said")

            dpg.set_value(panel.name, "gate")
            panel.save()
            settle(lambda: panel._presets == ("gate",), "the preset listed")
            dpg.set_value(panel.name, "gate")
            panel.save()  # taken: said in the engine's words
            settle(lambda: "exists" in dpg.get_value(panel.said), "the refusal")
            assert dpg.get_value(panel.said).startswith("Save gate: ")
            panel.pad_held = (-1, 0)
            settle(lambda: camera.position()[0] < 0.3, "moved away", 10)
            panel.pad_held = None
            settle(lambda: not camera.moving(), "stopped")
            panel.recall(1)  # Ctrl+1
            settle(lambda: camera.position()[0] > 0.3, "back at the preset")
            assert panel.chosen() == "gate"  # the preset recalled is the one highlighted
            panel.recall(4)
            assert "no preset 4" in panel.error
            at = camera.position()
            assert live.center("dome", 1.0, -1.0)  # Ctrl+click at the bottom right corner
            settle(lambda: camera.position()[0] > at[0] + 0.1, "turned toward the click")
            assert camera.position()[1] < at[1] and not live.center("fixed", 0.0, 0.0)

            dpg.set_value(panel.name, "lane")
            panel.rename()  # asked first: the camera turns to the preset to store it
            assert panel.confirm.open and "turns to the preset" in dpg.get_value(panel.confirm.text)
            panel.confirm._yes()
            settle(lambda: panel._presets == ("lane",), "the preset renamed")
            assert panel.chosen() == "lane"
            panel.remove("lane")  # asked first
            assert panel.confirm.open and camera.presets
            panel.confirm._yes()
            settle(lambda: panel._presets == (), "the preset deleted")

            camera.silent = True  # a camera that hangs: said, the console goes on
            panel.pad_held = (0, 1)
            settle(lambda: "did not answer within 1 s" in dpg.get_value(panel.said), "said", 10)
            panel.pad_held = None
            camera.silent = False
            live.model.exit_fullscreen()
            console.update()
            assert panel.camera is None  # closed with the grid back
        finally:
            link.stop()
            for p in console.panels:
                p.close()
        engine.stop()
