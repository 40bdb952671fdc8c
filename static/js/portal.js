// Keyboard help for pages used all day: "/" focuses the first filter field,
// "g o" goes to the overview, "g m" to charger models. Ignored while typing in a field.
(function () {
  "use strict";
  var pendingG = false;
  function typing(target) {
    var tag = target.tagName;
    return target.isContentEditable || tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    if (event.key === "/") {
      var field = document.querySelector("form.filters input, form.filters select");
      if (field) { event.preventDefault(); field.focus(); }
      return;
    }
    if (pendingG) {
      pendingG = false;
      var links = { o: "/", m: "/catalog/models/", f: "/catalog/firmware/", u: "/catalog/manufacturers/" };
      if (links[event.key]) { window.location.href = links[event.key]; }
      return;
    }
    if (event.key === "g") { pendingG = true; setTimeout(function () { pendingG = false; }, 1200); }
  });
})();

// The command form: choosing an action fills in its example payload (unless edited).
(function () {
  "use strict";
  var examples = document.getElementById("command-examples");
  var form = document.getElementById("command-form");
  if (!examples || !form) { return; }
  var payloads = JSON.parse(examples.textContent);
  var action = form.querySelector("select[name=action]");
  var payload = form.querySelector("textarea[name=payload]");
  var lastFilled = payload.value;
  action.addEventListener("change", function () {
    if (payload.value.trim() === lastFilled.trim() || payload.value.trim() === "{}") {
      payload.value = JSON.stringify(payloads[action.value] || {}, null, 2);
      lastFilled = payload.value;
    }
  });
})();

// Parts of a page that refresh themselves: data-refresh-url, data-refresh-ms.
(function () {
  "use strict";
  document.querySelectorAll("[data-refresh-url]").forEach(function (box) {
    var every = parseInt(box.getAttribute("data-refresh-ms"), 10) || 2000;
    function refresh() {
      if (document.hidden) { return; }
      fetch(box.getAttribute("data-refresh-url"), { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) { if (html !== null) { box.innerHTML = html; } })
        .catch(function () { /* offline for a moment: try again at the next tick */ });
    }
    setInterval(refresh, every);
  });
})();

// The navigation on narrow screens: a real button, reachable by keyboard and announced
// to screen readers through aria-expanded.
(function () {
  "use strict";
  var toggle = document.querySelector(".nav-toggle");
  var nav = document.getElementById("mainnav");
  if (!toggle || !nav) { return; }
  toggle.addEventListener("click", function () {
    var open = nav.classList.toggle("open");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });
})();

// Buttons that ask first: data-confirm="question". (Not an inline onclick: the portal's
// Content-Security-Policy allows no inline script.)
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-confirm]") : null;
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
})();
