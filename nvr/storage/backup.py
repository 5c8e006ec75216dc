"""Backup and restore of an engine's state: its configuration and a consistent copy of its
catalog (and the footage, when asked) in one tar archive, with a manifest of sizes and SHA-256
checksums.

Backup, while the engine records: the catalog is copied online (``Catalog.copy_to``: one read
snapshot, the writer never waits) into a staging folder beside the archive; each file goes into
``<archive>.part`` with its checksum computed as it is read; the manifest goes last; the archive
is fsynced and renamed into place. A crash leaves a ``.part``, never a truncated archive.

Restore, in two steps. ``check_archive``, while the engine may still run: every member is
checked (a plain file, a known place, no path outside the staging folder), extracted into a
staging folder under the storage with its checksum, and the whole is compared with the manifest
before anything is replaced. A damaged, truncated or foreign archive changes nothing.
``put_back``, with the engine stopped (its storage lock is taken, so a running engine is
refused): the current catalog and config move to ``<storage>/before-restore-<time>/`` (nothing
is deleted), and the restored ones take their places. At its next start the engine's recovery
reconciles the restored catalog with the files on disk (orphans indexed, missing files marked).
``nvr restore`` does both with the engine stopped; the engine does them itself when a console
asks (``POST /api/restore``: checked while it records, put back between a stop and a start).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from nvr.errors import NvrError
from nvr.storage.catalog import SCHEMA_VERSION, Catalog
from nvr.storage.checks import lock_storage
from nvr.storage.durable import atomic_write, fsync_dir

FORMAT = "nvr-backup"
VERSION = 1
MANIFEST = "manifest.json"
CATALOG = "catalog.db"
CONFIG_DIR = "config"
RECORDINGS = "recordings"
_CHUNK = 1 << 20

Progress = Callable[[str], None]


class BackupError(NvrError):
    """An archive that cannot be written or must not be restored."""

    code = "backup_error"


@dataclass(frozen=True, slots=True)
class Summary:
    """What a backup wrote or a restore put back."""

    archive: Path
    files: int
    bytes: int
    created_ns: int
    kept: Path | None = None  # restore: where the replaced catalog and config were moved


def create_backup(
    config_path: Path,
    storage: Path,
    out: Path,
    *,
    with_recordings: bool = False,
    progress: Progress = lambda _: None,
) -> Summary:
    """Write the archive ``out``; the engine may be running."""
    out = out.absolute()
    catalog_path = storage / CATALOG
    if not catalog_path.exists():
        raise BackupError(f"no catalog at {catalog_path}: is storage.path right?")
    created_ns = time.time_ns()
    staging = out.with_name(f".{out.name}.staging")
    part = out.with_name(out.name + ".part")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    files: dict[str, dict[str, object]] = {}
    try:
        progress("copying the catalog (online, the engine keeps recording)")
        with Catalog(catalog_path, readonly=True) as catalog:
            schema = catalog.schema_version
            catalog.copy_to(staging / CATALOG)
        members = [(staging / CATALOG, CATALOG), (config_path, f"{CONFIG_DIR}/{config_path.name}")]
        if with_recordings:
            root = storage / RECORDINGS
            members += [
                (path, f"{RECORDINGS}/{path.relative_to(root).as_posix()}")
                for path in sorted(root.rglob("*"))
                if path.is_file() and not path.name.endswith(".part")
            ]
        with tarfile.open(part, "w", format=tarfile.PAX_FORMAT) as tar:
            for done, (path, name) in enumerate(members, 1):
                files[name] = _add(tar, path, name)
                if done % 100 == 0 or done == len(members):
                    progress(f"{done} of {len(members)} files")
            manifest = {
                "format": FORMAT,
                "version": VERSION,
                "created_ns": created_ns,
                "schema_version": schema,
                "config_name": config_path.name,
                "with_recordings": with_recordings,
                "files": files,
            }
            data = json.dumps(manifest, indent=1, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(data), time.time(), 0o600
            tar.addfile(info, io.BytesIO(data))
        with open(part, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(part, 0o600)  # footage and its catalog: private
        part.replace(out)
        fsync_dir(out.parent)
    except OSError as err:
        part.unlink(missing_ok=True)
        raise BackupError(f"cannot write {out} ({err.strerror or err}); check the folder") from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    total = sum(int(str(f["size"])) for f in files.values())
    return Summary(out, len(files), total, created_ns)


@dataclass(frozen=True, slots=True)
class Staged:
    """An archive extracted into a folder of the storage and checked whole against its
    manifest: ready to be put back (``put_back``) or discarded."""

    archive: Path
    folder: Path
    manifest: dict
    found: dict[str, dict[str, object]]

    @property
    def config(self) -> Path:
        """The archive's configuration file, extracted."""
        return self.folder / CONFIG_DIR / str(self.manifest["config_name"])

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def check_archive(archive: Path, storage: Path, *, progress: Progress = lambda _: None) -> Staged:
    """Extract ``archive`` into ``<storage>/restore-<time>/`` and check every member against the
    manifest; nothing in use is touched, so the engine may be running. ``BackupError`` (the
    staging folder removed) when it must not be restored."""
    if not archive.is_file():
        raise BackupError(f"no archive at {archive}")
    storage.mkdir(parents=True, exist_ok=True)
    folder = storage / f"restore-{time.strftime('%Y%m%dT%H%M%S')}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    try:
        progress(f"checking {archive.name}")
        manifest, found = _extract(archive, folder)
        _check(manifest, found, archive)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Staged(archive, folder, manifest, found)


