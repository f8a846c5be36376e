// Input thumbnails that cannot load (a dead link, a host that refuses) become a placeholder
// box with the type's icon instead of the browser's broken-image icon. Markup:
// <div data-media-frame><img|video ...><div data-media-missing hidden>...</div></div>.
// Loaded as a file (strict CSP). `error` does not bubble, so it is caught on the way down
// (capture); images that failed before this file ran are found by looking once, and parts
// htmx swaps in (the run page's side column) are looked at when they arrive.
(function () {
  "use strict";

  function markMissing(media) {
    var frame = media.closest("[data-media-frame]");
    if (!frame || frame.classList.contains("is-missing")) {
      return;
    }
    frame.classList.add("is-missing");
    var placeholder = frame.querySelector("[data-media-missing]");
    if (placeholder) {
      placeholder.hidden = false;
    }
  }

  function failedAlready(media) {
    if (media.tagName === "IMG") {
      // complete with no picture: it finished loading and got nothing (a lazy image that
      // has not started yet is not complete).
      return media.complete && media.naturalWidth === 0 && !!media.getAttribute("src");
    }
    return !!media.error;
  }

  function look(root) {
    if (!root || !root.querySelectorAll) {
      return;
    }
    var media = root.querySelectorAll("[data-media-frame] img, [data-media-frame] video");
    for (var i = 0; i < media.length; i++) {
      if (failedAlready(media[i])) {
        markMissing(media[i]);
      }
    }
  }

  document.addEventListener(
    "error",
    function (event) {
      var target = event.target;
      if (target && target.matches && target.matches("[data-media-frame] img, [data-media-frame] video")) {
        markMissing(target);
      }
    },
    true
  );
  look(document);
  document.addEventListener("htmx:load", function (event) {
    look(event.detail && event.detail.elt);
  });
})();
