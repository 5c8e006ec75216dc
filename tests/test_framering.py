"""Shared-memory frame ring: round trips, seqlock under a concurrent writer, lifetime rules."""

from __future__ import annotations

import multiprocessing as mp
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory
from pathlib import Path

import numpy as np
import pytest

from nvr.frames.ring import FrameRing, FrameView, ring_name

ROOT = Path(__file__).resolve().parents[1]
SPAWN = mp.get_context("spawn")


@pytest.fixture
def name() -> Iterator[str]:
    ring = ring_name(uuid.uuid4().hex[:8], "test-cam")
    yield ring
    FrameRing.remove(ring)


def _shm_path(ring: str) -> Path:
    return Path("/dev/shm") / ring


Planes = tuple[np.ndarray, np.ndarray, np.ndarray]


def _empty(width: int, height: int) -> Planes:
    ch, cw = (height + 1) // 2, (width + 1) // 2
    return (
        np.empty((height, width), np.uint8),
        np.empty((ch, cw), np.uint8),
        np.empty((ch, cw), np.uint8),
    )


def _planes(width: int, height: int, seed: int, pad: int = 0) -> Planes:
    """Random Y, U, V planes; with ``pad`` they are strided views into wider buffers."""
    rng = np.random.default_rng(seed)
    y, u, v = (
        rng.integers(0, 256, (p.shape[0], p.shape[1] + pad), dtype=np.uint8)[:, : p.shape[1]]
        for p in _empty(width, height)
    )
    return y, u, v


def _latest(ring: FrameRing) -> FrameView:
    view = ring.latest()
    assert view is not None
    return view


def _fill(index: int, planes: Planes) -> None:
    y, u, v = planes
    y.fill(index % 251)
    u.fill(index * 7 % 251)
    v.fill(index * 7 % 251)


def _consistent(view: FrameView, width: int, height: int) -> bool:
    """Every byte and the metadata agree with the frame index (the writer's encoding)."""
    i = view.index
    return bool(
        view.capture_ns == i * 1000
        and view.y.shape == (height, width)
        and (view.y == i % 251).all()
        and (view.u == i * 7 % 251).all()
        and (view.v == i * 7 % 251).all()
    )


def _hammer_writer(name: str, width: int, height: int, seconds: float, ready) -> None:
    ring = FrameRing.create(name, width, height, slots=3)
    planes = _empty(width, height)
    ready.set()
    deadline = time.monotonic() + seconds
    index = 0
    while time.monotonic() < deadline:
        _fill(index, planes)
        assert ring.publish(*planes, capture_ns=index * 1000) == index
        index += 1
    ring.close()


def _crashing_writer(name: str, ready) -> None:
    ring = FrameRing.create(name, 64, 48)
    ring.publish(*_planes(64, 48, 0), capture_ns=1)
    ready.set()
    time.sleep(60)


def _mappings(name: str) -> int:
    return Path("/proc/self/maps").read_text().count(f"/dev/shm/{name}")


def test_ring_name_is_short_deterministic_and_distinct() -> None:
    names = {ring_name(inst, cam) for inst in ("ab12cd34", "ff00ff00") for cam in ("a", "b", "a b")}
    assert len(names) == 6
    assert ring_name("ab12cd34", "front door") == ring_name("ab12cd34", "front door")
    for n in [*names, ring_name("/srv/nvr storage/very/long/path", "x" * 200 + "/ü")]:
        assert len(n) <= 30 and n.startswith("nvr") and re.fullmatch(r"[0-9A-Za-z_]+", n)


@pytest.mark.parametrize(("width", "height"), [(640, 360), (641, 361), (1, 1), (3, 5)])
def test_round_trip_strided_and_odd_sizes(name: str, width: int, height: int) -> None:
    with FrameRing.create(name, width, height, slots=3) as writer, FrameRing.attach(name) as reader:
        assert (reader.width, reader.height, reader.slots) == (width, height, 3)
        assert reader.latest() is None and reader.read_copy() is None
        for index in range(7):  # wraps the ring twice
            planes = _planes(width, height, index, pad=13 * (index % 2))
            assert writer.publish(*planes, capture_ns=10 + index, motion=index % 2 == 1) == index
            view = reader.latest()
            assert view is not None and view.valid()
            assert (view.index, view.capture_ns, view.motion) == (index, 10 + index, index % 2 == 1)
            assert (view.width, view.height) == (width, height)
            for got, want in zip((view.y, view.u, view.v), planes, strict=True):
                assert got.dtype == np.uint8 and np.array_equal(got, want)
                assert not got.flags.writeable
            copy = reader.read_copy()
            assert copy is not None and copy.valid() and copy.index == index
            assert all(
                np.array_equal(a, b) for a, b in zip((copy.y, copy.u, copy.v), planes, strict=True)
            )


