"""``PlaybackPanel``: recorded footage of up to four cameras in sync, as a ``gui.panel.Panel``.

Toolbar (cameras, transport, speed, go to a time, the cursor's date and time) above; the
pictures and the events list in the middle; the timeline strip and the export row below. The
model (``gui.playback.model``) is plain; pictures come from the ``Player`` thread through the
grid texture, timeline data, events, thumbnails and exports from the ``Library`` thread. Both
read the storage folder the engine reports (``/health.storage.path``) through read-only
catalog connections: playback works while the engine is busy, and even once it has stopped.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import dearpygui.dearpygui as dpg

from gui import theme
from gui.draw import Drawn, fit
from gui.keys import EQUAL, PAGE_DOWN, PAGE_UP
from gui.link import CommandResult, EngineLink, Snapshot
from gui.live.atlas import GridTexture, picture_rect
from gui.panel import Feedback
from gui.playback.events import WIDTH_PX, EventsList, day_start
from gui.playback.library import Library, TimelineQuery
from gui.playback.model import MAX_CAMERAS, SPEEDS, PlaybackModel
from gui.playback.player import PlaybackFeed, Player, Want
from gui.playback.strip import EVENT_COLOR, GAP_COLOR, HOVER_H, HOVER_W, TYPE_COLORS, Strip
from gui.view import Rect, layout_rects, uniform

GAP_PX = 2
BUCKETS_PX = 2  # one timeline bucket per this many pixels of the strip
EXPORTS = Path.home() / "nvr-exports"
HOLE_SHOW_S = 0.7  # playing into a hole shows it this long, then jumps over it
CAMERA_FPS = 15.0  # to pace the render loop while playing (the recorded rate is not known here)


class PlaybackPanel:
    title = "Playback"

    def __init__(
        self, feedback: Feedback, storage: Path | None = None, link: EngineLink | None = None
    ) -> None:
        self.model = PlaybackModel()
        self.feedback = feedback
        self.link = link  # for protecting a range from retention (a command to the engine)
        self._protecting: dict[int, str] = {}  # ticket: camera
        self.storage = storage  # from the config, or the engine's health once connected
        self.player: Player | None = None
        self.library: Library | None = None
        self.feeds: dict[str, PlaybackFeed] = {}
        self.names: dict[str, str] = {}  # camera id -> name, from the engine
        self._drawn = Drawn()
        self._root = 0
        self._shown = False
        self._size = (1, 1)
        self._video = Rect(0, 0, 1, 1)
        self._cells: list[dict[str, int]] = []
        self._lanes = 0
        self._hole_since: float | None = None  # playing through a hole since (loop time)
        self._placed: list[tuple[str | None, Rect]] = []  # the cells drawn last

    # -- build ---------------------------------------------------------------------------------

    def build(self, parent: int) -> None:
        self._root = parent
        with (
            dpg.child_window(
                parent=parent,
                height=theme.TOOLBAR_PX - theme.SPACING_PX,
                border=False,
                no_scrollbar=True,
            ) as toolbar,
            dpg.group(horizontal=True),
        ):
            self.toolbar = int(toolbar)
            dpg.add_spacer(width=4)
            self.cameras_button = int(
                dpg.add_button(label="Cameras ▾", callback=self._open_cameras)
            )
            dpg.add_spacer(width=8)
            self.buttons = {
                "prev_event": _button("◀ Event", lambda *_: self.event(-1), "last event (PageUp)"),
                "back": _button("-10 s", lambda *_: self.model.jump(-10), "10 s back (Left)"),
                "frame_back": _button("◀|", lambda *_: self.step(-1), "one frame back (,)"),
                "play": _button(
                    "▶ Play", lambda *_: self.model.play_pause(), "play or pause (Space)", width=80
                ),
                "frame_on": _button("|▶", lambda *_: self.step(1), "one frame on (.)"),
                "on": _button("+10 s", lambda *_: self.model.jump(10), "10 s on (Right)"),
                "next_event": _button("Event ▶", lambda *_: self.event(1), "next event (PageDown)"),
            }
            self.speed = int(
                dpg.add_combo(
                    [_speed(s) for s in SPEEDS],
                    default_value="1x",
                    width=70,
                    callback=self._on_speed,
                )
            )
            dpg.add_spacer(width=8)
            self.go_input = int(  # G
                dpg.add_input_text(
                    hint="2026-12-05 14:30:00", width=170, on_enter=True, callback=self._on_go
                )
            )
            dpg.add_button(label="Go", callback=self._on_go)
            dpg.add_spacer(width=8)
            self.clock = int(dpg.add_text("", color=theme.TEXT))
            self.mode = int(dpg.add_text("", color=theme.WARN))
        with dpg.group(horizontal=True, parent=parent):
            self.video = int(dpg.add_drawlist(width=1, height=1))
            with dpg.child_window(width=WIDTH_PX, border=False) as side:
                self.side = int(side)
                self.events = EventsList(self.model, self._drawn, self._thumbnail)
                dpg.add_spacer(height=8)
                _legend()
        with dpg.group(parent=parent):
            self.strip = Strip(
                self.model,
                self._drawn,
                lambda cam, at: self._thumbnail(("at", cam, at // 10**10 * 10**10)),
            )
        with dpg.group(horizontal=True, parent=parent):
            dpg.add_spacer(width=4)
            _button("Mark in (I)", lambda *_: self.model.mark(False), "start the export here")
            _button("Mark out (O)", lambda *_: self.model.mark(True), "end the export here")
            self.range_label = int(dpg.add_text("", color=theme.TEXT_DIM))
            self.export_button = _button(
                "Export",
                lambda *_: self.export(),
                "copy the marked range of the cameras shown to MP4 files (E)",
            )
            self.progress = int(dpg.add_progress_bar(default_value=0.0, width=140, overlay=""))
            self.open_button = _button(
                "Open folder", lambda *_: self.open_folder(), "open the folder of the last export"
            )
            self.keep_button = _button(
                "Keep (K)",
                lambda *_: self.protect(True),
                "protect the recordings of the marked range of the cameras shown: retention "
                "never deletes them",
            )
            self.release_button = _button(
                "Release",
                lambda *_: self.protect(False),
                "let retention delete the marked range's recordings again",
            )
            self.export_label = int(dpg.add_text("", color=theme.TEXT_DIM))
        self.texture = GridTexture()
        self._cells = [_make_cell(self.video) for _ in range(MAX_CAMERAS)]
        self._preview = int(  # the timeline's hover thumbnail, over the pictures
            dpg.draw_image(
                self.strip.preview_texture, (0, 0), (1, 1), parent=self.video, show=False
            )
        )
        with dpg.handler_registry():
            dpg.add_mouse_click_handler(button=dpg.mvMouseButton_Left, callback=self._on_click)
        with dpg.window(show=False, popup=True, no_title_bar=True, min_size=(200, 40)) as menu:
            self.camera_menu = int(menu)
            self.camera_boxes = int(dpg.add_group())

    def resize(self, width: int, height: int) -> None:
        self._size = (width, height)
        self.strip.resize(width - 8, len(self.model.cameras))
        video_h = max(1, height - theme.TOOLBAR_PX * 2 - self.strip.height - 2 * theme.SPACING_PX)
        self._video = Rect(0, 0, max(1, width - WIDTH_PX - 8), video_h)
        dpg.configure_item(self.video, width=self._video.w, height=self._video.h)
        dpg.configure_item(self.side, height=video_h)

    def show(self, shown: bool) -> None:
        self._shown = shown
        dpg.configure_item(self._root, show=shown)
        if not shown:
            self.model.playing = False

    # -- actions -------------------------------------------------------------------------------

    def open(self, camera_id: str, at_ns: int) -> None:
        """Show ``camera_id`` from ``at_ns`` (the live grid's "last minute")."""
        self.model.open(camera_id, at_ns)
        self.events.day_ns = day_start(at_ns)

    def step(self, direction: int) -> None:
        model = self.model
        model.playing = False
        camera_id = model.selected or (model.cameras[0] if model.cameras else None)
        if self.player is not None and camera_id is not None:
            self.player.step(camera_id, direction)

    def event(self, step: int) -> None:
        if self.library is not None and self.model.cameras:
            self.library.find_event(tuple(self.model.cameras), self.model.cursor_ns, step)

    def edge(self, step: int) -> None:
        """To the next (``step`` 1) or previous place where footage of the cameras shown
        starts or stops."""
        if self.library is not None and self.model.cameras:
            self.library.find_edge(tuple(self.model.cameras), self.model.cursor_ns, step)

    def export(self) -> None:
        marks, model = self.model.marks, self.model
        if self.library is None or not model.cameras:
            self.feedback.show("add a camera and mark a range to export", error=True)
            return
        if not marks.complete:
            self.feedback.show("mark the range first: I at its start, O at its end", error=True)
            return
        assert marks.start_ns is not None and marks.end_ns is not None
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.library.start_export(
            list(model.cameras), marks.start_ns, marks.end_ns, EXPORTS / stamp
        )
        self.feedback.show(f"exporting {len(model.cameras)} camera(s) to {EXPORTS / stamp}")

    def protect(self, keep: bool) -> None:
        """Keep the marked range's recordings of the cameras shown from retention (or release
        them): the engine's ``protect``, one command per camera."""
        marks, model = self.model.marks, self.model
        if self.link is None:
            self.feedback.show("no engine to ask: protection needs the engine", error=True)
            return
        if not marks.complete or not model.cameras:
            self.feedback.show("mark the range first: I at its start, O at its end", error=True)
            return
        assert marks.start_ns is not None and marks.end_ns is not None
        for camera_id in model.cameras:
            ticket = self.link.send(
                "protect",
                camera_id,
                start_ns=marks.start_ns,
                end_ns=marks.end_ns,
                protected=keep,
            )
            self._protecting[ticket] = camera_id

    def open_folder(self) -> None:
        state = self.library.export if self.library is not None else None
        if state is None or not state.folder.exists():
            self.feedback.show("nothing exported yet", error=True)
            return
        opener = shutil.which("xdg-open")
        if opener is None:
            self.feedback.show(f"the clips are in {state.folder}")
            return
        subprocess.Popen(
            [opener, str(state.folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def toggle_camera(self, camera_id: str) -> None:
        if not self.model.toggle_camera(camera_id) and self.model.error:
            self.feedback.show(self.model.error, error=True)

    # -- the frame -----------------------------------------------------------------------------

    def update(
        self, now: float, engine: Snapshot, results: list[CommandResult], minimised: bool
    ) -> float:
        self._sync(engine)
        for result in results:
            camera_id = self._protecting.pop(result.ticket, None)
            if camera_id is not None:
                done = result.reply.detail if result.ok and result.reply else result.error
                name = self.names.get(camera_id, camera_id)
                self.feedback.show(f"{name}: {done} (whole recordings)", error=not result.ok)
        model = self.model
        model.tick(now)
        if self.player is not None:
            moved = self.player.moved()
            if moved is not None:
                model.moved_to(moved)
        if self.library is not None:
            found, missed = self.library.jumped()
            if found is not None:
                model.seek(found)
            elif missed:
                self.feedback.show("nothing more that way")
        self._through_holes(now)
        if not self._shown:
            return 0.0
        if len(model.cameras) != self._lanes:  # the strip's height follows the cameras
            self._lanes = len(model.cameras)
            self.resize(*self._size)
        cameras = tuple(model.cameras)
        if self.player is not None:
            self.player.want(
                Want(cameras, model.cursor_ns, model.playing, model.scrubbing, model.keyframes_only)
            )
        if self.library is not None and cameras:
            start, end = model.window
            self.library.want_timeline(
                TimelineQuery(
                    cameras, start, end, max(1, min(2000, self.strip.width // BUCKETS_PX))
                )
            )
            camera = model.selected or cameras[0]
            self.library.want_day(camera, self.events.day_ns, self.events.day_ns + 86_400 * 10**9)
        convert_s = self._draw_video(now, minimised)
        data = self.library.timeline if self.library is not None else None
        self.strip.update(data, self.names, self.library.growing if self.library else None)
        self._draw_preview()
        self.events.update(
            self.library.day if self.library else None,
            self.names.get(model.selected or "", model.selected),
        )
        self._draw_toolbar()
        self.texture.end_frame()
        return convert_s

    def _through_holes(self, now: float) -> None:
        """Playing, where no camera has footage: after ``HOLE_SHOW_S`` showing the hole, jump to
        where the first one's footage goes on; at the end of all footage, stop there."""
        model = self.model
        shown = [f.current for c, f in self.feeds.items() if c in model.cameras]
        if not model.playing or not shown or any(s is None or s.frame is not None for s in shown):
            self._hole_since = None
            return
        if self._hole_since is None:
            self._hole_since = now
            return
        if now - self._hole_since < HOLE_SHOW_S:
            return
        self._hole_since = None
        ends = [s.span[1] for s in shown if s is not None and s.span[1] is not None]
        later = [end for end in ends if end > model.cursor_ns]
        if later:
            model.seek(min(later))
        else:
            model.playing = False
            self.feedback.show("reached the end of the recordings: Space plays on from here")

    def _sync(self, engine: Snapshot) -> None:
        """Names from the engine; the storage folder once known (player and library start)."""
        if engine.health is not None:
            self.names = {cid: c.name or cid for cid, c in engine.health.cameras.items()}
            if self.storage is None and engine.health.storage.path:
                self.storage = Path(engine.health.storage.path)
        if self.player is None and self.storage is not None:
            self.player = Player(self.storage)
            self.library = Library(self.storage)
        if self.player is not None:
            for camera_id in self.model.cameras:
                if camera_id not in self.feeds:
                    self.feeds[camera_id] = PlaybackFeed(camera_id, self.player)

    def _draw_video(self, now: float, minimised: bool) -> float:
        cameras = self.model.cameras
        for camera_id in cameras:
            if camera_id in self.feeds:
                self.feeds[camera_id].refresh()
        rows, cols = (1, 1) if len(cameras) <= 1 else (2, 2) if len(cameras) > 2 else (1, 2)
        layout = uniform(rows, cols)
        rects = layout_rects(layout, self._video, GAP_PX)
        cells: list[tuple[str | None, Rect]] = [
            (cameras[i] if i < len(cameras) and cameras[i] in self.feeds else None, rect)
            for i, rect in enumerate(rects)
        ]
        self._placed = cells
        convert_s = 0.0 if minimised else self.texture.convert(cells, layout, self.feeds, now)
        atlas = self.texture.atlas
        for i, cell in enumerate(self._cells):
            if i >= len(rects):
                self._drawn.set(cell["node"], show=False)
                continue
            cell_camera, rect = cells[i]
            self._draw_cell(cell, cell_camera, rect, i, atlas)
        return convert_s

    def _draw_preview(self) -> None:
        x = self.strip.preview_x
        if x is None:
            self._drawn.set(self._preview, show=False)
            return
        left = min(max(0.0, x - HOVER_W / 2), self._video.w - HOVER_W)
        top = self._video.h - HOVER_H - 4
        self._drawn.set(
            self._preview, pmin=(left, top), pmax=(left + HOVER_W, top + HOVER_H), show=True
        )

    def _draw_cell(
        self, cell: dict[str, int], camera_id: str | None, rect: Rect, index: int, atlas: Any
    ) -> None:
        drawn = self._drawn
        drawn.set(cell["node"], show=True)
        drawn.set(
            cell["background"], pmin=(rect.x, rect.y), pmax=(rect.x + rect.w, rect.y + rect.h)
        )
        feed = self.feeds.get(camera_id) if camera_id else None
        shown = feed.current if feed is not None else None
        picture = shown is not None and shown.frame is not None and atlas is not None
        if picture:
            region = atlas.regions[index]
            place = picture_rect(rect, (region.w, region.h))
            uv_min, uv_max = atlas.uv(index)
            if cell.get("texture") != atlas.tag:
                if "image" in cell:
                    dpg.delete_item(cell["image"])
                cell["image"] = int(
                    dpg.draw_image(
                        atlas.tag, (0, 0), (1, 1), parent=cell["node"], before=cell["title"]
                    )
                )
                cell["texture"] = atlas.tag
            drawn.set(
                cell["image"],
                pmin=(place.x, place.y),
                pmax=(place.x + place.w, place.y + place.h),
                uv_min=uv_min,
                uv_max=uv_max,
                show=True,
            )
        elif "image" in cell:
            drawn.set(cell["image"], show=False)
        name = self.names.get(camera_id, camera_id) if camera_id else "Add a camera (Cameras ▾)"
        when = ""
        if shown is not None and shown.frame is not None:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(shown.frame.time_ns // 10**9))
            when = f"{stamp}.{shown.frame.time_ns // 10**6 % 1000:03d}"
        drawn.set(
            cell["title"], pos=(rect.x + 6, rect.y + 4), text=fit(f"{name}   {when}", rect.w - 12)
        )
        note = ""
        if camera_id is not None and shown is None:
            note = (
                "loading…"
                if self.player is not None
                else "waiting for the engine to say where recordings are"
            )
        elif shown is not None and shown.hole is not None:
            note = fit(f"No recording: {shown.hole}", rect.w - 24)
        elif shown is not None and (shown.keyframes_only or shown.behind):
            note = "keyframes only"
        drawn.set(
            cell["note"],
            pos=(rect.x + 12, rect.y + rect.h // 2 - 8),
            text=note,
            color=theme.WARN if shown and shown.hole else theme.TEXT_DIM,
        )
        selected = (
            camera_id is not None
            and camera_id == self.model.selected
            and len(self.model.cameras) > 1
        )
        drawn.set(
            cell["border"],
            pmin=(rect.x + 1, rect.y + 1),
            pmax=(rect.x + rect.w - 1, rect.y + rect.h - 1),
            show=selected,
        )

    def _draw_toolbar(self) -> None:
        model, drawn = self.model, self._drawn
        drawn.set(self.buttons["play"], label="❚❚ Pause" if model.playing else "▶ Play")
        stamp = time.strftime("%a %Y-%m-%d %H:%M:%S", time.localtime(model.cursor_ns // 10**9))
        drawn.set(self.clock, default_value=f"{stamp}.{model.cursor_ns // 10**6 % 1000:03d}")
        drawn.set(self.speed, default_value=_speed(model.speed))
        behind = any(
            f.current is not None and f.current.behind
            for f in self.feeds.values()
            if f.camera_id in model.cameras
        )
        mode = (
            "keyframes only (above 4x)"
            if model.keyframes_only
            else "keyframes only: decoding behind"
            if behind
            else ""
        )
        if self.player is not None and self.player.error:
            mode = self.player.error
        drawn.set(self.mode, default_value=mode)
        marks = model.marks
        text = ""
        if marks.start_ns is not None or marks.end_ns is not None:
            text = f"{_short(marks.start_ns)} → {_short(marks.end_ns)}"
            if marks.complete:
                assert marks.start_ns is not None and marks.end_ns is not None
                text += f" ({(marks.end_ns - marks.start_ns) / 1e9:.0f} s)"
        drawn.set(self.range_label, default_value=text or "no range marked")
        drawn.set(self.export_button, enabled=marks.complete and bool(model.cameras))
        for button in (self.keep_button, self.release_button):
            drawn.set(button, enabled=marks.complete and bool(model.cameras))
        state = self.library.export if self.library is not None else None
        if state is not None:
            files = sum(len(c.files) for c in state.clips)
            where = (
                f"~/{state.folder.relative_to(Path.home())}"
                if state.folder.is_relative_to(Path.home())
                else str(state.folder)
            )
            status = f"{files} clip(s) and their reports in {where}" if state.done else "exporting…"
            if state.errors:
                status += "; " + "; ".join(state.errors)
            drawn.set(
                self.progress, default_value=state.progress, overlay=f"{state.progress * 100:.0f}%"
            )
            drawn.set(self.export_label, default_value=fit(status, 420))

    def _open_cameras(self) -> None:
        dpg.delete_item(self.camera_boxes, children_only=True)
        for camera_id in sorted(self.names):
            dpg.add_checkbox(
                label=self.names[camera_id],
                default_value=camera_id in self.model.cameras,
                parent=self.camera_boxes,
                callback=lambda *_, c=camera_id: self.toggle_camera(c),
            )
        if not self.names:
            dpg.add_text("no cameras known yet", parent=self.camera_boxes)
        dpg.configure_item(
            self.camera_menu, pos=dpg.get_item_rect_min(self.cameras_button), show=True
        )

    def _on_click(self) -> None:
        """A click on a picture selects its camera (stepping and the events list follow it)."""
        if not self._shown or not dpg.is_item_hovered(self.video):
            return
        mx, my = dpg.get_mouse_pos(local=False)
        gx, gy = dpg.get_item_rect_min(self.video)
        for camera_id, rect in self._placed:
            if camera_id is not None and rect.contains(mx - gx, my - gy):
                self.model.select(camera_id)

    def _thumbnail(self, key: tuple[Any, ...]) -> Any:
        return self.library.thumbnail(key) if self.library is not None else None

    def _on_speed(self, _sender: Any, value: str) -> None:
        self.model.set_speed(float(value.rstrip("x")))

    def _type_time(self) -> None:
        """G: an empty "go to" box with the keyboard in it."""
        dpg.set_value(self.go_input, "")
        dpg.focus_item(self.toolbar)  # its window first: another may hold the keyboard
        dpg.focus_item(self.go_input)

    def _on_go(self, *_: Any) -> None:
        if not self.model.go_to(dpg.get_value(self.go_input)):
            self.feedback.show(self.model.error or "cannot read that time", error=True)

    # -- keys and the rest ---------------------------------------------------------------------

    def key(self, key: int) -> None:
        """Space play/pause; , and . one frame; Left/Right 10 s; Up/Down speed; PageUp/PageDown
        previous/next event; [ and ] the previous/next start or end of a recording or gap; + and
        - zoom; I/O mark the range; E export; G go to a time."""
        if dpg.is_item_active(self.go_input):  # typing a time: keys are text
            return
        if key == dpg.mvKey_Escape and dpg.is_item_shown(self.camera_menu):
            dpg.configure_item(self.camera_menu, show=False)
            return
        model = self.model
        actions = {
            dpg.mvKey_Spacebar: model.play_pause,
            dpg.mvKey_Comma: lambda: self.step(-1),
            dpg.mvKey_Period: lambda: self.step(1),
            dpg.mvKey_Left: lambda: model.jump(-10),
            dpg.mvKey_Right: lambda: model.jump(10),
            dpg.mvKey_Up: lambda: model.faster(1),
            dpg.mvKey_Down: lambda: model.faster(-1),
            PAGE_UP: lambda: self.event(-1),
            PAGE_DOWN: lambda: self.event(1),
            dpg.mvKey_Minus: lambda: model.zoom(1 / 0.5),
            EQUAL: lambda: model.zoom(0.5),
            dpg.mvKey_Add: lambda: model.zoom(0.5),
            dpg.mvKey_Subtract: lambda: model.zoom(1 / 0.5),
            dpg.mvKey_I: lambda: model.mark(False),
            dpg.mvKey_O: lambda: model.mark(True),
            dpg.mvKey_E: self.export,
            dpg.mvKey_K: lambda: self.protect(True),
            dpg.mvKey_G: self._type_time,
            dpg.mvKey_Open_Brace: lambda: self.edge(-1),
            dpg.mvKey_Close_Brace: lambda: self.edge(1),
        }
        action = actions.get(key)
        if action is not None:
            action()

    def wanted_fps(self, now: float) -> float:
        """While playing, a render frame per recorded frame at the speed (60 at 4x)."""
        return CAMERA_FPS * self.model.speed if self.model.playing and self._shown else 0.0

    def close(self) -> None:
        if self.player is not None:
            self.player.stop()
        if self.library is not None:
            self.library.stop()


def _legend() -> None:
    """What the timeline's colours mean."""
    entries = [(kind, color) for kind, color in TYPE_COLORS.items()]
    entries += [("being written", (*TYPE_COLORS["continuous"][:3], 150)), ("gap", GAP_COLOR)]
    entries += [("motion event", EVENT_COLOR)]
    for row in range(0, len(entries), 3):
        with dpg.group(horizontal=True):
            for name, color in entries[row : row + 3]:
                dpg.add_text("■", color=color)
                dpg.add_text(name, color=theme.TEXT_DIM)


def _button(label: str, callback: Any, tip: str, **kw: Any) -> int:
    button = int(dpg.add_button(label=label, callback=callback, **kw))
    with dpg.tooltip(button):
        dpg.add_text(tip)
    return button


def _speed(speed: float) -> str:
    return f"{speed:g}x"


def _short(ns: int | None) -> str:
    if ns is None:
        return "…"
    return time.strftime("%H:%M:%S", time.localtime(ns // 10**9))


def _make_cell(drawlist: int) -> dict[str, int]:
    with dpg.draw_node(parent=drawlist) as node:
        return {
            "node": int(node),
            "background": int(
                dpg.draw_rectangle((0, 0), (1, 1), color=theme.TILE_EMPTY, fill=theme.TILE_EMPTY)
            ),
            "title": int(dpg.draw_text((0, 0), "", color=theme.TEXT, size=theme.FONT_PX)),
            "note": int(dpg.draw_text((0, 0), "", color=theme.TEXT_DIM, size=theme.FONT_PX)),
            "border": int(
                dpg.draw_rectangle((0, 0), (1, 1), color=theme.ACCENT, thickness=2, show=False)
            ),
        }
