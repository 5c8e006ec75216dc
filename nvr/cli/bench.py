"""``nvr bench``: the performance suite (``bench/`` in the source tree) with its report."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from nvr.errors import NvrError

SOURCE_TREE = Path(__file__).resolve().parents[2]


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bench", help="measure the performance targets against their peers")
    parser.add_argument("--quick", action="store_true", help="short runs (CI)")
    parser.add_argument(
        "--out",
        help="folder for the JSON and PNG (bench/results for a full run; bench/results/quick for "
        "--quick or --only, which must not replace the full run's record)",
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated measurements to run (e.g. motion,scale,ring: the gated ones)",
    )
    parser.add_argument(
        "--as-avx2",
        action="store_true",
        help="on a CPU with AVX-512, measure as on one with AVX2 only: numba compiles with this "
        "CPU's features less AVX-512 and AVX-VNNI, tuned for a Zen 3 (in a cache of its own), and "
        "OpenCV's AVX-512 paths are off. Close to an AVX2 machine's ratios, not the same (the "
        "cores differ). Results in bench/results/quick/avx2 (a full run: bench/results/avx2)",
    )
    parser.set_defaults(func=run)


# A run with --as-avx2 re-runs nvr bench in a child with these set; the child has this marker.
_AS_AVX2 = "NVR_BENCH_AS_AVX2"


def avx2_env() -> dict[str, str]:
    """The environment that makes this process's kernels and OpenCV's AVX2-only: numba for a Zen 3
    with this CPU's features less AVX-512 and AVX-VNNI (``NUMBA_CPU_NAME`` alone is not enough:
    numba still takes the host's features), OpenCV with its AVX-512 and AVX-VNNI paths off."""
    import cv2
    from llvmlite import binding as llvm

    from native import CACHE_DIR

    features = llvm.get_host_cpu_features()
    if not features.get("avx2"):
        raise NvrError(
            "nvr bench --as-avx2 needs a CPU with AVX2, and this one has none: run it without"
        )

    def wide(name: str) -> bool:
        return name.startswith(("avx512", "avxvnni", "avx10", "amx", "evex512"))

    flags = ",".join(
        ("+" if on and not wide(name) else "-") + name for name, on in sorted(features.items())
    )
    opencv = [
        name.strip("*?")
        for name in cv2.getCPUFeaturesLine().split()
        if name.strip("*?").startswith(("AVX512", "AVX_VNNI"))
    ]
    return {
        "NUMBA_CPU_NAME": "znver3",
        "NUMBA_CPU_FEATURES": flags,
        "NUMBA_CACHE_DIR": str(CACHE_DIR / "numba-avx2"),
        "OPENCV_CPU_DISABLE": ",".join(opencv),
        _AS_AVX2: "1",
    }


def bench_module(name: str, command: str) -> ModuleType:
    """``bench.<name>``, from the source tree's ``bench/`` folder (not installed with nvr)."""
    if importlib.util.find_spec("bench") is None:
        sys.path.insert(0, str(SOURCE_TREE))
    try:
        return importlib.import_module(f"bench.{name}")
    except ImportError as err:
        raise NvrError(
            f"nvr {command} needs the source tree's bench/ folder and its extra ({err}): run it "
            "from a clone set up by scripts/setup.sh, or pip install -e '.[bench]' there"
        ) from err


def run(args: argparse.Namespace) -> int:
    if args.as_avx2 and not os.environ.get(_AS_AVX2):
        env = avx2_env()
        quick = args.quick or args.only
        out = args.out or ("bench/results/quick/avx2" if quick else "bench/results/avx2")
        command = [sys.executable, "-m", "nvr", "bench", "--as-avx2", "--only", args.only]
        command += ["--quick"] if args.quick else []
        command += ["--out", out]
        print(
            f"nvr bench --as-avx2: kernels compiled for {env['NUMBA_CPU_NAME']} with AVX2 and "
            f"without AVX-512, OpenCV without {env['OPENCV_CPU_DISABLE'] or 'nothing'}. This is "
            "an AVX2 machine's code on this CPU's cores: the ratios approximate such a machine's.",
            file=sys.stderr,
            flush=True,
        )
        return subprocess.run(command, env={**os.environ, **env}, check=False).returncode
    run_bench = bench_module("report", "bench").run_bench
    only = tuple(name.strip() for name in args.only.split(",") if name.strip())
    out = args.out or ("bench/results/quick" if args.quick or only else "bench/results")
    return run_bench(quick=args.quick, out_dir=Path(out), only=only)
