"""The alarm sound: a short tone played by the system's player while any alarm waits for
acknowledgement, again every ``REPEAT_S``.

Dear PyGui has no audio, so the console runs a player: ``paplay`` (PulseAudio, PipeWire),
``pw-play`` or ``aplay`` (ALSA), whichever is installed, on a WAV file it writes once; or the
command given with ``nvr console --alarm-sound CMD`` (the file's path is appended), or none with
``--alarm-sound off``. Without a player the alert is visual only, and the log says so once.
"""

from __future__ import annotations

import logging
import math
import shlex
import shutil
import struct
import subprocess
import tempfile
import wave
from pathlib import Path

log = logging.getLogger(__name__)

REPEAT_S = 5.0
PLAYERS = ("paplay", "pw-play", "aplay")
_RATE = 16_000


def tone_wav(path: Path) -> None:
    """Two short beeps (880 Hz, then 660 Hz), 16-bit mono."""
    samples = []
    for freq in (880.0, 660.0):
        for i in range(int(_RATE * 0.18)):
            fade = min(1.0, i / 200, (int(_RATE * 0.18) - i) / 200)
            samples.append(int(12000 * fade * math.sin(2 * math.pi * freq * i / _RATE)))
        samples.extend([0] * int(_RATE * 0.06))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(_RATE)
        out.writeframes(struct.pack(f"<{len(samples)}h", *samples))


def player_command(choice: str) -> list[str] | None:
    """The player to run: ``auto`` (the first of ``PLAYERS`` found), ``off``, or a command."""
    if choice == "off":
        return None
    if choice != "auto":
        return shlex.split(choice)
    for name in PLAYERS:
        found = shutil.which(name)
        if found:
            return [found]
    log.warning(
        "no sound player found (%s): alarms are shown but not heard; install pulseaudio-utils "
        "or alsa-utils, or pass --alarm-sound CMD",
        ", ".join(PLAYERS),
    )
    return None


class Sounder:
    """Plays the tone at most every ``REPEAT_S``, never two at once, never blocking the caller."""

    def __init__(self, command: list[str] | None) -> None:
        self.command = command
        self._proc: subprocess.Popen[bytes] | None = None
        self._last = -math.inf
        self._wav: Path | None = None
        self.played = 0

    def ring(self, now: float) -> None:
        """Play once if the last tone ended and ``REPEAT_S`` passed since it started."""
        if self.command is None or now - self._last < REPEAT_S:
            return
        if self._proc is not None and self._proc.poll() is None:
            return
        if self._wav is None:
            self._wav = Path(tempfile.mkdtemp(prefix="nvr-console-")) / "alarm.wav"
            tone_wav(self._wav)
        self._last = now
        try:
            self._proc = subprocess.Popen(
                [*self.command, str(self._wav)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            self.played += 1
        except OSError as err:
            log.warning(
                "cannot play the alarm sound with %s (%s); alarms stay visual", self.command[0], err
            )
            self.command = None

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
        if self._wav is not None:
            self._wav.unlink(missing_ok=True)
            self._wav.parent.rmdir()
