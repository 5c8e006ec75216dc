"""Capacity: N synthetic cameras through the real engine, CPU and memory of the whole tree.

Each camera loops the demo clips in real time (1080p15 main remuxed and recorded continuously,
360p15 sub decoded and analysed for motion). ``nvr run`` is started as a subprocess in its own
session; once every camera is live and the engine has settled, the engine process and all its
descendants (supervisor, forkserver, workers, resource tracker) are sampled with psutil: CPU as
a percentage of one core over the window, memory as PSS (shared pages split between sharers).
The CPU row's note splits the cost per camera by part (the engine, each worker thread by its
OS name, the decoders' threads, the helper processes).
Goals (reported, not gated): 64 cameras under one core and under 1.5 GB, and ``/health``
answering within 200 ms while their 64 workers start (``start_rows``).
"""

from __future__ import annotations

import logging
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.measure import Row, demo_clips, error_note, make_row
from nvr.errors import NvrError
from nvr.protocol.client import EngineClient
from nvr.protocol.health import CameraStatus
from nvr.protocol.runfile import read_run_file

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
GOAL_CAMERAS = 64
GOAL_CPU_PCT = 100.0
GOAL_PSS_MB = 1500.0
GOAL_START_CAMERAS = 64  # /health answers within GOAL_HEALTH_MS while this many start
GOAL_HEALTH_MS = 200.0
STOP_TIMEOUT_S = 30.0
# A busy engine (32 workers starting on 2 cores) can take seconds to answer /health.
HTTP_TIMEOUT_S = 15.0


@dataclass(frozen=True, slots=True)
class Capacity:
    """One engine run: whole-tree CPU (% of one core) and PSS (MB), and per-camera health."""

    cameras: int
    live: int
    cpu_pct: float
    pss_mb: float
    processes: int
    fps_in: list[float]
    fps_out: list[float]
    per_camera_pct: dict[str, float]  # % of a core per camera, by part (``_thread_cpu_s``)


def write_config(folder: Path, cameras: int) -> Path:
    """A config with ``cameras`` demo cameras recording continuously, storage in ``folder``.
    It keeps 1GB free rather than the default 5GB, so a bench on a fuller disk measures recording,
    not retention deleting what it just wrote."""
    main, sub = demo_clips()
    lines = [
        "storage:",
        f"  path: {folder / 'storage'}",
        "  min_free_bytes: 1GB",
        "api:",
        "  port: 0",
        "logging:",
        "  level: WARNING",
        "cameras:",
    ]
    for i in range(cameras):
        lines += [
            f"  - id: cam{i:02d}",
            f"    main: {main}",
            f"    sub: {sub}",
            "    record:",
            "      mode: continuous",
        ]
    path = folder / "nvr.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _tree(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _cpu_s(procs: list[psutil.Process]) -> dict[tuple[int, float], float]:
    """User + system CPU seconds of each live process, keyed by (pid, create time)."""
    out = {}
    for p in procs:
        try:
            t = p.cpu_times()
            out[(p.pid, p.create_time())] = t.user + t.system
        except psutil.NoSuchProcess:
            continue
    return out


def _thread_cpu_s(procs: list[psutil.Process], engine_pid: int) -> dict[str, float]:
    """CPU seconds by part: the engine process, each worker thread by its OS name
    (``nvr.worker.process.name_thread``: the main thread demuxes and records, ``sub`` decodes
    and detects motion), the decoders' own threads, and the helper processes."""
    parts: dict[str, float] = {}
    for proc in procs:
        try:
            threads = proc.threads()
            worker = proc.pid != engine_pid and proc.name().startswith("nvr ")
        except psutil.NoSuchProcess:
            continue
        for thread in threads:
            if proc.pid == engine_pid:
                part = "engine"
            elif not worker:
                part = "helpers"
            elif thread.id == proc.pid:
                part = "main"
            else:
                try:
                    comm = Path(f"/proc/{proc.pid}/task/{thread.id}/comm").read_text().strip()
                except OSError:
                    continue
                part = comm[4:] if comm.startswith("nvr ") else "decoder threads"
            parts[part] = parts.get(part, 0.0) + thread.user_time + thread.system_time
    return parts


def _pss_mb(procs: list[psutil.Process]) -> float:
    total = 0
    for p in procs:
        try:
            total += p.memory_full_info().pss
        except psutil.NoSuchProcess:
            continue
    return total / 1e6


