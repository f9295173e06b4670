// The agent panel: the page's script (a file, not inline: the Content-Security-Policy
// allows scripts from this origin only).
"use strict";
const text = v => String(v ?? "").replace(/[&<>"]/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
const fields = [["CallerName", "Caller name"], ["CallerNumber", "Phone number"],
  ["CallbackNumber", "Callback number"], ["Extension", "Extension"],
  ["RequestedAt", "Callback requested at"], ["Queue", "Queue"], ["DialedNumber", "Dialed number"]];
let codes = [];  // the settings' wrap-up codes (whoami)

async function dispose(id, code) {
  const r = await fetch(`/api/callbacks/${encodeURIComponent(id)}/disposition`, {method: "POST",
    headers: {...session.headers(), "Content-Type": "application/json"}, body: JSON.stringify({code})});
  if (!r.ok) alert((await r.json()).error);
}

// The callback an agent talked on last, until they give its wrap-up code.
function wrapUps(ended) {
  const agents = Object.keys(ended || {}).sort();
  return agents.map(a => `
    <section class="wrap-up" data-agent="${text(a)}" data-id="${text(ended[a].RequestId)}">
      <h2>${text(a)}: wrap-up</h2>
      <p>${text(ended[a].CallerName)} ${text(ended[a].CallbackNumber)}, queue ${text(ended[a].Queue)}</p>
      <select class="code">${codes.map(c => `<option>${text(c)}</option>`).join("")}</select>
      <button class="dispose">Set wrap-up code</button>
    </section>`).join("");
}

function render(snapshot) {
  const pops = snapshot.screen_pops;
  const agents = Object.keys(pops).sort();
  document.getElementById("pops").innerHTML = agents.length ? agents.map(a => `
    <section class="agent" data-agent="${text(a)}"><h2>${text(a)}: queue callback</h2><dl>
      ${fields.map(([k, label]) => `<dt>${label}</dt><dd data-field="${k}" title="${text(pops[a][k])}">${
        text(k === "RequestedAt" ? new Date(pops[a][k]).toLocaleString() : pops[a][k])}</dd>`).join("")}
    </dl>${pops[a].Message === "yes" ? `<button class="message" data-id="${text(pops[a].RequestId)}">Play the caller's message</button>` : ""}
    </section>`).join("") : '<p class="empty">No agent is being offered a callback.</p>';
  for (const button of document.querySelectorAll("button.message"))
    button.onclick = () => playMessage(button.dataset.id);
  const box = document.getElementById("wrap-ups");
  const choosing = box.contains(document.activeElement) && document.activeElement.tagName === "SELECT";
  if (choosing) return;  // the agent is choosing a code: keep their choice
  box.innerHTML = wrapUps(snapshot.wrap_ups);
  for (const section of document.querySelectorAll("section.wrap-up"))
    section.querySelector("button.dispose").onclick = () =>
      dispose(section.dataset.id, section.querySelector("select.code").value);
}
document.getElementById("logout").onclick = () => { session.forget(); location.reload(); };
signIn().then(who => {
  codes = who.disposition_codes || [];
  document.getElementById("signed-in").textContent =
    `Signed in as ${who.name} (${who.agent ? "agent " + who.agent : who.role})`;
  document.getElementById("who").hidden = false;
  watch(render, () => {});
});
