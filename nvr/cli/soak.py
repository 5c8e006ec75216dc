"""``nvr soak``: run the engine for hours on a configuration, with faults, and report growth.

Every period (an hour by default) it reports PSS, open files and threads per process, worker
restarts, packets in against frames out, segment files against cataloged recordings, the
catalog's size and new gaps; at the end it fits the growth and exits 1 when a bound is exceeded.
The configuration is copied to the output folder: faults edit the copy, never your file, but
the engine records into the configuration's storage. Stop a running engine first.

``nvr soak --report soak.json`` judges a finished run again, by the current rules, and writes its
report files anew.
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

from nvr.cli.bench import bench_module
from nvr.errors import NvrError

# The flags of a run, with their defaults: ``--report`` takes none of them.
RUN_DEFAULTS: dict[str, object] = {
    "config": None,
    "hours": None,
    "out": "soak",
    "faults": False,
    "fault_every": 300.0,
    "away": 60.0,
    "console": False,
    "sample_every": 60.0,
    "period": 3600.0,
}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("soak", help="run the engine for hours and report growth per hour")
    parser.add_argument("-c", "--config", help="the engine's YAML configuration")
    parser.add_argument("--hours", type=float, help="how long (48 for the stress)")
    parser.add_argument(
        "--report",
        metavar="SOAK_JSON",
        help="judge a finished run's soak.json again (no engine runs) and rewrite its report",
    )
    parser.add_argument("--out", help="folder for soak.json/.md/.png (./soak)")
    parser.add_argument(
        "--faults",
        action="store_true",
        help="inject faults in turn: kill a worker, make a camera unreachable, edit a setting",
    )
    parser.add_argument(
        "--fault-every",
        type=float,
        help=f"seconds between faults ({RUN_DEFAULTS['fault_every']:g})",
    )
    parser.add_argument(
        "--away", type=float, help=f"seconds a camera stays unreachable ({RUN_DEFAULTS['away']:g})"
    )
    parser.add_argument(
        "--console", action="store_true", help="run the operator console too (needs a display)"
    )
    parser.add_argument(
        "--sample-every", type=float, help=f"seconds ({RUN_DEFAULTS['sample_every']:g})"
    )
    parser.add_argument(
        "--period", type=float, help=f"report period, s ({RUN_DEFAULTS['period']:g})"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    module = bench_module("soak", "soak")
    soak = module.Soak
    given = [
        k for k in RUN_DEFAULTS if getattr(args, k) is not None and getattr(args, k) is not False
    ]
    if args.report is not None:
        if given:
            flags = ", ".join("--" + k.replace("_", "-") for k in given)
            raise NvrError(f"--report judges a finished run: give it alone, without {flags}")
        saved = Path(args.report)
        if not saved.is_file():
            raise NvrError(f"no soak report at {saved}: give the soak.json file a soak run wrote")
        if saved.name != "soak.json":  # its report is rewritten beside it, under these names
            raise NvrError(
                f"--report takes a soak.json, in the folder of its soak.md and soak.png; "
                f"got {saved.name}: put it in a folder of its own as soak.json"
            )
        again, verdict, before = soak.rejudge(saved)
        status = int(again.report(verdict))
        was = "FAIL" if before else "PASS"
        now = "FAIL" if status else "PASS"
        print(f"soak: {saved} judged again by the current rules: {was} when saved, {now} now")
        return status
    if args.config is None or args.hours is None:
        raise NvrError("give -c CONFIG and --hours H (or --report SOAK_JSON to judge a run again)")
    for key, default in RUN_DEFAULTS.items():
        if getattr(args, key) is None:
            setattr(args, key, default)
    spans = {
        "--hours": args.hours,
        "--sample-every": args.sample_every,
        "--period": args.period,
        "--fault-every": args.fault_every,
        "--away": args.away,
    }
    for flag, value in spans.items():
        if not (math.isfinite(value) and value > 0):
            raise NvrError(f"{flag} must be a number above 0; got {value:g}")
    if args.hours > module.MAX_HOURS:
        raise NvrError(f"--hours must be at most {module.MAX_HOURS:g} (a year); got {args.hours:g}")
    config = Path(args.config)
    if not config.is_file():
        raise NvrError(f"no configuration at {config}: give the engine's YAML file with -c")
    out = Path(args.out)
    if any(p.exists() and not p.is_dir() for p in (out, *out.parents)):
        raise NvrError(f"--out {out} is not a folder: a file is in the way; give a folder")
    if args.console and not os.environ.get("DISPLAY"):
        raise NvrError("--console needs a display: run under xvfb-run, or set DISPLAY")
    return soak(
        config,
        args.hours,
        out,
        sample_s=args.sample_every,
        period_s=args.period,
        faults=args.faults,
        fault_every_s=args.fault_every,
        away_s=args.away,
        console=args.console,
    ).run()
