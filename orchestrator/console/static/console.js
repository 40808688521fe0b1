// Progressive enhancement for the console; every page reads the same without it.
// 1. Moments are rendered in UTC on the server; here they are rewritten in the viewer's zone.
// 2. "Play the customer" (issue 23): what each action does shows on the page without a reload.
//    - Forms marked data-play (open the email, reply) post in the background: the answer's
//      #play-result (what happened, and an email's open pixel, which the browser then loads
//      as the customer's mail client would) replaces this page's, and so do its data-live parts.
//    - Links that play the customer (the message's tracked links, the unsubscribe page) open
//      another tab; the effect lands on the server a moment later, so the data-live parts are
//      fetched again from the page's plain URL (body[data-refresh]) every second for a while,
//      and once more whenever the marketer comes back to this tab.
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
  function parse(html) { return new DOMParser().parseFromString(html, "text/html"); }
  // What a part says, but for what changes while nothing happens: the words of its moments
  // ("just now" becomes "1 min ago"; their datetime attributes stay) and its links (a
  // customer's link is an encrypted reference, new on every page).
  function gist(html) {
    return html.replace(/(<time\b[^>]*>)[^<]*/g, "$1").replace(/ href="[^"]*"/g, "");
  }
  // Put in the parts of this page that ``fresh`` (a page from the server) has anew; true if
  // any had.
  function swap(fresh, selector) {
    var changed = false;
    document.querySelectorAll(selector).forEach(function (el) {
      var next = fresh.getElementById(el.id);
      if (next && gist(next.innerHTML) !== el.dataset.served) {
        el.dataset.served = gist(next.innerHTML);
        el.innerHTML = next.innerHTML;
        localTimes(el);
        changed = true;
      }
    });
    return changed;
  }
  // Fetch the data-live parts again every second, ``times`` times, or twice more once one has
  // changed (the action's effect arrived); a later call only lengthens the run under way.
  // ``epoch`` counts the answers put in by an action: a fetch that left before one of them
  // carries the page as it was, and is dropped.
  var left = 0, busy = false, epoch = 0;
  function follow(times) {
    if (!document.body.dataset.refresh || !document.querySelector("[data-live]")) return;
    left = Math.max(left, times);
    if (!busy) tick();
  }
  function tick() {
    if (left <= 0) { busy = false; return; }
    busy = true;
    left -= 1;
    var sent = epoch;
    fetch(document.body.dataset.refresh, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html && sent === epoch && swap(parse(html), "[data-live]")) left = Math.min(left, 2);
      })
      .catch(function () { /* the page as served stays */ })
      .then(function () { setTimeout(tick, 1000); });
  }
  function play(form) {
    var body = new URLSearchParams(new FormData(form));
    var button = form.querySelector("button");
    if (button) button.disabled = true;
    fetch(form.action, { method: "POST", body: body, credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.text().then(function (html) { return { ok: r.ok, html: html }; }); })
      .then(function (answer) {
        if (!answer.ok) throw new Error(answer.html);
        epoch += 1;
        swap(parse(answer.html), "#play-result, [data-live]");
        follow(8);
      })
      .catch(function () {
        // Refused (a login that expired, a stale form) or unreachable: say so, never re-post.
        var said = document.createElement("div");
        said.className = "flash error";
        said.textContent = "That did not work. Reload the page (you may need to log in again) and try once more.";
        var result = document.getElementById("play-result");
        if (result) { result.textContent = ""; result.appendChild(said); }
      })
      .then(function () { if (button) button.disabled = false; });
  }
  document.addEventListener("DOMContentLoaded", function () {
    // What the server sent, before its moments are rewritten here (and marked data-local).
    document.querySelectorAll("[data-live], #play-result").forEach(function (el) { el.dataset.served = gist(el.innerHTML); });
    localTimes(document);
    document.querySelectorAll("form[data-play]").forEach(function (form) {
      form.addEventListener("submit", function (e) { e.preventDefault(); play(form); });
    });
    document.addEventListener("click", function (e) {
      var link = e.target.closest && e.target.closest("a[data-play], [data-play-area] a");
      if (link) follow(60);
    });
    // A tracked link inside the email's frame: the click moves focus into the frame.
    window.addEventListener("blur", function () { follow(60); });
    window.addEventListener("focus", function () { follow(3); });
    document.addEventListener("visibilitychange", function () { if (!document.hidden) follow(3); });
  });
})();
