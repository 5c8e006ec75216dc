"""Schema 1: recordings, motion events, PTZ presets and stream gaps.

Each ``*_span`` index (on ``end_ns - start_ns``) makes ``max(end_ns - start_ns)`` an O(log n)
lookup, which bounds overlap queries from below: a row that ends after ``t`` started after
``t - max_span``. Each ``*_open`` partial index finds the rows still open (``end_ns IS NULL``).
"""

SQL = """
    CREATE TABLE recordings (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        camera_id TEXT NOT NULL,
        start_ns INTEGER NOT NULL,
        end_ns INTEGER NOT NULL,
        duration_90k INTEGER NOT NULL,
        file_path TEXT NOT NULL UNIQUE,
        motion_events INTEGER NOT NULL DEFAULT 0,
        size_bytes INTEGER NOT NULL,
        thumbnail_path TEXT,
        recording_type TEXT NOT NULL DEFAULT 'motion'
            CHECK (recording_type IN ('continuous', 'motion', 'scheduled', 'manual', 'panic')),
        video_codec TEXT,
        width INTEGER,
        height INTEGER,
        status TEXT NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'missing', 'repaired')),
        protected INTEGER NOT NULL DEFAULT 0,
        created_ns INTEGER NOT NULL
    );
    CREATE INDEX recordings_camera_start ON recordings (camera_id, start_ns);
    CREATE INDEX recordings_start ON recordings (start_ns);
    CREATE INDEX recordings_span ON recordings (end_ns - start_ns);

    CREATE TABLE motion_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        recording_id INTEGER REFERENCES recordings (id) ON DELETE SET NULL,
        camera_id TEXT NOT NULL,
        start_ns INTEGER NOT NULL,
        end_ns INTEGER,
        confidence REAL,
        bbox_json TEXT,
        frame_thumbnail TEXT
    );
    CREATE INDEX motion_events_camera_start ON motion_events (camera_id, start_ns);
    CREATE INDEX motion_events_start ON motion_events (start_ns);
    CREATE INDEX motion_events_recording ON motion_events (recording_id);
    CREATE INDEX motion_events_span ON motion_events (end_ns - start_ns);
    CREATE INDEX motion_events_open ON motion_events (start_ns) WHERE end_ns IS NULL;

    CREATE TABLE camera_presets (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        camera_id TEXT NOT NULL,
        preset_name TEXT NOT NULL,
        ptz_position_json TEXT,
        created_ns INTEGER NOT NULL,
        UNIQUE (camera_id, preset_name)
    );

    CREATE TABLE stream_gaps (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        camera_id TEXT NOT NULL,
        start_ns INTEGER NOT NULL,
        end_ns INTEGER,
        cause TEXT NOT NULL
    );
    CREATE INDEX stream_gaps_camera_start ON stream_gaps (camera_id, start_ns);
    CREATE INDEX stream_gaps_start ON stream_gaps (start_ns);
    CREATE INDEX stream_gaps_span ON stream_gaps (end_ns - start_ns);
    CREATE INDEX stream_gaps_open ON stream_gaps (start_ns) WHERE end_ns IS NULL;
    """
