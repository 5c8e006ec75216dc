"""The scale kernel compiled ahead of time for this machine, for the console (numba.pycc).

The same code as ``native.scale`` (its ``_make_plan`` and ``_convert`` compiled by numba into a
CPython extension), so the same pixels at the same speed; but loading it does not import numba.
In the console that is about 120 MB less memory: numba's import takes 64 MB and its CPU target,
which even a cached JIT kernel needs, another 45 MB, against 0.3 MB for the extension.

The extension is built once per kernel source, numba and Python version and CPU, in a process of
its own (``python -m native.prebuilt``: about 8 s; it needs gcc and Python's headers, which
``scripts/setup.sh`` installs and uses to build it), into ``<cache>/<key>/``. ``load`` builds it
when it is missing. Where it cannot be built, ``load`` says why and the JIT kernel is used.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.machinery
import importlib.metadata
import importlib.util
import logging
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from native.texture import check_out

log = logging.getLogger(__name__)

MODULE = "nvr_scale"  # the extension's name (its PyInit_ symbol): fixed
CACHE = Path(
    os.environ.get("NVR_PREBUILT_DIR")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nvr" / "prebuilt"
)
_SOURCES = ("scale.py", "texture.py", "prebuilt.py")  # the kernel and its wrapper
# numba settings that change the code it generates for this CPU
_NUMBA_ENV = ("NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES", "NUMBA_ENABLE_AVX", "NUMBA_OPT")
_BUILD_TIMEOUT_S = 600

Kernel = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], None]


class PrebuiltError(RuntimeError):
    """The extension could not be built or loaded; the message says why and what to do."""


def _cpu() -> str:
    """The CPU the code is compiled for: model and instruction-set flags (Linux), else the
    platform's words for it."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return f"{platform.machine()} {platform.processor()}"
    fields = {}
    for line in text.split("\n\n", 1)[0].splitlines():
        name, _, value = line.partition(":")
        fields[name.strip()] = value.strip()
    return f"{fields.get('model name', '')} | {fields.get('flags', '')}"


def key() -> str:
    """What the extension depends on, hashed: kernel sources, numba, Python, CPU, numba's CPU
    settings. A change to any of them builds a new one."""
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for name in _SOURCES:
        digest.update((here / name).read_bytes())
    digest.update(importlib.metadata.version("numba").encode())
    digest.update(sys.version.encode())
    digest.update(_cpu().encode())
    for name in _NUMBA_ENV:
        digest.update(f"{name}={os.environ.get(name, '')}".encode())
    return digest.hexdigest()[:20]


def path(cache: Path | None = None) -> Path:
    """Where this machine's extension is (or would be), under ``cache`` (default ``CACHE``)."""
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    return (cache or CACHE) / key() / f"{MODULE}{suffix}"


def build(cache: Path | None = None) -> Path:
    """Build the extension in a new process (unless it is there); returns its path.

    Built in a temporary folder and moved into place, so consoles starting together never load a
    half-written file. Raises ``PrebuiltError`` with the compiler's last words on failure.
    """
    target = path(cache)
    if target.exists():
        return target
    target.parent.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".build-", dir=target.parent.parent) as work:
        try:
            result = subprocess.run(
                [sys.executable, "-m", "native.prebuilt", "--out", work],
                cwd=Path(__file__).resolve().parent.parent,
                capture_output=True,
                text=True,
                timeout=_BUILD_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as err:
            raise PrebuiltError(
                f"building the console's scale kernel took over {_BUILD_TIMEOUT_S} s"
            ) from err
        built = Path(work) / target.name
        if result.returncode != 0 or not built.exists():
            raise PrebuiltError(
                f"could not build the console's scale kernel ({_cause(result)}); install gcc "
                "and the Python headers (scripts/setup.sh does) and start again"
            )
        folder = Path(work) / "done"
        folder.mkdir()
        shutil.move(built, folder / target.name)
        try:
            folder.rename(target.parent)
        except OSError:  # another process moved its build into place first
            if not target.exists():
                raise
    return target


def _cause(result: subprocess.CompletedProcess[str]) -> str:
    """The build's error in one line: its last exception line, else its last line."""
    lines = [line.strip() for line in (result.stderr or result.stdout).splitlines() if line.strip()]
    errors = [line for line in lines if re.match(r"^[\w.]+(Error|Exception): ", line)]
    cause = (errors or lines or [f"exit status {result.returncode}"])[-1]
    cause = re.sub(r"(?<=\.)\s+[^.]*:$", "", cause)  # "... If using conda try:" led to lines cut
    return cause if len(cause) <= 240 else cause[:239] + "…"


def _import(file: Path) -> Kernel:
    spec = importlib.util.spec_from_file_location(MODULE, file)
    if spec is None or spec.loader is None:
        raise PrebuiltError(f"{file} is not a loadable extension")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    kernel: Kernel = module.convert
    return kernel


def load(cache: Path | None = None) -> Kernel:
    """This machine's prebuilt kernel, built first if missing; raises ``PrebuiltError``."""
    file = build(cache)
    try:
        return _import(file)
    except ImportError as err:
        raise PrebuiltError(
            f"cannot load the console's scale kernel {file} ({err}); delete {file.parent} "
            "and start again to rebuild it"
        ) from err


_kernel: Kernel | None = None


def kernel() -> Kernel:
    """The kernel the console converts with: the prebuilt one, or (saying why, once) the JIT
    kernel of ``native.scale`` where it cannot be built here."""
    global _kernel
    if _kernel is None:
        try:
            _kernel = load()
        except PrebuiltError as err:
            log.warning("%s; using the JIT kernel (about 120 MB more memory)", err)
            from native.scale import yuv420_to_rgba

            _kernel = yuv420_to_rgba
    return _kernel


def warm() -> float:
    """Build or load the kernel before the first frame; returns seconds taken."""
    start = time.perf_counter()
    kernel()
    return time.perf_counter() - start


def yuv420_to_rgba(y: np.ndarray, u: np.ndarray, v: np.ndarray, out: np.ndarray) -> None:
    """``native.scale.yuv420_to_rgba`` (same inputs, same pixels, same errors) through the
    prebuilt kernel. Holds the GIL while it converts (pycc's wrappers do not release it)."""
    check_out(out, "yuv420_to_rgba")
    kernel()(y, u, v, out)


def _compile(out_dir: Path) -> None:
    """Compile the extension into ``out_dir`` (run by ``build`` in a process of its own: it
    imports numba and the JIT kernel's module)."""
    import warnings

    from numba import NumbaPendingDeprecationWarning
    from numba.pycc import CC

    from native.scale import _convert, _make_plan

    warnings.simplefilter("ignore", NumbaPendingDeprecationWarning)  # pycc: no successor yet
    cc = CC(MODULE)
    cc.output_dir = str(out_dir)
    cc.target_cpu = os.environ.get("NUMBA_CPU_NAME") or "host"  # as the JIT kernel would

    @cc.export("convert", "void(u1[:, :], u1[:, :], u1[:, :], f4[:, :, :])")
    def convert(y, u, v, out):  # type: ignore[no-untyped-def]
        (h, w), (ch, cw) = y.shape, u.shape
        plan = _make_plan(h, w, ch, cw, out.shape[0], out.shape[1])
        _convert(y, u, v, out, plan)

    cc.compile()


def main() -> int:
    parser = argparse.ArgumentParser(description="build the console's prebuilt scale kernel")
    parser.add_argument("--out", type=Path, help="compile into this folder (used by build())")
    args = parser.parse_args()
    if args.out is not None:
        _compile(args.out)
    else:
        started = time.perf_counter()
        print(f"{build()} ({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
