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

const TITLES = {
  alarm: (e) => e.alarm ? `${e.alarm.camera_id || "engine"}: ${e.alarm.message}` : "alarm",
  camera: (e) => `${e.camera_id}: ${e.state}`,
  motion: (e) => `${e.camera_id}: motion ${e.state === "start" ? "started" : "ended"}`,
  recording: (e) => `${e.camera_id}: recording ${e.state}${e.reason ? " (" + e.reason + ")" : ""}`,
  storage: (e) => `storage: ${e.message}`,
  engine: (e) => e.state === "ok" ? "engine answering again" : `engine unreachable: ${e.error}`,
  missed: () => "some events were missed: the page shows the current state",
};

function toast(event) {
  const box = document.getElementById("toasts");
  if (!box || !TITLES[event.type]) return;
  if (event.type === "motion" && event.state === "end") return;
  const item = document.createElement("div");
  const bad = event.type === "engine" && event.state !== "ok" || event.type === "storage"
    || (event.type === "alarm" && event.alarm && !event.alarm.ended_ns && !event.alarm.cleared_ns);
  item.className = "toast" + (bad ? " bad" : "");
  item.textContent = TITLES[event.type](event);
  item.dataset.type = event.type;
  box.prepend(item);
  while (box.children.length > 5) box.lastChild.remove();
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
