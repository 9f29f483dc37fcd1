// Following an uploaded image through "processing": poll its status (backing
// off, up to five minutes) until its variants are ready or processing failed,
// then show its thumbnail and link. Polling stops by itself when the row is gone.
(function () {
  "use strict";

  var GIVE_UP_MS = 5 * 60 * 1000;

  function asList(map) {
    return Object.keys(map).map(function (k) {
      var v = map[k];
      return typeof v === "string" ? { kind: k, url: v, width: 0 } : Object.assign({ kind: k }, v);
    });
  }

  // The best picture for a row: a variant of at least 200 px, the smallest
  // such, preferring WebP; else whatever thumbnail or original the answer has.
  function pickThumbnail(body) {
    var variants = body.variants || [];
    if (!Array.isArray(variants)) variants = asList(body.variants);
    var urls = body.urls || {};
    if (!variants.length && typeof urls === "object") variants = asList(urls);
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

  function getJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        return r.json().then(
          function (b) { return { ok: r.ok, status: r.status, body: b }; },
          function () { return { ok: r.ok, status: r.status, body: {} }; }
        );
      });
  }

  // rows: upload-rows.js; describe: upload-errors.js.
  window.pixelfoxUploadStatus = function (config, rows, describe) {
    return function follow(id, uuid, statusUrl) {
      var url = statusUrl || config.statusUrl.replace("{image_uuid}", encodeURIComponent(uuid));
      var delay = 500;
      var started = Date.now();
      var step = function () {
        var row = rows.row(id);
        if (!row) return;
        getJson(url)
          .then(function (res) {
            var body = res.body || {};
            var state = body.state || body.status;
            if (res.ok && state === "ready") {
              var thumb = pickThumbnail(body);
              if (thumb) rows.setThumb(id, thumb, true);
              var link = body.view_url || row.dataset.viewUrl;
              rows.setState(id, "ready", "");
              rows.showLink(id, link);
              return;
            }
            if (res.ok && state === "failed") {
              var text = describe({ code: "PROCESSING_FAILED" }).text;
              rows.setState(id, "error", text, { code: "PROCESSING_FAILED", retry: false });
              return;
            }
            // Processing, or not recorded yet (a node's outbox may still be delivering it).
            if (Date.now() - started > GIVE_UP_MS) {
              rows.setState(id, "processing", "Still processing. It will appear under My images when ready.");
              return;
            }
            delay = Math.min(3000, delay * 1.4);
            setTimeout(step, delay);
          })
          .catch(function () { delay = Math.min(5000, delay * 2); setTimeout(step, delay); });
      };
      setTimeout(step, 300);
    };
  };
})();
