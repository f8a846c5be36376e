// Files for the run form's image and video inputs (the form works without this: a plain
// file input is sent with the form). With it, each media input takes a file by the file
// picker, drag and drop, or paste; shows a preview at once; uploads the file to the
// dashboard (POST /uploads/, which validates it and sends it to FLORA: the key never
// reaches the browser) with a progress bar; and puts the upload's reference in the form,
// so the run starts with the asset. The "Recent" picker chooses an earlier file.
// CSP-safe: no inline code or styles; previews are data: URLs or the dashboard's own files.
(function () {
  "use strict";

  var form = document.getElementById("run-form");
  if (!form) return;
  var uploadUrl = form.getAttribute("data-upload-url");
  var button = form.querySelector("[data-run-button]");
  var csrf = form.querySelector("input[name='csrfmiddlewaretoken']");
  var busy = 0;

  function setBusy(delta) {
    busy += delta;
    if (!button) return;
    if (busy > 0) {
      button.disabled = true;
      button.setAttribute("data-waiting-upload", "true");
    } else if (button.getAttribute("data-waiting-upload") === "true") {
      button.disabled = false;
      button.removeAttribute("data-waiting-upload");
    }
  }

  function sizeText(bytes) {
    if (bytes >= 1048576) return (bytes / 1048576).toFixed(1) + " MB";
    return Math.max(1, Math.round(bytes / 1024)) + " KB";
  }

  function setup(box) {
    var kind = box.getAttribute("data-kind");
    var fileInput = box.querySelector("input[type='file']");
    var refInput = box.querySelector("[data-ref-input]");
    var urlField = document.getElementById(box.getAttribute("data-url-field"));
    var chosen = box.querySelector("[data-chosen]");
    var progress = box.querySelector("[data-progress]");
    var status = box.querySelector("[data-upload-status]");
    var clear = box.querySelector("[data-clear-choice]");
    var hint = box.querySelector("[data-drop-hint]");
    var zone = box.closest(".field") || box;
    var multiple = urlField && urlField.getAttribute("data-multiple") === "true";
    if (hint) hint.hidden = false;
    // The picker loads with htmx and chooses with this script: without them it stays hidden.
    var picker = box.querySelector("[data-picker]");
    if (picker) picker.hidden = false;

    function say(text, isError) {
      status.textContent = text;
      status.classList.toggle("upload-error", !!isError);
    }

    function show(name, src, note) {
      chosen.replaceChildren();
      chosen.classList.remove("is-empty");
      var figure = document.createElement("figure");
      figure.className = "media-chosen-item";
      if (src && kind === "image") {
        var img = document.createElement("img");
        img.src = src;
        img.alt = "Chosen image: " + name;
        img.setAttribute("data-chosen-preview", "");
        figure.appendChild(img);
      }
      var caption = document.createElement("figcaption");
      caption.textContent = name + (note ? " · " + note : "");
      figure.appendChild(caption);
      chosen.appendChild(figure);
      if (clear) clear.hidden = false;
    }

    function choose(ref, name, src, note) {
      refInput.value = ref;
      if (urlField && !multiple) {
        urlField.value = "";
        urlField.removeAttribute("required");
        urlField.dispatchEvent(new Event("input", { bubbles: true }));
      }
      show(name, src, note);
    }

    function reset() {
      refInput.value = "";
      chosen.replaceChildren();
      chosen.classList.add("is-empty");
      if (fileInput) fileInput.value = "";
      if (clear) clear.hidden = true;
      if (urlField && urlField.getAttribute("data-was-required") === "true") {
        urlField.setAttribute("required", "");
      }
      say("");
    }

    function upload(file) {
      if (!file) return;
      if (file.type && file.type.indexOf(kind + "/") !== 0) {
        say("This input takes " + (kind === "image" ? "an image" : "a video") +
          "; " + file.name + " is " + (file.type || "another kind of file") + ".", true);
        return;
      }
      if (kind === "image") {
        var reader = new FileReader();
        reader.addEventListener("load", function () { show(file.name, reader.result, "uploading…"); });
        reader.readAsDataURL(file);
      } else {
        show(file.name, "", "uploading…");
      }
      var data = new FormData();
      data.append("file", file, file.name);
      data.append("kind", kind);
      data.append("workspace", box.getAttribute("data-workspace") || "");
      var xhr = new XMLHttpRequest();
      xhr.open("POST", uploadUrl);
      if (csrf) xhr.setRequestHeader("X-CSRFToken", csrf.value);
      xhr.setRequestHeader("Accept", "application/json");
      progress.hidden = false;
      progress.value = 0;
      progress.textContent = "0%";
      say("Uploading " + file.name + " (" + sizeText(file.size) + ")…");
      setBusy(1);
      xhr.upload.addEventListener("progress", function (event) {
        if (!event.lengthComputable) return;
        var percent = Math.round((event.loaded / event.total) * 100);
        progress.value = percent;
        progress.textContent = percent + "%";
        if (percent >= 100) say("Sending " + file.name + " to FLORA…");
      });
      xhr.addEventListener("loadend", function () {
        setBusy(-1);
        progress.hidden = true;
        if (fileInput) fileInput.value = "";
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (error) { body = null; }
        if (body && body.ok) {
          choose(body.ref, file.name, body.preview_url, body.reused ? "already uploaded" : "uploaded");
          say("Uploaded " + file.name + " (" + sizeText(body.size) + ")" +
            (body.location_removed ? ": where it was taken was removed." : ".") +
            (body.reused ? " The team already had this file: it is reused, not sent again." : ""));
          return;
        }
        var message = body && body.error ? body.error :
          (xhr.status === 413 ? "This file is too large." :
            "The upload failed" + (xhr.status ? " (HTTP " + xhr.status + ")" : "") + ": try again.");
        if (body && body.ref) {
          // Kept by the dashboard, not taken by FLORA yet: running sends it again.
          choose(body.ref, file.name, body.preview_url, "not sent to FLORA yet");
          say(message + " It is kept: Run tries to send it again.", true);
        } else {
          reset();
          say(message, true);
        }
      });
      xhr.send(data);
    }

    if (urlField && urlField.hasAttribute("required")) {
      urlField.setAttribute("data-was-required", "true");
      if (refInput.value) urlField.removeAttribute("required");
    }
    if (fileInput) {
      fileInput.addEventListener("change", function () { upload(fileInput.files[0]); });
    }
    if (clear) clear.addEventListener("click", reset);

    zone.addEventListener("dragover", function (event) {
      if (!event.dataTransfer || Array.prototype.indexOf.call(event.dataTransfer.types, "Files") < 0) return;
      event.preventDefault();
      zone.classList.add("is-dragging");
    });
    zone.addEventListener("dragleave", function (event) {
      if (!zone.contains(event.relatedTarget)) zone.classList.remove("is-dragging");
    });
    zone.addEventListener("drop", function (event) {
      zone.classList.remove("is-dragging");
      if (!event.dataTransfer || !event.dataTransfer.files.length) return;
      event.preventDefault();
      upload(event.dataTransfer.files[0]);
    });
    zone.addEventListener("paste", function (event) {
      var files = event.clipboardData && event.clipboardData.files;
      if (!files || !files.length) return;
      event.preventDefault();
      upload(files[0]);
    });
    box.addEventListener("click", function (event) {
      var pick = event.target.closest("[data-pick-ref]");
      if (!pick) return;
      choose(pick.getAttribute("data-pick-ref"), pick.getAttribute("data-pick-name"),
        pick.getAttribute("data-pick-preview"), "chosen");
      say("");
      var details = box.querySelector("[data-picker]");
      if (details) details.open = false;
    });
  }

  form.querySelectorAll("[data-media-input]").forEach(setup);
  form.addEventListener("submit", function (event) {
    if (busy > 0) event.preventDefault();
  });
})();
