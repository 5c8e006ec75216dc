"""The audit log (schema 9's ``audit`` table): who did what, from where, when, and the result.

Rows are only ever added; retention does not touch this table. Parameters are stored as JSON
with secrets removed (a ``password`` key never reaches the table).
"""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apsw

from nvr.redact import redact_text

MAX_ROWS = 10_000
_SECRET_KEYS = {"password", "new_password", "token", "csrf_token"}
_MAX_PARAMS_CHARS = 2000
_FORMULA = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run as a formula


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    time_ns: int
    user: str
    address: str
    action: str
    target: str
    params: str
    result: str
    ok: bool


def clean_params(params: dict[str, Any]) -> str:
    """The parameters as JSON for the log: secrets replaced, long values cut."""
    shown = {k: ("***" if k in _SECRET_KEYS else v) for k, v in params.items()}
    text = redact_text(json.dumps(shown, default=str, ensure_ascii=False))
    return text if len(text) <= _MAX_PARAMS_CHARS else text[: _MAX_PARAMS_CHARS - 1] + "…"


class Audit:
    """Appends to and reads the audit table of one catalog; safe from several threads."""

    def __init__(self, catalog_path: Path, clock: Callable[[], int] = time.time_ns) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._conn = apsw.Connection(str(catalog_path))
        self._conn.set_busy_timeout(5000)

    def close(self) -> None:
        self._conn.close()

    def record(
        self,
        user: str,
        address: str,
        action: str,
        target: str = "",
        params: dict[str, Any] | None = None,
        result: str = "ok",
        ok: bool = True,
    ) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO audit (time_ns, user_name, address, action, target, params, result,"
                " ok) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self._clock(),
                    user[:64],
                    address[:64],
                    action,
                    target[:200],
                    clean_params(params or {}),
                    redact_text(result)[:500],
                    int(ok),
                ),
            )

    def rows(
        self,
        user: str | None = None,
        action: str | None = None,
        since_ns: int | None = None,
        limit: int = 200,
    ) -> list[AuditRow]:
        """The newest rows first, filtered by exact user, action (a prefix: ``user.`` matches
        every user change) and time."""
        where: list[str] = ["1"]
        params: list[str | int] = []
        if user:
            where.append("user_name = ?")
            params.append(user)
        if action:
            where.append("(action = ? OR action LIKE ? ESCAPE '\\')")
            escaped = action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params += [action, escaped.rstrip(".") + ".%"]
        if since_ns is not None:
            where.append("time_ns >= ?")
            params.append(since_ns)
        sql = (
            "SELECT id, time_ns, user_name, address, action, target, params, result, ok"
            f" FROM audit WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?"
        )
        with self._lock:
            rows: list[Any] = self._conn.execute(
                sql, (*params, max(1, min(limit, MAX_ROWS)))
            ).fetchall()
        return [AuditRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8])) for r in rows]


def to_csv(rows: list[AuditRow]) -> str:
    """The rows as CSV with an ISO time column; cells that a spreadsheet would run as a formula
    are quoted with a leading apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["time", "user", "address", "action", "target", "params", "result", "ok"])
    for r in rows:
        when = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(r.time_ns / 1e9))
        cells = [f"{when}.{r.time_ns % 10**9 // 10**6:03d}Z", r.user, r.address, r.action]
        cells += [r.target, r.params, r.result, "yes" if r.ok else "no"]
        writer.writerow(
            ["'" + c if c[:1] in ("=", "+", "-", "@", "\t", "\r") else c for c in cells]
        )
    return out.getvalue()
