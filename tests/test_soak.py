"""``nvr soak``: a short real run (engine, console under Xvfb, faults) and its verdict's rules.

The long runs themselves (2 h here, 48 h on the user's hardware) are in ``bench/RESULTS.md``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from bench.capacity import write_config
from bench.display import VirtualDisplay, xvfb_available
from bench.soak import Bounds, Period, Sample, Soak, Verdict
from nvr.protocol.client import EngineClient
from nvr.protocol.runfile import read_run_file
from tests.conftest import ROOT, wait_for


def test_a_short_soak_with_faults_and_the_console_reports_each_period(tmp_path: Path):
    if not xvfb_available():
        pytest.skip("Xvfb missing: run scripts/setup.sh")
    config = write_config(tmp_path, 2)
    out = tmp_path / "soak"
    with VirtualDisplay() as display:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "nvr",
                "soak",
                "-c",
                str(config),
                "--hours",
                str(100 / 3600),
                "--out",
                str(out),
                "--faults",
                "--fault-every",
                "12",
                "--away",
                "8",
                "--console",
                "--sample-every",
                "4",
                "--period",
                "45",
            ],
            cwd=ROOT,
            env=display.env,
            capture_output=True,
            text=True,
            timeout=400,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((out / "soak.json").read_text())
    assert len(report["periods"]) == 3  # two whole periods and the rest
    events = [what for _, what in report["events"]]
    kills = [e for e in events if e.startswith("kill:")]
    assert kills and any(e.startswith("away:") and "back" in e for e in events)
    assert any(e.startswith("edit:") for e in events)
    # Every kill was a restart the engine counted; the faults' config restarts keep the count.
    assert sum(p["restarts"] for p in report["periods"]) == len(kills)
    last = report["samples"][-1]
    assert {"engine", "forkserver", "console", "worker cam00", "worker cam01"} <= set(
        last["processes"]
    )
    assert all(p["fds"] > 0 and p["threads"] > 0 for p in last["processes"].values())
    end = report["periods"][-1]
    assert end["recordings"] > 0 and 0 <= end["segments_on_disk"] - end["recordings"] <= 4
    assert sum(p["gaps"] for p in report["periods"]) >= len(kills)  # each kill leaves a gap
    assert report["periods"][0]["frames_out"] > 0.9 * report["periods"][0]["sub_in"] > 0
    assert "Result: PASS" in done.stdout and "not judged" in done.stdout  # too short to fit
    assert (out / "soak.png").stat().st_size > 10_000
    assert "| period |" in (out / "soak.md").read_text()
    assert "soak-camera-away" not in (out / "config.yaml").read_text()  # put back at the end


def test_a_soak_whose_engine_dies_reports_what_it_saw(tmp_path: Path):
    """The engine killed an hour into a 48-hour run: the report is still written, and fails
    saying when and why the run stopped."""
    config = write_config(tmp_path, 1)
    out = tmp_path / "soak"
    soak = subprocess.Popen(
        [sys.executable, "-m", "nvr", "soak", "-c", str(config), "--hours", "1",
         "--out", str(out), "--sample-every", "2", "--period", "600"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not (out / "engine.out").exists():
            time.sleep(0.5)
        info = None
        while time.monotonic() < deadline and info is None:
            with contextlib.suppress(OSError, ValueError):
                info = read_run_file(tmp_path / "storage")
            time.sleep(0.5)
        assert info is not None, "the engine did not start"
        wait_for(
            lambda: EngineClient(info.api).health().cameras["cam00"].state == "live",
            60,
            what="camera live",
        )
        time.sleep(8)  # a few samples
        os.kill(info.pid, signal.SIGKILL)
        stdout, stderr = soak.communicate(timeout=120)
    finally:
        if soak.poll() is None:
            soak.kill()
    assert soak.returncode == 1, stdout + stderr
    assert "Result: FAIL: the run stopped after 0:00:" in stdout, stdout
    report = json.loads((out / "soak.json").read_text())
    assert report["samples"] and len(report["periods"]) == 1


def test_a_soak_ended_by_sigterm_stops_its_engine_and_reports(tmp_path: Path):
    """``timeout``, a closed SSH session or a cancelled job end a soak with SIGTERM or SIGHUP:
    the engine it started stops too, and the report says why the run ended."""
    config = write_config(tmp_path, 1)
    out = tmp_path / "soak"
    soak = subprocess.Popen(
        [sys.executable, "-m", "nvr", "soak", "-c", str(config), "--hours", "1",
         "--out", str(out), "--sample-every", "2"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        started = wait_for(
            lambda: soak.stdout is not None and soak.stdout.readline(), 120, what="soak started"
        )
        assert "1 camera live; running 1 h" in started, started
        time.sleep(5)  # a few samples
        info = read_run_file(tmp_path / "storage")
        assert info is not None
        soak.send_signal(signal.SIGTERM)
        stdout, stderr = soak.communicate(timeout=120)
    finally:
        if soak.poll() is None:
            soak.kill()
    assert soak.returncode == 1, stdout + stderr
    assert "Result: FAIL: the run stopped after 0:00:" in stdout and "by SIGTERM" in stdout, stdout
    wait_for(lambda: not psutil.pid_exists(info.pid), 30, what="the engine stopped")
    assert (out / "soak.md").exists()


def _sample(t_h: float, engine_mb: float, worker_mb: float, pid: float = 2.0) -> Sample:
    return Sample(
        t_s=t_h * 3600,
        processes={
            "engine": {"pid": 1.0, "pss_mb": engine_mb, "fds": 40.0, "threads": 12.0},
            "worker cam00": {"pid": pid, "pss_mb": worker_mb, "fds": 20.0, "threads": 5.0},
        },
        restarts=0,
        states={"cam00": "live"},
        main_in=15.0,
        sub_in=15.0,
        frames_out=15.0,
        recordings=0,
        gaps=0,
        catalog_mb=1.0,
    )


def _verdict(samples: list[Sample]) -> Verdict:
    soak = Soak(Path("unused.yaml"), hours=4, out=Path("unused"), bounds=Bounds())
    soak.cameras = ["cam00"]
    soak.samples = samples
    return soak.verdict()


def test_the_verdict_fails_a_leak_and_forgives_a_restarted_worker():
    hours = [i / 10 for i in range(41)]
    steady = _verdict([_sample(t, 200.0, 30.0) for t in hours])
    assert steady.failures == [] and steady.fitted["pss_mb"] == pytest.approx(0.0)
    assert steady.projected_48h["pss_mb"] == pytest.approx(230.0)

    leak = _verdict([_sample(t, 200.0 + 12 * t, 30.0) for t in hours])
    assert leak.fitted["worst_process_pss_mb"] == pytest.approx(12.0)
    assert any("engine PSS grew +12.0 MB/h" in f for f in leak.failures), leak.failures
    assert leak.projected_48h["pss_mb"] == pytest.approx(200 + 12 * 4 + 30 + 12 * 44)

    # Killed at 3.5 h: the new worker grows back from its start; the old one never grew.
    restarted = [
        _sample(t, 200.0, 30.0) if t < 3.5 else _sample(t, 200.0, 10 + 40 * (t - 3.5), pid=3.0)
        for t in hours
    ]
    assert _verdict(restarted).fitted["worst_process_pss_mb"] == pytest.approx(0.0)

    # A camera down at the end, or no packets at all, fails whatever the growth.
    down = [_sample(t, 200.0, 30.0) for t in hours]
    down[-1].states = {"cam00": "reconnecting"}
    assert _verdict(down).failures == ["not live at the end: cam00 (reconnecting)"]
    silent = [_sample(t, 200.0, 30.0) for t in hours]
    for sample in silent:
        sample.main_in = sample.sub_in = sample.frames_out = 0.0
    assert _verdict(silent).failures == ["no packets came in from any camera"]


def test_swings_around_a_level_are_not_growth_and_a_leak_through_them_is():
    """A third of the samples off the level (dips early in the fit, peaks late: what failed a
    2-hour run by chance on the console's PSS) moves no quarter hour's median; the same swings
    on a 12 MB/h leak still fail it."""
    minutes = [i / 60 for i in range(4 * 60 + 1)]

    def swing(i: int, t: float) -> float:
        return 0.0 if i % 3 else (-36.0 if t < 2.5 else 36.0)

    flat = _verdict([_sample(t, 200.0 + swing(i, t), 30.0) for i, t in enumerate(minutes)])
    assert flat.failures == [], flat.failures
    assert abs(flat.fitted["pss_mb"]) < 1.0 and flat.bin_s == 900.0
    raw = statistics.linear_regression(
        [t for t in minutes if t >= 1], [swing(i, t) for i, t in enumerate(minutes) if t >= 1]
    )
    assert raw.slope > Bounds().process_pss_mb_per_h  # a fit through every sample would fail
    leak = _verdict([_sample(t, 200.0 + 12 * t + swing(i, t), 30.0) for i, t in enumerate(minutes)])
    assert leak.fitted["worst_process_pss_mb"] == pytest.approx(12.0, abs=1.0)
    assert any("engine PSS grew" in f for f in leak.failures), leak.failures


def test_nvr_soak_report_judges_a_saved_run_again(tmp_path: Path):
    hours = [i / 10 for i in range(41)]
    soak = Soak(Path("site.yaml"), hours=4, out=tmp_path, faults=True)
    soak.cameras = ["cam00"]
    soak.samples = [_sample(t, 200.0 + 12 * t, 30.0) for t in hours]
    soak.samples[-1].restarts = 1
    soak.events = [
        (300.0, "kill: cam00 worker 2"),
        (600.0, "away: cam00 unreachable for 60 s"),
        (660.0, "away: cam00 back"),
        (900.0, "edit: cam00 motion threshold 30"),
        (1200.0, "kill: cam00 has no worker now; skipped"),
    ]
    soak.kills, soak.faults_done = 1, 4
    soak.periods = [
        Period(
            1, 14400.0, 278.0, 60, 17, "engine 248 MB", 1, 1, 216000, 216000, 216000, 4, 3, 1, 1.0
        )
    ]
    verdict = soak.verdict()
    verdict.failures.insert(0, "the run stopped after 4:00:00: stopped by SIGTERM")
    soak.write(verdict)
    written = json.loads((tmp_path / "soak.json").read_text())["verdict"]

    again = subprocess.run(
        [sys.executable, "-m", "nvr", "soak", "--report", str(tmp_path / "soak.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 1, again.stderr
    assert json.loads((tmp_path / "soak.json").read_text())["verdict"] == written
    report = (tmp_path / "soak.md").read_text()
    assert "Faults injected: 4 (1 kills)." in report and "engine PSS grew +12.0" in report
    assert "FAIL: the run stopped after 4:00:00: stopped by SIGTERM;" in report

    assert again.stdout.rstrip().endswith(
        "judged again by the current rules: FAIL when saved, FAIL now"
    )

    saved = json.loads((tmp_path / "soak.json").read_text())
    assert saved["camera_ids"] == ["cam00"]
    saved["samples"][3]["t_s"] = saved["samples"][2]["t_s"]  # two samples at one time
    lacking = json.loads((tmp_path / "soak.json").read_text())
    del lacking["samples"][2]["processes"]["engine"]["fds"]
    bad = {
        "page": (tmp_path / "soak.md").read_text(),
        "notes": '{"cameras": 3}',
        "shuffled": json.dumps(saved),
        "lacking": json.dumps(lacking),
    }
    for name, text in bad.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "soak.json").write_text(text)
    for args, says in (
        (["--report", str(tmp_path / "page/soak.json")], "is not a report of nvr soak (the file"),
        (["--report", str(tmp_path / "notes/soak.json")], "(config: Field required)"),
        (["--report", str(tmp_path / "shuffled/soak.json")], "samples are not in time order"),
        (["--report", str(tmp_path / "lacking/soak.json")], "sample 2 of engine lacks fds"),
        (["--report", str(tmp_path / "soak.md")], "--report takes a soak.json"),
        (["--report", str(tmp_path / "soak.json"), "--faults"], "give it alone, without --faults"),
    ):
        wrong = subprocess.run(
            [sys.executable, "-m", "nvr", "soak", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert wrong.returncode == 2 and wrong.stderr.count("\n") == 1, wrong.stderr
        assert says in wrong.stderr, wrong.stderr
    for name in bad:  # nothing half-written
        assert [p.name for p in (tmp_path / name).iterdir()] == ["soak.json"]


def test_a_leak_sampled_too_seldom_is_not_judged():
    """Sampled hourly, a 2-hour run has two samples after its warm-up: too few to fit, so its
    growth is reported as not judged rather than passed as flat."""
    soak = Soak(Path("unused.yaml"), hours=2, out=Path("unused"), sample_s=3600)
    soak.cameras = ["cam00"]
    soak.samples = [_sample(t, 200.0 + 30 * t, 30.0) for t in (0.0, 1.0, 2.0)]
    verdict = soak.verdict()
    assert not verdict.growth_judged and verdict.failures == []
    assert "PASS on every other check; growth not judged" in soak.markdown(verdict)
    # Sampling that stalled from 1.2 h to 3.9 h: two quarter hours hold samples, no line.
    stalled = [i / 10 for i in range(13)] + [3.9, 3.95, 4.0]
    soak.samples = [_sample(t, 200.0 + 40 * t, 30.0) for t in stalled]
    assert not soak.verdict().growth_judged
