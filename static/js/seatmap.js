// Seat map: click to choose up to the limit; availability refreshed by polling
// the seats API. The form posts the chosen ids (works without JS via the
// checkbox list in <noscript>).
(function () {
  var map = document.getElementById("seatmap");
  var form = document.getElementById("pick-form");
  if (!map || !form) return;
  var max = parseInt(map.dataset.max, 10);
  var note = document.getElementById("pick-note");
  var counter = document.getElementById("pick-count");
  var availCount = document.getElementById("avail-count");
  var submit = form.querySelector("button[type=submit]");
  var seats = {};
  var chosen = {};
  map.querySelectorAll(".seat").forEach(function (el) { seats[el.dataset.id] = el; });

  function render() {
    form.querySelectorAll("input[name=seat_ids]").forEach(function (i) { i.remove(); });
    var n = 0;
    Object.keys(chosen).forEach(function (id) {
      var input = document.createElement("input");
      input.type = "hidden"; input.name = "seat_ids"; input.value = id;
      form.appendChild(input);
      n++;
    });
    counter.textContent = n;
    submit.disabled = n === 0;
  }

  function toggle(el) {
    if (!el || el.classList.contains("taken")) return;
    var id = el.dataset.id;
    if (chosen[id]) {
      delete chosen[id];
      el.classList.remove("chosen");
      el.setAttribute("aria-pressed", "false");
    } else {
      if (Object.keys(chosen).length >= max) { note.textContent = map.dataset.maxMsg; return; }
      chosen[id] = true;
      el.classList.add("chosen");
      el.setAttribute("aria-pressed", "true");
    }
    note.textContent = "";
    render();
  }

  map.addEventListener("click", function (e) { toggle(e.target.closest(".seat")); });
  map.addEventListener("keydown", function (e) {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(e.target.closest(".seat")); }
  });

  function apply(data) {
    var lost = 0;
    data.seats.forEach(function (s) {
      var el = seats[s.id];
      if (!el) return;
      el.classList.toggle("taken", !s.available);
      el.classList.toggle("avail", s.available);
      el.setAttribute("tabindex", s.available ? "0" : "-1");
      if (!s.available && chosen[s.id]) {
        delete chosen[s.id];
        el.classList.remove("chosen");
        el.setAttribute("aria-pressed", "false");
        lost++;
      }
    });
    if (availCount) availCount.textContent = data.available;
    if (lost) note.textContent = map.dataset.lostMsg;
    render();
  }

  var delay = 3000;
  function poll() {
    if (document.hidden) { setTimeout(poll, delay); return; }
    fetch(map.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { apply(data); delay = 3000; } else { delay = Math.min(delay * 2, 30000); } })
      .catch(function () { delay = Math.min(delay * 2, 30000); })
      .then(function () { setTimeout(poll, delay); });
  }
  render();
  setTimeout(poll, delay);
})();
