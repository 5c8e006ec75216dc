"""Recorded footage in a real browser (Debian's Chromium through Playwright) and over HTTP:
the playback page plays the segment files the engine wrote through HLS byte ranges, shows the
catalog's wall-clock time with the picture recorded then (the frame counter drawn into the test
camera is read from the ``<video>`` and from the engine's exact frame), seeks, steps frames,
scrubs, and lists events; the byte-range route answers as HTTP says it must."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import datetime
from typing import Any

import cv2
import numpy as np
import pytest

from tests.conftest import requires_rtsp, wait_for
from tests.support.counter import read_counter
from tests.test_web_browser import (
    CHROMIUM,
    PHONE,
    SHOTS,
    browser,
    log_in,
    video_frame_number,
)

pytestmark = requires_rtsp
_ = browser  # the module's browser fixture, shared with the live tests
MINUTE_NS = 60 * 10**9


def chunks(client: Any, camera: str = "door", minutes: int = 20) -> list[dict[str, Any]]:
    now = time.time_ns()
    reply = client.get(
        f"/api/v1/recordings/{camera}/index.json?start_ns={now - minutes * MINUTE_NS}&end_ns={now}"
    )
    assert reply.status == 200, reply.text
    found: list[dict[str, Any]] = reply.json()["chunks"]
    return found


@pytest.fixture(scope="module")
def recorded(web_site: Any) -> list[dict[str, Any]]:
    """The door camera's chunks once it has recorded at least four segments."""
    client = web_site.client("walt")
    wait_for(
        lambda: len({c["recording_id"] for c in chunks(client)}) >= 4, 60, what="four recordings"
    )
    return chunks(client)


def steady_instant(chunks: list[dict[str, Any]], seconds: float) -> int:
    """An instant followed by ``seconds`` of recording without a gap (the engine may have been
    stopped by an earlier test: playing across its gap would skip it)."""
    for first in range(len(chunks) // 3, len(chunks)):
        at, end = chunks[first]["start_ns"] + 5 * 10**8, chunks[first]["end_ns"]
        for chunk in chunks[first + 1 :]:
            if end - at >= seconds * 1e9 or chunk["start_ns"] - end > 3 * 10**8:
                break
            end = chunk["end_ns"]
        if end - at >= seconds * 1e9:
            return int(at)
    raise AssertionError(f"no {seconds} s of recording without a gap")


def counter_in_jpeg(jpeg: bytes) -> int | None:
    return read_counter(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE))


def engine_frame(client: Any, at_ns: int) -> tuple[int, int | None]:
    """(time of the recorded frame at ``at_ns``, its counter), from the engine's exact frame."""
    reply = client.get(f"/api/v1/recordings/door/frame.jpg?at_ns={at_ns}")
    assert reply.status == 200, reply.text
    return int(reply.headers["x-frame-time-ns"]), counter_in_jpeg(reply.body)


def settled(page: Any) -> bool:
    tiles = page.evaluate("window.nvrPlayback ? window.nvrPlayback.tiles() : []")
    return bool(tiles) and all(
        t["error"] or not t["chunks"] or (t["readyState"] >= 2 and not t["seeking"]) for t in tiles
    )


