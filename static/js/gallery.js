// The gallery's compare bar: counts the ticked tiles (also those the infinite scroll adds)
// and says when 2 to 4 are ticked. Without this file the form still submits the ticked ids.
(function () {
  "use strict";
  var MIN = 2, MAX = 4;
  var form = document.getElementById("compare-form");
  if (!form) return;
  var button = form.querySelector("[data-compare-button]");
  var count = form.querySelector("[data-compare-count]");
  var hint = form.querySelector("[data-compare-hint]");

  function update() {
    var n = document.querySelectorAll("input.compare-pick:checked").length;
    count.textContent = "(" + n + ")";
    form.classList.toggle("has-picks", n > 0);
    var ok = n >= MIN && n <= MAX;
    button.disabled = !ok;
    if (n < MIN) hint.textContent = "Tick " + (MIN - n) + " more to compare (2 to 4).";
    else if (n > MAX) hint.textContent = "At most 4: untick " + (n - MAX) + ".";
    else hint.textContent = n + " selected.";
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("input.compare-pick")) update();
  });
  document.body.addEventListener("htmx:afterSwap", update);
  update();
})();
