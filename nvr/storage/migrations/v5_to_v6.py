"""Schema 6: footage per camera and recording type, for the storage dashboard.

``type_usage`` holds, per camera and recording type, the number of recordings, their bytes and
the bytes of the protected ones. The catalog keeps it in the same transaction as the rows it
sums (``add_recording``, ``move_to_garbage``, ``set_protected``), as ``camera_usage``; this
script fills it from the existing rows.
"""

SQL = """
CREATE TABLE type_usage (
    camera_id TEXT NOT NULL,
    recording_type TEXT NOT NULL,
    recordings INTEGER NOT NULL,
    size_bytes INTEGER NOT NULL,
    protected_bytes INTEGER NOT NULL,
    PRIMARY KEY (camera_id, recording_type)
) WITHOUT ROWID;

INSERT INTO type_usage (camera_id, recording_type, recordings, size_bytes, protected_bytes)
SELECT camera_id, recording_type, count(*), sum(size_bytes),
    sum(CASE WHEN protected THEN size_bytes ELSE 0 END)
FROM recordings GROUP BY camera_id, recording_type;
"""