def put_back(
    staged: Staged,
    config_path: Path,
    storage: Path,
    *,
    progress: Progress = lambda _: None,
    by: str = "nvr restore",
) -> Summary:
    """Put a checked archive's catalog and config (and footage) back; the engine must be
    stopped (its storage lock is taken: a running engine is refused, nothing touched)."""
    try:
        lock = lock_storage(storage)
    except BaseException:
        staged.discard()
        raise
    try:
        return _put_back(staged, config_path, storage, progress, by)
    finally:
        os.close(lock)


def restore_backup(
    archive: Path,
    config_path: Path,
    storage: Path,
    *,
    progress: Progress = lambda _: None,
) -> Summary:
    """Check the archive, then put it back; the engine must be stopped (refused before the
    archive is even read when it runs)."""
    storage.mkdir(parents=True, exist_ok=True)
    lock = lock_storage(storage)
    try:
        staged = check_archive(archive, storage, progress=progress)
        return _put_back(staged, config_path, storage, progress, "nvr restore")
    finally:
        os.close(lock)


def _put_back(
    staged: Staged, config_path: Path, storage: Path, progress: Progress, by: str
) -> Summary:
    """Move the current catalog and config aside, the staged ones into place (lock held)."""
    manifest, found = staged.manifest, staged.found
    try:
        kept = storage / f"before-restore-{time.strftime('%Y%m%dT%H%M%S')}"
        kept.mkdir()
        progress(f"moving the current catalog and config to {kept}")
        for suffix in ("", "-wal", "-shm"):
            current = storage / (CATALOG + suffix)
            if current.exists():
                current.replace(kept / current.name)
        if config_path.exists():
            shutil.copy2(config_path, kept / config_path.name)
        (staged.folder / CATALOG).replace(storage / CATALOG)
        mode = config_path.stat().st_mode & 0o777 if config_path.exists() else 0o640
        text = staged.config.read_bytes()
        atomic_write(config_path, text, mode)
        _keep_history(kept / CATALOG, storage / CATALOG, text, staged.archive.name, by)
        recordings = [n for n in found if n.startswith(RECORDINGS + "/")]
        for name in recordings:
            target = storage / name
            target.parent.mkdir(parents=True, exist_ok=True)
            (staged.folder / name).replace(target)
        fsync_dir(storage)
        progress(f"restored the catalog, the config and {len(recordings)} recording file(s)")
    finally:
        staged.discard()
    total = sum(int(str(f["size"])) for f in manifest["files"].values())
    return Summary(staged.archive, len(found), total, int(manifest["created_ns"]), kept)


# -- internals ---------------------------------------------------------------------------------


