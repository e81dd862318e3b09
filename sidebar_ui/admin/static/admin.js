// The matrix editor's gutter follows the textarea's scroll; an issue link selects its line.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var area = document.getElementById("matrix");
  var gutter = document.getElementById("gutter");
  if (!area || !gutter) { return; }
  area.addEventListener("scroll", function () { gutter.scrollTop = area.scrollTop; });
  function selectLine(n) {
    var lines = area.value.split("\n");
    var start = 0;
    for (var i = 0; i < n - 1 && i < lines.length; i++) { start += lines[i].length + 1; }
    var end = start + (lines[n - 1] || "").length;
    area.focus();
    area.setSelectionRange(start, end);
    var lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 19;
    area.scrollTop = Math.max(0, (n - 5) * lineHeight);
    gutter.scrollTop = area.scrollTop;
  }
  document.querySelectorAll(".issues a[data-line]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      selectLine(parseInt(link.getAttribute("data-line"), 10));
    });
  });
  var first = document.querySelector(".issues a[data-line]");
  if (first) { selectLine(parseInt(first.getAttribute("data-line"), 10)); }
});

// "Add a workspace": show only the fields the chosen helpdesk takes (all show without JS).
document.addEventListener("DOMContentLoaded", function () {
  var helpdesk = document.getElementById("helpdesk");
  if (!helpdesk) { return; }
  function sync() {
    document.querySelectorAll("[data-helpdesks]").forEach(function (el) {
      var wanted = el.getAttribute("data-helpdesks").split(" ");
      el.hidden = wanted.indexOf(helpdesk.value) < 0;
    });
  }
  helpdesk.addEventListener("change", sync);
  sync();
});
