"""Live reload: notice an edited config file, validate it, and work out what changed.

An invalid edit is rejected with every problem listed in ``status`` and the running
configuration stays in force. ``diff`` is pure: it decides which cameras start, stop or restart
and which changes wait for an engine restart (the storage path, the API address).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

from nvr.clock import Clock
from nvr.config import Config, load_config
from nvr.errors import ConfigError
from nvr.protocol.health import ConfigStatus

log = logging.getLogger(__name__)

RELOAD_POLL_S = 1.0


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """What applying a new configuration does."""

    config: Config  # the new configuration, with the restart-only keys kept as they were
    added: tuple[str, ...]  # cameras to start
    removed: tuple[str, ...]  # cameras to stop
    changed: tuple[str, ...]  # cameras to restart (anything but their retention changed)
    untouched: tuple[str, ...]  # cameras that keep recording, with their new config
    needs_restart: tuple[str, ...]  # changed keys that apply after an engine restart


def diff(old: Config, new: Config) -> ConfigChange:
    """The change from ``old`` to ``new``; retention edits never restart a recording worker."""
    needs_restart = tuple(
        name
        for name, a, b in (
            ("storage.path", old.storage.path, new.storage.path),
            ("storage.require_mount", old.storage.require_mount, new.storage.require_mount),
            ("storage.group", old.storage.group, new.storage.group),
            ("api", old.api, new.api),
        )
        if a != b
    )
    if needs_restart:  # the rest of storage (budgets, reserve) applies live
        kept = ("path", "require_mount", "group")
        storage = new.storage.model_copy(update={k: getattr(old.storage, k) for k in kept})
        new = new.model_copy(update={"storage": storage, "api": old.api})
    before = {c.id: c for c in old.cameras if c.enabled}
    after = {c.id: c for c in new.cameras if c.enabled}
    changed = tuple(
        c
        for c in after
        if c in before
        and after[c].model_dump(exclude={"retention"})
        != before[c].model_dump(exclude={"retention"})
    )
    return ConfigChange(
        config=new,
        added=tuple(c for c in after if c not in before),
        removed=tuple(c for c in before if c not in after),
        changed=changed,
        untouched=tuple(c for c in after if c in before and c not in changed),
        needs_restart=needs_restart,
    )


class ConfigWatcher:
    """Watches one config file (checked once a second by size and modification time)."""

    def __init__(self, path: Path | None, clock: Clock) -> None:
        self.path = path
        self.clock = clock
        self.status = ConfigStatus(str(path) if path else "<memory>", loaded_ns=clock.wall_ns())
        self._stamp = self._read_stamp()
        self._next_check = 0.0

    def request(self) -> None:
        """Re-read the file on the next check, edited or not."""
        self._stamp = None
        self._next_check = 0.0

    def poll(self) -> Config | None:
        """A new valid configuration when the file changed since the last look, else None."""
        now = self.clock.monotonic()
        if self.path is None or now < self._next_check:
            return None
        self._next_check = now + RELOAD_POLL_S
        stamp = self._read_stamp()
        if stamp is None or stamp == self._stamp:
            return None
        self._stamp = stamp
        try:
            return load_config(self.path)
        except ConfigError as err:
            self.status = replace(
                self.status,
                ok=False,
                errors=tuple(err.errors),
                failed_reloads=self.status.failed_reloads + 1,
            )
            log.error("config edit rejected, the running config stays in force:\n%s", err)
            return None

    def applied(self, change: ConfigChange) -> None:
        if change.needs_restart:
            log.warning(
                "config: changes to %s take effect after an engine restart",
                ", ".join(change.needs_restart),
            )
        self.status = replace(
            self.status,
            ok=True,
            errors=(),
            needs_restart=change.needs_restart,
            loaded_ns=self.clock.wall_ns(),
            reloads=self.status.reloads + 1,
        )
        log.info(
            "config reloaded: %d added, %d removed, %d changed, %d untouched",
            len(change.added),
            len(change.removed),
            len(change.changed),
            len(change.untouched),
        )

    def _read_stamp(self) -> tuple[int, int] | None:
        if self.path is None:
            return None
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)
