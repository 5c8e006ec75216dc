// Playback: up to four cameras' recordings played in step on one wall clock, a zoomable
// timeline (drag to scrub with pictures, release to play from there), frame steps, events.
//
// Each camera plays an HLS playlist of byte ranges into its segment files (hls.js over MSE, or
// the browser's own HLS). The server's time map says which wall instant each point of the
// player's timeline shows; the page keeps one wall clock and makes every video follow it.
import Hls from "/static/hls.light.min.mjs";
import { api } from "/static/app.js";
import { formatWall } from "/static/time.js";

const root = document.getElementById("player");
const MAX = Number(root.dataset.max) || 4;
const BEFORE_MS = 30 * 60e3; // a playlist window starts this long before the clock...
const AFTER_MS = 5.25 * 3600e3; // ...and ends this long after it (the server allows 6 h)
const SPANS = { "30d": 30 * 86400e3, "7d": 7 * 86400e3, "1d": 86400e3, "6h": 6 * 3600e3,
  "1h": 3600e3, "10m": 600e3, "1m": 60e3, "10s": 10e3 };
const COLORS = { continuous: "#3d7be0", motion: "#ff8c00", manual: "#46c86e", scheduled: "#2ab5b5",
  panic: "#eb2828", missing: "#555a64" };

const $ = (id) => document.getElementById(id);
const names = Object.fromEntries([...root.querySelectorAll("input[name=camera]")]
  .map((box) => [box.value, box.parentElement.textContent.trim()]));
const state = { wall: 0, playing: false, speed: 1, scrubbing: false, view: { start: 0, end: 0 },
  timeline: null, tiles: [], loading: null, last: 0, range: null };

// What the download and share controls (clips.js) read and mark.
export const player = {
  wallMs: () => state.wall,
  cameras: () => chosen(),
  name: (id) => names[id] || id,
  setRange: (range) => { state.range = range; },
};

function pad(n, w = 2) { return String(n).padStart(w, "0"); }
function span(ms) {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}
function say(text) { $("play-status").textContent = text; }
const ns = (ms) => String(Math.round(ms * 1e6));

// -- one camera ---------------------------------------------------------------------------------

class Tile {
  constructor(id) {
    this.id = id;
    this.chunks = [];
    this.window = { start: 0, end: 0 };
    this.hls = null;
    this.error = "";
    this.el = document.createElement("div");
    this.el.className = "tile play-tile";
    this.el.dataset.camera = id;
    this.video = document.createElement("video");
    Object.assign(this.video, { muted: true, playsInline: true, disableRemotePlayback: true });
    this.still = document.createElement("img");
    this.still.className = "still";
    this.still.alt = "";
    this.still.hidden = true;
    const head = document.createElement("span");
    head.className = "tile-head";
    head.innerHTML = '<span class="tile-name"></span><span class="badge still-badge" hidden>EXACT FRAME</span>';
    head.firstChild.textContent = names[id] || id;
    this.badge = head.lastChild;
    this.status = document.createElement("span");
    this.status.className = "live-status";
    this.status.setAttribute("role", "status");
    this.el.append(this.video, this.still, head, this.status);
    this.stillWanted = null;
    this.stillBusy = false;
    this.shown = null; // media time of the frame on screen, as the browser presented it
    if ("requestVideoFrameCallback" in this.video) {
      const watch = (_now, meta) => { this.shown = meta.mediaTime; this.video.requestVideoFrameCallback(watch); };
      this.video.requestVideoFrameCallback(watch);
    }
  }

