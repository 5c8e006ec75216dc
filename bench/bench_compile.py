"""pytest-benchmark: kernel compile times, cold and cached (see ``bench/compile.py``)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from bench.compile import MODULES, warm_seconds


@pytest.mark.parametrize("module", MODULES)
def test_cold_compile(benchmark, module: str) -> None:
    benchmark.group = "compile"
    with tempfile.TemporaryDirectory(prefix="nvr-bench-numba-") as cache:
        cold = benchmark.pedantic(warm_seconds, args=(module, Path(cache)), rounds=1)
        benchmark.extra_info.update(cold_s=cold, cached_s=warm_seconds(module, Path(cache)))
