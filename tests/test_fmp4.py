"""Fragmented-MP4 repair on real files cut at every kind of place."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import av
import numpy as np
import pytest

from nvr.storage.catalog import Catalog
from nvr.storage.fmp4 import boxes, cut_to_playable, playable_length, segment_info
from nvr.storage.recovery import recover_segment, recover_storage
from nvr.worker.recorder import FMP4_OPTIONS

FPS = 15


def write_segment(
    path: Path,
    seconds: int,
    size: tuple[int, int] = (320, 180),
    codec: str = "libx264",
    options: dict[str, str] | None = None,
    comment: str | None = None,
) -> Path:
    """A fragmented MP4 of ``seconds`` 1 s GOPs (a fragment each), as the recorder writes them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="mp4", options=FMP4_OPTIONS) as out:
        if comment is not None:
            out.metadata["comment"] = comment
        stream = out.add_stream(codec, rate=FPS)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        stream.options = {"preset": "ultrafast", "g": str(FPS), "keyint_min": str(FPS)} | (
            options or {}
        )
        for i in range(seconds * FPS):
            img = np.full((size[1], size[0], 3), i * 4 % 256, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.fixture(scope="module")
def segment(tmp_path_factory) -> Path:
    """A 4 s segment of 320x180 H.264."""
    return write_segment(tmp_path_factory.mktemp("seg") / "cam" / "seg.mp4", 4)


def frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_complete_file_is_left_alone(segment, tmp_path):
    copy = tmp_path / "seg.mp4"
    shutil.copy(segment, copy)
    with copy.open("rb") as fh:
        kinds = [k for k, _, _ in boxes(fh, copy.stat().st_size)]
    assert kinds[:2] == [b"ftyp", b"moov"] and kinds.count(b"moof") == 4
    before, after, fragments = cut_to_playable(copy)
    assert before == after and fragments == 4


@pytest.mark.parametrize("cut_fraction", [0.95, 0.7, 0.5, 0.3])
def test_truncated_file_is_cut_after_its_last_complete_fragment(segment, tmp_path, cut_fraction):
    copy = tmp_path / "seg.mp4"
    data = segment.read_bytes()
    copy.write_bytes(data[: int(len(data) * cut_fraction)])
    _, after, fragments = cut_to_playable(copy)
    assert 0 < fragments < 4
    assert copy.stat().st_size == after
    assert frames(copy) == fragments * FPS  # every kept fragment decodes fully


def test_header_only_file_has_nothing_playable(segment, tmp_path):
    copy = tmp_path / "seg.mp4"
    copy.write_bytes(segment.read_bytes()[:20])
    assert playable_length(copy) == (0, 0)


def test_recover_segment_catalogs_the_playable_part(segment, tmp_path):
    (tmp_path / "cam").mkdir()
    data = segment.read_bytes()
    (tmp_path / "cam" / "seg.mp4").write_bytes(data[: int(len(data) * 0.6)])
    rec = recover_segment(tmp_path, "cam/seg.mp4", "cam", "motion", 1_000_000_000)
    assert rec is not None and rec.status == "repaired"
    assert rec.duration_90k == 2 * 90000 and rec.end_ns == 3_000_000_000
    assert rec.size_bytes == (tmp_path / "cam" / "seg.mp4").stat().st_size
    (tmp_path / "cam" / "bad.mp4").write_bytes(data[:30])
    assert recover_segment(tmp_path, "cam/bad.mp4", "cam", "motion", 0) is None
    assert not (tmp_path / "cam" / "bad.mp4").exists()


def test_a_hole_swallowed_by_a_full_disk_is_cut_before_the_damaged_fragment(segment, tmp_path):
    """Bytes lost mid-file misalign what follows; only whole fragments before them are kept."""
    data = segment.read_bytes()
    with segment.open("rb") as fh:
        mdats = [(o, n) for k, o, n in boxes(fh, len(data)) if k == b"mdat"]
    third_offset, third_size = mdats[2]
    hole_at = third_offset + third_size // 2
    copy = tmp_path / "seg.mp4"
    copy.write_bytes(data[:hole_at] + data[hole_at + 4000 :])
    _, _, fragments = cut_to_playable(copy)
    assert fragments == 2
    assert frames(copy) == 2 * FPS


def pyav_view(path: Path) -> tuple[str, int, int, int, str | None]:
    """What PyAV says of a segment: codec, size, duration in 90 kHz (decode span), comment."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        dts = [p.dts for p in container.demux(stream) if p.dts is not None]
        step = dts[1] - dts[0]
        span_90k = int((dts[-1] + step - dts[0]) * stream.time_base * 90000)
        ctx = stream.codec_context
        return ctx.name, ctx.width, ctx.height, span_90k, container.metadata.get("comment")


@pytest.mark.parametrize(("codec", "bframes"), [("libx264", 0), ("libx264", 3), ("libx265", 0)])
def test_segment_info_from_boxes_matches_pyav(tmp_path, codec, bframes):
    options = {"bf": str(bframes)}
    if codec == "libx265":
        options["x265-params"] = "log-level=error:keyint=15:min-keyint=15"
    comment = "nvr-segment camera=cam type=motion start_ns=7"
    path = write_segment(tmp_path / "seg.mp4", 3, (352, 198), codec, options, comment)
    info = segment_info(path)
    name, width, height, span_90k, comment = pyav_view(path)
    assert (info.codec, info.width, info.height, info.comment) == (name, width, height, comment)
    assert info.fragments == 3 and info.duration_90k == span_90k == 3 * 90000


def test_segment_info_reads_only_the_complete_fragments(segment, tmp_path):
    copy = tmp_path / "seg.mp4"
    data = segment.read_bytes()
    copy.write_bytes(data[: int(len(data) * 0.6)])
    length, fragments = playable_length(copy)
    info = segment_info(copy, length)
    assert info.fragments == fragments == 2 and info.duration_90k == 2 * 90000
    with pytest.raises(ValueError, match="moov"):
        copy.write_bytes(data[:30])
        segment_info(copy)


def _patch_tfdt(data: bytes, fragment: int, value: int) -> bytes:
    """``data`` with the ``tfdt`` of its ``fragment``-th moof set to ``value`` (version 1)."""
    at = -1
    for _ in range(fragment + 1):
        at = data.index(b"tfdt", at + 1)
    assert data[at + 4] == 1  # version 1: a 64-bit decode time
    return data[: at + 8] + value.to_bytes(8, "big") + data[at + 16 :]


@pytest.mark.parametrize("tfdt", [0, 2**62], ids=["goes-back", "absurd"])
def test_corrupt_fragment_times_leave_the_file_uncataloged_and_recovery_going(
    segment, tmp_path, tfdt
):
    """A file whose times no row can hold is reported and left alone; the others are indexed."""
    root = tmp_path / "recordings"
    day = root / "cam" / "2026-11-30"
    day.mkdir(parents=True)
    data = segment.read_bytes()
    (day / "good.mp4").write_bytes(data)
    (day / "bad.mp4").write_bytes(_patch_tfdt(data, 3, tfdt))
    with pytest.raises(ValueError, match="span|before"):
        segment_info(day / "bad.mp4")
    with Catalog(tmp_path / "catalog.db") as catalog:
        report = recover_storage(catalog, root)
        assert (report.orphans_indexed, report.unreadable) == (1, 1)
        assert [r.file_path for r in catalog.recordings()] == ["cam/2026-11-30/good.mp4"]
    assert (day / "bad.mp4").exists()


@pytest.mark.parametrize("start", ["soon", str(2**63 - 1)], ids=["not-a-number", "past-int64"])
def test_a_tag_with_bad_fields_falls_back_to_what_the_caller_knows(tmp_path, caplog, start):
    comment = f"nvr-segment camera= type=holiday start_ns={start}"
    write_segment(tmp_path / "cam" / "2026-11-30" / "seg.mp4", 1, (64, 64), comment=comment)
    rec = recover_segment(tmp_path, "cam/2026-11-30/seg.mp4", "cam", "motion", 42)
    assert rec is not None
    assert (rec.camera_id, rec.recording_type, rec.start_ns) == ("cam", "motion", 42)
    # Start-up recovery catalogs it (the file's time as its start) and says so, once.
    with Catalog(tmp_path / "catalog.db") as catalog, caplog.at_level(logging.INFO):
        report = recover_storage(catalog, tmp_path)
        assert (report.orphans_indexed, report.unreadable) == (1, 0)
    assert "orphan segment(s) indexed" in caplog.text
    assert "nothing to repair" not in caplog.text
