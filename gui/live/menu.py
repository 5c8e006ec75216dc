"""A tile's context menu (right click): start or stop recording, full screen or back, snapshot."""

from __future__ import annotations

from collections.abc import Callable

import dearpygui.dearpygui as dpg

from gui import theme
from gui.live.model import LiveModel
from gui.live.recording import RecordingControls


class TileMenu:
    """The popup window, made hidden; ``open`` fills it in for one camera and shows it."""

    def __init__(
        self, model: LiveModel, controls: RecordingControls, snapshot: Callable[[str], None]
    ) -> None:
        self._model = model
        self._controls = controls
        self._snapshot = snapshot
        self._camera: str | None = None
        with dpg.window(
            popup=True, show=False, no_title_bar=True, autosize=True, no_saved_settings=True
        ) as window:
            self.window = int(window)
            self.title = int(dpg.add_text(""))
            dpg.add_separator()
            self.record = int(dpg.add_menu_item(label="Start recording", callback=self._record))
            self.fullscreen = int(dpg.add_menu_item(label="Full screen", callback=self._fullscreen))
            self.snap = int(dpg.add_menu_item(label="Snapshot (J)", callback=self._snap))
            self.unzoom = int(dpg.add_menu_item(label="Reset zoom (Z)", callback=self._unzoom))
        dpg.bind_item_theme(self.window, theme.popup_theme())

    @property
    def shown(self) -> bool:
        return bool(dpg.is_item_shown(self.window))

    def open(self, camera_id: str, pos: tuple[float, float]) -> None:
        """Select ``camera_id`` and show its menu at ``pos`` (viewport pixels)."""
        self._camera = camera_id
        self._model.select(camera_id)
        camera = self._model.engine.cameras.get(camera_id)
        manual = camera is not None and camera.manual
        dpg.set_value(self.title, self._model.name(camera_id))
        dpg.configure_item(self.record, label="Stop recording" if manual else "● Start recording")
        dpg.configure_item(
            self.fullscreen,
            label="Back to the grid" if self._model.view.fullscreen else "Full screen",
        )
        dpg.configure_item(self.unzoom, show=self._model.zoom(camera_id).zoomed)
        dpg.configure_item(self.window, show=True, pos=[int(pos[0]), int(pos[1])])

    def hide(self) -> None:
        dpg.configure_item(self.window, show=False)

    def _record(self) -> None:
        self.hide()
        if self._camera is not None:
            self._controls.toggle_recording(self._camera)

    def _unzoom(self) -> None:
        self.hide()
        if self._camera is not None:
            self._model.reset_zoom(self._camera)

    def _snap(self) -> None:
        self.hide()
        if self._camera is not None:
            self._snapshot(self._camera)

    def _fullscreen(self) -> None:
        self.hide()
        if self._camera is None:
            return
        if self._model.view.fullscreen is not None:
            self._model.exit_fullscreen()
        else:
            self._model.toggle_fullscreen(self._camera)
