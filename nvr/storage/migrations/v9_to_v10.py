"""Schema 10: the web server's clip downloads and share links.

``web_exports`` remembers which user asked the engine for which clip (an export job), and,
once it is made, its files, so a user fetches their own clips later and nobody else's.
``shares`` holds share links: only a SHA-256 hash of each link's token, the clip it plays (an
export), who made it, its expiry, whether it may be downloaded, its revocation and its views.
"""

SQL = """
CREATE TABLE web_exports (
    job_id TEXT PRIMARY KEY,
    user_name TEXT NOT NULL,
    camera_id TEXT NOT NULL,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL,
    created_ns INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',
    files TEXT NOT NULL DEFAULT '[]',
    error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX web_exports_user ON web_exports (user_name, created_ns);
CREATE TABLE shares (
    id INTEGER PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE,
    job_id TEXT NOT NULL REFERENCES web_exports (job_id),
    camera_id TEXT NOT NULL,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL,
    event_id INTEGER,
    download INTEGER NOT NULL,
    note TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    expires_ns INTEGER NOT NULL,
    revoked_ns INTEGER,
    revoked_by TEXT,
    views INTEGER NOT NULL DEFAULT 0,
    last_view_ns INTEGER
);
CREATE INDEX shares_creator ON shares (created_by, created_ns);
"""
