"""Motion zones as the camera editor draws them, without a window: polygons of points in the
picture's normalised coordinates (0..1, as ``motion.zones`` is written).

A left click near a point grabs it (drag to move, ``release`` to drop); elsewhere it adds a
point to the zone being drawn. A right click near a point deletes it (a zone left with no point
goes). ``new_zone`` starts another zone. ``config`` is what is saved: every zone of at least
three points, rounded to 1/1000 of the picture; ``problem`` names a zone that has too few.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Point = tuple[float, float]
GRAB = 0.025  # how near (in picture widths) a click must be to grab a point


@dataclass
class ZoneEditor:
    zones: list[list[Point]] = field(default_factory=list)
    current: int = -1  # the zone points are added to (-1: a new one at the next click)
    dragging: tuple[int, int] | None = None  # (zone, point) held by the mouse

    @classmethod
    def from_config(cls, zones: list[list[list[float]]] | None) -> ZoneEditor:
        made = [[(float(x), float(y)) for x, y in zone] for zone in zones or []]
        return cls(made, len(made) - 1 if made else -1)

    def nearest(self, at: Point) -> tuple[int, int] | None:
        best, found = GRAB, None
        for z, zone in enumerate(self.zones):
            for p, (x, y) in enumerate(zone):
                distance = max(abs(x - at[0]), abs(y - at[1]))
                if distance <= best:
                    best, found = distance, (z, p)
        return found

    def press(self, at: Point) -> None:
        """A left click at ``at``: grab the point there, or add one to the current zone."""
        at = _clamp(at)
        grabbed = self.nearest(at)
        if grabbed is not None:
            self.dragging = grabbed
            self.current = grabbed[0]
            return
        if self.current < 0 or self.current >= len(self.zones):
            self.zones.append([])
            self.current = len(self.zones) - 1
        self.zones[self.current].append(at)

    def drag(self, at: Point) -> None:
        if self.dragging is not None:
            z, p = self.dragging
            self.zones[z][p] = _clamp(at)

    def release(self) -> None:
        self.dragging = None

    def delete_at(self, at: Point) -> bool:
        """A right click: delete the point there; whether there was one."""
        found = self.nearest(_clamp(at))
        if found is None:
            return False
        z, p = found
        del self.zones[z][p]
        if not self.zones[z]:
            del self.zones[z]
            self.current = min(self.current, len(self.zones) - 1)
        return True

    def new_zone(self) -> None:
        self.current = -1

    def clear(self) -> None:
        self.zones, self.current, self.dragging = [], -1, None

    def problem(self) -> str | None:
        for n, zone in enumerate(self.zones, 1):
            if len(zone) < 3:
                return f"zone {n} has {len(zone)} point(s): add points (3 at least) or delete it"
        return None

    def config(self) -> list[list[list[float]]]:
        return [
            [[round(x, 3), round(y, 3)] for x, y in zone] for zone in self.zones if len(zone) >= 3
        ]


def _clamp(at: Point) -> Point:
    return (min(1.0, max(0.0, at[0])), min(1.0, max(0.0, at[1])))
