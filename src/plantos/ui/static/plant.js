/* The plant page: live values from the server-sent event stream, ages and staleness,
   the tag filter, and which assets are expanded (remembered in this browser). */
(function () {
  "use strict";

  const P = window.PlantOS;
  const STREAM_INTERVAL_MS = 1000;
  const MIN_STALE_MS = 10000;
  const LATE_AFTER_PERIODS = 3;
  const OPEN_KEY = "plantos.plant.open";

  const rows = new Map();
  document.querySelectorAll("tr[data-tag]").forEach((tr) => {
    rows.set(tr.dataset.tag, {
      tr: tr,
      type: tr.dataset.type,
      report: tr.dataset.report || "sample",
      periodMs: Number(tr.dataset.periodMs) || 0,
      v: tr.querySelector(".value .v"),
      q: tr.querySelector("td.quality"),
      age: tr.querySelector("td.age"),
      asset: tr.closest("details.asset"),
      ts: null,
      quality: null,
      stale: false,
    });
  });
  const stateBadges = new Map();
  document.querySelectorAll("[data-state-of]").forEach((el) => stateBadges.set(el.dataset.stateOf, el));
  const assets = Array.from(document.querySelectorAll("details.asset"));

  /* ---- live values ---- */

  function show(item) {
    const r = rows.get(item.path);
    if (!r) return;
    r.ts = item.ts ? Date.parse(item.ts) : null;
    r.quality = item.quality;
    const text = P.fmtLive(item, r.type);
    if (r.v.textContent !== text) r.v.textContent = text;
    if (r.type === "text") r.v.title = text;
    if (r.type === "enum") {
      r.v.className = "v state " + P.stateClass(item.value === null ? null : item.text);
      r.v.title = item.value === null ? "" : "state code " + item.value;
    }
    const qc = P.qualityClass(item.quality);
    r.q.textContent = item.quality || "\u2014";
    r.q.className = "quality q-" + qc;
    r.tr.classList.toggle("q-bad", qc === "bad");
    r.tr.classList.toggle("q-uncertain", qc === "uncertain");
    r.tr.classList.toggle("nodata", r.ts === null);
    r.tr.dataset.value = item.value === null ? "" : String(item.value);
    const badge = stateBadges.get(item.path);
    if (badge) {
      badge.textContent = item.value === null ? "\u2014" : text;
      badge.className = "state " + P.stateClass(item.value === null ? null : item.text)
        + (qc === "bad" ? " state-badq" : "");
    }
  }

  /* Platform ms after which a value is late, or Infinity. A tag reported by exception
     (OPC UA, Sparkplug, MQTT) is never late by age: silence on a live link means
     "unchanged", and a lost link shows as bad quality. A polled tag's period is wall
     time (scaled by the platform's rate); a sampled tag's is platform time. */
  function staleAfterMs(r) {
    if (r.report === "exception" || !r.periodMs) return Infinity;
    const period = r.report === "poll" ? r.periodMs * P.rate() : r.periodMs;
    return Math.max(LATE_AFTER_PERIODS * period, 3 * STREAM_INTERVAL_MS * P.rate(), MIN_STALE_MS);
  }

  /* Ages, staleness and the per-asset problem counts, once a second. A value is stale
     when three of its expected updates (or stream intervals, in platform time) passed. */
  function refreshAges() {
    const now = P.now();
    rows.forEach((r) => {
      let text = "no data";
      let stale = false;
      if (r.ts !== null) {
        const age = now - r.ts;
        stale = age > staleAfterMs(r);
        text = P.fmtAge(age) + (stale ? " \u00b7 stale" : "");
      }
      if (r.age.textContent !== text) r.age.textContent = text;
      if (stale !== r.stale) {
        r.stale = stale;
        r.tr.classList.toggle("stale", stale);
      }
    });
    assets.forEach((d) => {
      let bad = 0;
      let stale = 0;
      d.querySelectorAll("tr[data-tag]").forEach((tr) => {
        if (tr.classList.contains("q-bad")) bad += 1;
        else if (tr.classList.contains("stale")) stale += 1;
      });
      const el = d.querySelector(".bad-count");
      const parts = [];
      if (bad) parts.push(bad + " bad");
      if (stale) parts.push(stale + " stale");
      el.hidden = parts.length === 0;
      el.textContent = parts.join(", ");
      el.classList.toggle("has-bad", bad > 0);
    });
  }

  const liveStats = (window.plantosLive = { events: 0 });
  let source = null;

  function connect() {
    source = new EventSource("/api/v1/live/stream?prefix=");
    source.addEventListener("live", (ev) => {
      const data = JSON.parse(ev.data);
      P.syncTime(data.now_ms);
      data.values.forEach(show);
      liveStats.events += 1;
      P.setConnection("live", "live");
      refreshAges();
    });
    source.addEventListener("open", () => P.setConnection("live", "live"));
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) {
        // Refused (e.g. the session ended): api() sends us to sign in on a 401.
        P.setConnection("lost", "disconnected");
        P.api("/api/v1/status").then(() => setTimeout(connect, 3000), () => setTimeout(connect, 5000));
      } else {
        P.setConnection("reconnecting", "reconnecting\u2026");
      }
    });
  }

  /* ---- expanded assets ---- */

  function loadOpen() {
    try {
      return new Set(JSON.parse(localStorage.getItem(OPEN_KEY) || "[]"));
    } catch (e) {
      return new Set();
    }
  }
  const userOpen = loadOpen();
  function saveOpen() {
    try {
      localStorage.setItem(OPEN_KEY, JSON.stringify(Array.from(userOpen)));
    } catch (e) { /* storage may be disabled */ }
  }

  /* ---- filter ---- */

  const filter = document.getElementById("filter");
  const countEl = document.getElementById("filter-count");
  const noMatch = document.getElementById("no-match");
  const total = rows.size;
  let filtering = false;

  function applyFilter() {
    const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    filtering = words.length > 0;
    let shown = 0;
    assets.forEach((d) => {
      const name = (d.dataset.name || "").toLowerCase();
      let any = false;
      d.querySelectorAll("tr[data-tag]").forEach((tr) => {
        const hay = tr.dataset.tag.toLowerCase() + " " + name;
        const ok = words.every((w) => hay.includes(w));
        tr.hidden = !ok;
        if (ok) {
          any = true;
          shown += 1;
        }
      });
      d.hidden = !any;
      d.open = filtering ? any : userOpen.has(d.dataset.asset);
    });
    document.querySelectorAll("section.node").forEach((s) => {
      s.hidden = !s.querySelector("details.asset:not([hidden])");
    });
    countEl.textContent = filtering ? shown + " of " + total + " tags" : total + " tags";
    noMatch.hidden = shown > 0;
    const url = new URL(window.location.href);
    if (filtering) url.searchParams.set("q", filter.value.trim());
    else url.searchParams.delete("q");
    window.history.replaceState(null, "", url);
  }

  let filterTimer = null;
  filter.addEventListener("input", () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(applyFilter, 120);
  });
  filter.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") {
      filter.value = "";
      applyFilter();
    }
  });

  assets.forEach((d) => {
    d.addEventListener("toggle", () => {
      if (filtering) return;
      if (d.open) userOpen.add(d.dataset.asset);
      else userOpen.delete(d.dataset.asset);
      saveOpen();
    });
  });

  function setAll(open) {
    assets.forEach((d) => {
      if (!d.hidden) d.open = open;
    });
  }
  document.getElementById("expand-all").addEventListener("click", () => setAll(true));
  document.getElementById("collapse-all").addEventListener("click", () => setAll(false));

  filter.value = new URLSearchParams(window.location.search).get("q") || "";
  applyFilter();
  connect();
  setInterval(refreshAges, 1000);
})();
