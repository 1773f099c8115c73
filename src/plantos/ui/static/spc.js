/* The SPC page: one characteristic's control chart drawn with uPlot from /api/v1/spc/<tag>.
   The centre line and limits are drawn per point, as each point was judged (frozen limits
   are flat, rolling limits move); the point completing each rule violation is marked red. */
(function () {
  "use strict";

  const P = window.PlantOS;
  const root = document.getElementById("spc");
  const tag = root.dataset.tag;
  const REFRESH_MS = 10000;
  const el = {
    chart: document.getElementById("chart"),
    disp: document.getElementById("chart-disp"),
    error: document.getElementById("spc-error"),
    limits: document.getElementById("limits-text"),
    count: document.getElementById("violation-count"),
    summary: document.getElementById("summary"),
    rules: document.getElementById("rules"),
    capCard: document.getElementById("capability-card"),
    cap: document.getElementById("capability"),
    noViolations: document.getElementById("no-violations"),
    violations: document.getElementById("violations"),
  };

  // Exposed for tests and for curious operators in the console.
  const state = (window.plantosSpc = { fetches: 0, answer: null, marked: 0 });
  let charts = { loc: null, disp: null };

  function url() {
    const path = tag.split("/").map(encodeURIComponent).join("/");
    return "/api/v1/spc/" + path + "?points=500";
  }

  function text(parent, tagName, content, cls) {
    const node = document.createElement(tagName);
    node.textContent = content;
    if (cls) node.className = cls;
    parent.appendChild(node);
    return node;
  }

  const fmt = (v) => P.fmtNumber(v, "float");

  /* Rolling limits need their window of subgroups first: until then the chart has points
     but no centre or control lines, and says so. */
  function limitsText(lim, location) {
    if (lim.mode === "rolling" && !location.center.some((v) => v !== null)) {
      return "Rolling limits from the " + lim.subgroups + " subgroups before each point: " +
        "the lines appear once " + lim.subgroups + " subgroups are in (" +
        location.value.length + " so far).";
    }
    if (lim.mode === "frozen") {
      return "Limits frozen by " + lim.frozen_by + " at " + P.fmtTime(Date.parse(lim.frozen_at)) +
        " from " + lim.subgroups + " baseline subgroups: centre " + fmt(lim.center) +
        ", sigma " + fmt(lim.sigma) + ".";
    }
    if (lim.mode === "rolling") {
      return "Rolling limits from the " + lim.subgroups + " subgroups before each point.";
    }
    if (lim.status === "refused") {
      return "The baseline " + lim.baseline_from + " to " + lim.baseline_to +
        " gave no limits: points are plotted, not judged.";
    }
    return "Collecting the baseline until " + P.fmtTime(Date.parse(lim.baseline_to)) +
      " (to be frozen by " + lim.frozen_by + "): points are not judged yet.";
  }

  /* The values of the points that complete a violation of ``statistic``, null elsewhere. */
  function markedSeries(t, values, violations, statistic) {
    const at = new Set(violations.filter((v) => v.statistic === statistic).map((v) => v.t_ms));
    return t.map((ms, i) => (at.has(ms) ? values[i] : null));
  }

  function options(title, unit, height) {
    const value = (u, v) => (v === null || v === undefined ? "\u2014" : fmt(v));
    const dashed = [6, 4];
    return {
      title: title,
      width: Math.max(300, el.chart.clientWidth),
      height: height,
      ms: 1,
      series: [
        { label: "Time", value: (u, v) => (v === null ? "\u2014" : P.fmtTime(v)) },
        { label: title + (unit ? " (" + unit + ")" : ""), stroke: "#1d5fb8", width: 2,
          points: { show: true, size: 5 }, value: value },
        { label: "centre", stroke: "#2e7d32", width: 1.5, dash: dashed, value: value },
        { label: "LCL", stroke: "#c62828", width: 1.5, value: value },
        { label: "UCL", stroke: "#c62828", width: 1.5, value: value },
        { label: "violation", stroke: "#c62828", fill: "#c62828", width: 0,
          paths: () => null, points: { show: true, size: 11, stroke: "#c62828", fill: "#c62828" },
          value: value },
      ],
      axes: [P.timeAxis(), { label: unit || "", size: 70 }],
      scales: { x: { time: true } },
      legend: { live: true },
    };
  }

  function draw(key, target, series, t, violations, title, unit, height) {
    const marked = markedSeries(t, series.value, violations, series.name);
    const data = [t, series.value, series.center, series.lcl, series.ucl, marked];
    if (!charts[key]) {
      target.textContent = "";
      charts[key] = new uPlot(options(title, unit, height), data, target);
    } else {
      charts[key].setData(data);
    }
    return marked.filter((v) => v !== null).length;
  }

  function renderRules(answer) {
    el.rules.textContent = "";
    answer.rules.forEach((r) => {
      const count = answer.violations.filter((v) => v.rule === r.rule &&
        (v.statistic === answer.statistic) === (r.statistic === "location")).length;
      const li = text(el.rules, "li", "");
      text(li, "strong", "Rule " + r.rule + " ");
      text(li, "span", (r.statistic === "dispersion" ? "(" + answer.dispersion_statistic + ") " : "") + r.text);
      if (count) text(li, "span", " \u2014 fired " + count + "\u00d7", "bad-count");
    });
  }

  function renderCapability(cap) {
    el.capCard.hidden = !cap;
    if (!cap) return;
    el.cap.textContent = "";
    const head = el.cap.createTHead().insertRow();
    const row = el.cap.createTBody().insertRow();
    ["Cp", "Cpk", "Pp", "Ppk", "Cpm"].forEach((name) => {
      text(head, "th", name);
      const v = cap[name.toLowerCase()];
      const cell = text(row, "td", v === null || v === undefined ? "\u2014" : v.toFixed(2), "num");
      cell.dataset.index = name.toLowerCase();
    });
    const note = el.cap.createTBody().insertRow().insertCell();
    note.colSpan = 5;
    note.className = "muted";
    note.textContent = cap.reason ? cap.reason :
      "Pp/Ppk from " + cap.samples + " " + cap.basis + "; Cp/Cpk from the chart's sigma.";
  }

  function renderViolations(list) {
    el.noViolations.hidden = list.length > 0;
    el.violations.textContent = "";
    if (!list.length) return;
    const head = el.violations.createTHead().insertRow();
    ["Time", "Rule", "Statistic", "Value", "Limits", "Phase"].forEach((h) => text(head, "th", h));
    const body = el.violations.createTBody();
    list.slice().reverse().forEach((v) => {
      const row = body.insertRow();
      row.insertCell().textContent = P.fmtTime(v.t_ms);
      row.insertCell().textContent = v.rule + ": " + v.text;
      row.insertCell().textContent = v.statistic;
      const value = row.insertCell();
      value.className = "num";
      value.textContent = fmt(v.points_value[v.points_value.length - 1]);
      row.insertCell().textContent = fmt(v.lcl) + " \u2026 " + fmt(v.ucl) + " (centre " + fmt(v.center) + ")";
      row.insertCell().textContent = v.phase;
    });
  }

  function render(answer) {
    const pts = answer.points;
    el.limits.textContent = limitsText(answer.limits, pts.location);
    let marked = draw("loc", el.chart, pts.location, pts.t_ms, answer.violations,
      pts.location.name, answer.unit, 340);
    if (pts.dispersion) {
      el.disp.hidden = false;
      marked += draw("disp", el.disp, pts.dispersion, pts.t_ms, answer.violations,
        pts.dispersion.name, answer.unit, 200);
    }
    window.plantosChart = charts.loc;
    window.plantosDispChart = charts.disp;
    state.marked = marked;
    el.count.textContent = String(answer.violations.length);
    el.summary.textContent = pts.t_ms.length + " points shown of " + answer.counters.plotted +
      " plotted; " + marked + " violating points marked red" +
      (answer.counters.skipped_bad ? "; " + answer.counters.skipped_bad + " bad-quality samples skipped" : "") + ".";
    renderRules(answer);
    renderCapability(answer.capability);
    renderViolations(answer.violations);
  }

  new ResizeObserver(() => {
    const width = Math.max(300, el.chart.clientWidth);
    Object.values(charts).forEach((c) => c && c.setSize({ width: width, height: c.height }));
  }).observe(el.chart);

  P.poll(url, render, state, el.error, "chart", REFRESH_MS);
})();
