"""Schema 8: protected ranges, so protection also covers what is still being recorded.

``protected_ranges`` keeps each range an operator protected (camera, span, who, when). The
recordings overlapping it are flagged at once, and ``add_recording`` flags a segment that
overlaps one when it is catalogued: the segment being written when the range was protected, or
footage indexed later by recovery. Releasing a range deletes the ranges it overlaps.
"""

SQL = """
CREATE TABLE protected_ranges (
    id INTEGER PRIMARY KEY,
    camera_id TEXT NOT NULL,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL,
    protected_by TEXT NOT NULL,
    created_ns INTEGER NOT NULL
);
CREATE INDEX protected_ranges_camera ON protected_ranges (camera_id, start_ns);
"""
