// A shared clip: its times in the visitor's own time zone, said, and the wall-clock time of the
// picture shown under the player.
import { formatWall } from "/static/time.js";

const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";
for (const item of document.querySelectorAll("time[data-ns]")) {
  item.textContent = `${formatWall(Number(item.dataset.ns) / 1e6, false)} (${zone})`;
}
const video = document.getElementById("shared");
const clock = document.getElementById("share-clock");
if (video && clock) {
  const startMs = Number(video.dataset.startNs) / 1e6;
  const show = () => {
    const at = startMs + video.currentTime * 1000;
    clock.textContent = `${formatWall(at)} (${zone})`;
    clock.dataset.wallNs = String(Math.round(at * 1e6));
  };
  for (const name of ["timeupdate", "seeked", "loadedmetadata"]) video.addEventListener(name, show);
  if (video.readyState >= 1) show(); // its metadata may have come before this script ran
}
