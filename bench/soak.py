"""``nvr soak``: the engine (and optionally the console) for hours, sampled, with faults injected.

The engine runs ``nvr run`` on a copy of the configuration (the faults edit the copy, never the
user's file). Every ``sample_s`` seconds each process of the engine's tree and the console is
sampled (PSS, open files, threads), with the engine's ``/health`` (restarts, packets and frames)
and the catalog (recordings, gaps, size). Each period (an hour by default) becomes one row of the
report: the figures of its last sample, and what happened during it. At the end the growth of
memory, open files and threads is fitted over the run (after the warm-up) and held against
``Bounds``; the run fails when one is exceeded. The fit goes through the median of each quarter
hour, not through every sample: a process's PSS swings by tens of MB from minute to minute (the
console's textures, shared pages re-split after a kill) without trending, and one fit through
those swings can cross a bound by chance; a leak moves every median. The report goes to
``soak.json``, ``soak.md`` and ``soak.png`` in the output folder; ``Soak.rejudge`` reads a
``soak.json`` back and judges it again with these rules.

Faults (``--faults``), one every ``fault_every_s`` in turn:
- ``kill``: SIGKILL one camera's worker (the supervisor must restart it);
- ``away``: the camera's main address is made unreachable in the configuration, and put back
  ``away_s`` later (a camera that stops and returns);
- ``edit``: a motion setting is changed in the configuration (applied without a restart), and
  put back at the next fault.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError
from ruamel.yaml import YAML

from bench.capacity import ROOT, EngineRun
from nvr.config import load_config
from nvr.errors import NvrError
from nvr.protocol.client import EngineClient
from nvr.storage.catalog import Catalog

log = logging.getLogger(__name__)

WARMUP_SHARE = 0.1  # the first tenth of the run (at least one sample) is not fitted,
WARMUP_H = 1.0  # nor its first hour (the engine's hour of worker history fills in it),
# but never more than the first half of the run
MIN_FIT_H = 0.5  # a shorter fit is start-up noise: its growth is reported, not judged
BIN_S = 900.0  # growth is fitted through the median of each quarter hour of samples,
MIN_BINS = 4  # or of each quarter of a shorter fit;
MIN_MEDIANS = 3  # growth is judged only through this many medians at least
AWAY_URL = "rtsp://127.0.0.1:9/soak-camera-away"  # the discard port: nothing answers there
HTTP_TIMEOUT_S = 15.0
FAULTS = ("kill", "away", "edit")
STOPPED = "the run stopped after"  # how a failure for a run cut short begins
MAX_HOURS = 24 * 365.0
FIGURES = ("pid", "pss_mb", "fds", "threads")  # what is sampled of each process


@dataclass(frozen=True, slots=True)
class Bounds:
    """Growth a healthy run stays within; each is fitted per hour over the run after warm-up."""

    pss_mb_per_h: float = 20.0  # the whole tree (engine, workers, console)
    process_pss_mb_per_h: float = 8.0  # any one process (a worker by its camera)
    fds_per_h: float = 4.0  # open files, the whole tree
    threads_per_h: float = 2.0  # threads, the whole tree
    uncataloged_per_camera: int = 2  # segment files on disk not in the catalog, at the end
    lost_frames_share: float = 0.02  # analysis packets in that never became frames
    unexpected_restarts: int = 0  # worker restarts beyond the kills injected


@dataclass(slots=True)
class Sample:
    """One look at the running system."""

    t_s: float  # since the start
    processes: dict[str, dict[str, float]]  # role -> pid, pss_mb, fds, threads
    restarts: int
    states: dict[str, str]
    main_in: float  # main-stream packets received since the last sample, all cameras
    sub_in: float  # analysis-stream packets received
    frames_out: float  # decoded frames published to the rings
    recordings: int
    gaps: int
    catalog_mb: float

    def total(self, key: str) -> float:
        return sum(p[key] for p in self.processes.values())


@dataclass(slots=True)
class Period:
    """One row of the report: the state at the period's end, and its events."""

    index: int
    end_s: float
    pss_mb: float
    fds: int
    threads: int
    worst_pss: str  # the process with the most PSS, and how much
    restarts: int  # during the period
    kills: int  # injected during the period
    main_in: int
    sub_in: int
    frames_out: int
    segments_on_disk: int
    recordings: int  # cataloged, at the end
    gaps: int  # new during the period
    catalog_mb: float