  async load(wallMs) {
    const start = Math.floor(wallMs - BEFORE_MS);
    const end = Math.ceil(wallMs + AFTER_MS);
    const query = `start_ns=${ns(start)}&end_ns=${ns(end)}`;
    const base = `/api/v1/recordings/${encodeURIComponent(this.id)}/index`;
    this.show("Loading…");
    const { ok, data } = await api("GET", `${base}.json?${query}`);
    if (!ok) { this.error = data.error || "cannot read the recordings"; this.show(this.error); return; }
    this.chunks = data.chunks.map((c) => ({ t: c.t, d: c.d, start: c.start_ns / 1e6,
      end: c.end_ns / 1e6, frames: c.frames, codec: c.codec, type: c.type }));
    this.window = { start, end };
    this.error = "";
    if (this.hls) { this.hls.destroy(); this.hls = null; }
    const first = this.chunkAt(wallMs) || this.chunks.find((c) => c.start > wallMs);
    if (!this.chunks.length) { this.show(""); return; }
    if (this.chunks.every((c) => c.codec === "hevc") && !this.video.canPlayType('video/mp4; codecs="hvc1"')) {
      this.error = "this camera records H.265, which this browser cannot play: Exact frame shows its pictures";
      this.show(this.error);
      return;
    }
    const startAt = first ? this.mediaOf(Math.max(wallMs, first.start)) : 0;
    const url = `${base}.m3u8?${query}`;
    if (Hls.isSupported()) {
      this.hls = new Hls({ enableWorker: false, startPosition: startAt, maxBufferLength: 20,
        backBufferLength: 20, maxMaxBufferLength: 60 });
      this.hls.on(Hls.Events.ERROR, (_e, d) => this.failed(d));
      this.hls.loadSource(url);
      this.hls.attachMedia(this.video);
    } else if (this.video.canPlayType("application/vnd.apple.mpegurl")) {
      this.video.src = url;
      this.video.addEventListener("loadedmetadata", () => { this.video.currentTime = startAt; }, { once: true });
    } else {
      this.error = "this browser cannot play recordings (no Media Source Extensions)";
    }
    this.show(this.error);
  }

  failed(data) {
    if (!data.fatal) return;
    if (data.response && data.response.code === 401) { location.href = "/login?next=/playback"; return; }
    this.error = `cannot play: ${data.details}`;
    this.show(this.error);
  }

  show(text) { this.status.textContent = text; this.status.hidden = !text; }
  inWindow(wallMs) { return wallMs >= this.window.start && wallMs < this.window.end - 60e3; }
  chunkAt(w) { return this.chunks.find((c) => c.start <= w && w < c.end) || null; }
  nextStart(w) { const c = this.chunks.find((x) => x.start > w); return c ? c.start : null; }
  lastBefore(w) { const before = this.chunks.filter((c) => c.end <= w); return before.length ? before[before.length - 1] : null; }
  mediaOf(w) {
    const c = this.chunkAt(w);
    if (!c) return null;
    return c.t + ((w - c.start) / Math.max(1, c.end - c.start)) * c.d;
  }
  chunkAtMedia(t) { return this.chunks.find((c) => c.t <= t && t < c.t + c.d) || null; }
  wallOf(t) {
    const c = this.chunkAtMedia(t);
    return c ? c.start + ((t - c.t) / c.d) * (c.end - c.start) : null;
  }
  ready() { return !!this.hls || !!this.video.src ? this.video.readyState >= 3 && !this.video.seeking : false; }
  playable() { return !this.error && (!!this.hls || !!this.video.getAttribute("src")); }

  // Make the video show the clock's instant: seek there (paused), or follow it (playing).
  follow(w, playing, speed) {
    const c = this.chunkAt(w);
    this.video.classList.toggle("blank", !c); // never a picture from another time
    if (!c) {
      if (!this.video.paused) this.video.pause();
      if (!this.error && !state.loading) this.show(this.chunks.length ? "No recording at this time" : "Nothing recorded near this time");
      return;
    }
    if (this.status.textContent.startsWith("No") || this.status.textContent.startsWith("Nothing")) this.show("");
    if (!this.playable() || !playing) return;
    const target = this.mediaOf(w);
    const drift = this.video.currentTime - target;
    if (Math.abs(drift) > Math.max(1, speed * 0.5)) {
      this.video.currentTime = target;
    } else {
      this.video.playbackRate = Math.abs(drift) > 0.08 ? speed * (drift > 0 ? 0.9 : 1.1) : speed;
    }
    this.hideStill();
    if (this.video.paused) this.video.play().catch(() => {});
  }

  seek(w) {
    this.video.pause();
    const t = this.mediaOf(w);
    if (t !== null && this.playable()) this.video.currentTime = t;
  }

  // A recorded picture from the engine, exact to the frame: while scrubbing and on request.
  async showStill(w, width) {
    this.stillWanted = { w, width };
    if (this.stillBusy) return;
    this.stillBusy = true;
    try {
      while (this.stillWanted) {
        const { w: at, width: px } = this.stillWanted;
        this.stillWanted = null;
        const q = `at_ns=${ns(at)}` + (px ? `&width=${px}` : "");
        const response = await fetch(`/api/v1/recordings/${encodeURIComponent(this.id)}/frame.jpg?${q}`);
        if (!response.ok) { this.still.hidden = true; this.badge.hidden = true; continue; }
        const blob = await response.blob();
        if (this.still.src) URL.revokeObjectURL(this.still.src);
        this.still.src = URL.createObjectURL(blob);
        this.still.dataset.timeNs = response.headers.get("X-Frame-Time-Ns") || "";
        this.still.hidden = false;
        this.badge.hidden = px !== 0;
        this.show("");
      }
    } finally { this.stillBusy = false; }
  }

