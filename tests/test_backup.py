"""``nvr backup`` and ``nvr restore`` on a real engine recording a real camera: an online backup
while it records, a restore that brings deleted catalog rows back, and archives that must be
refused (a running engine, damage, foreign members) leaving everything as it was."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import apsw
import pytest

from nvr.errors import NvrError
from nvr.protocol.client import EngineClient
from nvr.protocol.runfile import read_run_file
from nvr.storage.catalog import Catalog
from tests.conftest import TOKENS, requires_rtsp, wait_for
from tests.support.cameras import RtspCamera
from tests.test_cli import nvr

pytestmark = requires_rtsp


def rows(storage, table: str) -> int:
    with Catalog(storage / "catalog.db", readonly=True) as catalog:
        return catalog._scalar(f"SELECT count(*) FROM {table}")  # noqa: SLF001 - a test's look


def test_backup_while_recording_then_restore_brings_deleted_rows_back(engine_factory, tmp_path):
    storage = tmp_path / "storage"
    with RtspCamera() as camera:
        engine = engine_factory(
            f"# the admin's own comment\nstorage:\n  path: {storage}\n  min_free_bytes: 100MB\n"
            "api:\n  port: 0\n"
            f"cameras:\n  - id: door\n    main: {camera.url('moving/main')}\n"
            f"    sub: {camera.url('moving/sub')}\n    record: {{segment_s: 5}}\n"
        )
        engine.start()
        wait_for(lambda: rows(storage, "recordings") >= 2, 90, what="two segments")
        archive = tmp_path / "backups" / "nvr.tar"
        archive.parent.mkdir()
        done = nvr("backup", "-c", str(engine.config), "-o", str(archive))
        assert done.returncode == 0, done.stderr
        assert "checksums in its manifest" in done.stdout
        with tarfile.open(archive) as tar:
            names = tar.getnames()
            manifest = json.load(tar.extractfile("manifest.json"))
            # Counted in the archive: a segment may close between its copy and a look now.
            tar.extract("catalog.db", tmp_path / "archived")
        assert names[-1] == "manifest.json" and "catalog.db" in names
        assert "config/nvr.yaml" in names and not any(n.startswith("recordings/") for n in names)
        assert archive.stat().st_mode & 0o777 == 0o600
        backed_up = rows(tmp_path / "archived", "recordings")
        assert backed_up >= 2 and manifest["format"] == "nvr-backup"
        # Recording went on during the backup.
        wait_for(lambda: rows(storage, "recordings") > backed_up, 30, what="more segments")

        refused = nvr("restore", "-c", str(engine.config), str(archive), "--yes")
        assert refused.returncode == 2 and "in use by another engine" in refused.stderr
        assert engine.stop() == 0

    raw = apsw.Connection(str(storage / "catalog.db"))
    raw.execute("DELETE FROM motion_events; DELETE FROM recordings")
    raw.close()
    engine.config.write_text(engine.config.read_text() + "# edited after the backup\n")
    unconfirmed = nvr("restore", "-c", str(engine.config), str(archive))
    assert unconfirmed.returncode == 2 and "--yes" in unconfirmed.stderr
    assert rows(storage, "recordings") == 0  # nothing changed without the confirmation

    restored = nvr("restore", "-c", str(engine.config), str(archive), "--yes")
    assert restored.returncode == 0, restored.stderr
    assert rows(storage, "recordings") == backed_up
    text = engine.config.read_text()
    assert "# the admin's own comment" in text and "edited after the backup" not in text
    kept = list(storage.glob("before-restore-*"))
    assert len(kept) == 1 and (kept[0] / "catalog.db").exists()  # the replaced one, kept aside
    assert not list(storage.glob("restore-*"))  # no staging left

    engine.start()  # recovery reconciles: the segments written after the backup are indexed
    wait_for(lambda: engine.health()["status"] in ("ok", "degraded"), 60, what="the engine running")
    assert rows(storage, "recordings") > backed_up
    assert engine.stop() == 0


def test_a_damaged_or_foreign_archive_is_refused_and_changes_nothing(engine_factory, tmp_path):
    storage = tmp_path / "storage"
    engine = engine_factory(
        f"storage:\n  path: {storage}\n  min_free_bytes: 100MB\napi:\n  port: 0\ncameras: []\n"
    )
    engine.start()
    archive = tmp_path / "nvr.tar"
    assert nvr("backup", "-c", str(engine.config), "-o", str(archive)).returncode == 0
    assert engine.stop() == 0
    before = (storage / "catalog.db").read_bytes()

    damaged = tmp_path / "damaged.tar"
    data = bytearray(archive.read_bytes())
    with tarfile.open(archive) as tar:
        offset = tar.getmember("catalog.db").offset_data
    data[offset + 5000] ^= 0xFF
    damaged.write_bytes(bytes(data))
    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(bytes(data[: len(data) // 2]))
    foreign = tmp_path / "foreign.tar"
    with tarfile.open(foreign, "w") as tar:
        info = tarfile.TarInfo("../outside.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    not_a_tar = tmp_path / "photo.jpg"
    not_a_tar.write_bytes(b"\xff\xd8\xff" + b"x" * 100)

    for bad, why in (
        (damaged, "does not match its checksum"),
        (truncated, "damaged or not an nvr backup"),
        (foreign, "not part of an nvr backup"),
        (not_a_tar, "damaged or not an nvr backup"),
        (tmp_path / "absent.tar", "no archive at"),
    ):
        result = nvr("restore", "-c", str(engine.config), str(bad), "--yes")
        assert result.returncode == 2 and why in result.stderr, (bad.name, result.stderr)
        assert "Traceback" not in result.stderr
    assert (storage / "catalog.db").read_bytes() == before
    assert not (tmp_path / "outside.txt").exists() and not list(storage.glob("restore-*"))
    assert not list(storage.glob("before-restore-*"))


def test_the_engine_restores_a_backup_asked_through_its_api(engine_factory, tmp_path):
    """A console's restore: the archive is checked while the engine records; a bad one is
    refused with the engine untouched; a good one stops the engine, is put back and the engine
    starts again behind the same API, recovery indexing what was recorded since the backup."""
    storage = tmp_path / "storage"
    with RtspCamera() as camera:
        engine = engine_factory(
            f"# the admin's own comment\nstorage:\n  path: {storage}\n  min_free_bytes: 100MB\n"
            "api:\n  port: 0\n"
            f"cameras:\n  - id: door\n    main: {camera.url('moving/main')}\n"
            f"    sub: {camera.url('moving/sub')}\n    record: {{segment_s: 5}}\n"
        )
        engine.start()
        client = EngineClient(engine.api, session_id="tests", token=TOKENS[engine.api])
        wait_for(lambda: rows(storage, "recordings") >= 1, 90, what="a segment")
        client.backup()
        job = wait_for(
            lambda: (j := client.backups())["job"]["state"] != "running" and j, 60, what="backup"
        )
        assert job["job"]["state"] == "done", job
        name = job["archives"][0]["name"]
        backed_up = rows(storage, "recordings")
        engine.config.write_text(engine.config.read_text() + "# edited after the backup\n")
        wait_for(lambda: client.config_history()[0]["saved_by"] == "file edit", 30, what="the edit")
        before = client.config_history()
        started_ns = read_run_file(storage).started_ns

        # Refused before anything stops: a name outside the folder, a damaged archive.
        for bad in ("../nvr.yaml", "/etc/passwd", "absent.tar"):
            with pytest.raises(NvrError, match="no archive"):
                client.restore(bad, "tests")
        damaged = storage / "backups" / "nvr-backup-00000000-000000.tar"
        data = bytearray((storage / "backups" / name).read_bytes())
        data[len(data) // 3] ^= 0xFF
        damaged.write_bytes(bytes(data))
        client.restore(damaged.name, "tests")
        refused = wait_for(
            lambda: (r := client.backups()["restore"])["state"] == "failed" and r,
            30,
            what="refusal",
        )
        assert "nothing was changed" in refused["error"] or "damaged" in refused["error"], refused
        assert read_run_file(storage).started_ns == started_ns  # it never stopped
        assert engine.health()["status"] in ("ok", "degraded")
        damaged.unlink()

        client.restore(name, "admin at the console")
        done = wait_for(
            lambda: (r := client.backups()["restore"])["state"] in ("done", "failed") and r,
            60,
            what="the restore",
        )
        assert done["state"] == "done", done
        assert Path(done["kept"]).is_dir() and (Path(done["kept"]) / "catalog.db").exists()
        info = read_run_file(storage)
        assert info.api == engine.api and info.pid == engine.proc.pid  # same process and API
        assert info.started_ns > started_ns
        text = engine.config.read_text()
        assert "# the admin's own comment" in text and "edited after the backup" not in text
        # The history loses nothing: the edit made after the backup stays, the restore is new.
        after = client.config_history()
        assert [v["version"] for v in after] == [len(before) + 1, *(v["version"] for v in before)]
        assert after[0]["saved_by"] == "restore by admin at the console"
        assert after[0]["note"] == f"restored from {name}" and after[1] == before[0]
        # Recording goes on, and what was recorded since the backup is indexed again.
        wait_for(lambda: rows(storage, "recordings") > backed_up, 60, what="segments again")
        health = wait_for(
            lambda: (h := engine.health())["cameras"]["door"]["recording"]["active"] and h,
            60,
            what="rec",
        )
        assert health["status"] in ("ok", "degraded")
        assert not list(storage.glob("restore-*"))  # no staging left
        assert engine.stop() == 0