def clock_ns(page: Any) -> int:
    return int(page.locator("#clock").get_attribute("data-wall-ns"))


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed: run scripts/setup.sh")
def test_playback_shows_the_catalog_time_with_its_picture(browser, web_site, recorded):
    client = web_site.client("walt")
    at = steady_instant(recorded, 8)
    page = log_in(browser, web_site, "walt")
    page.goto(f"{web_site.url}/playback?cameras=door&t={at}")
    wait_for(lambda: settled(page), 20, what="the recording loaded at the asked time")
    shown = clock_ns(page)
    assert abs(shown - at) < 10**6  # the clock says the instant asked for
    text = datetime.fromtimestamp(at / 1e9).strftime("%Y-%m-%d %H:%M:%S")
    assert page.locator("#clock").inner_text().startswith(text)
    in_video = wait_for(lambda: video_frame_number(page, "#play-grid video"), 10, what="counter")
    _, in_catalog = engine_frame(client, shown)
    assert in_catalog is not None and abs(in_video - in_catalog) <= 1, (in_video, in_catalog)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "11-playback-desktop.png"))

    # Play: the clock runs, and the picture shown is the one recorded at the clock's time.
    page.click("#play")
    page.wait_for_timeout(2500)
    page.click("#play")
    wait_for(lambda: settled(page), 10, what="paused")
    page.wait_for_timeout(300)
    after = clock_ns(page)
    assert 1.5e9 < after - shown < 4e9, (after - shown) / 1e9
    now_video = video_frame_number(page, "#play-grid video")
    _, now_catalog = engine_frame(client, after)
    assert now_video is not None and now_catalog is not None
    assert abs(now_video - now_catalog) <= 2, (now_video, now_catalog)

    # A frame step shows the next recorded frame, a step back the one before.
    page.click("#step-forward")
    wait_for(lambda: settled(page), 10, what="stepped")
    page.wait_for_timeout(200)
    stepped = video_frame_number(page, "#play-grid video")
    assert stepped == now_video + 1, (now_video, stepped)
    page.click("#step-back")
    page.click("#step-back")
    wait_for(lambda: settled(page), 10, what="stepped back")
    page.wait_for_timeout(200)
    assert video_frame_number(page, "#play-grid video") == now_video - 1
    page.context.close()


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed: run scripts/setup.sh")
def test_scrub_speed_events_and_two_cameras_in_step(browser, web_site, recorded):
    first = recorded[1]
    page = log_in(browser, web_site, "ann")
    page.goto(f"{web_site.url}/playback?cameras=door,yard&t={first['start_ns'] + 10**9}")
    wait_for(lambda: settled(page), 20, what="both cameras loaded")
    assert page.locator(".play-tile").count() == 2
    yard = page.locator('.play-tile[data-camera="yard"] .live-status')
    # yard records on motion only and sees none: it says so instead of freezing a picture
    wait_for(lambda: "No recording" in yard.inner_text() or "Nothing" in yard.inner_text(), 10,
             what="yard says it has no recording")  # fmt: skip

    # Drag on the timeline: the tiles show the recorded pictures under the pointer; release
    # plays from there.
    page.click('[data-span="10m"]')
    page.wait_for_timeout(300)
    canvas = page.locator("#timeline-canvas")
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + 30)
    page.mouse.down()
    target = steady_instant(recorded, 12)  # 4x for 2 s below, without a gap
    x = page.evaluate(
        """(w) => {
            const c = document.getElementById('timeline-canvas');
            const v = window.nvrPlayback.view();
            return (w / 1e6 - v.start) / (v.end - v.start) * c.clientWidth;
        }""",
        target,
    )
    page.mouse.move(box["x"] + x, box["y"] + 30, steps=5)
    still = page.locator('.play-tile[data-camera="door"] img.still')
    wait_for(
        lambda: (
            still.is_visible()
            and abs(int(still.get_attribute("data-time-ns") or 0) - target) < 2 * 10**9
        ),
        10,
        what="the recorded picture under the pointer",
    )
    page.mouse.up()
    wait_for(lambda: page.evaluate("window.nvrPlayback.playing()"), 5, what="playing on release")
    wait_for(lambda: not still.is_visible(), 10, what="the video back in place of the still")
    assert abs(clock_ns(page) - target) < 3 * 10**9

    # 4x: the clock runs four times as fast as the wall.
    page.select_option("#speed", "4")
    begin, t0 = clock_ns(page), time.monotonic()
    page.wait_for_timeout(2000)
    ran = (clock_ns(page) - begin) / 1e9 / (time.monotonic() - t0)
    assert 2.0 < ran < 5.0, ran
    page.click("#play")

    # Exact frame: the engine's picture of the instant shown, with its time.
    page.click("#exact")
    wait_for(lambda: still.is_visible(), 10, what="the exact frame")
    assert page.locator('.play-tile[data-camera="door"] .still-badge').is_visible()

    # The events list: the door's motion event and its alarm; a click plays it.
    events = page.locator("#event-list button.event")
    wait_for(lambda: events.count() >= 1, 10, what="events listed")
    texts = events.all_inner_texts()
    assert any("motion" in t for t in texts), texts
    page.screenshot(path=str(SHOTS / "12-playback-two-cameras.png"), full_page=True)
    events.first.click()
    wait_for(lambda: page.evaluate("window.nvrPlayback.playing()"), 10, what="the event plays")
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / "13-playback-phone.png"), full_page=True)
    grid = page.locator("#play-grid").bounding_box()
    assert grid is not None and grid["width"] <= PHONE["width"]
    page.context.close()


