"""The web pages in a real browser: Debian's Chromium driven by Playwright, against a real
camera, engine and ``nvr web``.

A user logs in through the form; the dashboard shows the engine's state and live snapshots; the
live page plays the camera through MSE (the frame counter drawn into the test camera's picture
is read back from the ``<video>`` element and must advance); badges and notifications follow the
engine when an operator starts and stops a recording; a viewer sees only their cameras; the
admin page lists users, sessions and the audit log. Screenshots at desktop and phone sizes go to
``artifacts/web/``."""

from __future__ import annotations

import base64
import shutil
import statistics
import time
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np
import pytest

from tests.conftest import ARTIFACTS, requires_rtsp, wait_for
from tests.support.counter import read_counter
from tests.support.web import PASSWORDS

CHROMIUM = shutil.which("chromium")
SHOTS = ARTIFACTS / "web"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

pytestmark = [
    requires_rtsp,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed: run scripts/setup.sh"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=CHROMIUM, args=["--autoplay-policy=no-user-gesture-required"]
        )
        try:
            yield launched
        finally:
            launched.close()


def log_in(browser: Any, site: Any, user: str, viewport: dict[str, int] = DESKTOP) -> Any:
    context = browser.new_context(ignore_https_errors=True, viewport=viewport)
    page = context.new_page()
    page.goto(site.url + "/")
    assert "/login" in page.url
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORDS[user])
    page.click("button[type=submit]")
    page.wait_for_url(site.url + "/")
    return page


def video_frame_number(page: Any, selector: str) -> int | None:
    """The counter in the picture the ``<video>`` shows now (drawn on a canvas, read back)."""
    data = page.evaluate(
        """(sel) => {
            const v = document.querySelector(sel);
            if (!v || !v.videoWidth) return null;
            const c = document.createElement('canvas');
            c.width = v.videoWidth; c.height = v.videoHeight;
            c.getContext('2d').drawImage(v, 0, 0);
            return c.toDataURL('image/png');
        }""",
        selector,
    )
    if data is None:
        return None
    png = np.frombuffer(base64.b64decode(data.split(",", 1)[1]), np.uint8)
    return read_counter(cv2.imdecode(png, cv2.IMREAD_GRAYSCALE))


def test_login_dashboard_and_screenshots(browser, web_site):
    SHOTS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    page = log_in(browser, web_site, "ann")
    page.wait_for_load_state("load")
    print(f"login to loaded dashboard: {time.monotonic() - started:.2f} s")
    door = page.locator('.tile[data-camera="door"]')
    wait_for(lambda: door.get_attribute("data-loaded"), 15, what="door snapshot shown")
    assert "LIVE" in door.locator(".badges").inner_text()
    assert page.locator(".summary").inner_text().count("Engine OK") == 1
    assert page.locator(".tile").count() == 2
    page.screenshot(path=str(SHOTS / "1-dashboard-desktop.png"))
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / "2-dashboard-phone.png"), full_page=True)
    box = page.locator('.tile[data-camera="door"]').bounding_box()
    assert box is not None and box["width"] <= PHONE["width"]  # one column on a phone
    page.context.close()


def test_live_video_plays_and_advances(browser, web_site):
    page = log_in(browser, web_site, "ann")
    page.goto(web_site.url + "/live/door")
    wait_for(lambda: page.evaluate("window.nvrLive[0].frames") > 30, 30, what="frames shown")
    stats = page.evaluate("window.nvrLive[0]")
    assert stats["stream"] == "main" and stats["codecs"].startswith("avc1.")
    supported = page.evaluate(
        f"MediaSource.isTypeSupported('video/mp4; codecs=\"{stats['codecs']}\"')"
    )
    assert supported and stats["supported"]
    first = wait_for(lambda: video_frame_number(page, "video"), 10, what="a counter in the video")
    page.wait_for_timeout(1500)
    second = video_frame_number(page, "video")
    assert second is not None and second > first  # the picture is live, not a still
    latencies = page.evaluate("window.nvrLive[0].latencies")
    print(
        f"live latency, main stream: median {statistics.median(latencies):.0f} ms over "
        f"{len(latencies)} frames"
    )
    page.screenshot(path=str(SHOTS / "4-live-one-desktop.png"))
    page.goto(web_site.url + "/live?layout=4")
    wait_for(
        lambda: all(s["frames"] > 15 for s in page.evaluate("window.nvrLive")),
        30,
        what="both tiles playing",
    )
    assert [s["stream"] for s in page.evaluate("window.nvrLive")] == ["sub", "sub"]
    door = video_frame_number(page, '.live-tile[data-camera="door"] video')
    assert door is not None
    page.screenshot(path=str(SHOTS / "3-live-grid-desktop.png"))
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / "5-live-grid-phone.png"), full_page=True)
    page.context.close()


