"""The configuration file as the console and the web edit it: saves, numbered backups, history.

A save applies edits to the file's text (``nvr.config_edit``: comments and layout kept), checks
the result as an engine start would, and only then writes it: the previous text to a numbered
backup beside the file (``nvr.yaml.~7~``, the newest ``KEEP_BACKUPS`` kept), the new text
atomically over the file (temporary file, fsync, rename), and a row in the catalog's history
(who, when, a note). An edit that does not validate is refused with the keys named; the file and
the running configuration stay as they were. A save built on a text that has changed since
(``base_sha256``) is refused too, so two admins never overwrite each other unseen.

Edits made in a text editor reach the history as well, when live reload puts them in force
(``noticed``, saved by ``file edit``). Runs in the supervisor's loop thread.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from pathlib import Path

from nvr.clock import Clock
from nvr.config import Config, parse_config
from nvr.config_edit import Edit, apply_edits
from nvr.errors import ConfigError, ConflictError, NotFoundError, RequestError
from nvr.redact import redact_text
from nvr.storage.catalog import Catalog, ConfigVersion
from nvr.storage.durable import atomic_write

log = logging.getLogger(__name__)

KEEP_BACKUPS = 20
FILE_EDIT = "file edit"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class ConfigKeeper:
    def __init__(self, path: Path | None, catalog: Catalog, clock: Clock) -> None:
        # The file itself, not a link to it: a rename over a link would replace the link.
        self.path = path.resolve() if path is not None else None
        self._catalog = catalog
        self._clock = clock

    def noticed(self, by: str = FILE_EDIT, note: str = "") -> ConfigVersion | None:
        """Record the file's text if it differs from the newest version (the engine started
        on it, or live reload put a hand edit in force); the version now in force."""
        if self.path is None:
            return None
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return self._catalog.config_version()
        newest = self._catalog.config_version()
        if newest is not None and newest.sha256 == sha256(text):
            return newest
        return self._record(text, by, note or ("as found at engine start" if not newest else ""))

    def save(self, edits: list[Edit], base_sha256: str | None, by: str, note: str) -> Config:
        """Apply ``edits`` to the file; the new configuration to put in force."""
        text = self._read()
        self._check_base(text, base_sha256)
        return self._write(text, apply_edits(text, edits), by, note)

    def revert(self, version: int, base_sha256: str | None, by: str) -> Config:
        """Put an earlier version back, as a new version."""
        old = self._catalog.config_version(version)
        if old is None:
            raise NotFoundError(f"there is no configuration version {version}; see the history")
        text = self._read()
        self._check_base(text, base_sha256)
        return self._write(text, old.text, by, f"revert to version {version}")

    def _check_base(self, text: str, base_sha256: str | None) -> None:
        """Refuse a change made on a text that someone else has saved over since."""
        if base_sha256 is not None and base_sha256 != sha256(text):
            newest = self._catalog.config_version()
            who = f" (version {newest.version}, by {newest.saved_by})" if newest else ""
            raise ConflictError(
                f"the configuration changed since it was opened{who}; reopen it and edit again"
            )

    def _read(self) -> str:
        if self.path is None:
            raise RequestError("this engine runs without a config file; there is nothing to save")
        try:
            return self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigError(str(self.path), [f"cannot read the configuration: {err}"]) from None

    def _write(self, old_text: str, new_text: str, by: str, note: str) -> Config:
        assert self.path is not None
        try:  # checked before anything is written; the file's lines may quote a password
            config = parse_config(new_text, source="the edited configuration")
        except ConfigError as err:
            raise ConfigError(err.source, [redact_text(e) for e in err.errors]) from None
        if new_text == old_text:
            return config
        mode = self.path.stat().st_mode & 0o777
        number = self._backup(old_text)
        atomic_write(self.path, new_text.encode(), mode)
        version = self._record(new_text, by, note)
        log.info(
            "config saved by %s as version %d%s (the previous text is %s)",
            by,
            version.version,
            f" ({note})" if note else "",
            self._backup_path(number).name,
        )
        return config

    def _record(self, text: str, by: str, note: str) -> ConfigVersion:
        now_ns = self._clock.wall_ns()
        digest = sha256(text)
        number = self._catalog.add_config_version(text, digest, now_ns, by, note)
        return ConfigVersion(number, now_ns, by, note, digest)

    def _backup(self, text: str) -> int:
        """Keep ``text`` as the next numbered backup (private: it may hold passwords, whatever
        the file's mode was then); forget all but the newest few."""
        numbers = sorted(self._backups())
        number = (numbers[-1] if numbers else 0) + 1
        atomic_write(self._backup_path(number), text.encode(), 0o600)
        for old in numbers[: max(0, len(numbers) + 1 - KEEP_BACKUPS)]:
            try:
                os.unlink(self._backup_path(old))
            except OSError as err:
                log.warning("cannot delete the old config backup %s: %s", old, err)
        return number

    def _backups(self) -> list[int]:
        assert self.path is not None
        pattern = re.compile(re.escape(self.path.name) + r"\.~(\d+)~")
        return [
            int(m.group(1)) for p in self.path.parent.iterdir() if (m := pattern.fullmatch(p.name))
        ]

    def _backup_path(self, number: int) -> Path:
        assert self.path is not None
        return self.path.with_name(f"{self.path.name}.~{number}~")
