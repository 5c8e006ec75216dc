"""The live grid's PTZ panel: steer the selected camera over the engine's ONVIF PTZ
(``docs/ptz.md``).

It opens by itself when a camera with PTZ is shown alone, or with the toolbar's PTZ button for
the selected one. While it is open:
- the arrow keys pan and tilt while held, ``+`` and ``-`` zoom, Ctrl+1..9 recall the presets
  in the list's order;
- the pad's eight arrows move while the mouse holds them, the middle button stops;
- the speed slider scales every move;
- Ctrl+click on the picture turns the camera toward that point (cameras with relative moves).

A held move is sent again every ``RENEW_S`` with a ``timeout_s`` of ``MOVE_TIMEOUT_S``, so the
engine stops the camera by itself when this console stops renewing it (closed, frozen, cut off);
letting go sends Stop at once. What the panel says (moving, the position, presets, the last
error) comes from the engine's health, and a refused or failed command is said in its words.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dearpygui.dearpygui as dpg

from gui import theme
from gui.dialog import Confirm
from gui.draw import fit
from gui.keys import EQUAL
from gui.link import CommandResult
from nvr.protocol.health import CameraStatus, PtzStatus

RENEW_S = 0.3  # a held move is sent again this often
MOVE_TIMEOUT_S = 1.0  # the engine stops a move not renewed within this
WIDTH = 250
HEIGHT = 540
PAD = (  # label, pan, tilt
    (("↖", -1, 1), ("↑", 0, 1), ("↗", 1, 1)),
    (("←", -1, 0), ("■", 0, 0), ("→", 1, 0)),
    (("↙", -1, -1), ("↓", 0, -1), ("↘", 1, -1)),
)
_ARROWS = {"Left": (-1, 0), "Right": (1, 0), "Up": (0, 1), "Down": (0, -1)}
Velocity = tuple[float, float, float]
Send = Callable[..., int]


class Steering:
    """What the console sends while someone steers one camera: a move renewed while held, a
    Stop at release, and never a second move while one is on its way."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.camera: str | None = None
        self.velocity: Velocity = (0.0, 0.0, 0.0)
        self._sent_at = float("-inf")
        self.in_flight: int | None = None  # the move sent, until its result arrives

    def steer(self, camera_id: str | None, velocity: Velocity, now: float) -> None:
        if camera_id != self.camera and self.moving:
            self._stop()  # the selection changed while held: the old camera stops first
        self.camera = camera_id
        if camera_id is None:
            return
        if velocity == (0.0, 0.0, 0.0):
            if self.moving:
                self._stop()
            return
        due = velocity != self.velocity or now - self._sent_at >= RENEW_S
        if due and self.in_flight is None:
            pan, tilt, zoom = velocity
            self.in_flight = self._send(
                "ptz_move", camera_id, pan=pan, tilt=tilt, zoom=zoom, timeout_s=MOVE_TIMEOUT_S
            )
            self.velocity, self._sent_at = velocity, now

    @property
    def moving(self) -> bool:
        return self.velocity != (0.0, 0.0, 0.0)

    def answered(self, ticket: int) -> None:
        if ticket == self.in_flight:
            self.in_flight = None

    def _stop(self) -> None:
        if self.camera is not None:
            self._send("ptz_stop", self.camera)
        self.velocity = (0.0, 0.0, 0.0)


