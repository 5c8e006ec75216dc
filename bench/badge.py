"""Badge truth: from the engine's acknowledgement of a recording command to the console showing it.

A real engine runs one demo camera (its clips looped in real time, recording mode off, so the
REC badge means manual recording and nothing else). The console runs its real render loop on a
private Xvfb with a real engine link, in a process of its own. Each round starts or stops manual
recording on the camera through the console's own recording controls, as R and S do; the time
from the link receiving the engine's reply (its acknowledgement) to the end of the first
rendered frame whose tile shows the new state as confirmed is one sample.

Target (from the issue, reported): p95 under one health poll (0.5 s) plus one frame (33 ms).
The console polls the health at once after a command's reply, so it should take about one
health request plus one frame.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.display import VirtualDisplay, xvfb_available

if TYPE_CHECKING:
    from bench.measure import Row

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 500.0 + 1000.0 / 30  # one health poll plus one frame at 30 fps
FRAME_S = 1.0 / 30


def probe(api: str, token: str, rounds: int) -> dict[str, Any]:
    """Toggle manual recording ``rounds`` times from a console (this process needs a DISPLAY)."""
    from gui.kernel import warm
    from gui.link import CommandResult, EngineLink
    from gui.shell import Console
    from gui.view import ViewState
    from nvr.protocol.client import EngineAddress

    class StampedLink(EngineLink):
        """The engine link, noting when each reply arrived (on its sender thread)."""

        arrived: dict[int, float] = {}

        def _post(self, ticket: int, *args: Any) -> CommandResult:
            result = super()._post(ticket, *args)
            self.arrived[ticket] = time.monotonic()
            return result

    warm()
    link = StampedLink(EngineAddress(api, token))
    console = Console(link, ViewState(layout="1x1"), None, size=(1280, 720))
    samples: list[float] = []
    try:
        console.open("NVR console badge bench")
        deadline = time.monotonic() + 60
        while not link.snapshot().cameras and time.monotonic() < deadline:
            console.render_frame()
            time.sleep(FRAME_S)
        (camera_id,) = link.snapshot().cameras
        for round_ in range(rounds):
            want = round_ % 2 == 0
            sent_before = set(link.arrived)
            console.live.recording.set_recording(camera_id, want)
            shown_at = None
            round_end = time.monotonic() + 10
            while shown_at is None and time.monotonic() < round_end:
                console.render_frame()
                info = console.live.tile_infos()[camera_id]
                recording = info.recording is not None and "manual" in info.recording
                if info.recording_confirmed and recording == want:
                    shown_at = time.monotonic()
                time.sleep(FRAME_S)
            new = set(link.arrived) - sent_before
            if shown_at is not None and new:
                samples.append((shown_at - link.arrived[max(new)]) * 1000)
            for _ in range(6):  # a moment between commands, as an operator's
                console.render_frame()
                time.sleep(FRAME_S)
    finally:
        console.close()
    return {"rounds": rounds, "samples_ms": [round(s, 1) for s in samples]}


def measure_badge(rounds: int) -> dict[str, Any]:
    """An engine, a display and the console probe; the latency figures."""
    from bench.capacity import EngineRun
    from bench.measure import demo_clips, percentile
    from gui.kernel import build
    from nvr.protocol.runfile import read_token

    main, sub = demo_clips()
    build()
    with tempfile.TemporaryDirectory(prefix="nvr-bench-badge-") as tmp:
        folder = Path(tmp)
        config = folder / "nvr.yaml"
        config.write_text(
            f"storage:\n  path: {folder / 'storage'}\n  min_free_bytes: 100MB\n"
            "api:\n  port: 0\nlogging:\n  level: WARNING\n"
            f"cameras:\n  - id: cam\n    main: {main}\n    sub: {sub}\n    record:\n"
            "      mode: 'off'\n"
        )
        engine = EngineRun(folder / "storage", folder / "engine.out")
        try:
            engine.start(config, timeout_s=60)
            engine.wait_live(1, 60)
            with VirtualDisplay(1280, 720) as display:
                result = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "bench.badge",
                        "--api",
                        engine.api,
                        f"--token={read_token(folder / 'storage')}",  # one may begin with "-"
                        "--rounds",
                        str(rounds),
                    ],
                    capture_output=True,
                    text=True,
                    timeout=rounds * 15 + 120,
                    cwd=ROOT,
                    env=display.env,
                    check=False,
                )
        finally:
            engine.stop()
    if result.returncode != 0:
        raise RuntimeError(f"badge probe failed ({result.returncode}): {result.stderr[-1500:]}")
    samples = json.loads(result.stdout.strip().splitlines()[-1])["samples_ms"]
    if not samples:
        raise RuntimeError("the badge never showed the acknowledged state")
    return {
        "rounds": rounds,
        "shown": len(samples),
        "p50_ms": percentile(samples, 0.5),
        "p95_ms": percentile(samples, 0.95),
        "max_ms": max(samples),
    }


def badge_rows(quick: bool) -> list[Row]:
    from bench.measure import make_row

    if not xvfb_available():
        raise RuntimeError("Xvfb or ffmpeg missing: run scripts/setup.sh")
    m = measure_badge(10 if quick else 40)
    return [
        make_row(
            "console badge: engine's acknowledgement to the badge shown, p95",
            "ms",
            m["p95_ms"],
            below=TARGET_MS,
            group="console",
            note=f"p50 {m['p50_ms']:.0f} ms, max {m['max_ms']:.0f} ms; {m['shown']} of "
            f"{m['rounds']} recording starts and stops shown (target: one 0.5 s poll + a frame)",
            detail=m,
        )
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description="the badge probe (needs DISPLAY)")
    parser.add_argument("--api", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    print(json.dumps(probe(args.api, args.token, args.rounds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