class EngineRun:
    """``python -m nvr run -c CONFIG`` in its own session; ``stop`` ends it (SIGTERM, then KILL)."""

    def __init__(self, storage: Path, log: Path) -> None:
        self.storage = storage
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.api = ""

    def start(self, config: Path, timeout_s: float) -> None:
        """Start the engine and wait for its run file (API address)."""
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "nvr", "run", "-c", str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"engine exited with {self.proc.returncode}: {self.tail()}")
            try:
                info = read_run_file(self.storage)
            except (OSError, ValueError):
                info = None
            if info is not None and info.pid == self.proc.pid:
                self.api = info.api
                return
            time.sleep(0.2)
        raise RuntimeError(f"engine API did not come up within {timeout_s:.0f} s: {self.tail()}")

    def cameras(self) -> list[CameraStatus]:
        """Per-camera health from /health."""
        return list(EngineClient(self.api, timeout_s=HTTP_TIMEOUT_S).health().cameras.values())

    def wait_live(self, cameras: int, timeout_s: float) -> None:
        """Poll /health until ``cameras`` cameras are live or ``timeout_s`` passes."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"engine exited with {self.proc.returncode}: {self.tail()}")
            try:
                if sum(1 for c in self.cameras() if c.state == "live") >= cameras:
                    return
            except NvrError:  # slow to answer while workers start: ask again
                pass
            time.sleep(0.5)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""

    def stop(self) -> None:
        """SIGTERM for a clean stop; SIGKILL the engine's own process group if it hangs."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)


def measure_capacity(cameras: int, settle_s: float, sample_s: float) -> Capacity:
    """Run the engine with ``cameras`` cameras and sample its process tree."""
    with tempfile.TemporaryDirectory(prefix="nvr-bench-capacity-") as tmp:
        folder = Path(tmp)
        config = write_config(folder, cameras)
        engine = EngineRun(folder / "storage", folder / "engine.out")
        try:
            engine.start(config, timeout_s=60)
            assert engine.proc is not None
            engine.wait_live(cameras, timeout_s=30 + 2 * cameras)
            time.sleep(settle_s)
            root = psutil.Process(engine.proc.pid)
            before = _cpu_s(_tree(root))
            parts_before = _thread_cpu_s(_tree(root), root.pid)
            start = time.monotonic()
            pss = [_pss_mb(_tree(root))]
            time.sleep(sample_s / 2)
            pss.append(_pss_mb(_tree(root)))
            time.sleep(max(0.0, start + sample_s - time.monotonic()))
            procs = _tree(root)
            after = _cpu_s(procs)
            parts_after = _thread_cpu_s(procs, root.pid)
            wall = time.monotonic() - start
            pss.append(_pss_mb(procs))
            health = engine.cameras()
        finally:
            engine.stop()
    used = sum(cpu - before.get(key, 0.0) for key, cpu in after.items())
    parts = {
        part: 100 * (cpu - parts_before.get(part, 0.0)) / wall / cameras
        for part, cpu in parts_after.items()
    }
    return Capacity(
        per_camera_pct=dict(sorted(parts.items(), key=lambda kv: -kv[1])),
        cameras=cameras,
        live=sum(1 for c in health if c.state == "live"),
        cpu_pct=100 * used / wall,
        pss_mb=statistics.median(pss),
        processes=len(procs),
        fps_in=[c.fps_in for c in health],
        fps_out=[c.fps_out for c in health],
    )


@dataclass(frozen=True, slots=True)
class StartLatency:
    """``/health`` answer times while the workers start, and how long they took to go live."""

    cameras: int
    answers_ms: list[float]
    unanswered: int  # asks that got no answer within HTTP_TIMEOUT_S
    live_after_s: float
    live: int


