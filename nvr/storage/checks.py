"""Checks on the storage folder before anything is recorded there, and its marker file.

``check_storage`` refuses, with one message naming cause and fix, a folder that would put
recordings in the wrong place (an fstab mount point that is not mounted, the root filesystem
when a dedicated disk is required, a disk holding other data) or that cannot be written. The
marker's write order is in ``docs/recording.md``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import grp
import json
import logging
import os
import re
import stat
import tempfile
import time
import uuid
from pathlib import Path

from nvr.errors import StorageError
from nvr.storage.durable import atomic_write

log = logging.getLogger(__name__)

LOCK_FILE = Path("run") / "engine.lock"
# The engine's own umask: folders 0750, files 0640 (the API token is written 0600). Footage is
# private: other users of the machine read none of it; storage.group may.
PRIVATE_UMASK = 0o027

STORAGE_MARKER = ".nvr-storage"  # written on first use: {"id": ..., "created_ns": ...}
FSTAB = Path("/etc/fstab")
MOUNTINFO = Path("/proc/self/mountinfo")
_NVR_ENTRIES = {"catalog.db", "recordings"}  # a folder holding these is nvr storage
_IGNORED_ENTRIES = {"lost+found"}  # what a freshly formatted disk holds


def check_storage(path: Path, require_mount: bool = False, fstab: Path = FSTAB) -> str:
    """Make sure recordings can go to ``path`` (creating it if needed); return the storage id.

    Refused with one ``StorageError`` naming cause and fix, leaving the folder as it was: a path
    under a mount point of ``fstab`` that is not mounted (the recordings would fill the root
    filesystem), a path on the root filesystem when ``require_mount``, a folder that cannot be
    written (read-only filesystem, permissions), and a non-empty folder that is not nvr storage
    (a wrong disk mounted there). The first use writes the ``STORAGE_MARKER`` with a new id;
    storage from before markers (a catalog or recordings present) is adopted.
    """
    path = Path(os.path.abspath(path))
    real = Path(os.path.realpath(path))
    unmounted = _unmounted_fstab_target(real, fstab)
    if unmounted is not None:
        raise StorageError(
            f"storage.path {path} is on {unmounted}, a mount point in {fstab} that is not "
            f"mounted: recordings would fill the root filesystem instead; mount it "
            f"(mount {unmounted}) and start again"
        )
    if require_mount and _nearest_existing(real).stat().st_dev == Path("/").stat().st_dev:
        raise StorageError(
            f"storage.path {path} is on the root filesystem, but storage.require_mount is true: "
            "the disk meant for it is not mounted; mount it, or set storage.require_mount: false"
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".nvr-probe-") as probe:
            probe.write(b"nvr")
            probe.flush()
            os.fsync(probe.fileno())
        return _storage_id(path)
    except OSError as err:
        raise StorageError(_unwritable(path, err)) from err


def _unwritable(path: Path, err: OSError) -> str:
    if err.errno == errno.EEXIST:  # mkdir(exist_ok=True) on something that is not a folder
        return (
            f"storage.path {path} exists but is not a folder (a file, or a link to nothing); "
            "point storage.path at a folder"
        )
    if err.errno == errno.EROFS:
        return (
            f"storage.path {path} is on a read-only filesystem; remount it read-write "
            f"(mount -o remount,rw {_mount_point(path)}) or point storage.path at a writable disk"
        )
    if err.errno in (errno.EACCES, errno.EPERM):
        return (
            f"storage.path {path} is not writable by this user (uid {os.getuid()}); fix its "
            "permissions (chown/chmod) or point storage.path elsewhere"
        )
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"storage.path {path}: the disk is full; free space on it or use another disk"
    return (
        f"storage.path {path} cannot be used ({err.strerror or err}); create it or point "
        "storage.path at a writable disk"
    )


def _storage_id(path: Path) -> str:
    """The id in the folder's marker; writes one for a new (or pre-marker nvr) folder."""
    marker = path / STORAGE_MARKER
    try:
        return str(json.loads(marker.read_text())["id"])
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise StorageError(
            f"the storage marker {marker} is unreadable ({err}); delete it and nvr writes a new one"
        ) from err
    entries = {
        e for e in os.listdir(path) if e not in _IGNORED_ENTRIES and not e.startswith(".nvr-")
    }
    if entries and not entries & _NVR_ENTRIES:
        shown = ", ".join(sorted(entries)[:3]) + (", ..." if len(entries) > 3 else "")
        raise StorageError(
            f"storage.path {path} holds other files ({shown}) and no nvr storage (no "
            f"{STORAGE_MARKER}, catalog.db or recordings): is the wrong disk mounted there? "
            "Point storage.path at the nvr folder, or at an empty or new folder"
        )
    storage_id = uuid.uuid4().hex[:12]
    # Atomic: a crash leaves no half-written marker (its temporary name starts with ".nvr-").
    atomic_write(marker, json.dumps({"id": storage_id, "created_ns": time.time_ns()}).encode())
    log.info(
        "storage %s: %s, id %s", path, "adopted" if entries else "new storage folder", storage_id
    )
    return storage_id


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _mount_point(path: Path) -> Path:
    path = _nearest_existing(path)
    while not os.path.ismount(path):
        path = path.parent
    return path


