/* The proof of work before a queue place (queueroom.bots, docs/security.md "Bots").
 * The vendored ALTCHA widget (static/vendor/altcha/) is its "external" build,
 * which bundles no workers: register the SHA-256 worker from our own origin,
 * so the strict CSP needs neither blob: nor 'unsafe-eval'. The widget looks
 * its worker up when it starts solving, after this file has run.
 * A fan who presses "Join" before the widget is done (it solves on load, in
 * a few hundred milliseconds) is joined as soon as it is, not refused. */
(function () {
  "use strict";
  var widgets = document.querySelectorAll("altcha-widget[data-worker]");
  if (!widgets.length || !window.$altcha) return;
  var url = widgets[0].getAttribute("data-worker");
  window.$altcha.algorithms.set("SHA-256", function () { return new Worker(url); });
  Array.prototype.forEach.call(widgets, function (widget) {
    var form = widget.closest("form");
    if (!form) return;
    // On the button's click, before the browser validates the form: the
    // widget's own (hidden) checkbox is required until it is done, which
    // would stop the submit without a word.
    form.querySelectorAll("button[type=submit]").forEach(function (button) {
      button.addEventListener("click", function (event) {
        var field = form.querySelector("input[name=altcha]");
        if (field && field.value) return;
        event.preventDefault();
        button.disabled = true;
        widget.addEventListener("verified", function () {
          button.disabled = false;
          if (form.requestSubmit) form.requestSubmit(button); else form.submit();
        }, { once: true });
      });
    });
  });
})();
