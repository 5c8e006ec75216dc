"""What the System view's tabs share: the configuration as the engine has it (``ConfigSaver``:
read when its version changes, saved with the base it was read at, so a save never overwrites
another admin's unseen) and the colour of a level."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gui import theme
from gui.link import CommandResult, EngineLink
from gui.panel import Feedback

Done = Callable[[bool, str], None]  # a save's outcome: ok, and what the engine said


def level_color(level: str) -> theme.Color:
    return {"ok": theme.TEXT, "warn": theme.WARN, "error": theme.ERROR}.get(level, theme.TEXT_DIM)


class ConfigSaver:
    """The configuration document (``GET /api/config/document``) and its saves."""

    def __init__(self, link: EngineLink, feedback: Feedback, user: str) -> None:
        self.link = link
        self.feedback = feedback
        self.user = user
        self.config: dict[str, Any] = {}
        self.sha256: str | None = None
        self.version = 0  # of the document held; -1 while none was read
        self._wanted = 0  # the version in force, per the health
        self._reading: int | None = None
        self._saves: dict[int, tuple[str, Done | None]] = {}  # ticket: what, and who waits

    def update(self, version_in_force: int, results: list[CommandResult]) -> None:
        """Read the document again once the engine has another version in force."""
        self._wanted = version_in_force
        if self._reading is not None:
            answer = self.link.answer(self._reading)
            if answer is not None:
                self._reading = None
                if answer.error is None:
                    self.config = answer.value["config"]
                    self.sha256 = answer.value["sha256"] or None
                    self.version = version_in_force
        elif self.version != version_in_force or not self.config:
            self._reading = self.link.ask(lambda client: client.config_document())
        for result in results:
            saving = self._saves.pop(result.ticket, None)
            if saving is None:
                continue
            what, done = saving
            if result.ok and result.reply and result.reply.config:
                version = result.reply.config.version
                self.sha256 = result.reply.config.sha256 or None  # the base of the next save
                text = f"Saved {what}: version {version}, in force now"
                self.feedback.show(text)
            else:
                reason = (result.error or "refused").replace("\n", " ")
                text = f"Not saved ({what}): {reason}"
                self.feedback.show(text, error=True)
                self.version = -1  # read it again: it may have changed meanwhile
            if done is not None:
                done(result.ok, text)

    def save(self, edits: list[dict[str, Any]], what: str, done: Done | None = None) -> None:
        """Send a save; ``done(ok, message)`` once the engine answered."""
        if not self.config:
            self.feedback.show("Not saved: the configuration has not been read yet", error=True)
            return
        ticket = self.link.send(
            "save_config", edits=edits, base_sha256=self.sha256, by=self.user, note=what
        )
        self._saves[ticket] = (what, done)
        self.feedback.show(f"Saving {what}…")

    def revert(self, version: int) -> None:
        ticket = self.link.send("revert_config", version=version, by=self.user)
        self._saves[ticket] = (f"the revert to version {version}", None)
