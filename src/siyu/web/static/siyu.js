// Siyu console behaviour that must live in a file (the CSP allows no inline script).
(function () {
  "use strict";

  // Toasts: the close button removes one; success and info toasts fade on their own.
  document.addEventListener("click", function (event) {
    var button = event.target.closest(".toast-close");
    if (button) { button.closest(".toast").remove(); }
  });

  function scheduleFade(root) {
    root.querySelectorAll(".toast:not(.toast-error):not([data-fading])").forEach(function (toast) {
      toast.setAttribute("data-fading", "1");
      setTimeout(function () { toast.remove(); }, 6000);
    });
  }

  // Charts: <div data-chart> holding a <script type="application/json"> with an ECharts option.
  function initCharts(root) {
    if (!window.echarts) { return; }
    root.querySelectorAll("[data-chart]:not([data-chart-ready])").forEach(function (el) {
      var source = el.querySelector('script[type="application/json"]');
      if (!source) { return; }
      el.setAttribute("data-chart-ready", "1");
      var chart = window.echarts.init(el);
      chart.setOption(JSON.parse(source.textContent));
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  function refresh(root) { scheduleFade(root); initCharts(root); }

  document.addEventListener("DOMContentLoaded", function () { refresh(document); });
  document.addEventListener("htmx:afterSettle", function (event) { refresh(document); });
})();

// Customer list: a header checkbox selects every row checkbox of the same name.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var all = event.target.closest("[data-select-all]");
    if (!all) { return; }
    var name = all.getAttribute("data-select-all");
    all.closest("form").querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (box) {
      box.checked = all.checked;
    });
  });
})();

// Copy buttons: [data-copy-target] copies the text of the element it names; the button says "copied" for a while.
(function () {
  "use strict";
  function copied(button) {
    if (!button.hasAttribute("data-label")) { button.setAttribute("data-label", button.textContent); }
    button.textContent = button.getAttribute("data-copied-label") || "✓";
    button.setAttribute("data-copied", "1");
    setTimeout(function () {
      button.textContent = button.getAttribute("data-label");
      button.removeAttribute("data-copied");
    }, 2500);
  }
  function fallback(text) {
    // Without the async clipboard (plain http, old browsers): a hidden textarea and execCommand.
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "copy-buffer";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } catch (e) { /* the "copied" state still tells the user to paste */ }
    area.remove();
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) { return; }
    var source = document.querySelector(button.getAttribute("data-copy-target"));
    if (!source) { return; }
    var text = source.textContent;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { copied(button); }, function () { fallback(text); copied(button); });
    } else {
      fallback(text);
      copied(button);
    }
  });
})();
