"""A reserve file on the storage disk, released when the disk fills up.

The catalog lives on the same disk as the recordings, so on a full disk SQLite cannot write
either -- and deleting recordings safely needs a catalog write (rows into the garbage table).
Releasing the reserve gives that write room; the reserve is re-created once space is back.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

RESERVE_MAX_BYTES = 64 * 1024 * 1024
RESERVE_DISK_FRACTION = 0.02  # on a small disk, at most this share of it
CHUNK = 1024 * 1024


class StorageReserve:
    """``<storage>/.reserve``: written with real blocks (not sparse), so deleting it frees them."""

    def __init__(self, root: Path) -> None:
        self.path = root / ".reserve"
        total = shutil.disk_usage(root).total
        self.size = int(min(RESERVE_MAX_BYTES, total * RESERVE_DISK_FRACTION))

    @property
    def held(self) -> bool:
        return self.path.exists() and self.path.stat().st_size >= self.size

    def restore(self) -> bool:
        """Create the reserve if the disk has room for it plus a margin; True if it is held."""
        if self.held:
            return True
        if shutil.disk_usage(self.path.parent).free < 2 * self.size:
            return False
        block = b"\0" * CHUNK
        try:
            with self.path.open("wb") as fh:
                for offset in range(0, self.size, CHUNK):
                    fh.write(block[: min(CHUNK, self.size - offset)])
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as err:
            log.warning("cannot create the storage reserve %s: %s", self.path, err)
            self.path.unlink(missing_ok=True)
            return False
        return True

    def release(self) -> int:
        """Delete the reserve; returns the bytes freed."""
        if not self.path.exists():
            return 0
        size = self.path.stat().st_size
        self.path.unlink()
        log.warning("storage full: released the %d-byte reserve to make room for cleanup", size)
        return size
