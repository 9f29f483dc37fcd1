// Large files go resumably: over tus, to the storage node the session names
// (its tus_url), with the session's token on every request. Uppy's tus plugin
// (tus-js-client inside) sends them in chunks, retries with growing delays
// after a cut and goes on where the node stands. The session is kept in the
// browser (localStorage) for as long as the node keeps the unfinished upload,
// and the plugin keeps the upload's address: after a page reload the same
// file, chosen again, resumes where it was cut ("Resuming at 63 %").
//
// A file is added to this page's tus Uppy only once its session is known, so
// every file there can start at once; until then, and after a failure, the
// page's own logic (upload-sessions.js: another node, a renewed permission, a
// rate limit) decides, as for a single upload.
(function () {
  "use strict";

  var STORE = "pixelfox-tus:";             // + file id -> a session (target) and when it was made
  var KEEP_MS = 23 * 60 * 60 * 1000;      // the node keeps an unfinished upload 24 h
  var CHUNK_BYTES = 8 * 1024 * 1024;
  var RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000, 30000];
  // Refusals worth sending again: the upload moved on meanwhile, or is busy.
  var AGAIN = { TUS_OFFSET_MISMATCH: true, TUS_UPLOAD_LOCKED: true };

  function storage() {
    try { return window.localStorage; } catch (e) { return null; }
  }

  // config: the page's upload config; sessions: upload-sessions.js; rows:
  // upload-rows.js; hooks: {added(file), failed(id, error)} from upload.js.
  window.pixelfoxUploadTus = function (config, sessions, rows, hooks) {
    var files = {};      // file id -> what to add to Uppy (name, type, data, source)
    var begun = {};      // file id -> its first progress of this attempt was seen
    var resumedAt = {};  // file id -> the percentage it resumed at

    // Same id as the page's other Uppy, so a file has one id whichever way it goes.
    var uppy = new window.Uppy.Uppy({
      id: "uppy",
      autoProceed: false,
      allowMultipleUploadBatches: true,
      restrictions: { maxFileSize: config.maxBytes, allowedFileTypes: config.allowedTypes }
    });
    uppy.use(window.Uppy.Tus, {
      chunkSize: CHUNK_BYTES,
      retryDelays: RETRY_DELAYS,
      removeFingerprintOnSuccess: true,
      limit: config.concurrency || 3,
      allowedMetaFields: ["name", "type"],
      onShouldRetry: function (error, attempt, options, next) {
        var answer = sessions.tusError(error);
        if (answer.status >= 400 && answer.status < 500 && !AGAIN[answer.code]) return false;
        return next(error);
      }
    });

    function remembered(id) {
      var store = storage();
      var saved = null;
      try { saved = store && JSON.parse(store.getItem(STORE + id)); } catch (e) { saved = null; }
      if (!saved || !saved.target || Date.now() - saved.at > KEEP_MS) return null;
      return saved.target;
    }

    function remember(id, target) {
      var store = storage();
      if (store) store.setItem(STORE + id, JSON.stringify({ at: Date.now(), target: target }));
    }

    function forget(id) {
      var store = storage();
      if (store) store.removeItem(STORE + id);
    }

    // Files an earlier visit of this page left half-way, still resumable.
    function leftOver() {
      var store = storage();
      var found = [];
      if (!store) return found;
      for (var i = 0; i < store.length; i++) {
        var key = store.key(i);
        if (key && key.indexOf(STORE) === 0 && remembered(key.slice(STORE.length))) found.push(key);
      }
      return found;
    }

    function wants(file) {
      return config.direct && sessions.mode() === "direct" && file.size > (config.resumableBytes || 0) &&
        file.size <= config.maxBytes && config.allowedTypes.indexOf(file.type) >= 0;
    }

    // A file the page's other Uppy handed over: its row now, its session next.
    function take(file) {
      files[file.id] = { name: file.name, type: file.type, data: file.data, source: file.source };
      hooks.added(file);
      prepare(file.id, true);
    }

    async function prepare(id, mayResume) {
      var file = files[id];
      var kept = mayResume ? remembered(id) : null;
      var target;
      try {
        target = kept ? sessions.adopt(id, kept) : await sessions.resolve({ id: id, name: file.name, size: file.data.size, type: file.type });
      } catch (error) {
        hooks.failed(id, error);
        return;
      }
      if (!target.tusUrl) {
        // The app takes uploads itself now (proxy mode): one request, the usual way.
        delete files[id];
        hooks.handOver(id, file);
        return;
      }
      remember(id, target);
      rows.setRoute(id, target.route);
      if (kept) rows.setState(id, "queued", "Resuming…");
      var fresh = !uppy.getFile(id);
      if (fresh) uppy.addFile(file);
      // A new session may be another node: no old upload address with it.
      uppy.setFileState(id, { tus: { endpoint: target.tusUrl, headers: target.headers, uploadUrl: null } });
      if (fresh) uppy.upload(); else uppy.retryUpload(id);
    }

    uppy.on("upload-start", function (started) {
      started.forEach(function (file) { begun[file.id] = false; delete resumedAt[file.id]; });
    });

    // The first progress of an attempt is where the node stood: above 0, it resumed.
    uppy.on("upload-progress", function (file, progress) {
      if (!file || begun[file.id]) return;
      begun[file.id] = true;
      if (progress.bytesUploaded > 0 && progress.bytesTotal) {
        resumedAt[file.id] = Math.floor((100 * progress.bytesUploaded) / progress.bytesTotal);
        rows.startProgress(file.id, progress.bytesUploaded);
      }
    });

    // The answer to the last chunk is the single upload's (201 {image_uuid, view_url, ...});
    // an upload that was complete already when it resumed has only the session's word.
    function answer(file, response) {
      var xhr = response && response.body && response.body.xhr;
      var body = {};
      try { body = JSON.parse((xhr && xhr.responseText) || "{}"); } catch (e) { body = {}; }
      var target = sessions.target(file.id);
      if (!body.image_uuid && target) body.image_uuid = target.imageUuid;
      return body;
    }

    return {
      uppy: uppy,
      wants: wants,
      take: take,
      has: function (id) { return Object.prototype.hasOwnProperty.call(files, id); },
      // Go again with a new session (another node, a renewed token, after a wait).
      retry: function (id) { forget(id); prepare(id, false); },
      done: function (id) { forget(id); delete files[id]; },
      answer: answer,
      // What to show after a progress event of a resumed upload.
      progressNote: function (id, pct) {
        var at = resumedAt[id];
        if (at == null) return null;
        return pct - at < 1 ? "Resuming at " + at + " %" : "Resumed at " + at + " % · " + Math.floor(pct) + " %";
      },
      leftOver: leftOver
    };
  };
})();