def _unescape(field: str) -> str:
    """fstab and mountinfo write space, tab, newline and backslash as octal escapes."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _unmounted_fstab_target(path: Path, fstab: Path) -> Path | None:
    """The deepest fstab mount point holding ``path`` when nothing is mounted there now (nor
    deeper, between it and ``path``); else None."""
    try:
        entries = fstab.read_text().splitlines()
        mounted = {Path(_unescape(line.split()[4])) for line in MOUNTINFO.read_text().splitlines()}
    except (OSError, IndexError):  # no fstab, or not Linux: nothing to compare
        return None
    targets = []
    for line in entries:
        fields = line.split()
        if len(fields) < 3 or fields[0].startswith("#") or fields[2] == "swap":
            continue
        target = Path(os.path.realpath(_unescape(fields[1])))
        if target.is_absolute() and target != Path("/") and path.is_relative_to(target):
            targets.append(target)
    deepest = max(targets, key=lambda t: len(t.parts), default=None)
    if deepest is None:
        return None
    holding = max(
        (m for m in mounted if path.is_relative_to(m)),
        key=lambda m: len(m.parts),
        default=Path("/"),
    )
    return None if holding.is_relative_to(deepest) else deepest


def lock_storage(path: Path) -> int:
    """Take ``<storage>/run/engine.lock`` for this process's life; the open file descriptor.

    A second engine on the same storage would repair the first one's open segments as if it
    had crashed and replace its frame rings: refused with a ``StorageError`` naming the other
    engine. The lock is the kernel's (``flock``): it goes with the process, even a killed one.
    """
    lock = Path(path) / LOCK_FILE
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise StorageError(
            f"storage.path {path} is in use by another engine (pid {holder}); stop it first, "
            "or give this engine a storage.path of its own"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def share_with_group(path: Path, group: str) -> None:
    """Give ``group`` read access to the storage: the folder and what is in it now take the
    group; folders get the set-group-id bit, so what is created in them later takes it too."""
    gid = grp.getgrnam(group).gr_gid
    for entry in [path, *_known_entries(path)]:
        with contextlib.suppress(FileNotFoundError):
            os.chown(entry, -1, gid)
            mode = stat.S_IMODE(entry.stat().st_mode)
            os.chmod(entry, (mode | 0o2000) if entry.is_dir() else mode)


def loose_modes(path: Path, log_dir: Path) -> list[str]:
    """Storage entries other users can read or write, or the group can write, as
    ``"<path> (0755)"``: the storage folder, its known entries, each camera's folder, the logs."""
    found = []
    for entry in [path, *_known_entries(path), log_dir]:
        try:
            mode = stat.S_IMODE(entry.stat().st_mode)
        except OSError:
            continue
        if mode & 0o027:
            found.append(f"{entry} ({mode:04o})")
    return found


def _known_entries(path: Path) -> list[Path]:
    """What nvr keeps in a storage folder (not the footage files themselves: too many)."""
    entries = [path / n for n in (STORAGE_MARKER, "catalog.db", "recordings", "run", "logs")]
    recordings = path / "recordings"
    if recordings.is_dir():
        entries += [e for e in recordings.iterdir() if e.is_dir()]
    return entries
