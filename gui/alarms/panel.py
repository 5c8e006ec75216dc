"""The Alarms view (F3): the alarms not yet cleared, with Acknowledge and Clear on each, and the
alarm log below (raised, camera, what, and who acknowledged and cleared it, when).

Keys: A acknowledges every alarm on screen, C clears every ended one on screen: the commands
(``ack_alarm``, ``clear_alarm``, in the operator's name) name those alarms, so an alarm raised
since the list was drawn is never acknowledged unseen. What is shown is always what the engine
says next, never a guess. The alert (the sound, the notice of a new alarm) runs whichever view
is on screen: ``update`` is called for hidden panels too.
"""

from __future__ import annotations

import getpass
import socket
import time
from typing import Any

import dearpygui.dearpygui as dpg

from gui import theme
from gui.alarms.model import AlarmRow, NewAlarms, alarm_row, summary
from gui.alarms.sound import Sounder
from gui.draw import table
from gui.link import Alarms, CommandResult, EngineLink, Snapshot
from gui.panel import Feedback

_LOG_COLUMNS = (
    ("Raised", 110),
    ("Camera", 120),
    ("Alarm", 150),
    ("What happened", 0),
    ("State", 480),
)
_COLUMNS = (*_LOG_COLUMNS[:4], ("State", 360), ("", 190))  # and its buttons


