/**
 * The debug console's page: one small HTML document and its script, no framework and no request
 * anywhere but this API and its WebSocket stage. The key typed in stays in a variable of the page:
 * never stored, never sent anywhere but this API's `Authorization` header.
 */

export const CONSOLE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Realtime broadcast console</title>
<style>
body{font:14px system-ui,sans-serif;margin:0;color:#1d2430;background:#f5f6f8}
header{background:#1d2430;color:#fff;padding:10px 16px;display:flex;gap:12px;align-items:center}
header h1{font-size:16px;margin:0;flex:1}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:12px;padding:12px}
section{background:#fff;border-radius:6px;padding:12px;box-shadow:0 1px 2px #0002}
h2{font-size:13px;text-transform:uppercase;letter-spacing:.04em;margin:0 0 8px;color:#56627a}
table{width:100%;border-collapse:collapse}td,th{text-align:left;padding:3px 4px;border-bottom:1px solid #eee}
input,textarea,button{font:inherit;padding:4px 6px}textarea{width:100%;box-sizing:border-box}
#live,#errors{max-height:260px;overflow:auto;font:12px ui-monospace,monospace;white-space:pre-wrap;margin:0}
#signin{padding:16px;display:flex;gap:8px;flex-wrap:wrap}.err{color:#b42318}.muted{color:#7a8599}[hidden]{display:none!important}
</style></head>
<body>
<header><h1>Realtime broadcast console</h1><span id="who" class="muted"></span></header>
<form id="signin">
<input id="key" type="password" placeholder="master key or project key" autocomplete="off" required size="40">
<input id="project" placeholder="project" value="default" required>
<button>Sign in</button><span class="muted">The key stays in this page's memory; it is sent only to this API.</span>
</form>
<main id="app" hidden>
<section><h2>Connections</h2><p><b id="total">0</b> open</p><table id="types"></table></section>
<section><h2>Channels</h2><table id="channels"></table></section>
<section><h2>Presence</h2><div id="presence" class="muted">No presence channels in use.</div></section>
<section><h2>Usage, 30 days</h2><div id="usage"></div></section>
<section><h2>Live</h2><form id="watch"><input id="watched" placeholder="channel" required> <button>Watch</button> <span id="live-state" class="muted"></span></form><pre id="live"></pre></section>
<section><h2>Publish a test message</h2><form id="publish"><p><input id="pchannel" placeholder="channel" required> <input id="pevent" placeholder="event" value="test" required></p>
<textarea id="pdata" rows="3">{"hello":"console"}</textarea><p><button>Publish</button> <span id="published" class="muted"></span></p></form></section>
<section><h2>Last errors</h2><pre id="errors" class="err"></pre></section>
</main>
<script src="/console/app.js"></script>
</body></html>`;

export const CONSOLE_JS = `"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  let key = "", project = "default", socket = null, timer = 0;
  const text = (node, value) => { node.textContent = value; };
  const error = (what) => { const line = new Date().toISOString().slice(11, 19) + " " + what + "\\n"; $("errors").textContent = (line + $("errors").textContent).slice(0, 4000); };
  async function api(method, path, body) {
    const response = await fetch(path, { method, headers: { authorization: "Bearer " + key, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    const json = await response.json().catch(() => ({}));
    if (!response.ok) { error(method + " " + path.split("?")[0] + ": " + response.status + " " + (json.code || "") + " " + (json.error || "")); throw new Error(json.code || String(response.status)); }
    return json;
  }
  function rows(table, items) {
    table.replaceChildren(...items.map((cells) => { const tr = document.createElement("tr"); for (const cell of cells) { const td = document.createElement("td"); if (cell instanceof Node) td.append(cell); else td.textContent = String(cell); tr.append(td); } return tr; }));
  }
  function chart(days) {
    const max = Math.max(1, ...days.map((d) => d.count)), w = 300, h = 80, bw = w / Math.max(1, days.length);
    const ns = "http://www.w3.org/2000/svg", svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 " + w + " " + (h + 14)); svg.setAttribute("width", "100%");
    days.forEach((d, i) => { const r = document.createElementNS(ns, "rect"), bh = (d.count / max) * h;
      r.setAttribute("x", String(i * bw + 1)); r.setAttribute("y", String(h - bh)); r.setAttribute("width", String(Math.max(1, bw - 2))); r.setAttribute("height", String(bh)); r.setAttribute("fill", "#3b6fd8");
      const t = document.createElementNS(ns, "title"); t.textContent = d.date + ": " + d.count + " requests, " + (d.deliveries || 0) + " deliveries"; r.append(t); svg.append(r); });
    const label = document.createElementNS(ns, "text"); label.setAttribute("x", "0"); label.setAttribute("y", String(h + 12)); label.setAttribute("font-size", "10"); label.textContent = "max " + max + " requests/day"; svg.append(label);
    $("usage").replaceChildren(svg);
  }
  async function refresh() {
    try {
      const status = (await api("GET", "/status?projectId=" + encodeURIComponent(project))).data;
      text($("total"), String(status.connections.total));
      rows($("types"), Object.entries(status.connections.byType).map(([type, n]) => [type, n]));
      rows($("channels"), status.channels.map((c) => { const b = document.createElement("button"); b.textContent = "watch"; b.onclick = () => watch(c.channel); return [c.channel, c.subscribers, b]; }));
      const presence = status.channels.filter((c) => c.channel.startsWith("presence-"));
      const lists = await Promise.all(presence.map((c) => api("GET", "/channels/" + encodeURIComponent(c.channel) + "/users?projectId=" + encodeURIComponent(project)).then((r) => c.channel + ": " + r.data.members.map((m) => m.userId).join(", ") + " (" + r.data.count + ")", () => c.channel + ": ?")));
      text($("presence"), lists.join("\\n") || "No presence channels in use.");
      chart((await api("GET", "/usage?projectId=" + encodeURIComponent(project))).data.dailyRequests || []);
    } catch { /* shown in the errors */ }
  }
  async function watch(channel) {
    $("watched").value = channel;
    if (socket) socket.close();
    try {
      const grant = (await api("POST", "/console/token", { projectId: project })).data;
      const url = grant.token ? grant.webSocketUrl : grant.webSocketUrl + "?projectId=" + encodeURIComponent(project);
      socket = new WebSocket(url, grant.token ? ["rb.v1", "rb.token." + grant.token] : ["rb.v1"]);
      text($("live-state"), "connecting…");
      socket.onopen = () => { socket.send(JSON.stringify({ action: "subscribe", channel })); text($("live-state"), "watching " + channel); };
      socket.onmessage = (m) => { if (m.data === "pong") return; const line = m.data + "\\n"; $("live").textContent = (line + $("live").textContent).slice(0, 20000); const j = JSON.parse(m.data); if (j.type === "error") error("live: " + j.code + " " + j.message); };
      socket.onclose = () => text($("live-state"), "closed");
    } catch { /* shown in the errors */ }
  }
  $("signin").onsubmit = async (e) => {
    e.preventDefault(); key = $("key").value; project = $("project").value.trim(); $("key").value = "";
    $("signin").hidden = true; $("app").hidden = false; text($("who"), "project " + project);
    await refresh(); clearInterval(timer); timer = setInterval(refresh, 2000);
  };
  $("watch").onsubmit = (e) => { e.preventDefault(); void watch($("watched").value.trim()); };
  $("publish").onsubmit = async (e) => {
    e.preventDefault();
    let data; try { data = JSON.parse($("pdata").value || "null"); } catch { error("publish: data is not JSON"); return; }
    try { const r = await api("POST", "/broadcast", { projectId: project, channel: $("pchannel").value.trim(), event: $("pevent").value.trim(), data }); text($("published"), "sent to " + (r.sent ?? r.queued) + (r.offset ? ", offset " + r.offset : "")); } catch { /* shown */ }
  };
})();
`;
