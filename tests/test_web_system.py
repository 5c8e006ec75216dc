"""The system page in a real browser: operators see each camera's worker as the engine reports
it and restart one (the restart count shown follows the engine); admins also read the engine's
log with filters and make and download a backup; viewers are kept out."""

from __future__ import annotations

import tarfile
from typing import Any

import pytest

from tests.conftest import requires_rtsp, wait_for
from tests.test_web_browser import CHROMIUM, PHONE, SHOTS, browser, log_in

pytestmark = [
    requires_rtsp,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed: run scripts/setup.sh"),
]
_ = browser


def seconds(text: str) -> float:
    """A duration as the page writes it ("12 s", "3 min", "1.5 h") in seconds."""
    value, unit = text.split()
    return float(value) * {"s": 1, "min": 60, "h": 3600, "days": 86400}[unit]


def row(page: Any, camera: str) -> Any:
    return page.locator(f'#workers tr[data-camera="{camera}"]')


def test_operators_see_workers_and_restart_one(browser, web_site):
    page = log_in(browser, web_site, "otto")
    page.goto(web_site.url + "/system")
    yard = row(page, "yard")
    wait_for(lambda: yard.count() == 1 and "live" in yard.inner_text(), 20, what="yard's worker")
    pid = web_site.engine.health()["cameras"]["yard"]["pid"]
    wait_for(lambda: web_site.engine.health()["cameras"]["yard"]["uptime_s"] > 40, 60,
             what="yard's worker running for a while")  # fmt: skip
    running = yard.locator("td[data-label='Running for']")
    wait_for(lambda: seconds(running.inner_text()) >= 40, 15, what="its uptime shown")
    assert page.locator("#log").count() == 0 and page.locator("#archives").count() == 0
    page.on("dialog", lambda dialog: dialog.accept())
    yard.get_by_role("button", name="Restart").click()
    wait_for(lambda: "yard: restarted" in page.locator("#worker-result").inner_text(), 20,
             what="the restart said")  # fmt: skip
    wait_for(lambda: web_site.engine.health()["cameras"]["yard"]["pid"] not in (pid, None), 20,
             what="a new worker process")  # fmt: skip
    wait_for(lambda: seconds(running.inner_text()) < 30, 15, what="the new worker's uptime shown")
    assert "free of" in page.locator("#storage").inner_text()
    assert page.locator("#storage-cameras tbody tr").count() == 2
    page.screenshot(path=str(SHOTS / "18-system-operator.png"), full_page=True)
    wait_for(lambda: "live" in row(page, "yard").inner_text(), 30, what="yard live again")
    page.context.close()
    viewer = log_in(browser, web_site, "walt")
    assert viewer.goto(web_site.url + "/system").status == 403
    viewer.context.close()


def test_admins_read_the_log_and_download_a_backup(browser, web_site, tmp_path):
    page = log_in(browser, web_site, "ann")
    page.goto(web_site.url + "/system")
    rows = page.locator("#log tbody tr")
    wait_for(lambda: rows.count() > 0, 15, what="log entries")
    clear = "document.querySelector('#log tbody').replaceChildren()"  # rows seen next: filtered
    page.select_option("#log-filter select[name=level]", "WARNING")
    page.evaluate(clear)
    page.click("#log-filter button[type=submit]")
    wait_for(lambda: rows.count() > 0, 15, what="the warnings")
    levels = page.locator("#log tbody td[data-label=Level]").all_inner_texts()
    assert levels and set(levels) <= {"WARNING", "ERROR"}, levels
    # a camera's filter keeps the engine's own lines about it (the restart by otto, above)
    page.select_option("#log-filter select[name=camera_id]", "yard")
    page.evaluate(clear)
    page.click("#log-filter button[type=submit]")
    messages = page.locator("#log tbody td[data-label=Message]")
    wait_for(lambda: any("restarted by otto" in m for m in messages.all_inner_texts()), 10,
             what="the supervisor's line about yard")  # fmt: skip
    assert not any(m.startswith("door:") for m in messages.all_inner_texts())
    page.click("#backup-start")
    result = page.locator("#backup-result")
    wait_for(lambda: "backup made" in result.inner_text(), 60, what="the backup made")
    link = page.locator("#archives a").first
    with page.expect_download(timeout=30_000) as info:
        link.click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    with tarfile.open(saved) as archive:
        names = archive.getnames()
    assert any(n.endswith("nvr.yaml") for n in names) and any("catalog" in n for n in names)
    page.screenshot(path=str(SHOTS / "19-system-admin.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(400)
    page.screenshot(path=str(SHOTS / "20-system-phone.png"), full_page=True)
    page.context.close()
    audit = web_site.client("ann").get("/api/v1/audit?action=backup").json()["rows"]
    assert {r["action"] for r in audit} >= {"backup.create", "backup.download"}
