"""The System view's Cameras tab: the camera editor.

The cameras on the left (Add makes a new one); the picked camera's form on the right: name,
enabled, stream URLs with Test (``POST /api/probe``: codec, size and fps, or the failure and its
fix), transport and timeout, record mode, pre/post-roll, segment length and the weekly schedule,
motion settings, and the zones drawn over the live picture with the motion preview
(``preview.py``): left click adds a point to the zone being drawn, dragging a point moves it,
right click deletes it. Save sends only what changed (``camera_form.py``) through
``save_config``: comments in the YAML stay, a wrong value is refused with its key named, and the
change is in force when the status bar says so. Remove asks first.
"""

from __future__ import annotations

import re
import time
from typing import Any

import dearpygui.dearpygui as dpg
import numpy as np

from gui import theme
from gui.dialog import Confirm
from gui.link import EngineLink, Snapshot
from gui.panel import Feedback
from gui.system.camera_form import DAYS, MODES, CameraForm, Window
from gui.system.preview import HEIGHT, WIDTH, MotionPreview
from gui.system.tabs import ConfigSaver
from gui.system.zones import ZoneEditor

LIST_PX = 190
CAMERA_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")  # the config's rule, checked at once
ZONE_RGB = (0, 220, 255, 255)


class CamerasTab:
    label = "Cameras"

    def __init__(self, link: EngineLink, feedback: Feedback, saver: ConfigSaver) -> None:
        self.link = link
        self.feedback = feedback
        self.saver = saver
        self.preview = MotionPreview()
        self.form: CameraForm | None = None
        self.original: CameraForm | None = None  # as the configuration has it (None: new)
        self.zones = ZoneEditor()
        self.inputs: dict[tuple[str, ...], int] = {}
        self._listed: Any = None
        self._loaded_version = -1
        self._probes: dict[int, str] = {}
        self._rings: dict[str, str | None] = {}
        self._states: dict[str, str] = {}
        self._scroll_down = 0  # frames left to scroll the form to its end
        self._shown = False
        self._blank = True

    # -- build ---------------------------------------------------------------------------------

    def build(self, parent: int) -> None:
        with dpg.group(horizontal=True, parent=parent):
            with dpg.child_window(width=LIST_PX, border=True) as left:
                self.left = int(left)
                dpg.add_button(label="Add camera", width=-1, callback=self._add_dialog)
                self.list_group = int(dpg.add_group())
            with dpg.child_window(border=True) as right:
                self.right = int(right)
                self.heading = int(dpg.add_text("Pick a camera, or Add one."))
                self.body = int(dpg.add_group(show=False))
        self._build_form(self.body)
        with dpg.texture_registry():
            blank = np.zeros((HEIGHT, WIDTH, 4), np.float32)
            self.texture = int(dpg.add_dynamic_texture(WIDTH, HEIGHT, blank.ravel()))
        with dpg.handler_registry():
            dpg.add_mouse_click_handler(button=dpg.mvMouseButton_Left, callback=self._left_down)
            dpg.add_mouse_click_handler(button=dpg.mvMouseButton_Right, callback=self._right_down)
            dpg.add_mouse_drag_handler(button=dpg.mvMouseButton_Left, callback=self._dragged)
            dpg.add_mouse_release_handler(button=dpg.mvMouseButton_Left, callback=self._released)
        self.confirm = Confirm()
        with dpg.window(
            modal=True, show=False, no_title_bar=True, autosize=True, no_saved_settings=True
        ) as ask:
            self.add_window = int(ask)
            dpg.add_text("New camera id (a-z, 0-9, _ or -, up to 32):")
            self.new_id = int(dpg.add_input_text(width=240, on_enter=True, callback=self._add))
            self.new_id_problem = int(dpg.add_text("", color=theme.ERROR, wrap=300))
            with dpg.group(horizontal=True):
                dpg.add_button(label="Add", callback=self._add)
                dpg.add_button(
                    label="Cancel", callback=lambda: dpg.configure_item(self.add_window, show=False)
                )

    def _build_form(self, parent: int) -> None:
        def field(path: tuple[str, ...], make: Any, **kw: Any) -> None:
            self.inputs[path] = int(make(callback=self._changed, user_data=path, **kw))

        with dpg.group(parent=parent):
            with dpg.group(horizontal=True):
                dpg.add_text("Name")
                field(("name",), dpg.add_input_text, width=200, hint="the id")
                field(("enabled",), dpg.add_checkbox, label="enabled")
            for stream in ("main", "sub"):
                with dpg.group(horizontal=True):
                    dpg.add_text(f"{stream.title():<5}")
                    field(
                        (stream,),
                        dpg.add_input_text,
                        width=-230,
                        hint="rtsp://user:password@host:554/path"
                        + (" (optional)" if stream == "sub" else ""),
                    )
                    dpg.add_button(
                        label=f"Test {stream}", callback=lambda *_, s=stream: self.test(s)
                    )
            self.tested = int(dpg.add_text("", wrap=0))  # the last stream test, kept
            with dpg.group(horizontal=True):
                dpg.add_text("Transport")
                field(("transport",), dpg.add_combo, items=["tcp", "udp"], width=70)
                dpg.add_text("Timeout s")
                field(("timeout_s",), dpg.add_input_float, width=110, step=1, format="%.0f")
            dpg.add_separator()
            with dpg.group(horizontal=True):
                dpg.add_text("Record")
                field(("record", "mode"), dpg.add_combo, items=list(MODES), width=110)
                dpg.add_text("pre-roll s")
                field(
                    ("record", "pre_roll_s"), dpg.add_input_float, width=100, format="%.0f", step=1
                )
                dpg.add_text("post-roll s")
                field(
                    ("record", "post_roll_s"), dpg.add_input_float, width=100, format="%.0f", step=1
                )
                dpg.add_text("segment s")
                field(
                    ("record", "segment_s"), dpg.add_input_float, width=100, format="%.0f", step=1
                )
            with dpg.group(horizontal=True):
                dpg.add_text("Weekly schedule (empty: always)", color=theme.TEXT_DIM)
                dpg.add_button(label="Add window", callback=self._add_window)
            self.schedule_group = int(dpg.add_group())
            dpg.add_separator()
            with dpg.group(horizontal=True):
                field(("motion", "enabled"), dpg.add_checkbox, label="motion detection")
                dpg.add_text("threshold")
                field(
                    ("motion", "threshold"),
                    dpg.add_slider_int,
                    min_value=1,
                    max_value=254,
                    width=140,
                )
                dpg.add_text("min area")
                field(
                    ("motion", "min_area"),
                    dpg.add_slider_float,
                    min_value=0.0005,
                    max_value=0.2,
                    format="%.4f",
                    width=140,
                )
            with dpg.group(horizontal=True):
                dpg.add_text("adaptation")
                field(
                    ("motion", "alpha"),
                    dpg.add_slider_float,
                    min_value=0.001,
                    max_value=0.5,
                    format="%.3f",
                    width=140,
                )
                dpg.add_text("start frames")
                field(
                    ("motion", "start_frames"),
                    dpg.add_slider_int,
                    min_value=1,
                    max_value=30,
                    width=100,
                )
                dpg.add_text("end s")
                field(
                    ("motion", "end_s"), dpg.add_slider_float, min_value=0, max_value=60, width=100
                )
            with dpg.group(horizontal=True):
                with dpg.drawlist(WIDTH, HEIGHT) as canvas:
                    self.canvas = int(canvas)
                with dpg.group():
                    dpg.add_text("Zones (cyan) over the live picture;", color=theme.TEXT_DIM)
                    dpg.add_text("red: changed now, yellow: moving.", color=theme.TEXT_DIM)
                    dpg.add_text("Left click: add a point", color=theme.TEXT_DIM)
                    dpg.add_text("Drag a point: move it", color=theme.TEXT_DIM)
                    dpg.add_text("Right click a point: delete it", color=theme.TEXT_DIM)
                    dpg.add_text("No zone: the whole picture", color=theme.TEXT_DIM)
                    dpg.add_button(label="New zone", callback=lambda: self.zones.new_zone())
                    dpg.add_button(label="Clear zones", callback=self._clear_zones)
                    self.preview_text = int(dpg.add_text("", wrap=260))
            with dpg.group(horizontal=True):
                dpg.add_button(label="Save", callback=self.save)
                dpg.add_button(
                    label="Revert edits",
                    callback=lambda: self.pick(self.form.camera_id if self.form else ""),
                )
                dpg.add_spacer(width=40)
                self.remove_button = int(
                    dpg.add_button(label="Remove camera…", callback=self._remove)
                )
            self.outcome = int(dpg.add_text("", wrap=0))  # the last save's answer, kept

    def resize(self, width: int, height: int) -> None:
        dpg.configure_item(self.left, height=height - 8)
        dpg.configure_item(self.right, width=width - LIST_PX - 20, height=height - 8)

    # -- every frame ---------------------------------------------------------------------------

    def update(self, engine: Snapshot, shown: bool) -> None:
        known = engine.known_cameras
        rings = {c.id: c.ring for c in known.values()}
        self._states = {c.id: c.state for c in known.values()}
        picked = self.form.camera_id if self.form is not None else None
        if shown and self._shown and picked and rings.get(picked) != self._rings.get(picked):
            self._rings = rings
            self._start_preview()  # its worker (re)started, or stopped: follow its ring
        self._rings = rings
        for ticket, what in list(self._probes.items()):
            answer = self.link.answer(ticket)
            if answer is not None:
                del self._probes[ticket]
                self._probe_result(what, answer.value, answer.error)
        if shown != self._shown:
            self._shown = shown
            if not shown:
                self.preview.stop()
            elif self.form is not None:
                self._start_preview()
        cameras = tuple(c["id"] for c in self.saver.config.get("cameras", []))
        if (cameras, self.saver.version) != self._listed:
            self._listed = (cameras, self.saver.version)
            self._list(cameras)
        if shown and self.form is None and cameras:
            self.pick(cameras[0])  # the first camera, rather than an empty form
        if shown and self.form is not None:
            self._draw_preview()
        if self._scroll_down:  # after the layout took the new text in
            self._scroll_down -= 1
            dpg.set_y_scroll(self.right, dpg.get_y_scroll_max(self.right))

    def close(self) -> None:
        self.preview.stop()

    # -- actions -------------------------------------------------------------------------------

    def pick(self, camera_id: str) -> None:
        """Load the camera's settings from the configuration into the form."""
        camera = next(
            (c for c in self.saver.config.get("cameras", []) if c["id"] == camera_id), None
        )
        if camera is None:
            return
        self.original = CameraForm.of(camera)
        self._load(CameraForm.of(camera))

    def new(self, camera_id: str) -> None:
        self.original = None
        self._load(CameraForm.blank(camera_id))

    def set(self, path: tuple[str, ...], value: Any) -> None:
        """Set a field as the admin would (tests and keys)."""
        dpg.set_value(self.inputs[path], value)
        self._changed(self.inputs[path], value, path)

    def save(self, *_: Any) -> None:
        if self.form is None:
            return
        problem = self.zones.problem()
        if problem is not None:
            self._refused(f"Not saved: {problem}")
            return
        self.form.zones = self.zones.config()
        try:
            edits = self.form.edits(self.original)
        except ValueError as err:
            self._refused(f"Not saved: {err}")
            return
        if not edits:
            self.feedback.show("Nothing to save: no setting changed")
            return
        what = f"{'new camera' if self.form.new else 'camera'} {self.form.camera_id}"
        sent = CameraForm(
            self.form.camera_id,
            dict(self.form.values),
            list(self.form.schedule),
            [list(z) for z in self.form.zones],
        )
        dpg.set_value(self.outcome, f"Saving {what}…")
        dpg.configure_item(self.outcome, color=theme.TEXT_DIM)
        self.saver.save(edits, what, lambda ok, text: self._saved(sent, ok, text))

    def _refused(self, text: str) -> None:
        """A save the console refused: said in the status bar and, whole, under Save."""
        self.feedback.show(text, error=True)
        dpg.set_value(self.outcome, text)
        dpg.configure_item(self.outcome, color=theme.ERROR)
        self._scroll_down = 2

    def _saved(self, sent: CameraForm, ok: bool, text: str) -> None:
        """The engine's answer: only a save it took becomes the form's new starting point (a
        refused one stays to be corrected and saved again)."""
        dpg.set_value(self.outcome, text)
        dpg.configure_item(self.outcome, color=theme.LIVE if ok else theme.ERROR)
        self._scroll_down = 2  # the answer is under the Save button: bring it into view
        if ok and self.form is not None and self.form.camera_id == sent.camera_id:
            self.form.new = False
            self.original = sent
            dpg.configure_item(self.remove_button, show=True)
            dpg.set_value(self.heading, f"Camera {sent.camera_id}")

    def test(self, stream: str) -> None:
        if self.form is None:
            return
        typed = str(self.form.values[(stream,)] or "")
        same = self.original is not None and typed == self.original.values[(stream,)]
        if not typed:
            self.feedback.show(f"No {stream} stream URL to test", error=True)
            return
        cid = self.form.camera_id
        if same:  # shown with its password hidden: the engine tests the URL it has
            ticket = self.link.ask(lambda client: client.probe(camera_id=cid, stream=stream))
        else:
            ticket = self.link.ask(lambda client: client.probe(typed))
        self._probes[ticket] = f"{cid}'s {stream} stream"
        self.feedback.show(f"Testing {cid}'s {stream} stream…")

    # -- internals -----------------------------------------------------------------------------

    def _load(self, form: CameraForm) -> None:
        self.form = form
        self._listed = None  # the list marks the camera picked
        self.zones = ZoneEditor.from_config(form.zones)
        for path, item in self.inputs.items():
            value = form.values[path]
            dpg.set_value(item, "" if value is None else value)
        dpg.set_value(self.heading, f"{'New camera' if form.new else 'Camera'} {form.camera_id}")
        dpg.configure_item(self.body, show=True)
        dpg.configure_item(self.remove_button, show=not form.new)
        dpg.set_value(self.outcome, "")
        dpg.set_value(self.tested, "")  # a test of another camera is not this one's
        self._schedule_rows()
        if self._shown:
            self._start_preview()

    def _start_preview(self) -> None:
        assert self.form is not None
        camera = self.form.camera_id
        state = self._states.get(camera)
        absent = {
            None: "no live picture: the camera is not running yet (a new one shows here once "
            "saved)",
            "disabled": "no live picture: the camera is stopped (Workers: Start)",
            "stopped": "no live picture: the camera is stopped",
            "live": "no live picture yet: waiting for the camera's frames",
        }.get(
            state, f"no live picture: the camera is {state} (it shows here once its stream is up)"
        )
        self.preview.start(self._rings.get(camera), self._params(), absent)

    def _params(self) -> dict[str, Any]:
        assert self.form is not None
        self.form.zones = self.zones.config()
        return self.form.motion_params()

    def _changed(self, _sender: Any, value: Any, path: tuple[str, ...]) -> None:
        if self.form is None:
            return
        if isinstance(value, str) and path not in (("main",), ("sub",), ("name",)):
            value = value.strip()
        if isinstance(value, float):
            value = int(value) if value.is_integer() else round(value, 6)
        self.form = self.form.with_value(path, value)
        if path[0] == "motion":
            self.preview.set_params(self._params())

    def _list(self, cameras: tuple[str, ...]) -> None:
        dpg.delete_item(self.list_group, children_only=True)
        for cid in cameras:
            dpg.add_selectable(
                label=cid,
                parent=self.list_group,
                default_value=self.form is not None and self.form.camera_id == cid,
                callback=lambda *_, c=cid: self.pick(c),
            )

    def _schedule_rows(self) -> None:
        dpg.delete_item(self.schedule_group, children_only=True)
        assert self.form is not None
        for n, window in enumerate(self.form.schedule):
            with dpg.group(horizontal=True, parent=self.schedule_group):
                for day in DAYS:
                    dpg.add_checkbox(
                        label=day,
                        default_value=day in window.days,
                        callback=self._day_ticked,
                        user_data=(n, day),
                    )
                dpg.add_input_text(
                    default_value=window.start,
                    width=60,
                    callback=self._time_typed,
                    user_data=(n, "start"),
                )
                dpg.add_text("to")
                dpg.add_input_text(
                    default_value=window.end,
                    width=60,
                    callback=self._time_typed,
                    user_data=(n, "end"),
                )
                dpg.add_button(label="x", callback=lambda *_, i=n: self._drop_window(i))

    def _add_window(self, *_: Any) -> None:
        if self.form is not None:
            self.form.schedule.append(Window(DAYS[:5], "08:00", "18:00"))
            self._schedule_rows()

    def _drop_window(self, n: int) -> None:
        if self.form is not None:
            del self.form.schedule[n]
            self._schedule_rows()

    # Dear PyGui calls back with (sender, value, user_data): a lambda with more parameters,
    # or defaults standing for them, is called wrongly under manual callback management.
    def _day_ticked(self, _sender: Any, on: bool, where: tuple[int, str]) -> None:
        self._day(where[0], where[1], bool(on))

    def _time_typed(self, _sender: Any, text: str, where: tuple[int, str]) -> None:
        self._time(where[0], where[1], str(text))

    def _day(self, n: int, day: str, on: bool) -> None:
        if self.form is None:
            return
        window = self.form.schedule[n]
        days = set(window.days) | {day} if on else set(window.days) - {day}
        self.form.schedule[n] = Window(
            tuple(d for d in DAYS if d in days), window.start, window.end
        )

    def _time(self, n: int, which: str, text: str) -> None:
        if self.form is None:
            return
        window = self.form.schedule[n]
        self.form.schedule[n] = (
            Window(window.days, text.strip(), window.end)
            if which == "start"
            else Window(window.days, window.start, text.strip())
        )

    def _clear_zones(self, *_: Any) -> None:
        self.zones.clear()
        if self.form is not None:
            self.preview.set_params(self._params())

    def _remove(self, *_: Any) -> None:
        if self.form is None:
            return
        cid = self.form.camera_id
        self.confirm.ask(
            f"Remove camera {cid} from the configuration? Its worker stops; its recordings stay "
            "on disk until retention deletes them.",
            "Remove",
            lambda: self.saver.save(
                [{"path": ["cameras", cid], "delete": True}],
                f"removal of {cid}",
                lambda ok, text: self._removed(cid, ok, text),
            ),
        )

    def _removed(self, camera_id: str, ok: bool, text: str) -> None:
        dpg.set_value(self.outcome, text)
        dpg.configure_item(self.outcome, color=theme.LIVE if ok else theme.ERROR)
        if ok and self.form is not None and self.form.camera_id == camera_id:
            self.form = self.original = None  # nothing left to edit: pick another
            self.preview.stop()
            dpg.configure_item(self.body, show=False)
            dpg.set_value(self.heading, f"{text}. Pick a camera, or Add one.")

    def _add_dialog(self, *_: Any) -> None:
        dpg.set_value(self.new_id, "")
        dpg.set_value(self.new_id_problem, "")
        dpg.configure_item(self.add_window, show=True)

    def _add(self, *_: Any) -> None:
        cid = dpg.get_value(self.new_id).strip()
        if not CAMERA_ID.fullmatch(cid):
            dpg.set_value(
                self.new_id_problem,
                f"{cid!r} is not an id: 1 to 32 of a-z, 0-9, _ or -, starting with a letter or "
                "digit",
            )
            return
        if cid in {c["id"] for c in self.saver.config.get("cameras", [])}:
            dpg.set_value(self.new_id_problem, f"there is a camera {cid} already")
            return
        dpg.configure_item(self.add_window, show=False)
        self.new(cid)

    def _probe_result(self, what: str, found: dict[str, Any] | None, error: str | None) -> None:
        if error is not None or found is None:
            text, failed = f"Test of {what} failed: {error}", True
        elif not found["ok"]:
            text, failed = f"{what}: {found['error']}", True
        else:
            text, failed = (
                f"{what}: {found['codec']} {found['width']}x{found['height']} at "
                f"{found['fps']:.1f} fps, {found['bitrate_bps'] / 1e6:.2f} Mb/s",
                False,
            )
        self.feedback.show(text, error=failed)
        dpg.set_value(self.tested, f"Last test, {time.strftime('%H:%M:%S')}: {text}")
        dpg.configure_item(self.tested, color=theme.ERROR if failed else theme.LIVE)

    # -- the picture and the zones ----------------------------------------------------------

    def _canvas_point(self) -> tuple[float, float] | None:
        if not (dpg.is_item_shown(self.canvas) and dpg.is_item_hovered(self.canvas)):
            return None
        x, y = dpg.get_drawing_mouse_pos()
        return x / WIDTH, y / HEIGHT

    def _left_down(self, *_: Any) -> None:
        at = self._canvas_point()
        if at is not None and self.form is not None:
            self.zones.press(at)
            self.preview.set_params(self._params())

    def _dragged(self, *_: Any) -> None:
        if self.zones.dragging is None:
            return
        x, y = dpg.get_drawing_mouse_pos()
        self.zones.drag((x / WIDTH, y / HEIGHT))

    def _released(self, *_: Any) -> None:
        if self.zones.dragging is not None:
            self.zones.release()
            self.preview.set_params(self._params())

    def _right_down(self, *_: Any) -> None:
        at = self._canvas_point()
        if at is not None and self.zones.delete_at(at):
            self.preview.set_params(self._params())

    def _draw_preview(self) -> None:
        frame, status = self.preview.latest()
        if frame is not None:
            dpg.set_value(self.texture, frame.rgba.ravel())
            self._blank = False
            moving = "MOVING" if frame.moving else "still"
            where = "the zones" if self.zones.zones else "the picture"
            status = (
                f"{moving}: {frame.changed * 100:.2f} % of {where} changed, {frame.boxes} region(s)"
            )
        elif not self._blank:  # never another camera's last picture
            dpg.set_value(self.texture, np.zeros(WIDTH * HEIGHT * 4, np.float32))
            self._blank = True
        dpg.set_value(self.preview_text, status)
        dpg.delete_item(self.canvas, children_only=True)
        dpg.draw_image(self.texture, (0, 0), (WIDTH, HEIGHT), parent=self.canvas)
        for n, zone in enumerate(self.zones.zones):
            points = [(x * WIDTH, y * HEIGHT) for x, y in zone]
            width = 3 if n == self.zones.current else 2
            if len(points) >= 3:
                dpg.draw_polygon(
                    [*points, points[0]], color=ZONE_RGB, thickness=width, parent=self.canvas
                )
            elif len(points) == 2:
                dpg.draw_line(
                    points[0], points[1], color=ZONE_RGB, thickness=width, parent=self.canvas
                )
            for point in points:
                dpg.draw_circle(point, 5, color=ZONE_RGB, fill=ZONE_RGB, parent=self.canvas)
