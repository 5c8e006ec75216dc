"""Where a recording lives once it is written: the catalog, the disk, and what keeps both true.

- ``checks``: the storage folder is the right, writable disk before anything is recorded;
- ``catalog`` + ``migrations/``: the SQLite index of recordings, events and gaps (one writer);
- ``fmp4``: segment files read and repaired from their boxes;
- ``recovery``: at start, repair interrupted segments, index orphans, mark missing files;
- ``retention``: what to delete and the crash-safe deletion order;
- ``reserve``: a file released when the disk fills, so the catalog can still write;
- ``durable``: fsync and atomic-replace helpers behind every write order (docs/recording.md).
"""
