"""What a panel is to the shell: the ``Panel`` protocol, and the status bar's ``Feedback`` line
that panels write to.

A panel is one view of the console (the live grid today; playback, PTZ and system next). It is a
plain model that tests drive without a window, plus a renderer that implements ``Panel``. The
shell holds the panels, shows one at a time, hands each the engine's snapshot and the command
results every frame, and passes it the keys it does not handle itself. Panels never touch each
other's items; what they share (the engine link, ``Feedback``) they get when they are made.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from gui.link import CommandResult, Snapshot

FEEDBACK_S = 6.0  # how long a notice stays in the status bar


class Panel(Protocol):
    """One view of the console, drawn between the top of the window and the status bar."""

    title: str  # what the operator calls it

    def build(self, parent: int) -> None:
        """Create the panel's items in ``parent`` (its group in the shell's window)."""

    def resize(self, width: int, height: int) -> None:
        """The panel's area is now ``width`` x ``height`` pixels."""

    def show(self, shown: bool) -> None:
        """Show or hide the panel; a hidden panel keeps its state but draws nothing."""

    def update(
        self, now: float, engine: Snapshot, results: list[CommandResult], minimised: bool
    ) -> float:
        """Everything one frame needs before it is rendered; returns seconds spent converting
        pictures. ``results`` are every command result that arrived: a panel takes its own."""

    def key(self, key: int) -> None:
        """A key the shell does not handle itself, pressed while the panel is shown."""

    def wanted_fps(self, now: float) -> float:
        """Frames a second the panel needs to show what it shows (the shell renders at least
        30)."""

    def close(self) -> None:
        """Save what must survive a restart and let go of shared resources."""


@dataclass(frozen=True, slots=True)
class Notice:
    """One line of feedback about the operator's last action."""

    text: str
    error: bool
    shown_at: float  # time.monotonic()


class Feedback:
    """The status bar's feedback line: the latest notice, for ``FEEDBACK_S`` seconds."""

    def __init__(self) -> None:
        self.notice: Notice | None = None

    def show(self, text: str, error: bool = False) -> None:
        self.notice = Notice(text, error, time.monotonic())

    def current(self, now: float) -> Notice | None:
        """The notice to show at ``now`` (None once it has been up for ``FEEDBACK_S``)."""
        if self.notice is not None and now - self.notice.shown_at > FEEDBACK_S:
            self.notice = None
        return self.notice
