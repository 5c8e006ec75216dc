"""The health report: one self-contained HTML file (its charts are inline SVG) an admin can
mail or archive: configuration summary, the engine's state if it runs, storage, each camera's
recorded share of the last seven days and its gaps, recent errors, and the catalog's health.

Everything comes from the files an engine leaves (the config, the catalog read-only, the log
index) plus, when the engine answers, its ``/health``; so it is written whether the engine runs
or not. Text from cameras and logs is escaped; stream URLs are redacted.
"""

from __future__ import annotations

import html
import socket
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from nvr.config import Config
from nvr.errors import NvrError
from nvr.protocol.client import EngineClient, find_engine
from nvr.protocol.health import Health
from nvr.redact import redact_url
from nvr.storage.catalog import Catalog
from nvr.storage.durable import atomic_write
from nvr.storage.logindex import LogIndex

DAYS = 7
DAY_S = 86_400
_TYPE_COLORS = {
    "continuous": "#3b7dd8",
    "motion": "#e0a030",
    "scheduled": "#5aa05a",
    "manual": "#c04040",
    "panic": "#ff2020",
}


@dataclass(frozen=True, slots=True)
class CameraDays:
    camera_id: str
    recorded: list[dict[str, float]]  # per day (oldest first): seconds by recording type
    gaps: int
    gap_s: float


def write_report(config: Config, out: Path, now_s: float | None = None) -> Path:
    """Write the report to ``out`` (atomically); returns its path. The engine's
    health is asked of the running engine, if any."""
    health, engine_note = _engine_health(config)
    page = render_report(config, health, engine_note, now_s)
    atomic_write(out, page.encode(), 0o640)
    return out


def render_report(
    config: Config, health: Health | None, engine_note: str, now_s: float | None = None
) -> str:
    """The report's HTML, from ``health`` (None: the engine is not running), the catalog and
    the logs."""
    now_s = time.time() if now_s is None else now_s
    storage = Path(config.storage.path)
    sections = [
        _header(config, now_s, engine_note),
        _engine(health),
        _cameras(config, health),
    ]
    catalog_path = storage / "catalog.db"
    if catalog_path.exists():
        with Catalog(catalog_path, readonly=True) as catalog:
            sections.append(_storage(catalog, health))
            sections.append(_days(_camera_days(catalog, config, now_s), now_s))
            sections.append(_catalog(catalog, catalog_path))
    else:
        sections.append("<h2>Storage</h2><p>No catalog yet: the engine has not run.</p>")
    sections.append(_errors(config.logging.log_dir(storage)))
    return _PAGE.format(title=f"NVR health report {_when(now_s)}", body="\n".join(sections))


# -- data ------------------------------------------------------------------------------------


def _engine_health(config: Config) -> tuple[Health | None, str]:
    try:
        engine = find_engine(config)
        return EngineClient(engine.url, token=engine.token, timeout_s=3).health(), "running"
    except NvrError:
        return None, "not running or not reachable"


