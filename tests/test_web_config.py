"""Remote configuration in a real browser: an admin edits a camera through the same path the
console uses (round-trip YAML, comments kept, numbered history, in force at once), an invalid
value names its key and changes nothing, and a second admin's save over a newer version is
refused. The site's configuration is put back at the end."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import requires_rtsp, wait_for
from tests.test_web_browser import CHROMIUM, PHONE, SHOTS, browser, log_in

pytestmark = [
    requires_rtsp,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed: run scripts/setup.sh"),
]
_ = browser
COMMENT = "# the back yard: camera on the shed, installed 2026-11\n"


def open_editor(browser: Any, site: Any, camera: str) -> Any:
    page = log_in(browser, site, "ann")
    page.goto(site.url + "/admin/config")
    target = page.locator(f'#config-targets button[data-target="{camera}"]')
    wait_for(lambda: target.count() == 1, 15, what="the camera listed")
    target.click()
    wait_for(lambda: "yard" in page.locator("#config-fields h2").first.inner_text(), 5, what="form")
    return page


def field(page: Any, key: str) -> Any:
    return page.locator(f'#config-fields [name="{key}"]')


def saved(page: Any) -> str:
    result = page.locator("#config-result")
    wait_for(lambda: result.inner_text() not in ("", "saving and applying…"), 40, what="a result")
    text: str = result.inner_text()
    return text


@pytest.fixture
def site_config(web_site: Any) -> Any:
    """The site's config file with a comment an admin wrote; put back as it was afterwards."""
    path = web_site.tmp / "nvr.yaml"
    original = path.read_text()
    path.write_text(original.replace("  - id: yard", COMMENT.replace("#", "  #") + "  - id: yard"))
    admin = web_site.client("ann")
    first = admin.get("/api/v1/config").json()["version"]
    yield path
    versions = admin.get("/api/v1/config/history").json()["versions"]
    if versions[0]["version"] != first:
        admin.post("/api/v1/command", {"command": "revert_config", "params": {"version": first}})
    path.write_text(original)
    wait_for(
        lambda: all(c["state"] == "live" for c in web_site.engine.health()["cameras"].values()),
        60,
        what="both cameras live again for the tests after these",
    )


def test_an_edit_round_trips_with_the_comments_kept(browser, web_site, site_config):
    page = open_editor(browser, web_site, "yard")
    field(page, "retention.max_days").fill("30")
    field(page, "motion.end_s").fill("3.5")
    page.fill("input[name=note]", "yard kept a month")
    # a zone: three corners on the picture, then Finish
    canvas = page.locator("#zone-canvas")
    box = canvas.bounding_box()
    assert box is not None
    for fx, fy in ((0.1, 0.1), (0.6, 0.1), (0.35, 0.7)):
        page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
    page.click("#zone-finish")
    assert page.locator("#zones").get_attribute("data-count") == "1"
    page.screenshot(path=str(SHOTS / "16-config-desktop.png"), full_page=True)
    page.click("#config-save")
    assert "in force" in saved(page)
    text = site_config.read_text()
    assert "camera on the shed" in text  # the admin's comment survived
    assert "max_days: 30" in text and "end_s: 3.5" in text
    in_force = web_site.client("ann").get("/api/v1/config").json()["config"]
    yard = next(c for c in in_force["cameras"] if c["id"] == "yard")
    assert yard["retention"]["max_days"] == 30 and len(yard["motion"]["zones"]) == 1
    history = web_site.client("ann").get("/api/v1/config/history").json()["versions"]
    assert history[0]["note"] == "yard kept a month" and history[0]["saved_by"] == "ann"
    rows = web_site.client("ann").get("/api/v1/audit?action=command.save_config").json()["rows"]
    assert rows and rows[0]["user"] == "ann" and rows[0]["ok"]
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(400)
    page.screenshot(path=str(SHOTS / "17-config-phone.png"), full_page=True)
    page.context.close()


def test_an_invalid_value_names_its_key_and_changes_nothing(browser, web_site, site_config):
    before = site_config.read_text()
    page = open_editor(browser, web_site, "yard")
    field(page, "motion.threshold").fill("999")
    page.click("#config-save")
    message = saved(page)
    assert message.startswith("not saved") and "threshold" in message and "254" in message
    assert site_config.read_text() == before
    page.context.close()


def test_a_second_admin_saving_over_a_newer_version_is_refused(browser, web_site, site_config):
    first = open_editor(browser, web_site, "yard")
    second = open_editor(browser, web_site, "yard")
    field(first, "motion.start_frames").fill("3")
    first.click("#config-save")
    assert "in force" in saved(first)
    after_first = site_config.read_text()
    field(second, "motion.start_frames").fill("5")
    second.click("#config-save")
    message = saved(second)
    assert message.startswith("not saved") and "changed since it was opened" in message
    assert site_config.read_text() == after_first  # never a silent overwrite
    assert "start_frames: 3" in after_first
    first.context.close()
    second.context.close()


def test_remote_configuration_keeps_to_cameras_and_storage(web_site, site_config):
    ann = web_site.client("ann")
    doc = ann.get("/api/v1/config").json()

    def save(edits: list[dict[str, Any]]) -> Any:
        params = {"edits": edits, "base_sha256": doc["sha256"]}
        return ann.post("/api/v1/command", {"command": "save_config", "params": params})

    before = site_config.read_text()
    for path in (["storage", "path"], ["logging", "dir"], ["web", "trusted_proxies"], ["api"]):
        reply = save([{"path": path, "value": "/etc"}])
        assert reply.status == 403 and "only in the configuration file" in reply.json()["error"]
    again = save([{"path": ["cameras", "door"], "value": {"id": "door", "main": "rtsp://x/y"}}])
    assert again.status == 409 and "exists already" in again.json()["error"]
    deep: Any = 1
    for _ in range(40):
        deep = [deep]
    nested = save([{"path": ["cameras", "yard", "name"], "value": deep}])
    assert nested.status == 400 and "nested" in nested.json()["error"]
    assert site_config.read_text() == before  # none of it written

    # a stale "put back" is refused like a stale save: never over someone else's newer save
    ok = save([{"path": ["cameras", "yard", "motion", "end_s"], "value": 4}])
    assert ok.status in (200, 202), ok.text
    versions = ann.get("/api/v1/config/history").json()["versions"]
    stale = ann.post(
        "/api/v1/command",
        {
            "command": "revert_config",
            "params": {"version": versions[-1]["version"], "base_sha256": doc["sha256"]},
        },
    )
    assert stale.status == 409 and "changed since it was opened" in stale.json()["error"]

    # a camera kept idle by the configuration: its worker cannot be restarted, and that is said
    doc = ann.get("/api/v1/config").json()
    assert save([{"path": ["cameras", "yard", "enabled"], "value": False}]).status in (200, 202)
    wait_for(lambda: not web_site.engine.health()["cameras"]["yard"]["enabled"], 20,
             what="yard disabled")  # fmt: skip
    wait_for(lambda: ann.get("/api/v1/health").json()["cameras"]["yard"]["enabled"] is False, 10,
             what="the web server's view of it")  # fmt: skip
    restart = web_site.client("otto").post(
        "/api/v1/command", {"command": "restart_worker", "camera_id": "yard"}
    )
    assert restart.status == 409 and "disabled in the configuration" in restart.json()["error"]
