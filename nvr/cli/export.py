"""``nvr export``: copy a time range of one or more cameras into MP4 files (stream copy).

Reads the catalog and the segment files directly (read-only), so it works whether the engine
runs or not. Several ``--camera`` give one file each: ``OUT-<camera>.mp4``.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from nvr.config import load_config
from nvr.errors import NvrError, RequestError, UnknownCameraError
from nvr.storage.catalog import Catalog
from nvr.storage.export import Clip, export_clip


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "export",
        help="copy a time range of cameras into MP4 files (no re-encoding), with a report",
    )
    parser.add_argument("-c", "--config", required=True, help="path of the YAML configuration")
    parser.add_argument(
        "--camera", action="append", required=True, help="camera id; repeat for several"
    )
    parser.add_argument(
        "--start", required=True, help="ISO 8601 time, e.g. 2026-12-05T14:30:00+01:00"
    )
    parser.add_argument("--end", required=True, help="ISO 8601 time (local time if no zone)")
    parser.add_argument("-o", "--output", required=True, help="MP4 file to write")
    parser.set_defaults(func=run)


def parse_time(text: str, option: str) -> int:
    """Epoch nanoseconds of an ISO 8601 time; local time when it names no zone."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise RequestError(
            f"{option} {text!r} is not an ISO 8601 time (e.g. 2026-12-05T14:30:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # the machine's zone, as a person at it means
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    start_ns, end_ns = parse_time(args.start, "--start"), parse_time(args.end, "--end")
    if end_ns <= start_ns:
        raise RequestError(f"--end ({args.end}) must be after --start ({args.start})")
    storage = Path(config.storage.path)
    known = {c.id for c in config.cameras}
    out = Path(args.output)
    cameras = list(dict.fromkeys(args.camera))
    failed = 0
    with Catalog(storage / "catalog.db", readonly=True) as catalog:
        recorded = set(catalog.bytes_by_camera())
        for camera_id in cameras:
            if camera_id not in known | recorded:
                raise UnknownCameraError(
                    f"unknown camera {camera_id!r}; cameras: {', '.join(sorted(known)) or 'none'}"
                )
        for camera_id in cameras:
            target = out if len(cameras) == 1 else out.with_name(f"{out.stem}-{camera_id}.mp4")
            bar = _Bar(camera_id)
            try:
                clip = export_clip(
                    catalog, storage / "recordings", camera_id, start_ns, end_ns, target, bar
                )
            except NvrError as err:
                bar.end()
                print(f"nvr: error: {err}", file=sys.stderr)
                failed += 1
                continue
            bar.end()
            _print(clip)
    return 1 if failed else 0


def _print(clip: Clip) -> None:
    for f in clip.files:
        print(
            f"{f.path}: {f.frames} frames, {(f.end_ns - f.start_ns) / 1e9:.2f} s,"
            f" {f.width}x{f.height} {f.codec}, {f.size_bytes / 1e6:.1f} MB"
        )
    for start, end, why in clip.holes:
        when = datetime.fromtimestamp(start / 1e9, UTC).strftime("%H:%M:%S")
        print(f"  gap at {when} UTC, {(end - start) / 1e9:.1f} s: {why}")
    print(f"report: {clip.report}")


class _Bar:
    """A progress bar on standard error (a line every 10 % when it is not a terminal)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.tty = sys.stderr.isatty()
        self.shown = -1
        self.last = 0.0

    def __call__(self, fraction: float) -> None:
        percent = int(fraction * 100)
        if self.tty:
            now = time.monotonic()
            if percent != self.shown and (now - self.last > 0.1 or percent == 100):
                filled = percent * 30 // 100
                sys.stderr.write(
                    f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {percent:3d}%"
                )
                sys.stderr.flush()
                self.shown, self.last = percent, now
        elif percent // 10 != self.shown // 10:
            print(f"{self.label}: {percent}%", file=sys.stderr)
            self.shown = percent

    def end(self) -> None:
        if self.tty and self.shown >= 0:
            sys.stderr.write("\n")
