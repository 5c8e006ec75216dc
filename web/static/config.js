// The configuration editor (admins): a form per camera and one for storage, built from the
// configuration in force. Saving sends only what changed, as edits to the YAML text (the engine
// keeps its comments), with the text's SHA-256: a save over someone else's newer one is refused.
import { api } from "/static/app.js";
import { formatWall } from "/static/time.js";

const $ = (id) => document.getElementById(id);
const SIZE_HINT = 'bytes, or "200GB"';
const CAMERA = [
  { section: "Camera" },
  { path: ["name"], label: "Name", type: "text", nullable: true },
  { path: ["enabled"], label: "Enabled", type: "bool" },
  { section: "Streams" },
  { path: ["main"], label: "Main stream (recorded)", type: "url", test: "main" },
  { path: ["sub"], label: "Sub stream (motion, grids)", type: "url", nullable: true, test: "sub" },
  { path: ["transport"], label: "RTSP transport", type: "select", options: ["tcp", "udp"] },
  { path: ["timeout_s"], label: "Timeout, s", type: "number" },
  { section: "Recording" },
  { path: ["record", "mode"], label: "Mode", type: "select", options: ["continuous", "motion", "scheduled", "off"] },
  { path: ["record", "segment_s"], label: "Segment length, s", type: "number" },
  { path: ["record", "pre_roll_s"], label: "Pre-roll, s", type: "number" },
  { path: ["record", "post_roll_s"], label: "Post-roll, s", type: "number" },
  { path: ["record", "schedule"], label: "Schedule (mode scheduled)", type: "schedule" },
  { section: "Motion" },
  { path: ["motion", "enabled"], label: "Detect motion", type: "bool" },
  { path: ["motion", "threshold"], label: "Threshold, 1..255", type: "number" },
  { path: ["motion", "min_area"], label: "Minimum area, 0..1", type: "number" },
  { path: ["motion", "start_frames"], label: "Frames to start an event", type: "number" },
  { path: ["motion", "end_s"], label: "Seconds still to end it", type: "number" },
  { path: ["alarms", "motion"], label: "Alarm on motion", type: "bool" },
  { section: "Retention" },
  { path: ["retention", "max_days"], label: "Keep days (empty: no limit)", type: "number", nullable: true },
  { path: ["retention", "max_bytes"], label: `Byte budget (${SIZE_HINT})`, type: "size", nullable: true },
  ...["continuous", "motion", "scheduled", "manual", "panic"].map((t) => (
    { path: ["retention", "per_type_days", t], label: `Keep ${t}, days`, type: "number", nullable: true })),
];
const STORAGE = [
  { section: "Storage" },
  { path: ["max_bytes"], label: `Byte budget for every camera (${SIZE_HINT})`, type: "size", nullable: true },
  { path: ["min_free_bytes"], label: `Free space to keep (${SIZE_HINT})`, type: "size" },
  { path: ["retention_check_s"], label: "Retention check every, s", type: "number" },
];
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

let doc = null; // the configuration in force, as last read
let target = null; // { kind: "camera"|"storage"|"new", id }
let zones = []; // the edited camera's zones (lists of [x, y] from 0 to 1)
let drawing = [];

const get = (obj, path) => path.reduce((o, k) => (o == null ? undefined : o[k]), obj);
const say = (text, bad = false) => { $("config-result").textContent = text; $("config-result").classList.toggle("error", bad); };

async function load(keep) {
  const { ok, data } = await api("GET", "/api/v1/config");
  if (!ok) { say(data.error || "the configuration cannot be read", true); return; }
  doc = data;
  $("config-version").textContent = data.version ? `In force: version ${data.version}` : "";
  const list = $("config-targets");
  list.replaceChildren();
  const add = (label, t) => {
    const li = document.createElement("li");
    const a = document.createElement("button");
    a.type = "button";
    a.className = "link";
    a.textContent = label;
    a.dataset.target = t.kind === "camera" ? t.id : t.kind;
    a.addEventListener("click", () => open(t));
    li.append(a);
    list.append(li);
  };
  for (const cam of doc.config.cameras) add(cam.name ? `${cam.name} (${cam.id})` : cam.id, { kind: "camera", id: cam.id });
  add("Storage", { kind: "storage" });
  const still = keep && (keep.kind !== "camera" || doc.config.cameras.some((c) => c.id === keep.id));
  open(still ? keep : doc.config.cameras.length ? { kind: "camera", id: doc.config.cameras[0].id } : { kind: "storage" });
  history();
}

