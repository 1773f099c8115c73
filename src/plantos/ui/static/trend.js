/* The trend page: the history of one tag drawn with uPlot. The bucket is chosen so the
   chart gets at most MAX_POINTS points: raw samples when the range is short enough,
   else bucketed aggregates drawn as a line inside a min..max band. A text tag (a program,
   a batch number) has no line to draw: its history is a timeline of values instead. */
(function () {
  "use strict";

  const P = window.PlantOS;
  const root = document.getElementById("trend");
  const tag = root.dataset.tag;
  const dtype = root.dataset.type;
  const unit = root.dataset.unit;
  const samplingMs = Number(root.dataset.samplingMs) || 1000;
  const states = JSON.parse(root.dataset.states || "null");
  const signal = tag.split("/").pop();

  const MAX_POINTS = 1000;
  const RANGES = { "15m": 15 * 60e3, "1h": 3600e3, "8h": 8 * 3600e3, "24h": 24 * 3600e3, "7d": 7 * 86400e3 };
  const BUCKETS = [
    [1e3, "1s"], [2e3, "2s"], [5e3, "5s"], [10e3, "10s"], [15e3, "15s"], [30e3, "30s"],
    [60e3, "1m"], [120e3, "2m"], [300e3, "5m"], [600e3, "10m"], [900e3, "15m"], [1800e3, "30m"],
    [3600e3, "1h"], [7200e3, "2h"], [10800e3, "3h"], [21600e3, "6h"], [43200e3, "12h"],
    [86400e3, "1d"], [172800e3, "2d"], [604800e3, "7d"],
  ];
  const COLOR = "#1d5fb8";

  const el = {
    chart: document.getElementById("chart"),
    error: document.getElementById("trend-error"),
    summary: document.getElementById("summary"),
    latest: document.getElementById("latest-value"),
    latestTime: document.getElementById("latest-time"),
    follow: document.getElementById("follow"),
    custom: document.getElementById("custom"),
    from: document.getElementById("from"),
    to: document.getElementById("to"),
    csv: document.getElementById("csv"),
    toggleTable: document.getElementById("toggle-table"),
    tableWrap: document.getElementById("table-wrap"),
    table: document.getElementById("data-table"),
  };

  // Exposed for tests and for curious operators in the console.
  const state = (window.plantosTrend = {
    range: "1h", from: null, to: null, forceBucket: false,
    fetches: 0, shape: null, answer: null, plan: null, columns: null,
  });
  let chart = null;
  let inflight = null;
  let followTimer = null;
  let csvUrl = null;

  /* ---- what to ask for ---- */

  function plan() {
    let spanMs;
    let from;
    let to;
    if (state.range === "custom") {
      from = state.from;
      to = state.to;
      spanMs = Date.parse(to) - Date.parse(from);
    } else {
      spanMs = RANGES[state.range];
      from = "-" + state.range;
      to = "now";
    }
    const params = new URLSearchParams({ from: from, to: to });
    if (!state.forceBucket && spanMs / samplingMs <= MAX_POINTS) {
      params.set("limit", String(2 * MAX_POINTS));
      return { mode: "raw", params: params };
    }
    const wanted = Math.max(spanMs / MAX_POINTS, samplingMs);
    const bucket = BUCKETS.find((b) => b[0] >= wanted) || BUCKETS[BUCKETS.length - 1];
    params.set("bucket", bucket[1]);
    params.set("agg", dtype === "float" ? "avg,min,max" : dtype === "text" ? "last,changes" : "last,min,max");
    return { mode: "bucket", params: params, bucket: bucket[1] };
  }

  function samplesUrl(p) {
    const path = tag.split("/").map(encodeURIComponent).join("/");
    return "/api/v1/tags/" + path + "/samples?" + p.params.toString();
  }

  /* ---- fetching ---- */

  async function load() {
    if (inflight) inflight.abort();
    const ctrl = new AbortController();
    inflight = ctrl;
    clearTimeout(followTimer);
    const p = plan();
    try {
      const answer = await P.api(samplesUrl(p), { signal: ctrl.signal });
      state.fetches += 1;
      if (p.mode === "raw" && answer.truncated) {
        state.forceBucket = true;  // more samples than the sampling rate promised
        inflight = null;
        return load();
      }
      showError(null);
      render(answer, p);
      await loadLive(ctrl.signal);
    } catch (e) {
      if (e.name === "AbortError") return;
      showError(e.detail || e.message || String(e));
    } finally {
      if (inflight === ctrl) {
        inflight = null;
        scheduleFollow();
      }
    }
  }

  function following() {
    return el.follow.checked && state.range !== "custom";
  }

  function scheduleFollow() {
    clearTimeout(followTimer);
    if (!following()) return;
    const everyMs = RANGES[state.range] <= RANGES["8h"] ? 2000 : 10000;
    followTimer = setTimeout(() => {
      if (document.hidden) scheduleFollow();
      else load();
    }, everyMs);
  }

  function showError(detail) {
    el.error.hidden = !detail;
    el.error.textContent = detail ? "Could not load the history: " + detail : "";
    if (detail) el.summary.textContent = "";
  }

  /* ---- drawing ---- */

  function fmtValue(v) {
    if (v === null || v === undefined) return "\u2014";
    if (states && dtype === "enum") {
      const name = states[String(Math.round(v))];
      if (name !== undefined && Math.abs(v - Math.round(v)) < 1e-9) return name;
    }
    return P.fmtNumber(v, dtype === "enum" ? "float" : dtype);
  }

  function columnsOf(answer, p) {
    if (p.mode === "raw") {
      // Values of bad quality are left out of the line; their time spans are shaded.
      const bad = answer.quality.map((q) => q.startsWith("Bad"));
      return {
        time: "time",
        cols: [{ name: signal, csv: "value", values: answer.value.map((v, i) => (bad[i] ? null : v)) }],
        extra: { name: "quality", values: answer.quality },
        badSpans: spansOf(answer.t_ms, bad, Date.parse(answer.to)),
      };
    }
    const main = dtype === "float" ? "avg" : "last";
    if (dtype === "text") {
      return {
        time: "bucket start",
        cols: [
          { name: "last", csv: "last", values: answer.last },
          { name: "changes", csv: "changes", values: answer.changes },
        ],
        extra: null,
        badSpans: [],
      };
    }
    return {
      time: "bucket start",
      cols: [
        { name: main, csv: main, values: answer[main] },
        { name: "min", csv: "min", values: answer.min, edge: true },
        { name: "max", csv: "max", values: answer.max, edge: true },
      ],
      extra: null,
      badSpans: [],
    };
  }

  /* [start, end) of each run of flagged samples: a run lasts until the next sample,
     the last one until the end of the range (its quality is the last known). */
  function spansOf(t, flags, endMs) {
    const spans = [];
    for (let i = 0; i < t.length; i++) {
      if (!flags[i]) continue;
      let j = i;
      while (j + 1 < t.length && flags[j + 1]) j++;
      spans.push([t[i], j + 1 < t.length ? t[j + 1] : Math.max(t[j] + 1, endMs)]);
      i = j;
    }
    return spans;
  }

  function shadeBadSpans(u) {
    const spans = state.columns ? state.columns.badSpans : [];
    if (!spans.length) return;
    const ctx = u.ctx;
    ctx.save();
    ctx.fillStyle = "rgba(198, 40, 40, 0.16)";
    spans.forEach(([a, b]) => {
      const x0 = Math.max(u.bbox.left, u.valToPos(a, "x", true));
      const x1 = Math.min(u.bbox.left + u.bbox.width, u.valToPos(b, "x", true));
      if (x1 >= x0) ctx.fillRect(x0, u.bbox.top, Math.max(3, x1 - x0), u.bbox.height);
    });
    ctx.restore();
  }

  function yAxis() {
    const axis = { label: unit || (dtype === "enum" ? "state" : ""), size: 80, labelSize: 24 };
    if (states && dtype === "enum") {
      const codes = Object.keys(states).map(Number).sort((a, b) => a - b);
      axis.splits = () => codes;
      axis.values = (u, splits) => splits.map((v) => states[String(v)] || "");
      axis.size = 110;
    }
    return axis;
  }

  function chartOptions(columns) {
    const stepped = dtype !== "float" ? uPlot.paths.stepped({ align: 1 }) : undefined;
    const series = [{ label: "Time", value: (u, v) => (v === null ? "\u2014" : P.fmtTime(v)) }];
    const bands = [];
    columns.cols.forEach((c, i) => {
      if (c.edge) {
        series.push({ label: c.name, stroke: "rgba(29,95,184,0.35)", width: 1, paths: stepped, value: (u, v) => fmtValue(v) });
      } else {
        series.push({
          label: c.name + (unit ? " (" + unit + ")" : ""), stroke: COLOR, width: 2, paths: stepped,
          points: { show: false }, value: (u, v) => fmtValue(v),
        });
      }
      if (c.name === "max") bands.push({ series: [i + 1, i], fill: "rgba(29,95,184,0.14)" });
    });
    const scales = { x: { time: true } };
    if (states && dtype === "enum") {
      const codes = Object.keys(states).map(Number);
      scales.y = { range: [Math.min(...codes) - 0.5, Math.max(...codes) + 0.5] };
    }
    return {
      width: chartWidth(),
      height: chartHeight(),
      ms: 1,
      padding: [12, 36, 0, 0],  // room for the date under the last time tick
      series: series,
      bands: bands,
      scales: scales,
      axes: [P.timeAxis(), yAxis()],
      cursor: { drag: { x: true, y: false } },
      legend: { live: true },
      hooks: {
        drawClear: [shadeBadSpans],
        setSelect: [(u) => {
          if (u.select.width > 0 && el.follow.checked) {
            el.follow.checked = false;  // a zoomed-in view should not jump away
            clearTimeout(followTimer);
          }
        }],
      },
    };
  }

  function chartWidth() {
    return Math.max(300, el.chart.clientWidth);
  }

  function chartHeight() {
    return Math.max(280, Math.min(560, Math.round(window.innerHeight * 0.55)));
  }

  /* A text tag's history: one band, a segment per value from its time to the next. */
  const PALETTE = ["#1d5fb8", "#2e7d32", "#8e24aa", "#ef6c00", "#00838f", "#6d4c41", "#c2185b", "#546e7a"];

  function segmentsOf(answer, columns) {
    const t = answer.t_ms;
    const values = columns.cols[0].values;
    const bad = columns.extra ? columns.extra.values.map((q) => q.startsWith("Bad")) : t.map(() => false);
    const end = Date.parse(answer.to);
    const segments = [];
    for (let i = 0; i < t.length; i++) {
      const v = bad[i] ? (answer.value[i] === null ? null : answer.value[i]) : values[i];
      const last = segments[segments.length - 1];
      if (last && last.value === v && last.bad === bad[i]) continue;
      if (last) last.to = t[i];
      segments.push({ from: t[i], to: end, value: v, bad: bad[i] });
    }
    return segments;
  }

  function renderTimeline(answer, columns) {
    if (chart) { chart.destroy(); chart = null; }
    const from = Date.parse(answer.from);
    const span = Math.max(Date.parse(answer.to) - from, 1);
    const segments = segmentsOf(answer, columns);
    // Colours by the values' sorted order: the same set of values keeps its colours.
    const distinct = Array.from(new Set(segments.filter((g) => !g.bad && g.value !== null)
      .map((g) => String(g.value)))).sort();
    const colour = (label) => PALETTE[distinct.indexOf(label) % PALETTE.length];
    const held = new Map();
    const band = document.createElement("div");
    band.className = "timeline";
    band.setAttribute("role", "list");
    segments.forEach((seg) => {
      const start = Math.max(seg.from, from);
      const label = seg.value === null ? "no value" : String(seg.value);
      const s = document.createElement("div");
      s.className = "segment" + (seg.bad ? " bad" : "") + (seg.value === null ? " none" : "");
      s.setAttribute("role", "listitem");
      s.style.left = (100 * (start - from) / span) + "%";
      s.style.width = Math.max(0.2, 100 * (seg.to - start) / span) + "%";
      if (!seg.bad && seg.value !== null) {
        s.style.background = colour(label);
        held.set(label, (held.get(label) || 0) + seg.to - start);
      }
      s.textContent = label;
      s.title = label + "\n" + P.fmtTime(seg.from) + " \u2013 " + P.fmtTime(seg.to) + (seg.bad ? "\nbad quality" : "");
      band.appendChild(s);
    });
    const axis = document.createElement("div");
    axis.className = "timeline-axis muted";
    axis.textContent = P.fmtTime(from) + " \u2013 " + P.fmtTime(Date.parse(answer.to));
    const legend = document.createElement("ul");
    legend.className = "timeline-legend";
    distinct.forEach((label) => {
      const li = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = colour(label);
      const minutes = Math.round(held.get(label) / 60e3);
      li.append(swatch, label + " \u00b7 " + minutes + " min (" + Math.round(100 * held.get(label) / span) + "%)");
      legend.appendChild(li);
    });
    el.chart.replaceChildren(band, axis, legend);
    state.shape = "timeline";
  }

  function render(answer, p) {
    const columns = columnsOf(answer, p);
    state.columns = columns;
    if (dtype === "text") renderTimeline(answer, columns);
    else drawChart(answer, p, columns);
    state.answer = answer;
    state.plan = p;
    showSummary(answer, p, columns);
    updateCsv(answer, columns);
    if (!el.tableWrap.hidden) renderTable();
  }

  function drawChart(answer, p, columns) {
    const data = [answer.t_ms].concat(columns.cols.map((c) => c.values));
    const shape = p.mode + ":" + columns.cols.map((c) => c.name).join(",");
    if (!chart || state.shape !== shape) {
      if (chart) chart.destroy();
      el.chart.textContent = "";
      chart = new uPlot(chartOptions(columns), data, el.chart);
      state.shape = shape;
      window.plantosChart = chart;
    } else {
      chart.setData(data);
    }
    chart.setScale("x", { min: Date.parse(answer.from), max: Date.parse(answer.to) });
  }

  function showSummary(answer, p, columns) {
    const n = answer.t_ms.length;
    const span = P.fmtTime(Date.parse(answer.from)) + " \u2013 " + P.fmtTime(Date.parse(answer.to));
    let what;
    if (p.mode === "raw") what = n + " raw samples";
    else what = n + " buckets of " + answer.bucket + " (" + p.params.get("agg").replaceAll(",", ", ") + ", from " + answer.source + ")";
    const bad = columns.badSpans.length
      ? " \u00b7 bad quality shaded red (" + columns.badSpans.length + (columns.badSpans.length > 1 ? " spans)" : " span)")
      : "";
    el.summary.textContent = (n ? what : "No samples in this range") + bad + " \u00b7 " + span;
  }

  /* The big number: the tag's live value (newest sample, with its quality). */
  async function loadLive(signal) {
    try {
      const snap = await P.api("/api/v1/live?prefix=" + encodeURIComponent(tag), { signal: signal });
      const live = snap.values.find((v) => v.path === tag);
      if (!live || live.ts === null) {
        el.latest.textContent = "\u2014";
        el.latestTime.textContent = "no live value yet";
        return;
      }
      el.latest.textContent = P.fmtLive(live, dtype);
      const qc = P.qualityClass(live.quality);
      el.latest.className = "v" + (dtype === "enum" ? " state " + P.stateClass(live.text) : "")
        + " q-" + qc;
      el.latestTime.textContent = "live at " + P.fmtTime(Date.parse(live.ts))
        + (qc === "good" ? "" : " \u00b7 " + live.quality);
      el.latestTime.className = "q-" + qc;
    } catch (e) {
      if (e.name !== "AbortError") el.latestTime.textContent = "live value unavailable";
    }
  }

  /* ---- what is shown, as CSV and as a table ---- */

  function csvCell(v) {
    if (v === null || v === undefined) return "";
    const s = String(v);
    return /[",\n]/.test(s) ? '"' + s.replaceAll('"', '""') + '"' : s;
  }

  function tableRows(answer, columns) {
    const cols = columns.cols.filter((c) => c.csv);
    const header = [columns.time + " (UTC)"].concat(cols.map((c) => c.csv));
    if (columns.extra) header.push(columns.extra.name);
    const body = answer.t_ms.map((t, i) => {
      // Raw values of bad quality sit in their own column for the chart; put them back.
      const row = [new Date(t).toISOString()].concat(cols.map((c) => {
        const v = c.values[i];
        if (v === null && columns.extra && c.csv === "value") return answer.value[i];
        return v;
      }));
      if (columns.extra) row.push(columns.extra.values[i]);
      return row;
    });
    return { header: header, body: body };
  }

  function updateCsv(answer, columns) {
    const t = tableRows(answer, columns);
    const lines = [t.header.map(csvCell).join(",")].concat(t.body.map((r) => r.map(csvCell).join(",")));
    if (csvUrl) URL.revokeObjectURL(csvUrl);
    csvUrl = URL.createObjectURL(new Blob([lines.join("\n") + "\n"], { type: "text/csv" }));
    el.csv.href = csvUrl;
    const stamp = (iso) => iso.replace(/[:]/g, "").replace(/\.\d+Z$/, "Z");
    el.csv.download = tag.replaceAll("/", "_") + "_" + stamp(answer.from) + "_" + stamp(answer.to) + ".csv";
    el.csv.hidden = false;
  }

  function renderTable() {
    if (!state.answer) return;
    const t = tableRows(state.answer, state.columns);
    const head = document.createElement("thead");
    const hr = head.insertRow();
    ["local time"].concat(t.header).forEach((h) => {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = h;
      hr.appendChild(th);
    });
    const body = document.createElement("tbody");
    for (let i = t.body.length - 1; i >= 0; i--) {
      const row = t.body[i];
      const tr = body.insertRow();
      tr.insertCell().textContent = P.fmtTime(Date.parse(row[0]));
      row.forEach((v, j) => {
        const td = tr.insertCell();
        td.textContent = j === 0 || typeof v !== "number" ? (v === null ? "" : String(v)) : fmtValue(v);
        if (typeof v === "number") td.className = "num";
      });
    }
    el.table.replaceChildren(head, body);
  }

  el.toggleTable.addEventListener("click", () => {
    el.tableWrap.hidden = !el.tableWrap.hidden;
    el.toggleTable.textContent = el.tableWrap.hidden ? "Show table" : "Hide table";
    if (!el.tableWrap.hidden) renderTable();
  });

  /* ---- range picker ---- */

  function toLocalInput(ms) {
    const d = new Date(ms);
    const pad = (n) => String(n).padStart(2, "0");
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T"
      + pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }

  function markActive() {
    document.querySelectorAll("[data-range]").forEach((b) => {
      b.setAttribute("aria-pressed", String(b.dataset.range === state.range));
    });
    el.follow.disabled = state.range === "custom";
    el.custom.hidden = state.range !== "custom";
  }

  function syncUrl() {
    const url = new URL(window.location.href);
    ["range", "from", "to"].forEach((k) => url.searchParams.delete(k));
    if (state.range === "custom") {
      url.searchParams.set("from", state.from);
      url.searchParams.set("to", state.to);
    } else {
      url.searchParams.set("range", state.range);
    }
    window.history.replaceState(null, "", url);
  }

  function choose(range) {
    state.range = range;
    state.forceBucket = false;
    markActive();
    syncUrl();
    load();
  }

  document.querySelectorAll("[data-range]").forEach((b) => {
    b.addEventListener("click", () => {
      if (b.dataset.range !== "custom") {
        choose(b.dataset.range);
        return;
      }
      const a = state.answer;
      const endMs = a ? Date.parse(a.to) : P.now();
      const startMs = a ? Date.parse(a.from) : endMs - 3600e3;
      el.from.value = toLocalInput(startMs);
      el.to.value = toLocalInput(endMs);
      el.custom.hidden = false;
      el.from.focus();
    });
  });

  el.custom.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const from = new Date(el.from.value);
    const to = new Date(el.to.value);
    if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) {
      showError("enter both a start and an end time");
      return;
    }
    state.from = from.toISOString();
    state.to = to.toISOString();
    choose("custom");
  });

  el.follow.addEventListener("change", () => {
    if (following()) load();
    else clearTimeout(followTimer);
  });

  if (typeof ResizeObserver !== "undefined") {
    new ResizeObserver(() => {
      if (chart) chart.setSize({ width: chartWidth(), height: chartHeight() });
    }).observe(el.chart);
  }

  /* ---- start from the URL ---- */

  const params = new URLSearchParams(window.location.search);
  if (params.get("from") && params.get("to")) {
    state.range = "custom";
    state.from = params.get("from");
    state.to = params.get("to");
    el.from.value = toLocalInput(Date.parse(state.from));
    el.to.value = toLocalInput(Date.parse(state.to));
  } else if (RANGES[params.get("range")]) {
    state.range = params.get("range");
  }
  markActive();
  load();
})();