def test_smaller_frames_metadata_and_motion(name: str) -> None:
    with FrameRing.create(name, 640, 360) as writer, FrameRing.attach(name) as reader:
        small = _planes(319, 179, 1, pad=5)
        writer.publish(*small, capture_ns=5)
        view = reader.latest()
        assert view is not None
        assert (view.width, view.height, view.y.shape, view.u.shape) == (
            319,
            179,
            (179, 319),
            (90, 160),
        )
        assert np.array_equal(view.y, small[0]) and np.array_equal(view.v, small[2])
        out = _empty(640, 360)
        copy = reader.read_copy(out)
        assert copy is not None and copy.y.base is out[0] and np.array_equal(copy.u, small[1])

        writer.set_motion(0, True)
        assert _latest(reader).motion and view.valid()  # the flag is not a rewrite
        for index in range(1, 5):
            writer.publish(*_planes(640, 360, index), capture_ns=index)
        writer.set_motion(0, False)  # slot 0 now holds frame 4: no effect
        writer.set_motion(4, True)
        latest = _latest(reader)
        assert latest.index == 4 and latest.motion and not view.valid()

        with pytest.raises(ValueError, match="exceeds"):
            writer.publish(*_planes(641, 360, 0), capture_ns=0)
        with pytest.raises(ValueError, match="chroma"):
            writer.publish(small[0], small[1][:-1], small[2], capture_ns=0)
        with pytest.raises(PermissionError):
            reader.publish(*small, capture_ns=0)


class _Probe:
    """A plane whose ``__array__`` runs ``callback``: code that runs while publish copies it."""

    def __init__(self, array: np.ndarray, callback: Callable[[], None]) -> None:
        self.array = array
        self.shape = array.shape
        self.dtype = array.dtype
        self.callback = callback

    def __array__(self, dtype: object = None, copy: object = None) -> np.ndarray:
        self.callback()
        return self.array


def test_publish_order_slot_busy_while_copying(name: str) -> None:
    """Seqlock order, checked mid-publish: seq odd -> planes -> seq even -> count."""
    with FrameRing.create(name, 32, 16, slots=3) as writer, FrameRing.attach(name) as reader:
        writer.publish(*_planes(32, 16, 0), capture_ns=0)
        first = _latest(reader)
        for index in (1, 2):
            writer.publish(*_planes(32, 16, index), capture_ns=index)
        observed = []

        def probe() -> None:
            latest = _latest(reader)
            copy = reader.read_copy()
            assert copy is not None
            seq = int(reader._table[0, 0])  # slot 0 is being rewritten with frame 3
            observed.append((seq % 2, first.valid(), latest.index, latest.valid(), copy.index))

        y, u, v = _planes(32, 16, 3)
        writer.publish(_Probe(y, probe), u, _Probe(v, probe), capture_ns=3)  # type: ignore[arg-type]
        assert observed == [(1, False, 2, True, 2)] * 2
        latest = _latest(reader)
        assert latest.index == 3 and latest.seq % 2 == 0 and latest.valid()
        assert np.array_equal(latest.y, y) and not first.valid()


def test_wait_newer_and_closed_flag(name: str) -> None:
    writer = FrameRing.create(name, 32, 16)
    reader = FrameRing.attach(name)
    assert reader.wait_newer(-1, 0.05) is None
    planes = _planes(32, 16, 0)
    timer = threading.Timer(0.1, writer.publish, args=planes, kwargs={"capture_ns": 7})
    timer.start()
    view = reader.wait_newer(-1, 5.0)
    timer.join()
    assert view is not None and view.index == 0 and view.capture_ns == 7
    assert reader.wait_newer(0, 0.05) is None
    assert not reader.closed
    writer.close()
    assert reader.closed and writer.closed
    reader.close()
    writer.unlink()
    assert not _shm_path(name).exists()


def test_a_sleeping_reader_wakes_for_a_frame_and_for_the_close(name: str) -> None:
    """``wait_newer`` sleeps on the ring's count (a futex), not on a timer: a publish or the
    writer's close ends the wait long before its 30 s timeout."""
    writer = FrameRing.create(name, 32, 16)
    reader = FrameRing.attach(name)
    got: list[FrameView | None] = []
    for act, last in ((lambda: writer.publish(*_planes(32, 16, 1), capture_ns=9), -1),
                      (writer.close, 0)):  # fmt: skip
        sleeper = threading.Thread(target=lambda last=last: got.append(reader.wait_newer(last, 30)))
        sleeper.start()
        time.sleep(0.2)  # asleep by now
        act()
        sleeper.join(10)
        assert not sleeper.is_alive()
    assert got[0] is not None and got[0].capture_ns == 9 and got[1] is None
    reader.close()
    writer.unlink()


def test_close_keeps_live_views_mapped_until_dropped(name: str) -> None:
    writer = FrameRing.create(name, 64, 32)
    planes = _planes(64, 32, 3)
    writer.publish(*planes, capture_ns=1)
    reader = FrameRing.attach(name)
    view = _latest(reader)
    reader.close()
    writer.close()
    writer.unlink()
    assert np.array_equal(view.y, planes[0]) and view.valid()  # still mapped, no crash
    assert _mappings(name) >= 1
    del view
    assert _mappings(name) == 0


