// Live waiting room: WebSocket updates, polling fallback, sound + notification on our turn.
(function () {
  var root = document.getElementById("queue");
  if (!root || !root.dataset.token) return;
  var statusUrl = root.dataset.statusUrl;
  function q(name) { return root.querySelector('[data-q="' + name + '"]'); }
  function set(name, value) { var n = q(name); if (n && value !== null && value !== undefined) n.textContent = value; }
  function fmt(s) { return s < 90 ? s + " s" : Math.round(s / 60) + " min"; }
  // The same words as the server-rendered page (data-eta-soon, data-eta-min).
  // Each update's estimate is smoothed with the previous one (counted down
  // since), so the range does not jump with every tick's admission count.
  var smooth = null;
  function etaText(r, paused) {
    if (paused) { smooth = null; return root.dataset.etaPaused; }
    var now = Date.now();
    if (smooth) {
      var gone = (now - smooth.at) / 1000;
      r = [0.7 * Math.max(smooth.r[0] - gone, 0) + 0.3 * r[0], 0.7 * Math.max(smooth.r[1] - gone, 0) + 0.3 * r[1]];
    }
    smooth = { r: r, at: now };
    // Whole minutes, at least one wide: never "1–1 min" (queueroom.views.eta_minutes).
    var low = Math.floor(r[0] / 60), high = Math.max(Math.ceil(r[1] / 60), low + 1);
    if (high <= 1) return root.dataset.etaSoon;
    return low + "–" + high + " " + root.dataset.etaMin;
  }
  // The pre-queue: count down to the opening, then say the places are being
  // drawn (never "opens in 0 s") and ask every 2 s until this fan has one.
  var preQueue = !!root.querySelector(".q-prequeue");
  var countdown = root.querySelector(".countdown[data-seconds]");
  var drawing = false;
  function awaitDraw() {
    if (drawing) return; drawing = true;
    var line = root.querySelector(".q-opens");
    if (line && line.dataset.openingText) { line.textContent = line.dataset.openingText; line.classList.add("q-drawing"); }
    (function ask() {
      fetch(statusUrl, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; })
        .then(function (m) { if (m && m.status !== "PRE_QUEUE") { apply(m); } else { setTimeout(ask, 2000); } })
        .catch(function () { setTimeout(ask, 5000); });
    })();
  }
  if (countdown) {
    var end = Date.now() + 1000 * parseInt(countdown.dataset.seconds || "0", 10);
    var timer = setInterval(function () {
      var left = Math.max(0, Math.round((end - Date.now()) / 1000));
      countdown.textContent = fmt(left);
      if (left === 0) { clearInterval(timer); awaitDraw(); }
    }, 1000);
  } else if (preQueue) {
    awaitDraw();
  }
  var notifyButton = root.querySelector(".q-notify");
  if (notifyButton && "Notification" in window && Notification.permission === "default") {
    notifyButton.hidden = false;
    notifyButton.onclick = function () { Notification.requestPermission(); notifyButton.hidden = true; };
  }
  var done = false;
  function ourTurn(storeUrl) {
    if (done) return; done = true;
    try {
      var ctx = new (window.AudioContext || window.webkitAudioContext)();
      var osc = ctx.createOscillator(); osc.frequency.value = 880; osc.connect(ctx.destination);
      osc.start(); osc.stop(ctx.currentTime + 0.4);
    } catch (e) { /* no audio */ }
    if ("Notification" in window && Notification.permission === "granted") {
      try { new Notification(document.title, { body: root.dataset.turnText || "It is your turn!" }); } catch (e) { /* ignore */ }
    }
    // The status call sets the pass cookie (HttpOnly), then we go to the store.
    fetch(statusUrl, { credentials: "same-origin" }).then(function () { location.href = storeUrl; });
  }
  // Every tick the server sends one queue.tick frame, the same for every fan
  // of the event: each lane's front, the leavers beyond it and the rate.
  // The fan's own place (from the snapshot on connect) turns it into the
  // queue.state fields, as queueroom.messages.frame_state does.
  var me = null;
  function fromFrame(f) {
    if (f.closed) return { status: "CLOSED", reason: "sold_out", paused: f.paused };
    if (!me) return null;
    var lane = f.lanes[String(me.lane)];
    if (!lane || !lane.opened) return null;
    // Our lane has opened: on the pre-queue page that is news of a place.
    if (me.place === null || me.place === undefined) return preQueue ? { status: "WAITING" } : null;
    if (me.place <= lane.front) return null; // our turn: the server tells this fan alone
    var raw = me.place - lane.front - 1;
    var ahead = lane.gone ? raw - Math.round(lane.gone * raw / lane.behind) : raw;
    if (ahead < 0) ahead = 0;
    var eta = ahead / lane.per_second;
    return { status: "WAITING", position: ahead + 1, ahead: ahead, total_waiting: f.waiting, eta_seconds: Math.floor(eta),
      eta_range: [Math.floor(eta * 0.8), Math.ceil(eta * 1.3)], paused: f.paused, updated_at: f.updated_at };
  }
  function apply(m) {
    if (m.type === "queue.tick") { m = fromFrame(m); if (!m) return; }
    if (m.lane !== undefined && m.lane !== null) me = { lane: m.lane, place: m.place };
    if (m.type === "queue.offered") { ourTurn(m.store_url); return; }
    // The pre-queue page has no place to show: any news of a place means a reload.
    if (preQueue && m.status && m.status !== "PRE_QUEUE") {
      if (m.status === "ADMITTED" && m.store_url) { ourTurn(m.store_url); } else { location.reload(); }
      return;
    }
    if (m.status === "WAITING") {
      set("position", m.position); set("ahead", m.ahead); set("total", m.total_waiting);
      if (m.eta_range || m.paused) set("eta", etaText(m.eta_range, m.paused));
      var banner = q("paused"); if (banner) banner.hidden = !m.paused;
      var bar = q("bar"); if (bar && m.position) { var place = parseInt(bar.dataset.place || m.position, 10); bar.dataset.place = place; bar.style.width = Math.round(100 * (place - m.position) / place) + "%"; }
      set("updated", new Date().toLocaleTimeString());
    } else if (m.status === "ADMITTED" || m.status === "OFFERED" || m.status === "CLOSED" || (m.status !== "PRE_QUEUE" && m.status !== "WAITING")) {
      location.reload();
    }
  }
  var pollTimer = null;
  function poll() {
    fetch(statusUrl, { credentials: "same-origin" }).then(function (r) {
      // Busy or unavailable (429/503): keep the page as it is and ask again when told.
      if (r.status === 429 || r.status === 503) {
        pollTimer = setTimeout(poll, 1000 * (parseInt(r.headers.get("Retry-After"), 10) || 10));
        return null;
      }
      return r.json();
    }).then(function (m) {
      if (!m) return;
      if (m.status === "ADMITTED" && m.store_url) { ourTurn(m.store_url); return; }
      apply(m);
      pollTimer = setTimeout(poll, 1000 * (m.poll_after_seconds || 10));
    }).catch(function () { pollTimer = setTimeout(poll, 10000); });
  }
  var retry = 1000;
  function connect() {
    if (!root.dataset.ws || !("WebSocket" in window)) { poll(); return; }
    var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + root.dataset.ws);
    ws.onopen = function () { retry = 1000; if (pollTimer) { clearTimeout(pollTimer); pollTimer = null; } };
    ws.onmessage = function (e) { apply(JSON.parse(e.data)); };
    ws.onclose = function () { if (done) return; if (!pollTimer) poll(); setTimeout(connect, retry); retry = Math.min(retry * 2, 30000); };
  }
  connect();
})();
