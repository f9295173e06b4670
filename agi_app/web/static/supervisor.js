// The supervisor's screen: per queue, today's figures, the line in serving order, the agents
// and the day's charts (SVG drawn by the server). The snapshot arrives every second or at
// each change; a banner says when Asterisk is lost or the service stops answering, so that
// frozen numbers never pass for live ones.
"use strict";
let supervisor = false;
let lastUpdate = 0;
let latest = null;
const STALE_MS = 4000;

const text = v => String(v ?? "").replace(/[&<>"']/g,
  c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
const duration = s => s === null || s === undefined ? "-" : s >= 3600
  ? `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}`
  : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
const percent = v => v === null || v === undefined ? "-" : `${Math.round(v * 100)}%`;

function tile(key, label, value, note = "") {
  return `<div class="tile" data-figure="${key}"><span class="value">${text(value)}</span>
    <span class="label">${text(label)}</span>${note ? `<span class="note">${text(note)}</span>` : ""}</div>`;
}

function figures(q) {
  const d = q.day || {};
  return `<div class="tiles" aria-label="Today in queue ${text(q.name)}">
    ${tile("waiting", "waiting now", q.waiting_now, `${q.waiting_live} live, ${q.waiting_callbacks} callback${q.waiting_callbacks === 1 ? "" : "s"}`)}
    ${tile("longest", "longest wait", duration(q.longest_wait_s))}
    ${tile("requested", "callbacks requested", d.requested ?? 0)}
    ${tile("served", "served", d.served ?? 0)}
    ${tile("missed", "missed", d.missed ?? 0)}
    ${tile("expired", "expired", d.expired ?? 0)}
    ${tile("abandoned", "abandoned", d.abandoned ?? 0)}
    ${tile("service-level", `answered within ${d.threshold_s ?? "?"} s`, percent(d.service_level),
      d.waits_ended ? `${d.answered_within} of ${d.waits_ended}` : "no wait ended yet")}
    ${tile("avg-wait", "average wait", `${duration(d.avg_wait_callbacks_s)} | ${duration(d.avg_wait_live_s)}`,
      "callbacks | live callers")}
  </div>`;
}

const PARTS = [["in_line", null], ["in_service", "With an agent"], ["later", "Later"]];

function line(q) {
  if (!q.rows.length) return '<p class="empty">No calls waiting.</p>';
  const body = PARTS.map(([part, title]) => {
    const rows = q.rows.filter(r => r.part === part);
    if (!rows.length) return "";
    return `<tbody data-part="${part}">${title ? `<tr class="part"><th colspan="7" scope="rowgroup">${title}</th></tr>` : ""}
      ${rows.map(r => `<tr data-kind="${r.kind}" data-id="${text(r.id)}" data-state="${r.state}">
        <td class="position">${r.position ?? ""}</td>
        <td class="kind"><span class="badge ${r.kind}">${r.kind === "live" ? "live caller" : "callback"}</span>${
          r.mode === "customer_first" ? ' <span class="badge mode">customer first</span>' : ""}</td>
        <td class="level">${r.level ?? "?"}</td>
        <td class="waited">${duration(r.waited_s)}</td>
        <td class="entered">${text(r.entered)}</td>
        <td class="who">${text(r.name)} <span class="number">${text(r.number)}</span></td>
        <td class="state"><span class="pill ${r.state}">${text(r.state_text)}</span>${
          r.verdict ? ` <span class="verdict" title="what the last call to the customer found">last call: ${text(r.verdict)}</span>` : ""}</td></tr>`).join("")}
    </tbody>`;
  }).join("");
  return `<table class="line"><caption>In serving order</caption><thead><tr><th scope="col">#</th>
    <th scope="col">Call</th><th scope="col">Level</th><th scope="col">Waited</th><th scope="col">Entered</th>
    <th scope="col">Caller / number</th><th scope="col">State</th></tr></thead>${body}</table>`;
}

function agents(q) {
  if (!q.agents.length) return '<p class="empty">No members in this queue.</p>';
  return `<table class="agents"><caption>Agents</caption><thead><tr><th scope="col">Agent</th>
    <th scope="col">State</th><th scope="col">Handling</th><th scope="col">For</th>
    ${supervisor ? '<th scope="col"><span class="sr">Action</span></th>' : ""}</tr></thead><tbody>
    ${q.agents.map(a => `<tr data-agent="${text(a.interface)}" data-state="${text(a.state)}">
      <td>${text(a.name)}</td>
      <td class="state"><span class="pill agent-${a.state.replace(/ /g, "-")}">${text(a.state)}</span>${
        a.paused && a.state !== "paused" ? ' <span class="pill agent-paused">paused</span>' : ""}${
        a.paused && a.paused_reason ? ` <span class="reason">${text(a.paused_reason)}</span>` : ""}</td>
      <td class="handling">${text(a.handling)}</td>
      <td class="in-state" title="since ${text(a.since)}">${duration(a.in_state_s)}</td>
      ${supervisor ? `<td><button class="pause" data-focus="pause-${text(q.name)}-${text(a.interface)}"
        data-queue="${text(q.name)}" data-interface="${text(a.interface)}" data-paused="${!a.paused}">
        ${a.paused ? "Unpause" : "Pause"}<span class="sr"> ${text(a.name)}</span></button></td>` : ""}
    </tr>`).join("")}</tbody></table>`;
}

function charts(q) {
  const c = (q.day || {}).charts;
  if (!c) return "";
  // Server-drawn SVG: its labels are escaped there.
  return `<div class="charts">${[["Waiting over the day", c.waiting], ["Callbacks per half hour", c.half_hours],
    ["Wait until an agent answered", c.waits]].map(([title, svg]) =>
    `<figure><figcaption>${title}</figcaption>${svg}</figure>`).join("")}</div>`;
}

function render(snapshot) {
  latest = snapshot;
  lastUpdate = Date.now();
  document.getElementById("clock").textContent = snapshot.as_of_local;
  document.getElementById("zone").textContent = snapshot.timezone;
  const focused = document.activeElement && document.activeElement.dataset
    ? document.activeElement.dataset.focus : null;
  const queues = snapshot.queues;
  document.getElementById("queues").innerHTML = queues.length ? queues.map(q => `
    <section class="queue" data-queue="${text(q.name)}" aria-labelledby="q-${text(q.name)}">
      <h2 id="q-${text(q.name)}">Queue ${text(q.name)}</h2>
      ${figures(q)}
      <div class="columns"><div class="scroll">${line(q)}</div><div class="scroll">${agents(q)}</div></div>
      ${charts(q)}
    </section>`).join("") : '<p class="empty">No queues known yet.</p>';
  for (const b of document.querySelectorAll("button.pause")) b.onclick = () => pause(b);
  if (focused) document.querySelector(`[data-focus="${CSS.escape(focused)}"]`)?.focus();
  banner();
}

function banner() {
  const el = document.getElementById("banner");
  let message = "";
  if (latest && !latest.asterisk.connected) {
    message = `Connection to Asterisk lost since ${latest.asterisk.lost_since}: live callers and agents are not known, ` +
      "callbacks are shown as the store has them, and the figures may be stale.";
  } else if (lastUpdate && Date.now() - lastUpdate > STALE_MS) {
    message = `No update from the service for ${Math.round((Date.now() - lastUpdate) / 1000)} s: ` +
      "reconnecting; the numbers below may be stale.";
  } else if (latest && !latest.queue_log_readable) {
    message = "Asterisk's queue_log cannot be read: today's live-caller figures are missing.";
  }
  const stale = Boolean(message) && !message.startsWith("Asterisk's queue_log");
  el.textContent = message;
  el.hidden = !message;
  el.className = stale ? "alert" : "warn";
  document.body.classList.toggle("stale", stale);
}

// The button is not disabled meanwhile (that would drop the keyboard focus); sending the
// same pause twice changes nothing.
async function pause(button) {
  const body = {queue: button.dataset.queue, interface: button.dataset.interface,
    paused: button.dataset.paused === "true"};
  const r = await fetch("/api/supervisor/pause", {method: "POST",
    headers: {...session.headers(), "Content-Type": "application/json"}, body: JSON.stringify(body)});
  if (!r.ok) {
    document.getElementById("status").textContent = `(${(await r.json()).error})`;
  }
}

const showStatus = s => { document.getElementById("status").textContent = s; };
document.getElementById("logout").onclick = () => { session.forget(); location.reload(); };
setInterval(banner, 1000);
signIn().then(who => {
  document.getElementById("signed-in").textContent = `Signed in as ${who.name} (${who.role})`;
  document.getElementById("who").hidden = false;
  if (who.role === "agent") {
    document.getElementById("queues").innerHTML =
      '<p class="empty">This screen is for supervisors and viewers; agents have the <a href="/agents">agent panel</a>.</p>';
    return;
  }
  supervisor = who.role === "supervisor";
  watch(render, showStatus, "/api/supervisor/events");
});
