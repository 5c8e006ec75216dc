"""Per-process logs: JSON lines in a rotated file, credentials stripped everywhere."""

from __future__ import annotations

import json
import logging

from nvr.logs import setup_logging
from nvr.redact import redact_text, redact_url


def test_redaction_of_urls():
    assert redact_url("rtsp://admin:p@ss@10.0.0.5:554/main") == "rtsp://***@10.0.0.5:554/main"
    assert redact_url("rtsp://10.0.0.5/main") == "rtsp://10.0.0.5/main"
    assert redact_text("a rtsp://u:p@h/x b http://h/y") == "a rtsp://***@h/x b http://h/y"


def test_log_files_are_json_lines_without_credentials(tmp_path, capsys):
    setup_logging(tmp_path, "worker-cam", "INFO", keep_days=3)
    log = logging.getLogger("nvr.test")
    log.warning("cannot open %s", "rtsp://admin:hunter2@cam/main")
    try:
        raise OSError("connect to rtsp://admin:hunter2@cam/main failed")
    except OSError:
        log.exception("stream lost")
    for handler in logging.getLogger().handlers:
        handler.flush()
    lines = (tmp_path / "worker-cam.log").read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    assert entries[0]["message"] == "cannot open rtsp://***@cam/main"
    assert entries[0]["level"] == "WARNING" and entries[0]["logger"] == "nvr.test"
    assert "rtsp://***@cam/main" in entries[1]["exception"]
    assert "hunter2" not in "\n".join(lines) + capsys.readouterr().err
    handler = next(h for h in logging.getLogger().handlers if hasattr(h, "backupCount"))
    assert handler.when == "MIDNIGHT" and handler.backupCount == 3
    setup_logging(None, "reset")