def operator_name() -> str:
    """Who acknowledges from this console: the desktop user at this host."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "operator"
    return f"{user}@{socket.gethostname()}"[:100]


class AlarmsPanel:
    title = "Alarms"

    def __init__(
        self,
        link: EngineLink,
        feedback: Feedback,
        sounder: Sounder,
        operator: str | None = None,
    ) -> None:
        self.link = link
        self.feedback = feedback
        self.sounder = sounder
        self.operator = operator or operator_name()
        self.alarms = Alarms()
        self.news = NewAlarms()
        self.rows: list[AlarmRow] = []  # the list as drawn
        self.log_rows: list[AlarmRow] = []
        self._tickets: set[int] = set()
        self._drawn: tuple[Any, ...] | None = None
        self._root = 0

    # -- build -----------------------------------------------------------------------------

    def build(self, parent: int) -> None:
        self._root = parent
        with dpg.group(horizontal=True, parent=parent):
            dpg.add_spacer(width=4)
            self.heading = int(dpg.add_text("Alarms", color=theme.TEXT))
            dpg.add_spacer(width=16)
            self.ack_all = int(dpg.add_button(label="Acknowledge all (A)", callback=self._ack_all))
            self.clear_all = int(dpg.add_button(label="Clear ended (C)", callback=self._clear_all))
            dpg.add_spacer(width=16)
            dpg.add_text(f"as {self.operator}", color=theme.TEXT_DIM)
        self.list_window = int(dpg.add_child_window(parent=parent, height=300, border=True))
        self.table = table(self.list_window, _COLUMNS)
        self.empty = int(
            dpg.add_text("No alarm.", parent=self.list_window, color=theme.TEXT_DIM, show=False)
        )
        dpg.add_text("Alarm log (latest first)", parent=parent, color=theme.TEXT_DIM)
        self.log_window = int(dpg.add_child_window(parent=parent, border=True))
        self.log_table = table(self.log_window, _LOG_COLUMNS)

    def resize(self, width: int, height: int) -> None:
        list_h = max(120, (height - 60) // 2)
        dpg.configure_item(self.list_window, width=width - 8, height=list_h)
        dpg.configure_item(self.log_window, width=width - 8, height=max(60, height - list_h - 60))

    def show(self, shown: bool) -> None:
        dpg.configure_item(self._root, show=shown)

    # -- actions -----------------------------------------------------------------------------

    def acknowledge(self, alarm_ids: list[int]) -> None:
        self._send("ack_alarm", alarm_ids, "acknowledge")

    def clear(self, alarm_ids: list[int]) -> None:
        self._send("clear_alarm", alarm_ids, "clear")

    def _send(self, command: str, alarm_ids: list[int], verb: str) -> None:
        if not self.alarms.known:
            self.feedback.show(f"Nothing to {verb}: the alarm list is out of date", error=True)
        elif not alarm_ids:
            self.feedback.show(f"No alarm on screen to {verb}")
        else:
            ticket = self.link.send(command, alarm_id=alarm_ids, by=self.operator)
            self._tickets.add(ticket)

    def _ack_all(self, *_: Any) -> None:
        """Every alarm on screen not yet acknowledged."""
        self.acknowledge([r.alarm_id for r in self.rows if r.can_ack])

    def _clear_all(self, *_: Any) -> None:
        """Every ended alarm on screen."""
        self.clear([r.alarm_id for r in self.rows if r.can_clear])

    def key(self, key: int) -> None:
        if key == dpg.mvKey_A:
            self._ack_all()
        elif key == dpg.mvKey_C:
            self._clear_all()

    # -- every frame -------------------------------------------------------------------------

    def update(
        self, now: float, engine: Snapshot, results: list[CommandResult], minimised: bool
    ) -> float:
        self.alarms = self.link.alarms()
        for result in results:
            if result.ticket in self._tickets:
                self._tickets.discard(result.ticket)
                self._report(result)
        for alarm in self.news.take(self.alarms.current):
            self.feedback.show(f"ALARM: {alarm.message}", error=True)
        if any(not a.acknowledged for a in self.alarms.current):
            self.sounder.ring(now)
        if dpg.is_item_shown(self._root):
            self._draw(engine)
        return 0.0

    def summary_text(self) -> tuple[str, str, str]:
        """(text, level, detail) of the status bar's alarm field."""
        s = summary(self.alarms.current, self.alarms.known)
        return s.text, s.level, s.detail

    def wanted_fps(self, now: float) -> float:
        return 0.0

    def close(self) -> None:
        self.sounder.close()

    # -- internals ---------------------------------------------------------------------------

    def _report(self, result: CommandResult) -> None:
        what = "acknowledged" if result.command == "ack_alarm" else "cleared"
        if not result.ok:
            self.feedback.show(f"Alarm not {what}: {result.error}", error=True)
            return
        count = len(result.reply.alarms or ()) if result.reply else 0
        self.feedback.show(
            f"{count} alarm{'s' * (count != 1)} {what}" if count else f"nothing to be {what}"
        )

    def _draw(self, engine: Snapshot) -> None:
        names = {c.id: c.name or c.id for c in engine.known_cameras.values()}
        now_ns = time.time_ns()
        key = (self.alarms, tuple(sorted(names.items())), now_ns // 60_000_000_000)
        if key == self._drawn:
            return
        self._drawn = key
        self.rows = [alarm_row(a, names, now_ns) for a in self.alarms.current]
        self.log_rows = [alarm_row(a, names, now_ns) for a in self.alarms.log]
        waiting = sum(r.urgent for r in self.rows)
        head = f"Alarms: {len(self.rows)} on the list, {waiting} not acknowledged"
        if not self.alarms.known:
            head = "Alarms: the engine cannot be reached; the list below may be out of date"
        dpg.set_value(self.heading, head)
        dpg.configure_item(self.empty, show=not self.rows)
        _fill(self.table, self.rows, self)
        _fill(self.log_table, self.log_rows, None)


def _fill(target: int, rows: list[AlarmRow], panel: AlarmsPanel | None) -> None:
    """Rebuild the table's rows (only when what they show changed)."""
    dpg.delete_item(target, children_only=True, slot=1)
    for row in rows:
        color = theme.ERROR if row.urgent else theme.WARN if row.active else theme.TEXT_DIM
        with dpg.table_row(parent=target):
            dpg.add_text(row.raised)
            dpg.add_text(row.camera)
            dpg.add_text(row.title, color=color)
            dpg.add_text(row.message, wrap=0)
            dpg.add_text(row.state, color=color)
            if panel is not None:
                with dpg.group(horizontal=True):
                    if row.can_ack:
                        dpg.add_button(
                            label="Acknowledge",
                            callback=lambda *_, i=row.alarm_id: panel.acknowledge([i]),
                        )
                    if row.can_clear:
                        dpg.add_button(
                            label="Clear", callback=lambda *_, i=row.alarm_id: panel.clear([i])
                        )