  hideStill() { if (!this.still.hidden) { this.still.hidden = true; this.badge.hidden = true; } }

  destroy() { if (this.hls) this.hls.destroy(); this.el.remove(); }
}

// -- the clock ----------------------------------------------------------------------------------

function chosen() { return state.tiles.map((t) => t.id); }

function setCameras(ids) {
  for (const tile of state.tiles) tile.destroy();
  state.tiles = ids.slice(0, MAX).map((id) => new Tile(id));
  const grid = $("play-grid");
  grid.className = `grid play-grid count-${state.tiles.length}`;
  for (const tile of state.tiles) grid.append(tile.el);
  for (const box of root.querySelectorAll("input[name=camera]")) {
    box.checked = ids.includes(box.value);
    box.disabled = !box.checked && ids.length >= MAX;
  }
  return reload(state.wall);
}

async function reload(w) {
  const job = Promise.all(state.tiles.map((t) => t.load(w)));
  state.loading = job;
  try { await job; } finally { if (state.loading === job) state.loading = null; }
  fetchTimeline();
}

// Go to an instant: load the playlists around it if they do not cover it, then seek.
async function seekTo(w, play = state.playing) {
  state.wall = w;
  remember();
  if (state.tiles.some((t) => !t.inWindow(w))) await reload(w);
  for (const tile of state.tiles) { tile.hideStill(); tile.seek(w); }
  setPlaying(play);
  follow();
}

function setPlaying(on) {
  const was = state.playing;
  state.playing = on && state.tiles.length > 0;
  $("play").textContent = state.playing ? "Pause" : "Play";
  if (state.playing) return;
  for (const tile of state.tiles) tile.video.pause();
  const master = state.tiles.find((t) => t.chunkAt(state.wall) && t.playable());
  const shown = was && master ? master.wallOf(master.video.currentTime) : null;
  if (shown !== null) state.wall = shown; // the clock says the time of the picture left on screen
  for (const tile of state.tiles) if (tile !== master) tile.seek(state.wall); // all in step
}

function follow() {
  for (const tile of state.tiles) tile.follow(state.wall, state.playing && !state.scrubbing, state.speed);
}

function tick(now) {
  const dt = state.last ? Math.min(now - state.last, 250) : 0;
  state.last = now;
  if (state.playing && !state.scrubbing && !state.loading) advance(dt);
  follow();
  drawClock();
  drawTimeline();
  requestAnimationFrame(tick);
}

function advance(dt) {
  const active = state.tiles.filter((t) => t.chunkAt(state.wall) && t.playable());
  if (!active.length) {
    const next = Math.min(...state.tiles.map((t) => t.nextStart(state.wall) ?? Infinity));
    const windowEnd = Math.min(...state.tiles.map((t) => t.window.end));
    if (Number.isFinite(next)) {
      say(`skipped ${span(next - state.wall)} without recording`);
      seekTo(next, true);
    } else if (windowEnd < Date.now() && state.tiles.length) {
      seekTo(windowEnd - 60e3 + 1, true); // nothing more here: look in the next window
    } else {
      setPlaying(false);
      say("end of the recordings: the Live page shows what happens now");
    }
    return;
  }
  if (!active.every((t) => t.ready())) return; // wait for the slowest to have its picture
  const master = active[0];
  const fromVideo = master.wallOf(master.video.currentTime);
  const guess = state.wall + dt * state.speed;
  state.wall = fromVideo !== null && Math.abs(fromVideo - guess) < 500 ? fromVideo : guess;
  if (state.tiles.some((t) => !t.inWindow(state.wall))) seekTo(state.wall, true);
  keepInView();
}

function keepInView() {
  const { start, end } = state.view;
  const width = end - start;
  if (state.wall > end - width * 0.05 || state.wall < start) {
    setView(state.wall - width * 0.2, state.wall + width * 0.8);
  }
}

