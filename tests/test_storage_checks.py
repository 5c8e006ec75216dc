"""Storage checks at start: a missing, unmounted, read-only or foreign storage path ends in one
clear error (exit status 2), never a crash loop; new, empty and pre-marker storage just works."""

from __future__ import annotations

import grp
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nvr.demo import make_clip
from nvr.errors import StorageError
from nvr.storage.checks import STORAGE_MARKER, check_storage, lock_storage
from tests.conftest import wait_for
from tests.support.disks import mounted_tmpfs

ROOT = Path(__file__).resolve().parent.parent


def on_root_fs(path: Path) -> bool:
    return path.stat().st_dev == Path("/").stat().st_dev


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A real, separately mounted filesystem (tmpfs) at ``tmp_path/disk``."""
    with mounted_tmpfs(tmp_path / "disk", "4m") as mount:
        yield mount


def nvr_run(tmp_path: Path, storage: Path, extra: str = "") -> subprocess.CompletedProcess[str]:
    """``nvr run`` on a config with no camera; bounded by a timeout."""
    config = tmp_path / "nvr.yaml"
    config.write_text(
        f"storage:\n  path: {storage}\n{extra}api:\n  port: 0\ncameras: []\n", encoding="utf-8"
    )
    return subprocess.run(
        [sys.executable, "-m", "nvr", "run", "-c", str(config), "--duration", "1"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_a_new_folder_is_created_and_keeps_its_id(tmp_path):
    storage = tmp_path / "a" / "b" / "storage"
    storage_id = check_storage(storage)
    assert storage.is_dir()
    assert json.loads((storage / STORAGE_MARKER).read_text())["id"] == storage_id
    assert check_storage(storage) == storage_id
    assert sorted(os.listdir(storage)) == [STORAGE_MARKER], "the write probe left a file"


def test_an_empty_disk_and_storage_from_before_markers_are_adopted(tmp_path):
    fresh = tmp_path / "fresh"
    (fresh / "lost+found").mkdir(parents=True)  # a freshly formatted disk
    assert check_storage(fresh)
    legacy = tmp_path / "legacy"
    (legacy / "recordings" / "cam").mkdir(parents=True)
    (legacy / "catalog.db").write_bytes(b"")
    storage_id = check_storage(legacy)
    assert json.loads((legacy / STORAGE_MARKER).read_text())["id"] == storage_id


def test_a_foreign_folder_is_refused_untouched(tmp_path):
    foreign = tmp_path / "other-disk"
    foreign.mkdir()
    for name in ("photos", "backup.tar", "notes.txt", "z"):
        (foreign / name).write_text("x")
    with pytest.raises(StorageError) as err:
        check_storage(foreign)
    message = str(err.value)
    assert "wrong disk" in message and "photos" in message and "no nvr storage" in message
    assert sorted(os.listdir(foreign)) == ["backup.tar", "notes.txt", "photos", "z"]


def test_an_unreadable_marker_names_the_fix(tmp_path):
    (tmp_path / STORAGE_MARKER).write_text("{not json")
    with pytest.raises(StorageError, match="delete it and nvr writes a new one"):
        check_storage(tmp_path)


def test_a_path_under_an_unmounted_fstab_mount_point_is_refused(tmp_path):
    disk = tmp_path / "mnt disk"  # fstab escapes the space as \040
    disk.mkdir()  # the empty mount point directory, nothing mounted on it
    fstab = tmp_path / "fstab"
    escaped = str(disk).replace(" ", "\\040")
    fstab.write_text(
        "# <file system> <mount point> <type> <options> <dump> <pass>\n"
        "UUID=1234 / ext4 errors=remount-ro 0 1\n"
        "UUID=abcd none swap sw 0 0\n"
        f"LABEL=nvr {escaped} ext4 defaults,nofail 0 2\n"
    )
    storage = disk / "nvr"
    with pytest.raises(StorageError) as err:
        check_storage(storage, fstab=fstab)
    assert f"is on {disk}, a mount point in {fstab} that is not mounted" in str(err.value)
    assert f"mount {disk}" in str(err.value)
    assert not storage.exists(), "created on the root filesystem anyway"
    assert check_storage(tmp_path / "elsewhere", fstab=fstab)  # outside it: fine


def test_a_disk_mounted_below_an_unmounted_fstab_entry_is_used(tmp_path, tmpfs):
    """fstab lists the folder above (noauto, not mounted); a disk mounted deeper holds the path."""
    fstab = tmp_path / "fstab"
    fstab.write_text(f"LABEL=archive {tmp_path} ext4 noauto 0 2\n")
    assert check_storage(tmpfs / "nvr", fstab=fstab)
    with pytest.raises(StorageError, match="not mounted"):
        check_storage(tmp_path / "beside-the-disk", fstab=fstab)


def test_an_fstab_mount_point_reached_through_a_link_is_checked(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    (tmp_path / "link").symlink_to(disk)
    fstab = tmp_path / "fstab"
    fstab.write_text(f"LABEL=nvr {tmp_path / 'link'} ext4 defaults 0 2\n")
    with pytest.raises(StorageError, match="not mounted"):
        check_storage(disk / "nvr", fstab=fstab)


def test_a_file_where_the_folder_should_be_is_named(tmp_path):
    (tmp_path / "storage").write_text("not a folder")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    for path in (tmp_path / "storage", tmp_path / "dangling"):
        with pytest.raises(StorageError, match="exists but is not a folder"):
            check_storage(path)


def test_a_mounted_fstab_mount_point_and_require_mount(tmp_path, tmpfs):
    fstab = tmp_path / "fstab"
    fstab.write_text(f"tmpfs {tmpfs} tmpfs size=4m 0 0\n")
    assert check_storage(tmpfs / "nvr", require_mount=True, fstab=fstab)
    if on_root_fs(tmp_path):
        with pytest.raises(StorageError, match="root filesystem, but storage.require_mount"):
            check_storage(tmp_path / "nvr", require_mount=True)
        assert not (tmp_path / "nvr").exists()


def test_a_read_only_filesystem_is_named_with_the_fix(tmpfs):
    storage = tmpfs / "nvr"
    check_storage(storage)
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    with pytest.raises(StorageError) as err:
        check_storage(storage)
    assert str(err.value) == (
        f"storage.path {storage} is on a read-only filesystem; remount it read-write "
        f"(mount -o remount,rw {tmpfs}) or point storage.path at a writable disk"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through any permission")
def test_a_folder_this_user_cannot_write_is_refused(tmp_path):
    storage = tmp_path / "locked"
    storage.mkdir(mode=0o555)
    with pytest.raises(StorageError, match="not writable by this user"):
        check_storage(storage)


def test_nvr_run_exits_once_with_one_clear_error(tmp_path, tmpfs):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "somebody-elses.db").write_text("x")
    storage = tmpfs / "nvr"
    storage.mkdir()
    (storage / STORAGE_MARKER).write_text(json.dumps({"id": "abc"}))
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    for path, cause in ((foreign, "wrong disk"), (storage, "read-only filesystem")):
        result = nvr_run(tmp_path, path)
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("nvr: error: storage.path"), lines
        assert cause in lines[0] and "Traceback" not in result.stderr
    if on_root_fs(tmp_path):
        new = tmp_path / "new"
        result = nvr_run(tmp_path, new, "  require_mount: true\n")
        assert result.returncode == 2 and "storage.require_mount is true" in result.stderr
    assert sorted(os.listdir(foreign)) == ["somebody-elses.db"]


def test_nvr_run_starts_on_a_new_folder(tmp_path):
    storage = tmp_path / "storage"
    result = nvr_run(tmp_path, storage)
    assert result.returncode == 0, result.stderr
    assert (storage / STORAGE_MARKER).exists() and (storage / "catalog.db").exists()


def test_one_engine_per_storage_folder(tmp_path):
    fd = lock_storage(tmp_path)
    try:
        with pytest.raises(StorageError, match=rf"in use by another engine \(pid {os.getpid()}\)"):
            lock_storage(tmp_path)
    finally:
        os.close(fd)
    os.close(lock_storage(tmp_path))  # free again once the holder is gone


def test_footage_is_private_and_shared_only_with_the_storage_group(engine_factory, tmp_path):
    main, sub = make_clip(Path("/tmp/nvr-test-clips"), "private", 5)
    storage = tmp_path / "storage"
    engine = engine_factory(
        f"storage:\n  path: {storage}\n  min_free_bytes: 100MB\n"
        "  group: users\napi:\n  port: 0\ncameras:\n"
        f"  - id: cam\n    main: {main}\n    sub: {sub}\n    record: {{mode: continuous}}\n"
    )
    engine.start()
    token, run_file = storage / "run" / "api.token", storage / "run" / "engine.json"
    assert (mode(token), mode(run_file)) == (0o600, 0o640)
    wait_for(lambda: list((storage / "recordings").rglob("*.mp4")), 30, what="a segment")
    assert engine.stop() == 0
    users = grp.getgrnam("users").gr_gid
    (segment, *_) = (storage / "recordings").rglob("*.mp4")
    for folder in (storage, storage / "recordings", segment.parent.parent, segment.parent):
        assert mode(folder) == 0o2750 and folder.stat().st_gid == users, folder
    for file in (segment, storage / "catalog.db", storage / "logs" / "supervisor.log"):
        assert mode(file) == 0o640, file
    assert segment.stat().st_gid == users
    assert "readable or writable by other users" not in engine.output()


def test_loose_modes_are_named_with_their_fix(engine_factory, tmp_path):
    storage = tmp_path / "storage"
    storage.mkdir(mode=0o755)
    storage.chmod(0o755)
    engine = engine_factory(
        f"storage:\n  path: {storage}\n  min_free_bytes: 100MB\napi:\n  port: 0\ncameras: []\n"
    )
    engine.start()
    assert engine.stop() == 0
    assert f"{storage} (0755)" in engine.output()
    assert f"chmod -R o-rwx,g-w {storage}" in engine.output()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)