@dataclass(slots=True)
class Verdict:
    """The fitted growth against the bounds."""

    fitted: dict[str, float]  # per hour
    projected_48h: dict[str, float]
    failures: list[str] = field(default_factory=list)
    growth_judged: bool = True  # False: the run was too short to tell growth from start-up
    worst_process: str = ""  # the process whose PSS grew the most
    fitted_from_s: float = 0.0  # the fit's window: after the warm-up, to the end
    fitted_to_s: float = 0.0
    bin_s: float = 0.0  # the fit goes through the median of each bin this long


class _SavedVerdict(BaseModel):
    failures: list[str]


class _Saved(BaseModel):
    """What ``Soak.rejudge`` reads back from a ``soak.json`` (its other keys are derived)."""

    model_config = ConfigDict(allow_inf_nan=False)
    config: str
    hours: float = Field(gt=0, le=MAX_HOURS)
    sample_s: float = Field(gt=0)
    faults: bool
    console: bool
    verdict: _SavedVerdict
    periods: list[Period]
    events: list[tuple[float, str]]
    samples: list[Sample] = Field(min_length=1)
    camera_ids: list[str] | None = None  # the enabled cameras (absent from the first reports)

    @model_validator(mode="after")
    def _whole_samples(self) -> _Saved:
        """Every process sampled with each of ``FIGURES``, and the samples in time order."""
        for i, sample in enumerate(self.samples):
            for role, figures in sample.processes.items():
                missing = sorted(set(FIGURES) - figures.keys())
                if missing:
                    raise PydanticCustomError(
                        "soak_sample",
                        "sample {i} of {role} lacks {missing}",
                        {"i": i, "role": role, "missing": ", ".join(missing)},
                    )
        times = [s.t_s for s in self.samples]
        if times[0] < 0 or any(b <= a for a, b in zip(times, times[1:], strict=False)):
            raise PydanticCustomError("soak_order", "its samples are not in time order from 0")
        return self


class _Signalled(Exception):
    """SIGTERM or SIGHUP: the run ends early, cleanly, with its report."""


def _raise_signalled(signum: int, _frame: Any) -> None:
    for sig in (signal.SIGTERM, signal.SIGHUP):  # the cleanup runs undisturbed
        signal.signal(sig, signal.SIG_IGN)
    raise _Signalled(signal.Signals(signum).name)


