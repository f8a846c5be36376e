// Before/after slider on the compare page (exactly two images): the range input sets how
// much of the first image covers the second. CSSOM only, so the strict CSP allows it.
(function () {
  "use strict";
  var box = document.querySelector("[data-ba]");
  var range = document.querySelector("[data-ba-range]");
  if (!box || !range) return;
  var over = box.querySelector("[data-ba-over]");
  function update() {
    over.style.clipPath = "inset(0 " + (100 - Number(range.value)) + "% 0 0)";
  }
  range.addEventListener("input", update);
  box.classList.add("is-live");
  update();
})();
