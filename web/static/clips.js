// Downloads and share links from the playback page (operators and admins): mark a range on the
// clock and download it (streamed at once from the recordings; a range over a change of picture
// size is made by the engine as a job instead: progress shown, one file per size, fetched when
// made), or make a share link for the range or for an event. The table lists the user's clips
// (the jobs) and links.
import { api } from "/static/app.js";
import { player } from "/static/playback.js";
import { formatWall } from "/static/time.js";

const $ = (id) => document.getElementById(id);
const ns = (ms) => String(Math.round(ms * 1e6));
const range = { start: null, end: null };
const me = document.body.dataset.user;
function what(kind, item) {
  const text = kind === "clip" ? "Clip"
    : `Link${item.download ? " (download)" : ""}${item.note ? `: ${item.note}` : ""}`;
  const owner = kind === "clip" ? item.user : item.created_by;
  return owner && owner !== me ? `${text} · by ${owner}` : text; // an admin sees everyone's
}
function span(startNs, endNs) {
  const a = formatWall(startNs / 1e6, false), b = formatWall(endNs / 1e6, false);
  return `${a} – ${a.slice(0, 10) === b.slice(0, 10) ? b.slice(11) : b}`;
}
const status = (text, bad = false) => {
  $("clip-status").textContent = text;
  $("clip-status").classList.toggle("error", bad);
};

function marked() {
  const ok = range.start !== null && range.end !== null && range.end > range.start;
  $("download").disabled = !ok;
  $("share").disabled = !ok;
  player.setRange(ok ? { start: range.start, end: range.end } : null);
  if (ok) {
    const span = (range.end - range.start) / 1000, short = span < 10;  // short: to the ms
    const seconds = short ? Math.round(span * 10) / 10 : Math.round(span);
    $("range-text").textContent = `${formatWall(range.start, short)} to ${formatWall(range.end, short)} (${seconds} s)`;
  } else if (range.start !== null && range.end !== null) {
    $("range-text").textContent = "the end must come after the start";
  }
}

$("mark-in").addEventListener("click", () => { range.start = player.wallMs(); marked(); });
$("mark-out").addEventListener("click", () => { range.end = player.wallMs(); marked(); });

// -- downloads ------------------------------------------------------------------------------------

