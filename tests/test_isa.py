"""``native.isa``: the vector instructions the kernels call by name follow numba's settings."""

from __future__ import annotations

import pytest

from native import isa


def test_the_isa_follows_numbas_cpu_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """NUMBA_CPU_FEATURES (and NUMBA_CPU_NAME=generic, which sets it to "") decide the
    instructions, as they decide the code numba generates: an AVX2 instruction in code built
    without AVX2 aborts LLVM. Without the setting, the host's features count, whatever
    NUMBA_CPU_NAME says (numba's own default)."""
    monkeypatch.setattr(isa.numba_config, "CPU_FEATURES", "")
    assert isa.vector_isa() == ""
    monkeypatch.setattr(isa.numba_config, "CPU_FEATURES", "+avx,+avx2,+fma,-avx512f")
    assert isa.vector_isa() == "avx2"
    monkeypatch.setattr(isa.numba_config, "CPU_FEATURES", "+avx2,+avx512f,+avx512vl")
    assert isa.vector_isa() == "avx512"
    monkeypatch.setattr(isa.numba_config, "CPU_FEATURES", "+avx2,+avx512f,-avx512vl")
    assert isa.vector_isa() == "avx2"
    monkeypatch.setattr(isa.numba_config, "CPU_FEATURES", None)
    monkeypatch.setattr(isa, "get_host_cpu_features", lambda: "+sse2,+avx,+avx2")
    assert isa.vector_isa() == "avx2"
