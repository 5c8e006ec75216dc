"""Per-camera shared-memory ring of compressed video packets, one writer and many readers.

The web server's live view reads it: a worker publishes the packets it already receives (no
second camera connection, no transcoding), with their timestamps, capture times and the codec
parameters they need. Layout (int64 little-endian words, then bytes)::

    header   16 words: magic, version, slots, capacity, closed, count, reserved, params seq,
             reader_ns
    params   512 words: generation, codec, width, height, time base num/den, extradata length,
             then the extradata bytes (at most ``MAX_EXTRADATA``)
    table    one 12-word record per slot: seq, index, position, size, keyframe, pts, dts,
             capture_ns, params generation
    data     ``capacity`` bytes, a circular byte stream

Packet ``index`` lives in slot ``index % slots``; its bytes at stream position ``position``
(``position % capacity`` in the data area, never split: a packet that would cross the end
starts again at 0). Each slot and the params area are seqlocks, as in ``nvr.frames.ring``. The
writer announces the stream bytes it is about to overwrite (``reserved``) before it writes
them, so a reader checks after its copy that ``reserved - position <= capacity``: a packet the
writer lapped is reported lost, never returned torn. The writer never waits for readers.

Publishing costs a copy per packet, so the writer publishes only while a reader has touched
``reader_ns`` (CLOCK_MONOTONIC, the same clock in every process) within ``WANTED_NS``, and it
starts again at a keyframe. A ring nobody reads costs nothing: its pages are never touched.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from multiprocessing.shared_memory import SharedMemory

import numpy as np

from nvr.frames.ring import _buffer, _release, attach_shm, create_shm, remove_shm

MAGIC = 0x5450_4B50_5256_4E  # "NVRPKPT" as a little-endian int
VERSION = 1
MAX_EXTRADATA = 4000
WANTED_NS = 10 * 10**9  # a reader's touch keeps the writer publishing this long
CODECS = {"h264": 1, "hevc": 2}
_HEADER_WORDS = 16
_PARAM_WORDS = 512
_PARAM_FIXED = 8  # fixed words of the params area before the extradata bytes
_RECORD_WORDS = 12
# Header words.
_MAGIC, _VERSION, _SLOTS, _CAPACITY, _CLOSED, _COUNT, _RESERVED, _PSEQ, _READER_NS = range(9)
# Params words.
_GEN, _CODEC, _WIDTH, _HEIGHT, _TB_NUM, _TB_DEN, _EXTRA_LEN = range(7)
# Record words.
_SEQ, _INDEX, _POS, _SIZE, _KEY, _PTS, _DTS, _CAPTURE, _PGEN = range(9)


@dataclass(frozen=True, slots=True)
class StreamParams:
    """What a decoder needs before the first packet; ``generation`` counts changes."""

    generation: int
    codec: str
    width: int
    height: int
    time_base: tuple[int, int]
    extradata: bytes


@dataclass(frozen=True, slots=True)
class Packet:
    index: int
    data: bytes
    keyframe: bool
    pts: int
    dts: int
    capture_ns: int
    params_generation: int


class Lost:
    """The packets asked for were overwritten: resume at ``PacketRing.newest_keyframe()``."""


LOST = Lost()


def _size(slots: int, capacity: int) -> int:
    return 8 * (_HEADER_WORDS + _PARAM_WORDS + slots * _RECORD_WORDS) + capacity


def _needed(words: list[int]) -> int:
    """Bytes the ring whose header is ``words`` needs."""
    return _size(words[_SLOTS], words[_CAPACITY])


class PacketRing:
    """``create`` for the worker (the one writer), ``attach`` for readers."""

    def __init__(self, shm: SharedMemory, name: str, writer: bool) -> None:
        buf = _buffer(shm)
        self.name = name
        self._shm: SharedMemory | None = shm
        self._writer = writer
        self._header = np.frombuffer(buf, np.int64, _HEADER_WORDS)
        self.slots = int(self._header[_SLOTS])
        self.capacity = int(self._header[_CAPACITY])
        offset = 8 * _HEADER_WORDS
        self._params = np.frombuffer(buf, np.int64, _PARAM_FIXED, offset)
        self._extra = np.frombuffer(
            buf, np.uint8, 8 * (_PARAM_WORDS - _PARAM_FIXED), offset + 8 * _PARAM_FIXED
        )
        offset += 8 * _PARAM_WORDS
        self._table = np.frombuffer(buf, np.int64, self.slots * _RECORD_WORDS, offset).reshape(
            self.slots, _RECORD_WORDS
        )
        offset += 8 * self.slots * _RECORD_WORDS
        self._data = np.frombuffer(buf, np.uint8, self.capacity, offset)
        if not writer:
            self._data.flags.writeable = False
        self._count = int(self._header[_COUNT])
        self._generation = int(self._params[_GEN])
        self._streaming = False  # the writer publishes (a reader wants it, keyframe reached)

    @classmethod
    def create(cls, name: str, capacity: int, slots: int = 1024) -> PacketRing:
        """Create the ring as its writer, replacing a stale segment of the same name."""
        if not 4096 <= capacity <= 1 << 30 or not 16 <= slots <= 65536:
            raise ValueError(f"packet ring of {capacity} bytes, {slots} slots is out of range")
        header = (MAGIC, VERSION, slots, capacity)  # words _MAGIC.._CAPACITY
        shm = create_shm(name, _size(slots, capacity), header)
        return cls(shm, name, writer=True)

    @classmethod
    def attach(cls, name: str) -> PacketRing:
        """Map an existing ring as a reader (FileNotFoundError, or ValueError if foreign)."""
        shm = attach_shm(name, "packet ring", MAGIC, VERSION, _needed)
        return cls(shm, name, writer=False)

    # -- writer --------------------------------------------------------------------------------

    def wanted(self, now_ns: int | None = None) -> bool:
        """Whether a reader touched the ring within ``WANTED_NS``."""
        now = time.monotonic_ns() if now_ns is None else now_ns
        return now - int(self._header[_READER_NS]) < WANTED_NS

    def set_params(
        self, codec: str, width: int, height: int, time_base: tuple[int, int], extradata: bytes
    ) -> None:
        """The codec parameters of the packets published from now on."""
        if codec not in CODECS or len(extradata) > MAX_EXTRADATA:
            return  # nothing a browser could play: readers see no params and say so
        params = self._params
        seq = int(self._header[_PSEQ]) + 1
        self._header[_PSEQ] = seq  # odd: being written
        params[_CODEC] = CODECS[codec]
        params[_WIDTH], params[_HEIGHT] = width, height
        params[_TB_NUM], params[_TB_DEN] = time_base
        params[_EXTRA_LEN] = len(extradata)
        self._extra[: len(extradata)] = np.frombuffer(extradata, np.uint8)
        self._generation += 1
        params[_GEN] = self._generation
        self._header[_PSEQ] = seq + 1
        self._streaming = False  # the next packet of these params a reader gets is a keyframe

    def publish(
        self, data: bytes | memoryview, keyframe: bool, pts: int, dts: int, capture_ns: int
    ) -> int | None:
        """Copy one packet in while a reader wants them; its index, or None if not published
        (nobody reading, waiting for a keyframe, no params yet, or larger than a quarter of
        the ring)."""
        if not self.wanted() or self._generation == 0:
            self._streaming = False
            return None
        if not self._streaming and not keyframe:
            return None
        size = len(data)
        if size > self.capacity // 4:
            self._streaming = False  # the stream has a hole: start again at a keyframe
            return None
        self._streaming = True
        start = int(self._header[_RESERVED])
        if start % self.capacity + size > self.capacity:
            start += self.capacity - start % self.capacity
        self._header[_RESERVED] = start + size  # before the bytes: readers see the overwrite
        at = start % self.capacity
        self._data[at : at + size] = np.frombuffer(data, np.uint8)
        index = self._count
        record = self._table[index % self.slots]
        seq = int(record[_SEQ]) + 1
        record[_SEQ] = seq
        record[_INDEX] = index
        record[_POS] = start
        record[_SIZE] = size
        record[_KEY] = keyframe
        record[_PTS] = pts
        record[_DTS] = dts
        record[_CAPTURE] = capture_ns
        record[_PGEN] = self._generation
        record[_SEQ] = seq + 1
        self._count = index + 1
        self._header[_COUNT] = self._count
        return index

    # -- readers -------------------------------------------------------------------------------

    def touch(self) -> None:
        """Ask the writer to publish (for ``WANTED_NS`` more)."""
        self._header[_READER_NS] = time.monotonic_ns()

    @property
    def count(self) -> int:
        """Packets published so far; the next one gets this index."""
        return int(self._header[_COUNT])

    @property
    def closed(self) -> bool:
        return self._shm is None or bool(self._header[_CLOSED])

    def params(self) -> StreamParams | None:
        """The codec parameters in force, or None before the writer set any."""
        for _ in range(100):
            seq = int(self._header[_PSEQ])
            if seq & 1:
                time.sleep(0)
                continue
            words = self._params.tolist()
            extradata = self._extra[: max(0, min(words[_EXTRA_LEN], MAX_EXTRADATA))].tobytes()
            if int(self._header[_PSEQ]) != seq:
                continue
            if words[_GEN] == 0:
                return None
            codec = next((k for k, v in CODECS.items() if v == words[_CODEC]), "")
            return StreamParams(
                words[_GEN],
                codec,
                words[_WIDTH],
                words[_HEIGHT],
                (words[_TB_NUM], words[_TB_DEN]),
                extradata,
            )
        return None

    def read(self, index: int) -> Packet | Lost | None:
        """Packet ``index``: None if not published yet, ``LOST`` if already overwritten."""
        if index >= self.count:
            return None
        for _ in range(100):
            record = self._table[index % self.slots]
            seq = int(record[_SEQ])
            if seq & 1:
                time.sleep(0)
                continue
            words = record.tolist()
            if words[_INDEX] != index:  # the slot moved on to a newer packet
                return LOST
            pos, size = words[_POS], words[_SIZE]
            at = pos % self.capacity
            data = self._data[at : at + size].tobytes()
            if int(record[_SEQ]) != seq:
                continue
            if int(self._header[_RESERVED]) - pos > self.capacity:
                return LOST
            return Packet(
                index,
                data,
                bool(words[_KEY]),
                words[_PTS],
                words[_DTS],
                words[_CAPTURE],
                words[_PGEN],
            )
        return LOST

    def newest_keyframe(self) -> int | None:
        """The index of the newest keyframe still in the ring, or None."""
        count = self.count
        for index in range(count - 1, max(count - self.slots, 0) - 1, -1):
            record = self._table[index % self.slots].tolist()
            if record[_INDEX] == index and record[_KEY] and not record[_SEQ] & 1:
                if int(self._header[_RESERVED]) - record[_POS] <= self.capacity:
                    return index
                return None  # older ones are overwritten too
        return None

    # -- lifetime ------------------------------------------------------------------------------

    def close(self) -> None:
        """Unmap (the writer first marks the ring closed for its readers)."""
        if self._shm is None:
            return
        if self._writer:
            self._header[_CLOSED] = 1
        shm, self._shm = self._shm, None
        del self._header, self._params, self._extra, self._table, self._data
        _release(shm)

    def unlink(self) -> None:
        remove_shm(self.name)

    def __del__(self) -> None:
        if getattr(self, "_shm", None) is not None:
            self.close()
