// The pages' credential: asked once per tab, kept in sessionStorage (this tab only, gone when
// it closes) and sent as a bearer header, never in a URL (no token in logs, history or
// Referer). The live stream is read with fetch() for the same reason: EventSource cannot
// send a header.
const session = {
  key: "callback-token",
  token: () => sessionStorage.getItem(session.key) || "",
  headers: () => ({"Authorization": `Bearer ${session.token()}`}),
  forget: () => sessionStorage.removeItem(session.key),
};

// Resolves with {name, role, agent} once a valid token is known (asking for one if needed).
async function signIn() {
  const form = document.getElementById("login");
  const status = document.getElementById("login-status");
  for (;;) {
    if (session.token()) {
      const r = await fetch("/api/whoami", {headers: session.headers()});
      if (r.ok) {
        form.hidden = true;
        return r.json();
      }
      session.forget();
      status.textContent = r.status === 401 ? "That token is not valid." : `Error ${r.status}.`;
    }
    form.hidden = false;
    await new Promise(done => { form.onsubmit = e => { e.preventDefault(); done(); }; });
    sessionStorage.setItem(session.key, document.getElementById("token").value.trim());
    document.getElementById("token").value = "";
  }
}

// Calls onSnapshot with each snapshot of the stream (/api/events unless another is named);
// reconnects; back to sign-in on 401.
async function watch(onSnapshot, onStatus, url = "/api/events") {
  for (;;) {
    let wait = 1000;
    try {
      const r = await fetch(url, {headers: session.headers(), cache: "no-store"});
      if (r.status === 401) {
        session.forget();
        await signIn();
        continue;
      }
      if (r.status === 503 || r.status === 429) {
        // 503: the pool of live views is full; 429: this token has its most open already.
        const refusal = await r.json().catch(() => ({}));
        onStatus(`(${refusal.error || "too many live views open"}; retrying...)`);
        wait = 5000;
      } else if (r.ok) {
        const reader = r.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const {value, done} = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, {stream: true});
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const message = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = message.split("\n").filter(l => l.startsWith("data: "))
              .map(l => l.slice(6)).join("\n");
            if (data) {
              onStatus("(live)");
              onSnapshot(JSON.parse(data));
            }
          }
        }
      }
    } catch (e) {
      // the service restarted or the network dropped: try again
    }
    onStatus("(reconnecting...)");
    await new Promise(done => setTimeout(done, wait));
  }
}

// Play a callback's voice message: fetched with the bearer header (an <audio src> cannot
// send one), played from memory, never kept.
async function playMessage(id) {
  const r = await fetch(`/api/callbacks/${encodeURIComponent(id)}/message`, {headers: session.headers()});
  if (!r.ok) { alert((await r.json()).error); return; }
  const url = URL.createObjectURL(await r.blob());
  const audio = new Audio(url);
  audio.onended = () => URL.revokeObjectURL(url);
  await audio.play();
}
