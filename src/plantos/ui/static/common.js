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

  /* Plant time: the zone of the page's subject (its site's shift calendar), 24-hour,
     whatever the browser's zone. The zone's abbreviation comes from en-GB (CET, UTC)
     or, where that only knows an offset, en-US (CST). */
  const zone = body.dataset.tz || "UTC";
  const partsFormat = new Intl.DateTimeFormat("en-CA", {
    timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
  const zoneNames = ["en-GB", "en-US"].map((locale) =>
    new Intl.DateTimeFormat(locale, { timeZone: zone, timeZoneName: "short" }));

  function plantParts(ms) {
    const p = {};
    partsFormat.formatToParts(new Date(ms)).forEach((x) => { p[x.type] = x.value; });
    return {
      date: p.year + "-" + p.month + "-" + p.day,
      time: p.hour + ":" + p.minute + ":" + p.second,
    };
  }

  function zoneName(ms) {
    let name = zone;
    for (const f of zoneNames) {
      const found = f.formatToParts(new Date(ms)).find((x) => x.type === "timeZoneName");
      if (found) name = found.value;
      if (!name.startsWith("GMT")) break;
    }
    return name;
  }

  /* 2026-01-05 06:00:00 CET in plant time; the time alone with withDate false. */
  function fmtTime(ms, withDate) {
    const p = plantParts(ms);
    if (withDate === false) return p.time;
    return p.date + " " + p.time + " " + zoneName(ms);
  }

  /* A uPlot x axis in plant time: 24-hour ticks at least 80 px apart (labels never
     overlap), the date under the first tick of each day, whole dates for day ticks.
     Use with the chart option ``ms: 1``. */
  function timeAxis() {
    return {
      space: 80,
      size: 56,
      values: (u, splits, axisIdx, space, incr) => {
        let prevDay = null;
        return splits.map((v) => {
          const p = plantParts(v);
          let label;
          if (incr >= 86400e3) {
            label = p.date;
          } else {
            label = incr < 60e3 ? p.time : p.time.slice(0, 5);
            if (p.date !== prevDay) label += "\n" + p.date;
          }
          prevDay = p.date;
          return label;
        });
      },
    };
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

  /* An asset for a narrow column: its site and its own id (plant-a · cnc-07); the
     server's short_asset writes the same. */
  function shortAsset(path) {
    if (!path) return "";
    const parts = path.split("/");
    return parts.length > 2 ? parts[0] + " · " + parts[parts.length - 1] : path;
  }

  function fmtNumber(value, dtype) {
    if (value === null || value === undefined || Number.isNaN(value)) return "\u2014";
    if (dtype === "bool") return value ? "true" : "false";
    if (dtype === "int" || dtype === "uint" || dtype === "enum") return Math.round(value).toLocaleString();
    const a = Math.abs(value);
    const digits = a >= 1000 ? 0 : a >= 100 ? 1 : a >= 1 ? 2 : a === 0 ? 1 : 3;
    return value.toLocaleString(undefined,
      { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }

  /* A live value as people read it: an enum's state name, a text as it is, whole numbers
     from their exact decimal text (a JSON number is a double and loses digits past 2^53). */
  function fmtLive(item, dtype) {
    if (item.value === null || item.value === undefined) return "\u2014";
    if (dtype === "enum") return item.text || "code " + item.value;
    if (dtype === "text") return String(item.value);
    if ((dtype === "int" || dtype === "uint") && item.text) return BigInt(item.text).toLocaleString();
    return fmtNumber(item.value, dtype);
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

  /* The header's clock: its date is a part of its own, which a narrow header hides
     (the whole time stays in the tooltip). */
  const clockEl = document.getElementById("platform-time");
  function tick() {
    if (!clockEl) return;
    const ms = now();
    clockEl.querySelector(".date").textContent = plantParts(ms).date;
    clockEl.querySelector(".hms").textContent = fmtTime(ms, false) + " " + zoneName(ms);
    clockEl.title = fmtTime(ms);
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

  /* The main menus open without a script (<details>); this only keeps one open at a
     time and closes it on a click elsewhere or Escape, as a menu bar does. */
  const menus = Array.from(document.querySelectorAll("nav.mainnav details.menu"));
  menus.forEach((menu) => menu.addEventListener("toggle", () => {
    if (menu.open) menus.forEach((other) => { if (other !== menu) other.open = false; });
  }));
  document.addEventListener("click", (event) => {
    menus.forEach((menu) => { if (menu.open && !menu.contains(event.target)) menu.open = false; });
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    const open = menus.find((menu) => menu.open);
    if (open) {
      open.open = false;
      open.querySelector("summary").focus();
    }
  });

  window.PlantOS = {
    poll: poll,
    now: now,
    rate: () => rate,
    syncTime: syncTime,
    api: api,
    ApiError: ApiError,
    fmtTime: fmtTime,
    timeAxis: timeAxis,
    zone: zone,
    fmtAge: fmtAge,
    shortAsset: shortAsset,
    fmtNumber: fmtNumber,
    fmtLive: fmtLive,
    qualityClass: qualityClass,
    stateClass: stateClass,
    setConnection: setConnection,
  };
})();
