"""Built-in synthetic cameras: short H.264 clips made with PyAV's libx264, looped as live feeds.

Each clip shows a textured scene in which an object crosses the picture and then the scene
stays still, so the motion detector starts and ends events on every loop. Clips are encoded
once per data folder and reused.
"""

from __future__ import annotations

import logging
from pathlib import Path

import av
import cv2
import numpy as np

log = logging.getLogger(__name__)

CLIP_VERSION = 1
FPS = 15
CLIP_S = 12
MOVING_S = 5  # the object crosses during the first seconds of each loop, then all is still
MAIN_SIZE = (1920, 1080)
SUB_SIZE = (640, 360)
CAMERAS = (
    ("lobby", "continuous"),
    ("parking", "motion"),
    ("loading_dock", "continuous"),
    ("back_door", "motion"),
)


def _background(seed: int) -> np.ndarray:
    """A textured, camera-like still scene at the main size (RGB)."""
    rng = np.random.default_rng(seed)
    width, height = MAIN_SIZE
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    base = rng.uniform(40, 120, 3)
    img = np.empty((height, width, 3), np.float32)
    for c in range(3):
        img[..., c] = base[c] + 50 * np.sin(xs / (90 + 30 * c + seed)) * np.cos(ys / 140)
    for _ in range(14):  # static "furniture"
        x, y = int(rng.integers(0, width - 300)), int(rng.integers(0, height - 200))
        w, h = int(rng.integers(80, 300)), int(rng.integers(60, 200))
        img[y : y + h, x : x + w] = rng.uniform(30, 220, 3)
    noise = cv2.GaussianBlur(rng.normal(0, 12, (height, width)).astype(np.float32), (0, 0), 1.5)
    img += noise[..., None]
    return np.clip(img, 0, 255).astype(np.uint8)


def _frames(seed: int):
    """RGB frames of one loop: an object crosses for MOVING_S seconds, then nothing moves."""
    background = _background(seed)
    width, height = MAIN_SIZE
    color = tuple(int(c) for c in np.random.default_rng(seed + 99).integers(160, 256, 3))
    moving = MOVING_S * FPS
    for i in range(CLIP_S * FPS):
        frame = background.copy()
        if i < moving:
            x = int(-240 + (width + 240) * i / moving)
            y = int(height * 0.45 + 120 * np.sin(i / 6 + seed))
            cv2.rectangle(frame, (x, y), (x + 240, y + 160), color, -1)
            cv2.circle(frame, (x + 120, y - 50), 55, color, -1)
        yield frame


def _encoder(
    path: Path, size: tuple[int, int]
) -> tuple[av.container.OutputContainer, av.VideoStream]:
    container = av.open(str(path), "w", format="mp4")
    stream = container.add_stream("libx264", rate=FPS)
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    stream.options = {
        "preset": "ultrafast",
        "tune": "zerolatency",
        "crf": "30",
        "g": str(FPS),
        "keyint_min": str(FPS),
    }
    return container, stream


def make_clip(folder: Path, name: str, seed: int) -> tuple[Path, Path]:
    """Encode (or reuse) the main and sub clips of one synthetic camera."""
    main_path = folder / f"{name}-main-v{CLIP_VERSION}.mp4"
    sub_path = folder / f"{name}-sub-v{CLIP_VERSION}.mp4"
    if main_path.exists() and sub_path.exists():
        return main_path, sub_path
    folder.mkdir(parents=True, exist_ok=True)
    tmp_main, tmp_sub = main_path.with_suffix(".part"), sub_path.with_suffix(".part")
    main, main_stream = _encoder(tmp_main, MAIN_SIZE)
    sub, sub_stream = _encoder(tmp_sub, SUB_SIZE)
    for rgb in _frames(seed):
        small = cv2.resize(rgb, SUB_SIZE, interpolation=cv2.INTER_AREA)
        for out, stream, image in ((main, main_stream, rgb), (sub, sub_stream, small)):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
    for out, stream in ((main, main_stream), (sub, sub_stream)):
        for packet in stream.encode():
            out.mux(packet)
        out.close()
    tmp_main.rename(main_path)
    tmp_sub.rename(sub_path)
    return main_path, sub_path


def write_demo_config(data: Path, port: int = 8765, web_port: int = 8443) -> Path:
    """Make the clips and a config for the demo cameras in ``data``; return the config path.
    The web server (``nvr web``) listens on loopback only, at ``web_port``."""
    clips = data / "demo-clips"
    lines = [
        "# Demo configuration written by `nvr demo`: synthetic cameras looping local clips.",
        "storage:",
        f"  path: {data / 'storage'}",
        "  min_free_bytes: 1GB  # not the 5GB default: the demo writes little",
        "api:",
        f"  port: {port}",
        "web:",
        f"  listen: 127.0.0.1:{web_port}",
        "cameras:",
    ]
    for seed, (name, mode) in enumerate(CAMERAS):
        log.info("preparing synthetic camera %s", name)
        main, sub = make_clip(clips, name, seed)
        lines += [
            f"  - id: {name}",
            f"    name: {name.replace('_', ' ').title()}",
            f"    main: {main}",
            f"    sub: {sub}",
            "    record:",
            f"      mode: {mode}",
            "      pre_roll_s: 3",
            "      post_roll_s: 4",
            "      segment_s: 20",
        ]
    path = data / "nvr.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path
