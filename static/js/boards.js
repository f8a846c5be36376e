// Board page: drag items to reorder them, and pick 2-4 items to compare. Loaded as a file
// (strict CSP); delegated from the document so tiles htmx swaps in work too. Without
// JavaScript the arrows (move up/down) order the board and the compare form still submits.
(function () {
  "use strict";

  var dragged = null;

  function tileOf(target) {
    return target && target.closest ? target.closest(".board-tile[data-item]") : null;
  }

  function listOf(tile) {
    return tile ? tile.closest("[data-sortable]") : null;
  }

  function clearTargets(list) {
    var marked = list.querySelectorAll(".is-drop-target");
    for (var i = 0; i < marked.length; i++) {
      marked[i].classList.remove("is-drop-target");
    }
  }

  function sendOrder(list) {
    var form = document.getElementById(list.getAttribute("data-sortable"));
    if (!form || !window.htmx) {
      return;
    }
    var old = form.querySelectorAll("input[name=item]");
    for (var i = 0; i < old.length; i++) {
      form.removeChild(old[i]);
    }
    var tiles = list.querySelectorAll(".board-tile[data-item]");
    for (var j = 0; j < tiles.length; j++) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = "item";
      input.value = tiles[j].getAttribute("data-item");
      form.appendChild(input);
    }
    window.htmx.trigger(form, "board-reordered");
  }

  document.addEventListener("dragstart", function (event) {
    var tile = tileOf(event.target);
    if (!tile || !listOf(tile) || tile.getAttribute("draggable") !== "true") {
      return;
    }
    // Dragging starts on the tile, not inside a text box or on a button.
    if (event.target.closest("textarea, input, button, a, select")) {
      return;
    }
    dragged = tile;
    tile.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", tile.getAttribute("data-item"));
  });

  document.addEventListener("dragover", function (event) {
    var tile = tileOf(event.target);
    if (!dragged || !tile || listOf(tile) !== listOf(dragged)) {
      return;
    }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    clearTargets(listOf(tile));
    if (tile !== dragged) {
      tile.classList.add("is-drop-target");
    }
  });

  document.addEventListener("drop", function (event) {
    var tile = tileOf(event.target);
    if (!dragged || !tile || listOf(tile) !== listOf(dragged)) {
      return;
    }
    event.preventDefault();
    var list = listOf(tile);
    clearTargets(list);
    if (tile !== dragged) {
      var tiles = Array.prototype.slice.call(list.children);
      var before = tiles.indexOf(dragged) > tiles.indexOf(tile) ? tile : tile.nextSibling;
      list.insertBefore(dragged, before);
      sendOrder(list);
    }
  });

  document.addEventListener("dragend", function () {
    if (dragged) {
      dragged.classList.remove("is-dragging");
      var list = listOf(dragged);
      if (list) {
        clearTargets(list);
      }
    }
    dragged = null;
  });

  // Compare: the button works for 2 to 4 ticked items.
  function updateCompare() {
    var button = document.querySelector("[data-compare-button]");
    if (!button) {
      return;
    }
    var picked = document.querySelectorAll("[data-compare-pick]:checked").length;
    button.disabled = picked < 2 || picked > 4;
    var hint = document.querySelector("[data-compare-hint]");
    if (hint) {
      hint.textContent =
        picked > 4
          ? "Compare takes at most 4 items: untick " + (picked - 4) + "."
          : picked + " ticked: tick 2 to 4 items, then compare them side by side.";
    }
  }

  function reveal(root) {
    var hints = (root || document).querySelectorAll("[data-sort-hint][hidden]");
    for (var i = 0; i < hints.length; i++) {
      hints[i].hidden = false;
    }
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("[data-compare-pick]")) {
      updateCompare();
    }
  });
  document.addEventListener("htmx:load", function (event) {
    reveal(event.detail && event.detail.elt);
    updateCompare();
  });
  reveal(document);
  updateCompare();
})();
