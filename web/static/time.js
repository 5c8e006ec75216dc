// Wall-clock times as the pages show them: the browser's local time, to the millisecond.
const pad = (n, w = 2) => String(n).padStart(w, "0");

export function formatWall(ms, withMs = true) {
  const d = new Date(ms);
  const text = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return withMs ? `${text}.${pad(d.getMilliseconds(), 3)}` : text;
}