class PtzPanel:
    """The panel's items and what it sends; ``update`` runs every frame of the live grid."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.steering = Steering(self._sent)
        self.wanted = False  # opened with the toolbar's button
        self.camera: str | None = None  # the camera it steers now (None: closed)
        self.pad_held: tuple[int, int] | None = None  # the pad arrow held (pan, tilt)
        self.zoom_held = 0  # -1, 0, 1: a zoom button held
        self.error = ""  # the last command's failure, as the engine said it
        self._tickets: dict[int, str] = {}  # PTZ commands sent: what for
        self._presets: tuple[str, ...] = ()
        self._renamed: str | None = None

    def build(self) -> None:
        with dpg.window(
            label="PTZ",
            show=False,
            width=WIDTH,
            height=HEIGHT,
            no_collapse=True,
            no_close=True,
            no_resize=True,
            no_scrollbar=True,
            no_saved_settings=True,
        ) as window:
            self.window = int(window)
            self.status = int(dpg.add_text("", wrap=0))
            self.pad: dict[int, tuple[int, int]] = {}
            for row in PAD:
                with dpg.group(horizontal=True):
                    for label, pan, tilt in row:
                        button = int(dpg.add_button(label=label, width=44, height=32))
                        self.pad[button] = (pan, tilt)
            with dpg.group(horizontal=True):
                self.zoom_in = int(dpg.add_button(label="Zoom +", width=68))
                self.zoom_out = int(dpg.add_button(label="Zoom -", width=68))
            self.speed = int(
                dpg.add_slider_float(
                    label="speed", default_value=0.5, min_value=0.1, max_value=1.0, width=150
                )
            )
            dpg.add_text("Presets (Ctrl+1..9 recall)", color=theme.TEXT_DIM)
            self.presets = int(dpg.add_listbox([], num_items=5, width=WIDTH - 16))
            with dpg.group(horizontal=True):
                dpg.add_button(label="Go", callback=lambda *_: self.goto(self.chosen()))
                dpg.add_button(label="Delete", callback=lambda *_: self.remove(self.chosen()))
            self.name = int(dpg.add_input_text(hint="preset name", width=WIDTH - 16))
            with dpg.group(horizontal=True):
                dpg.add_button(label="Save here", callback=lambda *_: self.save())
                dpg.add_button(label="Rename to", callback=lambda *_: self.rename())
            self.said = int(dpg.add_text("", wrap=WIDTH - 16, color=theme.ERROR))
        self.confirm = Confirm()
        with dpg.theme() as opaque, dpg.theme_component(dpg.mvAll):  # readable over video
            dpg.add_theme_color(dpg.mvThemeCol_WindowBg, (24, 27, 34, 235))
            dpg.add_theme_style(dpg.mvStyleVar_WindowPadding, 8, 8)
        dpg.bind_item_theme(self.window, opaque)

    # -- every frame ----------------------------------------------------------------------

    def update(
        self,
        camera: CameraStatus | None,
        open_: bool,
        results: list[CommandResult],
        keys: bool,
        now: float,
        where: tuple[int, int],
    ) -> None:
        """``camera``: the selected camera; ``open_``: whether the panel should show (then it
        steers it); ``keys``: the keyboard is the panel's (no menu or text field has it)."""
        for result in results:
            self.steering.answered(result.ticket)
            what = self._tickets.pop(result.ticket, None)
            if what is not None:  # the newest answer says how things stand
                self.error = "" if result.ok else f"{what}: {result.error}"
        ptz = camera.ptz if camera is not None else None
        steering = camera.id if open_ and camera is not None and ptz is not None else None
        if steering != self.camera:
            self.camera, self.error = steering, ""
        dpg.configure_item(self.window, show=steering is not None)
        if steering is None or ptz is None or camera is None:
            self.steering.steer(None, (0.0, 0.0, 0.0), now)
            return
        dpg.configure_item(self.window, pos=where, label=f"PTZ · {camera.name or camera.id}")
        self.steering.steer(steering, self._velocity(keys), now)
        self._show(ptz)

    def _velocity(self, keys: bool) -> Velocity:
        """What is held now: a pad arrow or zoom button (the mouse), or keys."""
        pan = tilt = zoom = 0.0
        for button, direction in self.pad.items():
            if dpg.is_item_active(button):
                pan, tilt = direction
        held = self.pad_held
        if held is not None:
            pan, tilt = held
        if dpg.is_item_active(self.zoom_in) or self.zoom_held > 0:
            zoom = 1.0
        elif dpg.is_item_active(self.zoom_out) or self.zoom_held < 0:
            zoom = -1.0
        if keys:
            for name, (kp, kt) in _ARROWS.items():
                if dpg.is_key_down(getattr(dpg, f"mvKey_{name}")):
                    pan, tilt = pan or kp, tilt or kt
            if dpg.is_key_down(EQUAL) or dpg.is_key_down(dpg.mvKey_Add):
                zoom = 1.0
            elif dpg.is_key_down(dpg.mvKey_Minus) or dpg.is_key_down(dpg.mvKey_Subtract):
                zoom = -1.0
        speed = float(dpg.get_value(self.speed))
        return (pan * speed, tilt * speed, zoom * speed)

    def _show(self, ptz: PtzStatus) -> None:
        if ptz.error and not ptz.reachable:
            line, color = "Not reachable (below: why)", theme.ERROR
        elif ptz.moving or self.steering.moving:
            line, color = "Moving…", theme.ACCENT
        else:
            line, color = "Still", theme.TEXT
        lines = [fit(line, WIDTH - 16)]  # always three lines: the pad never moves
        if ptz.position is not None:
            pan, tilt, zoom = ptz.position
            lines.append(f"pan {pan:+.2f}  tilt {tilt:+.2f}  zoom {zoom:.2f}")
        else:
            lines.append("position not reported")
        lines.append(f"last command {ptz.latency_ms:.0f} ms" if ptz.latency_ms is not None else "")
        dpg.set_value(self.status, "\n".join(lines))
        dpg.configure_item(self.status, color=color)
        names = tuple(p.name for p in ptz.presets)
        if names != self._presets:
            chosen = self._renamed or self.chosen()
            self._presets, self._renamed = names, None
            dpg.configure_item(
                self.presets, items=[_label(n, name) for n, name in enumerate(names)]
            )
            if chosen in names:
                self._pick(chosen)
        unreachable = ptz.error if ptz.error and not ptz.reachable else ""
        dpg.set_value(self.said, self.error or unreachable)

    # -- presets --------------------------------------------------------------------------

    @property
    def typing(self) -> bool:
        """A preset name is being typed: keys are letters, not commands."""
        return bool(dpg.is_item_active(self.name))

    def chosen(self) -> str | None:
        label = str(dpg.get_value(self.presets) or "")
        return label.split("  ", 1)[1] if "  " in label else None

    def goto(self, name: str | None) -> None:
        if self._check(name):
            self._command("ptz_goto_preset", f"Go to {name}", name=name)

    def recall(self, number: int) -> None:
        """Ctrl+1..9: the list's ``number``-th preset (highlighted in the list)."""
        if 0 < number <= len(self._presets):
            self._pick(self._presets[number - 1])
            self.goto(self._presets[number - 1])
        else:
            self.error = f"no preset {number}: the list has {len(self._presets)}"

    def save(self) -> None:
        name = str(dpg.get_value(self.name)).strip()
        if self._check(name or None, "Type the preset's name first"):
            self._command("ptz_save_preset", f"Save {name}", name=name)

    def rename(self, confirmed: bool = False) -> None:
        old, new = self.chosen(), str(dpg.get_value(self.name)).strip()
        if not (self._check(old) and self._check(new or None, "Type the new name first")):
            return
        if not confirmed:  # ONVIF keeps a preset's name with its position
            self.confirm.ask(
                f"Rename preset {old!r} to {new!r}? The camera turns to the preset first, to "
                "store it again under the new name.",
                "Rename",
                lambda: self.rename(confirmed=True),
            )
            return
        self._command("ptz_rename_preset", f"Rename {old}", name=old, new_name=new)
        self._renamed = new  # highlighted once the list has it

    def remove(self, name: str | None, confirmed: bool = False) -> None:
        if not self._check(name):
            return
        if not confirmed:
            self.confirm.ask(
                f"Delete preset {name!r} from the camera? Other clients of the camera lose it too.",
                "Delete",
                lambda: self.remove(name, confirmed=True),
            )
            return
        self._command("ptz_remove_preset", f"Delete {name}", name=name)

    def _pick(self, name: str) -> None:
        """Highlight ``name`` in the list."""
        if name in self._presets:
            dpg.set_value(self.presets, _label(self._presets.index(name), name))

    def _check(self, name: str | None, missing: str = "Pick a preset in the list first") -> bool:
        if self.camera is None:
            return False
        if not name:
            self.error = missing
            return False
        return True

    def center(self, camera_id: str, x: float, y: float) -> None:
        """Turn ``camera_id`` toward a point of its picture (Ctrl+click)."""
        ticket = self.send("ptz_center", camera_id, x=round(x, 3), y=round(y, 3))
        self._tickets[ticket] = "Click-to-center"

    def _sent(self, command: str, camera_id: str, **params: Any) -> int:
        """The steering's moves and stops, their failures said like the presets'."""
        ticket = self.send(command, camera_id, **params)
        self._tickets[ticket] = "Move" if command == "ptz_move" else "Stop"
        return ticket

    def _command(self, command: str, what: str, **params: Any) -> None:
        assert self.camera is not None
        self._tickets[self.send(command, self.camera, **params)] = what
        self.error = ""


def _label(index: int, name: str) -> str:
    return f"{index + 1}  {name}"