def health_while_starting(cameras: int, poll_s: float = 0.1) -> StartLatency:
    """Ask ``/health`` every ``poll_s`` from the moment the engine's API is up until every
    camera is live (and 5 s more), timing each answer."""
    with tempfile.TemporaryDirectory(prefix="nvr-bench-start-") as tmp:
        folder = Path(tmp)
        config = write_config(folder, cameras)
        engine = EngineRun(folder / "storage", folder / "engine.out")
        answers: list[float] = []
        unanswered = live = 0
        try:
            engine.start(config, timeout_s=60)
            client = EngineClient(engine.api, timeout_s=HTTP_TIMEOUT_S)
            start = time.monotonic()
            all_live_at: float | None = None
            deadline = start + 30 + 2 * cameras
            while (now := time.monotonic()) < deadline:
                try:
                    health = client.health()
                except NvrError:
                    unanswered += 1
                else:
                    answers.append(1000 * (time.monotonic() - now))
                    live = sum(1 for c in health.cameras.values() if c.state == "live")
                    if live == cameras and all_live_at is None:
                        all_live_at = time.monotonic()
                if all_live_at is not None and now - all_live_at > 5:
                    break
                time.sleep(max(0.0, now + poll_s - time.monotonic()))
        finally:
            engine.stop()
    live_after = (all_live_at or time.monotonic()) - start
    return StartLatency(cameras, answers, unanswered, live_after, live)


def _did_not_run(name: str, err: Exception) -> Row:
    return Row(
        f"{name}: did not run",
        "",
        math.nan,
        target="runs",
        passed=False,
        group="capacity",
        note=error_note(err),
    )


def start_rows(quick: bool) -> list[Row]:
    """``/health``'s slowest answer while the workers of GOAL_START_CAMERAS cameras start (16
    when quick)."""
    cameras = 16 if quick else GOAL_START_CAMERAS
    try:
        run = health_while_starting(cameras)
    except (OSError, RuntimeError) as err:
        log.exception("start run with %d cameras failed", cameras)
        return [_did_not_run(f"/health while {cameras} workers start", err)]
    ms = sorted(run.answers_ms) or [math.nan]
    worst = math.inf if run.unanswered else ms[-1]
    return [
        make_row(
            f"/health while {cameras} workers start: slowest answer",
            "ms",
            worst,
            below=GOAL_HEALTH_MS,
            group="capacity",
            note=(
                f"median {statistics.median(ms):.1f} ms, p95 {ms[int(0.95 * (len(ms) - 1))]:.1f} "
                f"ms over {len(run.answers_ms)} answers ({run.unanswered} unanswered); "
                f"{run.live}/{cameras} live after {run.live_after_s:.1f} s"
            ),
            detail={"answers_ms": run.answers_ms, "live_after_s": run.live_after_s},
        )
    ]


def capacity_rows(quick: bool) -> list[Row]:
    """CPU and PSS rows for each camera count; the goals apply at GOAL_CAMERAS."""
    counts = (1, 4) if quick else (1, 4, 16, 32, 64)
    settle_s, sample_s = (2.0, 4.0) if quick else (10.0, 20.0)
    rows: list[Row] = []
    for n in counts:
        try:
            run = measure_capacity(n, settle_s, sample_s)
        except (OSError, RuntimeError) as err:  # the other camera counts still run
            log.exception("capacity run with %d cameras failed", n)
            rows.append(_did_not_run(f"capacity {n} cameras", err))
            continue
        goal = n == GOAL_CAMERAS
        detail = {
            "cameras": n,
            "live": run.live,
            "processes": run.processes,
            "cpu_pct": run.cpu_pct,
            "pss_mb": run.pss_mb,
            "fps_in": run.fps_in,
            "fps_out": run.fps_out,
            "per_camera_pct": run.per_camera_pct,
        }
        profile = ", ".join(f"{part} {pct:.2f}" for part, pct in run.per_camera_pct.items())
        fps = (
            f"fps_in min {min(run.fps_in):.1f} median {statistics.median(run.fps_in):.1f}"
            if run.fps_in
            else "no fps"
        )
        rows += [
            make_row(
                f"capacity {n} cameras: CPU",
                "% of a core",
                run.cpu_pct,
                below=GOAL_CPU_PCT if goal else None,
                group="capacity",
                note=f"{run.cpu_pct / n:.2f} %/camera ({profile}); {run.live}/{n} live; {fps}",
                detail=detail,
            ),
            make_row(
                f"capacity {n} cameras: PSS",
                "MB",
                run.pss_mb,
                below=GOAL_PSS_MB if goal else None,
                group="capacity",
                note=f"{run.pss_mb / n:.0f} MB/camera; {run.processes} processes",
                detail=detail,
            ),
        ]
    return rows
