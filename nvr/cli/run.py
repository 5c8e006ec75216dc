"""``nvr run``: the engine in the foreground until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import logging
import os
import resource
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from nvr.config import Config, load_config
from nvr.errors import NvrError
from nvr.logs import setup_logging
from nvr.protocol.runfile import RunFile, remove_run_file, write_run_file, write_token
from nvr.storage.backup import Staged, put_back
from nvr.storage.checks import PRIVATE_UMASK, check_storage

if TYPE_CHECKING:  # the engine's modules load when it runs, not for every nvr command
    from nvr.supervisor.api import ApiServer
    from nvr.supervisor.loop import Supervisor

log = logging.getLogger("nvr")

# Called once the API answers with its URL and a way to stop the engine; returns what to run
# at stop (``nvr demo`` opens the console this way).
OnReady = Callable[[str, Callable[[], None]], Callable[[], None]]


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("run", help="run the engine in the foreground until SIGINT/SIGTERM")
    parser.add_argument("-c", "--config", required=True, help="path of the YAML configuration")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    path = Path(args.config)
    return run_engine(load_config(path), path, args.duration)


def run_engine(
    config: Config,
    config_path: Path | None,
    duration_s: float | None,
    on_ready: OnReady | None = None,
) -> int:
    """Run the supervisor and its API until SIGINT/SIGTERM (or ``duration_s``); a restore
    asked through the API stops the supervisor, puts the archive back and starts a new one
    behind the same API."""
    from nvr.supervisor.api import ApiServer
    from nvr.supervisor.loop import Supervisor

    os.umask(PRIVATE_UMASK)  # before anything is created: footage is private by default
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
    _raise_file_limit()
    token = write_token(storage)
    supervisor = Supervisor(config, config_path)
    stopping = threading.Event()  # asked to stop: a restore in progress does not start again
    restores: list[tuple[Staged, str]] = []  # a checked archive the API asked to put back

    def stop() -> None:
        stopping.set()
        supervisor.request_stop()

    def restart_from(staged: Staged, by: str) -> None:
        restores.append((staged, by))
        supervisor.request_stop()

    try:
        api = ApiServer(
            supervisor,
            config.api.host,
            config.api.port,
            token,
            restart_from if config_path is not None else None,
        )
    except OSError as err:
        supervisor.catalog.close()
        raise NvrError(
            f"cannot serve the API on {config.api.host}:{config.api.port} ({err.strerror}); "
            "another engine may be running: stop it or set api.port to a free port"
        ) from err
    api.start()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop())
    if duration_s:
        timer = threading.Timer(duration_s, stop)
        timer.daemon = True  # Ctrl-C before the duration must not wait for it
        timer.start()
    info = _announce(storage, api.url, supervisor, config_path)
    cleanup = on_ready(api.url, stop) if on_ready else None
    try:
        while True:
            supervisor.run()
            if not restores:
                break
            staged, by = restores.pop()
            if stopping.is_set():
                staged.discard()
                break
            assert config_path is not None  # restart_from is given only with a config file
            api.pause("the engine is restoring a backup; it starts again in a moment")
            config, kept, error = _put_back(staged, by, config, config_path, api)
            api.upkeep.restore_progress("starting the engine again")
            supervisor = Supervisor(config, config_path, history=supervisor.history)
            api.serve(supervisor)
            info = _announce(storage, api.url, supervisor, config_path)
            # Done only now: a console that reads it finds the new engine answering.
            api.upkeep.restored(kept, error)
            if stopping.is_set():
                supervisor.request_stop()
    finally:
        if cleanup:
            cleanup()
        api.stop()
        remove_run_file(storage, info.pid)
    return 0


def _announce(storage: Path, url: str, supervisor: Supervisor, config_path: Path | None) -> RunFile:
    """Write the run file that tells consoles where this engine answers."""
    info = RunFile(
        pid=os.getpid(),
        api=url,
        instance=supervisor.instance,
        config=str(config_path.resolve()) if config_path else supervisor.watcher.status.path,
        started_ns=supervisor.started_ns,
    )
    write_run_file(storage, info)
    return info


def _put_back(
    staged: Staged, by: str, config: Config, config_path: Path, api: ApiServer
) -> tuple[Config, Path | None, str | None]:
    """Put a checked archive back with the engine stopped: the configuration to start again
    with (the restored one, or the one before when the restore failed: nothing changed), the
    folder keeping what was replaced, and the error if it failed."""
    storage = Path(config.storage.path)
    try:
        summary = put_back(
            staged,
            config_path,
            storage,
            progress=api.upkeep.restore_progress,
            by=f"restore by {by}",
        )
        restored = load_config(config_path)
    except (NvrError, OSError) as err:
        log.error(
            "restore of %s failed: %s; the engine starts again as it was", staged.archive.name, err
        )
        return config, None, str(err)
    log.warning(
        "restored %s (asked by %s): %d files; the replaced catalog and config are in %s",
        staged.archive.name,
        by,
        summary.files,
        summary.kept,
    )
    return restored, summary.kept, None


def _raise_file_limit() -> None:
    """Every API connection and worker pipe is a file descriptor: the soft limit (often 1,024)
    goes up to the hard one, so a flood of local connections cannot starve the engine."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError) as err:
            log.warning("cannot raise the open-file limit from %d (%s)", soft, err)
