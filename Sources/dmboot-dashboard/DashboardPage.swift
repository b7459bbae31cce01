/// The dashboard page: one HTML document with its style and script inline,
/// no asset fetched from anywhere. It holds no data: its script polls
/// GET /api/v1/overview every two seconds and draws the stations, the
/// batches and the charts (SVG built by the script). With a token, the page
/// asks for it once and keeps it in the tab's sessionStorage.
enum DashboardPage {
    static let policy = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
        + "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    static let html = #"""
    <!DOCTYPE html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>dmboot line</title>
    <style>
    body { font: 15px/1.4 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d2430; }
    header { background: #1d2430; color: #fff; padding: 10px 20px; display: flex; gap: 20px; align-items: baseline; }
    header h1 { font-size: 18px; margin: 0; }
    #updated { color: #b8c0cc; font-size: 13px; }
    main { padding: 16px 20px; display: grid; gap: 16px; }
    .stations { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr)); gap: 12px; }
    .card { background: #fff; border-radius: 6px; padding: 12px 14px; box-shadow: 0 1px 2px rgba(0,0,0,.12); }
    .card h2 { font-size: 16px; margin: 0 0 6px; }
    .station h2 { display: flex; justify-content: space-between; }
    .state { font-size: 12px; font-weight: 600; text-transform: uppercase; padding: 2px 8px; border-radius: 10px; color: #fff; }
    .state.live { background: #1a7f37; } .state.idle { background: #6e7781; } .state.ended { background: #6e7781; }
    .state.stopped { background: #cf222e; } .state.silent { background: #bf8700; }
    .card.stopped { outline: 3px solid #cf222e; }
    .reason { font-size: 13px; color: #cf222e; margin: 0 0 6px; }
    .figures { display: grid; grid-template-columns: repeat(3, 1fr); gap: 4px 10px; }
    .figure b { display: block; font-size: 20px; }
    .figure span { font-size: 12px; color: #57606a; }
    .failure { font-size: 12px; color: #57606a; margin-top: 6px; word-break: break-all; }
    table { border-collapse: collapse; width: 100%; background: #fff; }
    th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #d8dee4; font-size: 14px; }
    .charts { display: grid; grid-template-columns: 2fr 1fr; gap: 12px; }
    svg text { font-size: 11px; fill: #57606a; }
    #error { color: #cf222e; font-weight: 600; }
    #login { display: none; }
    @media print { header { background: none; color: #000; } .card { box-shadow: none; border: 1px solid #999; } }
    </style>
    </head>
    <body>
    <header><h1>dmboot line</h1><span id="updated">connecting…</span><span id="error"></span></header>
    <main>
    <form id="login" class="card"><label>Bearer token <input id="token" type="password" autocomplete="off"></label>
    <button>Show the line</button></form>
    <section><h3>Stations</h3><div class="stations" id="stations"></div></section>
    <section class="charts">
    <div class="card"><h2>Throughput, cards per <span id="bucket">15</span> min</h2><div id="throughput"></div></div>
    <div class="card"><h2>Failure classes today</h2><div id="failures"></div></div>
    </section>
    <section><h3>Batches (cards in the last 24 h)</h3>
    <table><thead><tr><th>batch</th><th>cards</th><th>succeeded</th><th>duplicates</th><th>failed</th><th>yield</th>
    <th>cards/min</th><th>first card</th><th>last card</th></tr></thead><tbody id="batches"></tbody></table></section>
    </main>
    <script>
    "use strict";
    const svgNS = "http://www.w3.org/2000/svg";
    function el(name, attributes, text, ns) {
      const node = ns ? document.createElementNS(ns, name) : document.createElement(name);
      for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
      if (text !== undefined && text !== null) node.textContent = String(text);
      return node;
    }
    function percent(value) { return value === null || value === undefined ? "–" : value.toFixed(1) + " %"; }
    function number(value) { return value === null || value === undefined ? "–" : String(value); }
    function time(text) { return text ? new Date(text).toISOString().replace("T", " ").slice(0, 19) + " UTC" : "–"; }
    function figure(parent, value, label) {
      const box = el("div", {class: "figure"}); box.append(el("b", {}, value), el("span", {}, label)); parent.append(box);
    }
    function station(s) {
      const card = el("div", {class: "card station " + s.state, "data-station": s.id});
      const title = el("h2"); title.append(el("span", {class: "name"}, s.id), el("span", {class: "state " + s.state}, s.state));
      card.append(title);
      if (s.reason) card.append(el("p", {class: "reason"}, s.reason));
      const who = [s.batch ? "batch " + s.batch : null, s.operator ? "operator " + s.operator : null].filter(Boolean).join(" · ");
      if (who) card.append(el("p", {class: "failure"}, who));
      const grid = el("div", {class: "figures"});
      figure(grid, s.today.cards, "cards today"); figure(grid, s.thisHour.cards, "this hour");
      figure(grid, percent(s.today.yieldPercent), "yield today"); figure(grid, number(s.cardsPerHour), "cards/hour");
      figure(grid, s.today.failed, "failed"); figure(grid, s.today.duplicates, "duplicates");
      card.append(grid);
      const classes = Object.entries(s.today.failures).sort().map(([k, v]) => k + " ×" + v).join(", ");
      if (classes) card.append(el("p", {class: "failure"}, "failures: " + classes));
      const f = s.lastFailure;
      if (f) card.append(el("p", {class: "failure last-failure"}, "last failure " + time(f.time) + ": " + f.failureClass +
        " (" + f.exitCode + ") " + (f.error || "") + " — card " + (f.cardIdentity || f.iccid || (f.atr ? "ATR " + f.atr : "unidentified")) +
        (f.reader ? " in " + f.reader : "")));
      return card;
    }
    function bars(target, series, options) {
      const width = 640, height = 200, left = 36, bottom = 22;
      const svg = el("svg", {viewBox: "0 0 " + width + " " + height, width: "100%", role: "img", "aria-label": options.label}, null, svgNS);
      const max = Math.max(1, ...series.map(s => s.parts.reduce((a, b) => a + b, 0)));
      const step = (width - left) / Math.max(1, series.length);
      for (let i = 0; i <= 4; i++) {
        const y = height - bottom - (height - bottom - 10) * i / 4;
        svg.append(el("line", {x1: left, x2: width, y1: y, y2: y, stroke: "#d8dee4"}, null, svgNS));
        svg.append(el("text", {x: 2, y: y + 4}, Math.round(max * i / 4), svgNS));
      }
      series.forEach((s, i) => {
        let y = height - bottom;
        s.parts.forEach((part, j) => {
          const h = (height - bottom - 10) * part / max;
          if (h > 0) svg.append(el("rect", {x: left + i * step + 1, y: y - h, width: Math.max(1, step - 2), height: h,
                                            fill: options.colors[j], class: "bar"}, null, svgNS));
          y -= h;
        });
        if (s.label && i % options.labelEvery === 0 && left + i * step < width - 30) svg.append(el("text", {x: left + i * step, y: height - 6}, s.label, svgNS));
      });
      target.replaceChildren(svg);
    }
    function hbars(target, entries) {
      const height = Math.max(40, entries.length * 24 + 10), width = 320;
      const svg = el("svg", {viewBox: "0 0 " + width + " " + height, width: "100%", role: "img", "aria-label": "failure classes"}, null, svgNS);
      const max = Math.max(1, ...entries.map(e => e[1]));
      if (!entries.length) svg.append(el("text", {x: 4, y: 24}, "no failure today", svgNS));
      entries.forEach(([name, count], i) => {
        svg.append(el("text", {x: 2, y: i * 24 + 20}, name, svgNS));
        svg.append(el("rect", {x: 150, y: i * 24 + 8, height: 16, width: 140 * count / max, fill: "#cf222e", class: "bar"}, null, svgNS));
        svg.append(el("text", {x: 154 + 140 * count / max, y: i * 24 + 20}, count, svgNS));
      });
      target.replaceChildren(svg);
    }
    function render(o) {
      document.getElementById("stations").replaceChildren(...o.stations.map(station));
      document.getElementById("bucket").textContent = o.bucketMinutes;
      bars(document.getElementById("throughput"), o.throughput.map(b => ({
        parts: [b.succeeded, b.duplicates, b.failed], label: b.start.slice(11, 16)})),
        {colors: ["#1a7f37", "#8c959f", "#cf222e"], labelEvery: 8, label: "throughput"});
      hbars(document.getElementById("failures"), Object.entries(o.failureClassesToday).sort((a, b) => b[1] - a[1]));
      document.getElementById("batches").replaceChildren(...o.batches.map(b => {
        const row = el("tr", {"data-batch": b.batch});
        [b.batch, b.figures.cards, b.figures.succeeded, b.figures.duplicates, b.figures.failed, percent(b.figures.yieldPercent),
         number(b.figures.cardsPerMinute), time(b.firstCard), time(b.lastCard)].forEach(v => row.append(el("td", {}, v)));
        return row;
      }));
      document.getElementById("updated").textContent = "updated " + time(o.generatedAt);
    }
    async function poll() {
      const headers = {};
      const token = sessionStorage.getItem("dmboot-token");
      if (token) headers["Authorization"] = "Bearer " + token;
      try {
        const answer = await fetch("api/v1/overview", {headers, cache: "no-store"});
        if (answer.status === 401) { document.getElementById("login").style.display = "block"; return; }
        const body = await answer.json();
        if (!answer.ok) throw new Error(body.error || answer.statusText);
        document.getElementById("error").textContent = "";
        render(body);
      } catch (error) {
        document.getElementById("error").textContent = "cannot read the line: " + error.message;
      }
    }
    document.getElementById("login").addEventListener("submit", event => {
      event.preventDefault();
      sessionStorage.setItem("dmboot-token", document.getElementById("token").value);
      document.getElementById("login").style.display = "none";
      poll();
    });
    poll();
    setInterval(poll, 2000);
    </script>
    </body>
    </html>
    """#
}
