// Live video: one WebSocket per tile carrying fMP4 (init segment, then one fragment per
// frame), played with Media Source Extensions (ManagedMediaSource where the browser has it,
// as iOS Safari does). The player stays at the live edge: when more than MAX_BEHIND_S is
// buffered ahead of the picture it jumps forward, and it trims what was already shown.

const MS = window.ManagedMediaSource || window.MediaSource;
const MAX_BEHIND_S = 1.0; // further behind than this: jump to the live edge
const CATCH_UP_S = 0.25; // further behind than this: play a little faster until caught up
const KEEP_S = 10;
const HEADER_BYTES = 24;
const MAX_TIMES = 900;

class LivePlayer {
  constructor(tile) {
    this.tile = tile;
    this.camera = tile.dataset.camera;
    this.stream = tile.dataset.stream || "sub";
    this.video = tile.querySelector("video");
    this.video.disableRemotePlayback = true;
    this.statusEl = tile.querySelector(".live-status");
    this.queue = [];
    this.times = new Map(); // presentation time (90 kHz ticks) -> capture time (Unix ms)
    this.stats = { camera: this.camera, stream: this.stream, codecs: null, supported: null,
      fragments: 0, frames: 0, latencies: [], status: "connecting", skips: 0 };
    this.attempt = 0;
    this.connect();
    setInterval(() => this.maintain(), 250);
    if (this.video.requestVideoFrameCallback) this.video.requestVideoFrameCallback((n, m) => this.onFrame(n, m));
  }

  show(text, stale = false) {
    this.stale = stale;
    this.stats.status = stale ? "stale" : text;
    this.statusEl.textContent = text;
    this.statusEl.hidden = text === "live";
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const url = `${scheme}://${location.host}/api/v1/live/${encodeURIComponent(this.camera)}?stream=${this.stream}`;
    this.socket = new WebSocket(url);
    this.socket.binaryType = "arraybuffer";
    this.socket.onmessage = (m) => (typeof m.data === "string" ? this.onText(JSON.parse(m.data)) : this.onBinary(m.data));
    this.socket.onopen = () => { this.attempt = 0; };
    this.socket.onclose = (close) => {
      if (close.code === 1008) { this.show(close.reason || "not allowed"); return; }
      if (this.closed) return;
      this.show("reconnecting…");
      this.reset();
      setTimeout(() => this.connect(), Math.min(10000, 500 * 2 ** this.attempt++));
    };
  }

  switchStream(stream) {
    this.stream = this.stats.stream = stream;
    this.closed = true;
    this.socket.close();
    this.reset();
    this.closed = false;
    this.connect();
  }

  reset() {
    this.queue = [];
    this.buffer = null;
    this.codecs = null;
    this.source = null;
    this.started = false;
  }

  onText(message) {
    if (message.type === "status") this.show(message.text);
    if (message.type === "codecs") this.setup(message.codecs);
  }

  setup(codecs) {
    const type = `video/mp4; codecs="${codecs}"`;
    this.stats.codecs = codecs;
    this.stats.supported = MS.isTypeSupported(type);
    if (!this.stats.supported) { this.show(`this browser cannot play ${codecs}`); return; }
    if (this.buffer && this.codecs === codecs) return;
    if (this.buffer && this.buffer.changeType) { this.codecs = codecs; this.buffer.changeType(type); return; }
    this.codecs = codecs;
    const source = new MS();
    this.source = source;
    this.buffer = null;
    source.addEventListener("sourceopen", () => {
      if (this.source !== source) return;
      this.buffer = source.addSourceBuffer(type);
      this.buffer.mode = "segments";
      this.buffer.addEventListener("updateend", () => this.pump());
      this.buffer.addEventListener("error", () => this.show("the browser could not decode the stream"));
      this.pump();
    });
    this.video.src = URL.createObjectURL(source);
  }

  onBinary(data) {
    const view = new DataView(data);
    const kind = view.getUint8(0);
    if (kind === 1) {
      const pts = Number(view.getBigInt64(16));
      this.times.set(pts, Number(view.getBigInt64(8) / 1000000n));
      if (this.times.size > MAX_TIMES) this.times.delete(this.times.keys().next().value);
      this.stats.fragments++;
    }
    this.queue.push(data.slice(HEADER_BYTES));
    this.pump();
  }

  pump() {
    const buffer = this.buffer;
    if (!buffer || buffer.updating || !this.queue.length || this.source.readyState !== "open") return;
    try {
      buffer.appendBuffer(this.queue.shift());
    } catch (err) {
      if (err.name === "QuotaExceededError") { this.trim(true); return; }
      this.show(`playback failed: ${err.message}`);
      return;
    }
    if (!this.started) {
      this.started = true;
      this.video.play().catch(() => {});
    }
  }

  maintain() {
    const video = this.video;
    if (this.lastFrame && this.stats.status === "live") {
      const still = (performance.now() - this.lastFrame) / 1000;
      if (still > 2) this.show(`no new picture for ${Math.round(still)} s`, true);
    } else if (this.lastFrame && this.stale) {
      const still = (performance.now() - this.lastFrame) / 1000;
      this.statusEl.textContent = `no new picture for ${Math.round(still)} s`;
    }
    const ranges = video.buffered;
    if (!ranges.length) return;
    const end = ranges.end(ranges.length - 1);
    const behind = end - video.currentTime;
    if (behind > MAX_BEHIND_S || video.currentTime < ranges.start(0)) {
      video.currentTime = Math.max(ranges.start(ranges.length - 1), end - 0.1);
      this.stats.skips++;
    }
    video.playbackRate = behind > CATCH_UP_S ? 1.15 : 1.0;
    if (video.paused && this.started) video.play().catch(() => {});
    this.trim(false);
  }

  trim(force) {
    const buffer = this.buffer;
    const ranges = this.video.buffered;
    if (!buffer || buffer.updating || !ranges.length) return;
    const keepFrom = this.video.currentTime - (force ? 2 : KEEP_S);
    if (ranges.start(0) < keepFrom - (force ? 0 : 5)) buffer.remove(0, keepFrom);
  }

  onFrame(now, meta) {
    this.stats.frames++;
    this.lastFrame = performance.now();
    if (this.stats.status !== "live") this.show("live");
    const pts = Math.round(meta.mediaTime * 90000);
    let captured = this.times.get(pts);
    if (captured === undefined) {
      for (const [key, value] of this.times) if (Math.abs(key - pts) <= 2) { captured = value; break; }
    }
    if (captured !== undefined) {
      const shown = performance.timeOrigin + (meta.expectedDisplayTime || now);
      this.stats.latencies.push(Math.max(0, shown - captured));
      if (this.stats.latencies.length > 600) this.stats.latencies.shift();
    }
    this.video.requestVideoFrameCallback((n, m) => this.onFrame(n, m));
  }
}

const players = [...document.querySelectorAll(".live-tile")].map((tile) => new LivePlayer(tile));
window.nvrLive = players.map((p) => p.stats);

const layout = document.getElementById("layout-select");
if (layout) layout.addEventListener("change", () => { location.href = `/live?layout=${layout.value}`; });
const streamSelect = document.getElementById("stream-select");
if (streamSelect) streamSelect.addEventListener("change", () => players[0].switchStream(streamSelect.value));
const full = document.getElementById("fullscreen");
if (full) full.addEventListener("click", () => players[0].tile.requestFullscreen().catch(() => {}));
