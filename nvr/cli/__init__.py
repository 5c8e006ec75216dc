"""The ``nvr`` command: run the engine, check a config, run the built-in demo, open the console."""

from __future__ import annotations

import argparse
import logging
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from nvr.config import Config, load_config
from nvr.errors import NvrError
from nvr.logs import setup_logging

log = logging.getLogger("nvr")


def _run_engine(
    config: Config,
    config_path: Path | None,
    duration_s: float | None,
    on_ready: Callable[[str, Callable[[], None]], Callable[[], None]] | None = None,
) -> int:
    """Run the supervisor and its API in the foreground until SIGINT/SIGTERM (or duration).

    ``on_ready(api_url, request_stop)`` runs once the API answers; what it returns runs at stop.
    """
    from nvr.storage.checks import check_storage
    from nvr.supervisor.api import ApiServer
    from nvr.supervisor.engine import Supervisor

    storage = Path(config.storage.path)
    check_storage(storage)
    log_dir = config.logging.log_dir(storage)
    try:
        setup_logging(log_dir, "supervisor", config.logging.level, config.logging.keep_days)
    except OSError as err:
        raise NvrError(
            f"logging.dir {log_dir} cannot be used ({err.strerror}); create it or "
            "point logging.dir at a writable folder"
        ) from err
    supervisor = Supervisor(config, config_path)
    try:
        api = ApiServer(supervisor, config.api.host, config.api.port)
    except OSError as err:
        supervisor.catalog.close()
        raise NvrError(
            f"cannot serve the API on {config.api.host}:{config.api.port} ({err.strerror}); "
            "another engine may be running: stop it or set api.port to a free port"
        ) from err
    api.start()
    supervisor.write_run_file(api.url)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: supervisor.request_stop())
    if duration_s:
        timer = threading.Timer(duration_s, supervisor.request_stop)
        timer.daemon = True  # Ctrl-C before the duration must not wait for it
        timer.start()
    cleanup = on_ready(api.url, supervisor.request_stop) if on_ready else None
    try:
        supervisor.run()
    finally:
        if cleanup:
            cleanup()
        api.stop()
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    path = Path(args.config)
    return _run_engine(load_config(path), path, args.duration)


def cmd_check_config(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    enabled = sum(1 for c in config.cameras if c.enabled)
    print(f"{args.config}: OK ({len(config.cameras)} camera(s), {enabled} enabled)")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
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
            on_ready = _console_opener(data / "console.json")
    return _run_engine(config, path, args.duration, on_ready)


def _console_opener(
    state: Path,
) -> Callable[[str, Callable[[], None]], Callable[[], None]]:
    """Open the console as its own process once the engine answers; closing it ends the demo."""

    def open_console(api_url: str, request_stop: Callable[[], None]) -> Callable[[], None]:
        console = subprocess.Popen(
            [sys.executable, "-m", "nvr", "console", "--api", api_url, "--state", str(state)]
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


def cmd_console(args: argparse.Namespace) -> int:
    from gui.main import api_address, run_console

    setup_logging(None, "console")
    config = load_config(Path(args.config)) if args.config else None
    return run_console(
        api_address(config, args.api),
        Path(args.state) if args.state else None,
        size=_size(args.size),
        max_fps=args.fps,
    )


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise NvrError(f"--size {text!r} is not WIDTHxHEIGHT, e.g. 1280x720") from None
    if not (320 <= width <= 16384 and 240 <= height <= 16384):
        raise NvrError(f"--size {text} is out of range: 320x240 up to 16384x16384")
    return width, height


def cmd_bench(args: argparse.Namespace) -> int:
    from nvr.bench import run_bench

    return run_bench(quick=args.quick, out_dir=Path(args.out))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nvr", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the engine in the foreground until SIGINT/SIGTERM")
    run.add_argument("-c", "--config", required=True, help="path of the YAML configuration")
    run.add_argument("--duration", type=float, help="stop after this many seconds")
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check-config", help="validate a configuration and exit (0 ok, 2 bad)")
    check.add_argument("config")
    check.set_defaults(func=cmd_check_config)

    demo = sub.add_parser("demo", help="run the engine on built-in synthetic cameras")
    demo.add_argument("--data", help="data folder (default: a new temporary folder)")
    demo.add_argument("--headless", action="store_true", help="do not open the console window")
    demo.add_argument("--port", type=int, default=8765, help="API port (default 8765)")
    demo.add_argument("--duration", type=float, help="stop after this many seconds")
    demo.set_defaults(func=cmd_demo)

    console = sub.add_parser("console", help="open the operator console on a running engine")
    console.add_argument("-c", "--config", help="the engine's YAML configuration (for its API)")
    console.add_argument("--api", help="the engine's API address (default http://127.0.0.1:8765)")
    console.add_argument("--state", help="layout file (default ~/.config/nvr/console.json)")
    console.add_argument("--size", default="1280x720", help="window size (default 1280x720)")
    console.add_argument(
        "--fps", type=float, default=60.0, help="most frames drawn per second (default 60)"
    )
    console.set_defaults(func=cmd_console)

    bench = sub.add_parser("bench", help="measure the performance targets against their peers")
    bench.add_argument("--quick", action="store_true", help="short runs (CI)")
    bench.add_argument("--out", default="bench/results", help="folder for the JSON and PNG")
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except NvrError as err:
        print(f"nvr: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
