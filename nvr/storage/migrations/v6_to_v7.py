"""Schema 7: the configuration's history, for the console's history, diff and revert.

``config_versions`` keeps every configuration the engine put in force: the whole YAML text as
saved (comments included), who saved it (a console or web user, or ``file edit`` for a change
made in a text editor), when, and its SHA-256. The catalog's online backup takes the history
with it, and a restore brings it back.
"""

SQL = """
CREATE TABLE config_versions (
    version INTEGER PRIMARY KEY,
    saved_ns INTEGER NOT NULL,
    saved_by TEXT NOT NULL,
    note TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    text TEXT NOT NULL
);
"""
