// The Live view: the page's script (a file, not inline: the Content-Security-Policy
// allows scripts from this origin only).
"use strict";
let supervisor = false;
const mmss = s => `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
const text = v => String(v ?? "").replace(/[&<>"]/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));

async function act(id, action, body) {
  const r = await fetch(`/api/callbacks/${id}/${action}`, {method: "POST",
    headers: {...session.headers(), "Content-Type": "application/json"}, body: JSON.stringify(body)});
  if (!r.ok) alert((await r.json()).error);
}

// The offer check's estimate of the wait a callback asked for now would have.
const expected = e => !e ? "" : e.expected_wait === null ? "expected wait: unknown"
  : `expected wait ${mmss(e.expected_wait)} (${text(e.source)}, ${e.callers} in queue)`;

function render(snapshot) {
  const byQueue = {};
  for (const c of snapshot.callbacks) (byQueue[c.queue] ||= []).push(c);
  const estimates = snapshot.estimates || {};
  const queues = [...new Set([...Object.keys(byQueue), ...Object.keys(estimates)])].sort();
  document.getElementById("queues").innerHTML = queues.length ? queues.map(q => `
    <h2>Queue ${text(q)} <span class="estimate" title="the offer check's estimate of a new callback's wait">${expected(estimates[q])}</span></h2>
    ${!byQueue[q] ? '<p class="empty">No callbacks waiting.</p>' : `<table data-queue="${text(q)}"><thead><tr><th>Position</th><th>Priority</th><th>Waited</th>
      <th>Destination</th><th>Caller</th><th>State</th><th></th></tr></thead><tbody>
    ${(byQueue[q] || []).sort((a, b) => (a.position ?? 1e9) - (b.position ?? 1e9)).map(c => `
      <tr data-id="${c.id}"><td class="position" title="${c.held ? "held in the store until it nears the head" : ""}">${c.position ?? "-"}${c.held ? " (held)" : ""}</td><td>${c.priority}</td>
        <td>${mmss(c.waited_seconds)}</td><td class="destination">${text(c.destination)}</td>
        <td>${text(c.caller_name)} ${text(c.caller_number)}${
          c.language ? ` <span class="language" title="the caller's language: the customer's prompts are in it">${text(c.language)}</span>` : ""}</td>
        <td>${c.mode === "customer_first" ? '<span class="mode">customer first</span> ' : ""}<span class="state ${c.state}">${c.state}${c.agent ? " " + text(c.agent) : ""}</span>${
          c.preferred_agent ? ` <span class="preferred" title="offered first to this agent (affinity)">for ${text(c.preferred_agent)}</span>` : ""}${
          c.verdict ? ` <span class="verdict" title="what the last call to the customer found">last call: ${text(c.verdict)}</span>` : ""}${
          c.message ? ' <button class="message" title="the caller\'s voice message">Play message</button>' : ""}${c.not_before ? ` <span class="until">until ${text(new Date(c.not_before).toLocaleString())}${c.customer_attempts ? `, ${c.customer_attempts} unanswered` : ""}</span>` : ""}</td>
        <td>${supervisor ? `<select class="level">${[...Array(10).keys()].map(i => `<option${i + 1 === c.priority ? " selected" : ""}>${i + 1}</option>`).join("")}</select>
          <button class="reprioritize">Set priority</button> <button class="cancel">Cancel</button>` : ""}</td></tr>`).join("")}
    </tbody></table>`}`).join("") : '<p class="empty">No callbacks waiting.</p>';
  for (const button of document.querySelectorAll("tr[data-id] button.message"))
    button.onclick = () => playMessage(button.closest("tr").dataset.id);
  if (supervisor) for (const row of document.querySelectorAll("tr[data-id]")) {
    row.querySelector(".cancel").onclick = () => act(row.dataset.id, "cancel", {});
    row.querySelector(".reprioritize").onclick = () =>
      act(row.dataset.id, "priority", {level: Number(row.querySelector(".level").value)});
  }
}

const showStatus = s => { document.getElementById("status").textContent = s; };
document.getElementById("logout").onclick = () => { session.forget(); location.reload(); };
signIn().then(who => {
  supervisor = who.role === "supervisor";
  document.getElementById("signed-in").textContent = `Signed in as ${who.name} (${who.role})`;
  document.getElementById("who").hidden = false;
  watch(snapshot => {
    if (!document.activeElement || document.activeElement.tagName !== "SELECT") render(snapshot);
  }, showStatus);
});
