#!/usr/bin/env bash
# Set up nvr on a fresh Debian 12 machine: system packages (as root, or through sudo) and a
# Python 3.11+ virtual environment in .venv with the project and its test tools installed.
set -euo pipefail
cd "$(dirname "$0")/.."

# What the engine and the tests need from Debian:
#   ffmpeg/ffprobe (checks recordings, grabs console screenshots), Xvfb + Mesa (console under a
#   virtual display), xdotool (clicks and keys in console tests), DejaVu (the console's font),
#   GStreamer's RTSP server driven by the system python3-gi (the test camera), x264 (ugly),
#   gcc/g++ with python3-dev (the console's scale kernel, compiled ahead of time by numba.pycc),
#   chromium (the web tests drive Debian's browser through Playwright; it plays H.264 over MSE).
PACKAGES=(
  python3 python3-venv python3-dev gcc g++
  ffmpeg xvfb xauth libgl1 libegl1 libgl1-mesa-dri x11-utils xdotool fonts-dejavu-core
  python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp gstreamer1.0-tools
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly
  chromium
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PY="${PYTHON:-python3}"
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "setup: $PY is $("$PY" --version 2>&1); nvr needs Python 3.11 or newer (set PYTHON=...)" >&2
  exit 2
}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test,bench]'
echo "setup: building the console's scale kernel for this CPU"
.venv/bin/python -m gui.kernel
# The engine's kernels into numba's cache now: an engine that compiles them at its start keeps
# the compiler's memory in its forkserver and every worker (measured: +32 MB a worker with 2).
echo "setup: compiling the engine's kernels for this CPU"
.venv/bin/python -c 'from native.motion import warm; print(f"{warm():.1f} s")'
echo "setup: ready (.venv/bin/nvr)"
