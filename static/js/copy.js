// Copy buttons: <button data-copy-target="element-id">. Copies the element's value (inputs)
// or its text, then says so on the button and in a polite live region (screen readers hear
// "Copied"). Where the clipboard refuses, the text is left selected for Ctrl+C. Loaded as a
// file (strict CSP: no inline scripts), and delegated from the document so buttons swapped in
// by htmx work too. Buttons that are useless without JavaScript come with `hidden`; this
// file shows them (the text beside them stays selectable either way).
(function () {
  "use strict";

  var status = null;

  function liveRegion() {
    if (!status) {
      status = document.createElement("p");
      status.className = "visually-hidden";
      status.setAttribute("role", "status");
      status.setAttribute("aria-live", "polite");
      status.setAttribute("data-copy-status", "");
      document.body.appendChild(status);
    }
    return status;
  }

  function reveal(root) {
    if (!root || !root.querySelectorAll) {
      return;
    }
    var buttons = root.querySelectorAll("[data-copy-target][hidden]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].hidden = false;
    }
    if (root.matches && root.matches("[data-copy-target][hidden]")) {
      root.hidden = false;
    }
  }

  function textOf(element) {
    if ("value" in element && typeof element.value === "string") {
      return element.value;
    }
    return (element.textContent || "").trim();
  }

  function selectText(element) {
    if (typeof element.select === "function") {
      element.select();
      return;
    }
    var selection = window.getSelection && window.getSelection();
    if (selection) {
      selection.removeAllRanges();
      selection.selectAllChildren(element);
    }
  }

  function fallbackCopy(element, text) {
    // Older browsers, or pages not served from a secure context: select and copy.
    var helper = document.createElement("textarea");
    helper.value = text;
    helper.setAttribute("readonly", "");
    helper.className = "visually-hidden";
    document.body.appendChild(helper);
    helper.select();
    var copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    document.body.removeChild(helper);
    if (!copied) {
      selectText(element); // at least leave it selected for Ctrl+C
    }
    return copied ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function announce(button, message) {
    if (!button.dataset.copyLabel) {
      button.dataset.copyLabel = button.textContent;
    }
    button.textContent = message;
    var region = liveRegion();
    // Emptied first, so the same message said twice in a row is announced twice.
    region.textContent = "";
    window.setTimeout(function () {
      region.textContent = message;
    }, 50);
    window.clearTimeout(Number(button.dataset.copyTimer || 0));
    button.dataset.copyTimer = String(
      window.setTimeout(function () {
        button.textContent = button.dataset.copyLabel;
      }, 2000)
    );
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) {
      return;
    }
    var element = document.getElementById(button.getAttribute("data-copy-target"));
    if (!element) {
      return;
    }
    event.preventDefault();
    var text = textOf(element);
    var copying =
      navigator.clipboard && window.isSecureContext
        ? navigator.clipboard.writeText(text).catch(function () {
            return fallbackCopy(element, text);
          })
        : fallbackCopy(element, text);
    copying.then(
      function () {
        announce(button, "Copied");
      },
      function () {
        announce(button, "Press Ctrl+C to copy");
      }
    );
  });

  // Deferred: the document is parsed by now. Parts htmx swaps in later are shown on load.
  reveal(document);
  liveRegion();
  document.addEventListener("htmx:load", function (event) {
    reveal(event.detail && event.detail.elt);
  });
})();
