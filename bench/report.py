"""``nvr bench``: run the performance suite, print the table, write ``results.json`` and a chart.

The measurements are listed in ``bench.suite.SUITE``, shared with the pytest-benchmark files;
``nvr/cli/bench.py`` is the subcommand that calls ``run_bench``. Ratio targets (and the frame
ring's latency target) are gated: the command exits 1 when one is missed or a measurement
fails; other figures are reported only.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.measure import Row, error_note
from bench.suite import SUITE
from nvr.errors import NvrError

log = logging.getLogger(__name__)


def run_bench(quick: bool, out_dir: Path, only: tuple[str, ...] = ()) -> int:
    """Run every measurement (or those named in ``only``), print the table, write the results;
    1 if a gated target failed."""
    unknown = set(only) - {m.name for m in SUITE}
    if unknown:
        names = ", ".join(m.name for m in SUITE)
        raise NvrError(f"no measurement named {', '.join(sorted(unknown))}; there are: {names}")
    started = time.monotonic()
    load_before = os.getloadavg()
    rows: list[Row] = []
    for measurement in SUITE:
        if only and measurement.name not in only:
            continue
        print(f"bench: {measurement.name} ...", file=sys.stderr, flush=True)
        t0 = time.monotonic()
        try:
            rows += measurement.run(quick)
        except Exception as err:  # one broken measurement must not hide the others
            log.exception("measurement %s failed", measurement.name)
            rows.append(
                Row(
                    f"{measurement.name}: did not run",
                    "",
                    math.nan,
                    target="runs",
                    gated=True,
                    passed=False,
                    group=measurement.name,
                    note=error_note(err),
                )
            )
        print(f"bench: {measurement.name} {time.monotonic() - t0:.1f} s", file=sys.stderr)
    elapsed_s = time.monotonic() - started
    failed = [r.name for r in rows if r.gated and not r.passed]
    print(format_table(rows))
    print(
        f"\n{len(rows)} rows in {elapsed_s:.0f} s ({'quick' if quick else 'full'}); "
        + (f"FAILED gated targets: {', '.join(failed)}" if failed else "every gated target met")
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    machine = describe_machine()
    # Other work on the machine skews every figure: keep the load around the run on record.
    machine["loadavg_1m_before_after"] = [round(load_before[0], 2), round(os.getloadavg()[0], 2)]
    report = {
        "machine": machine,
        "quick": quick,
        "only": list(only),
        "elapsed_s": round(elapsed_s, 1),
        "failed": failed,
        "rows": [_json_safe(dataclasses.asdict(r)) for r in rows],
    }
    (out_dir / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    write_chart(rows, out_dir / "chart.png")
    print(f"results: {out_dir / 'results.json'}, {out_dir / 'chart.png'}")
    return 1 if failed else 0


def _num(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    size = abs(value)
    digits = 0 if size >= 100 else 1 if size >= 10 else 2 if size >= 1 else 3
    return f"{value:.{digits}f}"


def format_table(rows: list[Row]) -> str:
    """The rows as an aligned text table."""
    head = ("measurement", "unit", "ours", "peer", "ratio", "target", "gate", "result", "note")
    lines = [
        (
            r.name,
            r.unit,
            _num(r.ours),
            _num(r.peer),
            f"{r.ratio:.2f}x" if r.ratio is not None else "-",
            r.target or "-",
            "gate" if r.gated else "report",
            "-" if r.passed is None else "PASS" if r.passed else "FAIL",
            r.note,
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in [head, *lines]) for i in range(len(head))]
    right = {2, 3, 4}
    out = []
    for row in [head, *lines]:
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        out.append("  ".join(cells).rstrip())
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def _json_safe(value: Any) -> Any:
    """NaN and infinities as null (JSON has neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def describe_machine() -> dict[str, Any]:
    """CPU, cores, memory, OS and the versions that the figures depend on."""
    import av
    import cv2
    import numba
    import numpy
    import psutil

    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(
                (line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu
            )
    except OSError:
        pass
    try:
        ffmpeg = subprocess.run(
            ["ffmpeg", "-version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.split("\n", 1)[0]
    except OSError:
        ffmpeg = "not found"
    from llvmlite import binding as llvm
    from numba.core import config as numba_config

    from native.isa import VECTOR_ISA

    return {
        "cpu": cpu,
        # What the kernels compile for (NUMBA_CPU_NAME and NUMBA_CPU_FEATURES, else the host):
        # the figures depend on it, and on the vector instructions the kernels call by name.
        "cpu_arch": (
            f"{getattr(numba_config, 'CPU_NAME', None) or llvm.get_host_cpu_name()}, "
            f"{VECTOR_ISA or 'no AVX2'} kernels"
            + (
                f", OpenCV without {disabled}"
                if (disabled := os.environ.get("OPENCV_CPU_DISABLE"))
                else ""
            )
        ),
        "cores": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "numba": numba.__version__,
        "av": av.__version__,
        "opencv": cv2.__version__,
        "opencv_threads": cv2.getNumThreads(),
        "ffmpeg": ffmpeg,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def write_chart(rows: list[Row], path: Path) -> None:
    """PNG: each row's ratio against the gated ratio, and capacity CPU and PSS against cameras."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bench.capacity import GOAL_CAMERAS, GOAL_CPU_PCT, GOAL_PSS_MB

    fig, (bars, cap) = plt.subplots(1, 2, figsize=(15, 6), width_ratios=(3, 2))
    ratios = [r for r in rows if r.ratio is not None]
    values = [r.ratio or 0.0 for r in ratios]
    colors = [
        ("tab:green" if r.passed else "tab:red")
        if r.gated and r.min_ratio is not None
        else "tab:gray"
        for r in ratios
    ]
    ypos = range(len(ratios))
    bars.barh(ypos, values, color=colors)
    for y, value in zip(ypos, values, strict=True):
        bars.text(value, y, f" {value:.2f}x", va="center", fontsize=8)
    bars.set_yticks(ypos, [r.name for r in ratios], fontsize=8)
    bars.invert_yaxis()
    bars.set_xscale("log")
    gates = [(y, r.min_ratio) for y, r in zip(ypos, ratios, strict=True) if r.min_ratio]
    positive = [v for v in values if v > 0]
    bars.set_xlim(min([0.5, *positive]) * 0.8, max([*(g for _, g in gates), *values]) * 3)
    if gates:
        ys, lines = zip(*gates, strict=True)
        bars.scatter(lines, ys, marker="|", s=300, color="black", zorder=3, label="gate")
    bars.axvline(1.0, color="gray", linewidth=0.8)
    bars.set_xlabel("ours vs peer, times better (green/red: gated ratio; gray: reported)")
    bars.legend(loc="lower right")
    bars.set_title("Ratio against the peer, measured in the same run")

    points = sorted(
        {
            r.detail["cameras"]: r.detail
            for r in rows
            if r.group == "capacity" and "cpu_pct" in (r.detail or {})
        }.items()
    )
    if points:
        counts = [n for n, _ in points]
        cpu = [d["cpu_pct"] for _, d in points]
        pss = [d["pss_mb"] for _, d in points]
        cap.plot(counts, cpu, "o-", color="tab:blue", label="CPU")
        cap.axhline(GOAL_CPU_PCT, color="tab:blue", linestyle=":", label="goal: 1 core")
        cap.set_ylim(0, max([GOAL_CPU_PCT, *cpu]) * 1.15)
        cap.set_xlabel("cameras")
        cap.set_ylabel("CPU, % of one core (whole process tree)", color="tab:blue")
        mem = cap.twinx()
        mem.plot(counts, pss, "s-", color="tab:orange", label="PSS")
        mem.axhline(GOAL_PSS_MB, color="tab:orange", linestyle=":", label="goal: 1.5 GB")
        mem.set_ylim(0, max([GOAL_PSS_MB, *pss]) * 1.15)
        mem.set_ylabel("PSS, MB (whole process tree)", color="tab:orange")
        handles = cap.get_legend_handles_labels()
        more = mem.get_legend_handles_labels()
        cap.legend(handles[0] + more[0], handles[1] + more[1], loc="upper left")
        cap.set_xticks(counts)
    else:
        cap.text(0.5, 0.5, "no capacity run", ha="center", va="center")
    cap.set_title(f"Engine capacity (goals at {GOAL_CAMERAS} cameras)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
