"""``nvr report``: write the health report, one self-contained HTML file (``nvr.report``):
configuration, engine, storage, each camera's last seven days, recent errors, catalog health."""

from __future__ import annotations

import argparse
from pathlib import Path

from nvr.config import load_config
from nvr.report import write_report


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("report", help="write a self-contained HTML health report")
    parser.add_argument("-c", "--config", required=True, help="path of the YAML configuration")
    parser.add_argument("-o", "--output", required=True, help="HTML file to write")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out = write_report(load_config(Path(args.config)), Path(args.output))
    print(f"report: wrote {out}")
    return 0
