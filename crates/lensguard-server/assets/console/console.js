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
