// A shared clip: the wall-clock time of the picture shown, under the player.
import { formatWall } from "/static/time.js";

const video = document.getElementById("shared");
const clock = document.getElementById("share-clock");
if (video && clock) {
  const startMs = Number(video.dataset.startNs) / 1e6;
  const show = () => {
    const at = startMs + video.currentTime * 1000;
    clock.textContent = formatWall(at);
    clock.dataset.wallNs = String(Math.round(at * 1e6));
  };
  for (const name of ["timeupdate", "seeked", "loadedmetadata"]) video.addEventListener(name, show);
  if (video.readyState >= 1) show(); // its metadata may have come before this script ran
}
