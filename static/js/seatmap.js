// Seat map of one section (templates/inventory/section.html, docs/pages.md).
//
// A grid in the ARIA sense: rows of seats, one Tab stop for the whole map
// (roving tabindex), arrow keys between seats, Enter or Space to choose.
// Taken seats stay reachable so a screen reader hears them ("taken",
// aria-disabled). Click or tap chooses the nearest seat, so the target is the
// whole seat pitch, not the dot. While seats are drawn smaller than a finger
// (under MIN_PITCH px apart) a tap zooms in instead; buttons, pinch and
// ctrl+wheel zoom too, and the map pans by scrolling. Availability is polled
// from the seats API (the same cached answer for every fan). The form posts
// the chosen ids; without JavaScript a checkbox list per row does it.
(function () {
  "use strict";
  var map = document.getElementById("seatmap");
  var form = document.getElementById("pick-form");
  if (!map || !form) return;

  var MIN_PITCH = 24;   // px between seat centres before a tap may choose
  var TAP_PITCH = 36;   // px a tap-to-zoom brings them to
  var MAX_PITCH = 64;   // px: the largest zoom
  var SVGNS = "http://www.w3.org/2000/svg";

  var max = parseInt(map.dataset.max, 10);
  var pitch = parseFloat(map.dataset.pitch);
  var radius = parseFloat(map.dataset.radius);
  var viewport = map.parentNode;
  var note = document.getElementById("pick-note");
  var counter = document.getElementById("pick-count");
  var list = document.getElementById("pick-list");
  var readout = document.getElementById("seat-readout");
  var availCount = document.getElementById("avail-count");
  var submit = form.querySelector("button[type=submit]");
  var tools = form.querySelector(".map-tools");
  var hint = form.querySelector(".zoom-hint");

  // rows[r][c] = seat element; each seat knows its place and centre.
  var rows = [];
  var seats = {};
  var chosen = {};
  var focused = null;
  map.querySelectorAll("[role=row]").forEach(function (rowEl) {
    var row = [];
    rowEl.querySelectorAll(".seat").forEach(function (el) {
      var m = /translate\(([-\d.e]+)[ ,]+([-\d.e]+)\)/.exec(el.getAttribute("transform") || "");
      el._r = rows.length;
      el._c = row.length;
      el._x = m ? parseFloat(m[1]) : 0;
      el._y = m ? parseFloat(m[2]) : 0;
      el._row = rowEl.dataset.row;
      el.setAttribute("tabindex", "-1");
      el.setAttribute("aria-selected", "false");
      seats[el.dataset.id] = el;
      row.push(el);
    });
    if (row.length) rows.push(row);
  });
  if (!rows.length) return;
  // Chromium puts the <svg> itself in the Tab order; the map's one stop is
  // its current seat.
  map.setAttribute("tabindex", "-1");
  focused = seats[map.dataset.first] || rows[0][0];
  focused.setAttribute("tabindex", "0");

  function isTaken(el) { return el.classList.contains("taken"); }

  function label(el) {
    var template = isTaken(el) ? map.dataset.labelTaken : map.dataset.labelFree;
    return template.replace("{row}", el._row).replace("{number}", el.dataset.n);
  }

  function mark(el, kind) {
    var old = el.querySelector("use");
    if (old) old.remove();
    if (!kind) return;
    var use = document.createElementNS(SVGNS, "use");
    use.setAttribute("href", "#mk-" + kind);
    use.setAttribute("x", -radius);
    use.setAttribute("y", -radius);
    use.setAttribute("width", 2 * radius);
    use.setAttribute("height", 2 * radius);
    el.appendChild(use);
  }

  function render() {
    form.querySelectorAll("input[name=seat_ids]").forEach(function (i) { i.remove(); });
    var names = [];
    Object.keys(chosen).forEach(function (id) {
      var input = document.createElement("input");
      input.type = "hidden"; input.name = "seat_ids"; input.value = id;
      form.appendChild(input);
      names.push(seats[id]._row + "-" + seats[id].dataset.n);
    });
    counter.textContent = names.length;
    list.textContent = names.length ? "(" + names.join(", ") + ")" : "";
    if (names.length) submit.removeAttribute("aria-disabled");
    else submit.setAttribute("aria-disabled", "true");
  }

  function toggle(el) {
    if (!el) return;
    moveFocus(el, false);
    if (isTaken(el)) return;
    var id = el.dataset.id;
    if (chosen[id]) {
      delete chosen[id];
      el.classList.remove("chosen");
      el.setAttribute("aria-selected", "false");
      mark(el, null);
    } else {
      if (Object.keys(chosen).length >= max) { note.textContent = map.dataset.maxMsg; return; }
      chosen[id] = true;
      el.classList.add("chosen");
      el.setAttribute("aria-selected", "true");
      mark(el, "chosen");
    }
    note.textContent = "";
    render();
  }

  // --- keyboard: one Tab stop, arrows inside --------------------------------
  function moveFocus(el, focus) {
    if (focused !== el) {
      focused.setAttribute("tabindex", "-1");
      el.setAttribute("tabindex", "0");
      focused = el;
    }
    if (focus) el.focus();
    show(el);
  }

  function nearestIn(row, x) {
    var best = row[0];
    row.forEach(function (el) { if (Math.abs(el._x - x) < Math.abs(best._x - x)) best = el; });
    return best;
  }

  map.addEventListener("keydown", function (e) {
    var el = e.target.closest(".seat");
    if (!el) return;
    var row = rows[el._r], next = null;
    switch (e.key) {
      case "ArrowRight": next = row[el._c + 1]; break;
      case "ArrowLeft": next = row[el._c - 1]; break;
      case "ArrowDown": if (rows[el._r + 1]) next = nearestIn(rows[el._r + 1], el._x); break;
      case "ArrowUp": if (rows[el._r - 1]) next = nearestIn(rows[el._r - 1], el._x); break;
      case "Home": next = e.ctrlKey ? rows[0][0] : row[0]; break;
      case "End": next = e.ctrlKey ? rows[rows.length - 1][rows[rows.length - 1].length - 1] : row[row.length - 1]; break;
      case "PageUp": next = nearestIn(rows[Math.max(0, el._r - 5)], el._x); break;
      case "PageDown": next = nearestIn(rows[Math.min(rows.length - 1, el._r + 5)], el._x); break;
      case "Enter": case " ": e.preventDefault(); toggle(el); return;
      default: return;
    }
    e.preventDefault();
    if (next) moveFocus(next, true);
  });
  map.addEventListener("focusin", function (e) {
    var el = e.target.closest(".seat");
    if (el) { moveFocus(el, false); el.scrollIntoView({ block: "nearest", inline: "nearest" }); }
  });

  // --- pointer: nearest seat, or zoom while too small to tap ----------------
  function toMap(clientX, clientY) {
    var point = map.createSVGPoint();
    point.x = clientX; point.y = clientY;
    return point.matrixTransform(map.getScreenCTM().inverse());
  }

  function seatAt(clientX, clientY) {
    var p = toMap(clientX, clientY), best = null, bestD = pitch * pitch * 0.55;
    rows.forEach(function (row) {
      if (Math.abs(row[0]._y - p.y) > pitch) return;
      row.forEach(function (el) {
        var d = (el._x - p.x) * (el._x - p.x) + (el._y - p.y) * (el._y - p.y);
        if (d < bestD) { best = el; bestD = d; }
      });
    });
    return best;
  }

  function show(el) { if (readout) readout.textContent = el ? label(el) : ""; }

  map.addEventListener("click", function (e) {
    if (pitchPx() < MIN_PITCH) {
      zoomTo(widthForPitch(TAP_PITCH), e.clientX, e.clientY);
      return;
    }
    toggle(seatAt(e.clientX, e.clientY));
  });
  map.addEventListener("pointermove", function (e) {
    if (e.pointerType === "mouse") show(seatAt(e.clientX, e.clientY));
  });

  // --- zoom and pan ----------------------------------------------------------
  var unitsWide = map.viewBox.baseVal.width;
  var naturalMax = parseFloat(map.style.maxWidth) || Infinity;

  function width() { return map.getBoundingClientRect().width; }
  function pitchPx() { return width() / unitsWide * pitch; }
  function widthForPitch(px) { return unitsWide / pitch * px; }
  function fitWidth() { return Math.min(viewport.clientWidth, naturalMax); }

  // Zoom around a point (client coordinates; the viewport's centre by
  // default): the spot under the finger or pointer stays where it is.
  function zoomTo(target, clientX, clientY) {
    var fit = fitWidth();
    target = Math.max(fit, Math.min(target, widthForPitch(MAX_PITCH)));
    var box = viewport.getBoundingClientRect();
    if (clientX === undefined) { clientX = box.left + viewport.clientWidth / 2; clientY = box.top + viewport.clientHeight / 2; }
    var spot = toMap(clientX, clientY);
    if (target <= fit + 1) {
      map.style.width = "";
      map.style.maxWidth = naturalMax + "px";
    } else {
      map.style.maxWidth = "none";
      map.style.width = target + "px";
    }
    var point = map.createSVGPoint();
    point.x = spot.x; point.y = spot.y;
    var now = point.matrixTransform(map.getScreenCTM());
    viewport.scrollLeft += now.x - clientX;
    viewport.scrollTop += now.y - clientY;
    viewport.classList.toggle("zoomed", target > fit + 1);
    update();
  }

  function update() {
    var small = pitchPx() < MIN_PITCH;
    if (hint) hint.hidden = !small;
    tools.querySelector("[data-zoom=in]").disabled = width() >= widthForPitch(MAX_PITCH) - 1;
    tools.querySelector("[data-zoom=out]").disabled = tools.querySelector("[data-zoom=fit]").disabled =
      width() <= fitWidth() + 1;
  }

  tools.hidden = false;
  tools.addEventListener("click", function (e) {
    var button = e.target.closest("button[data-zoom]");
    if (!button) return;
    var how = button.dataset.zoom;
    zoomTo(how === "in" ? width() * 1.5 : how === "out" ? width() / 1.5 : 0);
  });
  map.addEventListener("wheel", function (e) {
    if (!e.ctrlKey) return;  // a trackpad pinch arrives as ctrl+wheel
    e.preventDefault();
    zoomTo(width() * Math.exp(-e.deltaY / 200), e.clientX, e.clientY);
  }, { passive: false });

  var pinch = null;
  function spread(t) { return Math.hypot(t[0].clientX - t[1].clientX, t[0].clientY - t[1].clientY); }
  viewport.addEventListener("touchstart", function (e) {
    if (e.touches.length === 2) pinch = { d: spread(e.touches), w: width() };
  }, { passive: true });
  viewport.addEventListener("touchmove", function (e) {
    if (!pinch || e.touches.length !== 2) return;
    e.preventDefault();
    var fx = (e.touches[0].clientX + e.touches[1].clientX) / 2;
    var fy = (e.touches[0].clientY + e.touches[1].clientY) / 2;
    zoomTo(pinch.w * spread(e.touches) / pinch.d, fx, fy);
  }, { passive: false });
  viewport.addEventListener("touchend", function (e) { if (e.touches.length < 2) pinch = null; });

  var lastViewport = viewport.clientWidth;
  window.addEventListener("resize", function () {
    if (viewport.clientWidth === lastViewport) return;
    lastViewport = viewport.clientWidth;
    if (!viewport.classList.contains("zoomed")) zoomTo(0);
    else update();
  });

  // --- the form ---------------------------------------------------------------
  form.addEventListener("submit", function (e) {
    if (!Object.keys(chosen).length) {
      e.preventDefault();
      note.textContent = map.dataset.emptyMsg;
      focused.focus();
    }
  });

  // --- availability, as every fan sees it ------------------------------------
  function apply(data) {
    var lost = 0;
    data.seats.forEach(function (s) {
      var el = seats[s.id];
      if (!el || isTaken(el) === !s.available) return;
      el.classList.toggle("taken", !s.available);
      el.classList.toggle("avail", s.available);
      if (s.available) el.removeAttribute("aria-disabled");
      else el.setAttribute("aria-disabled", "true");
      if (!s.available && chosen[s.id]) {
        delete chosen[s.id];
        el.classList.remove("chosen");
        el.setAttribute("aria-selected", "false");
        lost++;
      }
      mark(el, s.available ? null : "taken");
      el.setAttribute("aria-label", label(el));
    });
    if (availCount) {
      // The page's own words for "N available", singular or plural.
      var form = data.available === 1 ? availCount.dataset.one : availCount.dataset.other;
      availCount.textContent = form ? form.replace("%(count)s", String(data.available)) : String(data.available);
    }
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
  update();
  setTimeout(poll, delay);
})();
