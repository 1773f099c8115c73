/* The asset health page: a spindle's anomaly score against its raise and clear thresholds,
   its alarm and the evidence of its newest anomaly, from /api/v1/assets/<asset>/health. */
(function () {
  "use strict";

  const P = window.PlantOS;
  const root = document.getElementById("health");
  const asset = root.dataset.asset;
  const REFRESH_MS = 10000;
  const el = {
    chart: document.getElementById("chart"),
    error: document.getElementById("health-error"),
    status: document.getElementById("detector-status"),
    level: document.getElementById("vibration-level"),
    score: document.getElementById("latest-score"),
    alarm: document.getElementById("alarm-state"),
    summary: document.getElementById("summary"),
    anomaly: document.getElementById("anomaly-text"),
    evidence: document.getElementById("evidence"),
    features: document.getElementById("features"),
  };

  // Exposed for tests and for curious operators in the console.
  const state = (window.plantosHealth = { fetches: 0, answer: null });
  let chart = null;

  function url() {
    const path = asset.split("/").map(encodeURIComponent).join("/");
    return "/api/v1/assets/" + path + "/health";
  }

  const fmt = (v) => P.fmtNumber(v, "float");

  function text(parent, tagName, content) {
    const node = document.createElement(tagName);
    node.textContent = content;
    parent.appendChild(node);
    return node;
  }

  function statusText(a) {
    if (a.status === "learning") {
      return "Learning its healthy baseline: " + a.rows_at_speed + " of " + a.training_rows +
        " snapshots at speed (" + a.rows_seen + " snapshots seen, " + a.standstill_rows +
        " at standstill, which are not judged).";
    }
    return "Judging every snapshot at speed against its healthy baseline (" + a.rows_seen +
      " snapshots seen, " + a.standstill_rows + " at standstill, not judged). Raised above " + fmt(a.thresholds.raise_at) + " for " +
      Math.round(a.thresholds.min_duration_s / 60) + " min, cleared below " +
      fmt(a.thresholds.clear_at) + ".";
  }

  function options(unit) {
    const value = (u, v) => (v === null || v === undefined ? "\u2014" : fmt(v));
    return {
      width: Math.max(300, el.chart.clientWidth),
      height: 340,
      ms: 1,
      series: [
        { label: "Time", value: (u, v) => (v === null ? "\u2014" : P.fmtTime(v)) },
        { label: "score", stroke: "#1d5fb8", width: 2, points: { show: true, size: 4 }, value: value },
        { label: "raise at", stroke: "#c62828", width: 1.5, dash: [6, 4], value: value },
        { label: "clear at", stroke: "#2e7d32", width: 1.5, dash: [6, 4], value: value },
        { label: "in alarm", stroke: "#c62828", width: 0, paths: () => null,
          points: { show: true, size: 9, stroke: "#c62828", fill: "#c62828" }, value: value },
      ],
      axes: [P.timeAxis(), { label: unit, size: 60 }],
      scales: { x: { time: true }, y: { distr: 3 } },
      legend: { live: true },
    };
  }

  function render(a) {
    const s = a.scores;
    const finite = s.score.map((v) => (v !== null && v > 0 ? v : null));  // a log scale
    const data = [
      s.t_ms, finite,
      s.t_ms.map(() => a.thresholds.raise_at),
      s.t_ms.map(() => a.thresholds.clear_at),
      finite.map((v, i) => (s.flag[i] ? v : null)),
    ];
    if (!chart) {
      el.chart.textContent = "";
      chart = new uPlot(options("T\u00b2 / k"), data, el.chart);
      window.plantosChart = chart;
    } else {
      chart.setData(data);
    }
    el.status.textContent = statusText(a);
    el.level.textContent = a.latest && a.latest.velocity_mm_s !== null
      ? "Vibration " + fmt(a.latest.velocity_mm_s) + " mm/s, ISO zone " + a.latest.zone +
        " (C from " + fmt(a.thresholds.velocity_zones_mm_s.b_c) + ", D from " +
        fmt(a.thresholds.velocity_zones_mm_s.c_d) + " mm/s)"
      : "";
    el.score.textContent = a.latest ? fmt(a.latest.score) : "\u2014";
    el.alarm.textContent = a.alarm.state.replaceAll("_", " ");
    el.alarm.className = "state " + (a.alarm.active ? "state-down" : "state-running");
    el.summary.textContent = s.t_ms.length + " scores shown; " +
      s.flag.filter(Boolean).length + " in alarm (red).";
    renderEvidence(a.anomaly);
    el.features.textContent = "";
    a.features.forEach((f) => text(el.features, "li", f));
  }

  function renderEvidence(anomaly) {
    const raised = anomaly.raised;
    el.evidence.hidden = !raised;
    el.evidence.textContent = "";
    if (!raised) {
      el.anomaly.textContent = "No anomaly raised.";
      return;
    }
    // The newest escalation says how severe it is now and gives the fresher estimate.
    const now = anomaly.escalated || raised;
    el.anomaly.textContent = (anomaly.active ? "Active anomaly" : "Last anomaly") + ", " +
      now.severity + ", raised at " + P.fmtTime(raised.t_ms) + " with score " + fmt(raised.score) +
      (anomaly.escalated ? " (" + raised.severity + "), " + now.severity + " since " +
        P.fmtTime(now.t_ms) : "") +
      (anomaly.cleared ? "; cleared at " + P.fmtTime(anomaly.cleared.t_ms) : "") +
      (now.time_to_threshold_s === 0 ? "; in zone D"
        : now.time_to_threshold_s ? "; zone D in about " + P.fmtAge(now.time_to_threshold_s * 1000)
        : "") + ".";
    const head = el.evidence.createTHead().insertRow();
    ["Feature", "Value", "Healthy", "Contribution to the score"].forEach((h) => text(head, "th", h));
    const body = el.evidence.createTBody();
    raised.evidence.forEach((e) => {
      const row = body.insertRow();
      row.insertCell().textContent = e.feature;
      [fmt(e.value), e.expected === null ? "\u2014" : fmt(e.expected),
        fmt(e.share)].forEach((v) => {
        const cell = row.insertCell();
        cell.className = "num";
        cell.textContent = v;
      });
    });
  }

  new ResizeObserver(() => {
    if (chart) chart.setSize({ width: Math.max(300, el.chart.clientWidth), height: chart.height });
  }).observe(el.chart);

  P.poll(url, render, state, el.error, "health", REFRESH_MS);
})();
