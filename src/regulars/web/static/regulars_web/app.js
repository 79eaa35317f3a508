// regulars: small enhancements; every page works without them.
"use strict";
document.addEventListener("click", function (event) {
  var button = event.target.closest("button.copy");
  if (!button) return;
  var source = document.getElementById(button.getAttribute("data-copy"));
  if (!source) return;
  var text = source.value || source.textContent;
  if (navigator.clipboard) {
    navigator.clipboard.writeText(text).then(function () { button.classList.add("copied"); });
  } else {
    source.select();
  }
});
