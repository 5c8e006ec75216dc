"""Catalog maintenance: integrity check, statistics and checkpoint on a thread of its own,
reported in /health; on demand with ``maintain_catalog``; a damaged catalog is named."""

from __future__ import annotations

from nvr.protocol.client import EngineClient
from nvr.protocol.runfile import read_token
from nvr.storage.catalog import Catalog, NewRecording
from nvr.supervisor.maintenance import CatalogMaintenance
from tests.conftest import wait_for


def test_a_sound_catalog_passes_and_a_damaged_one_is_named(tmp_path):
    path = tmp_path / "catalog.db"
    with Catalog(path) as catalog, catalog.transaction():
        for i in range(3000):
            catalog.add_recording(
                NewRecording(
                    camera_id="door",
                    start_ns=i * 10**9,
                    end_ns=(i + 1) * 10**9,
                    duration_90k=90000,
                    file_path=f"door/{i}.mp4",
                    size_bytes=1000,
                    recording_type="continuous",
                )
            )
    result = CatalogMaintenance(path).run_once()
    assert result.ok and result.problems == () and result.seconds >= 0
    data = bytearray(path.read_bytes())
    page = 4096
    data[page * 5 : page * 7] = bytes(2 * page)  # two pages of the middle gone
    path.write_bytes(bytes(data))
    damaged = CatalogMaintenance(path).run_once()
    assert not damaged.ok and damaged.problems


def test_the_engine_checks_its_catalog_on_demand(engine_factory, tmp_path):
    storage = tmp_path / "storage"
    engine = engine_factory(
        f"storage:\n  path: {storage}\n  min_free_bytes: 100MB\napi:\n  port: 0\ncameras: []\n"
    )
    engine.start()
    client = EngineClient(engine.api, session_id="tests", token=read_token(storage))
    assert client.health().catalog_check is None  # the first run waits for start-up to settle
    status, reply = client.command("maintain_catalog")
    assert status == 202 and reply.ok
    check = wait_for(lambda: client.health().catalog_check, 30, what="the check's result")
    assert check.ok and client.health().status == "ok"
    assert engine.stop() == 0
