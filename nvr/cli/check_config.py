"""``nvr check-config``: validate a configuration and exit (0 valid, 2 every problem listed)."""

from __future__ import annotations

import argparse

from nvr.config import load_config


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("check-config", help="validate a configuration and exit (0 ok, 2 bad)")
    parser.add_argument("config")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    enabled = sum(1 for c in config.cameras if c.enabled)
    print(f"{args.config}: OK ({len(config.cameras)} camera(s), {enabled} enabled)")
    return 0
