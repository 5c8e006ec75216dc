"""Schema 9: the web server's users, sessions and audit log.

``users`` holds each account with its role (admin, operator, viewer), an argon2 hash of its
password and an optional camera allow-list (a JSON array; NULL = every camera).
``web_sessions`` keeps only a SHA-256 hash of each session token, with its CSRF token and its
idle and absolute deadlines. ``audit`` is append-only: every login, logout, command,
configuration and user change, with who, from where, when, the target, the parameters and the
result. Retention never deletes from it.
"""

SQL = """
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    password_hash TEXT NOT NULL,
    cameras TEXT,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_ns INTEGER NOT NULL,
    password_ns INTEGER NOT NULL
);
CREATE TABLE web_sessions (
    id INTEGER PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE,
    csrf_token TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    seen_ns INTEGER NOT NULL,
    expires_ns INTEGER NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions (user_id);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    time_ns INTEGER NOT NULL,
    user_name TEXT NOT NULL,
    address TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    params TEXT NOT NULL,
    result TEXT NOT NULL,
    ok INTEGER NOT NULL
);
CREATE INDEX audit_time ON audit (time_ns);
CREATE INDEX audit_user ON audit (user_name, time_ns);
CREATE INDEX audit_action ON audit (action, time_ns);
"""