def _camera_days(catalog: Catalog, config: Config, now_s: float) -> list[CameraDays]:
    """Each camera's recorded seconds per day and type, from the catalog's hourly sums."""
    first_day = int(now_s // DAY_S) - DAYS + 1
    ids = [c.id for c in config.cameras]
    recorded = {cid: [dict[str, float]() for _ in range(DAYS)] for cid in ids}
    for cam, slot, kind, ns in catalog.slot_coverage(
        ids, 3600, first_day * 24, (first_day + DAYS) * 24
    ):
        day = recorded[cam][slot // 24 - first_day]
        day[kind] = day.get(kind, 0.0) + ns / 1e9
    out = []
    for cid in ids:
        gaps = catalog.gaps(cid, int(first_day * DAY_S * 1e9), int(now_s * 1e9), limit=10_000)
        gap_s = sum(((g.end_ns or int(now_s * 1e9)) - g.start_ns) / 1e9 for g in gaps)
        out.append(CameraDays(cid, recorded[cid], len(gaps), gap_s))
    return out


# -- sections --------------------------------------------------------------------------------


def _header(config: Config, now_s: float, engine_note: str) -> str:
    try:
        version = metadata.version("nvr")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return (
        f"<h1>NVR health report</h1><p class=dim>{_e(_when(now_s))} on {_e(socket.gethostname())}"
        f", nvr {_e(version)}; {len(config.cameras)} camera(s); storage {_e(config.storage.path)}"
        f"; engine {_e(engine_note)}</p>"
    )


def _engine(health: Health | None) -> str:
    if health is None:
        return "<h2>Engine</h2><p>The engine does not answer: what follows is from its files.</p>"
    problems = "".join(f"<li>{_e(p)}</li>" for p in health.problems) or "<li>none</li>"
    memory = f"{health.rss_bytes / 1e6:.0f} MB" if health.rss_bytes else "not measured yet"
    cpu = f"{health.cpu_pct:.0f}% of a core" if health.cpu_pct is not None else "not measured yet"
    return (
        f"<h2>Engine: {_e(health.status)}</h2><p>Up {_duration(health.uptime_s)}, CPU {cpu}, "
        f"memory {memory}.</p><p>Problems:</p><ul>{problems}</ul>"
    )


def _cameras(config: Config, health: Health | None) -> str:
    rows = []
    for cam in config.cameras:
        status = health.cameras.get(cam.id) if health else None
        state = status.state if status else ("disabled" if not cam.enabled else "unknown")
        restarts = str(status.restarts) if status else "-"
        uptime = _duration(status.uptime_s) if status and status.uptime_s else "-"
        streams = _e(redact_url(cam.main)) + (f"<br>{_e(redact_url(cam.sub))}" if cam.sub else "")
        rows.append(
            f"<tr><td>{_e(cam.display_name)}<br><span class=dim>{_e(cam.id)}</span></td>"
            f"<td class={_e(state)}>{_e(state)}</td><td>{uptime}</td><td>{restarts}</td>"
            f"<td>{_e(cam.record.mode)}</td><td class=url>{streams}</td></tr>"
        )
    return (
        "<h2>Cameras</h2><table><tr><th>Camera</th><th>State</th><th>Worker up</th>"
        "<th>Restarts</th><th>Recording</th><th>Streams</th></tr>" + "".join(rows) + "</table>"
    )


def _storage(catalog: Catalog, health: Health | None) -> str:
    stats = catalog.stats()
    rows = "".join(
        f"<tr><td>{_e(cam)}</td><td>{s['recordings']}</td><td>{s['bytes'] / 1e9:.2f} GB</td>"
        f"<td>{_e(_when(s['first_start_ns'] / 1e9))}</td>"
        f"<td>{_e(_when(s['last_end_ns'] / 1e9))}</td></tr>"
        for cam, s in stats.items()
    )
    disk = ""
    if health is not None and health.storage.total_bytes:
        st = health.storage
        disk = (
            f"<p>Disk: {st.free_bytes / 1e9:.1f} GB free of {st.total_bytes / 1e9:.1f} GB, "
            f"reserve {st.min_free_bytes / 1e9:.1f} GB, writing {st.write_rate_bps / 1e6:.1f} "
            f"Mbit/s.</p>"
        )
        if st.warning:
            disk += f"<p class=error>{_e(st.warning)}</p>"
    return (
        f"<h2>Storage</h2>{disk}<table><tr><th>Camera</th><th>Recordings</th><th>Size</th>"
        f"<th>Oldest</th><th>Newest</th></tr>{rows or '<tr><td colspan=5>none</td></tr>'}</table>"
    )


def _days(days: list[CameraDays], now_s: float) -> str:
    """Each camera's recorded share of each of the last seven days, as stacked SVG bars."""
    width, bar = 40, 28
    first_day = int(now_s // DAY_S) - DAYS + 1
    labels = "".join(
        f'<text x="{i * width + 20}" y="14" text-anchor="middle">'
        f"{time.strftime('%a %d', time.localtime((first_day + i) * DAY_S))}</text>"
        for i in range(DAYS)
    )
    rows = []
    for cam in days:
        bars = []
        for i, day in enumerate(cam.recorded):
            top = 60.0
            for kind, seconds in sorted(day.items()):
                h = 60 * min(1.0, seconds / DAY_S)
                top -= h
                bars.append(
                    f'<rect x="{i * width + 6}" y="{top:.1f}" width="{bar}" height="{h:.1f}" '
                    f'fill="{_TYPE_COLORS.get(kind, "#888")}"><title>{_e(kind)} '
                    f"{seconds / 3600:.1f} h</title></rect>"
                )
            share = sum(day.values()) / DAY_S * 100
            bars.append(
                f'<text x="{i * width + 20}" y="74" text-anchor="middle">{share:.0f}%</text>'
            )
        svg = (
            f'<svg width="{DAYS * width}" height="80" role="img"><rect x="0" y="0" '
            f'width="{DAYS * width}" height="60" fill="#f2f2f2"/>{"".join(bars)}</svg>'
        )
        rows.append(
            f"<tr><td>{_e(cam.camera_id)}</td><td>{svg}</td><td>{cam.gaps} gap(s), "
            f"{_duration(cam.gap_s)}</td></tr>"
        )
    legend = " ".join(f'<span style="color:{c}">■</span> {k}' for k, c in _TYPE_COLORS.items())
    return (
        f"<h2>Recorded, last {DAYS} days</h2><p class=dim>{legend}</p><table><tr><th>Camera</th>"
        f'<th><svg width="{DAYS * width}" height="18">{labels}</svg></th><th>Gaps</th></tr>'
        + "".join(rows)
        + "</table>"
    )


def _catalog(catalog: Catalog, path: Path) -> str:
    result = catalog.integrity_check()
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())
    verdict = "sound" if result == ["ok"] else "DAMAGED: " + "; ".join(result[:5])
    cls = "ok" if result == ["ok"] else "error"
    return (
        f"<h2>Catalog</h2><p>Schema {catalog.schema_version}, {size / 1e6:.1f} MB, integrity: "
        f"<span class={cls}>{_e(verdict)}</span>.</p>"
    )


def _errors(log_dir: Path) -> str:
    if not log_dir.exists():
        return "<h2>Recent errors</h2><p>No logs.</p>"
    index = LogIndex(log_dir)
    try:
        index.update()
        entries = index.query(level="WARNING", limit=50)
    finally:
        index.close()
    rows = "".join(
        f"<tr><td>{_e(_when(e.ts_ns / 1e9))}</td><td class={e.level.lower()}>{e.level}</td>"
        f"<td>{_e(e.camera_id or 'engine')}</td><td>{_e(e.message)}</td></tr>"
        for e in entries
    )
    return (
        "<h2>Recent warnings and errors</h2><table><tr><th>Time</th><th>Level</th>"
        f"<th>Camera</th><th>Message</th></tr>{rows or '<tr><td colspan=4>none</td></tr>'}</table>"
    )


# -- formatting ------------------------------------------------------------------------------


def _e(text: object) -> str:
    return html.escape(str(text))


def _when(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d}" if hours < 48 else f"{hours // 24} days"


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font: 14px/1.4 sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: left;
  vertical-align: middle; }}
.dim {{ color: #777; }} .url {{ font-family: monospace; font-size: 12px; }}
.error, .reconnecting, .offline {{ color: #c02020; }} .warning {{ color: #b07000; }}
.ok, .live {{ color: #208020; }}
svg text {{ font-size: 11px; fill: #444; }}
</style></head><body>
{body}
</body></html>
"""
