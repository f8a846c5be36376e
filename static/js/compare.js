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

// Synced zoom: one scale for every image of the page, and the point under the pointer in
// any of them becomes the zoom's centre in all of them.
(function () {
  "use strict";
  var box = document.querySelector("[data-zoom-box]");
  var zoom = document.querySelector("[data-zoom]");
  var images = document.querySelectorAll(".compare-media img");
  if (!box || !zoom || images.length < 2) return;
  var value = box.querySelector("[data-zoom-value]");
  box.classList.remove("hidden");
  function apply() {
    images.forEach(function (img) { img.style.transform = "scale(" + zoom.value + ")"; });
    value.textContent = zoom.value + "\u00d7";
  }
  function follow(event) {
    var rect = event.currentTarget.getBoundingClientRect();
    var x = ((event.clientX - rect.left) / rect.width) * 100;
    var y = ((event.clientY - rect.top) / rect.height) * 100;
    images.forEach(function (img) { img.style.transformOrigin = x + "% " + y + "%"; });
  }
  images.forEach(function (img) { img.parentElement.addEventListener("pointermove", follow); });
  zoom.addEventListener("input", apply);
  apply();
})();
