"""A fake IP camera: an RTSP server on 127.0.0.1 serving H.264 test scenes.

Run with the system interpreter (it needs python3-gi and GstRtspServer)::

    /usr/bin/python3 tests/support/rtsp_camera.py --port 8554

Mounts: ``/moving/main`` and ``/moving/sub`` (a textured box gliding over colour bars),
``/still/main`` and ``/still/sub`` (colour bars, nothing moves), ``/counter/main`` and
``/counter/sub`` (grey, with the frame number drawn as a bar code: ``tests/support/counter.py``;
the number counts frames since the camera started, so both streams show the same number at the
same instant), and ``/noise/main`` and ``/noise/sub`` (a fake camera: a valid SDP, then random
RTP payload). Prints
``READY rtsp://...`` once listening, exits on SIGTERM/SIGINT, when its parent goes away, or
after ``--max-seconds``.

Camera faults, one command per stdin line, each answered on stdout with ``OK <command>`` or
``ERR <why>``; the RTSP session stays up (all but ``size`` may be set before a client plays the
mount):

- ``size <mount> <W>x<H>``: switch the resolution; the encoder restarts with an IDR frame that
  carries the new SPS/PPS in-band, as a camera does when its settings change;
- ``shift <mount> <seconds>``: add seconds (negative: go back) to every RTP timestamp from now
  on, as a camera whose clock jumps or resets does;
- ``rate <mount> <factor>``: from now on, RTP timestamps advance ``factor`` times as fast as
  real time, as a camera whose clock runs fast (2) or slow (0.5) does;
- ``noise <mount> on|off``: replace every RTP payload with random bytes (headers kept).
"""

from __future__ import annotations

