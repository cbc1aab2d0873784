// Therapist page: polls /api/state, refreshes the camera view, draws the per-repetition
// plots on canvases and sends Start / Cancel. No library, nothing loaded from elsewhere.
"use strict";

const TOKEN = new URLSearchParams(window.location.search).get("token") || "";
const STATE_NAMES = ["waiting for the patient", "exercising", "wrong exercise", "done"];
const STATE_CLASS = ["", "", "wrong", "done"];
window.rehabCounts = [];  // every count the page has shown, in order (tests read it)

function withToken(url) {
  return TOKEN ? url + (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(TOKEN) : url;
}

async function api(path, options = {}) {
  const headers = Object.assign({"Content-Type": "application/json"}, options.headers || {});
  if (TOKEN) headers["X-Rehab-Token"] = TOKEN;
  const response = await fetch(path, Object.assign({}, options, {headers, cache: "no-store"}));
  const body = response.headers.get("content-type")?.includes("json") ? await response.json() : {};
  return {ok: response.ok, status: response.status, body};
}

function text(id, value) {
  const el = document.getElementById(id);
  if (el.textContent !== String(value)) el.textContent = value;
}

function drawSeries(canvas, values) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height, left = 40, bottom = 20, top = 20, right = 8;
  ctx.clearRect(0, 0, w, h);
  ctx.fillStyle = "#222"; ctx.font = "12px sans-serif";
  ctx.fillText(canvas.dataset.label, left, 13);
  const pts = values.map((v, i) => [i + 1, v]).filter(([, v]) => v !== null && v !== -1);
  ctx.strokeStyle = "#888"; ctx.beginPath();
  ctx.moveTo(left, top); ctx.lineTo(left, h - bottom); ctx.lineTo(w - right, h - bottom); ctx.stroke();
  if (!pts.length) return;
  const hi = Math.max(...pts.map(p => p[1])), lo = Math.min(0, ...pts.map(p => p[1]));
  const span = hi > lo ? hi - lo : 1, n = Math.max(values.length, 2);
  const x = i => left + (i - 1) / (n - 1) * (w - left - right);
  const y = v => top + (1 - (v - lo) / span) * (h - top - bottom);
  ctx.fillText(hi.toPrecision(3), 2, top + 4); ctx.fillText(lo.toPrecision(3), 2, h - bottom);
  ctx.strokeStyle = "#1565c0"; ctx.lineWidth = 2; ctx.beginPath();
  pts.forEach(([i, v], k) => (k ? ctx.lineTo(x(i), y(v)) : ctx.moveTo(x(i), y(v))));
  ctx.stroke(); ctx.fillStyle = "#1565c0";
  pts.forEach(([i, v]) => { ctx.beginPath(); ctx.arc(x(i), y(v), 3.5, 0, 2 * Math.PI); ctx.fill(); });
  ctx.lineWidth = 1;
}

function rows(tbody, items, cells, rowClass) {
  const html = items.map(it => `<tr class="${rowClass ? rowClass(it) : ""}">` +
    cells(it).map(c => `<td>${String(c).replace(/[&<>]/g, ch => ({"&": "&amp;", "<": "&lt;", ">": "&gt;"}[ch]))}</td>`).join("") + "</tr>").join("");
  if (tbody.dataset.html !== html) { tbody.innerHTML = html; tbody.dataset.html = html; }
}

let lastPlotKey = "";
function render(state) {
  const s = state.status || {};
  const running = state.running;
  text("exercise", s.exercise || (running ? running.exercise : "-"));
  const count = s.repetitions_done || 0;
  text("count", count);
  text("target", s.repetitions_target || (running ? running.repetitions_target : 0));
  if (window.rehabCounts[window.rehabCounts.length - 1] !== count) window.rehabCounts.push(count);
  const st = document.getElementById("state");
  const name = s.exercise ? (s.goal_active ? STATE_NAMES[s.state] : (s.success ? "completed" : "ended: " + s.reason)) : "idle";
  text("state", name);
  st.className = "state " + (s.exercise ? (s.goal_active ? STATE_CLASS[s.state] : "done") : "");
  text("seen", s.current_label ? `${s.current_label} (${(s.confidence || 0).toFixed(2)})` : "-");
  text("feedback", (state.feedback || []).join(" \u00b7 "));
  const quality = s.quality || [];
  const key = JSON.stringify(quality);
  if (key !== lastPlotKey) {
    lastPlotKey = key;
    document.querySelectorAll(".plots canvas").forEach(c => drawSeries(c, quality.map(q => q[c.dataset.key])));
  }
  rows(document.querySelector("#plan tbody"), state.plan,
       g => [g.index + 1, g.exercise, g.repetitions, g.time_limit_s ? g.time_limit_s + " s" : "-", g.state],
       g => g.state);
  rows(document.querySelector("#goals tbody"), state.goals,
       g => [state.goals.indexOf(g) + 1, g.exercise, `${g.repetitions_done} / ${g.repetitions_target}${g.unit ? " " + g.unit : ""}`,
             g.success ? "completed" : g.reason]);
  const select = document.getElementById("custom-exercise");
  if (select.options.length !== state.exercises.length) {
    select.innerHTML = state.exercises.map(e => `<option>${e}</option>`).join("");
  }
  document.getElementById("custom").hidden = state.plan.length > 0;
  document.getElementById("cancel").disabled = !running;
  const badge = document.getElementById("connection");
  badge.textContent = state.server_ready ? "coach connected" : "coach not available";
  badge.className = "badge " + (state.server_ready ? "ok" : "bad");
}

async function poll() {
  try {
    const r = await api("api/state");
    if (r.ok) render(r.body);
  } catch (err) {
    text("connection", "page server unreachable");
  }
  setTimeout(poll, 250);
}

function refreshCamera() {
  const img = document.getElementById("camera");
  const next = new Image();
  next.onload = () => { img.src = next.src; document.getElementById("no-camera").hidden = true; setTimeout(refreshCamera, 100); };
  next.onerror = () => { document.getElementById("no-camera").hidden = false; setTimeout(refreshCamera, 500); };
  next.src = withToken("api/frame.jpg?t=" + Date.now());
}

async function send(path, body) {
  const r = await api(path, {method: "POST", body: JSON.stringify(body || {})});
  text("message", r.body.error || (path.endsWith("start") ? `started: ${r.body.exercise}` : "cancel requested"));
}

document.getElementById("start").addEventListener("click", () => {
  const custom = !document.getElementById("custom").hidden;
  send("api/start", custom ? {
    exercise: document.getElementById("custom-exercise").value,
    repetitions: Number(document.getElementById("custom-reps").value),
    time_limit_s: Number(document.getElementById("custom-limit").value),
  } : {});
});
document.getElementById("cancel").addEventListener("click", () => send("api/cancel"));
document.getElementById("report-link").href = withToken("report");
document.getElementById("download-link").href = withToken("report.html");
poll();
refreshCamera();