def test_attach_errors_and_stale_segment_replacement(name: str) -> None:
    with pytest.raises(FileNotFoundError):
        FrameRing.attach(name)
    stale = SharedMemory(name, create=True, size=4096)
    resource_tracker.unregister("/" + stale.name, "shared_memory")
    assert stale.buf is not None
    stale.buf[:64] = b"\xab" * 64
    stale.close()
    with pytest.raises(ValueError, match="not a version"):
        FrameRing.attach(name)
    writer = FrameRing.create(name, 160, 90, slots=5)
    with FrameRing.attach(name) as reader:
        assert (reader.width, reader.height, reader.slots) == (160, 90, 5)
        writer.publish(*_planes(160, 90, 0), capture_ns=3)
        assert _latest(reader).capture_ns == 3
    writer.close()
    # A live ring is replaced too (a restarted writer that skipped cleanup).
    again = FrameRing.create(name, 8, 8)
    assert FrameRing.attach(name).width == 8
    again.close()
    with pytest.raises(ValueError):
        FrameRing.create(name, 8, 8, slots=2)


def test_reader_process_exit_does_not_unlink(name: str) -> None:
    writer = FrameRing.create(name, 48, 32)
    writer.publish(*_planes(48, 32, 0), capture_ns=42)
    code = (
        "import sys\nfrom nvr.frames.ring import FrameRing\n"
        "r = FrameRing.attach(sys.argv[1])\nprint(r.latest().capture_ns)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, name], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "42"
    assert _shm_path(name).exists()
    assert _latest(FrameRing.attach(name)).capture_ns == 42
    writer.close()

    # Control: a plain SharedMemory attach does unlink on exit, so this test can see the bug.
    plain = "import sys\nfrom multiprocessing.shared_memory import SharedMemory\n"
    plain += "SharedMemory(sys.argv[1])\n"
    subprocess.run([sys.executable, "-c", plain, name], capture_output=True, timeout=60)
    assert not _shm_path(name).exists()


def test_remove_after_writer_sigkill(name: str) -> None:
    ready = SPAWN.Event()
    proc = SPAWN.Process(target=_crashing_writer, args=(name, ready), daemon=True)
    proc.start()
    try:
        assert ready.wait(60), "writer did not start"
    finally:
        proc.kill()
        proc.join(30)
    assert proc.exitcode == -9
    assert _shm_path(name).exists()  # the writer's own exit does not clean up either
    with FrameRing.attach(name) as reader:
        assert not reader.closed and _latest(reader).capture_ns == 1
    assert FrameRing.remove(name)
    assert not _shm_path(name).exists()
    assert not FrameRing.remove(name)
    with pytest.raises(FileNotFoundError):
        FrameRing.attach(name)


def test_concurrent_writer_never_yields_a_mixed_frame(name: str) -> None:
    width, height = 161, 91
    ready = SPAWN.Event()
    proc = SPAWN.Process(target=_hammer_writer, args=(name, width, height, 2.0, ready), daemon=True)
    proc.start()
    try:
        assert ready.wait(60), "writer did not start"
        ring = FrameRing.attach(name)
        out = _empty(width, height)
        seen: set[int] = set()
        copies = rejected = held_rejected = starved = 0
        deadline = time.monotonic() + 30
        iteration = 0
        while not ring.closed and time.monotonic() < deadline:
            iteration += 1
            view = ring.latest()
            if view is None:
                continue
            if iteration % 25 == 0:
                time.sleep(0.002)  # hold the view while the writer laps the ring
            ok = _consistent(view, width, height)
            if view.valid():
                assert ok, f"frame {view.index} was mixed but validated"
                seen.add(view.index)
            else:
                rejected += 1
                held_rejected += iteration % 25 == 0
            copy = ring.read_copy(out)
            if copy is None:  # a writer that never waits lapped every retry (see read_copy)
                starved += 1
                continue
            assert copy.valid()
            assert _consistent(copy, width, height), f"copy of frame {copy.index} was mixed"
            copies += 1
        assert ring.closed, "writer did not finish in time"
        last = ring.latest()
        assert last is not None and _consistent(last, width, height) and last.valid()
        ring.close()
    finally:
        proc.join(30)
        if proc.is_alive():
            proc.kill()
    assert proc.exitcode == 0
    print(
        f"\nframe ring hammer: {last.index + 1} published, {len(seen)} distinct validated, "
        f"{copies} copies ({starved} starved), {rejected} views rejected ({held_rejected} of "
        "them held)"
    )
    assert len(seen) >= 200 and copies >= 200
    assert starved <= copies // 100, f"{starved} copies starved of {copies}"
    assert held_rejected > 0, "holding a view across writer laps was never detected"
