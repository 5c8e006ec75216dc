"""``nvr web``: the web server for remote users (HTTPS, users and roles, dashboard, live
view), a process of its own beside the engine: a crash or an overload there never touches
recording. It needs an admin user first (``nvr user add NAME --role admin``)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from nvr.config import load_config
from nvr.logs import setup_logging
from nvr.storage.checks import PRIVATE_UMASK


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("web", help="run the web server (remote access) in the foreground")
    parser.add_argument("-c", "--config", required=True, help="path of the YAML configuration")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from web.server import serve

    os.umask(PRIVATE_UMASK)  # its log, certificate and key are private like the engine's files
    path = Path(args.config)
    config = load_config(path)
    storage = Path(config.storage.path)
    setup_logging(
        config.logging.log_dir(storage), "web", config.logging.level, config.logging.keep_days
    )
    return serve(config, path, lambda url: print(f"web: listening on {url}", flush=True))
