// Keeps the scan field focused, plays the sound of each new outcome once (ok, error, short), shows
// the screen's state (red after an error until the next good scan), follows the station's
// server-sent events so serial scans and light buttons update the page, and says so loudly when
// the node cannot be reached (scans are not recorded), retrying until it answers again.
(function () {
  var body = document.body;
  var lastSeq = 0;
  var sounds = {};
  ["ok", "error", "short", "lost"].forEach(function (k) {
    var url = body.dataset[k + "Sound"];
    if (url) sounds[k] = new Audio(url);
  });
  function play(name) {
    var a = sounds[name];
    if (!a) return;
    body.dataset.lastSound = name + ":" + lastSeq;
    try { a.currentTime = 0; var p = a.play(); if (p) p.catch(function () {}); } catch (e) {}
  }
  // Browsers block sound until the page has had a tap: the first tap or key plays every sound
  // muted once, so the next scan's beep is heard.
  function unlockSound() {
    if (body.dataset.soundUnlocked) return;
    body.dataset.soundUnlocked = "yes";
    Object.keys(sounds).forEach(function (k) {
      var a = sounds[k];
      a.muted = true;
      var p = a.play();
      var reset = function () { a.pause(); a.currentTime = 0; a.muted = false; };
      if (p && p.then) p.then(reset, reset); else reset();
    });
  }
  document.addEventListener("pointerdown", unlockSound, true);
  document.addEventListener("keydown", unlockSound, true);
  function scanField() { return document.getElementById("scan"); }
  function focusScan() {
    var el = document.activeElement, f = scanField();
    if (!f) return;
    if (el && el !== f && el !== body && /^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName)) return;
    f.focus();
  }
  function screenState() {
    var s = document.querySelector("#screen [data-seq]");
    return s ? { seq: +s.dataset.seq, sound: s.dataset.sound } : { seq: 0, sound: "" };
  }
  function announce() {
    var s = screenState(), el = document.getElementById("screen-state");
    body.dataset.state = el ? el.dataset.state || "" : "";
    if (s.seq > lastSeq) {
      lastSeq = s.seq;
      if (s.sound) play(s.sound);
      window.scrollTo(0, 0);  // a new instruction starts at the top (the next bin, not the buttons)
    }
    focusScan();
  }
  // A refresh pulled by an event must never replace a newer screen (or a field being typed in).
  document.addEventListener("htmx:beforeSwap", function (e) {
    if (!e.detail.target || e.detail.target.id !== "screen" || !e.detail.requestConfig) return;
    if (e.detail.requestConfig.verb !== "get") return;
    var elt = e.detail.requestConfig.elt;
    if (elt && elt.hasAttribute && elt.hasAttribute("data-always-swap")) return;  // asked for by a tap
    var text = e.detail.xhr.responseText || "", m = /data-seq="(\d+)"/.exec(text), h = /data-held="(\w+)"/.exec(text);
    var cur = document.getElementById("screen-state");
    if (h && cur && h[1] !== cur.dataset.held) return;  // logged in or out elsewhere: always show it
    if (m && +m[1] <= screenState().seq) e.detail.shouldSwap = false;
  });
  lastSeq = screenState().seq;  // no sound for what was already on screen at load
  // The session's CSRF token changes at login and logout: every swap carries the current one.
  function followCsrf() {
    var s = document.getElementById("screen-state");
    if (s && s.dataset.csrf) body.setAttribute("hx-headers", JSON.stringify({ "X-CSRF-Token": s.dataset.csrf }));
  }
  // Every write carries a new client request id: a retried request is recognised and books nothing.
  function requestId() {
    var a = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  document.addEventListener("htmx:configRequest", function (e) {
    if (e.detail.verb === "post") e.detail.parameters["request_id"] = requestId();
  });
  document.addEventListener("htmx:afterSwap", function () { followCsrf(); announce(); });
  document.addEventListener("click", function (e) {
    var toggle = e.target.closest("[data-toggle]");
    if (toggle) {
      var panel = document.getElementById(toggle.dataset.toggle);
      if (panel) {
        panel.hidden = !panel.hidden;
        var first = panel.querySelector("input");
        if (!panel.hidden && first) { first.focus(); first.select(); return; }
      }
    }
    if (!e.target.closest("input, select, textarea, label")) setTimeout(focusScan, 0);
  });
  // ---- connection ------------------------------------------------------------------------------
  // A request that fails or times out: the node did not record it. The page says so, plays its
  // own sound, and checks every two seconds until the node answers, then shows the live screen.
  var checking = null;
  function lost() {
    if (body.dataset.conn !== "lost") {
      body.dataset.conn = "lost";
      play("lost");
    }
    if (checking) return;
    checking = setInterval(function () {
      var x = new XMLHttpRequest();
      x.open("GET", body.dataset.screen);
      x.timeout = 4000;
      x.onload = function () { if (x.status < 500) recovered(); };
      x.send();
    }, 2000);
  }
  function probe() {  // one check: no answer (or a 5xx) means the connection is lost
    var x = new XMLHttpRequest();
    x.open("GET", body.dataset.screen);
    x.timeout = 4000;
    x.onload = function () { if (x.status >= 500) lost(); };
    x.onerror = x.ontimeout = lost;
    x.send();
  }
  function recovered() {
    if (checking) { clearInterval(checking); checking = null; }
    if (body.dataset.conn !== "lost") return;
    body.dataset.conn = "ok";
    if (es) { es.close(); es = null; }
    refresh();
  }
  document.addEventListener("htmx:sendError", lost);
  document.addEventListener("htmx:timeout", lost);
  document.addEventListener("htmx:responseError", function (e) {
    if (e.detail.xhr && e.detail.xhr.status >= 500) lost();
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    if (e.detail.successful && body.dataset.conn === "lost") recovered();
  });
  // Scans are sent one after another, in the order they were read: the field is cleared at once
  // (a wedge scanner may type the next code while the last one is still on its way), and each
  // code goes in its own request, so none is merged, replaced or dropped by a request in flight.
  var scans = Promise.resolve();
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form || form.id !== "scanform") return;
    e.preventDefault();
    e.stopPropagation();
    var field = scanField(), code = field ? field.value : "";
    if (field) field.value = "";
    if (!code.trim()) return;
    scans = scans.then(function () {
      return htmx.ajax("POST", form.dataset.scanUrl, { source: form, target: "#screen", swap: "innerHTML",
                                                       values: { code: code } });
    }).catch(function () {});
  }, true);
  focusScan();
  function refresh() { htmx.ajax("GET", body.dataset.screen, { target: "#screen", swap: "innerHTML" }); }
  var polling = null;
  function poll(every) {  // no live stream (not logged in here, or refused): refresh now and then
    if (polling) clearInterval(polling);
    polling = setInterval(refresh, every);
  }
  var es = null;
  function follow() {
    var url = body.dataset.events, state = document.getElementById("screen-state");
    var held = state && state.dataset.held === "yes";
    if (!held) {  // a login screen: its station's own scanner may read a badge meanwhile
      if (es) { es.close(); es = null; }
      poll(2000);
      return;
    }
    if (es || !url || !window.EventSource) return;
    es = new EventSource(url);
    es.addEventListener("open", function () { body.dataset.sse = "open"; if (polling) { clearInterval(polling); polling = null; } });
    es.addEventListener("outcome", function (e) {
      var d = JSON.parse(e.data);
      if (d.seq > screenState().seq) refresh();
    });
    es.addEventListener("ended", function () { es.close(); es = null; body.dataset.sse = "ended"; refresh(); });
    es.addEventListener("error", function () {
      body.dataset.sse = "error";
      setTimeout(probe, 1000);  // the stream broke: find out whether the node is still there
      if (es && es.readyState === EventSource.CLOSED) { es = null; body.dataset.sse = "closed"; poll(5000); }
    });
  }
  follow();
  document.addEventListener("htmx:afterSwap", follow);
})();
