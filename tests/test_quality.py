"""House rules enforced in CI: ruff lint on everything, mypy on the engine and the kernels."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_ruff_lint_is_clean():
    result = run("ruff", "check", "nvr", "native", "gui", "web", "bench", "tests")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean_on_engine_kernels_console_and_web():
    result = run("mypy", "nvr", "native", "gui", "web")
    assert result.returncode == 0, result.stdout + result.stderr
