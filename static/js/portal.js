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
