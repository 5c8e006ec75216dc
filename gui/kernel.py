"""The console's scale kernel: ``native.scale`` compiled ahead of time for this machine.

``native.scale.convert`` compiled by ``numba.pycc`` into a CPython extension: the same code, so
the same pixels, at the same speed (its plan is made on every call, a few us). Loading it does
not import numba: in the console that is about 120 MB less memory (numba's import takes 64 MB
and its CPU target, which even a JIT kernel loaded from numba's cache needs, another 45 MB,
against 0.3 MB for the extension).

The extension is built once per kernel source, numba, numpy and Python version, CPU and numba CPU
setting (``key``), by ``python -m gui.kernel`` in a process of its own (5-15 s; it needs gcc,
g++ and Python's headers, which ``scripts/setup.sh`` installs before building it), into
``<cache>/<key>/``; the console builds it on its first start if it is missing. ``kernel`` falls
back to the JIT kernel, saying why, where it cannot be built or loaded.
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
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from native import CACHE_DIR
from native.texture import check_out, check_planes

log = logging.getLogger(__name__)

MODULE = "nvr_scale"  # the extension's name (its PyInit_ symbol): fixed
CACHE = Path(os.environ.get("NVR_PREBUILT_DIR") or CACHE_DIR / "prebuilt")
ROOT = Path(__file__).resolve().parent.parent
# What the compiled code is made of: the kernel, its geometry, its array views, the vector
# instructions it calls by name and this module's export.
_SOURCES = (
    "native/scale.py",
    "native/texture.py",
    "native/views.py",
    "native/isa.py",
    "gui/kernel.py",
)
_PACKAGES = ("numba", "llvmlite", "numpy")
# numba settings that change the code it generates for this CPU
_NUMBA_ENV = ("NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES", "NUMBA_ENABLE_AVX", "NUMBA_OPT")
_BUILD_TIMEOUT_S = 600
_STALE_BUILD_S = 3600  # a build folder this old was left by a killed build

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
    """What the extension depends on, hashed: its sources, numba, llvmlite, numpy and Python
    versions, the CPU and numba's CPU settings. A change to any of them builds a new one."""
    digest = hashlib.sha256()
    for name in _SOURCES:
        digest.update((ROOT / name).read_bytes())
    for package in _PACKAGES:
        digest.update(f"{package}={importlib.metadata.version(package)}".encode())
    digest.update(sys.version.encode())
    digest.update(_cpu().encode())
    for name in _NUMBA_ENV:
        digest.update(f"{name}={os.environ.get(name, '')}".encode())
    return digest.hexdigest()[:20]


def path(cache: Path | None = None) -> Path:
    """Where this machine's extension is (or would be), under ``cache`` (default ``CACHE``)."""
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    return (cache or CACHE) / key() / f"{MODULE}{suffix}"


def _missing_compilers() -> list[str]:
    """The compilers numba.pycc will call that are not on PATH (C: ``$CC`` or gcc; C++: g++)."""
    c_compiler = (os.environ.get("CC") or "gcc").split()[0]
    return [name for name in (c_compiler, "g++") if shutil.which(name) is None]


def build(cache: Path | None = None) -> Path:
    """Build the extension in a new process (unless it is there); returns its path.

    Built in a temporary folder and moved into place, so consoles starting together never load a
    half-written file. Raises ``PrebuiltError`` naming the cause and the fix.
    """
    target = path(cache)
    if target.exists():
        return target
    missing = _missing_compilers()
    if missing:
        raise PrebuiltError(
            f"cannot build the console's scale kernel: no {' or '.join(missing)} on PATH; "
            "install gcc, g++ and the Python headers (scripts/setup.sh does) and start again"
        )
    root = target.parent.parent
    try:
        root.mkdir(parents=True, exist_ok=True)
        _remove_stale_builds(root)
        with tempfile.TemporaryDirectory(prefix=".build-", dir=root) as work:
            log.info("building the console's scale kernel for this CPU (once, 5-15 s)")
            _compile_in_child(Path(work))
            built = Path(work) / target.name
            if not built.exists():
                raise PrebuiltError(f"the build of the console's scale kernel made no {built.name}")
            folder = Path(work) / "done"
            folder.mkdir()
            built.rename(folder / target.name)
            try:
                folder.rename(target.parent)
            except OSError:  # another process moved its build into place first
                if not target.exists():
                    raise
    except OSError as err:
        raise PrebuiltError(
            f"cannot build the console's scale kernel in {root} ({err}); make it writable or "
            "set NVR_PREBUILT_DIR to a writable folder"
        ) from err
    return target