function drawClock() {
  const clock = $("clock");
  const text = state.wall ? formatWall(state.wall) : "--";
  if (clock.textContent !== text) {
    clock.textContent = text;
    clock.dataset.wallNs = state.wall ? ns(state.wall) : "";
  }
}

let remembered = 0;
function remember() {
  if (Date.now() - remembered < 1000) return;
  remembered = Date.now();
  const params = new URLSearchParams({ cameras: chosen().join(","), t: ns(state.wall) });
  history.replaceState(null, "", `/playback?${params}`);
}

// -- frame steps and exact frames ---------------------------------------------------------------

function step(direction) {
  setPlaying(false);
  const tile = state.tiles.find((t) => t.chunkAt(state.wall) && t.playable());
  if (!tile) { exact(); return; }
  const c = tile.chunkAt(state.wall);
  const frame = c.d / Math.max(1, c.frames);
  // From the frame on screen (its own time, as presented: frames are not evenly spaced), half a
  // frame past the next one's expected time or half a frame before its own; else from the clock.
  const onScreen = tile.video.seeking ? null : (tile.shown ?? tile.video.currentTime);
  let target;
  if (onScreen !== null && tile.chunkAtMedia(onScreen) === c) {
    target = onScreen + (direction > 0 ? 1.5 : -0.5) * frame;
  } else {
    const index = Math.floor((tile.mediaOf(state.wall) - c.t) / frame + 1e-6) + direction;
    target = c.t + (index + 0.25) * frame;
  }
  let w = tile.wallOf(target);
  if (w === null) { // across a recording's edge: the next one's first frame or the last one's last
    const other = direction > 0 ? tile.chunks.find((x) => x.start >= c.end) : tile.lastBefore(c.start);
    if (!other) { say(direction > 0 ? "no later frame" : "no earlier frame"); return; }
    const f = other.d / Math.max(1, other.frames);
    target = direction > 0 ? other.t + 0.25 * f : other.t + other.d - 0.75 * f;
    w = tile.wallOf(target);
  }
  state.wall = w;
  for (const other of state.tiles) { other.hideStill(); other.seek(w); }
  say("");
  remember();
}

function exact() {
  setPlaying(false);
  for (const tile of state.tiles) tile.showStill(state.wall, 0);
}

// -- the timeline -------------------------------------------------------------------------------

const canvas = $("timeline-canvas");
const LANE = 28;
const AXIS = 18;

function setView(start, end) {
  const width = Math.min(Math.max(end - start, 10e3), 30 * 86400e3);
  const middle = (start + end) / 2;
  state.view = { start: middle - width / 2, end: middle + width / 2 };
  fetchTimeline();
}

let timelineTimer = 0;
function fetchTimeline() {
  clearTimeout(timelineTimer);
  timelineTimer = setTimeout(async () => {
    if (!state.tiles.length) { state.timeline = null; return; }
    const { start, end } = state.view;
    const buckets = Math.max(1, Math.min(2000, Math.floor(canvas.clientWidth / 2)));
    const query = `cameras=${encodeURIComponent(chosen().join(","))}&start_ns=${ns(start)}&end_ns=${ns(end)}&buckets=${buckets}`;
    const { ok, data } = await api("GET", `/api/v1/timeline?${query}`);
    if (ok) state.timeline = data; else say(data.error || "the timeline cannot be read");
  }, 120);
}

const xOf = (w) => ((w - state.view.start) / (state.view.end - state.view.start)) * canvas.clientWidth;
const wallAt = (x) => state.view.start + (x / canvas.clientWidth) * (state.view.end - state.view.start);

function drawTimeline() {
  const dpr = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = AXIS + Math.max(1, state.tiles.length) * LANE;
  if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
    canvas.style.height = `${height}px`;
  }
  const g = canvas.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.fillStyle = "#181b21";
  g.fillRect(0, 0, width, height);
  drawAxis(g, width);
  const data = state.timeline;
  state.tiles.forEach((tile, lane) => {
    const y = AXIS + lane * LANE;
    g.fillStyle = "#20232a";
    g.fillRect(0, y + 2, width, LANE - 4);
    const cam = data && data.cameras[tile.id];
    if (cam) drawLane(g, cam, data, y);
    g.fillStyle = "#e6e8ec";
    g.font = "11px system-ui, sans-serif";
    g.fillText(names[tile.id] || tile.id, 4, y + 13);
  });
  if (state.range) { // the range marked for a download or a share
    const x0 = xOf(state.range.start), x1 = xOf(state.range.end);
    g.fillStyle = "rgba(64, 156, 255, 0.25)";
    g.fillRect(x0, AXIS, Math.max(2, x1 - x0), height - AXIS);
  }
  const x = xOf(state.wall);
  g.fillStyle = "#fff";
  g.fillRect(Math.round(x) - 1, 0, 2, height);
}