function current() {
  if (target.kind === "storage") return doc.config.storage;
  if (target.kind === "new") return { transport: "tcp", timeout_s: 10, enabled: true, record: { mode: "continuous", segment_s: 60, pre_roll_s: 5, post_roll_s: 10, schedule: [] },
    motion: { enabled: true, threshold: 25, min_area: 0.003, start_frames: 2, end_s: 2, zones: [] }, alarms: { motion: false },
    retention: { per_type_days: {} } };
  return doc.config.cameras.find((c) => c.id === target.id);
}

function open(t) {
  target = t;
  say("");
  for (const b of document.querySelectorAll("#config-targets button")) {
    b.toggleAttribute("aria-current", b.dataset.target === (t.kind === "camera" ? t.id : t.kind));
  }
  const fields = $("config-fields");
  fields.replaceChildren();
  const values = current();
  const spec = t.kind === "storage" ? STORAGE : CAMERA;
  if (t.kind === "new") {
    fields.append(heading("New camera"), input({ path: ["id"], label: "Id (letters, digits, - and _)", type: "text" }, ""));
  } else if (t.kind === "camera") {
    fields.append(heading(`Camera ${t.id}`));
  }
  for (const field of spec) {
    if (field.section) { fields.append(heading(field.section, "h3")); continue; }
    fields.append(input(field, get(values, field.path)));
  }
  $("config-remove").hidden = t.kind !== "camera";
  $("zones").hidden = t.kind === "storage";
  zones = JSON.parse(JSON.stringify(get(values, ["motion", "zones"]) || []));
  drawing = [];
  if (t.kind === "camera") {
    const picture = $("zone-picture");
    picture.onload = drawZones;
    picture.src = `/api/v1/cameras/${encodeURIComponent(t.id)}/snapshot.jpg?width=640&t=${Date.now()}`;
  }
  drawZones();
}

function heading(text, tag = "h2") { const h = document.createElement(tag); h.textContent = text; return h; }

function input(field, value) {
  const label = document.createElement("label");
  label.className = `field field-${field.type}`;
  label.dataset.key = field.path.join(".");
  const caption = document.createElement("span");
  caption.textContent = field.label;
  label.append(caption);
  let control;
  if (field.type === "bool") {
    control = document.createElement("input");
    control.type = "checkbox";
    control.checked = !!value;
    label.classList.add("check");
  } else if (field.type === "select") {
    control = document.createElement("select");
    for (const option of field.options) control.add(new Option(option, option, false, option === value));
  } else if (field.type === "schedule") {
    control = schedule(value || []);
  } else {
    control = document.createElement("input");
    control.type = field.type === "number" ? "text" : "text";
    control.inputMode = field.type === "number" ? "decimal" : "text";
    if (field.type === "url") {
      control.placeholder = value ? `${value} (type a new URL to change it)` : "rtsp://user:password@host/path";
      control.value = "";
    } else {
      control.value = value === null || value === undefined ? "" : String(value);
    }
  }
  control.name = field.path.join(".");
  control.dataset.path = JSON.stringify(field.path);
  control.dataset.type = field.type;
  if (field.nullable) control.dataset.nullable = "1";
  label.append(control);
  if (field.test) {
    const test = document.createElement("button");
    test.type = "button";
    test.textContent = "Test connection";
    const result = document.createElement("span");
    result.className = "probe-result";
    result.setAttribute("role", "status");
    test.addEventListener("click", () => probe(field.test, control.value.trim(), result));
    label.append(test, result);
  }
  return label;
}

function schedule(windows) {
  const box = document.createElement("div");
  box.className = "schedule";
  const addRow = (w) => {
    const row = document.createElement("div");
    row.className = "window";
    for (const day of DAYS) {
      const tag = document.createElement("label");
      tag.className = "check day";
      const box2 = document.createElement("input");
      box2.type = "checkbox";
      box2.value = day;
      box2.checked = (w.days || DAYS).includes(day);
      tag.append(box2, day);
      row.append(tag);
    }
    for (const [key, fallback] of [["start", "00:00"], ["end", "24:00"]]) {
      const time = document.createElement("input");
      time.className = `time ${key}`;
      time.value = w[key] || fallback;
      time.size = 5;
      time.setAttribute("aria-label", key);
      row.append(time);
    }
    const drop = document.createElement("button");
    drop.type = "button";
    drop.textContent = "Remove";
    drop.addEventListener("click", () => row.remove());
    row.append(drop);
    box.insertBefore(row, more);
  };
  const more = document.createElement("button");
  more.type = "button";
  more.textContent = "Add a window";
  more.addEventListener("click", () => addRow({}));
  box.append(more);
  for (const w of windows) addRow(w);
  return box;
}

