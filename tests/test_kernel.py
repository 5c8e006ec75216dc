"""The console's scale kernel (gui.kernel): built here with numba.pycc, loaded without numba, the
same pixels as the JIT kernel; a machine that cannot build it gets the JIT kernel and the reason."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gui import kernel as prebuilt
from native import scale
from tests.conftest import ROOT

# In a fresh interpreter: load the extension from the cache given, convert the frames saved by
# the test into every output shape the console uses, and say whether numba was imported.
_CONVERT = """
import json, sys
import numpy as np
from gui import kernel as prebuilt
frames = np.load(sys.argv[1])
y, u, v = (frames[k] for k in "yuv")
for a in (y, u, v):
    a.flags.writeable = False  # as ring views are
tile = np.zeros((270, 480, 4), np.float32)
box = np.zeros((300, 300, 4), np.float32)
atlas = np.zeros((700, 1300, 4), np.float32)
prebuilt.yuv420_to_rgba(y, u, v, tile)
prebuilt.yuv420_to_rgba(y, u, v, box)
prebuilt.yuv420_to_rgba(y[2:, 2:], u[1:, 1:], v[1:, 1:], atlas[337:675, 601:1201])
np.savez(sys.argv[2], tile=tile, box=box, atlas=atlas)
print(json.dumps({"numba": "numba" in sys.modules, "file": prebuilt.path().name}))
"""


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("prebuilt")
    prebuilt.build(folder)
    return folder


def test_prebuilt_kernel_matches_the_jit_kernel_without_numba(cache, tmp_path, monkeypatch):
    rng = np.random.default_rng(7)
    y = rng.integers(0, 256, (360, 640), np.uint8)
    u = rng.integers(0, 256, (180, 320), np.uint8)
    v = rng.integers(0, 256, (180, 320), np.uint8)
    np.savez(tmp_path / "in.npz", y=y, u=u, v=v)
    monkeypatch.setenv("NVR_PREBUILT_DIR", str(cache))
    result = subprocess.run(
        [sys.executable, "-c", _CONVERT, str(tmp_path / "in.npz"), str(tmp_path / "out.npz")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["numba"] is False, "the console's conversion imported numba"
    assert (cache / prebuilt.key() / report["file"]).exists()  # loaded, not built again
    got = np.load(tmp_path / "out.npz")
    want_tile = np.zeros((270, 480, 4), np.float32)
    want_box = np.zeros((300, 300, 4), np.float32)  # letterboxed: black bars above and below
    want_atlas = np.zeros((700, 1300, 4), np.float32)
    scale.yuv420_to_rgba(y, u, v, want_tile)
    scale.yuv420_to_rgba(y, u, v, want_box)
    scale.yuv420_to_rgba(y[2:, 2:], u[1:, 1:], v[1:, 1:], want_atlas[337:675, 601:1201])
    np.testing.assert_array_equal(got["tile"], want_tile)
    np.testing.assert_array_equal(got["box"], want_box)
    np.testing.assert_array_equal(got["atlas"], want_atlas)  # nothing outside the region
    assert want_box[0, 150, 3] == 1.0 and want_box[0, 150, :3].max() == 0.0


@pytest.mark.parametrize("convert", [prebuilt.yuv420_to_rgba, scale.yuv420_to_rgba])
def test_both_kernels_check_their_arguments(convert):
    y = np.zeros((36, 64), np.uint8)
    c = np.zeros((18, 32), np.uint8)
    tile = np.zeros((27, 48, 4), np.float32)
    with pytest.raises(ValueError, match=r"out has dtype uint8, not float32; pass a writable"):
        convert(y, c, c, np.zeros((27, 48, 4), np.uint8))
    with pytest.raises(ValueError, match=r"pixels are not contiguous"):
        convert(y, c, c, np.zeros((27, 48, 4), np.float32)[:, ::2])
    with pytest.raises(ValueError, match=r"plane y is ndarray float32 \(36, 64\); pass 2-D uint8"):
        convert(y.astype(np.float32), c, c, tile)
    with pytest.raises(ValueError, match=r"chroma planes \(18, 31\) .* needs \(18, 32\)"):
        convert(y, c[:, :31], c[:, :31], tile)


def test_the_kernel_is_rebuilt_for_another_cpu_or_numba_setting(monkeypatch):
    before = prebuilt.key()
    monkeypatch.setenv("NUMBA_CPU_NAME", "generic")
    assert prebuilt.key() != before
    monkeypatch.delenv("NUMBA_CPU_NAME")
    assert prebuilt.key() == before


def test_without_a_compiler_the_console_says_why_and_uses_the_jit_kernel(
    tmp_path, monkeypatch, caplog
):
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    with pytest.raises(prebuilt.PrebuiltError, match=r"no .*no-such-compiler on PATH; install gcc"):
        prebuilt.build(tmp_path / "cache")
    assert not prebuilt.path(tmp_path / "cache").exists()
    monkeypatch.setattr(prebuilt, "CACHE", tmp_path / "cache")
    monkeypatch.setattr(prebuilt, "_kernel", None)
    with caplog.at_level(logging.WARNING, logger="gui.kernel"):
        assert prebuilt.kernel() is scale.yuv420_to_rgba
    assert "Using the JIT kernel" in caplog.text and "install gcc, g++" in caplog.text


def test_an_unwritable_cache_is_named_with_the_fix(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(prebuilt.PrebuiltError, match=r"set NVR_PREBUILT_DIR to a writable folder"):
        prebuilt.build(blocker / "cache")
