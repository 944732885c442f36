// nablanet live view: follows real training runs reported to the server (POST /api/live).
"use strict";

(function () {
  const token = document.body.dataset.token;
  const $ = (id) => document.getElementById(id);
  const runs = new Map(); // id → {data, el, charts}
  const stats = { events: 0, runs };
  window.nablanetLive = stats;
  const COLORS = ["#555", "#c2185b", "#2274be", "#e8792e", "#1b7a34", "#7b1fa2", "#00838f", "#6d4c41"];

  function chart(el, title, labels, log) {
    const series = [{ label: "epoch" }, ...labels.map((l, i) => ({ label: l, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true }))];
    return new uPlot(
      {
        title, width: 220, height: 140,
        scales: { x: { time: false }, y: log ? { distr: 3 } : {} },
        axes: [{ size: 28 }, { size: 46 }],
        legend: { live: false },
        series,
      },
      [[], ...labels.map(() => [])],
      el
    );
  }

  const esc = (t) => String(t).replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

  function fmt(v, digits) {
    return v === null || v === undefined ? "–" : Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(2) : v.toFixed(digits || 4);
  }

  function card(data) {
    const el = document.createElement("section");
    el.className = "panel run";
    el.dataset.run = data.run;
    el.innerHTML = `<h2><span class="name"></span><span class="status"></span></h2><p class="info"></p>
      <p class="info">epoch <output class="epochs">0</output> · cost <output class="cost">–</output> · val. cost <output class="val-cost">–</output> · val. acc. <output class="val-acc">–</output></p>
      <div class="charts"><div class="c-cost"></div><div class="c-acc"></div><div class="c-eta"></div><div class="c-health"></div></div>
      <div class="c-batch"></div>
      <table class="health"></table><ul class="warnings"></ul>`;
    $("runs").appendChild(el);
    const r = { data, el, charts: {}, layers: 0 };
    r.charts.cost = chart(el.querySelector(".c-cost"), "cost", ["train", "validation"]);
    r.charts.acc = chart(el.querySelector(".c-acc"), "accuracy", ["train", "validation"]);
    r.charts.eta = chart(el.querySelector(".c-eta"), "η", ["η"]);
    runs.set(data.run, r);
    $("empty").hidden = true;
    return r;
  }

  function healthChart(r, n) {
    if (r.charts.health && r.layers === n) return;
    if (r.charts.health) r.charts.health.destroy();
    r.layers = n;
    r.charts.health = chart(r.el.querySelector(".c-health"), "‖∂C/∂W^l‖ per layer", Array.from({ length: n }, (_, i) => `W^${i + 1}`), true);
  }

  function render(r) {
    const d = r.data, el = r.el;
    el.querySelector(".name").textContent = d.name;
    const st = el.querySelector(".status");
    st.textContent = d.status;
    st.className = `status ${d.status}`;
    const info = d.info || {};
    el.querySelector(".info").textContent = [
      info.sizes ? `network ${info.sizes.join("–")}` : "",
      info.activations ? info.activations.join(", ") : "",
      info.cost || "", info.optimizer ? `${info.optimizer} η ${info.eta}` : "",
      info.batch_size ? `batch ${info.batch_size}` : "", info.epochs ? `${info.epochs} epochs` : "",
    ].filter(Boolean).join(" · ");
    const ep = d.epochs;
    const x = ep.map((e) => e.epoch);
    const last = ep[ep.length - 1] || {};
    el.querySelector(".epochs").textContent = String(last.epoch || 0);
    el.querySelector(".cost").textContent = fmt(last.cost);
    el.querySelector(".val-cost").textContent = fmt(last.val_cost);
    el.querySelector(".val-acc").textContent = last.val_accuracy == null ? "–" : `${(100 * last.val_accuracy).toFixed(1)} %`;
    r.charts.cost.setData([x, ep.map((e) => e.cost), ep.map((e) => e.val_cost)]);
    r.charts.acc.setData([x, ep.map((e) => e.accuracy), ep.map((e) => e.val_accuracy)]);
    r.charts.eta.setData([x, ep.map((e) => e.eta)]);
    if (d.batches.length) {
      if (!r.charts.batch) r.charts.batch = chart(el.querySelector(".c-batch"), "mini-batch cost", ["cost"]);
      r.charts.batch.setData([d.batches.map((_, i) => i), d.batches.map((b) => b.cost)]);
    }
    if (d.health.length) {
      const n = d.health[d.health.length - 1].layers.length;
      healthChart(r, n);
      const hx = d.health.map((h) => h.epoch);
      r.charts.health.setData([hx, ...Array.from({ length: n }, (_, l) => d.health.map((h) => (h.layers[l] && h.layers[l].grad_w_norm > 0 ? h.layers[l].grad_w_norm : null)))]);
      const latest = d.health[d.health.length - 1];
      el.querySelector(".health").innerHTML =
        `<tr><th>layer</th><th>σ</th><th>‖∂C/∂W‖</th><th>‖∂C/∂b‖</th><th>‖ΔW‖/‖W‖</th><th>saturated</th><th>dead</th><th></th></tr>` +
        latest.layers.map((h) => `<tr><td>${h.layer}</td><td>${esc(h.activation)}</td><td>${fmt(h.grad_w_norm)}</td><td>${fmt(h.grad_b_norm)}</td><td>${fmt(h.update_ratio)}</td><td>${h.saturated == null ? "–" : (100 * h.saturated).toFixed(0) + " %"}</td><td>${h.dead == null ? "–" : (100 * h.dead).toFixed(0) + " %"}</td><td>${h.vanishing ? "vanishing" : ""}${h.exploding ? "exploding" : ""}</td></tr>`).join("");
    }
    el.querySelector(".warnings").innerHTML = d.warnings.map((w) => `<li>${esc(w)}</li>`).join("");
  }

  function blank(id) {
    return { run: id, name: id, info: {}, status: "running", epochs: [], batches: [], health: [], warnings: [], end: null };
  }

  const dirty = new Set();
  function apply(ev) {
    let r = runs.get(ev.run);
    if (!r) r = card(blank(ev.run));
    const d = r.data;
    const body = Object.fromEntries(Object.entries(ev).filter(([k]) => !["type", "run", "event", "status"].includes(k)));
    if (ev.event === "begin") Object.assign(d, { name: ev.name, info: ev.info });
    else if (ev.event === "epoch") d.epochs.push(body);
    else if (ev.event === "batch") d.batches.push(body);
    else if (ev.event === "health") d.health.push(body);
    else if (ev.event === "warning") d.warnings.push(ev.text);
    else if (ev.event === "end") d.end = body;
    d.status = ev.status;
    dirty.add(r);
  }

  function frame() {
    for (const r of dirty) render(r);
    dirty.clear();
    requestAnimationFrame(frame);
  }

  function connect() {
    const ws = new WebSocket(`ws://${location.host}/ws/live?token=${encodeURIComponent(token)}`);
    ws.onopen = () => ($("connection").textContent = "connected");
    ws.onmessage = (m) => {
      const msg = JSON.parse(m.data);
      if (msg.type === "snapshot") {
        for (const d of msg.runs) {
          const r = runs.get(d.run) || card(d);
          r.data = d;
          dirty.add(r);
        }
      } else if (msg.type === "event") {
        stats.events += 1;
        apply(msg);
      }
    };
    ws.onclose = () => {
      $("connection").textContent = "disconnected: reconnecting…";
      setTimeout(connect, 1000);
    };
  }
  requestAnimationFrame(frame);
  connect();
})();
