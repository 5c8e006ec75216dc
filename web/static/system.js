// System page: workers (restart), storage, the engine's log and backups. Every figure comes
// from the engine's answer of the moment; when it does not answer, the figures are withdrawn.
import { api } from "/static/app.js";
import { formatWall } from "/static/time.js";

const $ = (id) => document.getElementById(id);
const admin = document.body.dataset.role === "admin";

function size(bytes) {
  if (bytes === null || bytes === undefined) return "–";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes, unit = 0;
  while (value >= 1000 && unit < units.length - 1) { value /= 1000; unit += 1; }
  return `${value.toFixed(value < 10 && unit ? 1 : 0)} ${units[unit]}`;
}
function duration(seconds) {
  if (!seconds && seconds !== 0) return "–";
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} days`;
}
function cells(tr, values, labels) {
  values.forEach((value, i) => {
    const td = document.createElement("td");
    if (value instanceof Node) td.append(value); else td.textContent = value;
    td.dataset.label = labels[i];
    tr.append(td);
  });
}

function spark(values) {
  const canvas = document.createElement("canvas");
  canvas.width = 160;
  canvas.height = 28;
  canvas.className = "spark";
  const g = canvas.getContext("2d");
  const top = Math.max(1, ...values);
  g.strokeStyle = "#409cff";
  g.beginPath();
  values.forEach((v, i) => {
    const x = (i / Math.max(1, values.length - 1)) * canvas.width;
    const y = canvas.height - 2 - (v / top) * (canvas.height - 4);
    if (i) g.lineTo(x, y); else g.moveTo(x, y);
  });
  g.stroke();
  canvas.setAttribute("aria-label", `frames out per second over the last hour, up to ${top.toFixed(1)}`);
  return canvas;
}

async function workers() {
  const { ok, data } = await api("GET", "/api/v1/workers");
  const body = document.querySelector("#workers tbody");
  body.replaceChildren();
  if (!ok) { $("worker-result").textContent = data.error || "cannot read the workers"; return; }
  const unknown = data.engine !== "ok";
  const labels = ["Camera", "State", "Running for", "Restarts", "Frames in / out", "CPU", "Memory", "Last hour", ""];
  for (const w of data.workers) {
    const tr = document.createElement("tr");
    tr.dataset.camera = w.id;
    const history = (data.history.cameras || {})[w.id];
    const restart = document.createElement("button");
    restart.type = "button";
    restart.textContent = "Restart";
    restart.disabled = unknown;
    restart.addEventListener("click", async () => {
      if (!confirm(`Restart ${w.name || w.id}'s worker? Its recording pauses for a few seconds.`)) return;
      const reply = await api("POST", "/api/v1/command", { command: "restart_worker", camera_id: w.id });
      $("worker-result").textContent = reply.ok || reply.status === 202
        ? `${w.name || w.id}: restarted` : `${w.name || w.id}: ${reply.data.error}`;
      workers();
    });
    cells(tr, [
      w.name || w.id,
      unknown ? "unknown (no contact)" : w.state + (w.error ? `: ${w.error}` : ""),
      unknown ? "–" : duration(w.uptime_s),
      unknown ? "–" : `${w.restarts}${w.last_exit ? ` (last: ${w.last_exit})` : ""}`,
      unknown ? "–" : `${(w.fps_in || 0).toFixed(1)} / ${(w.fps_out || 0).toFixed(1)}`,
      unknown || w.cpu_pct === null ? "–" : `${w.cpu_pct.toFixed(1)} %`,
      unknown ? "–" : size(w.rss_bytes),
      history && history.fps_out && history.fps_out.length ? spark(history.fps_out) : "–",
      restart,
    ], labels);
    body.append(tr);
  }
}

