// lensguard console: the little behaviour the pages need, with no inline
// script (the Content-Security-Policy forbids it).
"use strict";
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
}, true);
// An image the policy did not keep says so instead of showing a broken icon.
document.addEventListener("error", function (event) {
  var img = event.target;
  if (img.tagName === "IMG" && !img.dataset.missing) {
    img.dataset.missing = "1";
    var note = document.createElement("span");
    note.className = "muted";
    note.textContent = "no image kept";
    img.replaceWith(note);
  }
}, true);
// The overview's chart: the numbers come from a JSON block on the page (a
// data block, not a script), drawn with uPlot; the same numbers are in a
// table beside it for screen readers.
document.addEventListener("DOMContentLoaded", function () {
  var box = document.getElementById("verdict-chart");
  if (!box || typeof uPlot === "undefined") {
    return;
  }
  var data = JSON.parse(document.getElementById(box.dataset.source).textContent);
  var width = Math.max(280, Math.min(box.clientWidth || 800, 1100));
  new uPlot({
    width: width,
    height: 260,
    series: [
      {},
      { label: "pass", stroke: "#116329", width: 2 },
      { label: "retry", stroke: "#7d4e00", width: 2 },
      { label: "fail", stroke: "#a40e26", width: 2 }
    ],
    axes: [{}, { label: "inspections" }]
  }, [data.x, data.pass, data.retry, data.fail], box);
});
