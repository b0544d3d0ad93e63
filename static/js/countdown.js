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
      if (left === 0 && !node.dataset.done && !("noReload" in node.dataset)) { node.dataset.done = "1"; setTimeout(function () { location.reload(); }, 1500); }
    });
  }
  tick();
  setInterval(tick, 1000);
})();
