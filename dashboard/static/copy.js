// The copy button of the daily summary: copies the text of the element
// named by data-copy and says so on the button for two seconds. A file,
// not inline: the Content-Security-Policy allows scripts from 'self' only.
"use strict";
document.querySelectorAll("button[data-copy]").forEach(function (button) {
  var label = button.textContent;
  button.addEventListener("click", function () {
    var box = document.getElementById(button.dataset.copy);
    if (!box) return;
    var done = function () {
      button.textContent = button.dataset.copied;
      button.setAttribute("data-state", "copied");
      setTimeout(function () { button.textContent = label; button.removeAttribute("data-state"); }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(box.value).then(done, function () { box.select(); document.execCommand("copy"); done(); });
    } else {
      box.select();
      document.execCommand("copy");
      done();
    }
  });
});
