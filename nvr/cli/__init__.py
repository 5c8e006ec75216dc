"""The ``nvr`` command: one module per subcommand, each with ``register`` and ``run``.

Only a subcommand that needs them imports the console (``gui``), the web server (``web``) or the
benchmarks (``bench``);
the engine itself imports neither.
"""

from __future__ import annotations

import argparse
import sys
from importlib import metadata

from nvr.cli import (
    backup,
    bench,
    check_config,
    console,
    demo,
    export,
    report,
    restore,
    run,
    soak,
    user,
    web,
)
from nvr.errors import NvrError

SUBCOMMANDS = (
    run,
    check_config,
    demo,
    console,
    web,
    user,
    export,
    backup,
    restore,
    report,
    bench,
    soak,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nvr", description="a network video recorder for IP cameras"
    )
    parser.add_argument("--version", action="version", version=f"nvr {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in SUBCOMMANDS:
        before = set(sub.choices)
        module.register(sub)
        for name in set(sub.choices) - before:  # its --help tells what the module's doc says
            sub.choices[name].description = _plain(module.__doc__ or "")
            sub.choices[name].formatter_class = argparse.RawDescriptionHelpFormatter
    return parser


def _plain(doc: str) -> str:
    """A module docstring as help text: no ``code`` markup, no leading "nvr x:" name."""
    text = doc.strip().replace("``", "")
    first, _, rest = text.partition(": ")
    if first.startswith("nvr ") and " " not in first[4:]:
        text = rest[:1].upper() + rest[1:]
    return text


def _version() -> str:
    try:
        return metadata.version("nvr")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except NvrError as err:
        print(f"nvr: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
