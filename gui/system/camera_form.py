"""The camera editor's form, without a window: a camera's settings as the form holds them, and
the ``save_config`` edits that turn the configuration's camera into the form's (only what
changed is sent, so a save never rewrites what the admin did not touch, and a stream URL shown
with its password hidden is sent only when retyped)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MODES = ("continuous", "motion", "scheduled", "off")
# Form fields: (path under the camera, default); defaults are the config's own.
FIELDS: tuple[tuple[tuple[str, ...], Any], ...] = (
    (("name",), None),
    (("enabled",), True),
    (("main",), ""),
    (("sub",), None),
    (("transport",), "tcp"),
    (("timeout_s",), 5.0),
    (("record", "mode"), "continuous"),
    (("record", "pre_roll_s"), 5.0),
    (("record", "post_roll_s"), 10.0),
    (("record", "segment_s"), 60.0),
    (("motion", "enabled"), True),
    (("motion", "threshold"), 25),
    (("motion", "min_area"), 0.003),
    (("motion", "alpha"), 0.05),
    (("motion", "start_frames"), 2),
    (("motion", "end_s"), 2.0),
)
MOTION_KEYS = ("threshold", "min_area", "alpha", "start_frames", "end_s")


@dataclass(frozen=True, slots=True)
class Window:
    days: tuple[str, ...] = DAYS
    start: str = "00:00"
    end: str = "24:00"


@dataclass
class CameraForm:
    camera_id: str
    values: dict[tuple[str, ...], Any]
    schedule: list[Window] = field(default_factory=list)
    zones: list[list[list[float]]] = field(default_factory=list)
    new: bool = False

    @classmethod
    def of(cls, camera: dict[str, Any]) -> CameraForm:
        """The form for a camera of ``GET /api/config/document``."""
        values = {path: _get(camera, path, default) for path, default in FIELDS}
        schedule = [
            Window(tuple(w.get("days", DAYS)), w.get("start", "00:00"), w.get("end", "24:00"))
            for w in (camera.get("record") or {}).get("schedule") or []
        ]
        zones = [list(map(list, z)) for z in (camera.get("motion") or {}).get("zones") or []]
        return cls(camera["id"], values, schedule, zones)

    @classmethod
    def blank(cls, camera_id: str) -> CameraForm:
        return cls(camera_id, {path: default for path, default in FIELDS}, new=True)

    def motion_params(self) -> dict[str, Any]:
        """The detector's settings now on the form (``nvr.frames.motion.MotionParams``)."""
        params = {key: self.values["motion", key] for key in MOTION_KEYS}
        params["zones"] = tuple(tuple(tuple(p) for p in z) for z in self.zones)
        return params

    def edits(self, original: CameraForm | None) -> list[dict[str, Any]]:
        """What to send to make the configuration's camera this form; ``ValueError`` naming a
        field the admin must fill first."""
        if not str(self.values[("main",)] or "").strip():
            raise ValueError("the main stream URL is required")
        for path, _default in FIELDS:
            value = self.values[path]
            if isinstance(value, str) and "${" in value:
                raise ValueError(
                    f"{'.'.join(path)}: ${{...}} (an environment variable) can only be written "
                    "in the config file itself, not sent from the console"
                )
        base = ["cameras", self.camera_id]
        if self.new or original is None:
            return [{"path": base, "value": self._section()}]
        edits = []
        for path, _default in FIELDS:
            now, was = _blank(self.values[path]), _blank(original.values[path])
            if now != was:  # an emptied name or sub stream: the key goes (its default)
                edits.append(
                    {"path": [*base, *path], "delete": True}
                    if now is None
                    else {"path": [*base, *path], "value": now}
                )
        if self.schedule != original.schedule:
            edits.append({"path": [*base, "record", "schedule"], "value": self._schedule()})
        if self.zones != original.zones:
            edits.append({"path": [*base, "motion", "zones"], "value": self.zones})
        return edits

    def with_value(self, path: tuple[str, ...], value: Any) -> CameraForm:
        return replace(self, values={**self.values, path: value})

    def _schedule(self) -> list[dict[str, Any]]:
        return [{"days": list(w.days), "start": w.start, "end": w.end} for w in self.schedule]

    def _section(self) -> dict[str, Any]:
        section: dict[str, Any] = {"id": self.camera_id}
        for path, default in FIELDS:
            value = self.values[path]
            if value == default or value in ("", None):
                continue  # the config's default: not written
            node = section
            for key in path[:-1]:
                node = node.setdefault(key, {})
            node[path[-1]] = value
        if self.schedule:
            section.setdefault("record", {})["schedule"] = self._schedule()
        if self.zones:
            section.setdefault("motion", {})["zones"] = self.zones
        return section


def _blank(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _get(camera: dict[str, Any], path: tuple[str, ...], default: Any) -> Any:
    node: Any = camera
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return node
