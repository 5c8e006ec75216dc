"""Collect the ``bench_*.py`` files when pytest is pointed at ``bench/``.

The test suite (``testpaths = tests``) never loads this folder, so benchmarks only run when asked
for: ``pytest bench/ --benchmark-only`` or ``pytest bench/bench_kernels.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    """``bench_*.py`` modules (files named on the command line are collected by pytest itself)."""
    if (
        file_path.suffix == ".py"
        and file_path.name.startswith("bench_")
        and not parent.session.isinitpath(file_path)
    ):
        return pytest.Module.from_parent(parent, path=file_path)
    return None
