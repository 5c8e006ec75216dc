"""Kernel compile times: what the first start on a new machine pays, and every start after.

Each kernel module's ``warm()`` runs in a fresh interpreter, first with empty caches (numba's
``NUMBA_CACHE_DIR`` and the console's ``NVR_PREBUILT_DIR``: a cold compile, as after a new
install, a new CPU or a new numba) and then again with what that run left (a normal start: the
compiled code is loaded). ``gui.kernel`` is the console's copy of the scale kernel, built
ahead of time (setup builds it). Engine workers and the console warm before they touch a frame,
so neither figure ever stalls a frame; the cold figure is how much longer the first start takes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.measure import Row, make_row

ROOT = Path(__file__).resolve().parent.parent
MODULES = ("native.motion", "native.scale", "gui.kernel")
_PROBE = "import importlib; print(importlib.import_module({module!r}).warm())"


def warm_seconds(module: str, cache_dir: Path | None = None) -> float:
    """Seconds ``module.warm()`` takes in a new interpreter with the caches under ``cache_dir``
    (the ones every nvr process uses when None)."""
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir / "numba")
        env["NVR_PREBUILT_DIR"] = str(cache_dir / "prebuilt")
    result = subprocess.run(
        [sys.executable, "-c", _PROBE.format(module=module)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return float(result.stdout.strip().splitlines()[-1])


def compile_rows(quick: bool) -> list[Row]:
    """A row per kernel module: cold compile, with the cached load in the note."""
    rows = []
    for module in MODULES:
        with tempfile.TemporaryDirectory(prefix="nvr-bench-numba-") as cache:
            cold = warm_seconds(module, Path(cache))
            cached = warm_seconds(module, Path(cache))
        rows.append(
            make_row(
                f"compile {module}: cold cache",
                "s",
                cold,
                group="compile",
                note=f"cached: {cached:.2f} s (every start after the first)",
                detail={"cold_s": round(cold, 3), "cached_s": round(cached, 3)},
            )
        )
    return rows
