// Counts down to each [data-countdown] ISO time; reloads the page when it is reached
// (unless the node says data-no-reload: a page where the fan may be choosing seats).
(function () {
  if (window.countdownStarted) return;  // a page may include this script twice (the store session bar)
  window.countdownStarted = true;
  var nodes = document.querySelectorAll("[data-countdown]");
  if (!nodes.length) return;
  function pad(n) { return n < 10 ? "0" + n : "" + n; }
  function tick() {
    var now = Date.now();
    nodes.forEach(function (node) {
      var left = Math.max(0, Math.floor((Date.parse(node.dataset.countdown) - now) / 1000));
      var d = Math.floor(left / 86400), h = Math.floor(left % 86400 / 3600);
      var m = Math.floor(left % 3600 / 60), s = left % 60;
      node.textContent = (d ? d + "d " : "") + pad(h) + ":" + pad(m) + ":" + pad(s);
      if (node.dataset.warn && left <= 120) document.getElementById(node.dataset.warn).hidden = false;
      // Screen readers hear the time left at a few moments, not every second.
      if (node.dataset.announce) [300, 120, 60, 30].forEach(function (mark) {
        // Within a few seconds of the mark: a throttled background tab may skip the exact second.
        if (left <= mark && left > mark - 5 && node.dataset.said !== "" + mark) {
          node.dataset.said = "" + mark;
          document.getElementById(node.dataset.announce).textContent = node.getAttribute("data-announce-" + mark);
        }
      });
      if (left === 0 && !node.dataset.done && !("noReload" in node.dataset)) { node.dataset.done = "1"; setTimeout(function () { location.reload(); }, 1500); }
    });
  }
  tick();
  setInterval(tick, 1000);
  // A page restored from the back/forward cache shows an old state: ask again.
  window.addEventListener("pageshow", function (event) { if (event.persisted) location.reload(); });
})();
