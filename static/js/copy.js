// Copy buttons: <button data-copy-target="element-id">. Copies the element's value (inputs)
// or its text, then says so on the button for a moment. Loaded as a file (strict CSP: no
// inline scripts), and delegated from the document so buttons swapped in by htmx work too.
(function () {
  "use strict";

  function textOf(element) {
    if ("value" in element && typeof element.value === "string") {
      return element.value;
    }
    return element.textContent || "";
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
    if (!copied && typeof element.select === "function") {
      element.select(); // at least leave it selected for Ctrl+C
    }
    return copied ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function announce(button, message) {
    if (!button.dataset.copyLabel) {
      button.dataset.copyLabel = button.textContent;
    }
    button.textContent = message;
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
})();
