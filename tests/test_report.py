"""``nvr report``: one self-contained HTML file from a real engine's files and /health."""

from __future__ import annotations

import re

from nvr.storage.catalog import Catalog
from tests.conftest import requires_rtsp, wait_for
from tests.support.cameras import RtspCamera, free_port
from tests.test_cli import nvr

pytestmark = requires_rtsp


def test_the_report_tells_engine_cameras_days_errors_and_catalog(engine_factory, tmp_path):
    storage = tmp_path / "storage"
    with RtspCamera() as camera:
        engine = engine_factory(
            f"storage:\n  path: {storage}\n  min_free_bytes: 100MB\napi:\n  port: 0\ncameras:\n"
            f"  - id: gate\n    name: 'Gate <b>&</b>'\n    main: {camera.url('moving/main')}\n"
            f"    record: {{segment_s: 5}}\n"
            f"  - id: dead\n    main: 'rtsp://admin:s3cret@127.0.0.1:{free_port()}/x'\n"
        )
        engine.start()

        def recorded() -> int:
            with Catalog(storage / "catalog.db", readonly=True) as catalog:
                return len(catalog.recordings("gate"))

        wait_for(recorded, 60, what="a segment of gate")
        out = tmp_path / "report.html"
        result = nvr("report", "-c", str(engine.config), "-o", str(out))
        assert result.returncode == 0, result.stderr
        page = out.read_text()
        assert engine.stop() == 0
    assert page.startswith("<!doctype html>") and "<script" not in page and "src=" not in page
    assert "Gate &lt;b&gt;&amp;&lt;/b&gt;" in page and "<b>&</b>" not in page  # escaped
    assert "s3cret" not in page  # stream credentials redacted
    assert re.search(r"<h2>Engine: (ok|degraded)</h2>", page)
    assert "<svg" in page and "Recorded, last 7 days" in page
    assert "dead/main: cannot open stream" in page  # its warnings, from the log index
    assert "integrity: <span class=ok>sound</span>" in page
