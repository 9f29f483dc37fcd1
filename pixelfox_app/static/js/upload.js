// The upload page, wired together. Uppy (vendored) does the transfer work:
// restrictions, the XHR with progress, the per-file queue, drag-and-drop. The
// ideas live in their own files, loaded before this one:
//   upload-rows.js      one row per file: state, progress, thumbnail, link
//   upload-sessions.js  where each file goes, and what to do when it fails
//   upload-status.js    following an image through "processing"
//   upload-errors.js    every stable error code as a sentence
(function () {
  "use strict";

  var configNode = document.getElementById("upload-config");
  if (!configNode || !window.Uppy) return;
  var config = JSON.parse(configNode.textContent);
  var csrfToken = document.querySelector('meta[name="csrf-token"]').getAttribute("content");

  var input = document.getElementById("file-input");
  var dropzone = document.getElementById("dropzone");
  var modeLabel = document.getElementById("mode-label");
  var list = document.getElementById("files");

  var format = window.pixelfoxFormat;
  var messages = window.pixelfoxUploadErrors(config, format.size, format.seconds);
  var rows = window.pixelfoxUploadRows(list, document.getElementById("file-template"), document.getElementById("summary"));
  var sessions = window.pixelfoxUploadSessions(
    config, csrfToken, messages.describe, document.getElementById("visibility"), showMode
  );
  var follow = window.pixelfoxUploadStatus(config, rows, messages.describe);

  function showMode(mode) {
    modeLabel.textContent = mode === "direct" ? "Uploads go straight to a storage node" : "Uploads go through the app";
    modeLabel.dataset.mode = mode;
  }

  // ---------------------------------------------------------------- uppy

  var Uppy = window.Uppy.Uppy;
  var uppy = new Uppy({
    autoProceed: true,
    allowMultipleUploadBatches: true,
    restrictions: { maxFileSize: config.maxBytes, allowedFileTypes: config.allowedTypes }
  });

  uppy.use(window.Uppy.XHRUpload, {
    endpoint: async function (file) {
      try {
        var target = await sessions.resolve(file);
      } catch (error) {
        // Raised before any XHR exists: report it the way a failed XHR is reported.
        uppy.emit("upload-error", uppy.getFile(file.id), error, null);
        throw error;
      }
      rows.setRoute(file.id, target.route);
      return target.url;
    },
    method: "POST",
    formData: true,
    fieldName: "file",
    allowedMetaFields: [],
    limit: config.concurrency || 3,
    timeout: 60000,
    // Retries are ours: a direct upload must not repeat with a used token.
    shouldRetry: function () { return false; },
    onBeforeRequest: function (xhr, retryCount, files) {
      var headers = sessions.target(files[0].id).headers;
      Object.keys(headers).forEach(function (name) { xhr.setRequestHeader(name, headers[name]); });
    },
    onAfterResponse: function (xhr) {
      if (xhr.status < 200 || xhr.status >= 300) throw sessions.httpError(xhr);
    },
    getResponseData: function (xhr) {
      try { return JSON.parse(xhr.responseText); } catch (e) { return {}; }
    }
  });

  uppy.use(window.Uppy.DropTarget, { target: document.body });

  uppy.on("file-added", function (file) {
    rows.make(file.id, file.name, file.size);
    if (file.type && file.type.indexOf("image/") === 0 && file.size < 25 * 1024 * 1024) {
      rows.setThumb(file.id, URL.createObjectURL(file.data), false);
    }
    rows.setState(file.id, "queued", "Waiting…");
  });

  uppy.on("restriction-failed", function (file, error) {
    var name = (file && file.name) || "file";
    var bytes = file && (file.size != null ? file.size : file.data && file.data.size);
    var id = "refused-" + Math.random().toString(36).slice(2);
    rows.make(id, name, bytes);
    var code = bytes != null && bytes > config.maxBytes ? "FILE_TOO_LARGE" : "UNSUPPORTED_TYPE";
    var text = code === "FILE_TOO_LARGE"
      ? "Too large (" + format.size(bytes) + "): the limit is " + format.size(config.maxBytes) + "."
      : "Not an image we accept. Allowed: " + messages.typeList() + ".";
    rows.setState(id, "error", text, { code: code, retry: false });
    rows.row(id).querySelector(".remove").dataset.refused = "1";
  });

  uppy.on("upload-start", function (files) {
    files.forEach(function (file) {
      rows.startProgress(file.id);
      rows.setState(file.id, "uploading", "");
    });
  });

  uppy.on("upload-progress", function (file, progress) {
    rows.progress(file.id, progress.bytesUploaded, progress.bytesTotal);
  });

  uppy.on("upload-success", function (file, response) {
    var body = (response && response.body) || {};
    var row = rows.row(file.id);
    if (row && body.view_url) row.dataset.viewUrl = body.view_url;
    rows.setState(file.id, "processing", "Processing: making thumbnails and variants…");
    if (body.image_uuid) follow(file.id, body.image_uuid, body.status_url);
  });

  uppy.on("upload-error", function (file, error) {
    if (!file) return;
    var next = sessions.decide(file.id, error);
    if (next.again != null) {
      rows.setState(file.id, "queued", next.message);
      setTimeout(function () { uppy.retryUpload(file.id); }, next.again);
    } else if (next.wait != null) {
      countdown(file.id, next.wait, next.code);
    } else {
      rows.setState(file.id, "error", next.fail, { code: next.code, retry: next.retry });
      rows.dropPreview(file.id);
    }
  });

  function countdown(id, wait, code) {
    var left = Math.max(1, Math.ceil(wait));
    var tick = function () {
      var row = rows.row(id);
      if (!row || row.dataset.state !== "waiting") return;
      if (left <= 0) {
        uppy.retryUpload(id);
        return;
      }
      rows.setMessage(id, "Too many uploads: trying again in " + format.seconds(left) + ".");
      left -= 1;
      setTimeout(tick, 1000);
    };
    // Not a failure: the file waits its turn and goes by itself (or now, with Retry).
    rows.setState(id, "waiting", "", { code: code });
    tick();
  }

  // ---------------------------------------------------------------- inputs

  function addFiles(files, source) {
    var descriptors = Array.prototype.map.call(files, function (file, i) {
      var name = file.name || ("pasted-" + Date.now() + "-" + i + "." + ((file.type || "image/png").split("/")[1] || "png"));
      return { name: name, type: file.type, data: file, source: source };
    });
    try {
      uppy.addFiles(descriptors);
    } catch (e) {
      // Every file was refused; restriction-failed has shown why for each.
    }
  }

  input.addEventListener("change", function () {
    addFiles(input.files, "picker");
    input.value = "";
  });
  dropzone.addEventListener("click", function (event) { event.preventDefault(); input.click(); });
  dropzone.addEventListener("keydown", function (event) {
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); input.click(); }
  });
  document.addEventListener("paste", function (event) {
    var items = (event.clipboardData && event.clipboardData.files) || [];
    if (!items.length) return;
    event.preventDefault();
    addFiles(items, "paste");
  });

  list.addEventListener("click", function (event) {
    var row = event.target.closest(".file");
    if (!row) return;
    var id = row.dataset.file;
    if (event.target.closest(".retry")) {
      sessions.reset(id);
      rows.setState(id, "queued", "Retrying…");
      uppy.retryUpload(id);
    } else if (event.target.closest(".remove")) {
      if (uppy.getFile(id)) uppy.removeFile(id);
      rows.remove(id);
    }
  });

  showMode(sessions.mode());
  window.pixelfoxUppy = uppy;
})();
