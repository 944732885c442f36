// nablanet playground: draws what the Python server computes. No network runs here.
"use strict";

(function () {
  const token = document.body.dataset.token;
  const $ = (id) => document.getElementById(id);
  const ETAS = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
  const LAMBDAS = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
  const FEATURES = [["x1", "x₁"], ["x2", "x₂"], ["x1^2", "x₁²"], ["x2^2", "x₂²"], ["x1x2", "x₁x₂"], ["sin1", "sin x₁"], ["sin2", "sin x₂"]];
  const ACTIVATIONS = ["tanh", "relu", "sigmoid", "leaky_relu", "identity"];
  const LIMITS = { layers: 8, neurons: 10 };
  const NEURON = 40; // CSS pixels of a neuron's heatmap
  const CTX = { alpha: false };

  // Public for the tests: frames drawn, timings, the last frame header.
  const stats = { frames: 0, serverMs: [], serverCpuMs: [], trainMs: [], renderMs: [], header: null, topology: null, errors: [] };
  window.nablanet = stats;

  let ws = null;
  let config = null;
  let topo = null;
  let plot = null;
  let curve = [[], [], []];
  let lastTraceDraw = 0;
  let lastPlot = 0;
  let lastText = 0;
  let traceKey = "";
  let hashConfig = parseHash();

  // -- colours ------------------------------------------------------------------------------
  // q in 0..255: orange (class 0) → white (½, or 0 for signed values) → blue (class 1).
  const LUT = new Uint32Array(256);
  (function () {
    const lo = [232, 121, 46], mid = [246, 246, 244], hi = [34, 116, 190];
    const little = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
    for (let q = 0; q < 256; q++) {
      const t = q / 255, a = t < 0.5 ? lo : mid, b = t < 0.5 ? mid : hi, u = t < 0.5 ? t * 2 : t * 2 - 1;
      const c = a.map((v, i) => Math.round(v + (b[i] - v) * u));
      LUT[q] = little ? (255 << 24) | (c[2] << 16) | (c[1] << 8) | c[0] : (c[0] << 24) | (c[1] << 16) | (c[2] << 8) | 255;
    }
  })();
  const CLASS = ["#d9601a", "#1d63a8"];

  // -- the URL holds the configuration ------------------------------------------------------
  function parseHash() {
    const out = {};
    const h = location.hash.replace(/^#/, "");
    if (!h) return out;
    for (const part of h.split("&")) {
      const [k, raw] = part.split("=").map(decodeURIComponent);
      if (raw === undefined) continue;
      if (["features", "activations"].includes(k)) out[k] = raw ? raw.split(",") : [];
      else if (k === "hidden") out[k] = raw ? raw.split(",").map(Number) : [];
      else if (["dataset", "output", "cost", "init", "regularization"].includes(k)) out[k] = raw;
      else if (raw !== "" && !isNaN(Number(raw))) out[k] = Number(raw);
    }
    return out;
  }
  function writeHash() {
    const parts = Object.entries(config).map(([k, v]) => `${k}=${encodeURIComponent(Array.isArray(v) ? v.join(",") : v)}`);
    history.replaceState(null, "", location.pathname + location.search + "#" + parts.join("&"));
  }

  // -- talking to the server ----------------------------------------------------------------
  function send(obj) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(obj));
  }
  function setConfig(changes) {
    send({ type: "config", config: changes });
  }
  function status(text, isError) {
    const el = $("status");
    el.textContent = text || "";
    el.className = isError ? "error" : "";
    if (isError) stats.errors.push(text);
  }

  function connect() {
    ws = new WebSocket(`ws://${location.host}/ws?token=${encodeURIComponent(token)}`);
    ws.binaryType = "arraybuffer";
    ws.onmessage = (ev) => (typeof ev.data === "string" ? onJSON(JSON.parse(ev.data)) : onFrame(ev.data));
    ws.onclose = (ev) => status(`disconnected from the server (${ev.code}${ev.reason ? ": " + ev.reason : ""}); reload the page`, true);
  }

  function onJSON(m) {
    if (m.type === "hello") {
      config = m.config;
      showConfig();
      if (Object.keys(hashConfig).length) {
        const changes = {};
        for (const [k, v] of Object.entries(hashConfig)) if (k in config && JSON.stringify(config[k]) !== JSON.stringify(v)) changes[k] = v;
        if (changes.dataset === "csv") delete changes.dataset; // an upload is not in the URL
        if (Object.keys(changes).length) setConfig(changes);
      }
      hashConfig = {};
    } else if (m.type === "config") {
      config = m.config;
      showConfig();
      status("");
    } else if (m.type === "network") {
      topo = m;
      stats.topology = m;
      config = m.config;
      showConfig();
      buildNetwork();
    } else if (m.type === "error") {
      status(m.message, true);
      if (m.diverged) setPlaying(false);
    } else if (m.type === "gradcheck") {
      showGradcheck(m);
    } else if (m.type === "download") {
      offerDownload(m);
    } else if (m.type === "explain") {
      $("explain-text").textContent = m.text;
      $("explain-text").hidden = false;
    }
  }

  // -- the controls -------------------------------------------------------------------------
  function fillSelect(el, values, fmt) {
    el.innerHTML = values.map((v) => `<option value="${v}">${fmt ? fmt(v) : v}</option>`).join("");
  }
  fillSelect($("eta"), ETAS);
  fillSelect($("lmbda"), LAMBDAS);
  $("features").innerHTML = FEATURES.map(
    ([k, label]) => `<label class="feature"><input type="checkbox" data-feature="${k}"> ${label}</label>`
  ).join("");

  function nearestOption(el, v) {
    let best = null;
    for (const o of el.options) if (best === null || Math.abs(Number(o.value) - v) < Math.abs(Number(best.value) - v)) best = o;
    if (best && Number(best.value) !== v) {
      const o = document.createElement("option");
      o.value = String(v);
      o.textContent = String(v);
      el.appendChild(o);
      return;
    }
  }

  function showConfig() {
    stats.config = config;
    for (const el of document.querySelectorAll("[data-field]")) {
      const v = config[el.dataset.field];
      if (el.tagName === "SELECT" && el.options.length && typeof v === "number") nearestOption(el, v);
      el.value = String(v);
      const out = $(el.id + "-out");
      if (out) out.textContent = el.id === "train_ratio" ? `${Math.round(v * 100)} %` : String(v);
    }
    for (const b of document.querySelectorAll("[data-dataset]")) b.classList.toggle("active", b.dataset.dataset === config.dataset);
    for (const c of document.querySelectorAll("[data-feature]")) c.checked = config.features.includes(c.dataset.feature);
    $("layer-count").textContent = `${config.hidden.length} hidden layer${config.hidden.length === 1 ? "" : "s"}`;
    writeHash();
  }

  for (const el of document.querySelectorAll("[data-field]")) {
    el.addEventListener("change", () => {
      const f = el.dataset.field;
      const v = ["regularization", "cost", "output", "init"].includes(f) ? el.value : Number(el.value);
      const changes = { [f]: v };
      if (f === "cost" && v === "binary_cross_entropy") changes.output = "sigmoid";
      setConfig(changes);
    });
    if (el.type === "range") el.addEventListener("input", () => ($(el.id + "-out").textContent = el.value));
  }
  for (const b of document.querySelectorAll("[data-dataset]")) b.addEventListener("click", () => setConfig({ dataset: b.dataset.dataset }));
  $("features").addEventListener("change", () => {
    const chosen = [...document.querySelectorAll("[data-feature]")].filter((c) => c.checked).map((c) => c.dataset.feature);
    if (!chosen.length) return showConfig(); // at least one input
    setConfig({ features: chosen });
  });
  $("regenerate").addEventListener("click", () => setConfig({ data_seed: (config.data_seed + 1) % 2147483647 }));
  $("upload").addEventListener("change", async (ev) => {
    const file = ev.target.files[0];
    if (!file) return;
    if (file.size > 512 * 1024) return status("the CSV is larger than 512 KB", true);
    send({ type: "upload", csv: await file.text() });
    $("csv-choice").disabled = false;
  });

  function setPlaying(on) {
    $("play").textContent = on ? "❚❚ pause" : "▶ play";
    $("play").classList.toggle("playing", on);
  }
  $("play").addEventListener("click", () => {
    const on = !$("play").classList.contains("playing");
    setPlaying(on);
    send({ type: on ? "play" : "pause" });
  });
  $("step").addEventListener("click", () => {
    setPlaying(false);
    send({ type: "step" });
  });
  $("reset").addEventListener("click", () => send({ type: "reset" }));
  document.addEventListener("keydown", (ev) => {
    if (ev.code === "Space" && ev.target === document.body) {
      ev.preventDefault();
      $("play").click();
    }
  });

  function changeHidden(hidden, activations) {
    setConfig({ hidden, activations });
  }
  $("add-layer").addEventListener("click", () => {
    if (config.hidden.length >= LIMITS.layers) return;
    changeHidden([...config.hidden, 4], [...config.activations, $("default-activation").value]);
  });
  $("remove-layer").addEventListener("click", () => {
    if (!config.hidden.length) return;
    changeHidden(config.hidden.slice(0, -1), config.activations.slice(0, -1));
  });

  $("gradcheck").addEventListener("click", () => {
    $("gradcheck-result").textContent = "checking…";
    send({ type: "gradcheck" });
  });
  $("download").addEventListener("click", () => send({ type: "download" }));
  $("explain").addEventListener("click", () => send({ type: "explain" }));
  $("show-test").addEventListener("change", () => stats.header && drawBoundary());

  // -- the network drawing: one canvas for heatmaps, weights and rings ------------------------
  // Every heatmap of a frame goes into one atlas (one putImageData), then each is drawn
  // scaled into place: far cheaper for the browser than one canvas element per neuron.
  let layout = null; // {xs, ys: per layer per neuron top-left, S, w, h}
  let atlas = null, atlasCtx = null, atlasImage = null, atlasPixels = null;
  let lastParams = null, deltas = null;
  const S = NEURON;

  function layerLabel(l, L) {
    return l === 0 ? "input" : l === L ? "output" : `layer ${l}`;
  }

  function computeLayout() {
    const sizes = topo.sizes, C = sizes.length, box = $("network");
    const w = Math.max(420, box.clientWidth), left = 70, right = 20, head = 58, gap = 10;
    const step = C > 1 ? (w - left - right - S) / (C - 1) : 0;
    const tallest = Math.max(...sizes);
    const h = head + tallest * (S + gap) + 8;
    const xs = sizes.map((_, l) => left + l * step);
    const ys = sizes.map((n) => Array.from({ length: n }, (_, j) => head + ((tallest - n) * (S + gap)) / 2 + j * (S + gap)));
    layout = { xs, ys, w, h };
  }

  function sizeCanvas() {
    computeLayout();
    const canvas = $("links"), dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(layout.w * dpr);
    canvas.height = Math.round(layout.h * dpr);
    canvas.style.width = layout.w + "px";
    canvas.style.height = layout.h + "px";
    $("network").style.height = layout.h + "px";
    for (const head of $("network").querySelectorAll(".column-head")) head.style.left = `${layout.xs[Number(head.dataset.layer)] + S / 2 - 38}px`;
  }

  function buildNetwork() {
    const box = $("network");
    for (const el of box.querySelectorAll(".column-head")) el.remove();
    sizeCanvas();
    const sizes = topo.sizes, L = sizes.length - 1;
    sizes.forEach((n, l) => {
      const head = document.createElement("div");
      head.className = "column-head";
      head.dataset.layer = String(l);
      head.style.left = `${layout.xs[l] + S / 2 - 38}px`;
      head.innerHTML = `<span>${layerLabel(l, L)}</span>`;
      if (l > 0 && l < L) {
        const i = l - 1;
        const sel = document.createElement("select");
        sel.className = "activation";
        sel.dataset.layer = String(l);
        fillSelect(sel, ACTIVATIONS);
        sel.value = config.activations[i];
        sel.addEventListener("change", () => {
          const acts = [...config.activations];
          acts[i] = sel.value;
          changeHidden(config.hidden, acts);
        });
        const button = (text, cls, title, delta) => {
          const b = document.createElement("button");
          b.textContent = text;
          b.className = cls;
          b.title = title;
          b.addEventListener("click", () => {
            const h = [...config.hidden];
            h[i] += delta;
            if (h[i] < 1 || h[i] > LIMITS.neurons) return;
            changeHidden(h, config.activations);
          });
          return b;
        };
        head.append(button("+", "add-neuron", "add a neuron", 1), button("−", "remove-neuron", "remove a neuron", -1), sel);
      } else if (l === L) {
        head.innerHTML += ` <small>${topo.activations[L - 1]}</small>`;
      }
      box.appendChild(head);
    });
    const N = sizes.reduce((a, b) => a + b, 0), g = topo.grid;
    atlas = document.createElement("canvas");
    atlas.width = g;
    atlas.height = g * N;
    atlasCtx = atlas.getContext("2d", { willReadFrequently: true });
    atlasImage = atlasCtx.createImageData(g, g * N);
    atlasPixels = new Uint32Array(atlasImage.data.buffer);
    lastParams = null;
    deltas = null;
    curve = [[], [], []];
    makePlot();
    traceKey = "";
    $("trace").innerHTML = "";
    $("trace-point").textContent = "click a data point";
    $("gradcheck-result").innerHTML = "";
  }

  function drawNetwork(params) {
    const canvas = $("links"), ctx = canvas.getContext("2d", CTX), dpr = window.devicePixelRatio || 1;
    const sizes = topo.sizes, g = topo.grid, { xs, ys, w, h } = layout;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#fff"; // an opaque canvas: cheaper to composite
    ctx.fillRect(0, 0, w, h);
    // Weights, bucketed by sign and width: a dozen strokes instead of one per line.
    const buckets = [new Map(), new Map()];
    let off = 0;
    for (let l = 1; l < sizes.length; l++) {
      const n0 = sizes[l - 1];
      for (let j = 0; j < sizes[l]; j++) {
        for (let k = 0; k < n0; k++) {
          const wjk = params[off + j * n0 + k];
          const level = Math.min(6, Math.round(Math.abs(wjk) * 2));
          const m = buckets[wjk >= 0 ? 1 : 0];
          if (!m.has(level)) m.set(level, []);
          m.get(level).push(xs[l - 1] + S, ys[l - 1][k] + S / 2, xs[l], ys[l][j] + S / 2);
        }
      }
      off += sizes[l] * n0;
    }
    buckets.forEach((m, sign) => {
      for (const [level, seg] of m) {
        ctx.strokeStyle = sign ? `rgba(34,116,190,${0.3 + 0.1 * level})` : `rgba(232,121,46,${0.3 + 0.1 * level})`;
        ctx.lineWidth = 0.5 + 0.6 * level;
        ctx.beginPath();
        for (let i = 0; i < seg.length; i += 4) {
          ctx.moveTo(seg[i], seg[i + 1]);
          ctx.lineTo(seg[i + 2], seg[i + 3]);
        }
        ctx.stroke();
      }
    });
    // The heatmaps, from the atlas, and |δ| as rings (nearest-neighbour scaling: cheaper to paint).
    ctx.imageSmoothingEnabled = false;
    ctx.font = "11px system-ui, sans-serif";
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    let row = 0;
    const top = deltas ? deltas.top : 0;
    sizes.forEach((n, l) => {
      for (let j = 0; j < n; j++, row++) {
        const x = xs[l], y = ys[l][j];
        ctx.drawImage(atlas, 0, row * g, g, g, x, y, S, S);
        ctx.lineWidth = 1;
        ctx.strokeStyle = "#888";
        ctx.strokeRect(x - 0.5, y - 0.5, S + 1, S + 1);
        if (l === 0) {
          ctx.fillStyle = "#555";
          ctx.fillText(topo.features[j], x - 6, y + S / 2);
        }
        const d = deltas && deltas.values[l] ? deltas.values[l][j] : undefined;
        if (d !== undefined && top > 0) {
          const t = Math.max(0, 1 + Math.log10(Math.abs(d) / top + 1e-30) / 4); // 4 decades below the largest |δ|
          ctx.lineWidth = 1 + 3 * t;
          ctx.strokeStyle = `rgba(194,24,91,${(0.15 + 0.85 * t).toFixed(2)})`;
          ctx.strokeRect(x - 3, y - 3, S + 6, S + 6);
        }
      }
    });
  }

  function paintAtlas(maps) {
    const n = atlasPixels.length;
    for (let i = 0; i < n; i++) atlasPixels[i] = LUT[maps[i]];
    atlasCtx.putImageData(atlasImage, 0, 0);
  }

  // The points never move: they are drawn once into their own layer, copied over each frame.
  let pointsLayer = null, pointsKey = "";
  function points(c, s) {
    const key = `${topo.version}:${$("show-test").checked}:${c.width}`;
    if (pointsLayer && pointsKey === key) return pointsLayer;
    pointsLayer = document.createElement("canvas");
    pointsLayer.width = c.width;
    pointsLayer.height = c.height;
    const ctx = pointsLayer.getContext("2d");
    const draw = (pts, test) => {
      for (const cls of [0, 1]) {
        ctx.beginPath();
        for (const p of pts) {
          if (p[2] !== cls) continue;
          const x = (p[0] + topo.extent) * s, y = (topo.extent - p[1]) * s;
          ctx.moveTo(x + 3.5, y);
          ctx.arc(x, y, 3.5, 0, 2 * Math.PI);
        }
        ctx.fillStyle = CLASS[cls];
        ctx.fill();
        ctx.lineWidth = test ? 1.5 : 1;
        ctx.strokeStyle = test ? "#111" : "#fff";
        ctx.stroke();
      }
    };
    draw(topo.train, false);
    if ($("show-test").checked) draw(topo.test, true);
    pointsKey = key;
    return pointsLayer;
  }

  function drawBoundary() {
    const c = $("boundary"), ctx = c.getContext("2d", CTX), g = topo.grid;
    const N = topo.sizes.reduce((a, b) => a + b, 0);
    const s = c.width / (2 * topo.extent);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(atlas, 0, (N - 1) * g, g, g, 0, 0, c.width, c.height);
    ctx.drawImage(points(c, s), 0, 0);
    const sel = stats.header && stats.header.trace;
    if (sel) {
      const p = (sel.set === "train" ? topo.train : topo.test)[sel.index];
      if (p) {
        ctx.beginPath();
        ctx.arc((p[0] + topo.extent) * s, (topo.extent - p[1]) * s, 8, 0, 2 * Math.PI);
        ctx.lineWidth = 2.5;
        ctx.strokeStyle = "#c2185b";
        ctx.stroke();
      }
    }
  }

  $("boundary").addEventListener("click", (ev) => {
    if (!topo) return;
    const c = $("boundary"), r = c.getBoundingClientRect();
    const s = c.width / (2 * topo.extent);
    const x = ((ev.clientX - r.left) * c.width) / r.width, y = ((ev.clientY - r.top) * c.height) / r.height;
    let best = null;
    const scan = (pts, set) =>
      pts.forEach((p, i) => {
        const d = Math.hypot((p[0] + topo.extent) * s - x, (topo.extent - p[1]) * s - y);
        if (d < 10 && (!best || d < best.d)) best = { d, set, index: i };
      });
    scan(topo.train, "train");
    if ($("show-test").checked) scan(topo.test, "test");
    send(best ? { type: "select", set: best.set, index: best.index } : { type: "select", set: null, index: null });
  });

  // -- charts -------------------------------------------------------------------------------
  function makePlot() {
    if (plot) plot.destroy();
    const el = $("curve");
    plot = new uPlot(
      {
        width: Math.max(260, el.clientWidth || 320),
        height: 150,
        scales: { x: { time: false } },
        axes: [{ label: "epoch", size: 36 }, { size: 48 }],
        legend: { live: false },
        series: [{ label: "epoch" }, { label: "train cost", stroke: "#555", width: 1.5 }, { label: "test cost", stroke: "#c2185b", width: 1.5 }],
      },
      curve,
      el
    );
  }

  function drawSpeed(norms) {
    const box = $("speed");
    if (box.children.length !== norms.length) {
      box.innerHTML = norms.map((_, i) => `<div class="speed-row"><span>layer ${i + 1}</span><div class="track"><div class="fill"></div></div><output></output></div>`).join("");
    }
    const finite = norms.filter((v) => v > 0);
    const hi = Math.log10(Math.max(...finite, 1e-12)), lo = Math.min(hi - 4, Math.log10(Math.min(...finite, 1)));
    [...box.children].forEach((row, i) => {
      const v = norms[i];
      const t = v > 0 ? (Math.log10(v) - lo) / (hi - lo || 1) : 0;
      row.querySelector(".fill").style.transform = `scaleX(${Math.max(0.01, Math.min(1, t)).toFixed(3)})`; // no layout
      const o = row.querySelector("output");
      o.textContent = v.toExponential(2);
      o.dataset.value = String(v);
    });
  }

  // -- the trace panel: BP1–BP4 with the numbers -----------------------------------------------
  function fmt(v) {
    const s = Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(4) : v.toExponential(2);
    return s === "-0.0000" ? "0.0000" : s;
  }
  function cells(values) {
    if (!Array.isArray(values[0])) return `<table class="vec"><tr>${values.map((v) => `<td class="num" data-value="${v}">${fmt(v)}</td>`).join("")}</tr></table>`;
    return `<table class="mat">${values.map((row) => `<tr>${row.map((v) => `<td class="num" data-value="${v}">${fmt(v)}</td>`).join("")}</tr>`).join("")}</table>`;
  }
  const EQ_NAMES = { "(25)": "weighted input", "(23)": "activation", BP1: "output error", BP2: "error of a hidden layer", BP3: "bias gradient", BP4: "weight gradient" };

  function drawTrace(tr) {
    const point = `${tr.set} point #${tr.index} at (${tr.point[0].toFixed(2)}, ${tr.point[1].toFixed(2)}), label y = ${tr.label}, cost C = ${fmt(tr.cost)}`;
    $("trace-point").textContent = point;
    const forward = tr.steps.filter((s) => s.equation === "(25)" || s.equation === "(23)");
    const backward = tr.steps.filter((s) => s.equation.startsWith("BP"));
    const row = (s) =>
      `<div class="step" data-symbol="${s.symbol}" data-equation="${s.equation}">` +
      `<span class="eq ${s.equation.startsWith("BP") ? "bp" : ""}" title="${EQ_NAMES[s.equation] || ""}">${s.equation}</span>` +
      `<span class="formula">${s.formula}</span>${cells(s.value)}</div>`;
    $("trace").innerHTML =
      `<div class="pass"><h3>forward</h3><div class="step"><span class="eq">x</span><span class="formula">a^0 = x</span>${cells(tr.x)}</div>${forward.map(row).join("")}</div>` +
      `<div class="pass"><h3>backward</h3>${backward.map(row).join("")}</div>`;
  }

  function collectDeltas(tr) {
    // |δ_j^l| of the chosen point (BP1, BP2), for the rings; public for the tests.
    if (!tr) return (deltas = stats.deltas = null);
    const values = {};
    let top = 0;
    for (const s of tr.steps) {
      if (s.equation !== "BP1" && s.equation !== "BP2") continue;
      values[s.layer] = s.value;
      for (const v of s.value) top = Math.max(top, Math.abs(v));
    }
    deltas = stats.deltas = { values, top };
  }

  // -- instruments -----------------------------------------------------------------------------
  function showGradcheck(m) {
    const rows = m.rows
      .map((r) => `<tr class="${r.passed ? "ok" : "bad"}"><td>${r.param}<sup>${r.layer}</sup></td><td>${r.norm_backprop.toExponential(3)}</td><td>${r.norm_rel_error.toExponential(2)}</td><td>${r.max_rel_error.toExponential(2)}</td><td>${r.passed ? "✓" : "✗"}</td></tr>`)
      .join("");
    $("gradcheck-result").innerHTML =
      `<p class="${m.passed ? "ok" : "bad"}" id="gradcheck-verdict">${m.passed ? "PASSED" : "FAILED"}: backprop against central differences on ${m.batch_size} training points, ${m.n_cost_evals} cost evaluations in ${(1000 * m.seconds).toFixed(0)} ms (tolerance ${m.tol_norm.toExponential(0)})</p>` +
      `<table class="gc"><tr><th>param</th><th>‖∇C‖</th><th>norm rel. err.</th><th>max rel. err.</th><th></th></tr>${rows}</table>` +
      m.notes.map((n) => `<p class="hint">${n}</p>`).join("");
  }

  function offerDownload(m) {
    const bytes = Uint8Array.from(atob(m.model), (c) => c.charCodeAt(0));
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
    a.download = m.filename;
    document.body.appendChild(a);
    a.click();
    a.remove();
    const py = $("download-py");
    py.href = URL.createObjectURL(new Blob([m.python], { type: "text/x-python" }));
    py.download = "nablanet_playground.py";
    py.hidden = false;
    $("code").textContent = m.python;
    $("code").hidden = false;
  }

  // -- a frame ---------------------------------------------------------------------------------
  function onFrame(buf) {
    const t0 = performance.now();
    const dv = new DataView(buf);
    const n = dv.getUint32(0, true);
    const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 4, n)));
    if (!topo || header.version !== topo.version) return send({ type: "ack", seq: header.seq });
    const off = 4 + n + ((4 - ((4 + n) % 4)) % 4);
    const params = new Float32Array(buf, off, topo.n_params);
    stats.params = params;
    const maps = new Uint8Array(buf, off + 4 * topo.n_params);
    const g2 = topo.grid * topo.grid;
    stats.header = header;

    collectDeltas(header.trace);
    paintAtlas(maps);
    drawNetwork(params);
    drawBoundary();
    if (!header.playing || t0 - lastText > 100) {
      // Numbers and bars at most ten times a second while playing: each change costs a layout.
      $("epoch").textContent = String(header.epoch);
      $("train-cost").textContent = header.train_cost.toFixed(4);
      $("test-cost").textContent = header.test_cost.toFixed(4);
      $("test-cost").dataset.value = String(header.test_cost);
      $("train-acc").textContent = `${(100 * header.train_accuracy).toFixed(1)} %`;
      $("test-acc").textContent = `${(100 * header.test_accuracy).toFixed(1)} %`;
      drawSpeed(header.grad_b_norms);
      lastText = t0;
    }

    curve[0].push(header.epochs);
    curve[1].push(header.train_cost);
    curve[2].push(header.test_cost);
    if (curve[0].length > 4000) curve = curve.map((s) => s.filter((_, i) => i % 2 === 0));
    if (!header.playing || t0 - lastPlot > 100) {
      plot.setData(curve); // at most 10 redraws a second while playing
      lastPlot = t0;
    }

    const tr = header.trace;
    const now = performance.now();
    if (tr && (!header.playing || now - lastTraceDraw > 150 || traceKey !== `${tr.set}${tr.index}`)) {
      drawTrace(tr);
      traceKey = `${tr.set}${tr.index}`;
      lastTraceDraw = now;
    } else if (!tr && traceKey) {
      $("trace").innerHTML = "";
      $("trace-point").textContent = "click a data point";
      traceKey = "";
    }

    stats.frames += 1;
    stats.serverMs.push(header.server_ms);
    stats.serverCpuMs.push(header.server_cpu_ms);
    stats.trainMs.push(header.train_ms);
    stats.renderMs.push(performance.now() - t0);
    for (const k of ["serverMs", "serverCpuMs", "trainMs", "renderMs"]) if (stats[k].length > 2000) stats[k].splice(0, 1000);
    send({ type: "ack", seq: header.seq });
  }

  window.addEventListener("resize", () => {
    if (topo && atlas) {
      sizeCanvas();
      if (stats.params) drawNetwork(stats.params);
    }
    if (plot) plot.setSize({ width: Math.max(260, $("curve").clientWidth), height: 150 });
  });
  connect();
})();