function drawLane(g, cam, data, y) {
  if (cam.spans) {
    for (const [s, e, type] of cam.spans) {
      const x0 = xOf(s / 1e6), x1 = xOf(e / 1e6);
      g.fillStyle = COLORS[type] || COLORS.continuous;
      g.fillRect(x0, y + 8, Math.max(1, x1 - x0), LANE - 14);
    }
  } else {
    const d = cam.density;
    const bucket = data.bucket_ns / 1e6;
    d.recorded.forEach((fraction, i) => {
      if (!fraction) return;
      const s = data.buckets_start_ns / 1e6 + i * bucket;
      const x0 = xOf(s), x1 = xOf(s + bucket);
      const h = Math.max(2, (LANE - 14) * fraction);
      g.fillStyle = COLORS[d.type[i]] || COLORS.continuous;
      g.fillRect(x0, y + LANE - 6 - h, Math.max(1, x1 - x0 - 0.5), h);
    });
  }
  g.fillStyle = "#f04646";
  for (const [s, e] of cam.gaps) {
    const x0 = xOf(s / 1e6), x1 = xOf((e ?? Date.now() * 1e6) / 1e6);
    g.fillRect(x0, y + LANE - 5, Math.max(1, x1 - x0), 2);
  }
  g.fillStyle = "#ffd27a";
  if (cam.events) {
    for (const [, s] of cam.events) g.fillRect(xOf(s / 1e6), y + 3, 2, 5);
  } else {
    const bucket = data.bucket_ns / 1e6;
    cam.density.events.forEach((n, i) => {
      if (n) g.fillRect(xOf(data.buckets_start_ns / 1e6 + (i + 0.5) * bucket), y + 3, 2, 5);
    });
  }
}

function drawAxis(g, width) {
  const { start, end } = state.view;
  const steps = [1e3, 5e3, 10e3, 30e3, 60e3, 300e3, 600e3, 1800e3, 3600e3, 3 * 3600e3, 6 * 3600e3, 86400e3, 7 * 86400e3];
  const every = steps.find((s) => (s / (end - start)) * width > 90) || steps[steps.length - 1];
  const offset = new Date().getTimezoneOffset() * 60e3; // ticks on the local clock
  g.fillStyle = "#969ba5";
  g.font = "11px system-ui, sans-serif";
  for (let t = Math.ceil((start - offset) / every) * every + offset; t < end; t += every) {
    const x = xOf(t);
    g.fillRect(x, AXIS - 5, 1, 5);
    const text = every >= 86400e3 ? formatWall(t, false).slice(0, 10)
      : every < 60e3 ? formatWall(t, false).slice(11) : formatWall(t, false).slice(11, 16);
    g.fillText(text, x + 3, 11);
  }
}

// Hover: the time and the recorded picture there. Drag: scrub (pictures follow). Release: play.
const tip = $("hover-tip");
let hoverWanted = null, hoverBusy = false;
async function hover(w, lane) {
  hoverWanted = { w, lane };
  if (hoverBusy) return;
  hoverBusy = true;
  try {
    while (hoverWanted) {
      const { w: at, lane: l } = hoverWanted;
      hoverWanted = null;
      const tile = state.tiles[l];
      if (!tile) continue;
      const response = await fetch(`/api/v1/recordings/${encodeURIComponent(tile.id)}/frame.jpg?at_ns=${ns(at)}&width=240`);
      const img = $("hover-img");
      if (img.src) URL.revokeObjectURL(img.src);
      if (response.ok) { img.src = URL.createObjectURL(await response.blob()); img.hidden = false; }
      else { img.removeAttribute("src"); img.hidden = true; }
      tip.dataset.loadedNs = ns(at);
    }
  } finally { hoverBusy = false; }
}

function laneAt(y) { return Math.max(0, Math.min(state.tiles.length - 1, Math.floor((y - AXIS) / LANE))); }

