// The admin page: user and session changes through the JSON API, then the tables reload.

import { api } from "/static/app.js";

function refresh() { document.body.dispatchEvent(new Event("refresh")); }

function say(form, text, bad) {
  const out = form.querySelector(".form-result");
  out.textContent = text;
  out.classList.toggle("error", !!bad);
}

const add = document.getElementById("add-user");
add.addEventListener("submit", async (event) => {
  event.preventDefault();
  say(add, "");
  const f = new FormData(add);
  const cameras = (f.get("cameras") || "").trim();
  const result = await api("POST", "/api/v1/users", {
    name: f.get("name"), role: f.get("role"), password: f.get("password"),
    cameras: cameras && cameras !== "all" ? cameras.split(",").map((c) => c.trim()).filter(Boolean) : null,
  });
  if (result.ok) { add.reset(); say(add, `added ${result.data.user.name}`); refresh(); }
  else say(add, result.data.error || `failed (HTTP ${result.status})`, true);
});

document.getElementById("users").addEventListener("change", async (event) => {
  const select = event.target.closest("select[data-action=role]");
  if (!select) return;
  const name = select.closest("tr").dataset.user;
  if (!confirm(`Make ${name} ${select.value === "admin" ? "an" : "a"} ${select.value}? Their sessions end.`)) {
    refresh();
    return;
  }
  const result = await api("POST", `/api/v1/users/${encodeURIComponent(name)}`, { role: select.value });
  if (!result.ok) alert(result.data.error || `failed (HTTP ${result.status})`);
  refresh();
});

document.getElementById("users").addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const name = button.closest("tr").dataset.user;
  const path = `/api/v1/users/${encodeURIComponent(name)}`;
  let result;
  if (button.dataset.action === "remove") {
    if (!confirm(`Remove user ${name}? Their sessions end.`)) return;
    result = await api("DELETE", path);
  } else if (button.dataset.action === "password") {
    askPassword(name);
    return;
  } else if (button.dataset.action === "cameras") {
    askCameras(name, button.dataset.cameras);
    return;
  } else {
    result = await api("POST", path, { disabled: button.dataset.action === "disable" });
  }
  if (!result.ok) alert(result.data.error || `failed (HTTP ${result.status})`);
  refresh();
});

document.getElementById("sessions").addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-action=revoke]");
  if (!button) return;
  const id = button.closest("tr").dataset.session;
  const result = await api("DELETE", `/api/v1/sessions/${id}`);
  if (!result.ok) alert(result.data.error || `failed (HTTP ${result.status})`);
  refresh();
});

const filter = document.getElementById("audit-filter");
const csv = document.getElementById("audit-csv");
function csvLink() {
  const params = new URLSearchParams();
  for (const [key, value] of new FormData(filter)) if (value) params.set(key, value);
  params.set("limit", "10000"); // the download holds every matching row, not the page's
  csv.href = `/api/v1/audit.csv?${params}`;
}
filter.addEventListener("input", csvLink);
csvLink();

// A new password: typed twice in a dialog (never shown), sent once they match.
const dialog = document.getElementById("password-dialog");
const passwordForm = document.getElementById("password-form");
function askPassword(name) {
  passwordForm.reset();
  say(passwordForm, "");
  dialog.dataset.user = name;
  dialog.querySelector(".dialog-user").textContent = name;
  dialog.showModal();
}
document.getElementById("password-cancel").addEventListener("click", () => dialog.close());
passwordForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const f = new FormData(passwordForm);
  if (f.get("password") !== f.get("again")) { say(passwordForm, "the two passwords differ", true); return; }
  const name = dialog.dataset.user;
  const result = await api("POST", `/api/v1/users/${encodeURIComponent(name)}`, { password: f.get("password") });
  if (!result.ok) { say(passwordForm, result.data.error || `failed (HTTP ${result.status})`, true); return; }
  dialog.close();
  refresh();
});

// A user's cameras: a list of ids, or none for every camera.
const camerasDialog = document.getElementById("cameras-dialog");
const camerasForm = document.getElementById("cameras-form");
function askCameras(name, current) {
  say(camerasForm, "");
  camerasDialog.dataset.user = name;
  camerasDialog.querySelector(".dialog-user").textContent = name;
  camerasForm.elements.cameras.value = current;
  camerasDialog.showModal();
}
document.getElementById("cameras-cancel").addEventListener("click", () => camerasDialog.close());
camerasForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = camerasForm.elements.cameras.value.trim();
  const cameras = text && text !== "all" ? text.split(",").map((c) => c.trim()).filter(Boolean) : null;
  const name = camerasDialog.dataset.user;
  const result = await api("POST", `/api/v1/users/${encodeURIComponent(name)}`, { cameras });
  if (!result.ok) { say(camerasForm, result.data.error || `failed (HTTP ${result.status})`, true); return; }
  camerasDialog.close();
  refresh();
});
