// The operator station: its open notifications pushed by server-sent events, each with
// a form to acknowledge it.
"use strict";
(function () {
  const list = document.getElementById("notifications");
  if (!list) return;
  const station = list.dataset.station;
  const csrf = list.dataset.csrf;
  const empty = document.getElementById("no-notifications");
  function item(n) {
    const li = document.createElement("li");
    li.className = `notification priority-${n.priority}`;
    li.dataset.notification = n.id;
    const priority = document.createElement("span");
    priority.className = "priority";
    priority.textContent = `P${n.priority}`;
    const title = document.createElement("span");
    title.className = "title";
    title.textContent = n.title;
    const when = document.createElement("span");
    when.className = "muted";
    const at = window.PlantOS.fmtTime(Date.parse(n.at));  // common.js loads after this file
    when.textContent = n.occurrences > 1 ? `${at} · ${n.occurrences} times` : at;
    const form = document.createElement("form");
    form.method = "post";
    form.action = `/stations/${station}/acknowledge`;
    for (const [name, value] of [["csrf_token", csrf], ["notification_id", n.id]]) {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = value;
      form.append(input);
    }
    const button = document.createElement("button");
    button.type = "submit";
    button.className = "ack";
    button.textContent = "Acknowledge";
    form.append(button);
    li.append(priority, " ", title, " ", when, form);
    return li;
  }
  const source = new EventSource(`/api/v1/stations/${station}/stream`);
  source.addEventListener("notifications", (event) => {
    const shown = JSON.parse(event.data);
    list.replaceChildren(...shown.map(item));
    empty.hidden = shown.length > 0;
  });
})();
