"""``nvr backup`` and ``nvr restore`` on a real engine recording a real camera: an online backup
while it records, a restore that brings deleted catalog rows back, and archives that must be
refused (a running engine, damage, foreign members) leaving everything as it was."""

from __future__ import annotations

import io
import json
import tarfile

import apsw

from nvr.storage.catalog import Catalog
from tests.conftest import requires_rtsp, wait_for
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
            f"# the admin's own comment\nstorage:\n  path: {storage}\napi:\n  port: 0\n"
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
        assert names[-1] == "manifest.json" and "catalog.db" in names
        assert "config/nvr.yaml" in names and not any(n.startswith("recordings/") for n in names)
        assert archive.stat().st_mode & 0o777 == 0o600
        backed_up = rows(storage, "recordings")
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
    engine = engine_factory(f"storage:\n  path: {storage}\napi:\n  port: 0\ncameras: []\n")
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