canvas.addEventListener("pointermove", (e) => {
  const w = wallAt(e.offsetX);
  if (state.scrubbing) {
    state.wall = w;
    for (const tile of state.tiles) tile.showStill(w, 480);
  }
  tip.hidden = false;
  tip.style.left = `${Math.min(Math.max(0, e.offsetX - 120), canvas.clientWidth - 240)}px`;
  $("hover-time").textContent = formatWall(w, false);
  hover(w, laneAt(e.offsetY));
});
canvas.addEventListener("pointerleave", () => { if (!state.scrubbing) tip.hidden = true; });
canvas.addEventListener("pointerdown", (e) => {
  canvas.setPointerCapture(e.pointerId);
  state.scrubbing = true;
  for (const tile of state.tiles) tile.video.pause();
  state.wall = wallAt(e.offsetX);
  for (const tile of state.tiles) tile.showStill(state.wall, 480);
});
canvas.addEventListener("pointerup", (e) => {
  if (!state.scrubbing) return;
  state.scrubbing = false;
  tip.hidden = true;
  seekTo(wallAt(e.offsetX), true);
});
canvas.addEventListener("wheel", (e) => {
  e.preventDefault();
  const at = wallAt(e.offsetX);
  const factor = e.deltaY > 0 ? 1.25 : 0.8;
  const { start, end } = state.view;
  setView(at - (at - start) * factor, at + (end - at) * factor);
}, { passive: false });

// -- events -------------------------------------------------------------------------------------

