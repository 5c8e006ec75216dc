"""Checks on media files written by the engine, with the tools any player uses."""

from __future__ import annotations

import subprocess
from pathlib import Path


def ffprobe_duration(path: Path) -> float:
    """The container's duration in seconds as ffprobe reads it (fails on any ffprobe error)."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    return float(result.stdout.strip())