def test_badges_and_notifications_follow_the_engine(browser, web_site):
    page = log_in(browser, web_site, "otto")
    badges = page.locator('.tile[data-camera="yard"] .badges')
    wait_for(lambda: "LIVE" in badges.inner_text(), 15, what="yard live")
    assert "REC" not in badges.inner_text()  # a still camera in motion mode does not record
    reply = page.evaluate(
        """async () => {
            const r = await fetch('/api/v1/command', {method: 'POST', headers: {
                'Content-Type': 'application/json', 'X-CSRF-Token': document.body.dataset.csrf},
                body: JSON.stringify({command: 'start_recording', camera_id: 'yard'})});
            return [r.status, await r.json()];
        }"""
    )
    assert reply[0] == 200, reply
    wait_for(lambda: "REC MANUAL" in badges.inner_text(), 15, what="the REC badge")
    page.evaluate(
        """() => fetch('/api/v1/command', {method: 'POST', headers: {
            'Content-Type': 'application/json', 'X-CSRF-Token': document.body.dataset.csrf},
            body: JSON.stringify({command: 'stop_recording', camera_id: 'yard'})})"""
    )
    wait_for(lambda: "REC" not in badges.inner_text(), 20, what="the REC badge gone")
    page.context.close()


def test_alarms_show_on_the_dashboard_and_operators_acknowledge_them(browser, web_site):
    viewer = log_in(browser, web_site, "vera")
    alarm = viewer.locator(".alarm", has_text="Motion · door")
    wait_for(lambda: alarm.count() == 1, 30, what="the door's motion alarm shown")
    assert viewer.locator(".alarm button").count() == 0  # a viewer cannot act on it
    viewer.context.close()
    page = log_in(browser, web_site, "otto")
    alarm = page.locator(".alarm", has_text="Motion · door")
    wait_for(lambda: alarm.count() == 1, 30, what="the alarm for the operator")
    alarm.get_by_role("button", name="Acknowledge").click()
    wait_for(lambda: "acknowledged by otto" in alarm.inner_text(), 10, what="acknowledged")
    assert alarm.get_by_role("button", name="Acknowledge").count() == 0
    page.screenshot(path=str(SHOTS / "8-alarms-desktop.png"))
    page.context.close()


def test_operators_record_and_steer_a_camera_alone(browser, web_site):
    page = log_in(browser, web_site, "olga")  # an operator of yard only
    page.goto(web_site.url + "/live/yard")
    record = page.locator("#record")
    wait_for(lambda: record.inner_text() == "Start manual recording", 15, what="record button")
    record.click()
    wait_for(lambda: record.inner_text() == "Stop manual recording", 15, what="recording on")
    badges = page.locator('.live-tile[data-camera="yard"] .badges')
    wait_for(lambda: "REC MANUAL" in badges.inner_text(), 15, what="the REC MANUAL badge")
    record.click()
    wait_for(lambda: record.inner_text() == "Start manual recording", 15, what="recording off")
    wait_for(lambda: "REC" not in badges.inner_text(), 15, what="REC badge gone")
    camera = web_site.onvif
    assert page.locator("#ptz").is_visible()
    wait_for(
        lambda: page.locator("#presets option").all_inner_texts() == ["gate"],
        15,
        what="the camera's presets listed",
    )
    before = len(camera.calls)
    right = page.get_by_role("button", name="pan right")
    right.hover()
    page.mouse.down()
    page.wait_for_timeout(1300)  # held: the move is renewed
    page.mouse.up()
    wait_for(
        lambda: any(c.operation == "Stop" for c in camera.calls[before:]),
        10,
        what="Stop at release",
    )
    moves = [c for c in camera.calls[before:] if c.operation == "ContinuousMove"]
    assert len(moves) >= 2 and "0.5" in str(moves[0].params)
    page.click("#goto")
    wait_for(
        lambda: any(c.operation == "GotoPreset" for c in camera.calls[before:]),
        10,
        what="GotoPreset sent",
    )
    page.screenshot(path=str(SHOTS / "9-live-operator-desktop.png"))
    page.context.close()


def test_a_viewer_sees_only_their_cameras(browser, web_site):
    page = log_in(browser, web_site, "vera")
    assert page.locator(".tile").count() == 1
    assert page.locator('.tile[data-camera="door"]').count() == 1
    assert "Admin" not in page.locator("header nav").inner_text()
    denied = page.goto(web_site.url + "/live/yard")
    assert denied is not None and denied.status == 403
    assert "not among yours" in page.locator("main").inner_text()
    page.goto(web_site.url + "/admin")
    assert "needs the admin role" in page.locator("main").inner_text()
    page.context.close()


