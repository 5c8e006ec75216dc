"""The logs view's list, without a window: the engine's log entries as read page by page from
``GET /api/logs``, newest first, and the window of rows on screen.

The list is virtual: it holds every entry read (up to ``MAX_ENTRIES``) as plain tuples, and the
view draws only the rows that fit, from ``top``. Scrolling towards the end asks for the next
older page (``older_query``); following the tail asks for what came since the newest entry
(``newer_query``) and keeps the newest on screen. A filter change starts a new list. Entries are
told apart by their id, so a page that overlaps the last one adds nothing twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

PAGE = 5000
MAX_ENTRIES = 250_000
LEVELS = ("", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")  # "": every level


@dataclass(frozen=True, slots=True)
class Filters:
    level: str = ""
    camera_id: str = ""  # "" every source; "-" the supervisor only
    text: str = ""


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    ts_ns: int
    level: str
    source: str  # the camera, or "engine"
    component: str
    message: str
    exception: str | None

    def line(self) -> str:
        """The entry as one line of the list, in columns (time, level, source, component)."""
        text = self._head() + f"{self.component}: {self.message}"
        if self.exception:
            text += " | " + self.exception.strip().splitlines()[-1]
        return " ".join(text.split("\n"))

    def whole(self) -> str:
        """The entry in full, its traceback too (shown under the list, and what Copy takes)."""
        text = self._head() + f"{self.component}: {self.message}"
        return text + ("\n" + self.exception.rstrip() if self.exception else "")

    def _head(self) -> str:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.ts_ns / 1e9))
        return f"{stamp}.{self.ts_ns // 1_000_000 % 1000:03d} {self.level:<8} {self.source:<10} "


@dataclass
class LogList:
    filters: Filters = field(default_factory=Filters)
    entries: list[Entry] = field(default_factory=list)  # newest first
    top: int = 0  # the first row on screen
    follow: bool = True  # keep the newest on screen and read new entries
    exhausted: bool = False  # no older entry is left to read
    generation: int = 0  # a filter change; answers to an older one are dropped
    _ids: set[int] = field(default_factory=set)

    def refilter(self, filters: Filters) -> None:
        self.filters = filters
        self.entries, self._ids = [], set()
        self.top, self.exhausted = 0, False
        self.generation += 1

    def query(self, **bounds: int) -> dict[str, Any]:
        """The ``/api/logs`` filters for a page within ``bounds`` (since_ns, until_ns)."""
        query: dict[str, Any] = {"limit": PAGE, **bounds}
        if self.filters.level:
            query["level"] = self.filters.level
        if self.filters.camera_id:
            query["camera_id"] = "" if self.filters.camera_id == "-" else self.filters.camera_id
        if self.filters.text.strip():
            query["q"] = self.filters.text.strip()[:200]
        return query

    def older_query(self) -> dict[str, Any] | None:
        """The next older page to read, or None when every entry was read."""
        if self.exhausted or len(self.entries) >= MAX_ENTRIES:
            return None
        if not self.entries:
            return self.query()
        return self.query(until_ns=self.entries[-1].ts_ns + 1)  # the same instant, deduplicated

    def newer_query(self) -> dict[str, Any]:
        return self.query(since_ns=self.entries[0].ts_ns) if self.entries else self.query()

    def add_older(self, rows: list[dict[str, Any]]) -> None:
        fresh = self._fresh(rows)
        self.entries.extend(fresh)
        if len(rows) < PAGE:
            self.exhausted = True

    def add_newer(self, rows: list[dict[str, Any]]) -> None:
        fresh = self._fresh(rows)
        if not fresh:
            return
        self.entries[:0] = fresh
        if not self.follow:  # the rows on screen stay where they are
            self.top += len(fresh)
        del self.entries[MAX_ENTRIES:]

    def scroll(self, rows: int, visible: int) -> None:
        """Move ``rows`` down (negative: up); following stops unless back at the top."""
        self.top = max(0, min(self.top + rows, max(0, len(self.entries) - visible)))
        self.follow = self.top == 0 and (self.follow or rows < 0)

    def window(self, visible: int) -> list[Entry]:
        return self.entries[self.top : self.top + visible]

    def wants_older(self, visible: int) -> bool:
        """The rows on screen come near the end of what was read."""
        return self.top + 2 * visible >= len(self.entries) and not self.exhausted

    def _fresh(self, rows: list[dict[str, Any]]) -> list[Entry]:
        out = []
        for row in rows:
            if row["id"] in self._ids:
                continue
            self._ids.add(row["id"])
            out.append(
                Entry(
                    row["id"],
                    row["ts_ns"],
                    row["level"],
                    row["camera_id"] or "engine",
                    row["component"],
                    row["message"],
                    row.get("exception"),
                )
            )
        return out
