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
    var m = /data-seq="(\d+)"/.exec(e.detail.xhr.responseText || "");
    if (m && +m[1] <= screenState().seq) e.detail.shouldSwap = false;
  });
  lastSeq = screenState().seq;  // no sound for what was already on screen at load
  document.addEventListener("htmx:afterSwap", announce);
  document.addEventListener("click", function (e) {
    if (!e.target.closest("input, select, textarea, label")) setTimeout(focusScan, 0);
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    if (e.detail.elt && e.detail.elt.id === "scanform") { e.detail.elt.reset(); }
  });
  focusScan();
  var url = body.dataset.events;
  if (url && window.EventSource) {
    var es = new EventSource(url);
    es.addEventListener("open", function () { body.dataset.sse = "open"; });
    es.addEventListener("outcome", function (e) {
      var d = JSON.parse(e.data);
      if (d.seq > screenState().seq) {
        htmx.ajax("GET", body.dataset.screen, { target: "#screen", swap: "innerHTML" });
      }
    });
  }
})();