def test_the_admin_page_lists_users_sessions_and_audit(browser, web_site):
    page = log_in(browser, web_site, "ann")
    page.goto(web_site.url + "/admin")
    wait_for(lambda: page.locator("#users tr[data-user=vera]").count() == 1, 10, what="users")
    assert "door" in page.locator("#users tr[data-user=vera]").inner_text()
    wait_for(lambda: page.locator("#sessions tr").count() > 1, 10, what="sessions")
    assert "(this one)" in page.locator("#sessions").inner_text()
    wait_for(lambda: page.locator("#audit tr").count() > 2, 10, what="audit rows")
    page.fill("#audit-filter input[name=user]", "ann")
    page.fill("#audit-filter input[name=action]", "login")
    page.click("#audit-filter button[type=submit]")
    wait_for(
        lambda: set(page.locator("#audit tbody td:nth-child(4)").all_inner_texts()) == {"login"},
        10,
        what="the filtered audit",
    )
    assert "user=ann" in (page.locator("#audit-csv").get_attribute("href") or "")
    page.screenshot(path=str(SHOTS / "6-admin-desktop.png"), full_page=True)
    page.locator("#users tr[data-user=rita]").get_by_role("button", name="New password").click()
    dialog = page.locator("#password-dialog")
    dialog.locator("input[name=password]").fill(PASSWORDS["rita"])
    dialog.locator("input[name=again]").fill(PASSWORDS["rita"] + "x")
    dialog.get_by_role("button", name="Set password").click()
    assert "differ" in dialog.locator(".form-result").inner_text()
    dialog.locator("input[name=again]").fill(PASSWORDS["rita"])
    dialog.get_by_role("button", name="Set password").click()
    wait_for(lambda: not dialog.is_visible(), 10, what="the dialog closed")
    rows = web_site.client("ann").get("/api/v1/audit?user=ann&action=user.change").json()["rows"]
    assert any(r["target"] == "rita" and '"password": "***"' in r["params"] for r in rows)
    walt = page.locator("#users tr[data-user=walt]")
    walt.get_by_role("button", name="Cameras").click()
    cams = page.locator("#cameras-dialog")
    cams.locator("input[name=cameras]").fill("door, attic")
    cams.get_by_role("button", name="Save").click()
    wait_for(
        lambda: "no camera 'attic'" in cams.locator(".form-result").inner_text(),
        10,
        what="an unknown camera refused",
    )
    cams.locator("input[name=cameras]").fill("")  # every camera, as before
    cams.get_by_role("button", name="Save").click()
    wait_for(lambda: not cams.is_visible(), 10, what="the cameras dialog closed")
    assert "all" in walt.inner_text()
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / "10-admin-phone.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1  # nothing off the side of a phone
    page.context.close()


def test_an_ended_session_sends_the_page_back_to_the_login(browser, web_site):
    page = log_in(browser, web_site, "walt")
    ann = web_site.client("ann")
    mine = [s for s in ann.get("/api/v1/users").json()["sessions"] if s["user"] == "walt"]
    for session in mine:
        assert ann.request("DELETE", f"/api/v1/sessions/{session['id']}").status == 200
    page.wait_for_url("**/login?next=%2F", timeout=15_000)  # the next poll is answered 401
    page.context.close()


def test_the_pages_say_when_the_engine_is_gone_and_recover_by_themselves(browser, web_site):
    page = log_in(browser, web_site, "ann")
    state = page.locator("#engine-state")
    badges = page.locator('.tile[data-camera="door"] .badges')
    wait_for(lambda: "LIVE" in badges.inner_text(), 15, what="door live")
    web_site.engine.stop()
    try:
        wait_for(lambda: "unreachable" in state.inner_text(), 15, what="engine unreachable shown")
        wait_for(lambda: "LIVE" not in badges.inner_text(), 15, what="the LIVE badge withdrawn")
        assert "NO CONTACT" in badges.inner_text()
        summary = page.locator(".summary")
        wait_for(lambda: "? / 2" in summary.inner_text(), 10, what="no camera claimed live")
        assert "recording may have stopped" in summary.inner_text()
        assert "recording may have stopped" in page.locator("#toasts").inner_text()
        cams = page.evaluate("fetch('/api/v1/cameras').then(r => r.json())")["cameras"]
        assert all(c["state"] == "unknown" and c["sub"] is None for c in cams)  # not vouched
        page.screenshot(path=str(SHOTS / "7-engine-gone-desktop.png"))
    finally:
        web_site.engine.start()
    wait_for(lambda: "Engine OK" in state.inner_text(), 60, what="engine OK again")
    wait_for(lambda: "LIVE" in badges.inner_text(), 60, what="door live again")
    status = page.evaluate(
        """async () => (await fetch('/api/v1/command', {method: 'POST', headers: {
            'Content-Type': 'application/json', 'X-CSRF-Token': document.body.dataset.csrf},
            body: JSON.stringify({command: 'watch_main', camera_id: 'door',
                                  params: {seconds: 1}})})).status"""
    )
    assert status == 200  # the restarted engine's new token was picked up
    page.goto(web_site.url + "/live/door?stream=sub")
    wait_for(lambda: page.evaluate("window.nvrLive[0].frames") > 15, 30, what="live video again")
    page.context.close()
