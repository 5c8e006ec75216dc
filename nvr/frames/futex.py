"""Cross-process wake-ups on a word of shared memory: Linux futexes, through ``syscall(2)``.

A reader sleeps while a 32-bit word still holds the value it last saw; the writer changes the
word, then wakes every sleeper. The kernel compares the word before sleeping, so a change made
between the reader's look and its sleep is never missed, and the writer never waits: a wake
with nobody asleep costs one system call (about a microsecond). Shared futexes (no
``FUTEX_PRIVATE_FLAG``) work across processes that map the same file, here ``/dev/shm``.
"""

from __future__ import annotations

import ctypes
import platform
import sys

_SYSCALL = {"x86_64": 202, "aarch64": 98}.get(platform.machine())  # SYS_futex
_WAIT, _WAKE = 0, 1
_EVERYONE = 2**31 - 1

AVAILABLE = sys.platform == "linux" and _SYSCALL is not None
_libc = ctypes.CDLL(None, use_errno=True) if AVAILABLE else None


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def _word(value: int) -> ctypes.c_int:
    """The low 32 bits of ``value`` as the kernel compares them."""
    low = value & 0xFFFFFFFF
    return ctypes.c_int(low - 2**32 if low >= 2**31 else low)


def wait(address: int, seen: int, timeout_s: float) -> None:
    """Sleep until woken, until ``timeout_s`` has passed, or not at all when the 32-bit word at
    ``address`` no longer holds the low 32 bits of ``seen``. It may also end early (a signal):
    callers look at the word again either way."""
    assert _libc is not None and _SYSCALL is not None, "futexes need Linux"
    limit = _Timespec(int(timeout_s), int(timeout_s % 1 * 1e9))
    _libc.syscall(
        ctypes.c_long(_SYSCALL), ctypes.c_void_p(address), ctypes.c_int(_WAIT), _word(seen),
        ctypes.byref(limit), None, ctypes.c_int(0),
    )  # fmt: skip


def wake(address: int) -> None:
    """Wake every process sleeping on the word at ``address``."""
    assert _libc is not None and _SYSCALL is not None, "futexes need Linux"
    _libc.syscall(
        ctypes.c_long(_SYSCALL), ctypes.c_void_p(address), ctypes.c_int(_WAKE),
        ctypes.c_int(_EVERYONE), None, None, ctypes.c_int(0),
    )  # fmt: skip
