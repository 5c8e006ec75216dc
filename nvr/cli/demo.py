"""``nvr demo``: the engine on built-in synthetic cameras, with the web server on loopback (its
URL and a demo admin's password are printed) and the console when there is a display (closing
its window ends the demo)."""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from nvr.cli.run import OnReady, run_engine
from nvr.config import load_config
from nvr.logs import setup_logging
from nvr.protocol.runfile import token_path

log = logging.getLogger("nvr")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("demo", help="run the engine on built-in synthetic cameras")
    parser.add_argument("--data", help="data folder (default: a new temporary folder)")
    parser.add_argument("--headless", action="store_true", help="do not open the console window")
    parser.add_argument("--port", type=int, default=8765, help="API port (default 8765)")
    parser.add_argument(
        "--web-port", type=int, default=8443, help="web server port on 127.0.0.1 (default 8443)"
    )
    parser.add_argument("--no-web", action="store_true", help="do not start the web server")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from nvr.demo import write_demo_config

    data = Path(args.data) if args.data else Path(tempfile.mkdtemp(prefix="nvr-demo-"))
    setup_logging(None, "demo")
    path = write_demo_config(data, args.port, args.web_port)
    config = load_config(path)
    print(
        f"demo: {len(config.cameras)} synthetic cameras; config {path}; "
        f"recordings in {config.storage.path}; API on http://127.0.0.1:{config.api.port}",
        flush=True,
    )
    openers: list[OnReady] = []
    if not args.no_web:
        openers.append(_web_opener(path, Path(config.storage.path), data))
    if not args.headless:
        from gui.main import display_problem

        problem = display_problem()
        if problem:
            print(f"demo: no console window ({problem}); running headless", flush=True)
        else:
            openers.append(_console_opener(data / "console.json", Path(config.storage.path)))
    return run_engine(config, path, args.duration, _all(openers) if openers else None)


def _all(openers: list[OnReady]) -> OnReady:
    """Open each in turn once the engine answers; at stop, close them in reverse order."""

    def open_all(api_url: str, request_stop: Callable[[], None]) -> Callable[[], None]:
        closers = [opener(api_url, request_stop) for opener in openers]

        def close() -> None:
            for closer in reversed(closers):
                closer()

        return close

    return open_all


def _web_opener(config_path: Path, storage: Path, data: Path) -> OnReady:
    """Start ``nvr web`` (its own process) with a demo admin made on first run; its password is
    printed and kept in ``<data>/web-login.txt``."""
    from web.accounts import Accounts

    accounts = Accounts(storage / "catalog.db")
    login = data / "web-login.txt"
    if accounts.admins() == 0:
        password = secrets.token_urlsafe(12)
        accounts.add_user("demo", "admin", password)
        fd = os.open(login, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(f"user: demo\npassword: {password}\n")
    accounts.close()
    if login.exists():
        print(
            f"demo: web login ({login}): " + login.read_text().replace("\n", " ").strip(),
            flush=True,
        )

    def open_web(api_url: str, request_stop: Callable[[], None]) -> Callable[[], None]:
        web = subprocess.Popen([sys.executable, "-m", "nvr", "web", "-c", str(config_path)])

        def close() -> None:
            if web.poll() is None:
                web.terminate()
                try:
                    web.wait(10)
                except subprocess.TimeoutExpired:
                    web.kill()

        return close

    return open_web


def _console_opener(state: Path, storage: Path) -> OnReady:
    """Open the console as its own process once the engine answers; closing it ends the demo."""

    def open_console(api_url: str, request_stop: Callable[[], None]) -> Callable[[], None]:
        console = subprocess.Popen(
            [
                *(sys.executable, "-m", "nvr", "console", "--api", api_url),
                *("--token-file", str(token_path(storage)), "--state", str(state)),
            ]
        )

        def watch() -> None:
            if console.wait() == 0:
                log.info("console closed: stopping the demo")
            else:
                log.error("console exited with %s: stopping the demo", console.returncode)
            request_stop()

        threading.Thread(target=watch, name="console-watch", daemon=True).start()

        def close() -> None:
            if console.poll() is None:
                console.terminate()
                try:
                    console.wait(10)
                except subprocess.TimeoutExpired:
                    console.kill()

        return close

    return open_console
