"""The packet ring (``nvr.frames.packets``): what the worker publishes for the web's live view,
read back by a reader in order, lapped readers told so (never handed torn bytes), parameters
carried with their generation, and nothing copied while nobody reads."""

from __future__ import annotations

import threading
import uuid

import pytest

from nvr.frames.packets import LOST, Packet, PacketRing

PARAMS = ("h264", 640, 360, (1, 90000), b"\x00\x00\x00\x01gSPS\x00\x00\x00\x01hPPS")


@pytest.fixture
def rings():
    name = f"nvrtest_{uuid.uuid4().hex[:8]}"
    writer = PacketRing.create(name, 64 * 1024, slots=64)
    reader = PacketRing.attach(name)
    yield writer, reader
    reader.close()
    writer.close()
    writer.unlink()


def publish(writer: PacketRing, index: int, size: int = 1000, key: bool = False) -> int | None:
    return writer.publish(bytes([index % 256]) * size, key, index * 6000, index * 6000, index)


def test_nothing_is_copied_until_a_reader_asks_then_it_starts_at_a_keyframe(rings):
    writer, reader = rings
    writer.set_params(*PARAMS)
    assert publish(writer, 0, key=True) is None  # nobody reads
    reader.touch()
    assert publish(writer, 1) is None  # not a keyframe: a decoder could not start here
    assert publish(writer, 2, key=True) == 0
    assert publish(writer, 3) == 1
    first = reader.read(0)
    assert isinstance(first, Packet) and first.keyframe and first.data == b"\x02" * 1000
    assert (first.pts, first.dts, first.capture_ns) == (12000, 12000, 2)
    assert reader.read(2) is None  # not published yet
    params = reader.params()
    assert params is not None and params.codec == "h264" and params.extradata == PARAMS[4]
    assert first.params_generation == params.generation == 1


def test_without_parameters_nothing_is_published(rings):
    writer, reader = rings
    reader.touch()
    assert publish(writer, 0, key=True) is None
    assert reader.params() is None
    writer.set_params("mjpeg", 640, 360, (1, 90000), b"")  # no browser plays it: not taken
    assert reader.params() is None


def test_a_lapped_reader_is_told_and_resumes_at_the_newest_keyframe(rings):
    writer, reader = rings
    writer.set_params(*PARAMS)
    reader.touch()
    for i in range(200):
        publish(writer, i, size=3000, key=i % 10 == 0)
    assert reader.read(0) is LOST  # overwritten long ago
    key = reader.newest_keyframe()
    assert key is not None and key % 10 == 0 and key >= 190 - 10
    packet = reader.read(key)
    assert isinstance(packet, Packet) and packet.keyframe and packet.data[0] == key % 256
    for index in range(key, reader.count):
        got = reader.read(index)
        assert isinstance(got, Packet) and got.data == bytes([index % 256]) * 3000


def test_a_packet_never_straddles_the_end_of_the_ring(rings):
    writer, reader = rings
    writer.set_params(*PARAMS)
    reader.touch()
    sizes = [7000, 9000, 11000, 13000, 5000, 15000, 8000, 12000, 16000, 3000]
    for i, size in enumerate(sizes * 4):
        assert publish(writer, i, size=size, key=True) is not None
        got = reader.read(i)
        assert isinstance(got, Packet) and got.data == bytes([i % 256]) * size


def test_new_parameters_wait_for_a_keyframe_and_carry_their_generation(rings):
    writer, reader = rings
    writer.set_params(*PARAMS)
    reader.touch()
    assert publish(writer, 0, key=True) == 0
    writer.set_params("h264", 1280, 720, (1, 90000), b"\x00\x00\x00\x01gNEW")
    assert publish(writer, 1) is None
    assert publish(writer, 2, key=True) == 1
    old, new = reader.read(0), reader.read(1)
    assert isinstance(old, Packet) and isinstance(new, Packet)
    assert (old.params_generation, new.params_generation) == (1, 2)
    params = reader.params()
    assert params is not None and (params.width, params.height, params.generation) == (1280, 720, 2)


def test_a_packet_too_large_breaks_the_stream_until_the_next_keyframe(rings):
    writer, reader = rings
    writer.set_params(*PARAMS)
    reader.touch()
    assert publish(writer, 0, key=True) == 0
    assert publish(writer, 1, size=20_000) is None  # more than a quarter of the ring
    assert publish(writer, 2) is None  # a decoder would miss the reference it needs
    assert publish(writer, 3, key=True) == 1


def test_readers_see_the_writer_close_and_foreign_memory_is_refused(rings):
    writer, reader = rings
    assert not reader.closed
    writer.close()
    assert reader.closed
    from multiprocessing.shared_memory import SharedMemory

    name = f"nvrtest_{uuid.uuid4().hex[:8]}"
    other = SharedMemory(name, create=True, size=8192)
    try:
        with pytest.raises(ValueError, match="not a version"):
            PacketRing.attach(name)
    finally:
        other.close()
        other.unlink()


def test_a_writer_lapping_a_slow_reader_never_hands_it_torn_bytes(rings):
    writer, reader = rings
    writer.set_params(*PARAMS)
    reader.touch()
    stop = threading.Event()

    def write() -> None:
        i = 0
        while not stop.is_set() and i < 40_000:
            publish(writer, i, size=2500 + (i * 37) % 4000, key=i % 15 == 0)
            i += 1

    thread = threading.Thread(target=write)
    thread.start()
    checked = lost = 0
    index = 0
    try:
        while thread.is_alive() and checked < 20_000:
            got = reader.read(index)
            if got is None:
                continue
            if got is LOST:
                lost += 1
                key = reader.newest_keyframe()
                index = key if key is not None else reader.count
                continue
            assert isinstance(got, Packet)
            assert got.data == bytes([got.data[0]]) * len(got.data)  # one writer's packet, whole
            assert got.data[0] == got.capture_ns % 256
            checked += 1
            index += 1
    finally:
        stop.set()
        thread.join()
    assert checked > 100
