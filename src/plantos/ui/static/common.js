/* PlantOS web UI, shared by every signed-in page: the platform clock in the header,
   calls to /api/v1 (problem+json errors become ApiError), and formatting. */
(function () {
  "use strict";

  const body = document.body;
  // Platform time may run faster than the wall (the demo). The server tells the speed
  // when its clock knows it; otherwise it is estimated from successive readings.
  const knownSpeed = body.dataset.speed ? Number(body.dataset.speed) : null;
  let anchorPlatform = Number(body.dataset.nowMs) || Date.now();
  let anchorWall = Date.now();
  let rateAnchor = { platform: anchorPlatform, wall: anchorWall };
  let rate = knownSpeed || 1;

  function now() {
    return anchorPlatform + (Date.now() - anchorWall) * rate;
  }

  function syncTime(nowMs) {
    const wall = Date.now();
    if (knownSpeed === null && wall - rateAnchor.wall >= 5000) {
      rate = Math.max(0, (nowMs - rateAnchor.platform) / (wall - rateAnchor.wall));
      rateAnchor = { platform: nowMs, wall: wall };
    }
    anchorPlatform = nowMs;
    anchorWall = wall;
  }

  class ApiError extends Error {
    constructor(status, title, detail) {
      super(detail);
      this.name = "ApiError";
      this.status = status;
      this.title = title;
      this.detail = detail;
    }
  }

  /* GET a JSON resource of the API with the session cookie. A 401 means the session
     ended: go to the sign-in page. Other errors carry the problem's detail. */
  async function api(url, options) {
    const res = await fetch(url, Object.assign(
      { credentials: "same-origin", headers: { Accept: "application/json" } }, options || {}));
    if (res.status === 401) {
      window.location.assign("/signin");
      throw new ApiError(401, "Unauthorized", "Your session has ended: sign in again.");
    }
    if (!res.ok) {
      let title = res.statusText || "Error";
      let detail = "The server answered " + res.status + " " + (res.statusText || "");
      if ((res.headers.get("content-type") || "").includes("json")) {
        try {
          const problem = await res.json();
          title = problem.title || title;
          detail = problem.detail || detail;
        } catch (e) { /* keep the generic detail */ }
      }
      throw new ApiError(res.status, title, detail);
    }
    return res.json();
  }

  const pad = (n, width) => String(n).padStart(width || 2, "0");

  /* Local time as 2026-01-05 06:00:00 (the operator's screen is in the plant). */
  function fmtTime(ms, withDate) {
    const d = new Date(ms);
    const time = pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
    if (withDate === false) return time;
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + time;
  }

  function fmtAge(ms) {
    const s = Math.max(0, ms) / 1000;
    if (s < 1) return "now";
    if (s < 60) return Math.floor(s) + " s";
    const m = s / 60;
    if (m < 60) return Math.floor(m) + " min";
    const h = m / 60;
    if (h < 48) return Math.floor(h) + " h " + Math.floor(m % 60) + " min";
    return Math.floor(h / 24) + " d";
  }

  function fmtNumber(value, dtype) {
    if (value === null || value === undefined || Number.isNaN(value)) return "\u2014";
    if (dtype === "bool") return value ? "true" : "false";
    if (dtype === "int" || dtype === "enum") return Math.round(value).toLocaleString();
    const a = Math.abs(value);
    const digits = a >= 1000 ? 0 : a >= 100 ? 1 : a >= 1 ? 2 : a === 0 ? 1 : 3;
    return value.toLocaleString(undefined,
      { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }

  /* OPC UA quality names: Good..., Uncertain..., Bad... */
  function qualityClass(name) {
    if (!name) return "none";
    if (name.startsWith("Bad")) return "bad";
    if (name.startsWith("Uncertain")) return "uncertain";
    return "good";
  }

  const STATE_CLASS = {
    running: "running", run: "running", producing: "running", auto: "running",
    idle: "idle", starved: "idle", blocked: "idle", waiting: "idle", paused: "idle",
    down: "down", fault: "down", faulted: "down", error: "down", alarm: "down",
    stopped: "down", failure: "down",
    off: "off", "powered off": "off",
    changeover: "setup", setup: "setup", maintenance: "setup",
  };

  function stateClass(text) {
    if (!text) return "state-none";
    return "state-" + (STATE_CLASS[String(text).toLowerCase()] || "other");
  }

  /* The connection badge in the header: live, reconnecting or lost. */
  function setConnection(status, text) {
    const el = document.getElementById("conn");
    if (!el) return;
    el.hidden = false;
    el.className = "conn conn-" + status;
    el.textContent = text || status;
  }

  const clockEl = document.getElementById("platform-time");
  function tick() {
    if (clockEl) clockEl.textContent = fmtTime(now());
  }
  tick();
  setInterval(tick, 500);

  async function pollStatus() {
    try {
      syncTime((await api("/api/v1/status")).now_ms);
    } catch (e) { /* the header clock keeps extrapolating */ }
  }
  setInterval(pollStatus, 15000);

  /* Fetch ``url()`` now and every ``everyMs``: hand each answer to ``render`` (after
     noting it in ``state``), or say in ``errorEl`` why the ``what`` could not be loaded. */
  function poll(url, render, state, errorEl, what, everyMs) {
    async function load() {
      try {
        const answer = await api(url());
        state.fetches += 1;
        state.answer = answer;
        errorEl.hidden = true;
        render(answer);
      } catch (e) {
        errorEl.hidden = false;
        errorEl.textContent = "Could not load the " + what + ": " + (e.detail || e.message || String(e));
      }
      setTimeout(load, everyMs);
    }
    load();
  }

  window.PlantOS = {
    poll: poll,
    now: now,
    rate: () => rate,
    syncTime: syncTime,
    api: api,
    ApiError: ApiError,
    fmtTime: fmtTime,
    fmtAge: fmtAge,
    fmtNumber: fmtNumber,
    qualityClass: qualityClass,
    stateClass: stateClass,
    setConnection: setConnection,
  };
})();
