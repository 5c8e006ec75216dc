"""Per-camera shared-memory ring of decoded YUV 4:2:0 frames, one writer and many readers.

Layout (all int64 little-endian words, then byte planes)::

    header   16 words: magic, version, slots, capacity width, capacity height, closed, count
    table    one 8-word record per slot: seq, index, capture_ns, width, height, motion
    data     per slot (64-byte aligned): Y (H*W), U (ceil(H/2)*ceil(W/2)), V (same)

A frame of ``w x h`` (at most the capacity) is stored packed at the start of each plane region.
``count`` is the number of frames published; frame ``index`` lives in slot ``index % slots``.

Each slot is a seqlock: the writer makes ``seq`` odd, writes the record and planes, makes ``seq``
even, then bumps ``count`` and wakes the readers asleep on it (a futex on its low 32 bits:
``futex.py``); it never waits for readers. A reader takes ``seq`` (retrying while
odd), uses the data, and trusts it only if ``seq`` is unchanged afterwards. Ordering relies on
x86-64's total store order (the supported platform); numpy stores of aligned int64 are atomic.

``SharedMemory`` in Python 3.11 registers every segment with the resource tracker, which unlinks
it when the registering process exits, so a reader's exit would destroy the writer's ring: both
roles unregister right after mapping, and unlinking is explicit (``unlink``, ``remove``).
Views are made with ``np.frombuffer`` (which keeps a buffer export) rather than
``np.ndarray(buffer=...)`` (which keeps none), so closing while a view is alive cannot unmap it.
"""

from __future__ import annotations

import _posixshmem
import hashlib
import os
import re
import time
from collections.abc import Callable, Sequence
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory
from pathlib import Path
from types import TracebackType

import numpy as np

from nvr.frames import futex

MAGIC = 0x474E4952_4652564E  # b"NVRFRING" read as a little-endian int64
VERSION = 1
MIN_SLOTS = 3
MAX_SLOTS = 8
MAX_SIDE = 16384

_HEADER_WORDS = 16
_RECORD_WORDS = 8
_ALIGN = 64
# Header words.
_MAGIC, _VERSION, _SLOTS, _CAP_W, _CAP_H, _CLOSED, _COUNT = range(7)
# Slot record words.
_SEQ, _INDEX, _CAPTURE, _WIDTH, _HEIGHT, _MOTION = range(6)

_RETRIES = 200
_SLEEP_S = 0.05  # longest futex sleep: a reader looks again at least this often
_POLL_S = 0.001  # without futexes (not Linux), wait_newer polls this often


def instance_id(storage_path: Path) -> str:
    """A short id of one engine (a hash of its storage path), the first part of its rings' names."""
    return hashlib.sha1(str(storage_path.resolve()).encode()).hexdigest()[:6]


def ring_name(instance: str, camera_id: str) -> str:
    """Shared-memory name of one camera's ring, e.g. ``nvr3f9a1c0b_frontdo_5d41402a`` (<= 28 chars).

    ``instance`` (a short hash of the storage path) is used as is when it is 1-8 alphanumerics,
    otherwise hashed; the camera part is a readable prefix plus a hash of the full id.
    """
    inst = instance if re.fullmatch(r"[0-9A-Za-z]{1,8}", instance) else _digest(instance)
    readable = re.sub(r"[^0-9A-Za-z]", "", camera_id)[:7]
    return f"nvr{inst}_{readable}_{_digest(camera_id)}"


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=4).hexdigest()


