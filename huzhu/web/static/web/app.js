// A table wider than the screen scrolls inside its own box (app.css); such a box must be
// reachable from the keyboard (WCAG 2.1.1), so it is given a place in the tab order and a name.
(function () {
  "use strict";
  function markScrollable(root) {
    var tables = (root || document).querySelectorAll("table.grid");
    for (var i = 0; i < tables.length; i++) {
      var t = tables[i];
      if (t.scrollWidth > t.clientWidth + 1) {
        t.setAttribute("tabindex", "0");
        if (!t.getAttribute("aria-label")) {
          var heading = t.closest("section, .card, main");
          var h = heading ? heading.querySelector("h1, h2, h3") : null;
          t.setAttribute("aria-label", (h ? h.textContent.trim() + "：" : "") + "可左右滑动的表格");
        }
      } else if (t.getAttribute("tabindex") === "0") {
        t.removeAttribute("tabindex");
      }
    }
  }
  document.addEventListener("DOMContentLoaded", function () { markScrollable(document); });
  document.addEventListener("htmx:afterSwap", function (e) { markScrollable(e.target); });
  window.addEventListener("resize", function () { markScrollable(document); });
})();
