"""Schema 5: the alarm log.

One row per alarm the engine raised: its kind, camera ("" for the engine as a whole), message,
when it was raised and ended, and who acknowledged and cleared it, when. Rows are never deleted
by retention (they are small: a busy site raises a few thousand a month). ``alarms_open`` indexes
the few alarms not yet cleared, which the engine reloads at start.
"""

SQL = """
CREATE TABLE alarms (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    camera_id TEXT NOT NULL,
    message TEXT NOT NULL,
    raised_ns INTEGER NOT NULL,
    ended_ns INTEGER,
    acked_ns INTEGER,
    acked_by TEXT,
    cleared_ns INTEGER,
    cleared_by TEXT,
    count INTEGER NOT NULL DEFAULT 1
);

CREATE INDEX alarms_raised ON alarms (raised_ns);
CREATE INDEX alarms_open ON alarms (raised_ns) WHERE cleared_ns IS NULL;
"""
