// The agent panel: the page's script (a file, not inline: the Content-Security-Policy
// allows scripts from this origin only).
"use strict";
const text = v => String(v ?? "").replace(/[&<>"]/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
const fields = [["CallerName", "Caller name"], ["CallerNumber", "Phone number"],
  ["CallbackNumber", "Callback number"], ["Extension", "Extension"],
  ["RequestedAt", "Callback requested at"], ["Queue", "Queue"], ["DialedNumber", "Dialed number"]];
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
}
document.getElementById("logout").onclick = () => { session.forget(); location.reload(); };
signIn().then(who => {
  document.getElementById("signed-in").textContent =
    `Signed in as ${who.name} (${who.agent ? "agent " + who.agent : who.role})`;
  document.getElementById("who").hidden = false;
  watch(render, () => {});
});
