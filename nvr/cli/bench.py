"""``nvr bench``: the performance suite (``bench/`` in the source tree) with its report."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
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
    parser.set_defaults(func=run)


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
    run_bench = bench_module("report", "bench").run_bench
    only = tuple(name.strip() for name in args.only.split(",") if name.strip())
    out = args.out or ("bench/results/quick" if args.quick or only else "bench/results")
    return run_bench(quick=args.quick, out_dir=Path(out), only=only)