def _keep_history(replaced: Path, restored: Path, text: bytes, archive: str, by: str) -> None:
    """The config history loses nothing: the versions saved after the backup (in the replaced
    catalog) go on in the restored one, in order, then the restored configuration itself as a
    version of its own, saved by ``by``. A replaced catalog that cannot be read adds nothing."""
    try:
        with Catalog(replaced, readonly=True) as old:
            newer = [old.config_version(v.version) for v in reversed(old.config_versions(10**6))]
    except NvrError:
        newer = []
    with Catalog(restored) as catalog:
        known = {(v.saved_ns, v.sha256) for v in catalog.config_versions(10**6)}
        for version in newer:
            if version is not None and (version.saved_ns, version.sha256) not in known:
                catalog.add_config_version(
                    version.text, version.sha256, version.saved_ns, version.saved_by, version.note
                )
        decoded = text.decode("utf-8", errors="replace")
        digest = hashlib.sha256(text).hexdigest()
        catalog.add_config_version(decoded, digest, time.time_ns(), by, f"restored from {archive}")


def _add(tar: tarfile.TarFile, path: Path, name: str) -> dict[str, object]:
    """Add one file, hashing it as it is read; its manifest entry."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = size, int(path.stat().st_mtime), 0o600
        tar.addfile(info, _Hashing(fh, digest, size))
    return {"size": size, "sha256": digest.hexdigest()}


class _Hashing(io.RawIOBase):
    """A file read through a hash, exactly ``size`` bytes (a growing file stops there)."""

    def __init__(self, fh: io.BufferedReader, digest: hashlib._Hash, size: int) -> None:
        self._fh, self._digest, self._left = fh, digest, size

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self._left if n < 0 else min(n, self._left)
        data = self._fh.read(n)
        self._left -= len(data)
        self._digest.update(data)
        return data


def _members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    for member in tar:
        name = PurePosixPath(member.name)
        known = str(name) in (MANIFEST, CATALOG) or name.parts[0] in (CONFIG_DIR, RECORDINGS)
        if not member.isfile() or name.is_absolute() or ".." in name.parts or not known:
            raise BackupError(
                f"{member.name!r} in the archive is not part of an nvr backup: refused, nothing "
                "was changed"
            )
        yield member


def _extract(archive: Path, staging: Path) -> tuple[dict, dict[str, dict[str, object]]]:
    """Every member into ``staging`` with its size and checksum; and the manifest."""
    found: dict[str, dict[str, object]] = {}
    manifest: dict | None = None
    try:
        with tarfile.open(archive, "r:") as tar:
            for member in _members(tar):
                source = tar.extractfile(member)
                assert source is not None
                if member.name == MANIFEST:
                    manifest = json.loads(source.read(1 << 20))
                    continue
                target = staging / member.name
                target.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                with open(target, "wb") as out:
                    while chunk := source.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                found[member.name] = {"size": member.size, "sha256": digest.hexdigest()}
    except (tarfile.TarError, EOFError, ValueError, UnicodeDecodeError) as err:
        raise BackupError(
            f"{archive} is damaged or not an nvr backup ({err}): refused, nothing was changed"
        ) from err
    if manifest is None:
        raise BackupError(f"{archive} has no manifest: not an nvr backup; nothing was changed")
    return manifest, found


def _check(manifest: dict, found: dict[str, dict[str, object]], archive: Path) -> None:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{archive} is not an nvr backup: refused, nothing was changed")
    if manifest.get("version") != VERSION:
        raise BackupError(
            f"{archive} is a backup of format {manifest.get('version')}, this nvr reads "
            f"{VERSION}: use the nvr version that wrote it"
        )
    schema = manifest.get("schema_version")
    if not isinstance(schema, int) or schema > SCHEMA_VERSION:
        raise BackupError(
            f"{archive} holds a catalog of schema {schema}, newer than this nvr's "
            f"({SCHEMA_VERSION}): upgrade nvr first"
        )
    expected = manifest.get("files")
    name = manifest.get("config_name")
    if not isinstance(expected, dict) or not isinstance(name, str) or "/" in name:
        raise BackupError(f"{archive} has a damaged manifest: refused, nothing was changed")
    for member in (CATALOG, f"{CONFIG_DIR}/{name}"):
        if member not in expected:
            raise BackupError(f"{archive} lacks {member}: refused, nothing was changed")
    for member, entry in expected.items():
        if found.get(member) != entry:
            raise BackupError(
                f"{member} in {archive} does not match its checksum (the archive is damaged): "
                "refused, nothing was changed"
            )
    extra = set(found) - set(expected)
    if extra:
        raise BackupError(
            f"{archive} holds files its manifest does not list ({sorted(extra)[:3]}): refused, "
            "nothing was changed"
        )
