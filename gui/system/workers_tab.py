"""The System view's Workers tab: per camera its worker's state, uptime, restarts and last exit,
frame rates in and out, bitrate, frame age, CPU and memory, ring and recording; a chart of the
last hour for the camera picked; and, per camera, Restart (``restart_worker``: the others record
on), Stop/Start (the camera's ``enabled`` saved in the configuration; stopping a camera that
records asks first) and Test (``POST /api/probe`` on its main stream). The chart is the
engine's own record of the hour (``charts.py``), asked again every 10 s while it is shown."""

from __future__ import annotations

import time
from typing import Any

import dearpygui.dearpygui as dpg

from gui import theme
from gui.dialog import Confirm
from gui.draw import fit, table
from gui.link import CommandResult, EngineLink, Snapshot
from gui.panel import Feedback
from gui.system.charts import MEASURES, series
from gui.system.model import WorkerRow, engine_line, worker_rows
from gui.system.tabs import ConfigSaver, level_color

_COLUMNS = (
    ("Camera", 120),
    ("State", 0),
    ("Up", 70),
    ("Restarts", 90),
    ("fps in/out", 80),
    ("Bitrate", 80),
    ("Age", 45),
    ("CPU", 55),
    ("Memory", 65),
    ("Recording", 180),
    ("", 235),
)
CHART_S = 10.0  # the engine samples each worker this often


