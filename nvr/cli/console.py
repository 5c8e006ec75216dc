"""``nvr console``: the operator console (``gui``) on a running engine."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from nvr.config import load_config
from nvr.errors import NvrError
from nvr.logs import setup_logging
from nvr.protocol.client import EngineAddress, find_engine


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("console", help="open the operator console on a running engine")
    parser.add_argument("-c", "--config", help="the engine's YAML configuration (for its API)")
    parser.add_argument("--api", help="the engine's API address (default http://127.0.0.1:8765)")
    parser.add_argument(
        "--token-file", help="the engine's API token (default: <storage>/run/api.token via -c)"
    )
    parser.add_argument("--state", help="layout file (default ~/.config/nvr/console.json)")
    parser.add_argument("--size", default="1280x720", help="window size (default 1280x720)")
    parser.add_argument(
        "--position",
        default="0,0",
        help="the window's top left corner X,Y (default 0,0); a second screen runs a second "
        "console there, with its own --state",
    )
    parser.add_argument(
        "--fps", type=float, default=60.0, help="most frames drawn per second (default 60)"
    )
    parser.add_argument(
        "--alarm-sound",
        default="auto",
        help="auto (paplay, pw-play or aplay, whichever is installed), off, or a command that "
        "plays the WAV file appended to it",
    )
    parser.add_argument(
        "--operator", help="the name alarms are acknowledged in (default: user@host)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gui.main import run_console

    setup_logging(None, "console")
    config = load_config(Path(args.config)) if args.config else None
    token_file = Path(args.token_file) if args.token_file else None

    def locate() -> EngineAddress:
        """A restarted engine has a new token, and a new port when it picks a free one: the
        console follows it through the files the engine writes in its storage."""
        return find_engine(config, args.api, token_file)

    return run_console(
        locate(),
        Path(args.state) if args.state else None,
        size=_size(args.size),
        position=_position(args.position),
        max_fps=args.fps,
        locate=locate,
        alarm_sound=args.alarm_sound,
        operator=args.operator,
    )


def _position(text: str) -> tuple[int, int]:
    if not re.fullmatch(r"-?[0-9]{1,6},-?[0-9]{1,6}", text):
        raise NvrError(f"--position {text!r} is not X,Y, e.g. 1920,0")
    x, y = (int(v) for v in text.split(","))
    if not (-32768 <= x <= 32767 and -32768 <= y <= 32767):
        raise NvrError(f"--position {text} is out of range")
    return x, y


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise NvrError(f"--size {text!r} is not WIDTHxHEIGHT, e.g. 1280x720") from None
    if not (320 <= width <= 16384 and 240 <= height <= 16384):
        raise NvrError(f"--size {text} is out of range: 320x240 up to 16384x16384")
    return width, height
