(function () {
  "use strict";
  var options = JSON.parse(document.getElementById("regulars-embed-options").textContent);
  var boxes = document.querySelectorAll("[data-chart]");
  var pending = [];
  for (var i = 0; i < boxes.length; i++) {
    (function (el) {
      var spec = JSON.parse(document.getElementById("spec-" + el.getAttribute("data-chart")).textContent);
      var p = vegaEmbed(el, spec, options).then(function () {
        el.setAttribute("data-rendered", "true");
      }).catch(function (err) {
        el.setAttribute("data-rendered", "error");
        el.textContent = String(err);
        console.error("regulars: chart " + el.getAttribute("data-chart") + " failed: " + err);
      });
      pending.push(p);
    })(boxes[i]);
  }
  Promise.all(pending).then(function () {
    document.documentElement.setAttribute("data-charts-ready", "true");
  });
})();