class WorkersTab:
    label = "Workers"

    def __init__(self, link: EngineLink, feedback: Feedback, saver: ConfigSaver) -> None:
        self.link = link
        self.feedback = feedback
        self.saver = saver
        self.history: dict[str, Any] = {}  # the engine's samples of the charted camera
        self._history_ticket: int | None = None
        self._next_history = 0.0
        self.rows: list[WorkerRow] = []
        self.charted: str | None = None  # the camera in the chart
        self._tickets: dict[int, str] = {}  # restarts and tests: what for
        self._probes: dict[int, str] = {}
        self._drawn: Any = None
        self.cells: dict[str, list[int]] = {}  # camera: its figures' text items

    def build(self, parent: int) -> None:
        self.engine = int(dpg.add_text("", parent=parent, wrap=0))
        self.tested = int(dpg.add_text("", parent=parent, wrap=0))  # the last stream test
        self.list_window = int(dpg.add_child_window(parent=parent, border=True, height=240))
        self.table = table(self.list_window, _COLUMNS)
        self.chart_title = int(
            dpg.add_text("Last hour: pick a camera's Chart", parent=parent, color=theme.TEXT_DIM)
        )
        with dpg.plot(parent=parent, height=200, width=-1, no_menus=True) as plot:
            self.plot = int(plot)
            dpg.add_plot_legend(location=dpg.mvPlot_Location_NorthWest)
            self.x_axis = int(dpg.add_plot_axis(dpg.mvXAxis, label="minutes ago"))
            self.y_axis = int(dpg.add_plot_axis(dpg.mvYAxis, label="% of a core, fps"))
            self.mb_axis = int(dpg.add_plot_axis(dpg.mvYAxis2, label="MB", opposite=True))
            self.series = {
                name: int(
                    dpg.add_line_series(
                        [], [], label=name, parent=self.mb_axis if "MB" in name else self.y_axis
                    )
                )
                for name in MEASURES
            }
        self.confirm = Confirm()

    def resize(self, width: int, height: int) -> None:
        list_h = max(100, height - 290)
        dpg.configure_item(self.list_window, width=width - 8, height=list_h)
        dpg.configure_item(self.plot, height=max(120, height - list_h - 110))

    def update(
        self, now: float, engine: Snapshot, results: list[CommandResult], shown: bool
    ) -> None:
        for result in results:
            what = self._tickets.pop(result.ticket, None)
            if what is not None:
                said = result.reply.detail if result.ok and result.reply else result.error
                self.feedback.show(f"{what}: {said or 'done'}", error=not result.ok)
        for ticket, camera_id in list(self._probes.items()):
            answer = self.link.answer(ticket)
            if answer is not None:
                del self._probes[ticket]
                text, failed = _probe_text(camera_id, answer.value, answer.error)
                self.feedback.show(text, failed)
                dpg.set_value(self.tested, f"Last test, {time.strftime('%H:%M:%S')}: {text}")
                dpg.configure_item(self.tested, color=theme.ERROR if failed else theme.LIVE)
        health = engine.health
        if health is None:
            return
        if not shown:
            return
        dpg.set_value(self.engine, engine_line(health))
        self.rows = worker_rows(health)
        # Rebuilt (buttons and all) only when the cameras or what their buttons do change;
        # the figures are set in place, so a click never lands on a row being replaced.
        key = tuple((r.camera_id, r.enabled) for r in self.rows)
        if key != self._drawn:
            self._drawn = key
            self._fill()
        for row in self.rows:
            cells = self.cells.get(row.camera_id)
            if cells is None:
                continue
            values = (
                *(fit(row.camera, _COLUMNS[0][1]), row.state, row.uptime, row.restarts),
                *(row.fps, row.bitrate),
                *(row.frame_age, row.cpu, row.memory, row.recording),
            )
            for item, value in zip(cells, values, strict=True):
                dpg.set_value(item, value)
            dpg.configure_item(cells[1], color=level_color(row.level))
            dpg.configure_item(cells[9], color=theme.REC if row.recording_now else theme.TEXT)
        self._follow_chart(now)

    def chart(self, camera_id: str) -> None:
        self.charted = camera_id
        self._next_history = 0.0  # asked at the next frame

    def _follow_chart(self, now: float) -> None:
        """Ask the charted camera's hour when due; draw it once it came."""
        if self._history_ticket is not None:
            answer = self.link.answer(self._history_ticket)
            if answer is None:
                return
            self._history_ticket = None
            if answer.error is None:
                self.history = answer.value
                self._chart()
            else:
                dpg.set_value(self.chart_title, f"Last hour: not read ({answer.error})")
        if self.charted is None and self.rows:
            self.charted = self.rows[0].camera_id
        if self.charted is not None and now >= self._next_history:
            self._next_history = now + CHART_S
            camera = self.charted
            self._history_ticket = self.link.ask(lambda client: client.worker_history(camera))

    def restart(self, camera_id: str, confirmed: bool = False) -> None:
        row = next((r for r in self.rows if r.camera_id == camera_id), None)
        if row is not None and row.recording_now and not confirmed:
            self.confirm.ask(
                f"{row.camera} is recording now. Restart its worker? Its recording breaks for "
                "the few seconds the camera takes to reconnect (the others go on).",
                "Restart",
                lambda: self.restart(camera_id, confirmed=True),
            )
            return
        ticket = self.link.send("restart_worker", camera_id, by=self.saver.user)
        self._tickets[ticket] = f"Restart of {camera_id}"

    def set_enabled(self, camera_id: str, enabled: bool, confirmed: bool = False) -> None:
        row = next((r for r in self.rows if r.camera_id == camera_id), None)
        if not enabled and row is not None and row.recording_now and not confirmed:
            self.confirm.ask(
                f"{row.camera} is recording now. Stop it? Nothing is recorded until it is "
                "started again (the configuration keeps it, disabled).",
                "Stop camera",
                lambda: self.set_enabled(camera_id, False, confirmed=True),
            )
            return
        edit = {"path": ["cameras", camera_id, "enabled"], "value": enabled}
        self.saver.save([edit], f"{'start' if enabled else 'stop'} of {camera_id}")

    def test(self, camera_id: str) -> None:
        ticket = self.link.ask(lambda client: client.probe(camera_id=camera_id))
        self._probes[ticket] = camera_id
        self.feedback.show(f"Testing {camera_id}'s main stream…")

    def _fill(self) -> None:
        dpg.delete_item(self.table, children_only=True, slot=1)
        self.cells = {}
        for row in self.rows:
            with dpg.table_row(parent=self.table):
                wrapped = (1, 9)  # the state and the recording may take two lines
                self.cells[row.camera_id] = [
                    int(dpg.add_text("", wrap=0 if n in wrapped else -1)) for n in range(10)
                ]
                with dpg.group(horizontal=True):
                    cid = row.camera_id
                    dpg.add_button(label="Chart", callback=lambda *_, c=cid: self.chart(c))
                    dpg.add_button(label="Test", callback=lambda *_, c=cid: self.test(c))
                    if row.enabled:  # Stop where Start was: a double click never restarts
                        dpg.add_button(
                            label="Stop", callback=lambda *_, c=cid: self.set_enabled(c, False)
                        )
                        dpg.add_button(label="Restart", callback=lambda *_, c=cid: self.restart(c))
                    else:
                        dpg.add_button(
                            label="Start", callback=lambda *_, c=cid: self.set_enabled(c, True)
                        )

    def _chart(self) -> None:
        camera = next(iter(self.history.get("cameras", {})), None)
        if camera is None:
            dpg.set_value(self.chart_title, f"{self.charted}: no samples yet (one every 10 s)")
            return
        drawn = series(self.history, camera, time.time_ns())
        for name, item in self.series.items():
            dpg.set_value(item, list(drawn[name]))
        samples = len(drawn["fps in"][0])
        dpg.set_value(
            self.chart_title,
            f"{camera}, last hour as the engine measured it ({samples} "
            f"sample{'s' * (samples != 1)}, one every 10 s)",
        )
        dpg.set_axis_limits(self.x_axis, -60, 0)
        top = max([max(drawn[m][1], default=0.0) for m in MEASURES if "MB" not in m])
        dpg.set_axis_limits(self.y_axis, 0, max(1.0, top * 1.2))  # lines below the border
        mb = max(drawn["memory MB"][1], default=0.0)
        dpg.set_axis_limits(self.mb_axis, 0, max(1.0, mb * 1.2))


def _probe_text(
    camera_id: str, found: dict[str, Any] | None, error: str | None
) -> tuple[str, bool]:
    if error is not None or found is None:
        return f"Test of {camera_id} failed: {error}", True
    if not found["ok"]:
        return f"{camera_id}: {found['error']}", True
    return (
        f"{camera_id}: {found['codec']} {found['width']}x{found['height']} at "
        f"{found['fps']:.1f} fps, {found['bitrate_bps'] / 1e6:.2f} Mb/s",
        False,
    )
