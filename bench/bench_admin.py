"""pytest-benchmark: a config edit applied to the example config's text (comments kept), and a
backup of a 70,000-row catalog; the engine-level figures are in ``bench/admin.py``."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.admin import QUICK_ROWS, fill_catalog
from nvr.config_edit import Edit, apply_edits
from nvr.storage.backup import create_backup

ROOT = Path(__file__).resolve().parent.parent


def test_config_edit_text(benchmark) -> None:
    benchmark.group = "admin"
    text = (ROOT / "config" / "nvr.example.yaml").read_text()
    edit = [Edit(("cameras", "front_door", "record", "segment_s"), 30)]
    out = benchmark(apply_edits, text, edit)
    assert "segment_s: 30" in out


def test_backup_of_a_catalog(benchmark) -> None:
    benchmark.group = "admin"
    with tempfile.TemporaryDirectory(prefix="nvr-bench-backup-") as tmp:
        folder = Path(tmp)
        (folder / "storage").mkdir()
        fill_catalog(folder / "storage" / "catalog.db", QUICK_ROWS)
        config = folder / "nvr.yaml"
        config.write_text(f"storage:\n  path: {folder / 'storage'}\n  min_free_bytes: 100MB\n")
        summary = benchmark.pedantic(
            create_backup, args=(config, folder / "storage", folder / "out.tar"), rounds=3
        )
    assert summary.files == 2
