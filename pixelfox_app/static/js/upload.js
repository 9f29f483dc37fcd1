// The upload page, wired together. Uppy (vendored) does the transfer work:
// restrictions, the XHR with progress, the per-file queue, drag-and-drop. The
// ideas live in their own files, loaded before this one:
//   upload-rows.js      one row per file: state, progress, thumbnail, link
//   upload-sessions.js  where each file goes, and what to do when it fails
//   upload-status.js    following an image through "processing"
//   upload-errors.js    every stable error code as a sentence
//   upload-tus.js       large files, resumably (tus): their own Uppy with the tus plugin
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
  var single = {};  // file ids handed back from the resumable route (proxy mode meanwhile)
  var uppy = new Uppy({
    autoProceed: true,
    allowMultipleUploadBatches: true,
    restrictions: { maxFileSize: config.maxBytes, allowedFileTypes: config.allowedTypes },
    // Large files take the resumable route (upload-tus.js); the rest one request each.
    onBeforeFileAdded: function (file) {
      if (single[file.id] || !tus.wants(file)) return true;
      tus.take(file);
      return false;
    }
  });
  var tus = window.pixelfoxUploadTus(config, sessions, rows, {
    added: showAdded,
    failed: failed,
    handOver: function (id, file) {
      single[id] = true;
      uppy.addFile(file);
    }
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

  function showAdded(file) {
    if (rows.row(file.id)) return;  // handed over between the routes: it has its row
    rows.make(file.id, file.name, file.size);
    if (file.type && file.type.indexOf("image/") === 0 && file.size < 25 * 1024 * 1024) {
      rows.setThumb(file.id, URL.createObjectURL(file.data), false);
    }
    rows.setState(file.id, "queued", "Waiting…");
  }

  uppy.on("file-added", showAdded);

  function refused(file, error) {
    // Not a refusal: onBeforeFileAdded sent the file the resumable way.
    if (error && error.isUserFacing === false) return;
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
  }

  function started(files) {
    files.forEach(function (file) {
      rows.startProgress(file.id);
      rows.setState(file.id, "uploading", "");
    });
  }

  function progressed(file, progress) {
    if (!file) return;
    rows.progress(file.id, progress.bytesUploaded, progress.bytesTotal);
    var note = tus.progressNote(file.id, (100 * progress.bytesUploaded) / progress.bytesTotal);
    if (note) rows.setMessage(file.id, note);
  }

  function stored(file, body) {
    var row = rows.row(file.id);
    if (row && body.view_url) row.dataset.viewUrl = body.view_url;
    var target = sessions.target(file.id);
    if (target && target.deletePageUrl) rows.showDeleteLink(file.id, target.deletePageUrl);
    rows.setState(file.id, "processing", "Processing: making thumbnails and variants…");
    if (body.image_uuid) follow(file.id, body.image_uuid, body.status_url);
    if (body.image_uuid && album && album.value) addToAlbum(album.value, body.image_uuid);
  }

  // The album picker: each stored image joins the chosen album (at its end).
  var album = document.getElementById("album");
  function addToAlbum(shortId, imageUuid) {
    fetch(config.albumImagesUrl.replace("{album}", encodeURIComponent(shortId)), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrfToken },
      body: JSON.stringify({ image_uuids: [imageUuid] })
    }).then(function (response) {
      if (!response.ok && window.pixelfoxToast) {
        window.pixelfoxToast("Uploaded, but not added to the album (" + response.status + ").", "error");
      }
    }, function () {
      if (window.pixelfoxToast) window.pixelfoxToast("Uploaded, but not added to the album.", "error");
    });
  }

  // Go again: a resumable file with a new session, any other by Uppy's retry.
  function retry(id) {
    if (tus.has(id)) tus.retry(id); else uppy.retryUpload(id);
  }

  function failed(id, error) {
    var next = sessions.decide(id, error);
    if (next.again != null) {
      rows.setState(id, "queued", next.message);
      setTimeout(function () { retry(id); }, next.again);
    } else if (next.wait != null) {
      countdown(id, next.wait, next.code);
    } else {
      rows.setState(id, "error", next.fail, { code: next.code, retry: next.retry });
      rows.dropPreview(id);
    }
  }

  [uppy, tus.uppy].forEach(function (instance) {
    instance.on("restriction-failed", refused);
    instance.on("upload-start", started);
    instance.on("upload-progress", progressed);
  });
  uppy.on("upload-success", function (file, response) { stored(file, (response && response.body) || {}); });
  uppy.on("upload-error", function (file, error) { if (file) failed(file.id, error); });
  tus.uppy.on("upload-success", function (file, response) {
    stored(file, tus.answer(file, response));
    tus.done(file.id);
  });
  tus.uppy.on("upload-error", function (file, error) { if (file) failed(file.id, sessions.tusError(error)); });

  function countdown(id, wait, code) {
    var left = Math.max(1, Math.ceil(wait));
    var tick = function () {
      var row = rows.row(id);
      if (!row || row.dataset.state !== "waiting") return;
      if (left <= 0) {
        retry(id);
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
      retry(id);
    } else if (event.target.closest(".remove")) {
      // A resumable upload removed is terminated on its node, its space given back.
      if (tus.uppy.getFile(id)) tus.uppy.removeFile(id);
      if (tus.has(id)) tus.done(id);
      if (uppy.getFile(id)) uppy.removeFile(id);
      rows.remove(id);
    }
  });

  showMode(sessions.mode());
  var cut = tus.leftOver().length;
  if (cut) {
    modeLabel.textContent += " · " + cut + (cut === 1 ? " upload was" : " uploads were") +
      " cut off: choose the same file" + (cut === 1 ? "" : "s") + " again to resume.";
  }
  window.pixelfoxUppy = uppy;
})();
