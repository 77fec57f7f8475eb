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

// 开户行 (select[data-bank-pick]): a search box above the bank list's select keeps only the
// entries whose name or city contains what is typed; without script the select is used as is.
(function () {
  "use strict";
  function enhance(root) {
    var selects = (root || document).querySelectorAll("select[data-bank-pick]");
    for (var i = 0; i < selects.length; i++) {
      var select = selects[i];
      if (select.dataset.bankPickReady) { continue; }
      select.dataset.bankPickReady = "1";
      var all = Array.prototype.map.call(select.options, function (o) {
        return { value: o.value, text: o.text };
      });
      var box = document.createElement("input");
      box.type = "search";
      box.className = "bank-pick-search";
      box.placeholder = "输入银行名称或城市筛选";
      box.setAttribute("aria-label", "筛选开户行");
      box.setAttribute("autocomplete", "off");
      select.parentNode.insertBefore(box, select);
      box.addEventListener("input", (function (sel, items, input) {
        return function () {
          var q = input.value.replace(/\s+/g, "");
          var keep = sel.value;
          sel.innerHTML = "";
          items.forEach(function (it) {
            if (!it.value || !q || it.text.indexOf(q) !== -1 || it.value === keep) {
              var o = document.createElement("option");
              o.value = it.value;
              o.text = it.text;
              o.selected = it.value === keep;
              sel.appendChild(o);
            }
          });
          var hits = sel.querySelectorAll("option[value]:not([value=''])");
          if (q && hits.length === 1 && !keep) { hits[0].selected = true; }
        };
      })(select, all, box));
    }
  }
  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:afterSwap", function (e) { enhance(e.target); });
})();
