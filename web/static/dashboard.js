import { api } from "/static/app.js";

// The dashboard's snapshots: each tile loads its camera's newest picture every few seconds,
// swapping it in only once loaded (no flicker), and says so when there is none.

const EVERY_MS = 3000;

function refresh(tile) {
  const img = tile.querySelector("img");
  const none = tile.querySelector(".nopicture");
  const next = new Image();
  next.onload = () => {
    img.src = next.src;
    img.hidden = false;
    none.hidden = true;
    tile.dataset.loaded = String(Date.now());
  };
  next.onerror = () => { img.hidden = true; none.hidden = false; };
  next.src = `${img.dataset.snapshot}&t=${Date.now()}`;
}

const tiles = [...document.querySelectorAll(".snapshots .tile")];
function all() { if (!document.hidden) tiles.forEach(refresh); }
all();
setInterval(all, EVERY_MS);
document.addEventListener("visibilitychange", all);

// Alarms: acknowledge or clear one (operators); the summary then reloads with the new state.
document.body.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-alarm-action]");
  if (!button) return;
  const id = Number(button.closest("[data-alarm]").dataset.alarm);
  button.disabled = true;
  const result = await api("POST", "/api/v1/command", {
    command: button.dataset.alarmAction, camera_id: "*", params: { alarm_id: [id] },
  });
  if (!result.ok) alert(result.data.error || `failed (HTTP ${result.status})`);
  window.htmx.trigger("#summary", "refresh");
});

// Panic (operators who see every camera): record every camera until it is ended.
document.body.addEventListener("click", async (event) => {
  const button = event.target.closest("#panic");
  if (!button) return;
  const active = button.dataset.active !== "true";
  const question = active
    ? "Record every camera now, until panic is ended?"
    : "End panic? Cameras go back to their own recording modes.";
  if (!confirm(question)) return;
  button.disabled = true;
  const result = await api("POST", "/api/v1/command", { command: "panic", params: { active } });
  if (!result.ok) alert(result.data.error || `failed (HTTP ${result.status})`);
  window.htmx.trigger("#summary", "refresh");
});
