"""Schema 3: every hole in the recording is explained.

``stream_gaps.kind`` says what kind of hole a gap is (the timeline colours and filters by it):
``stream_lost`` (the camera stopped sending), ``discontinuity`` (its timestamps or parameters
broke), ``worker_exit`` (its worker crashed, was killed or hung), ``worker_restart`` (restarted to
apply a config change), ``engine_down`` (the engine was not running), ``disk_full`` and
``write_error`` (the segment could not be written). Rows from before are ``stream_lost``, or
``worker_exit`` where their cause says so.

``engine_runs`` has one row per engine start: when it started, when it was last seen alive
(updated every few seconds) and when it stopped (NULL: it crashed, or is running). The next
start catalogs the downtime of every camera as an ``engine_down`` gap.
"""

SQL = """
ALTER TABLE stream_gaps ADD COLUMN kind TEXT NOT NULL DEFAULT 'stream_lost'
    CHECK (kind IN ('stream_lost', 'discontinuity', 'worker_exit', 'worker_restart',
                    'engine_down', 'disk_full', 'write_error'));
UPDATE stream_gaps SET kind = 'worker_exit' WHERE cause LIKE 'worker %';

CREATE TABLE engine_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_ns INTEGER NOT NULL,
    alive_ns INTEGER NOT NULL,
    stopped_ns INTEGER
);
"""
