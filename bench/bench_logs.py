"""pytest-benchmark: a text query over 100,000 indexed log entries; see ``bench/logs.py``."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.logs import ENTRIES, write_logs
from nvr.storage.logindex import LogIndex


def test_log_text_query(benchmark) -> None:
    benchmark.group = "logs"
    with tempfile.TemporaryDirectory(prefix="nvr-bench-logs-") as tmp:
        write_logs(Path(tmp), ENTRIES)
        index = LogIndex(Path(tmp))
        index.update()
        hits = benchmark(index.query, text="disk quota", limit=500)
        index.close()
    assert len(hits) == ENTRIES // 1000
