// The run form's enhancements (the form works without them):
// - an image preview under each image URL field, once an https:// link is entered;
// - a live total on the button when several runs would start ("Run 3 times for $0.66"),
//   and the hidden `confirmed_runs` set to that count, so the server knows what was seen;
// - a character counter under text inputs (the server enforces the limit);
// - Ctrl/Cmd+Enter submits the form;
// CSP-safe: no inline code or styles, elements built with DOM APIs.
(function () {
  "use strict";

  var form = document.getElementById("run-form");
  if (!form) return;

  var button = form.querySelector("[data-run-button]");
  var confirmed = form.querySelector("input[name='confirmed_runs']");
  var priceText = form.getAttribute("data-price") || "";
  // Prices in ten-thousandths of a dollar, so totals are exact; null when FLORA gave none.
  var unit = priceText ? Math.round(parseFloat(priceText) * 10000) || 0 : null;
  // On the sandbox nothing is charged: the price is said to be a simulated one.
  var simulated = form.getAttribute("data-simulated") === "true" ? " (simulated price)" : "";

  function usd(tenThousandths) {
    var cents = tenThousandths / 100;
    if (Math.round(cents) === cents) {
      return "$" + (tenThousandths / 10000).toLocaleString("en-US", {
        minimumFractionDigits: 2, maximumFractionDigits: 2
      });
    }
    return "$" + (tenThousandths / 10000).toLocaleString("en-US", {
      minimumFractionDigits: 2, maximumFractionDigits: 4
    });
  }

  function values(field) {
    var text = field.value || "";
    if (field.getAttribute("data-multiple") !== "true") {
      return text.trim() ? [text.trim()] : [];
    }
    return text.split(/\r?\n/).map(function (line) { return line.trim(); })
      .filter(function (line) { return line.length > 0; });
  }

  function runCount() {
    var count = 1;
    form.querySelectorAll("[data-multiple='true']").forEach(function (field) {
      count *= Math.max(1, values(field).length);
    });
    return count;
  }

  function updateTotal() {
    if (!button) return;
    var count = runCount();
    if (confirmed) confirmed.value = String(count);
    if (unit === null) {
      button.textContent = count === 1 ? "Run" : "Run " + count + " times";
    } else if (count === 1) {
      button.textContent = unit ? "Run for " + usd(unit) + simulated : "Run for free";
    } else {
      button.textContent = "Run " + count + " times " +
        (unit ? "for " + usd(unit * count) + simulated : "(free)");
    }
  }

  function isHttps(value) {
    try {
      return new URL(value).protocol === "https:";
    } catch (error) {
      return false;
    }
  }

  function updatePreview(field) {
    var box = form.querySelector("[data-preview-for='" + field.id + "']");
    if (!box) return;
    var urls = values(field).filter(isHttps).slice(0, 10);
    var current = Array.prototype.map.call(box.querySelectorAll("img"), function (img) {
      return img.getAttribute("src");
    });
    if (current.join("\n") === urls.join("\n")) return;
    box.replaceChildren();
    urls.forEach(function (url) {
      var figure = document.createElement("figure");
      figure.className = "preview-item";
      var img = document.createElement("img");
      img.alt = "Preview of " + url;
      img.loading = "lazy";
      img.referrerPolicy = "no-referrer";
      img.addEventListener("error", function () {
        var note = document.createElement("figcaption");
        note.className = "small muted";
        note.textContent = "No preview for " + url + ": it did not load as an image.";
        img.replaceWith(note);
      });
      img.src = url;
      figure.appendChild(img);
      box.appendChild(figure);
    });
  }

  var timers = {};
  form.querySelectorAll("[data-preview='image']").forEach(function (field) {
    updatePreview(field);
    field.addEventListener("input", function () {
      clearTimeout(timers[field.id]);
      timers[field.id] = setTimeout(function () { updatePreview(field); }, 400);
    });
    field.addEventListener("change", function () { updatePreview(field); });
  });
  form.querySelectorAll("[data-multiple='true']").forEach(function (field) {
    field.addEventListener("input", updateTotal);
  });

  // A character counter under each single text input: the limit is stated in the page and
  // enforced by the server (nothing is cut); this only says how close the text is to it.
  form.querySelectorAll("[data-max-chars]").forEach(function (field) {
    var note = form.querySelector("[data-counter-for='" + field.id + "']");
    var limit = parseInt(field.getAttribute("data-max-chars"), 10);
    if (!note || !limit || field.getAttribute("data-multiple") === "true") return;
    function updateCount() {
      // Code points, and a line break as one, as the server counts them.
      var length = Array.from(field.value).length;
      var over = length - limit;
      note.textContent = over > 0
        ? length + " / " + limit + " characters: " + over + " over the limit, shorten it to run."
        : length + " / " + limit + " characters.";
      note.classList.toggle("over-limit", over > 0);
    }
    field.addEventListener("input", updateCount);
    updateCount();
  });
  updateTotal();

  // Ctrl+Enter (Cmd+Enter on a Mac) in any field presses the Run button: requestSubmit runs
  // the browser's checks and the submit handler below, as a click would.
  form.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey) || event.isComposing) return;
    event.preventDefault();
    if (button && !button.disabled) form.requestSubmit(button);
  });
  var hint = form.querySelector("[data-shortcut-hint]");
  if (hint && button && !button.disabled) {
    hint.textContent = /Mac|iPhone|iPad/.test(navigator.platform || "") ? "⌘+Enter runs it" : "Ctrl+Enter runs it";
    hint.hidden = false;
  }

  // One press starts a run: a second press while the first is on its way does nothing
  // (the server would also land it on the same run, thanks to the intent key).
  form.addEventListener("submit", function () {
    if (button) {
      setTimeout(function () { button.disabled = true; button.textContent = "Starting…"; }, 0);
    }
  });
  // Back from the run's page (bfcache): the button works again, and names the price.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && button) {
      button.disabled = false;
      updateTotal();
    }
  });
})();
