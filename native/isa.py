"""The vector instructions the kernels are compiled with: what numba compiles for, not what the
CPU has, as numba's settings may differ (``NUMBA_CPU_NAME``, ``NUMBA_CPU_FEATURES``) and its
cache is keyed on them. Code that calls an x86 instruction by name checks here first: an AVX2
instruction in code compiled without AVX2 aborts LLVM."""

from __future__ import annotations

from numba.core import config as numba_config
from numba.core.codegen import get_host_cpu_features


def vector_isa() -> str:
    """``"avx512"`` (AVX-512 F and VL), ``"avx2"`` or ``""`` (neither: e.g. ``NUMBA_ENABLE_AVX=0``,
    ``NUMBA_CPU_NAME=generic`` or another architecture), given the CPU features numba compiles
    for."""
    features = getattr(numba_config, "CPU_FEATURES", None)
    if features is None:  # "" is a setting: none (NUMBA_CPU_NAME=generic implies it)
        features = get_host_cpu_features()
    enabled = {f[1:] for f in features.split(",") if f.startswith("+")}
    if {"avx512f", "avx512vl"} <= enabled:
        return "avx512"
    return "avx2" if "avx2" in enabled else ""


VECTOR_ISA = vector_isa()