async function follow(job) {
  for (;;) {
    const { ok, data } = await api("GET", `/api/v1/exports/${encodeURIComponent(job.id)}`);
    if (!ok) { status(data.error || "the clip cannot be followed", true); return; }
    if (data.state === "done") {
      status(`${player.name(data.camera_id)}: clip ready, downloading`);
      for (const file of data.files) save(file.url);
      listClips();
      return;
    }
    if (data.state === "failed") { status(`the clip failed: ${data.error}`, true); listClips(); return; }
    status(`${player.name(data.camera_id)}: making the clip… ${Math.round(100 * data.progress)}%`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function save(url) {
  const link = document.createElement("a");
  link.href = url;
  link.download = "";
  document.body.append(link);
  link.click();
  link.remove();
}

async function asJob(camera) {
  const { ok, data } = await api("POST", "/api/v1/exports",
    { camera_id: camera, start_ns: Number(ns(range.start)), end_ns: Number(ns(range.end)) });
  if (!ok) { status(`${player.name(camera)}: ${data.error}`, true); return; }
  follow(data);
}

// One line per camera: a page of several cameras says what became of each.
async function download(camera) {
  const url = `/api/v1/recordings/${encodeURIComponent(camera)}/clip.mp4`
    + `?start_ns=${ns(range.start)}&end_ns=${ns(range.end)}`;
  const reply = await fetch(url, { method: "HEAD", credentials: "same-origin" });
  if (reply.ok) {
    save(url);
    const from = Number(reply.headers.get("X-Clip-Start-Ns")) / 1e6;
    const to = Number(reply.headers.get("X-Clip-End-Ns")) / 1e6;
    const missing = [];
    if (from - range.start > 1000) missing.push(`starts at ${formatWall(from, false)}`);
    if (range.end - to > 1000) missing.push(`ends at ${formatWall(to, false)}: nothing after it is recorded yet or was recorded`);
    return { text: `downloading (see the browser's downloads)${missing.length ? `; it ${missing.join(", ")}` : ""}`, bad: false };
  }
  if (reply.status === 409 || reply.status === 400) {  // a size change, or too long to stream
    const why = reply.status === 409 ? "the picture changes within the range" : "the range is too long to stream";
    return { text: `${why}: the engine makes the clip, see below…`, bad: false, job: true };
  }
  const { data } = await api("GET", url);  // the reason, as JSON
  return { text: data.error || `cannot download (HTTP ${reply.status})`, bad: true };
}

$("download").addEventListener("click", async () => {
  const lines = [];
  for (const camera of player.cameras()) {
    const said = await download(camera);
    lines.push({ text: `${player.name(camera)}: ${said.text}`, bad: said.bad });
    status(lines.map((l) => l.text).join("\n"), lines.some((l) => l.bad));
    if (said.job) asJob(camera);
  }
});

// -- share links ----------------------------------------------------------------------------------

const dialog = $("share-dialog");
let shareTarget = null;

function openShare(target, what) {
  shareTarget = target;
  const form = $("share-form");
  form.hours.value = "24"; // every link starts from the safe choices, not the last link's
  form.download.checked = false;
  form.note.value = "";
  $("share-what").textContent = what;
  $("share-error").textContent = "";
  $("share-url-label").hidden = true;
  $("share-copy").hidden = true;
  $("share-create").hidden = false;
  dialog.showModal();
}

$("share").addEventListener("click", () => {
  const camera = player.cameras()[0];
  openShare({ camera_id: camera, start_ns: Number(ns(range.start)), end_ns: Number(ns(range.end)) },
    `${player.name(camera)}, ${formatWall(range.start, false)} to ${formatWall(range.end, false)}`);
});

$("share-create").addEventListener("click", async () => {
  const form = $("share-form");
  const body = { ...shareTarget, expires_hours: Number(form.hours.value),
    download: form.download.checked, note: form.note.value };
  $("share-create").disabled = true;
  const { ok, data } = await api("POST", "/api/v1/shares", body);
  $("share-create").disabled = false;
  if (!ok) { $("share-error").textContent = data.error; return; }
  $("share-url").value = data.url;
  $("share-url-label").hidden = false;
  $("share-copy").hidden = false;
  $("share-create").hidden = true;
  listClips();
});

$("share-copy").addEventListener("click", async () => {
  $("share-url").select();
  try { await navigator.clipboard.writeText($("share-url").value); $("share-copy").textContent = "Copied"; }
  catch { document.execCommand("copy"); }
});

// A share button beside each motion event of the list.
$("event-list").addEventListener("nvr:listed", () => {
  for (const item of document.querySelectorAll("#event-list li[data-event-id]")) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "share-event";
    button.textContent = "Share";
    const text = item.querySelector("button.event").innerText.replace(/\s+/g, " ");
    button.addEventListener("click", () => openShare({ event_id: Number(item.dataset.eventId) }, `event: ${text}`));
    item.append(button);
  }
});

// -- the table of clips and links ----------------------------------------------------------------

async function listClips() {
  const [clips, links] = await Promise.all([api("GET", "/api/v1/exports"), api("GET", "/api/v1/shares")]);
  const body = document.querySelector("#clip-table tbody");
  body.replaceChildren();
  const rows = [];
  for (const c of clips.ok ? clips.data.exports : []) rows.push({ kind: "clip", at: c.created_ns, item: c });
  for (const s of links.ok ? links.data.shares : []) rows.push({ kind: "link", at: s.created_ns, item: s });
  rows.sort((a, b) => b.at - a.at);
  for (const { kind, item } of rows.slice(0, 50)) {
    const tr = document.createElement("tr");
    const cells = [
      what(kind, item),
      player.name(item.camera_id),
      span(item.start_ns, item.end_ns),
      kind === "clip" ? item.state : `${item.state}, ${item.views} view${item.views === 1 ? "" : "s"}, until ${formatWall(item.expires_ns / 1e6, false)}`,
    ];
    const labels = ["What", "Camera", "Recorded", "State"];
    cells.forEach((text, i) => {
      const td = document.createElement("td");
      td.textContent = text;
      td.dataset.label = labels[i];
      tr.append(td);
    });
    const actions = document.createElement("td");
    actions.className = "actions";
    if (kind === "clip" && item.state === "done") {
      for (const file of item.files) {
        const a = document.createElement("a");
        a.href = file.url;
        a.textContent = "Download";
        a.download = "";
        actions.append(a);
      }
    }
    if (kind === "link" && item.state === "active") {
      const revoke = document.createElement("button");
      revoke.type = "button";
      revoke.className = "danger";
      revoke.textContent = "Revoke";
      revoke.addEventListener("click", async () => {
        if (!confirm(`Revoke this link to ${player.name(item.camera_id)}? Whoever has it can no longer watch.`)) return;
        const { ok, data } = await api("DELETE", `/api/v1/shares/${item.id}`);
        status(ok ? "link revoked: it now answers that it was revoked" : data.error, !ok);
        listClips();
      });
      actions.append(revoke);
    }
    tr.dataset.kind = kind;
    tr.append(actions);
    body.append(tr);
  }
}

listClips();
