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
SETTLE_S = 1.0  # an edited file must keep still this long before it is read (half-written)
# What a running worker cannot change without reconnecting to its camera; any other edit (the
# name, recording, motion) it applies as it runs; retention and alarms are the supervisor's.
RESTART_KEYS = {"main", "sub", "transport", "timeout_s"}


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """What applying a new configuration does."""

    config: Config  # the new configuration, with the restart-only keys kept as they were
    added: tuple[str, ...]  # cameras to start
    removed: tuple[str, ...]  # cameras to stop
    changed: tuple[str, ...]  # cameras to restart: their stream changed (``RESTART_KEYS``)
    updated: tuple[str, ...]  # cameras whose worker applies the change as it runs
    untouched: tuple[str, ...]  # cameras whose worker has nothing to do (retention at most)
    needs_restart: tuple[str, ...]  # changed keys that apply after an engine restart


def diff(old: Config, new: Config) -> ConfigChange:
    """The change from ``old`` to ``new``: a worker restarts only when its stream changed."""
    needs_restart = tuple(
        name
        for name, a, b in (
            ("storage.path", old.storage.path, new.storage.path),
            ("storage.require_mount", old.storage.require_mount, new.storage.require_mount),
            ("storage.group", old.storage.group, new.storage.group),
            ("api", old.api, new.api),
            ("logging.dir", old.logging.dir, new.logging.dir),
            ("logging.keep_days", old.logging.keep_days, new.logging.keep_days),
        )
        if a != b
    )
    if needs_restart:  # the rest of storage (budgets, reserve) applies live
        restart_only = ("path", "require_mount", "group")
        storage = new.storage.model_copy(update={k: getattr(old.storage, k) for k in restart_only})
        logs = new.logging.model_copy(
            update={"dir": old.logging.dir, "keep_days": old.logging.keep_days}
        )  # the level applies live
        new = new.model_copy(update={"storage": storage, "api": old.api, "logging": logs})
    before = {c.id: c for c in old.cameras if c.enabled}
    after = {c.id: c for c in new.cameras if c.enabled}
    kept = [c for c in after if c in before]

    def differ(cam: str, keys: set[str] | None, exclude: set[str]) -> bool:
        new_values = after[cam].model_dump(include=keys, exclude=exclude)
        return new_values != before[cam].model_dump(include=keys, exclude=exclude)

    changed = tuple(c for c in kept if differ(c, RESTART_KEYS, set()))
    supervisor_only = RESTART_KEYS | {"retention", "alarms"}
    updated = tuple(c for c in kept if c not in changed and differ(c, None, supervisor_only))
    return ConfigChange(
        config=new,
        added=tuple(c for c in after if c not in before),
        removed=tuple(c for c in before if c not in after),
        changed=changed,
        updated=updated,
        untouched=tuple(c for c in kept if c not in changed and c not in updated),
        needs_restart=needs_restart,
    )


class ConfigWatcher:
    """Watches one config file (its inode, size and modification time, once a second)."""

    def __init__(self, path: Path | None, clock: Clock) -> None:
        self.path = path
        self.clock = clock
        self.status = ConfigStatus(str(path) if path else "<memory>", loaded_ns=clock.wall_ns())
        self._stamp = self._read_stamp()
        self._seen: tuple[tuple[int, int, int], float] | None = None  # a new stamp, since when
        self._forced = False
        self._next_check = 0.0

    def request(self) -> None:
        """Re-read the file at the next check, edited or not, without waiting for it to settle."""
        self._stamp = None
        self._forced = True
        self._next_check = 0.0

    def poll(self) -> Config | None:
        """A new valid configuration once the file changed and then kept still for
        ``SETTLE_S`` (an editor or a script may write it in pieces); else None."""
        now = self.clock.monotonic()
        if self.path is None or now < self._next_check:
            return None
        self._next_check = now + min(RELOAD_POLL_S, SETTLE_S)
        stamp = self._read_stamp()
        if stamp is None or stamp == self._stamp:
            self._seen = None
            return None
        if not self._forced:
            if self._seen is None or self._seen[0] != stamp:
                self._seen = (stamp, now)  # changed: wait until it stays so
                return None
            if now - self._seen[1] < SETTLE_S:
                return None
        self._stamp, self._seen, self._forced = stamp, None, False
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
            "config reloaded: %d added, %d removed, %d restarted, %d updated live, %d untouched",
            len(change.added),
            len(change.removed),
            len(change.changed),
            len(change.updated),
            len(change.untouched),
        )

    def adopt(self) -> None:
        """The engine wrote the file itself and puts it in force: not an edit to reload."""
        self._stamp, self._seen, self._forced = self._read_stamp(), None, False

    def in_force(self, version: int, saved_by: str, sha256: str) -> None:
        """The config history's version now in force."""
        self.status = replace(self.status, version=version, saved_by=saved_by, sha256=sha256)

    def _read_stamp(self) -> tuple[int, int, int] | None:
        """The file's inode, modification time and size (a rename over it is a new inode)."""
        if self.path is None:
            return None
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)
