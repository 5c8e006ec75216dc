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
