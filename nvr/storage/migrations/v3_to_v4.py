"""Schema 4: the timeline at a glance.

``timeline_sums`` holds, per camera, time slot and recording type, how much of the slot
recordings cover; ``event_sums`` the number of motion events that start in each slot. Slots are
5 minutes (``scale`` 300) and 1 hour (``scale`` 3600): slot ``n`` covers
``[n * scale, (n + 1) * scale)`` seconds since the epoch. A zoomed-out timeline (hours to a
month, any number of cameras) sums a few rows per slot instead of reading every segment: 30 days
x 16 cameras is about 12k hourly rows, not 700k segments. The catalog keeps both tables in the
same transaction as the rows they sum (``add_recording``, ``move_to_garbage``,
``add_motion_event``); this script fills them from the existing rows.

``recordings_no_thumbnail`` indexes the few recordings without a thumbnail (recovered, older),
which the backfill looks for.
"""

_PIECES = """
WITH RECURSIVE pieces (camera_id, recording_type, scale, slot, start_ns, end_ns) AS (
    SELECT camera_id, recording_type, scale, start_ns / (scale * 1000000000), start_ns, end_ns
    FROM recordings, (SELECT 300 AS scale UNION ALL SELECT 3600)
    UNION ALL
    SELECT camera_id, recording_type, scale, slot + 1, (slot + 1) * scale * 1000000000, end_ns
    FROM pieces WHERE (slot + 1) * scale * 1000000000 < end_ns
)
"""

SQL = f"""
CREATE TABLE timeline_sums (
    camera_id TEXT NOT NULL,
    scale INTEGER NOT NULL,
    slot INTEGER NOT NULL,
    recording_type TEXT NOT NULL,
    recorded_ns INTEGER NOT NULL,
    PRIMARY KEY (camera_id, scale, slot, recording_type)
) WITHOUT ROWID;

CREATE TABLE event_sums (
    camera_id TEXT NOT NULL,
    scale INTEGER NOT NULL,
    slot INTEGER NOT NULL,
    events INTEGER NOT NULL,
    PRIMARY KEY (camera_id, scale, slot)
) WITHOUT ROWID;

CREATE INDEX recordings_no_thumbnail ON recordings (start_ns) WHERE thumbnail_path IS NULL;

{_PIECES}
INSERT INTO timeline_sums (camera_id, scale, slot, recording_type, recorded_ns)
SELECT camera_id, scale, slot, recording_type,
    sum(min(end_ns, (slot + 1) * scale * 1000000000) - start_ns)
FROM pieces GROUP BY camera_id, scale, slot, recording_type;

INSERT INTO event_sums (camera_id, scale, slot, events)
SELECT camera_id, scale, start_ns / (scale * 1000000000), count(*)
FROM motion_events, (SELECT 300 AS scale UNION ALL SELECT 3600) GROUP BY 1, 2, 3;
"""
