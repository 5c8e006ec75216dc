"""``nvr demo``: the engine on built-in synthetic cameras, with the console when there is a
display (closing its window ends the demo)."""

from __future__ import annotations

import argparse
import logging
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
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from nvr.demo import write_demo_config

    data = Path(args.data) if args.data else Path(tempfile.mkdtemp(prefix="nvr-demo-"))
    setup_logging(None, "demo")
    path = write_demo_config(data, args.port)
    config = load_config(path)
    print(
        f"demo: {len(config.cameras)} synthetic cameras; config {path}; "
        f"recordings in {config.storage.path}; API on http://127.0.0.1:{config.api.port}",
        flush=True,
    )
    on_ready = None
    if not args.headless:
        from gui.main import display_problem

        problem = display_problem()
        if problem:
            print(f"demo: no console window ({problem}); running headless", flush=True)
        else:
            on_ready = _console_opener(data / "console.json", Path(config.storage.path))
    return run_engine(config, path, args.duration, on_ready)


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