def _compile_in_child(work: Path) -> None:
    """``python -m gui.kernel --out work`` with a time limit; its process group is killed on
    timeout (the compilers it started too)."""
    child = subprocess.Popen(
        [sys.executable, "-m", "gui.kernel", "--out", str(work)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = child.communicate(timeout=_BUILD_TIMEOUT_S)
    except subprocess.TimeoutExpired as expired:
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        raise PrebuiltError(
            f"building the console's scale kernel took over {_BUILD_TIMEOUT_S} s; run "
            "`python -m gui.kernel` on an idle machine to see where it stops"
        ) from expired
    if child.returncode != 0:
        raise PrebuiltError(
            f"could not build the console's scale kernel ({_cause(err or out, child.returncode)})"
            "; run `python -m gui.kernel` to see the whole error"
        )


def _remove_stale_builds(root: Path) -> None:
    """Delete build folders left by builds that were killed (older than an hour)."""
    for folder in root.glob(".build-*"):
        try:
            if time.time() - folder.stat().st_mtime > _STALE_BUILD_S:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def _cause(output: str, returncode: int) -> str:
    """A build's error in one line: its last exception line, else its last line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if re.match(r"^[\w.]+(Error|Exception): ", line)]
    cause = (errors or lines or [f"exit status {returncode}"])[-1]
    cause = re.sub(r"(?<=\.)\s+[^.]*:$", "", cause)  # "... If using conda try:" led to lines cut
    return cause if len(cause) <= 240 else cause[:239] + "…"


def load(cache: Path | None = None) -> Kernel:
    """This machine's prebuilt kernel, built first if missing; raises ``PrebuiltError``."""
    file = build(cache)
    spec = importlib.util.spec_from_file_location(MODULE, file)
    try:
        if spec is None or spec.loader is None:
            raise ImportError("not a loadable extension")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except ImportError as err:
        raise PrebuiltError(
            f"cannot load the console's scale kernel {file} ({err}); delete {file.parent} "
            "and start again to rebuild it"
        ) from err
    kernel: Kernel = module.convert
    return kernel


_kernel: Kernel | None = None


def kernel() -> Kernel:
    """The kernel the console converts with: the prebuilt one, or (saying why, once) the JIT
    kernel of ``native.scale``, warmed, where it cannot be built or loaded here."""
    global _kernel
    if _kernel is None:
        try:
            _kernel = load()
        except PrebuiltError as err:
            log.warning("%s. Using the JIT kernel meanwhile (about 120 MB more memory)", err)
            from native import scale

            scale.warm()
            _kernel = scale.yuv420_to_rgba
    return _kernel


def warm() -> float:
    """Build or load the kernel before the first frame; returns seconds taken."""
    start = time.perf_counter()
    kernel()
    return time.perf_counter() - start


def yuv420_to_rgba(y: np.ndarray, u: np.ndarray, v: np.ndarray, out: np.ndarray) -> None:
    """``native.scale.yuv420_to_rgba`` (same arguments, checks and pixels) through the prebuilt
    kernel. Holds the GIL while it converts (pycc's wrappers do not release it)."""
    check_planes(y, u, v, "yuv420_to_rgba")
    check_out(out, "yuv420_to_rgba")
    kernel()(y, u, v, out)


def _compile(out_dir: Path) -> None:
    """Compile the extension into ``out_dir`` (what ``build`` runs in a process of its own: it
    imports numba and the JIT kernel's module)."""
    import warnings

    from numba import NumbaPendingDeprecationWarning
    from numba.core.codegen import AOTCPUCodegen
    from numba.pycc import CC

    from native.scale import convert as scale_convert

    warnings.simplefilter("ignore", NumbaPendingDeprecationWarning)  # pycc: no successor yet
    # pycc compiles for a CPU model's nominal features; the JIT kernel (and its choice of
    # permute, native.isa) uses the features this CPU really has (a VM may hide
    # some its model implies). Compile for those, honouring NUMBA_CPU_NAME/NUMBA_CPU_FEATURES.
    AOTCPUCodegen._customize_tm_features = AOTCPUCodegen._get_host_cpu_features  # type: ignore[method-assign]
    cc = CC(MODULE)
    cc.output_dir = str(out_dir)
    cc.target_cpu = "host"

    @cc.export("convert", "void(u1[:, :], u1[:, :], u1[:, :], f4[:, :, :])")
    def convert(y, u, v, out):  # type: ignore[no-untyped-def]
        scale_convert(y, u, v, out)

    cc.compile()


def main() -> int:
    parser = argparse.ArgumentParser(description="build the console's prebuilt scale kernel")
    parser.add_argument("--out", type=Path, help="compile into this folder (used by build())")
    args = parser.parse_args()
    if args.out is not None:
        _compile(args.out)
        return 0
    started = time.perf_counter()
    try:
        built = build()
    except PrebuiltError as err:
        print(f"gui.kernel: {err}", file=sys.stderr)
        return 1
    print(f"{built} ({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