class Soak:
    """One soak run; ``run`` returns the exit status (0: within bounds)."""

    def __init__(
        self,
        config: Path,
        hours: float,
        out: Path,
        sample_s: float = 60.0,
        period_s: float = 3600.0,
        faults: bool = False,
        fault_every_s: float = 300.0,
        away_s: float = 60.0,
        console: bool = False,
        bounds: Bounds | None = None,
    ) -> None:
        self.source = config
        self.seconds = hours * 3600
        self.out = out
        self.sample_s = sample_s
        self.period_s = period_s
        self.faults = faults
        self.fault_every_s = fault_every_s
        self.away_s = away_s
        self.with_console = console
        self.bounds = bounds or Bounds()
        self.config = out / "config.yaml"
        self.samples: list[Sample] = []
        self.periods: list[Period] = []
        self.events: list[tuple[float, str]] = []  # (t_s, what was done)
        self.kills = 0
        self.faults_done = 0
        self._period_start = 0  # the first sample of the period under way
        self._away: tuple[float, str, Any] | None = None  # (back when, camera, its address)
        self._start = 0.0
        self._last_poll = 0.0
        self._rng = random.Random(17)
        self._gaps_before = 0

    # -- the run ---------------------------------------------------------------------------

    def run(self) -> int:
        cfg = load_config(self.source)  # a broken configuration stops here, with its reason
        self.out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.source, self.config)
        self.storage = Path(cfg.storage.path)
        self.cameras = [c.id for c in cfg.cameras if c.enabled]
        engine = EngineRun(self.storage, self.out / "engine.out")
        console: subprocess.Popen[bytes] | None = None
        stopped: str | None = None  # why the run ended before its time
        previous = {
            sig: signal.signal(sig, _raise_signalled) for sig in (signal.SIGTERM, signal.SIGHUP)
        }
        try:
            self._start_engine(engine)
            assert engine.proc is not None
            if self.with_console:
                console = self._start_console()
            print(
                f"soak: {_cameras(len(self.cameras))} live; running {self.seconds / 3600:g} h, "
                f"report in {self.out} (Ctrl-C ends it early, with the report)",
                flush=True,
            )
            try:
                self._loop(engine.proc.pid, console)
            except (NvrError, psutil.Error) as err:  # the engine or the console went away
                stopped = str(err) or type(err).__name__
        except KeyboardInterrupt:
            stopped = "stopped by the user (Ctrl-C)"
        except _Signalled as signalled:
            stopped = f"stopped by {signalled}"
        finally:
            if console is not None:
                _stop(console)
            engine.stop()
            for number, handler in previous.items():
                signal.signal(number, handler)
        if not self.samples:
            raise NvrError(f"the soak stopped before its first sample: {stopped}")
        if stopped is not None and self._period_start < len(self.samples):
            self._close_period()  # the period cut short
        verdict = self.verdict()
        if stopped is not None:
            ran = _clock(self.samples[-1].t_s)
            verdict.failures.insert(0, f"{STOPPED} {ran}: {stopped}")
        return self.report(verdict)

    @classmethod
    def rejudge(cls, saved: Path) -> tuple[Soak, Verdict, list[str]]:
        """A finished run, read back from its ``soak.json``, judged by the current rules (a run
        that stopped early still fails for it), and the failures it was saved with; ``report``
        then writes the files anew."""
        try:
            doc = _Saved.model_validate_json(saved.read_bytes())
        except OSError as err:
            raise NvrError(f"cannot read {saved}: {err.strerror}") from None
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "the file"
            raise NvrError(
                f"{saved} is not a report of nvr soak ({where}: {first['msg']}); give the "
                "soak.json that a soak run wrote"
            ) from None
        soak = cls(
            Path(doc.config),
            doc.hours,
            saved.parent,
            sample_s=doc.sample_s,
            faults=doc.faults,
            console=doc.console,
        )
        soak.samples = doc.samples
        soak.periods = doc.periods
        soak.events = doc.events
        soak.cameras = doc.camera_ids or sorted(soak.samples[-1].states)  # saved since 12-06
        stopped = [f for f in doc.verdict.failures if f.startswith(STOPPED)]
        soak.kills = sum(1 for _, w in soak.events if _is_kill(w))
        soak.faults_done = sum(1 for _, w in soak.events if not _comes_back(w))
        verdict = soak.verdict()
        verdict.failures[:0] = stopped
        return soak, verdict, doc.verdict.failures

    def report(self, verdict: Verdict) -> int:
        """Print the report, then write its files; the exit status (0: within bounds)."""
        print(self.markdown(verdict))
        self.write(verdict)
        return 1 if verdict.failures else 0

    def _start_engine(self, engine: EngineRun) -> None:
        """Start the engine and wait for every camera to be live; NvrError naming those that
        are not."""
        wait_s = 60 + 2 * len(self.cameras)
        try:
            engine.start(self.config, timeout_s=120)
            engine.wait_live(len(self.cameras), timeout_s=wait_s)
            self.api = engine.api
            cams = {c.id: c for c in engine.cameras()}
        except (RuntimeError, NvrError) as err:
            raise NvrError(f"the engine did not start: {err}") from None
        down = [
            f"{c} ({cams[c].state}: {cams[c].error or 'no reason given'})" if c in cams else c
            for c in self.cameras
            if c not in cams or cams[c].state != "live"
        ]
        if down:
            raise NvrError(
                f"not live after {wait_s} s: {', '.join(down)}; check their addresses (see "
                f"{self.out / 'engine.out'}), or disable them for the soak"
            )

    def _start_console(self) -> subprocess.Popen[bytes]:
        if not os.environ.get("DISPLAY"):
            raise NvrError("--console needs a display: run under xvfb-run, or set DISPLAY")
        with (self.out / "console.out").open("ab") as out:
            return subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "nvr",
                    "console",
                    "-c",
                    str(self.config),
                    "--state",
                    str(self.out / "console.json"),
                    "--alarm-sound",
                    "off",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                start_new_session=True,
            )

    def _loop(self, engine_pid: int, console: subprocess.Popen[bytes] | None) -> None:
        """Sample, close periods and inject faults until the time is up; a camera made
        unreachable is put back however the loop ends."""
        self._start = self._last_poll = time.monotonic()
        self._poll_health()  # the counters start from here
        self._gaps_before = self._catalog()[1]  # a soak on used storage counts its own gaps
        try:
            self._run_until_done(engine_pid, console)
        finally:
            if self._away is not None:
                self._set_camera(self._away[1], "main", self._away[2])
                self._event(f"away: {self._away[1]} back")
                self._away = None
        deadline = time.monotonic() + 60  # a camera put back reconnects before the last look
        while time.monotonic() < deadline and any(
            c.state != "live" for c in self._client().health().cameras.values() if c.enabled
        ):
            time.sleep(1)
        self.samples.append(self._sample(engine_pid, console))
        if self._period_start < len(self.samples):
            self._close_period()

    def _run_until_done(self, engine_pid: int, console: subprocess.Popen[bytes] | None) -> None:
        next_sample = self._start + self.sample_s
        next_fault = self._start + self.fault_every_s
        next_period = self._start + self.period_s
        end = self._start + self.seconds
        edited: tuple[str, Any] | None = None
        while (now := time.monotonic()) < end:
            if console is not None and console.poll() is not None:
                raise NvrError(f"the console exited with {console.returncode}: see console.out")
            if now >= next_sample:  # before a fault due at the same time: no dip sampled
                self.samples.append(self._sample(engine_pid, console))
                next_sample += self.sample_s
            if now >= next_period:
                self._close_period()
                next_period += self.period_s
            if self._away is not None and now >= self._away[0]:
                self._set_camera(self._away[1], "main", self._away[2])
                self._event(f"away: {self._away[1]} back")
                self._away = None
            if self.faults and now >= next_fault:
                kind = FAULTS[self.faults_done % len(FAULTS)]
                if kind == "away" and self._away is not None:  # one camera away at a time
                    kind = "kill"
                self.faults_done += 1
                camera = self._rng.choice(self.cameras)
                if kind == "kill":
                    self._kill(camera)
                elif kind == "away":
                    old = self._set_camera(camera, "main", AWAY_URL)
                    self._away = (now + self.away_s, camera, old)
                    self._event(f"away: {camera} unreachable for {self.away_s:g} s")
                else:
                    edited = self._edit(camera, edited)
                next_fault += self.fault_every_s
            due = [next_sample, next_period, end]
            if self.faults:
                due.append(next_fault)
            if self._away is not None:
                due.append(self._away[0])
            time.sleep(max(0.05, min(due) - time.monotonic()))

    def _close_period(self) -> None:
        period = self._period(self._period_start)
        self.periods.append(period)
        self._period_start = len(self.samples)
        print(
            f"soak: period {period.index} (to {_clock(period.end_s)}): PSS"
            f" {period.pss_mb:.0f} MB, {period.fds} open files, {period.threads} threads,"
            f" {period.restarts} restarts ({period.kills} kills), {period.gaps} new gaps",
            flush=True,
        )

    # -- faults ----------------------------------------------------------------------------

    def _event(self, what: str) -> None:
        self.events.append((round(time.monotonic() - self._start, 1), what))
        log.info("soak: %s", what)

    def _kill(self, camera: str) -> None:
        pid = self._client().health().cameras[camera].pid
        if pid is None:
            self._event(f"kill: {camera} has no worker now; skipped")
            return
        os.kill(pid, signal.SIGKILL)
        self.kills += 1
        self._event(f"kill: {camera} worker {pid}")

    def _set_camera(self, camera: str, key: str, value: Any) -> Any:
        """Set one key of a camera in the configuration copy; the old value."""
        yaml = YAML()
        data = yaml.load(self.config.read_text())
        entry = next(c for c in data["cameras"] if c["id"] == camera)
        old = entry.get(key)
        entry[key] = value
        tmp = self.config.with_suffix(".tmp")
        with tmp.open("w") as f:
            yaml.dump(data, f)
        tmp.replace(self.config)
        return old

    def _edit(self, camera: str, edited: tuple[str, Any] | None) -> tuple[str, Any] | None:
        """Change one camera's motion threshold, or put the last change back."""
        if edited is not None:
            self._set_camera(edited[0], "motion", edited[1])
            self._event(f"edit: {edited[0]} motion settings put back")
            return None
        yaml = YAML()
        entry = next(c for c in yaml.load(self.config.read_text())["cameras"] if c["id"] == camera)
        old = entry.get("motion")
        motion = dict(old or {})
        threshold = int(motion.get("threshold", 25))
        motion["threshold"] = threshold + 5 if threshold < 250 else threshold - 5  # 1..254
        self._set_camera(camera, "motion", motion)
        self._event(f"edit: {camera} motion threshold {motion['threshold']}")
        return camera, old

    # -- sampling --------------------------------------------------------------------------

    def _client(self) -> EngineClient:
        return EngineClient(self.api, timeout_s=HTTP_TIMEOUT_S)

    def _poll_health(self) -> tuple[int, dict[str, str], float, float, float, dict[int, str]]:
        """Restarts, states, packets and frames since the last poll (rates times the time
        passed), and each worker's pid."""
        health = self._client().health()
        now = time.monotonic()
        span, self._last_poll = now - self._last_poll, now
        cams = health.cameras.values()
        return (
            sum(c.restarts for c in cams),
            {c.id: c.state for c in cams},
            span * sum(c.main.fps if c.main else 0.0 for c in cams),
            span * sum(c.sub.fps if c.sub else 0.0 for c in cams),
            span * sum(c.fps_out for c in cams),
            {c.pid: f"worker {c.id}" for c in cams if c.pid},
        )

    def _sample(self, engine_pid: int, console: subprocess.Popen[bytes] | None) -> Sample:
        restarts, states, main_in, sub_in, frames_out, workers = self._poll_health()
        roles = {engine_pid: "engine"}
        root = psutil.Process(engine_pid)
        for child in root.children(recursive=True):
            roles[child.pid] = workers.get(child.pid) or _helper_role(child)
        if console is not None:
            roles[console.pid] = "console"
        processes = {}
        for pid, role in roles.items():
            try:
                proc = psutil.Process(pid)
                with proc.oneshot():
                    processes[role] = {
                        "pid": float(pid),
                        "pss_mb": proc.memory_full_info().pss / 1e6,
                        "fds": float(proc.num_fds()),
                        "threads": float(proc.num_threads()),
                    }
            except psutil.Error:  # it ended between the listing and the look
                continue
        recordings, gaps, catalog_mb = self._catalog()
        return Sample(
            t_s=round(time.monotonic() - self._start, 1),
            processes=processes,
            restarts=restarts,
            states=states,
            main_in=main_in,
            sub_in=sub_in,
            frames_out=frames_out,
            recordings=recordings,
            gaps=gaps,
            catalog_mb=catalog_mb,
        )

    def _catalog(self) -> tuple[int, int, float]:
        """Recordings and gaps cataloged, and the catalog's size with its journal."""
        path = self.storage / "catalog.db"
        size = sum(p.stat().st_size for p in (path, path.with_name("catalog.db-wal")) if p.exists())
        catalog = Catalog(path, readonly=True)
        try:
            recordings = sum(cam["recordings"] for cam in catalog.stats().values())
            gaps = len(catalog.gaps())
        finally:
            catalog.close()
        return recordings, gaps, size / 1e6

    def _segments_on_disk(self) -> int:
        """Counted on disk, not from the catalog: what was written but never cataloged."""
        return sum(1 for _ in (self.storage / "recordings").rglob("*.mp4"))

    def _period(self, first: int) -> Period:
        samples = self.samples[first:]
        last = samples[-1]
        before = self.samples[first - 1] if first else None
        start_s = before.t_s if before else 0.0
        kills = sum(1 for t, what in self.events if start_s < t <= last.t_s and _is_kill(what))
        role, worst = max(last.processes.items(), key=lambda kv: kv[1]["pss_mb"])
        return Period(
            index=len(self.periods) + 1,
            end_s=last.t_s,
            pss_mb=round(last.total("pss_mb"), 1),
            fds=int(last.total("fds")),
            threads=int(last.total("threads")),
            worst_pss=f"{role} {worst['pss_mb']:.0f} MB",
            restarts=last.restarts - (before.restarts if before else 0),
            kills=kills,
            main_in=round(sum(s.main_in for s in samples)),
            sub_in=round(sum(s.sub_in for s in samples)),
            frames_out=round(sum(s.frames_out for s in samples)),
            segments_on_disk=self._segments_on_disk(),
            recordings=last.recordings,
            gaps=last.gaps - (before.gaps if before else self._gaps_before),
            catalog_mb=round(last.catalog_mb, 2),
        )

    # -- the verdict -----------------------------------------------------------------------

    def verdict(self) -> Verdict:
        b = self.bounds
        tree_medians = self._medians(lambda s: s.total("pss_mb"))
        fitted = {
            "pss_mb": _fit(tree_medians),
            "fds": self._slope(lambda s: s.total("fds")),
            "threads": self._slope(lambda s: s.total("threads")),
            "catalog_mb": self._slope(lambda s: s.catalog_mb),
        }
        worst_role, worst = "", 0.0
        for role, pid in self._long_lives():
            slope = self._slope(lambda s, r=role, p=pid: _pss_of(s, r, p))
            if slope > worst:
                worst_role, worst = role, slope
        fitted["worst_process_pss_mb"] = worst
        fitted = {k: round(v, 2) for k, v in fitted.items()}  # judged as reported
        worst = fitted["worst_process_pss_mb"]
        last = self.samples[-1] if self.samples else None
        total = {k: last.total(k) if last else 0.0 for k in ("pss_mb", "fds", "threads")}
        ran_h = last.t_s / 3600 if last else 0.0
        hours_left = max(0.0, 48 - ran_h)  # a shrinking figure is held, not cut
        projected = {
            k: round(total[k] + max(0.0, fitted[k]) * hours_left, 1)
            for k in ("pss_mb", "fds", "threads")
        }
        if last is not None:
            projected["catalog_mb"] = round(
                last.catalog_mb + max(0.0, fitted["catalog_mb"]) * hours_left, 1
            )
        failures = []
        window = self._fitted()
        span = window[-1].t_s - window[0].t_s if window else 0.0
        # Long enough (less a sample's jitter), with enough medians to draw a line through.
        judged = span >= MIN_FIT_H * 3600 - self.sample_s and len(tree_medians) >= MIN_MEDIANS
        for key, bound, unit in (
            ("pss_mb", b.pss_mb_per_h, "MB/h"),
            ("fds", b.fds_per_h, "open files/h"),
            ("threads", b.threads_per_h, "threads/h"),
        ):
            if judged and fitted[key] > bound:
                failures.append(f"{key} grew {fitted[key]:+.1f} {unit} (bound {bound:g})")
        if last is not None:
            down = [f"{c} ({state})" for c, state in sorted(last.states.items()) if state != "live"]
            if down:
                failures.append(f"not live at the end: {', '.join(down)}")
        if self.samples and not sum(s.main_in for s in self.samples):
            failures.append("no packets came in from any camera")
        if judged and worst > b.process_pss_mb_per_h:
            failures.append(
                f"{worst_role} PSS grew {worst:+.1f} MB/h (bound {b.process_pss_mb_per_h:g})"
            )
        if self.periods:
            end = self.periods[-1]
            uncataloged = end.segments_on_disk - end.recordings
            allowed = b.uncataloged_per_camera * len(self.cameras)
            if uncataloged > allowed:
                failures.append(f"{uncataloged} segment files not cataloged (bound {allowed})")
        sub_in = sum(s.sub_in for s in self.samples)
        lost = max(0.0, sub_in - sum(s.frames_out for s in self.samples)) / max(1.0, sub_in)
        if lost > b.lost_frames_share:
            failures.append(
                f"{lost:.1%} of analysis packets lost (bound {b.lost_frames_share:.0%})"
            )
        restarts = last.restarts if last else 0
        if restarts - self.kills > b.unexpected_restarts:
            failures.append(
                f"{restarts - self.kills} worker restarts beyond the {self.kills} kills"
            )
        return Verdict(
            fitted,
            projected,
            failures,
            growth_judged=judged,
            worst_process=worst_role,
            fitted_from_s=window[0].t_s if window else 0.0,
            fitted_to_s=window[-1].t_s if window else 0.0,
            bin_s=round(span / _bin_count(span), 1),
        )

    def _fitted(self) -> list[Sample]:
        """The samples after the warm-up, which the growth is fitted over."""
        if not self.samples:
            return []
        end = self.samples[-1].t_s
        warmup = min(max(end * WARMUP_SHARE, WARMUP_H * 3600), end / 2)
        return [s for s in self.samples[1:] if s.t_s >= warmup]

    def _long_lives(self) -> list[tuple[str, float]]:
        """The processes (role, pid) that ran through at least half of the fitted samples: a
        worker restarted late grows back from its start, which is not a leak."""
        fitted = self._fitted()
        seen: dict[tuple[str, float], int] = {}
        for sample in fitted:
            for role, figures in sample.processes.items():
                key = (role, figures["pid"])
                seen[key] = seen.get(key, 0) + 1
        return [key for key, count in seen.items() if count >= len(fitted) / 2]

    def _medians(self, value: Any) -> list[tuple[float, float]]:
        """``(hours, value)``: the median time and median value of each of the fit's equal bins
        (about ``BIN_S`` long, at least ``MIN_BINS`` of them) that holds a sample."""
        points = [(s.t_s, value(s)) for s in self._fitted()]
        points = [(t, v) for t, v in points if not math.isnan(v)]
        if len(points) < 2 or points[-1][0] <= points[0][0]:
            return []
        start, span = points[0][0], points[-1][0] - points[0][0]
        count = _bin_count(span)
        bins: dict[int, list[tuple[float, float]]] = {}
        for t, v in points:
            bins.setdefault(min(int((t - start) / span * count), count - 1), []).append((t, v))
        return [
            (statistics.median(t for t, _ in b) / 3600, statistics.median(v for _, v in b))
            for b in bins.values()
        ]

    def _slope(self, value: Any) -> float:
        """Growth per hour of ``value`` after the warm-up: ``_fit`` of its ``_medians``."""
        return _fit(self._medians(value))

    # -- the report ------------------------------------------------------------------------

    def write(self, verdict: Verdict) -> None:
        doc = {
            "config": str(self.source),
            "cameras": len(self.cameras),
            "camera_ids": self.cameras,
            "hours": self.seconds / 3600,
            "sample_s": self.sample_s,
            "faults": self.faults,
            "console": self.with_console,
            "bounds": asdict(self.bounds),
            "verdict": asdict(verdict),
            "periods": [asdict(p) for p in self.periods],
            "events": self.events,
            "samples": [asdict(s) for s in self.samples],
        }
        names = ("soak.json", "soak.md", "soak.png")
        drafts = [self.out / f".{name}.part" for name in names]
        try:  # all three drafted first: a full disk leaves the files as they were
            drafts[0].write_text(json.dumps(doc, separators=(",", ":")) + "\n")
            drafts[1].write_text(self.markdown(verdict))
            write_chart(self.samples, self.events, verdict, drafts[2])
            for draft, name in zip(drafts, names, strict=True):
                os.replace(draft, self.out / name)
        except OSError as err:
            for draft in drafts:
                with contextlib.suppress(OSError):  # a read-only folder refuses even that
                    draft.unlink(missing_ok=True)
            raise NvrError(
                f"cannot write the report in {self.out}: {err.strerror}; free space or allow "
                "writing there, or copy soak.json to a writable folder with room"
            ) from None

    def markdown(self, verdict: Verdict) -> str:
        rows = [
            "| period | end | PSS MB | open files | threads | largest | restarts (kills) "
            "| main in | analysis in | frames out | segment files (incl. open) | cataloged "
            "| new gaps | catalog MB |",
            "| " + " | ".join(["---"] * 14) + " |",
        ]
        for p in self.periods:
            rows.append(
                f"| {p.index} | {_clock(p.end_s)} | {p.pss_mb:.0f} | {p.fds} | {p.threads} "
                f"| {p.worst_pss} | {p.restarts} ({p.kills}) | {p.main_in} | {p.sub_in} "
                f"| {p.frames_out} | {p.segments_on_disk} | {p.recordings} | {p.gaps} "
                f"| {p.catalog_mb:.2f} |"
            )
        f = verdict.fitted
        lines = [
            f"# Soak: {_cameras(len(self.cameras))}, {_clock(self.seconds)}"
            + (", faults" if self.faults else "")
            + (", console" if self.with_console else ""),
            "",
            *rows,
            "",
            "Packets in and frames out are estimated from each camera's rates at every sample; "
            "segment files include each camera's open segment.",
            "",
            f"Growth per hour, fitted from {_clock(verdict.fitted_from_s)} to "
            f"{_clock(verdict.fitted_to_s)} (after the warm-up) through the median of each "
            f"{_span(verdict.bin_s)} (swings within one are not growth): PSS "
            f"{f['pss_mb']:+.1f} MB "
            f"(most in one process: {verdict.worst_process or 'none'} "
            f"{f['worst_process_pss_mb']:+.1f}), "
            f"open files {f['fds']:+.1f}, threads {f['threads']:+.1f}, catalog "
            f"{f['catalog_mb']:+.2f} MB"
            + (
                "."
                if verdict.growth_judged
                else f" (not judged: fitted over less than {MIN_FIT_H:g} h or fewer than "
                f"{MIN_BINS} samples, start-up noise)."
            ),
            "Projected to 48 h"
            + ("" if verdict.growth_judged else " (from that fit: not a forecast)")
            + ": "
            + ", ".join(
                f"{label} {verdict.projected_48h[key]:.0f}{unit}"
                for key, label, unit in (
                    ("pss_mb", "PSS", " MB"),
                    ("fds", "open files", ""),
                    ("threads", "threads", ""),
                    ("catalog_mb", "catalog", " MB"),
                )
                if key in verdict.projected_48h
            )
            + ".",
            f"Faults injected: {self.faults_done} ({self.kills} kills).",
            "",
            "Result: "
            + (
                "FAIL: " + "; ".join(verdict.failures)
                if verdict.failures
                else "PASS (within bounds)"
                if verdict.growth_judged
                else "PASS on every other check; growth not judged (see above)"
            ),
        ]
        if self.events:
            lines += ["", "## Events", ""]
            lines += [f"- {_clock(t)}: {what}" for t, what in self.events]
        return "\n".join(lines) + "\n"


