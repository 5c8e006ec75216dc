"""Schema 2: retention.

A deleted recording's row moves to ``garbage`` before its file is unlinked. ``camera_usage`` holds
each camera's recording count and bytes, kept by the write methods (triggers would make raw bulk
inserts 3x slower). ``recordings_retention`` serves age queries per camera and type without
visiting protected rows or rows of types kept longer.
"""

SQL = """
    CREATE TABLE garbage (
        id INTEGER PRIMARY KEY,
        camera_id TEXT NOT NULL,
        file_path TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        created_ns INTEGER NOT NULL
    );
    CREATE INDEX garbage_file_path ON garbage (file_path);

    CREATE TABLE camera_usage (
        camera_id TEXT PRIMARY KEY,
        recordings INTEGER NOT NULL,
        size_bytes INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO camera_usage (camera_id, recordings, size_bytes)
        SELECT camera_id, count(*), sum(size_bytes) FROM recordings GROUP BY camera_id;

    CREATE INDEX recordings_retention ON recordings (camera_id, recording_type, start_ns)
        WHERE protected = 0;
    """
