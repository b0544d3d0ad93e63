/* The proof of work before a queue place (queueroom.bots, docs/security.md "Bots").
 * The vendored ALTCHA widget (static/vendor/altcha/) is its "external" build,
 * which bundles no workers: register the SHA-256 worker from our own origin,
 * so the strict CSP needs neither blob: nor 'unsafe-eval'. The widget looks
 * its worker up when it starts solving, after this file has run. */
(function () {
  "use strict";
  var widget = document.querySelector("altcha-widget[data-worker]");
  if (!widget || !window.$altcha) return;
  var url = widget.getAttribute("data-worker");
  window.$altcha.algorithms.set("SHA-256", function () { return new Worker(url); });
})();
