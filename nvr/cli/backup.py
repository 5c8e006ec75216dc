"""``nvr backup``: the configuration and a consistent copy of the catalog in one archive.

Runs while the engine records (the catalog is copied online). Recordings are left out unless
``--with-recordings``. ``nvr restore`` puts an archive back (``nvr.storage.backup``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nvr.config import format_size, load_config
from nvr.storage.backup import create_backup


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "backup", help="write the config and an online copy of the catalog into one archive"
    )
    parser.add_argument("-c", "--config", required=True, help="path of the YAML configuration")
    parser.add_argument("-o", "--output", required=True, help="archive to write (a .tar file)")
    parser.add_argument(
        "--with-recordings", action="store_true", help="add every recording file too (large)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config_path = Path(args.config)
    config = load_config(config_path)
    summary = create_backup(
        config_path,
        Path(config.storage.path),
        Path(args.output),
        with_recordings=args.with_recordings,
        progress=lambda text: print(f"backup: {text}", flush=True),
    )
    print(
        f"backup: wrote {summary.archive} ({summary.files} files, "
        f"{format_size(summary.bytes)}, checksums in its manifest)"
    )
    return 0
