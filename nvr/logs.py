"""Per-process logging: JSON lines in daily rotated files, readable lines on the console.

Every record passes through a filter that strips credentials from URLs, so a camera password
can never reach a log file or a terminal.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
from pathlib import Path

from nvr.redact import redact_text

CONSOLE_FORMAT = "%(asctime)s %(levelname)-7s %(processName)s %(name)s: %(message)s"


class RedactFilter(logging.Filter):
    """Render the message once, with credentials removed, and drop the arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = redact_text(record.getMessage())
        record.msg, record.args = message, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, process, logger, message (+ exception)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
            "level": record.levelname,
            "process": record.processName,
            "pid": record.process,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            entry["exception"] = record.exc_text
        camera = getattr(record, "camera_id", None)
        if camera:
            entry["camera_id"] = camera
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(
    log_dir: Path | None, name: str, level: str = "INFO", keep_days: int = 14, console: bool = True
) -> None:
    """Configure the root logger of this process: ``<log_dir>/<name>.log`` rotated at midnight."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)
    redact = RedactFilter()
    if console:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(logging.Formatter(CONSOLE_FORMAT))
        stream.addFilter(redact)
        root.addHandler(stream)
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        rotating = logging.handlers.TimedRotatingFileHandler(
            log_dir / f"{name}.log", when="midnight", backupCount=keep_days, encoding="utf-8"
        )
        rotating.setFormatter(JsonFormatter())
        rotating.addFilter(redact)
        root.addHandler(rotating)
    for noisy in ("numba", "libav"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