function readSchedule(box) {
  return [...box.querySelectorAll(".window")].map((row) => ({
    days: [...row.querySelectorAll(".day input:checked")].map((b) => b.value),
    start: row.querySelector(".start").value.trim(),
    end: row.querySelector(".end").value.trim(),
  }));
}

function readValue(control) {
  const type = control.dataset.type;
  if (type === "bool") return control.checked;
  if (type === "schedule") return readSchedule(control);
  const text = control.value.trim();
  if (text === "" && control.dataset.nullable) return null;
  if (type === "number") return text !== "" && Number.isFinite(Number(text)) ? Number(text) : text;
  if (type === "size") return /^\d+$/.test(text) ? Number(text) : text;
  return text;
}

// Only what changed becomes an edit; an untouched URL field keeps the URL in the file.
function edits() {
  const values = current();
  const out = [];
  const prefix = target.kind === "storage" ? ["storage"] : ["cameras", target.id];
  if (target.kind === "new") {
    const camera = {};
    for (const control of document.querySelectorAll("#config-fields [data-path]")) {
      const path = JSON.parse(control.dataset.path);
      const value = readValue(control);
      if (value === null || value === "" || (Array.isArray(value) && !value.length)) continue;
      let node = camera;
      for (const key of path.slice(0, -1)) node = node[key] = node[key] || {};
      node[path[path.length - 1]] = value;
    }
    if (zones.length) camera.motion = { ...(camera.motion || {}), zones };
    if (camera.id && doc.config.cameras.some((c) => c.id === camera.id)) {
      say(`not saved: a camera ${camera.id} exists already: pick another id`, true);
      return null;
    }
    return camera.id ? [{ path: ["cameras", camera.id], value: camera }] : [];
  }
  for (const control of document.querySelectorAll("#config-fields [data-path]")) {
    const path = JSON.parse(control.dataset.path);
    const value = readValue(control);
    if (control.dataset.type === "url" && value === "") continue;
    if (control.dataset.type === "url" && value === null) continue;
    const before = get(values, path);
    if (JSON.stringify(value) !== JSON.stringify(before ?? null)) out.push({ path: [...prefix, ...path], value });
  }
  if (target.kind === "camera" && JSON.stringify(zones) !== JSON.stringify(get(values, ["motion", "zones"]) || [])) {
    out.push({ path: [...prefix, "motion", "zones"], value: zones });
  }
  return out;
}

async function save(list, note) {
  if (list === null) return; // refused here, and said
  if (!list.length) { say("nothing changed"); return; }
  $("config-save").disabled = true;
  say("saving and applying…");
  const { ok, status, data } = await api("POST", "/api/v1/command",
    { command: "save_config", params: { edits: list, base_sha256: doc.sha256, note } });
  $("config-save").disabled = false;
  if (status === 409) {
    say(`not saved: ${data.error}. Your changes are still in the form: reload to see the new version, then make them again.`, true);
    return;
  }
  if (!ok && status !== 202) { say(`not saved: ${data.error || data.detail || status}`, true); return; }
  const keep = target.kind === "new" ? { kind: "camera", id: list[0].path[1] } : target;
  await load(keep);
  say(`saved as version ${doc.version} and in force`);
}

$("config-form").addEventListener("submit", (e) => {
  e.preventDefault();
  save(edits(), e.target.note.value);
});
$("add-camera").addEventListener("click", () => open({ kind: "new" }));
$("config-remove").addEventListener("click", () => {
  if (!confirm(`Remove camera ${target.id} from the configuration? Its recordings stay.`)) return;
  save([{ path: ["cameras", target.id], delete: true }], `removed camera ${target.id}`);
});

