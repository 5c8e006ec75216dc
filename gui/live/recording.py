"""Manual recording and panic from the live grid: sent to the engine, shown as asked until the
engine confirms (``gui.present.Pending``), and every answer reported in the status bar."""

from __future__ import annotations

import time

from gui.link import CommandResult, EngineLink
from gui.live.model import LiveModel
from gui.present import PENDING_TIMEOUT_S, Pending


class RecordingControls:
    """Recording commands this panel sent, and the changes they asked for, until answered."""

    def __init__(self, link: EngineLink, model: LiveModel) -> None:
        self.link = link
        self.model = model
        self.pending: dict[str, Pending] = {}
        self.panic_pending: Pending | None = None
        self._tickets: set[int] = set()  # commands sent from here and not answered yet

    def set_recording(self, camera_id: str, active: bool) -> None:
        """Start or stop manual recording on one camera ("*": every camera)."""
        now = time.monotonic()
        for target in self._targets(camera_id):
            self.pending[target] = Pending(active, now)
        command = "start_recording" if active else "stop_recording"
        self._tickets.add(self.link.send(command, camera_id))
        who = self._who(camera_id)
        self.model.feedback.show(f"{'starting' if active else 'stopping'} recording on {who}…")

    def record_selected(self, active: bool) -> None:
        """The toolbar's Record and Stop: the selected camera."""
        selected = self.model.view.selected
        if selected is None:
            self.model.feedback.show("select a camera first (click its tile)", True)
            return
        self.set_recording(selected, active)

    def toggle_recording(self, camera_id: str) -> None:
        """Start manual recording on ``camera_id``, or stop it if it is on."""
        camera = self.model.engine.cameras.get(camera_id)
        self.set_recording(camera_id, not (camera is not None and camera.manual))

    def set_panic(self, active: bool) -> None:
        self.panic_pending = Pending(active, time.monotonic())
        self._tickets.add(self.link.send("panic", "*", active=active))
        self.model.feedback.show("PANIC: recording every camera…" if active else "clearing panic…")

    def toggle_panic(self) -> None:
        self.set_panic(not self.model.panic)

    def panic_label(self, now: float) -> str:
        """The panic button's label: the engine's state, or the change asked for until the
        engine shows it (or gives up waiting after ``PENDING_TIMEOUT_S``)."""
        panic, asked = self.model.panic, self.panic_pending
        if asked is not None and (
            panic == asked.active or now - asked.asked_at > PENDING_TIMEOUT_S
        ):
            self.panic_pending = asked = None
        if asked is not None:
            return "PANIC…" if asked.active else "CLEARING…"
        return "CLEAR PANIC" if panic else "PANIC"

    def apply(self, results: list[CommandResult]) -> None:
        """Report the answers to this panel's commands; a confirmed change shows in the next
        health poll (the link asks for it at once)."""
        for result in results:
            if result.ticket not in self._tickets:
                continue
            self._tickets.discard(result.ticket)
            if result.command == "panic":
                self._apply_panic(result)
                continue
            for target in self._targets(result.camera_id):
                self.pending.pop(target, None)
            who = self._who(result.camera_id)
            verb = "started" if result.command == "start_recording" else "stopped"
            if result.ok:
                self.model.feedback.show(
                    f"recording {verb} on {who}, confirmed in {result.elapsed_ms:.0f} ms"
                )
            else:
                self.model.feedback.show(f"recording not {verb} on {who}: {_why(result)}", True)

    def _apply_panic(self, result: CommandResult) -> None:
        if not result.ok:
            self.panic_pending = None
            self.model.feedback.show(f"panic not confirmed: {_why(result)}", True)
            return
        self.model.feedback.show(
            f"panic {'on' if result.params.get('active', True) else 'cleared'}, "
            f"confirmed in {result.elapsed_ms:.0f} ms"
        )

    def _targets(self, camera_id: str) -> list[str]:
        return self.model.view.order if camera_id == "*" else [camera_id]

    def _who(self, camera_id: str) -> str:
        return "every camera" if camera_id == "*" else self.model.name(camera_id)


def _why(result: CommandResult) -> str:
    """Why a command failed: the link's error, else the engine's reply, else the HTTP status."""
    reply = result.reply
    detail = reply.detail or reply.error if reply is not None else None
    return result.error or detail or f"HTTP {result.status}"