def _align(n: int) -> int:
    return -(-n // _ALIGN) * _ALIGN


def _chroma(width: int, height: int) -> tuple[int, int]:
    return (height + 1) // 2, (width + 1) // 2


def _layout(width: int, height: int, slots: int) -> tuple[int, int, int, int]:
    """(plane Y bytes, plane U/V bytes, data offset, slot stride) for a capacity."""
    ch, cw = _chroma(width, height)
    y_bytes, c_bytes = width * height, ch * cw
    data = _align(8 * (_HEADER_WORDS + slots * _RECORD_WORDS))
    return y_bytes, c_bytes, data, _align(y_bytes + 2 * c_bytes)


def _size(width: int, height: int, slots: int) -> int:
    _, _, data, stride = _layout(width, height, slots)
    return data + slots * stride


def _needed(words: list[int]) -> int | None:
    """Bytes the ring whose header is ``words`` needs, or None if the header is inconsistent."""
    slots = words[_SLOTS]
    if not MIN_SLOTS <= slots <= MAX_SLOTS:
        return None
    return _size(words[_CAP_W], words[_CAP_H], slots)


def create_shm(name: str, size: int, header: Sequence[int]) -> SharedMemory:
    """Create segment ``name`` of ``size`` bytes as a ring's writer, replacing a stale one.

    ``header`` is the ring's first int64 words, magic and version first (as in every ring of
    ``nvr.frames``); the magic is written last, so a reader attaching mid-creation sees a bad
    magic. The segment is unregistered from the resource tracker (see the module docstring).
    """
    try:
        shm = SharedMemory(name, create=True, size=size)
    except FileExistsError:
        remove_shm(name)
        shm = SharedMemory(name, create=True, size=size)
    _untrack(shm)
    words = np.frombuffer(_buffer(shm), np.int64, len(header))
    words[_VERSION:] = header[_VERSION:]
    words[_MAGIC] = header[_MAGIC]
    del words
    return shm


def attach_shm(
    name: str, kind: str, magic: int, version: int, needed: Callable[[list[int]], int | None]
) -> SharedMemory:
    """Map the existing segment ``name`` as a reader of a ``kind`` (e.g. "frame ring").

    The segment must start with a ``_HEADER_WORDS``-word header holding ``magic`` and
    ``version``, and be at least ``needed(header words)`` bytes (None: an inconsistent header).
    Raises FileNotFoundError if there is none, ValueError if it is not a compatible ``kind``.
    """
    shm = SharedMemory(name)
    _untrack(shm)
    try:
        if shm.size < 8 * _HEADER_WORDS:
            raise ValueError(f"shared memory {name!r} is too small for a {kind}")
        words = np.frombuffer(_buffer(shm), np.int64, _HEADER_WORDS).tolist()
        if words[_MAGIC] != magic or words[_VERSION] != version:
            raise ValueError(f"shared memory {name!r} is not a version {version} {kind}")
        size = needed(words)
        if size is None or shm.size < size:
            raise ValueError(f"shared memory {name!r} has an inconsistent {kind} header")
    except ValueError:
        shm.close()
        raise
    return shm


def remove_shm(name: str) -> bool:
    """Unlink the segment ``name`` if it exists (cleanup after a writer crash)."""
    try:
        _posixshmem.shm_unlink("/" + name)
    except FileNotFoundError:
        return False
    return True


def _untrack(shm: SharedMemory) -> None:
    resource_tracker.unregister("/" + shm.name, "shared_memory")


def _buffer(shm: SharedMemory) -> memoryview:
    buf = shm.buf
    if buf is None:
        raise ValueError(f"shared memory {shm.name!r} is closed")
    return buf


def _release(shm: SharedMemory) -> None:
    """Unmap ``shm``; while views still reference it, leave the unmapping to their collection."""
    try:
        shm.close()
    except BufferError:
        # Live views hold a buffer export on the mmap (see module docstring): close the
        # descriptor now and drop our references, so the mapping goes with the last view.
        state = vars(shm)
        os.close(state["_fd"])
        state.update(_fd=-1, _buf=None, _mmap=None)


class FrameView:
    """One frame of the ring: zero-copy planes, valid only until the writer reuses the slot.

    ``y`` (height, width), ``u`` and ``v`` (ceil(height/2), ceil(width/2)) are uint8 views;
    ``index`` is the global frame counter. Views returned by ``read_copy`` point at the copies and
    are always valid.
    """

    __slots__ = (
        "y",
        "u",
        "v",
        "seq",
        "capture_ns",
        "width",
        "height",
        "motion",
        "index",
        "_table",
        "_slot",
    )

    def __init__(
        self,
        planes: tuple[np.ndarray, np.ndarray, np.ndarray],
        seq: int,
        record: list[int],
        table: np.ndarray | None = None,
        slot: int = 0,
    ) -> None:
        """Wrap ``planes`` and a slot ``record``; ``table`` None marks a private copy."""
        self.y, self.u, self.v = planes
        self.seq = seq
        self.index = record[_INDEX]
        self.capture_ns = record[_CAPTURE]
        self.width = record[_WIDTH]
        self.height = record[_HEIGHT]
        self.motion = bool(record[_MOTION])
        self._table = table
        self._slot = slot

    def valid(self) -> bool:
        """True if the slot was not rewritten since this view was taken (check after using it)."""
        return self._table is None or int(self._table[self._slot, _SEQ]) == self.seq


class FrameRing:
    """A camera's frame ring: ``create`` for the single writer, ``attach`` for readers."""

    # Why 19 methods (4 of them lifetime dunders): the writer's and the readers' halves of one
    # shared-memory layout stay in one class, so the layout is defined and checked once.

    def __init__(self, shm: SharedMemory, name: str, writer: bool) -> None:
        """Map an already created/validated segment; use ``create`` or ``attach``."""
        buf = _buffer(shm)
        words = np.frombuffer(buf, np.int64, _HEADER_WORDS)
        self.name = name
        self.slots = int(words[_SLOTS])
        self.width = int(words[_CAP_W])
        self.height = int(words[_CAP_H])
        self._shm: SharedMemory | None = shm
        self._writer = writer
        self._header = words
        self._count_address = words.ctypes.data + 8 * _COUNT  # the futex word: count's low half
        self._table = np.frombuffer(
            buf, np.int64, self.slots * _RECORD_WORDS, 8 * _HEADER_WORDS
        ).reshape(self.slots, _RECORD_WORDS)
        y_bytes, c_bytes, data, stride = _layout(self.width, self.height, self.slots)
        self._planes: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for slot in range(self.slots):
            base = data + slot * stride
            flat = np.frombuffer(buf, np.uint8, y_bytes + 2 * c_bytes, base)
            flat.flags.writeable = writer
            self._planes.append((flat[:y_bytes], flat[y_bytes:-c_bytes], flat[-c_bytes:]))
        self._count = int(words[_COUNT])

    @classmethod
    def create(cls, name: str, width: int, height: int, slots: int = 4) -> FrameRing:
        """Create the ring as its writer, replacing a stale segment of the same name."""
        if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
            raise ValueError(f"frame ring capacity {width}x{height} is out of range")
        if not MIN_SLOTS <= slots <= MAX_SLOTS:
            raise ValueError(f"frame ring slots must be {MIN_SLOTS}..{MAX_SLOTS}, got {slots}")
        header = (MAGIC, VERSION, slots, width, height)  # words _MAGIC.._CAP_H
        shm = create_shm(name, _size(width, height, slots), header)
        return cls(shm, name, writer=True)

    @classmethod
    def attach(cls, name: str) -> FrameRing:
        """Map an existing ring as a reader.

        Raises FileNotFoundError if there is none, ValueError if it is not a compatible ring.
        """
        shm = attach_shm(name, "frame ring", MAGIC, VERSION, _needed)
        return cls(shm, name, writer=False)

    @staticmethod
    def remove(name: str) -> bool:
        """Unlink the segment ``name`` if it exists (cleanup after a writer crash)."""
        return remove_shm(name)

    def publish(
        self, y: np.ndarray, u: np.ndarray, v: np.ndarray, capture_ns: int, motion: bool = False
    ) -> int:
        """Copy a frame (any strides, up to the capacity) into the next slot; returns its index."""
        self._check_open()
        if not self._writer:
            raise PermissionError(f"frame ring {self.name!r} was attached read-only")
        height, width = y.shape
        if width > self.width or height > self.height:
            raise ValueError(
                f"frame {width}x{height} exceeds ring capacity {self.width}x{self.height}"
            )
        chroma = _chroma(width, height)
        if u.shape != chroma or v.shape != chroma:
            raise ValueError(f"chroma planes {u.shape}, {v.shape} do not match {width}x{height}")
        if not y.dtype == u.dtype == v.dtype == np.uint8:
            raise ValueError(f"planes must be uint8, got {y.dtype}, {u.dtype}, {v.dtype}")
        index = self._count
        slot = index % self.slots
        record = self._table[slot]
        seq = int(record[_SEQ]) + 1
        record[_SEQ] = seq  # odd: slot being written
        record[_INDEX] = index
        record[_CAPTURE] = capture_ns
        record[_WIDTH] = width
        record[_HEIGHT] = height
        record[_MOTION] = motion
        py, pu, pv = self._shape(slot, width, height)
        try:
            np.copyto(py, y)
            np.copyto(pu, u)
            np.copyto(pv, v)
        finally:
            record[_SEQ] = seq + 1  # even: stable (on failure ``count`` never points here)
        self._count = index + 1
        self._header[_COUNT] = self._count
        if futex.AVAILABLE:
            futex.wake(self._count_address)
        return index

    def set_motion(self, index: int, motion: bool) -> None:
        """Update the motion flag of published frame ``index`` if its slot still holds it."""
        self._check_open()
        record = self._table[index % self.slots]
        if index < self._count and int(record[_INDEX]) == index:
            record[_MOTION] = motion

    def latest(self) -> FrameView | None:
        """Newest stable frame as zero-copy views, or None if nothing was published yet."""
        found = self._newest()
        if found is None:
            return None
        slot, seq, record = found
        planes = self._shape(slot, record[_WIDTH], record[_HEIGHT])
        return FrameView(planes, seq, record, self._table, slot)

    def read_copy(
        self, out: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    ) -> FrameView | None:
        """Copy the newest frame, retrying torn copies; returns views onto the copies.

        ``out`` holds Y, U, V arrays at least the frame's size (the capacity is always enough);
        without it new arrays of the frame's size are allocated. None if nothing was published
        yet, or if the writer tore every one of ``_RETRIES`` copies (about 75 ms of trying: only
        a writer lapping the ring flat out while this reader is descheduled does that; the writer
        never waits for readers, by design).
        """
        for attempt in range(_RETRIES):
            found = self._newest()
            if found is None:
                return None
            slot, seq, record = found
            width, height = record[_WIDTH], record[_HEIGHT]
            ch, cw = _chroma(width, height)
            if out is None:
                planes = (
                    np.empty((height, width), np.uint8),
                    np.empty((ch, cw), np.uint8),
                    np.empty((ch, cw), np.uint8),
                )
            else:
                planes = (out[0][:height, :width], out[1][:ch, :cw], out[2][:ch, :cw])
            for dst, src in zip(planes, self._shape(slot, width, height), strict=True):
                np.copyto(dst, src)
            if int(self._table[slot, _SEQ]) == seq:
                return FrameView(planes, seq, record)
            _backoff(attempt)
        return None

    def wait_newer(self, index: int, timeout_s: float) -> FrameView | None:
        """Sleep until a frame newer than ``index`` (-1: any) is published; None on timeout or
        once the writer closed the ring."""
        self._check_open()
        deadline = time.monotonic() + timeout_s
        while True:
            count = int(self._header[_COUNT])
            if count - 1 > index:
                view = self.latest()
                if view is not None and view.index > index:
                    return view
            left = deadline - time.monotonic()
            if left <= 0 or self._header[_CLOSED]:
                return None
            if futex.AVAILABLE:  # woken by publish; returns at once if count moved meanwhile
                futex.wait(self._count_address, count, min(left, _SLEEP_S))
            else:
                time.sleep(min(left, _POLL_S))

    @property
    def closed(self) -> bool:
        """True once the writer closed the ring (or this handle was closed)."""
        return self._shm is None or bool(self._header[_CLOSED])

    def close(self) -> None:
        """Detach (the writer marks the ring closed first); FrameViews taken stay readable."""
        shm = self._shm
        if shm is None:
            return
        if self._writer:
            self._header[_CLOSED] = 1
            if futex.AVAILABLE:
                futex.wake(self._count_address)  # sleepers see the ring closed
        self._shm = None
        del self._header, self._table, self._planes
        _release(shm)

    def unlink(self) -> None:
        """Remove the ring's name; mappings stay valid until closed."""
        self.remove(self.name)

    def __enter__(self) -> FrameRing:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close; the writer also unlinks, since it owns the ring."""
        self.close()
        if self._writer:
            self.unlink()

    def __del__(self) -> None:
        if getattr(self, "_shm", None) is not None:
            self.close()

    def _check_open(self) -> None:
        if self._shm is None:
            raise ValueError(f"frame ring {self.name!r} is closed")

    def _newest(self) -> tuple[int, int, list[int]] | None:
        """(slot, seq, record) of the newest stable frame, retrying torn or lapped reads."""
        self._check_open()
        table = self._table
        for attempt in range(_RETRIES):
            count = int(self._header[_COUNT])
            if count == 0:
                return None
            slot = (count - 1) % self.slots
            seq = int(table[slot, _SEQ])
            if not seq & 1:
                record = table[slot].tolist()
                if int(table[slot, _SEQ]) == seq:
                    return slot, seq, record
            _backoff(attempt)
        return None

    def _shape(
        self, slot: int, width: int, height: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        py, pu, pv = self._planes[slot]
        ch, cw = _chroma(width, height)
        return (
            py[: width * height].reshape(height, width),
            pu[: ch * cw].reshape(ch, cw),
            pv[: ch * cw].reshape(ch, cw),
        )


def _backoff(attempt: int) -> None:
    """Spin briefly, then yield the CPU so a descheduled writer can finish its slot."""
    if attempt >= 3:
        time.sleep(0 if attempt < 50 else 0.0005)