function dayRange(value) {
  const [y, m, d] = value.split("-").map(Number);
  const start = new Date(y, m - 1, d).getTime();
  return [start, new Date(y, m - 1, d + 1).getTime()];
}
function dayOf(ms) { const d = new Date(ms); return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`; }

async function listEvents() {
  const form = $("event-filter");
  if (!form.day.value) form.day.value = dayOf(state.wall || Date.now());
  const [start, end] = dayRange(form.day.value);
  const params = new URLSearchParams({ start_ns: ns(start), end_ns: ns(end), type: form.type.value });
  if (form.camera.value) params.set("cameras", form.camera.value);
  const { ok, data } = await api("GET", `/api/v1/eventlist?${params}`);
  const list = $("event-list");
  list.replaceChildren();
  if (!ok) { list.textContent = data.error || "the events cannot be read"; return; }
  if (!data.events.length) { list.innerHTML = '<li class="empty">No events on this day.</li>'; return; }
  for (const ev of data.events) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = `event ${ev.kind}`;
    if (ev.thumbnail) {
      const img = document.createElement("img");
      img.loading = "lazy";
      img.alt = "";
      img.src = ev.thumbnail;
      button.append(img);
    }
    const text = document.createElement("span");
    text.innerHTML = '<b></b> <span class="dim"></span><br><span></span>';
    text.children[0].textContent = formatWall(ev.start_ns / 1e6, false).slice(11);
    text.children[1].textContent = names[ev.camera_id] || ev.camera_id;
    text.children[3].textContent = ev.text;
    button.append(text);
    button.addEventListener("click", () => playEvent(ev));
    item.append(button);
    if (ev.kind === "motion") item.dataset.eventId = ev.id;
    list.append(item);
  }
  if (data.truncated) {
    const more = document.createElement("li");
    more.className = "empty";
    more.textContent = `the newest ${data.events.length} are shown: pick a camera or a type to see the others`;
    list.append(more);
  }
  list.dispatchEvent(new Event("nvr:listed"));
}

async function playEvent(ev) {
  const ids = chosen();
  if (!ids.includes(ev.camera_id)) {
    if (ids.length >= MAX) ids.pop();
    ids.unshift(ev.camera_id);
    state.wall = ev.start_ns / 1e6 - 2000;
    await setCameras(ids);
  }
  zoomAround(ev.start_ns / 1e6, SPANS["10m"]);
  await seekTo(ev.start_ns / 1e6 - 2000, true); // two seconds before: what led to it
}

// The next event starts after what is on screen (a jump lands 2 s before an event: that one is
// not "next"); the previous one starts before it.
async function nearEvent(direction) {
  const w = state.wall;
  const from = direction > 0 ? w + 2500 : w - 500;
  const [start, end] = direction > 0 ? [from, from + 7 * 86400e3] : [from - 7 * 86400e3, from];
  const params = new URLSearchParams({ start_ns: ns(start), end_ns: ns(Math.min(end, Date.now())),
    cameras: chosen().join(","), order: direction > 0 ? "asc" : "desc", limit: "50" });
  const { ok, data } = await api("GET", `/api/v1/eventlist?${params}`);
  if (!ok) { say(data.error || "the events cannot be read"); return; }
  const found = data.events.find((e) => (direction > 0 ? e.start_ns / 1e6 > from : e.start_ns / 1e6 < from));
  if (!found) { say(direction > 0 ? "no later event within a week" : "no earlier event within a week"); return; }
  playEvent(found);
}

function zoomAround(w, width) { setView(w - width / 2, w + width / 2); }

// The first recorded instant of a day, from the timeline of that day.
async function goToDay(value) {
  const [start, end] = dayRange(value);
  setView(start, end);
  const query = `cameras=${encodeURIComponent(chosen().join(","))}&start_ns=${ns(start)}&end_ns=${ns(end)}&buckets=288`;
  const { ok, data } = await api("GET", `/api/v1/timeline?${query}`);
  if (!ok) { say(data.error || "the timeline cannot be read"); return; }
  let first = Infinity;
  for (const cam of Object.values(data.cameras)) {
    if (cam.spans && cam.spans.length) first = Math.min(first, cam.spans[0][0] / 1e6);
    const i = cam.density.recorded.findIndex((f) => f > 0);
    if (!cam.spans && i >= 0) first = Math.min(first, data.buckets_start_ns / 1e6 + i * (data.bucket_ns / 1e6));
  }
  if (!Number.isFinite(first)) { say(`nothing was recorded on ${value}`); return; }
  say("");
  await seekTo(Math.max(first, start), false);
  if (!state.tiles.some((t) => t.chunkAt(state.wall))) { // a bucket starts before its recording
    const next = Math.min(...state.tiles.map((t) => t.nextStart(state.wall) ?? Infinity));
    if (Number.isFinite(next) && next < end) await seekTo(next, false);
  }
}

// -- controls -----------------------------------------------------------------------------------

$("play").addEventListener("click", () => { setPlaying(!state.playing); say(""); });
$("speed").addEventListener("change", (e) => { state.speed = Number(e.target.value); });
$("step-forward").addEventListener("click", () => step(1));
$("step-back").addEventListener("click", () => step(-1));
$("exact").addEventListener("click", exact);
$("prev-event").addEventListener("click", () => nearEvent(-1));
$("next-event").addEventListener("click", () => nearEvent(1));
$("day").addEventListener("change", (e) => { if (e.target.value) goToDay(e.target.value); });
$("event-filter").addEventListener("change", listEvents);
for (const button of document.querySelectorAll("[data-span]")) {
  button.addEventListener("click", () => zoomAround(state.wall, SPANS[button.dataset.span]));
}
for (const box of root.querySelectorAll("input[name=camera]")) {
  box.addEventListener("change", () => {
    const ids = [...root.querySelectorAll("input[name=camera]:checked")].map((b) => b.value);
    setCameras(ids).then(() => seekTo(state.wall, false));
    remembered = 0;
    remember();
  });
}
document.addEventListener("keydown", (e) => {
  if (e.target.closest("input, select, textarea")) return;
  if (e.key === " ") { e.preventDefault(); setPlaying(!state.playing); }
  else if (e.key === ".") step(1);
  else if (e.key === ",") step(-1);
  else if (e.key === "ArrowRight") seekTo(state.wall + 10e3);
  else if (e.key === "ArrowLeft") seekTo(state.wall - 10e3);
});

// The page's API for tests and benchmarks: the clock and the tiles, read-only.
window.nvrPlayback = {
  wallNs: () => ns(state.wall),
  playing: () => state.playing,
  seek: (wallNs, play = false) => seekTo(Number(wallNs) / 1e6, play),
  view: () => ({ ...state.view }),
  tiles: () => state.tiles.map((t) => ({ id: t.id, chunks: t.chunks.length, error: t.error,
    currentTime: t.video.currentTime, readyState: t.video.readyState, seeking: t.video.seeking })),
};

const at = Number(root.dataset.at) / 1e6;
state.wall = at > 0 ? at : Date.now() - 5 * 60e3;
state.view = { start: state.wall - 30 * 60e3, end: state.wall + 30 * 60e3 };
setCameras(JSON.parse(root.dataset.cameras)).then(() => seekTo(state.wall, false));
$("day").value = dayOf(state.wall);
listEvents();
requestAnimationFrame(tick);
