"""Timeline queries: what was recorded for a set of cameras over a range, at any zoom.

For each camera: recording spans by type, motion events, stream gaps, and a per-bucket density
(the fraction of each bucket recorded, its main recording type, and the events starting in it).
Everything comes from the catalog's indexes, never from the files.

Three levels of detail, chosen by how much the query covers:
- ``rows``, up to ``ROWS_MAX_NS`` of camera time (1 camera-day: a day of one camera, 90 minutes
  of 16): from the rows themselves: exact spans (touching segments of one type merged), every
  event and gap, buckets of exactly ``(end - start) / buckets``;
- ``slots`` of 5 minutes, up to 3 days, and ``hours`` beyond: from the catalog's slot sums
  (``timeline_sums``, ``event_sums``). Buckets are whole slots (as many per bucket as needed to
  stay within ``buckets``), aligned on the clock; spans and the event list are left out (None),
  gaps are still listed. 30 days x 16 cameras reads about 12k hourly rows, not 700k segments.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nvr.errors import RequestError
from nvr.storage.catalog import SLOT_SCALES_S, Catalog
from nvr.storage.playback import HOLE_MIN_NS

_DAY_NS = 86_400 * 1_000_000_000
ROWS_MAX_NS = _DAY_NS  # range x cameras
SLOTS_MAX_NS = 3 * _DAY_NS  # range, in 5-minute slots; hourly beyond
MAX_RANGE_NS = 31 * _DAY_NS
MAX_BUCKETS = 2000
MAX_ROWS = 5000  # events or gaps listed per camera; beyond, ``truncated`` says so
MAX_CAMERAS = 64


@dataclass(slots=True)
class CameraTimeline:
    spans: list[tuple[int, int, str]] | None  # (start_ns, end_ns, type or "missing")
    events: list[tuple[int, int, int | None, float]] | None  # (id, start_ns, end_ns, confidence)
    gaps: list[tuple[int, int | None, str, str]]  # (start_ns, end_ns, kind, cause)
    recorded: list[float]  # per bucket: the fraction recorded
    kind: list[str | None]  # per bucket: the type recorded longest
    event_counts: list[int]  # per bucket: motion events starting in it
    truncated: bool = False  # more events or gaps than ``MAX_ROWS``


@dataclass(slots=True)
class Timeline:
    start_ns: int
    end_ns: int
    bucket_ns: int
    buckets_start_ns: int  # bucket i covers [buckets_start_ns + i * bucket_ns, ... + bucket_ns)
    detail: str  # "rows", "slots" or "hours"
    cameras: dict[str, CameraTimeline] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "start_ns": self.start_ns,
            "end_ns": self.end_ns,
            "bucket_ns": self.bucket_ns,
            "buckets_start_ns": self.buckets_start_ns,
            "detail": self.detail,
            "cameras": {
                cam: {
                    "spans": t.spans,
                    "events": t.events,
                    "gaps": t.gaps,
                    "density": {
                        "recorded": t.recorded,
                        "type": t.kind,
                        "events": t.event_counts,
                    },
                    "truncated": t.truncated,
                }
                for cam, t in self.cameras.items()
            },
        }


def timeline(
    catalog: Catalog, camera_ids: list[str], start_ns: int, end_ns: int, buckets: int = 200
) -> Timeline:
    """The timeline of ``camera_ids`` over ``[start_ns, end_ns)``; ``RequestError`` for a
    range or bucket count out of bounds."""
    if not 0 < end_ns - start_ns <= MAX_RANGE_NS:
        raise RequestError("a timeline range must end after it starts and span at most 31 days")
    if not 1 <= buckets <= MAX_BUCKETS:
        raise RequestError(f"buckets takes 1 to {MAX_BUCKETS}, not {buckets}")
    if not 1 <= len(camera_ids) <= MAX_CAMERAS:
        raise RequestError(f"a timeline takes 1 to {MAX_CAMERAS} cameras")
    if (end_ns - start_ns) * len(camera_ids) <= ROWS_MAX_NS:
        bucket_ns = -(-(end_ns - start_ns) // buckets)
        result = Timeline(start_ns, end_ns, bucket_ns, start_ns, "rows")
        for cam in camera_ids:
            result.cameras[cam] = _from_rows(catalog, cam, start_ns, end_ns, bucket_ns, buckets)
        return result
    scale_s = SLOT_SCALES_S[0] if end_ns - start_ns <= SLOTS_MAX_NS else SLOT_SCALES_S[1]
    slot_ns = scale_s * 1_000_000_000
    first, end = start_ns // slot_ns, -(-end_ns // slot_ns)
    per_bucket = -(-(end - first) // buckets)
    count = -(-(end - first) // per_bucket)
    detail = "slots" if scale_s == SLOT_SCALES_S[0] else "hours"
    result = Timeline(start_ns, end_ns, per_bucket * slot_ns, first * slot_ns, detail)
    totals = {cam: [0] * count for cam in camera_ids}
    by_kind: dict[str, list[dict[str, int]]] = {
        cam: [{} for _ in range(count)] for cam in camera_ids
    }
    for cam, slot, kind, ns in catalog.slot_coverage(camera_ids, scale_s, first, end):
        i = (slot - first) // per_bucket
        totals[cam][i] += ns
        by_kind[cam][i][kind] = by_kind[cam][i].get(kind, 0) + ns
    events = {cam: [0] * count for cam in camera_ids}
    for cam, slot, n in catalog.slot_events(camera_ids, scale_s, first, end):
        events[cam][(slot - first) // per_bucket] += n
    for cam in camera_ids:
        gaps, truncated = _gaps(catalog, cam, start_ns, end_ns)
        result.cameras[cam] = CameraTimeline(
            spans=None,
            events=None,
            gaps=gaps,
            recorded=[round(min(1.0, t / result.bucket_ns), 4) for t in totals[cam]],
            kind=[max(k, key=k.__getitem__) if k else None for k in by_kind[cam]],
            event_counts=events[cam],
            truncated=truncated,
        )
    return result


def _from_rows(
    catalog: Catalog, cam: str, start_ns: int, end_ns: int, bucket_ns: int, count: int
) -> CameraTimeline:
    spans: list[tuple[int, int, str]] = []
    totals = [0] * count
    kinds: list[dict[str, int]] = [{} for _ in range(count)]
    for rec in catalog.recordings(cam, start_ns, end_ns):
        kind = "missing" if rec.status == "missing" else rec.recording_type
        a, b = max(rec.start_ns, start_ns), min(rec.end_ns, end_ns)
        if spans and spans[-1][2] == kind and a - spans[-1][1] < HOLE_MIN_NS:
            spans[-1] = (spans[-1][0], b, kind)
        else:
            spans.append((a, b, kind))
        i = (a - start_ns) // bucket_ns
        while a < b and i < count:  # the row's share of each bucket it crosses
            upto = min(b, start_ns + (i + 1) * bucket_ns)
            totals[i] += upto - a
            kinds[i][kind] = kinds[i].get(kind, 0) + upto - a
            a, i = upto, i + 1
    events = [
        (ev.id, ev.start_ns, ev.end_ns, ev.confidence)
        for ev in catalog.motion_events(cam, start_ns, end_ns, limit=MAX_ROWS + 1)
    ]
    counts = [0] * count
    for i, n in catalog.event_counts(cam, start_ns, end_ns, bucket_ns).items():
        counts[i] += n
    gaps, truncated = _gaps(catalog, cam, start_ns, end_ns)
    return CameraTimeline(
        spans=spans,
        events=events[:MAX_ROWS],
        gaps=gaps,
        recorded=[round(min(1.0, t / bucket_ns), 4) for t in totals],
        kind=[max(k, key=k.__getitem__) if k else None for k in kinds],
        event_counts=counts,
        truncated=truncated or len(events) > MAX_ROWS,
    )


def _gaps(
    catalog: Catalog, cam: str, start_ns: int, end_ns: int
) -> tuple[list[tuple[int, int | None, str, str]], bool]:
    rows = catalog.gaps(cam, start_ns, end_ns, limit=MAX_ROWS + 1)
    return [(g.start_ns, g.end_ns, g.kind, g.cause) for g in rows[:MAX_ROWS]], len(rows) > MAX_ROWS
