"""The dashboard's page: one HTML file with its style and script inline; it loads nothing from
elsewhere and updates itself from /events (server-sent events), never reloading."""

PAGE = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<link rel="icon" href="data:,">
<title>Team {{team}}: live monitoring</title>
<style>
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;background:#fafafa;color:#1d1d1f}
header{background:#12355b;color:#fff;padding:14px 24px;display:flex;justify-content:space-between;align-items:baseline}
header h1{margin:0;font-size:20px;font-weight:600} #status{font-size:13px;opacity:.85}
main{padding:10px 24px 30px;display:grid;grid-template-columns:minmax(520px,3fr) minmax(300px,2fr);gap:16px}
section{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:12px 16px}
h2{font-size:15px;margin:0 0 8px} .charts{grid-column:1/-1;display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:10px}
.charts img{width:100%;height:auto;background:#fff}
table{border-collapse:collapse;font-size:13px;width:100%} th,td{padding:3px 8px;border-bottom:1px solid #eee;text-align:left}
td.value{text-align:right;font-variant-numeric:tabular-nums} td.above{background:#fde2d6;color:#a1300b;font-weight:600}
#alerts li{padding:3px 0;border-bottom:1px solid #eee;list-style:none} #alerts{margin:0;padding:0;max-height:560px;overflow:auto}
.when{color:#666;font-variant-numeric:tabular-nums;margin-right:6px} .note{color:#666;font-size:12.5px;margin:0 0 8px}
</style></head>
<body><header><h1>Team {{team}}: live monitoring</h1><span id="status">connecting...</span></header>
<main>
<section><h2>Now, per server</h2><p class="note" id="source"></p>
<table><thead><tr id="head"><th>server</th><th>last row</th></tr></thead><tbody id="servers"></tbody></table></section>
<section><h2>Latest alerts first</h2><ul id="alerts"></ul></section>
<section class="charts" id="charts"></section>
</main>
<script>
"use strict";
const SOURCES = {kafka: "Kafka: the metric topics, sample by sample", live: "the live windows (live CSVs)", consumers: "the consumers' CSVs, sample by sample"};
const ALERTS = {windows: "alerts: the live path's windows (the alerts topic)", samples: "alerts: a value over its threshold is listed (the windows' alerts come from the live path)"};
let metrics = null, lastChart = 0, pending = null;
function cell(text, cls) { const td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; return td; }
function setup(s) {
  metrics = s.metrics;
  const head = document.getElementById("head");
  for (const m of metrics) { const th = document.createElement("th"); th.textContent = m + " (> " + s.thresholds[m] + ")"; head.appendChild(th); }
  const charts = document.getElementById("charts");
  for (const m of metrics) { const img = document.createElement("img"); img.id = "chart-" + m; img.alt = m; charts.appendChild(img); }
}
function refreshCharts(version) {
  for (const m of metrics) document.getElementById("chart-" + m).src = "chart/" + encodeURIComponent(m) + ".png?v=" + version;
  lastChart = Date.now();
}
function render(s) {
  if (metrics === null || metrics.join() !== s.metrics.join()) { document.getElementById("head").replaceChildren(...[...document.getElementById("head").children].slice(0, 2)); document.getElementById("charts").replaceChildren(); setup(s); }
  document.getElementById("source").textContent = "From " + SOURCES[s.source] + "; " + (s.source === "live" ? "alerts: the windows'" : ALERTS[s.alerts_from]) + "." + (s.notice ? " " + s.notice + "." : "");
  const rows = s.servers.map(srv => {
    const tr = document.createElement("tr"); tr.dataset.server = srv.server;
    tr.append(cell(srv.server), cell(srv.time, "when"));
    for (const m of metrics) {
      const v = srv.values[m];
      const td = cell(v === null || v === undefined ? "" : v.toFixed(2), "value" + (v !== null && v > s.thresholds[m] ? " above" : ""));
      td.dataset.metric = m; tr.appendChild(td);
    }
    return tr;
  });
  document.getElementById("servers").replaceChildren(...rows);
  document.getElementById("alerts").replaceChildren(...s.alerts.map(a => {
    const li = document.createElement("li"); li.className = "alert"; li.dataset.server = a.server;
    const when = document.createElement("span"); when.className = "when"; when.textContent = a.time;
    li.append(when, a.server + ": " + a.alert); return li;
  }));
  if (Date.now() - lastChart > 2000) refreshCharts(s.version);
  else { clearTimeout(pending); pending = setTimeout(() => refreshCharts(s.version), 2000); }
  document.getElementById("status").textContent = s.servers.length + " servers, updated " + new Date().toLocaleTimeString();
  document.body.dataset.version = s.version;
}
const events = new EventSource("events");
events.onmessage = e => render(JSON.parse(e.data));
events.onerror = () => { document.getElementById("status").textContent = "connection lost, retrying..."; };
</script></body></html>
"""
