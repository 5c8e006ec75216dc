"""HLS playlists over segment files, on real fragmented MP4 written as the recorder writes it:
the fragment index finds every complete fragment's bytes and times, the chunks' byte ranges
decode on their own after the init bytes, and the time map follows the catalog's wall clock."""

from __future__ import annotations

import io
from pathlib import Path

import av
import pytest

from nvr.storage.catalog import Recording
from nvr.storage.fmp4 import boxes, fragment_index, playable_length
from tests.test_fmp4 import FPS, write_segment
from web import hls

SECONDS = 6
START_NS = 1_700_000_000 * 10**9


def recording(path: Path, rec_id: int, start_ns: int, wall_s: float) -> Recording:
    """A catalog row for ``path`` whose wall span is ``wall_s`` (a camera clock a bit off)."""
    return Recording(rec_id, "door", start_ns, start_ns + int(wall_s * 1e9), SECONDS * 90000,
                     path.name, 0, path.stat().st_size, None, "continuous", "h264", 320, 180,
                     "ok", False, start_ns)  # fmt: skip


@pytest.fixture(scope="module")
def segment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_segment(tmp_path_factory.mktemp("hls") / "seg.mp4", SECONDS)


def test_the_index_holds_every_fragment_between_the_moofs(segment):
    index = fragment_index(segment)
    with segment.open("rb") as fh:
        top = list(boxes(fh, segment.stat().st_size))
    moofs = [offset for kind, offset, _ in top if kind == b"moof"]
    assert index.init_size == moofs[0]
    assert [f.offset for f in index.fragments] == moofs
    assert sum(f.samples for f in index.fragments) == SECONDS * FPS
    assert sum(f.duration for f in index.fragments) == SECONDS * index.timescale
    last = index.fragments[-1]
    after = [offset for kind, offset, _ in top if offset > last.offset and kind != b"mdat"]
    assert last.offset + last.size == (after[0] if after else segment.stat().st_size)  # mfra


def test_a_file_cut_short_lists_only_its_complete_fragments(segment, tmp_path):
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(segment.read_bytes()[: segment.stat().st_size - 500])
    length, complete = playable_length(cut)
    index = fragment_index(cut, length)
    assert len(index.fragments) == complete == SECONDS - 1


def test_each_chunk_decodes_after_the_init_bytes(segment):
    rec = recording(segment, 7, START_NS, SECONDS)
    parts = hls.plan([rec], lambda _: fragment_index(segment), chunk_s=2.0)
    data = segment.read_bytes()
    chunks = parts[0].chunks
    assert len(chunks) == 3 and sum(c.frames for c in chunks) == SECONDS * FPS
    for chunk in chunks:
        piece = data[: parts[0].init_size] + data[chunk.offset : chunk.offset + chunk.size]
        with av.open(io.BytesIO(piece), format="mp4") as container:
            assert sum(1 for _ in container.decode(video=0)) == chunk.frames


def test_the_time_map_and_playlist_follow_the_catalog(segment):
    # a camera clock 1% slow: 6 s of media span 6.06 s of wall time
    first = recording(segment, 7, START_NS, SECONDS * 1.01)
    second = recording(segment, 8, START_NS + 20 * 10**9, SECONDS)
    parts = hls.plan([second, first], lambda _: fragment_index(segment), chunk_s=2.0)
    assert [p.recording.id for p in parts] == [7, 8]  # in time order
    spans = hls.time_map(parts)
    assert [c["t"] for c in spans[:4]] == pytest.approx([0, 2, 4, 6])
    assert spans[1]["start_ns"] == START_NS + int(2.02e9)
    assert spans[2]["end_ns"] == first.end_ns
    assert spans[3]["start_ns"] == second.start_ns  # the gap between them is skipped
    text = hls.playlist(parts, lambda rec: f"{rec.id}.mp4")
    assert text.count("#EXT-X-DISCONTINUITY") == 1 and text.count("#EXTINF:2.000000,") == 6
    assert f'#EXT-X-MAP:URI="7.mp4",BYTERANGE="{parts[0].init_size}@0"' in text
    assert "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:20.000Z" in text
    assert "#EXT-X-TARGETDURATION:2" in text and text.endswith("#EXT-X-ENDLIST\n")


def test_an_unreadable_file_is_left_out(segment):
    rec = recording(segment, 7, START_NS, SECONDS)
    assert hls.plan([rec], lambda _: None) == []