async function storage() {
  const { ok, data } = await api("GET", "/api/v1/health");
  const box = $("storage");
  const body = document.querySelector("#storage-cameras tbody");
  body.replaceChildren();
  if (!ok || !data.storage) {
    box.textContent = ok ? `the engine does not answer: no storage figure can be shown (${data.engine_error || ""})` : data.error;
    return;
  }
  const s = data.storage;
  const used = s.total_bytes ? (s.total_bytes - s.free_bytes) / s.total_bytes : 0;
  box.innerHTML = '<div class="meter"><span></span></div><p class="figures"></p><p class="warning error"></p>';
  box.querySelector(".meter span").style.width = `${Math.round(used * 100)}%`;
  box.querySelector(".figures").textContent =
    `${size(s.free_bytes)} free of ${size(s.total_bytes)} · recordings ${size(s.recordings_bytes + s.writing_bytes)}` +
    ` · writing ${size(s.write_rate_bps / 8)}/s` +
    (s.days_until_full ? ` · reserve reached in ${duration(s.days_until_full * 86400)}` : "") +
    (s.days_capacity ? ` · room for ${duration(s.days_capacity * 86400)} of footage` : "") +
    ` · keeps ${size(s.min_free_bytes)} free`;
  box.querySelector(".warning").textContent = s.warning || "";
  const names = JSON.parse(document.body.dataset.cameras || "{}");
  const none = { bytes: 0, days_retained: 0, oldest_ns: null, protected_bytes: 0 };
  for (const id of new Set([...Object.keys(names), ...Object.keys(s.cameras)])) {
    const cam = s.cameras[id] || none; // a camera with nothing recorded yet has no entry
    const tr = document.createElement("tr");
    cells(tr, [names[id] || id, size(cam.bytes), cam.days_retained.toFixed(1),
      cam.oldest_ns ? formatWall(cam.oldest_ns / 1e6, false) : "–", size(cam.protected_bytes)],
    ["Camera", "Footage", "Days kept", "Oldest", "Protected"]);
    body.append(tr);
  }
}

async function logs(event) {
  if (event) event.preventDefault();
  const form = $("log-filter");
  const params = new URLSearchParams();
  for (const key of ["level", "camera_id", "component", "q"]) if (form[key].value) params.set(key, form[key].value);
  if (form.since.value) params.set("since", new Date(form.since.value).toISOString().slice(0, 19));
  const { ok, data } = await api("GET", `/api/v1/logs?${params}`);
  const body = document.querySelector("#log tbody");
  body.replaceChildren();
  if (!ok) { const tr = document.createElement("tr"); cells(tr, [data.error], ["Error"]); body.append(tr); return; }
  for (const e of data.entries) {
    const tr = document.createElement("tr");
    tr.className = `level-${(e.level || "").toLowerCase()}`;
    cells(tr, [formatWall(e.ts_ns / 1e6), e.level, e.camera_id || "", e.component || "", e.message + (e.exception ? `\n${e.exception}` : "")],
      ["Time", "Level", "Camera", "Component", "Message"]);
    body.append(tr);
  }
}

async function archives() {
  const { ok, data } = await api("GET", "/api/v1/backup");
  const body = document.querySelector("#archives tbody");
  body.replaceChildren();
  if (!ok) { $("backup-result").textContent = data.error; return null; }
  const job = data.job || {};
  if (job.state === "running") $("backup-result").textContent = `making the backup… ${job.progress || ""}`;
  else if (job.state === "failed") $("backup-result").textContent = `the last backup failed: ${job.error}`;
  for (const a of data.archives) {
    const tr = document.createElement("tr");
    const link = document.createElement("a");
    link.href = `/api/v1/backup/${encodeURIComponent(a.name)}`;
    link.textContent = "Download";
    link.download = a.name;
    cells(tr, [a.name, size(a.bytes), formatWall(a.mtime * 1000, false), link], ["Archive", "Size", "Made", ""]);
    body.append(tr);
  }
  return job;
}

if (admin) {
  $("log-filter").addEventListener("submit", logs);
  $("backup-start").addEventListener("click", async () => {
    const { ok, status, data } = await api("POST", "/api/v1/backup", { with_recordings: $("with-recordings").checked });
    if (!ok && status !== 202) { $("backup-result").textContent = data.error; return; }
    $("backup-result").textContent = "making the backup…";
    for (;;) {
      await new Promise((r) => setTimeout(r, 1000));
      const job = await archives();
      if (!job || job.state !== "running") {
        if (job && job.state === "done") $("backup-result").textContent = "backup made: download it below";
        break;
      }
    }
  });
  logs();
  archives();
}
workers();
storage();
setInterval(() => { workers(); storage(); }, 5000);