import argparse
import os
import signal
import struct
import sys
import time
from dataclasses import dataclass

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstController", "1.0")
gi.require_version("GstRtp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstController, GstRtp, GstRtspServer  # noqa: E402

try:  # run as a script (the system interpreter), or imported from the tests package
    from counter import i420_frame
except ImportError:
    from tests.support.counter import i420_frame

# Seconds for the moving box to cross the frame and back, horizontally and vertically.
_PERIOD_X_S = 4.0
_PERIOD_Y_S = 2.9
# Colour bars with ramps; unlike pattern=smpte it has no noise patch, so it is truly static.
_BARS = "videotestsrc is-live=true pattern=smpte-rp-219"


def _size(text: str) -> tuple[int, int]:
    """Parse ``WxH`` into even positive integers (I420 needs even dimensions)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WxH, got {text!r}") from None
    if w <= 0 or h <= 0 or w % 2 or h % 2:
        raise argparse.ArgumentTypeError(f"size must be positive and even, got {text!r}")
    return w, h


def _caps(w: int, h: int, fps: int) -> str:
    return f"video/x-raw,format=I420,width={w},height={h},framerate={fps}/1"


def _scaler(w: int, h: int) -> str:
    """Passthrough until the ``size`` command sets another size on the filter named size."""
    return f"videoscale ! capsfilter name=size caps=video/x-raw,width={w},height={h}"


def _encoder(kbps: int, gop: int) -> str:
    return (
        f"x264enc tune=zerolatency speed-preset=ultrafast bitrate={kbps} key-int-max={gop}"
        " threads=1 ! rtph264pay name=pay0 pt=96 config-interval=1"
    )


def still_launch(size: tuple[int, int], fps: int, gop: int, kbps: int) -> str:
    """Static colour bars: consecutive decoded frames are identical up to coding noise."""
    w, h = size
    return f"( {_BARS} ! {_caps(w, h, fps)} ! {_scaler(w, h)} ! {_encoder(kbps, gop)} )"


def _box(extent: int) -> int:
    """Moving box edge: a fifth of the frame extent, kept even."""
    return extent // 10 * 2


def moving_launch(size: tuple[int, int], fps: int, gop: int, kbps: int) -> str:
    """A box of concentric rings (1/5 of the frame each way) over colour bars."""
    w, h = size
    bw, bh = _box(w), _box(h)
    return (
        f"( compositor name=mix ! {_caps(w, h, fps)} ! {_scaler(w, h)} ! {_encoder(kbps, gop)}"
        f" {_BARS} ! {_caps(w, h, fps)} ! mix.sink_0"
        f" videotestsrc is-live=true pattern=circular ! {_caps(bw, bh, fps)} ! mix.sink_1 )"
    )


def counter_launch(size: tuple[int, int], fps: int, gop: int, kbps: int) -> str:
    """Frames pushed by ``_count_frames``: grey with the frame number's bar code."""
    w, h = size
    return (
        "( appsrc name=frames is-live=true do-timestamp=true format=time"
        f" caps={_caps(w, h, fps)} ! videoconvert ! {_scaler(w, h)} ! {_encoder(kbps, gop)} )"
    )


def _count_frames(media: GstRtspServer.RTSPMedia, size: tuple[int, int], fps: int) -> None:
    """Push one numbered picture per frame period until the media goes away. A number is one
    more than the last; a new media, or one that was frozen for more than a second (SIGSTOP),
    starts from the frame periods since the camera started, so every mount shows about the
    same number at the same instant, and a late timer never skips a number."""
    source = media.get_element().get_by_name("frames")
    state = {"number": -1, "pushed": 0.0}

    def push() -> bool:
        now = time.monotonic()
        frozen = now - state["pushed"] > 1.0
        state["number"] = int((now - _STARTED) * fps) if frozen else state["number"] + 1
        state["pushed"] = now
        buffer = Gst.Buffer.new_wrapped(i420_frame(*size, int(state["number"])))
        buffer.duration = Gst.SECOND // fps
        if source.emit("push-buffer", buffer) != Gst.FlowReturn.OK:
            return GLib.SOURCE_REMOVE  # the media was torn down
        return GLib.SOURCE_CONTINUE

    GLib.timeout_add(1000 // fps, push)


_STARTED = time.monotonic()


def _animate_box(media: GstRtspServer.RTSPMedia, size: tuple[int, int], horizon_s: float) -> None:
    """Bounce the box between the frame edges, keyed to the pipeline's running time."""
    w, h = size
    pad = media.get_element().get_by_name("mix").get_static_pad("sink_1")
    for prop, span, period in (
        ("xpos", w - _box(w), _PERIOD_X_S),
        ("ypos", h - _box(h), _PERIOD_Y_S),
    ):
        path = GstController.InterpolationControlSource()
        path.set_property("mode", GstController.InterpolationMode.LINEAR)
        half = period / 2
        for k in range(int(horizon_s / half) + 2):
            path.set(int(k * half * Gst.SECOND), float(span if k % 2 else 0))
        pad.add_control_binding(GstController.DirectControlBinding.new_absolute(pad, prop, path))


@dataclass
class _Rewrite:
    """How one mount's RTP packets are rewritten (RTP timestamps are 32-bit, 90 kHz)."""

    shift: int = 0  # ticks added
    rate: float = 1.0  # timestamps advance this many times as fast as real time...
    rate_from: tuple[int, int] | None = None  # ...from (input, output) timestamp on
    rate_pending: bool = False  # set the rate's starting point at the next packet
    noise: bool = False  # random payload
    pushing: bool = False  # re-entry guard: our own rewritten packets pass the probe as is

    def active(self) -> bool:
        return bool(self.shift or self.rate != 1.0 or self.noise)

    def timestamp(self, ts: int) -> int:
        if self.rate_pending:
            self.rate_from, self.rate_pending = (ts, self._scaled(ts)), False
        return (self._scaled(ts) + self.shift) % 2**32

    def _scaled(self, ts: int) -> int:
        if self.rate_from is None:
            return ts
        base_in, base_out = self.rate_from
        return base_out + round(((ts - base_in) % 2**32) * self.rate)


class Faults:
    """The playing media of each mount, and the camera faults the control commands inflict."""

    def __init__(self) -> None:
        self.media: dict[str, GstRtspServer.RTSPMedia] = {}
        self.rewrite: dict[str, _Rewrite] = {}  # per mount: each streams on its own thread

    def watch(self, factory: GstRtspServer.RTSPMediaFactory, mount: str) -> None:
        rewrite = self.rewrite.setdefault(mount, _Rewrite(noise=mount.startswith("noise/")))

        def configure(_factory: object, media: GstRtspServer.RTSPMedia) -> None:
            self.media[mount] = media
            rewrite.rate_pending = rewrite.rate != 1.0  # new media, new timestamp base
            pay = media.get_element().get_by_name("pay0").get_static_pad("src")
            pay.add_probe(Gst.PadProbeType.BUFFER, self._rewrite, rewrite)

        factory.connect("media-configure", configure)

    def command(self, line: str) -> str:
        """Run one control command; the reply line."""
        try:
            verb, mount, value = line.split()
        except ValueError:
            return f"ERR expected '<size|shift|rate|noise> <mount> <value>', got {line!r}"
        if mount not in self.rewrite:
            return f"ERR no mount {mount!r}"
        if verb == "size" and mount not in self.media:
            return f"ERR no client has played {mount} yet"
        rewrite = self.rewrite[mount]
        try:
            if verb == "size":
                w, h = _size(value)
                caps = Gst.Caps.from_string(f"video/x-raw,width={w},height={h}")
                self.media[mount].get_element().get_by_name("size").set_property("caps", caps)
            elif verb == "shift":
                rewrite.shift += round(float(value) * 90000)
            elif verb == "rate":
                rewrite.rate, rewrite.rate_pending = float(value), True
            elif verb == "noise" and value in ("on", "off"):
                rewrite.noise = value == "on"
            else:
                return f"ERR unknown command {verb!r} or value {value!r}"
        except (ValueError, argparse.ArgumentTypeError) as err:
            return f"ERR {err}"
        return f"OK {line}"

    def _rewrite(
        self, pad: Gst.Pad, info: Gst.PadProbeInfo, rewrite: _Rewrite
    ) -> Gst.PadProbeReturn:
        """Rewrite a packet leaving the payloader: a new buffer (Python's reference makes the
        original read-only), pushed in its place."""
        if rewrite.pushing or not rewrite.active():
            return Gst.PadProbeReturn.OK
        original = info.get_buffer()
        ok, rtp = GstRtp.RTPBuffer.map(original, Gst.MapFlags.READ)
        if not ok:
            return Gst.PadProbeReturn.OK
        header_len, timestamp = rtp.get_header_len(), rtp.get_timestamp()
        rtp.unmap()
        data = bytearray(original.extract_dup(0, original.get_size()))
        struct.pack_into(">I", data, 4, rewrite.timestamp(timestamp))
        if rewrite.noise:
            data[header_len:] = os.urandom(len(data) - header_len)
        packet = Gst.Buffer.new_wrapped(bytes(data))
        packet.pts, packet.dts, packet.duration = original.pts, original.dts, original.duration
        rewrite.pushing = True
        try:
            pad.push(packet)
        finally:
            rewrite.pushing = False
        return Gst.PadProbeReturn.DROP


def _factory(launch: str) -> GstRtspServer.RTSPMediaFactory:
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    factory.set_shared(True)
    return factory


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1")
    p.add_argument("--fps", type=int, default=15)
    p.add_argument("--main-size", type=_size, default=(1920, 1080), metavar="WxH")
    p.add_argument("--sub-size", type=_size, default=(640, 360), metavar="WxH")
    p.add_argument("--gop", type=int, default=15, help="frames between keyframes")
    p.add_argument("--main-kbps", type=int, default=2500)
    p.add_argument("--sub-kbps", type=int, default=500)
    p.add_argument("--max-seconds", type=float, default=1800.0, help="exit after this long")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Serve the mounts until signalled, orphaned or out of time."""
    args = _parse_args(argv)
    Gst.init(None)

    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    faults = Faults()
    streams = (("main", args.main_size, args.main_kbps), ("sub", args.sub_size, args.sub_kbps))
    for stream, size, kbps in streams:
        moving = _factory(moving_launch(size, args.fps, args.gop, kbps))
        moving.connect(
            "media-configure",
            lambda _f, media, size=size: _animate_box(media, size, args.max_seconds),
        )
        faults.watch(moving, f"moving/{stream}")
        mounts.add_factory(f"/moving/{stream}", moving)
        counter = _factory(counter_launch(size, args.fps, args.gop, kbps))
        counter.connect(
            "media-configure",
            lambda _f, media, size=size: _count_frames(media, size, args.fps),
        )
        faults.watch(counter, f"counter/{stream}")
        mounts.add_factory(f"/counter/{stream}", counter)
        for scene in ("still", "noise"):  # noise: the still scene's packets, payload random
            still = _factory(still_launch(size, args.fps, args.gop, kbps))
            faults.watch(still, f"{scene}/{stream}")
            mounts.add_factory(f"/{scene}/{stream}", still)

    if server.attach(None) == 0:
        print(f"rtsp_camera: cannot listen on 127.0.0.1:{args.port}", file=sys.stderr)
        return 3

    loop = GLib.MainLoop()
    parent = os.getppid()

    def quit_loop(*_: object) -> bool:
        loop.quit()
        return GLib.SOURCE_REMOVE

    def check_parent() -> bool:
        if os.getppid() != parent:
            loop.quit()
            return GLib.SOURCE_REMOVE
        return GLib.SOURCE_CONTINUE

    def announce() -> bool:
        print(f"READY rtsp://127.0.0.1:{args.port}", flush=True)
        return GLib.SOURCE_REMOVE

    def control(_fd: int, _condition: GLib.IOCondition) -> bool:
        line = sys.stdin.readline()
        if not line:  # stdin closed (or /dev/null): no more commands
            return GLib.SOURCE_REMOVE
        print(faults.command(line.strip()), flush=True)
        return GLib.SOURCE_CONTINUE

    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_HIGH, sig, quit_loop)
    GLib.timeout_add(int(args.max_seconds * 1000), quit_loop)
    GLib.timeout_add_seconds(1, check_parent)
    GLib.idle_add(announce)
    GLib.io_add_watch(sys.stdin.fileno(), GLib.PRIORITY_DEFAULT, GLib.IO_IN | GLib.IO_HUP, control)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
