// The desk's only script: live countdowns and live queue updates (polling /desk/rows). No inline script: the CSP
// allows scripts from the desk itself only. Rows arrive as HTML the server rendered and escaped.
(function () {
  "use strict";
  var body = document.body;
  var skew = 0; // the worker's clock minus this browser's, in seconds
  var serverNow = parseFloat(body.dataset.now);
  if (!isNaN(serverNow)) { skew = serverNow - Date.now() / 1000; }

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function fmt(seconds) {
    var s = Math.trunc(seconds), sign = "";
    if (s < 0) { sign = "overdue "; s = -s; }
    if (s >= 3600) { return sign + Math.floor(s / 3600) + "h" + pad(Math.floor((s % 3600) / 60)) + "m"; }
    return sign + Math.floor(s / 60) + "m" + pad(s % 60) + "s";
  }
  function tick() {
    var now = Date.now() / 1000 + skew;
    document.querySelectorAll(".countdown[data-deadline]").forEach(function (el) {
      var left = parseFloat(el.dataset.deadline) - now;
      var warn = parseFloat(el.dataset.warn);
      el.textContent = fmt(left);
      el.classList.toggle("breached", left < 0);
      el.classList.toggle("warned", left >= 0 && !isNaN(warn) && now >= warn);
    });
  }
  setInterval(tick, 1000);
  tick();

  var filters = document.getElementById("filters");
  if (filters) { filters.addEventListener("change", function () { filters.submit(); }); }

  var queue = document.getElementById("queue");
  var live = document.getElementById("live");
  if (!queue) { return; }
  var poll = parseInt(body.dataset.pollMs, 10) || 2000;
  function refresh() {
    var q = new URLSearchParams(queue.dataset.query || "");
    q.set("key", queue.dataset.key || "");
    q.set("here", queue.dataset.here || "/desk");
    fetch("/desk/rows?" + q.toString(), { credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        if (r.status === 401) { window.location.href = "/desk/login?next=" + encodeURIComponent(location.pathname + location.search); return null; }
        return r.json();
      })
      .then(function (data) {
        if (!data) { return; }
        skew = data.now - Date.now() / 1000;
        var busy = document.activeElement && queue.contains(document.activeElement) && document.activeElement.tagName === "SELECT";
        if (data.html !== undefined && !busy) {
          queue.innerHTML = data.html;
          queue.dataset.key = data.key;
          var count = document.getElementById("count");
          if (count) { count.textContent = data.count; }
          tick();
        }
        if (live) { live.textContent = "live"; live.className = ""; }
      })
      .catch(function () { if (live) { live.textContent = "offline, retrying"; live.className = "offline"; } })
      .then(function () { setTimeout(refresh, poll); });
  }
  setTimeout(refresh, poll);
})();