def _span(seconds: float) -> str:
    """A bin's length: ``15 min``, ``25 s``."""
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def _fit(medians: list[tuple[float, float]]) -> float:
    """The slope of the least-squares line through ``(hours, value)`` medians (0 with fewer
    than ``MIN_MEDIANS``; the verdict then judges nothing)."""
    if len(medians) < MIN_MEDIANS:
        return 0.0
    times, values = zip(*medians, strict=True)
    return statistics.linear_regression(times, values).slope


def _is_kill(event: str) -> bool:
    """An event that killed a worker (not one skipped for want of a worker)."""
    return event.startswith("kill:") and "skipped" not in event


def _comes_back(event: str) -> bool:
    """An event that ends an ``away`` fault (every other event is a fault's turn)."""
    return event.startswith("away:") and event.endswith(" back")


def _bin_count(span_s: float) -> int:
    """How many equal bins a fit of ``span_s`` is cut into: each about ``BIN_S``, at least
    ``MIN_BINS``."""
    return max(MIN_BINS, round(span_s / BIN_S))


def _clock(seconds: float) -> str:
    """``h:mm:ss`` since the start."""
    whole = round(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _cameras(count: int) -> str:
    return f"{count} camera" + ("" if count == 1 else "s")


def _pss_of(sample: Sample, role: str, pid: float) -> float:
    figures = sample.processes.get(role)
    return figures["pss_mb"] if figures and figures["pid"] == pid else math.nan


def _helper_role(proc: psutil.Process) -> str:
    """The engine's own helper processes, by what they run."""
    try:
        cmd = " ".join(proc.cmdline())
    except psutil.Error:
        return f"process {proc.pid}"
    for name in ("forkserver", "resource_tracker"):
        if name in cmd:
            return name
    return f"process {proc.pid}"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def write_chart(
    samples: list[Sample], events: list[tuple[float, str]], verdict: Verdict, path: Path
) -> None:
    """PNG of PSS, open files and threads of the whole tree over the run: faults marked, the
    window the growth was fitted over shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hours = [s.t_s / 3600 for s in samples]
    fig, axes = plt.subplots(3, 1, figsize=(9, 7), sharex=True)
    for ax, key, label in zip(
        axes, ("pss_mb", "fds", "threads"), ("PSS (MB)", "open files", "threads"), strict=True
    ):
        ax.plot(hours, [s.total(key) for s in samples], lw=1.2)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        for t, what in events:
            if not _comes_back(what):
                ax.axvline(t / 3600, color="tab:red", alpha=0.35, lw=1)
        if verdict.fitted_to_s > verdict.fitted_from_s:
            ax.axvspan(verdict.fitted_from_s / 3600, verdict.fitted_to_s / 3600, alpha=0.08)
    axes[-1].set_xlabel("hours (red: faults injected; shaded: the growth's fit, after warm-up)")
    fig.suptitle("nvr soak: the whole process tree")
    fig.tight_layout()
    fig.savefig(path, dpi=90, format="png")
    plt.close(fig)