async function probe(stream, url, result) {
  if (target.kind === "new" && !url) { result.textContent = "type the stream's URL first"; return; }
  result.textContent = "testing…";
  const body = url ? { url } : { camera_id: target.id, stream };
  const { ok, data } = await api("POST", "/api/v1/probe", body);
  if (!ok) { result.textContent = data.error; result.className = "probe-result error"; return; }
  result.className = `probe-result ${data.ok ? "" : "error"}`;
  result.textContent = data.ok ? `${data.codec} ${data.width}×${data.height}${data.fps ? `, ${data.fps} fps` : ""}` : data.error;
}

// -- zones drawn on the camera's picture ----------------------------------------------------------

const canvas = $("zone-canvas");
function drawZones() {
  const picture = $("zone-picture");
  const w = picture.clientWidth || 640, h = picture.clientHeight || 360;
  canvas.width = w;
  canvas.height = h;
  const g = canvas.getContext("2d");
  g.clearRect(0, 0, w, h);
  const path = (points, closed) => {
    g.beginPath();
    points.forEach(([x, y], i) => (i ? g.lineTo(x * w, y * h) : g.moveTo(x * w, y * h)));
    if (closed) g.closePath();
  };
  g.lineWidth = 2;
  for (const zone of zones) {
    path(zone, true);
    g.fillStyle = "rgba(255, 140, 0, 0.25)";
    g.fill();
    g.strokeStyle = "#ff8c00";
    g.stroke();
  }
  if (drawing.length) {
    path(drawing, false);
    g.strokeStyle = "#409cff";
    g.stroke();
    for (const [x, y] of drawing) { g.fillStyle = "#409cff"; g.fillRect(x * w - 3, y * h - 3, 6, 6); }
  }
  $("zones").dataset.count = String(zones.length);
}
canvas.addEventListener("click", (e) => {
  const x = Math.min(1, Math.max(0, e.offsetX / canvas.clientWidth));
  const y = Math.min(1, Math.max(0, e.offsetY / canvas.clientHeight));
  drawing.push([Math.round(x * 1000) / 1000, Math.round(y * 1000) / 1000]);
  drawZones();
});
$("zone-finish").addEventListener("click", () => {
  if (drawing.length < 3) { say("a zone needs at least three corners", true); return; }
  zones.push(drawing);
  drawing = [];
  drawZones();
});
$("zone-undo").addEventListener("click", () => { drawing.pop(); drawZones(); });
$("zone-clear").addEventListener("click", () => { zones = []; drawing = []; drawZones(); });
window.addEventListener("resize", drawZones);

// -- history ----------------------------------------------------------------------------------------

async function history() {
  const { ok, data } = await api("GET", "/api/v1/config/history");
  const body = document.querySelector("#history-table tbody");
  body.replaceChildren();
  if (!ok) return;
  for (const v of data.versions) {
    const tr = document.createElement("tr");
    for (const [label, text] of [["Version", String(v.version)], ["Saved", formatWall(v.saved_ns / 1e6, false)],
      ["By", v.saved_by], ["Note", v.note]]) {
      const td = document.createElement("td");
      td.textContent = text;
      td.dataset.label = label;
      tr.append(td);
    }
    const actions = document.createElement("td");
    actions.className = "actions";
    if (v.version > 1) {
      const show = document.createElement("button");
      show.type = "button";
      show.textContent = "Changes";
      show.addEventListener("click", async () => {
        const reply = await api("GET", `/api/v1/config/diff?from=${v.version - 1}&to=${v.version}`);
        $("diff").hidden = false;
        $("diff").textContent = reply.ok ? reply.data.diff || "(no change in the text)" : reply.data.error;
        $("diff").scrollIntoView({ block: "nearest" });
      });
      actions.append(show);
    }
    if (v.version !== doc.version) {
      const back = document.createElement("button");
      back.type = "button";
      back.textContent = "Put back";
      back.addEventListener("click", async () => {
        if (!confirm(`Put version ${v.version} back in force (as a new version)?`)) return;
        const reply = await api("POST", "/api/v1/command",
          { command: "revert_config", params: { version: v.version, base_sha256: doc.sha256 } });
        if (!reply.ok && reply.status !== 202) { say(`not put back: ${reply.data.error}`, true); return; }
        await load(target);
        say(`version ${v.version} is in force again, as version ${doc.version}`);
      });
      actions.append(back);
    }
    tr.append(actions);
    body.append(tr);
  }
}

load(null);
