"""``nvr restore``: put a backup archive's catalog and config (and recordings) back.

Stop the engine first: a running engine's storage is refused. The archive is checked whole
(manifest, checksums, every member) before anything is replaced; the replaced catalog and config
are kept in ``<storage>/before-restore-<time>/``. At its next start the engine reconciles the
restored catalog with the files on disk.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nvr.config import format_size, load_config
from nvr.errors import NvrError
from nvr.storage.backup import restore_backup


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("restore", help="put a backup archive back (the engine stopped)")
    parser.add_argument("-c", "--config", required=True, help="path of the YAML configuration")
    parser.add_argument("archive", help="an archive written by nvr backup")
    parser.add_argument(
        "--yes", action="store_true", help="do not ask (the current catalog is kept aside)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config_path = Path(args.config)
    config = load_config(config_path)
    storage = Path(config.storage.path)
    if not args.yes:
        if not sys.stdin.isatty():
            raise NvrError("restore replaces the catalog and the config: add --yes to confirm")
        answer = input(f"Replace the catalog in {storage} and {config_path}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("restore: nothing changed")
            return 1
    summary = restore_backup(
        Path(args.archive),
        config_path,
        storage,
        progress=lambda text: print(f"restore: {text}", flush=True),
    )
    print(
        f"restore: done ({summary.files} files, {format_size(summary.bytes)}); the previous "
        f"catalog and config are in {summary.kept}; start the engine to reconcile the footage"
    )
    return 0