# -- the byte-range route, over HTTP ---------------------------------------------------------------


def test_segment_bytes_answer_ranges_as_http_says(web_site, recorded):
    client = web_site.client("vera")  # a viewer of door only
    rec = recorded[0]["recording_id"]
    path = f"/api/v1/recordings/door/{rec}.mp4"
    whole = client.get(path)
    assert whole.status == 200 and whole.headers["accept-ranges"] == "bytes"
    size, etag = len(whole.body), whole.headers["etag"]
    assert whole.body[4:8] == b"ftyp"

    part = client.get(path, headers={"Range": "bytes=100-199"})
    assert part.status == 206 and part.body == whole.body[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{size}"
    tail = client.get(path, headers={"Range": "bytes=-50"})
    assert tail.status == 206 and tail.body == whole.body[-50:]

    two = client.get(path, headers={"Range": "bytes=0-9, 20-29"})
    assert two.status == 206 and two.headers["content-type"].startswith("multipart/byteranges")
    assert whole.body[0:10] in two.body and whole.body[20:30] in two.body

    same = client.get(path, headers={"Range": "bytes=0-9", "If-Range": etag})
    assert same.status == 206 and len(same.body) == 10
    changed = client.get(path, headers={"Range": "bytes=0-9", "If-Range": '"another"'})
    assert changed.status == 200 and len(changed.body) == size  # the file changed: all of it

    many = ", ".join(f"{i * 10}-{i * 10 + 1}" for i in range(20))
    capped = client.get(path, headers={"Range": f"bytes={many}"})
    assert capped.status == 200 and len(capped.body) == size  # more than 8 ranges: ignored
    for bad in ("bytes=9-3", "items=0-9", "bytes=x-y", "bytes"):  # ignored: the whole file
        ignored = client.get(path, headers={"Range": bad})
        assert ignored.status == 200 and len(ignored.body) == size, bad
    beyond = client.get(path, headers={"Range": f"bytes={size + 10}-"})
    assert beyond.status == 416 and beyond.headers["content-range"] == f"bytes */{size}"
    head = client.request("HEAD", path)
    assert head.status == 200 and head.body == b"" and head.headers["content-length"] == str(size)

    playlist = client.get(
        f"/api/v1/recordings/door/index.m3u8?start_ns={recorded[0]['start_ns']}"
        f"&end_ns={recorded[-1]['end_ns']}"
    )
    assert playlist.status == 200
    text = playlist.text
    assert text.startswith("#EXTM3U") and "#EXT-X-MAP:URI=" in text and "#EXT-X-ENDLIST" in text
    assert text.count("#EXTINF:") == len(recorded)  # the same chunks as the time map


def test_other_cameras_footage_is_out_of_reach(web_site, recorded):
    """vera sees door only: yard's footage is refused by every route, and door's path cannot
    reach a yard recording."""
    ann, vera = web_site.client("ann"), web_site.client("vera")
    ann.post("/api/v1/command", {"command": "start_recording", "camera_id": "yard"})
    try:
        yard = wait_for(lambda: chunks(ann, "yard", 5), 30, what="a yard recording")
    finally:
        ann.post("/api/v1/command", {"command": "stop_recording", "camera_id": "yard"})
    rec, at = yard[0]["recording_id"], yard[0]["start_ns"]
    window = f"start_ns={at - MINUTE_NS}&end_ns={at + MINUTE_NS}"
    assert ann.get(f"/api/v1/recordings/yard/{rec}.mp4").status == 200
    assert ann.get(f"/api/v1/thumbnails/recording/{rec}.jpg").status == 200
    for path in (
        f"/api/v1/recordings/yard/{rec}.mp4",
        f"/api/v1/recordings/yard/index.m3u8?{window}",
        f"/api/v1/recordings/yard/frame.jpg?at_ns={at}",
        f"/api/v1/timeline?cameras=yard&{window}",
        f"/api/v1/eventlist?cameras=yard&{window}",
        "/playback?cameras=yard",
    ):
        assert vera.get(path).status == 403, path
    assert vera.get(f"/api/v1/recordings/door/{rec}.mp4").status == 404  # not door's
    assert vera.get(f"/api/v1/thumbnails/recording/{rec}.jpg").status == 404
    listed = vera.get(f"/api/v1/eventlist?start_ns={at - 86_400 * 10**9}&end_ns={at + MINUTE_NS}")
    assert listed.status == 200
    assert {e["camera_id"] for e in listed.json()["events"]} <= {"door"}
    timeline = vera.get(f"/api/v1/timeline?{window}").json()
    assert set(timeline["cameras"]) == {"door"}


# -- downloads and share links ---------------------------------------------------------------------


def first_frame_counter(path: Any) -> int | None:
    import av

    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        return read_counter(frame.to_ndarray(format="gray"))


def check_clip(client: Any, data: bytes, path: Any, start: int, seconds: float) -> int:
    """A downloaded clip runs from the recorded frame shown at ``start`` (not the keyframe
    before it: its first picture) for ``seconds`` past ``start``, and is dated at that frame;
    returns that frame's time."""
    from tests.support.media import ffprobe_duration

    path.write_bytes(data)
    shown_at, expected_counter = engine_frame(client, start)
    # That frame began at or before ``start``: by a frame interval, longer under a loaded
    # machine's capture jitter, which the clip keeps.
    assert abs(ffprobe_duration(path) - (seconds + (start - shown_at) / 1e9)) < 0.2
    tags = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format_tags=creation_time", "-of", "csv=p=0",
         str(path)], capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    # Dated at its first frame shown, which began at or a frame before ``start``.
    assert tags.startswith(time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(shown_at // 10**9)))
    assert first_frame_counter(path) == expected_counter
    return shown_at


def made(client: Any, job_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        clip = client.get(f"/api/v1/exports/{job_id}").json()
        assert clip["state"] != "failed", clip
        return clip if clip["state"] == "done" else None

    found: dict[str, Any] = wait_for(done, 60, what=f"clip {job_id} made")
    return found


def test_a_download_is_the_recorded_range_from_its_first_frame(web_site, recorded, tmp_path):

    otto, walt, olga = (web_site.client(u) for u in ("otto", "walt", "olga"))
    start = steady_instant(recorded, 5) + 200 * 10**6
    end = start + 3 * 10**9
    body = {"camera_id": "door", "start_ns": start, "end_ns": end}
    assert walt.post("/api/v1/exports", body).status == 403  # a viewer may watch, not download
    assert olga.post("/api/v1/exports", body).status == 403  # not her camera
    reply = otto.post("/api/v1/exports", body)
    assert reply.status == 202, reply.text
    clip = made(otto, reply.json()["id"])
    url = clip["files"][0]["url"]
    assert olga.get(url).status == 404 and walt.get(url).status == 403  # nobody else's
    got = otto.get(url)
    assert got.status == 200 and "attachment" in got.headers["content-disposition"]
    check_clip(otto, got.body, tmp_path / "clip.mp4", start, 3.0)
    resumed = otto.get(url, headers={"Range": f"bytes={len(got.body) - 100}-"})
    assert resumed.status == 206 and resumed.body == got.body[-100:]
    cached = otto.get(url, headers={"If-None-Match": got.headers["etag"]})  # has it: no bytes
    assert (
        cached.status == 304
        and cached.body == b""
        and cached.headers["etag"] == got.headers["etag"]
    )
    assert otto.get(url, headers={"If-None-Match": '"older"'}).status == 200
    assert [c["id"] for c in otto.get("/api/v1/exports").json()["exports"]][0] == clip["id"]
    assert olga.get("/api/v1/exports").json()["exports"] == []
    rows = web_site.client("ann").get("/api/v1/audit").json()["rows"]
    downloads = [r for r in rows if r["action"] == "export.download" and clip["id"] in str(r)]
    assert ("otto", "export.create") in [(r["user"], r["action"]) for r in rows]
    assert len(downloads) == 3 and {r["user"] for r in downloads} == {"otto"}  # not the 304


def test_a_streamed_download_is_the_range_from_its_first_frame_by_any_byte_range(
    web_site, recorded, tmp_path
):

    otto, walt, olga = (web_site.client(u) for u in ("otto", "walt", "olga"))
    start = steady_instant(recorded, 5) + 300 * 10**6
    url = f"/api/v1/recordings/door/clip.mp4?start_ns={start}&end_ns={start + 3 * 10**9}"
    assert walt.get(url).status == 403  # a viewer may watch, not download
    assert olga.get(url).status == 403  # not her camera
    got = otto.get(url)
    assert got.status == 200, got.text
    assert "attachment" in got.headers["content-disposition"] and got.body[4:8] == b"ftyp"
    assert int(got.headers["content-length"]) == len(got.body)
    shown_at = check_clip(otto, got.body, tmp_path / "streamed.mp4", start, 3.0)
    assert int(got.headers["x-clip-start-ns"]) == shown_at

    size, etag = len(got.body), got.headers["etag"]
    tail = otto.get(url, headers={"Range": f"bytes={size - 100}-"})
    assert tail.status == 206 and tail.body == got.body[-100:]
    assert tail.headers["content-range"] == f"bytes {size - 100}-{size - 1}/{size}"
    middle = otto.get(url, headers={"Range": "bytes=1000-400000", "If-Range": etag})
    assert middle.status == 206 and middle.body == got.body[1000:400001]
    stale = otto.get(url, headers={"Range": "bytes=1000-", "If-Range": '"other"'})
    assert stale.status == 200 and stale.body == got.body  # changed since: all of it
    cached = otto.get(url, headers={"If-None-Match": f'"x", W/{etag}'})
    assert cached.status == 304 and cached.body == b"" and cached.headers["etag"] == etag
    assert otto.get(url, headers={"If-None-Match": '"older"'}).status == 200
    several = otto.get(url, headers={"Range": "bytes=0-10,20-30"})
    assert several.status == 200 and len(several.body) == size
    assert otto.get(url, headers={"Range": f"bytes={size}-"}).status == 416
    head = otto.request("HEAD", url)
    assert head.status == 200 and head.body == b"" and head.headers["content-length"] == str(size)
    later = recorded[-1]["end_ns"] + 3600 * 10**9
    nothing = otto.get(f"/api/v1/recordings/door/clip.mp4?start_ns={later}&end_ns={later + 10**9}")
    assert nothing.status == 404 and "nothing playable" in nothing.json()["error"]
    too_long = otto.get(f"/api/v1/recordings/door/clip.mp4?start_ns=1&end_ns={7 * 3600 * 10**9}")
    assert too_long.status == 400
    rows = web_site.client("ann").get("/api/v1/audit?limit=10000").json()["rows"]
    streamed = [r for r in rows if r["action"] == "export.download" and '"streamed"' in r["params"]]
    asked = sorted(json.loads(r["params"])["range"] for r in streamed if r["user"] == "otto")
    assert asked == sorted(
        [
            "all",
            f"bytes={size - 100}-",
            "bytes=1000-400000",
            "bytes=1000-",
            "all",
            "bytes=0-10,20-30",
        ]
    )  # every GET that sent footage, with what it asked for; not the HEAD, 304 nor 416
    refused = {(r["user"], r["target"].split("?")[0]) for r in rows if r["action"] == "denied"}
    path = "GET /api/v1/recordings/door/clip.mp4"
    assert {("walt", path), ("olga", path)} <= refused  # access refused: a security event
    assert ("otto", path) not in refused  # nothing recorded then: not one


def test_a_share_link_plays_without_login_then_expires_and_is_revoked(web_site, recorded):
    import apsw

    otto = web_site.client("otto")
    start = steady_instant(recorded, 4)
    reply = otto.post(
        "/api/v1/shares",
        {"camera_id": "door", "start_ns": start, "end_ns": start + 2 * 10**9, "note": "police"},
    )
    assert reply.status == 201, reply.text
    url, share = reply.json()["url"], reply.json()["share"]
    token = url.rsplit("/", 1)[1]
    assert len(token) >= 40 and share["expires_ns"] - share["created_ns"] == 24 * 3600 * 10**9
    stranger = web_site.client()  # no account, no session
    page = wait_for(
        lambda: (r := stranger.get(f"/s/{token}")).status == 200 and "<video" in r.text and r,
        60,
        what="the shared clip ready",
    )
    assert "police" in page.text and "Download" not in page.text
    clip = stranger.get(f"/s/{token}/clip.mp4")
    assert clip.status == 200 and clip.body[4:8] == b"ftyp"
    assert stranger.get(f"/s/{token}/clip.mp4?download=1").status == 403  # not allowed by it
    assert stranger.get(f"/s/{token[:-2]}xx").status == 404
    views = [s for s in otto.get("/api/v1/shares").json()["shares"] if s["id"] == share["id"]]
    assert views[0]["views"] >= 1 and views[0]["state"] == "active"
    with apsw.Connection(str(web_site.tmp / "storage" / "catalog.db")) as db:  # a day later
        db.execute(
            "UPDATE shares SET expires_ns = ? WHERE id = ?", (time.time_ns() - 1, share["id"])
        )
    expired = stranger.get(f"/s/{token}")
    assert expired.status == 410 and "expired" in expired.text and "<video" not in expired.text
    assert stranger.get(f"/s/{token}/clip.mp4").status == 410

    second = otto.post(
        "/api/v1/shares",
        {"camera_id": "door", "start_ns": start, "end_ns": start + 10**9, "download": True},
    ).json()
    token2 = second["url"].rsplit("/", 1)[1]
    wait_for(lambda: stranger.get(f"/s/{token2}").status == 200, 60, what="second link ready")
    wait_for(lambda: "<video" in stranger.get(f"/s/{token2}").text, 60, what="its clip made")
    assert stranger.get(f"/s/{token2}/clip.mp4?download=1").status == 200
    assert (
        web_site.client("olga").request("DELETE", f"/api/v1/shares/{second['share']['id']}").status
        == 404
    )
    assert otto.request("DELETE", f"/api/v1/shares/{second['share']['id']}").status == 200
    revoked = stranger.get(f"/s/{token2}")
    assert revoked.status == 410 and "revoked" in revoked.text
    assert stranger.request("POST", f"/s/{token2}").status == 405
    assert stranger.request("HEAD", f"/s/{token2}/clip.mp4").status == 410
    rows = web_site.client("ann").get("/api/v1/audit?limit=10000").json()["rows"]
    seen = {r["action"] for r in rows}
    assert {"share.create", "share.view", "share.download", "share.revoke"} <= seen
    for secret in (token, token2):  # never a link's token, whatever was asked
        assert not any(secret in r["params"] + r["target"] + r["result"] for r in rows)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed: run scripts/setup.sh")
def test_download_and_share_from_the_page(browser, web_site, recorded, tmp_path):
    from tests.support.media import ffprobe_duration

    start = steady_instant(recorded, 4)
    page = log_in(browser, web_site, "otto")
    page.goto(f"{web_site.url}/playback?cameras=door&t={start}")
    wait_for(lambda: settled(page), 20, what="loaded")
    page.click("#mark-in")
    page.evaluate(f"window.nvrPlayback.seek('{start + 2 * 10**9}')")
    wait_for(lambda: settled(page), 20, what="seeked")
    page.click("#mark-out")
    assert "(2 s)" in page.locator("#range-text").inner_text()
    with page.expect_download(timeout=60_000) as info:
        page.click("#download")
    assert "downloading" in page.locator("#clip-status").inner_text()
    saved = tmp_path / "from-page.mp4"
    info.value.save_as(saved)
    assert abs(ffprobe_duration(saved) - 2.0) < 0.2
    assert info.value.suggested_filename.startswith("door-")
    page.click("#share")
    page.click("#share-create")
    url = wait_for(lambda: page.locator("#share-url").input_value(), 15, what="the link")
    page.screenshot(path=str(SHOTS / "14-share-dialog.png"))
    page.click("#share-form button[value=cancel]")
    wait_for(lambda: page.locator("#clip-table tr[data-kind=link]").count() >= 1, 10,
             what="the link listed")  # fmt: skip

    visitor = browser.new_context(ignore_https_errors=True, viewport=PHONE).new_page()
    wait_for(lambda: visitor.goto(url) and visitor.locator("video").count() == 1, 60,
             what="the shared clip made")  # fmt: skip
    wait_for(lambda: visitor.evaluate("document.querySelector('video').readyState") >= 2, 15,
             what="the shared clip loaded")  # fmt: skip
    visitor.wait_for_timeout(300)
    shown = int(visitor.locator("#share-clock").get_attribute("data-wall-ns"))
    assert abs(shown - start) < 10**8  # the clip's first picture is the one marked
    counter = video_frame_number(visitor, "video")
    _, expected_counter = engine_frame(web_site.client("otto"), start)
    assert counter == expected_counter
    visitor.screenshot(path=str(SHOTS / "15-share-phone.png"), full_page=True)
    visitor.context.close()
    page.context.close()
