// A camera alone, for operators: manual recording on and off, and PTZ (a held pad button moves
// the camera, renewed every 0.5 s; releasing it stops; presets). Every label comes from the
// engine's state, read again after each command and on every change the events announce.

import { api, events } from "/static/app.js";

const box = document.getElementById("controls");
const camera = box.dataset.camera;
const record = document.getElementById("record");
const ptz = document.getElementById("ptz");
const presets = document.getElementById("presets");
const result = box.querySelector(".control-result");
let manual = null;

function say(text, bad) {
  result.textContent = text;
  result.classList.toggle("error", !!bad);
}

async function command(name, params) {
  const reply = await api("POST", "/api/v1/command", { command: name, camera_id: camera, params });
  if (!reply.ok) say(reply.data.error || `${name} failed (HTTP ${reply.status})`, true);
  return reply;
}

async function refresh() {
  const reply = await api("GET", "/api/v1/cameras");
  const cam = reply.ok ? reply.data.cameras.find((c) => c.id === camera) : null;
  if (!cam || reply.data.engine !== "ok") {
    record.disabled = true;
    record.textContent = "Recording: not known";
    return;
  }
  manual = !!cam.manual;
  record.disabled = false;
  record.textContent = manual ? "Stop manual recording" : "Start manual recording";
  record.setAttribute("aria-pressed", String(manual));
  ptz.hidden = !cam.ptz;
  if (cam.ptz) {
    box.querySelectorAll(".zoom").forEach((b) => { b.hidden = !cam.ptz.zoom; });
    const names = cam.ptz.presets;
    if ([...presets.options].map((o) => o.value).join("\n") !== names.join("\n")) {
      presets.replaceChildren(...names.map((n) => new Option(n, n)));
    }
    document.getElementById("goto").disabled = !names.length;
    if (!cam.ptz.reachable) say(`PTZ: ${cam.ptz.error || "the camera does not answer"}`, true);
  }
}

record.addEventListener("click", async () => {
  record.disabled = true;
  const reply = await command(manual ? "stop_recording" : "start_recording", {});
  if (reply.ok) say(manual ? "manual recording stopped" : "recording");
  await refresh();
});

let held = null;
async function move(button) {
  const [pan, tilt, zoom] = button.dataset.move.split(",").map(Number);
  await command("ptz_move", { pan: pan * 0.5, tilt: tilt * 0.5, zoom: zoom * 0.5, timeout_s: 1 });
}
function release() {
  if (!held) return;
  clearInterval(held);
  held = null;
  command("ptz_stop", {});
}
box.querySelectorAll("[data-move]").forEach((button) => {
  button.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    release();
    move(button);
    held = setInterval(() => move(button), 500);
  });
  for (const name of ["pointerup", "pointerleave", "pointercancel"]) button.addEventListener(name, release);
});
window.addEventListener("blur", release);
document.getElementById("goto").addEventListener("click", async () => {
  if (presets.value) {
    const reply = await command("ptz_goto_preset", { name: presets.value });
    if (reply.ok) say(`going to ${presets.value}`);
  }
});

events.addEventListener("event", (e) => { if (["refresh", "recording"].includes(e.detail.type)) refresh(); });
refresh();
setInterval(refresh, 5000);
