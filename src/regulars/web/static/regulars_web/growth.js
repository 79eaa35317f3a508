// regulars: draw the Growth page's charts with Vega (served by the app).
// The specs and options are JSON data elements of the page.  "ast: true" makes Vega
// evaluate expressions with its interpreter, so the page needs no 'unsafe-eval';
// without JavaScript the page shows the same charts as server-drawn SVG images.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var specs = JSON.parse(document.getElementById("regulars-specs").textContent);
  var options = JSON.parse(document.getElementById("regulars-embed-options").textContent);
  var boxes = document.querySelectorAll("[data-chart]");
  var pending = [];
  boxes.forEach(function (el) {
    var name = el.getAttribute("data-chart");
    pending.push(
      window.vegaEmbed(el, specs[name], options).then(function () {
        el.setAttribute("data-rendered", "true");
      }).catch(function (err) {
        el.setAttribute("data-rendered", "error");
        el.textContent = String(err);
        console.error("regulars: chart " + name + " failed: " + err);
      })
    );
  });
  Promise.all(pending).then(function () {
    document.documentElement.setAttribute("data-charts-ready", "true");
  });
});
