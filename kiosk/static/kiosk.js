// Keeps the scan field focused, plays the ok/error sound of each new outcome once, and follows
// the station's server-sent events so serial scans and light buttons update the page.
(function () {
  var body = document.body;
  var lastSeq = 0;
  var sounds = { ok: new Audio(body.dataset.okSound), error: new Audio(body.dataset.errorSound) };
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
    var s = screenState();
    if (s.seq > lastSeq) {
      lastSeq = s.seq;
      if (s.sound && sounds[s.sound]) {
        body.dataset.lastSound = s.sound + ":" + s.seq;
        try { sounds[s.sound].currentTime = 0; var p = sounds[s.sound].play(); if (p) p.catch(function () {}); } catch (e) {}
      }
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
    if (!e.target.closest("input, select, textarea, label")) setTimeout(focusScan, 0);
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    if (e.detail.elt && e.detail.elt.id === "scanform") { e.detail.elt.reset(); }
  });
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
      if (es && es.readyState === EventSource.CLOSED) { es = null; body.dataset.sse = "closed"; poll(5000); }
    });
  }
  follow();
  document.addEventListener("htmx:afterSwap", follow);
})();
