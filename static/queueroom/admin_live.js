// The promoter's live queue panel (queueroom/admin.py, "Virtual queue, live"):
// fetches the panel's body every data-every-ms from the staff-only endpoint
// in data-url and swaps it in, without reloading the page. Stops while the
// tab is hidden and fetches at once when it shows again. When an answer does
// not come (Redis down: 503, server gone, logged out) the last figures stay,
// greyed, under the data-unavailable text; the server marks figures the
// admitter has stopped updating itself (a warning line in the body).
// The panel's state is in data-polling ("on", "hidden") and data-updates
// (answers shown so far), for the tests.
(function () {
  "use strict";
  var MAX_BACKOFF_MS = 30000;
  var TIMEOUT_MS = 5000;

  function start() {
    var panel = document.querySelector("[data-queue-live]");
    if (!panel || !window.fetch) return;
    var url = panel.getAttribute("data-url");
    var every = parseInt(panel.getAttribute("data-every-ms"), 10) || 2000;
    var body = panel.querySelector(".queue-live-body");
    var note = panel.querySelector(".queue-live-note");
    var timer = null;
    var inFlight = false;
    var failures = 0;
    var updates = 0;

    function schedule(ms) {
      clearTimeout(timer);
      timer = setTimeout(refresh, ms);
    }

    function unavailable() {
      failures += 1;
      panel.classList.add("is-stale");
      note.textContent = panel.getAttribute("data-unavailable");
    }

    function show(data) {
      failures = 0;
      body.innerHTML = data.html; // server-rendered and escaped (format_html)
      panel.classList.toggle("is-stale", !!data.stale);
      note.textContent = "";
      updates += 1;
      panel.setAttribute("data-updates", String(updates));
    }

    function refresh() {
      if (document.hidden || inFlight) return;
      inFlight = true;
      var controller = window.AbortController ? new AbortController() : null;
      var timeout = setTimeout(function () { if (controller) controller.abort(); }, TIMEOUT_MS);
      fetch(url, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "application/json" },
        signal: controller ? controller.signal : undefined
      })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (data) {
          if (typeof data.html !== "string") throw new Error("no figures");
          show(data);
        })
        .catch(unavailable)
        .then(function () {
          clearTimeout(timeout);
          inFlight = false;
          if (document.hidden) return;
          // Back off while the server does not answer: 4, 8, 16, 30 s.
          var wait = failures ? Math.min(every * Math.pow(2, failures), MAX_BACKOFF_MS) : every;
          schedule(wait);
        });
    }

    document.addEventListener("visibilitychange", function () {
      if (document.hidden) {
        clearTimeout(timer);
        panel.setAttribute("data-polling", "hidden");
      } else {
        panel.setAttribute("data-polling", "on");
        refresh();
      }
    });
    panel.setAttribute("data-polling", document.hidden ? "hidden" : "on");
    if (!document.hidden) schedule(every);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
