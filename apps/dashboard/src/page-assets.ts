/**
 * The inspector's only stylesheet and script, served by the dashboard itself (no CDN: the pages
 * work without internet). Kept as strings so that the bundled image carries them without files.
 */
export const PAGE_STYLE = `
:root { font-family: system-ui, "Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif; color: #1b1b1b; }
body { margin: 0; }
header { background: #22313f; color: #fff; padding: .6rem 1rem; display: flex; gap: 1.2rem; align-items: baseline; flex-wrap: wrap; }
header a { color: #fff; }
header strong { font-size: 1.1rem; }
main { padding: 1rem; max-width: 1200px; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
th, td { border-bottom: 1px solid #ddd; padding: .35rem .5rem; text-align: left; vertical-align: top; }
th { background: #f3f4f6; }
pre { background: #f6f8fa; padding: .6rem; overflow: auto; white-space: pre-wrap; word-break: break-word; max-height: 24rem; }
form.filters { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; }
form.filters label { display: flex; flex-direction: column; font-size: .85rem; }
.badge { display: inline-block; border: 1px solid; border-radius: .3rem; padding: 0 .35rem; margin: 0 .25rem .15rem 0; font-size: .85rem; white-space: nowrap; }
.badge-delivered { color: #0b6b2a; background: #e7f6ec; }
.badge-failed { color: #a0141e; background: #fdeaea; }
.badge-retrying, .badge-rate_limited { color: #8a5300; background: #fff4e0; }
.badge-filtered, .badge-none { color: #555; background: #f1f1f1; }
.badge-waiting, .badge-queued, .badge-paused { color: #1d4f91; background: #e8f0fb; }
.reason, .muted { color: #555; font-size: .85rem; }
.timeline li { margin: .2rem 0; }
.destination { border: 1px solid #ddd; border-radius: .4rem; padding: .5rem .8rem; margin: .8rem 0; }
.actions button, button.action { margin: .2rem .4rem .2rem 0; }
#message { font-weight: bold; }
.tabs a { margin-right: .8rem; }
`;

export const PAGE_SCRIPT = `
"use strict";
// Times: the viewer's local time; the UTC one stays in the tooltip.
for (const t of document.querySelectorAll("time[datetime]")) {
  const d = new Date(t.getAttribute("datetime"));
  if (!isNaN(d)) t.textContent = d.toLocaleString();
}
const say = (text) => { const m = document.getElementById("message"); if (m) m.textContent = text; };
// Every POST says it comes from a page (X-Relay-Request): a cross-site form cannot send that header.
async function post(url, body) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-relay-request": "1" },
    body: JSON.stringify(body || {}),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error || res.status + " " + res.statusText);
  return data;
}
for (const button of document.querySelectorAll("button[data-replay]")) {
  button.addEventListener("click", async () => {
    if (!confirm(button.dataset.confirm)) return;
    const body = { asNew: button.dataset.asNew === "true" };
    if (button.dataset.destination) body.destination = button.dataset.destination;
    try {
      const answer = await post(button.dataset.replay, body);
      say(answer.outcomes.map((o) => o.target + ": " + o.outcome.status + " (" + (o.outcome.how || o.outcome.reason) + ")").join("; "));
      setTimeout(() => location.reload(), 1500);
    } catch (error) { say("replay refused: " + error.message); }
  });
}
const bulk = document.getElementById("bulk");
if (bulk) {
  const filter = () => Object.fromEntries([...new FormData(bulk)].filter(([, v]) => v !== ""));
  const progress = document.getElementById("progress");
  const runButton = document.getElementById("bulk-run");
  const cancelButton = document.getElementById("bulk-cancel");
  let counted = null;
  document.getElementById("bulk-count").addEventListener("click", async () => {
    const res = await fetch("/api/replays/estimate?" + new URLSearchParams(filter()));
    const data = await res.json();
    if (!res.ok) return say(data.error);
    counted = data.count;
    say(data.count + " failed deliveries match" + (data.count ? " (" + Object.entries(data.byDestination).map(([d, n]) => d + " " + n).join(", ") + ")" : ""));
    if (runButton) runButton.disabled = data.count === 0;
  });
  if (runButton) runButton.addEventListener("click", async () => {
    if (!confirm("Replay " + counted + " failed deliveries?")) return;
    const f = filter();
    try {
      const run = await post("/api/replays", { ...f, asNew: f.asNew === "true" });
      cancelButton.disabled = false;
      cancelButton.onclick = () => post("/api/replays/" + run.id + "/cancel").catch((e) => say(e.message));
      for (;;) {
        const state = await (await fetch("/api/replays/" + run.id)).json();
        progress.max = state.total; progress.value = state.done;
        say(state.state + ": " + state.done + "/" + state.total + " (replayed " + state.replayed + ", skipped " + state.skipped + ", errors " + state.errors + ")");
        if (state.state !== "running") { cancelButton.disabled = true; break; }
        await new Promise((r) => setTimeout(r, 500));
      }
    } catch (error) { say("bulk replay refused: " + error.message); }
  });
}
`;
