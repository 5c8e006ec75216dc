"""The catalog's schema migrations: ``vN_to_vN+1.py`` takes a database from version N to N+1.

``MIGRATIONS[n]`` is the SQL of ``vn_to_v(n+1)``; ``Catalog`` applies the pending ones at open,
one transaction each, and records the version in ``PRAGMA user_version``. A new schema version is
one new file here and one line in ``MIGRATIONS``; a released file is never edited.
"""

from __future__ import annotations

from nvr.storage.migrations import (
    v0_to_v1,
    v1_to_v2,
    v2_to_v3,
    v3_to_v4,
    v4_to_v5,
    v5_to_v6,
    v6_to_v7,
    v7_to_v8,
    v8_to_v9,
    v9_to_v10,
)

MIGRATIONS: tuple[str, ...] = (
    v0_to_v1.SQL,
    v1_to_v2.SQL,
    v2_to_v3.SQL,
    v3_to_v4.SQL,
    v4_to_v5.SQL,
    v5_to_v6.SQL,
    v6_to_v7.SQL,
    v7_to_v8.SQL,
    v8_to_v9.SQL,
    v9_to_v10.SQL,
)
