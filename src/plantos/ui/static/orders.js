// Live progress on the orders page: the counts, state and ETA of each row from the API.
"use strict";
(function () {
  const table = document.getElementById("orders");
  if (!table) return;
  const P = window.PlantOS;
  const EVERY_MS = 3000;
  async function refresh() {
    try {
      const r = await fetch("/api/v1/orders", { credentials: "same-origin" });
      if (!r.ok) return;
      const body = await r.json();
      for (const o of body.orders) {
        const row = table.querySelector(`tr[data-order="${CSS.escape(o.id)}"]`);
        if (!row) continue;
        row.className = `state-${o.state}${o.late ? " late" : ""}`;
        row.querySelector(".state").textContent = o.state;
        const bar = row.querySelector("progress");
        bar.value = Math.min(o.good, o.quantity);
        row.querySelector(".count").textContent = `${o.good}/${o.quantity}`;
        row.querySelector(".scrap").textContent = String(o.scrap);
        row.querySelector(".operation").textContent = o.operation.name || String(o.operation.index);
        const asset = row.querySelector(".asset");
        asset.textContent = P.shortAsset(o.asset);
        asset.title = o.asset || "";
        row.querySelector(".eta").textContent = o.eta ? P.fmtTime(Date.parse(o.eta)) : "";
      }
    } catch (e) {
      // the next round tries again; the connection badge of common.js tells the user
    }
  }
  setInterval(refresh, EVERY_MS);
})();
