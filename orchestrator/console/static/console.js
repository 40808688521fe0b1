// Progressive enhancement for the console; every page reads the same without it.
// 1. Moments are rendered in UTC on the server; here they are rewritten in the viewer's zone.
// 2. After "play the customer" actions (body[data-refresh] names the page's plain URL), parts
//    marked data-live refresh a few times from it, so an open shows without a reload.
(function () {
  "use strict";
  function relative(at, now) {
    var s = (now - at) / 1000, ahead = s < 0, units = [[31536000, "y"], [86400, "d"], [3600, "h"], [60, "min"]];
    s = Math.abs(s);
    if (s < 45) return "just now";
    for (var i = 0; i < units.length; i++) {
      if (s >= units[i][0]) {
        var text = Math.round(s / units[i][0]) + " " + units[i][1];
        return ahead ? "in " + text : text + " ago";
      }
    }
    return "just now";
  }
  function localTimes(root) {
    var now = new Date();
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var at = new Date(el.getAttribute("datetime"));
      if (isNaN(at)) return;
      var opts = { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short" };
      if (at.getFullYear() !== now.getFullYear()) opts.year = "numeric";
      var parts = {};
      new Intl.DateTimeFormat("en-GB", opts).formatToParts(at).forEach(function (p) { parts[p.type] = p.value; });
      var date = parts.weekday + " " + parts.day + " " + parts.month + (parts.year ? " " + parts.year : "");
      el.textContent = date + ", " + parts.hour + ":" + parts.minute + " " + parts.timeZoneName + " · " + relative(at, now);
      el.dataset.local = "1";
    });
  }
  function refresh(times) {
    fetch(document.body.dataset.refresh, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live]").forEach(function (el) {
          var next = fresh.getElementById(el.id);
          if (next && next.innerHTML !== el.innerHTML) { el.innerHTML = next.innerHTML; localTimes(el); }
        });
        if (times > 1) setTimeout(function () { refresh(times - 1); }, 1000);
      })
      .catch(function () { /* the page as served stays */ });
  }
  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    if (document.querySelector("[data-live]") && document.body.dataset.refresh) refresh(8);
  });
})();
