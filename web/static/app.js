// Shared by every page: JSON calls with the CSRF token, and event notifications (toasts) from
// the engine's events WebSocket.

const body = document.body;
export const csrf = body.dataset.csrf || "";

export async function api(method, path, payload) {
  const response = await fetch(path, {
    method,
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: payload === undefined ? undefined : JSON.stringify(payload),
    credentials: "same-origin",
  });
  let data = {};
  try { data = await response.json(); } catch { /* an empty or non-JSON answer */ }
  if (response.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); }
  return { ok: response.ok, status: response.status, data };
}

const names = JSON.parse(body.dataset.cameras || "{}");
const name = (id) => names[id] || id || "engine";
const KINDS = { not_recording: "Not recording", offline: "Offline", stalled: "Stalled",
  restart_loop: "Restarting", storage_low: "Storage low", motion: "Motion" };

// Notifications worth a toast: a new alarm, the engine lost or back, a storage warning.
// Recording and motion changes update the badges instead.
function title(event) {
  if (event.type === "alarm") {
    const a = event.alarm;
    if (!a || a.ended_ns || a.acked_ns || a.cleared_ns || a.count > 1) return null;
    return `${KINDS[a.kind] || a.kind} · ${name(a.camera_id)}: ${a.message}`;
  }
  if (event.type === "engine") {
    return event.state === "ok" ? "the engine answers again" : event.error;
  }
  if (event.type === "storage") return `storage: ${event.message}`;
  if (event.type === "missed") return "some events were missed: the page shows the current state";
  return null;
}

function toast(event) {
  const box = document.getElementById("toasts");
  const text = title(event);
  if (!box || !text) return;
  const item = document.createElement("div");
  const good = event.type === "engine" && event.state === "ok";
  item.className = "toast" + (good ? "" : " bad");
  item.textContent = text;
  item.dataset.type = event.type;
  box.prepend(item);
  while (box.children.length > 4) box.lastChild.remove();
  setTimeout(() => item.remove(), 8000);
}

// What the page shows is only as fresh as its last answer: when the server stops answering
// (or the session ended), say so and grey the badges instead of leaving them as they were.
const banner = document.getElementById("connection");
function stale(text) {
  body.classList.add("stale");
  if (banner) { banner.textContent = text; banner.hidden = false; }
}
function fresh() {
  body.classList.remove("stale");
  if (banner) banner.hidden = true;
}
body.addEventListener("htmx:responseError", (e) => {
  const status = e.detail.xhr.status;
  if (status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); return; }
  stale(`the web server answered ${status}: what is shown may be out of date`);
});
body.addEventListener("htmx:sendError", () => stale("the web server is not answering: what is shown is out of date"));
body.addEventListener("htmx:afterRequest", (e) => { if (e.detail.successful) fresh(); });

export const events = new EventTarget();

function listen(attempt = 0) {
  if (!csrf) return;
  const socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/v1/events`);
  socket.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (event.type === "hello") { attempt = 0; return; }
    if (event.type === "ping") return;
    if (event.type === "refresh" || event.type === "recording") {
      window.htmx.trigger(body, "nvr:refresh");  // the badges and figures, from the new state
    }
    events.dispatchEvent(new CustomEvent("event", { detail: event }));
    toast(event);
  };
  socket.onclose = (close) => {
    if (close.code === 1008) { location.href = "/login?next=" + encodeURIComponent(location.pathname); return; }
    setTimeout(() => listen(attempt + 1), Math.min(30000, 1000 * 2 ** attempt));
  };
}
listen();
window.nvrEvents = events;
