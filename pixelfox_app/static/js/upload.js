// The upload page. Uppy (vendored) does the transfer work: restrictions, the
// XHR with progress, the per-file queue, drag-and-drop. This file decides where
// each file goes (a storage node with a fresh token, or the app's proxy),
// turns every stable error code into a sentence, and follows each upload
// through "processing" until its variants are ready.
(function () {
  "use strict";

  var configNode = document.getElementById("upload-config");
  if (!configNode || !window.Uppy) return;
  var config = JSON.parse(configNode.textContent);
  var csrfToken = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var mode = config.direct ? "direct" : "proxy";

  var list = document.getElementById("files");
  var template = document.getElementById("file-template");
  var input = document.getElementById("file-input");
  var dropzone = document.getElementById("dropzone");
  var summary = document.getElementById("summary");
  var modeLabel = document.getElementById("mode-label");
  var visibility = document.getElementById("visibility");

  // ---------------------------------------------------------------- helpers

  function size(bytes) {
    if (bytes == null || isNaN(bytes)) return "–";
    var units = ["B", "KB", "MB", "GB", "TB"];
    var i = 0;
    while (bytes >= 1024 && i < units.length - 1) { bytes /= 1024; i++; }
    return (i === 0 ? bytes.toFixed(0) : bytes.toFixed(1)) + " " + units[i];
  }

  function seconds(s) {
    s = Math.max(0, Math.round(s));
    if (s < 90) return s + " s";
    return Math.floor(s / 60) + " min " + (s % 60) + " s";
  }

  var messages = window.pixelfoxUploadErrors(config, size, seconds);
  var describe = messages.describe;
  var typeList = messages.typeList;

  function apiError(status, body, retryAfterHeader) {
    var info = (body && body.error) || {};
    var error = new Error(info.message || "HTTP " + status);
    error.code = info.code || (status === 0 ? "NETWORK" : status >= 500 ? "INTERNAL" : "BAD_REQUEST");
    error.status = status;
    var details = info.details || {};
    error.retryAfter = Number(details.retry_after || retryAfterHeader || 0) || null;
    return error;
  }

  function xhrError(xhr) {
    var body = null;
    try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
    return apiError(xhr.status, body, xhr.getResponseHeader("Retry-After"));
  }

  // ---------------------------------------------------------------- rows

  var rows = {};       // file id -> row element
  var targets = {};    // file id -> {route, url, headers}
  var attempts = {};   // file id -> silent retries so far (renewed sessions, waits)
  var avoided = {};    // file id -> storage nodes that failed this file (placement skips them)
  var speeds = {};     // file id -> {t, bytes, rate}
  var SILENT_RETRIES = 3;

  function makeRow(id, name, bytes) {
    var row = template.content.firstElementChild.cloneNode(true);
    row.dataset.file = id;
    row.querySelector(".name").textContent = name;
    row.querySelector(".name").title = name;
    row.querySelector(".size").textContent = size(bytes);
    var ext = (name.split(".").pop() || "").slice(0, 4).toUpperCase();
    row.querySelector(".thumb").textContent = ext;
    list.prepend(row);
    rows[id] = row;
    return row;
  }

  var STATE_LABEL = {
    queued: "Queued", uploading: "Uploading", processing: "Processing", ready: "Ready",
    waiting: "Waiting", error: "Failed"
  };
  var STATE_BADGE = {
    queued: "", uploading: "info", processing: "info", ready: "ok", waiting: "stale", error: "error"
  };

  function setState(id, state, message, opts) {
    var row = rows[id];
    if (!row) return;
    opts = opts || {};
    row.dataset.state = state;
    var badge = row.querySelector(".state");
    badge.textContent = STATE_LABEL[state];
    badge.className = "badge state " + STATE_BADGE[state];
    var msg = row.querySelector(".message");
    msg.textContent = message || "";
    if (opts.code) row.dataset.code = opts.code; else delete row.dataset.code;
    var retriable = (state === "error" && opts.retry) || state === "waiting";
    row.querySelector(".retry").classList.toggle("hidden", !retriable);
    var bar = row.querySelector("progress");
    if (state === "processing") bar.removeAttribute("value");
    if (state === "ready") bar.value = 100;
    if (state === "error" || state === "waiting" || state === "queued") {
      bar.classList.toggle("hidden", state !== "queued");
    }
    if (state !== "uploading") {
      row.querySelector(".speed").textContent = "";
      row.querySelector(".eta").textContent = "";
    }
    updateSummary();
  }

  function setRoute(id, route) {
    var row = rows[id];
    if (!row) return;
    row.dataset.route = route;
    row.querySelector(".route").textContent = route === "direct" ? "direct to storage" : "via the app";
  }

  function setThumb(id, url, fromServer) {
    var row = rows[id];
    if (!row || !url) return;
    var box = row.querySelector(".thumb");
    var label = box.dataset.ext || box.textContent;
    box.dataset.ext = label;
    var img = document.createElement("img");
    img.alt = "";
    if (fromServer) img.dataset.source = "server";
    // Not a picture after all (or not served): back to the file's extension.
    img.onerror = function () { if (img.parentNode === box) box.textContent = label; };
    img.src = url;
    box.textContent = "";
    box.appendChild(img);
  }

  function updateSummary() {
    var counts = { ready: 0, error: 0, active: 0 };
    Object.keys(rows).forEach(function (id) {
      var s = rows[id].dataset.state;
      if (s === "ready") counts.ready++;
      else if (s === "error") counts.error++;
      else counts.active++;
    });
    var parts = [];
    if (counts.active) parts.push(counts.active + " in progress");
    if (counts.ready) parts.push(counts.ready + " ready");
    if (counts.error) parts.push(counts.error + " failed");
    summary.textContent = parts.join(" · ");
  }

  function showMode() {
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

  // Every upload starts with a session: the app checks the file's size, type and
  // rate limits, picks a pool and signs a token for exactly this file. The answer
  // says where to send it: a storage node (direct) or the app itself (proxy mode,
  // switched by the operator); the token goes along either way.
  async function resolveTarget(file) {
    var response = await fetch(config.sessionUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrfToken },
      body: JSON.stringify({
        file_size: file.size,
        filename: file.name,
        content_type: file.type || "application/octet-stream",
        visibility: visibility ? visibility.value : "public",
        avoid_nodes: avoided[file.id] || []
      })
    }).catch(function () { return null; });
    if (response === null) throw apiError(0, null, null);
    var body = await response.json().catch(function () { return null; });
    if (!response.ok) throw apiError(response.status, body, response.headers.get("Retry-After"));
    mode = body.direct === false ? "proxy" : "direct";
    showMode();
    return {
      route: mode,
      node: body.node_id || "",
      url: body.upload_url,
      headers: { Authorization: "Bearer " + body.token, Accept: "application/json" }
    };
  }

  // Failures that say "this node, now" rather than "this file": the file goes
  // again, quietly, to another node (the app skips the ones in avoid_nodes).
  var NODE_FAULTS = { NETWORK: true, UNAVAILABLE: true, STORAGE_FULL: true, INTERNAL: true };

  function avoidNode(fileId, target, code) {
    if (!target || target.route !== "direct" || !target.node || !NODE_FAULTS[code]) return false;
    var nodes = avoided[fileId] || (avoided[fileId] = []);
    if (nodes.indexOf(target.node) < 0) nodes.push(target.node);
    return true;
  }

  uppy.use(window.Uppy.XHRUpload, {
    endpoint: async function (file) {
      try {
        var target = await resolveTarget(file);
      } catch (error) {
        // Raised before any XHR exists: report it the way a failed XHR is reported.
        uppy.emit("upload-error", uppy.getFile(file.id), error, null);
        throw error;
      }
      targets[file.id] = target;
      setRoute(file.id, target.route);
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
      var target = targets[files[0].id];
      Object.keys(target.headers).forEach(function (name) { xhr.setRequestHeader(name, target.headers[name]); });
    },
    onAfterResponse: function (xhr) {
      if (xhr.status < 200 || xhr.status >= 300) throw xhrError(xhr);
    },
    getResponseData: function (xhr) {
      try { return JSON.parse(xhr.responseText); } catch (e) { return {}; }
    }
  });

  uppy.use(window.Uppy.DropTarget, { target: document.body });

  uppy.on("file-added", function (file) {
    makeRow(file.id, file.name, file.size);
    if (file.type && file.type.indexOf("image/") === 0 && file.size < 25 * 1024 * 1024) {
      setThumb(file.id, URL.createObjectURL(file.data), false);
    }
    setState(file.id, "queued", "Waiting…");
  });

  uppy.on("restriction-failed", function (file, error) {
    var name = (file && file.name) || "file";
    var bytes = file && (file.size != null ? file.size : file.data && file.data.size);
    var id = "refused-" + Math.random().toString(36).slice(2);
    makeRow(id, name, bytes);
    var code = bytes != null && bytes > config.maxBytes ? "FILE_TOO_LARGE" : "UNSUPPORTED_TYPE";
    var text = code === "FILE_TOO_LARGE"
      ? "Too large (" + size(bytes) + "): the limit is " + size(config.maxBytes) + "."
      : "Not an image we accept. Allowed: " + typeList() + ".";
    setState(id, "error", text, { code: code, retry: false });
    rows[id].querySelector(".remove").dataset.refused = "1";
  });

  uppy.on("upload-start", function (files) {
    files.forEach(function (file) {
      speeds[file.id] = { t: performance.now(), bytes: 0, rate: 0 };
      setState(file.id, "uploading", "");
    });
  });

  uppy.on("upload-progress", function (file, progress) {
    var row = rows[file.id];
    if (!row || !progress.bytesTotal) return;
    var pct = Math.min(100, (100 * progress.bytesUploaded) / progress.bytesTotal);
    row.querySelector("progress").value = pct;
    var s = speeds[file.id] || (speeds[file.id] = { t: performance.now(), bytes: 0, rate: 0 });
    var now = performance.now();
    var dt = (now - s.t) / 1000;
    if (dt >= 0.25) {
      var rate = (progress.bytesUploaded - s.bytes) / dt;
      // A smoothed rate: per-chunk rates jump around too much to read.
      s.rate = s.rate ? 0.7 * s.rate + 0.3 * rate : rate;
      s.t = now;
      s.bytes = progress.bytesUploaded;
      row.querySelector(".speed").textContent = size(s.rate) + "/s";
      var left = progress.bytesTotal - progress.bytesUploaded;
      row.querySelector(".eta").textContent = s.rate > 0 ? seconds(left / s.rate) + " left" : "";
    }
    row.querySelector(".message").textContent = Math.floor(pct) + " %";
  });

  uppy.on("upload-success", function (file, response) {
    var body = (response && response.body) || {};
    var uuid = body.image_uuid;
    if (rows[file.id] && body.view_url) rows[file.id].dataset.viewUrl = body.view_url;
    setState(file.id, "processing", "Processing: making thumbnails and variants…");
    if (uuid) pollStatus(file.id, uuid, body.status_url);
  });

  uppy.on("upload-error", function (file, error) {
    if (!file) return;
    var code = error && error.code ? error.code : "NETWORK";
    var info = describe({ code: code, message: error && error.message, retryAfter: error && error.retryAfter });
    var tries = attempts[file.id] || 0;
    var failedTarget = targets[file.id];
    delete targets[file.id];
    if (tries < SILENT_RETRIES && avoidNode(file.id, failedTarget, code)) {
      attempts[file.id] = tries + 1;
      setState(file.id, "queued", "Trying another storage node…");
      setTimeout(function () { uppy.retryUpload(file.id); }, 50);
      return;
    }
    if (code === "NO_STORAGE" && avoided[file.id] && tries < SILENT_RETRIES) {
      // Every other node is out too: the failed one may be back, so ask without avoiding.
      attempts[file.id] = tries + 1;
      delete avoided[file.id];
      setState(file.id, "queued", "Waiting for a storage node…");
      setTimeout(function () { uppy.retryUpload(file.id); }, 2000);
      return;
    }
    if (info.switchTo) {
      mode = info.switchTo;
      showMode();
    }
    if ((info.renew || info.switchTo) && tries < SILENT_RETRIES) {
      // An expired or refused permission, or a switched mode: get a new one and go again, quietly.
      attempts[file.id] = tries + 1;
      setState(file.id, "queued", "Renewing the upload permission…");
      setTimeout(function () { uppy.retryUpload(file.id); }, 50);
      return;
    }
    if (code === "RATE_LIMITED" && tries < SILENT_RETRIES) {
      attempts[file.id] = tries + 1;
      countdown(file.id, error.retryAfter || 10, code);
      return;
    }
    setState(file.id, "error", info.text, { code: code, retry: info.retry });
    var thumb = rows[file.id] && rows[file.id].querySelector(".thumb");
    if (thumb && thumb.dataset.ext && !thumb.querySelector('img[data-source="server"]')) {
      thumb.textContent = thumb.dataset.ext;  // a refused file shows no preview
    }
  });

  function countdown(id, wait, code) {
    var left = Math.max(1, Math.ceil(wait));
    var tick = function () {
      if (!rows[id] || rows[id].dataset.state !== "waiting") return;
      if (left <= 0) {
        uppy.retryUpload(id);
        return;
      }
      rows[id].querySelector(".message").textContent =
        "Too many uploads: trying again in " + seconds(left) + ".";
      left -= 1;
      setTimeout(tick, 1000);
    };
    // Not a failure: the file waits its turn and goes by itself (or now, with Retry).
    setState(id, "waiting", "", { code: code });
    tick();
  }

  // ---------------------------------------------------------------- processing

  function pickThumbnail(body) {
    var variants = body.variants || [];
    if (!Array.isArray(variants)) {
      variants = Object.keys(variants).map(function (k) {
        var v = body.variants[k];
        return typeof v === "string" ? { kind: k, url: v, width: 0 } : Object.assign({ kind: k }, v);
      });
    }
    var urls = body.urls || {};
    if (!variants.length && typeof urls === "object") {
      variants = Object.keys(urls).map(function (k) {
        var v = urls[k];
        return typeof v === "string" ? { kind: k, url: v, width: 0 } : Object.assign({ kind: k }, v);
      });
    }
    var rank = { webp: 0, avif: 1, jpeg: 2, jpg: 2, png: 3 };
    var usable = variants.filter(function (v) { return v.url && v.kind !== "original"; });
    usable.sort(function (a, b) {
      var aw = a.width || (a.kind.indexOf("thumb") >= 0 ? 250 : 2000);
      var bw = b.width || (b.kind.indexOf("thumb") >= 0 ? 250 : 2000);
      var ab = aw >= 200 ? 0 : 1, bb = bw >= 200 ? 0 : 1;
      return ab - bb || aw - bw || (rank[a.format] || 9) - (rank[b.format] || 9);
    });
    if (usable.length) return usable[0].url;
    return body.thumbnail_url || body.thumb_url || urls.thumbnail || body.original_url || urls.original || null;
  }

  function pollStatus(id, uuid, statusUrl) {
    var url = statusUrl || config.statusUrl.replace("{image_uuid}", encodeURIComponent(uuid));
    var delay = 500;
    var started = Date.now();
    var step = function () {
      if (!rows[id]) return;
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, status: r.status, body: b }; }, function () { return { ok: r.ok, status: r.status, body: {} }; }); })
        .then(function (res) {
          var body = res.body || {};
          var state = body.state || body.status;
          if (res.ok && state === "ready") {
            var thumb = pickThumbnail(body);
            if (thumb) setThumb(id, thumb, true);
            var link = body.view_url || rows[id].dataset.viewUrl;
            setState(id, "ready", "");
            if (link) {
              var a = document.createElement("a");
              a.href = link;
              a.textContent = link;
              a.setAttribute("hx-boost", "false");
              rows[id].querySelector(".message").appendChild(a);
            }
            return;
          }
          if (res.ok && state === "failed") {
            setState(id, "error", describe({ code: "PROCESSING_FAILED" }).text, { code: "PROCESSING_FAILED", retry: false });
            return;
          }
          // Processing, or not recorded yet (a node's outbox may still be delivering it).
          if (Date.now() - started > 5 * 60 * 1000) {
            setState(id, "processing", "Still processing. It will appear under My images when ready.");
            return;
          }
          delay = Math.min(3000, delay * 1.4);
          setTimeout(step, delay);
        })
        .catch(function () { delay = Math.min(5000, delay * 2); setTimeout(step, delay); });
    };
    setTimeout(step, 300);
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
      attempts[id] = 0;
      setState(id, "queued", "Retrying…");
      uppy.retryUpload(id);
    } else if (event.target.closest(".remove")) {
      if (uppy.getFile(id)) uppy.removeFile(id);
      row.remove();
      delete rows[id];
      updateSummary();
    }
  });

  showMode();
  window.pixelfoxUppy = uppy;
})();
