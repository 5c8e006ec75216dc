"""Test a stream URL as a worker would open it: what it carries, or why it cannot be read.

The camera editor's "test connection". It opens the stream with the worker's own source (same
transport, timeouts and messages), reads packets for ``SAMPLE_S`` and reports codec, resolution,
frame rate and bitrate, or the failure in one of a few kinds with the fix for each: ``auth``
(the camera refused the user name or password), ``unreachable`` (nothing answers at that
address), ``not_found`` (the server has no stream at that path), ``not_video`` (it answered,
but not with a video stream we can read) or ``timeout``.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import av

from nvr.errors import StreamError
from nvr.redact import redact_url
from nvr.worker.decodable import malformed
from nvr.worker.source import StreamSource

SAMPLE_S = 1.5  # packets read to measure the frame rate and bitrate
MAX_PACKETS = 300


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What a stream carries (``ok``), or why it cannot be read (``kind``, ``error``)."""

    url: str  # redacted
    ok: bool
    codec: str = ""
    width: int = 0
    height: int = 0
    fps: float = 0.0
    bitrate_bps: int = 0
    kind: str = ""
    error: str = ""
    took_s: float = 0.0


_KINDS = (  # (kind, words in the library's message, the fix)
    ("auth", ("401", "unauthorized", "403", "forbidden"), "check the user name and password"),
    ("not_found", ("404", "not found"), "check the stream's path (the part after the address)"),
    (
        "unreachable",
        ("refused", "no route", "unreachable", "name or service", "resolve", "network is down"),
        "check the address and port, and that the camera is on and on the network",
    ),
    (
        "not_video",
        ("not as an rtsp camera", "does not decode"),
        "check the URL is the camera's RTSP stream",
    ),
    ("timeout", ("timed out", "timeout", "sent no stream"), "the camera did not answer in time"),
)


def probe(url: str, transport: str = "tcp", timeout_s: float = 5.0) -> ProbeResult:
    """Open ``url``, sample its packets; never raises for a stream problem."""
    started = time.monotonic()
    shown = redact_url(url)
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        if parts.scheme in ("rtsp", "rtsps"):  # a configured camera may play a local file
            socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return ProbeResult(
            shown,
            False,
            kind="unreachable",
            error=f"{shown}: cannot resolve the host name {host!r}; check the address",
            took_s=round(time.monotonic() - started, 3),
        )
    source = StreamSource(
        url, transport=transport, timeout_s=timeout_s, label=shown, open_timeout_s=timeout_s
    )
    try:
        try:
            source.open()
        except StreamError as err:
            if "sent no stream" in str(err) and time.monotonic() - started < timeout_s / 2:
                raise StreamError(  # at once: no RTSP server answered there
                    f"{shown}: no RTSP camera answered there (nothing at that address, or a web "
                    "server or another service on that port)"
                ) from err
            raise
        assert source.stream is not None
        stream = source.stream
        codec = stream.codec_context.name
        width, height = stream.codec_context.width, stream.codec_context.height
        count, size, first_pts, last_pts, decoded, garbage = 0, 0, 0, 0, 0, 0
        stop = threading.Event()
        deadline = time.monotonic() + SAMPLE_S
        for packet in source.packets(stop):  # media time: what the camera says it sends
            first_pts = packet.pts if count == 0 else first_pts
            last_pts = packet.pts
            count += 1
            size += packet.size
            if malformed(stream.codec_context, packet.packet) is not None:
                garbage += 1  # a header no encoder writes: random bytes, not video
            elif not decoded:  # a camera's video decodes into pictures
                with contextlib.suppress(av.error.FFmpegError):
                    decoded += len(stream.codec_context.decode(packet.packet))
            if time.monotonic() >= deadline or count >= MAX_PACKETS:
                break
        if not decoded or garbage:
            raise StreamError(
                f"{shown}: it sends a {codec} stream that does not decode into pictures (not a "
                "camera's video, or a damaged stream)"
            )
        width = width or stream.codec_context.width
        height = height or stream.codec_context.height
        span_s = float((last_pts - first_pts) * (stream.time_base or 0))
        rate = stream.average_rate or stream.guessed_rate
        fps = (count - 1) / span_s if span_s > 0 and count > 1 else float(rate or 0)
        return ProbeResult(
            shown,
            True,
            codec=codec,
            width=width,
            height=height,
            fps=round(fps, 2),
            bitrate_bps=int(size * 8 / span_s) if span_s > 0 else 0,
            took_s=round(time.monotonic() - started, 3),
        )
    except StreamError as err:
        kind, fix = _kind(str(err).replace(shown, ""))  # the cause, not the URL's digits
        return ProbeResult(
            shown,
            False,
            kind=kind,
            error=f"{err}; {fix}",
            took_s=round(time.monotonic() - started, 3),
        )
    finally:
        source.close()


def _kind(message: str) -> tuple[str, str]:
    """The kind of failure a message (without its URL) tells, by whole words."""
    lowered = message.lower()
    for kind, words, fix in _KINDS:
        if any(re.search(rf"\b{re.escape(w)}\b", lowered) for w in words):
            return kind, fix
    return "not_video", "check that the URL is the camera's RTSP stream (rtsp://host:554/path)"
