// The upload page's file rows: one row per file, its state badge, message,
// route, thumbnail and progress, and the summary line above the list. Knows
// nothing about sessions or uploads; upload.js tells it what happened.
(function () {
  "use strict";

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

  var STATE_LABEL = {
    queued: "Queued", uploading: "Uploading", processing: "Processing", ready: "Ready",
    waiting: "Waiting", error: "Failed"
  };
  var STATE_BADGE = {
    queued: "", uploading: "info", processing: "info", ready: "ok", waiting: "stale", error: "error"
  };

  // list: the container of rows; template: the <template> of one row; summary:
  // the element that counts them.
  window.pixelfoxUploadRows = function (list, template, summary) {
    var rows = {};     // file id -> row element
    var speeds = {};   // file id -> {t, bytes, rate}

    function make(id, name, bytes) {
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

    function setMessage(id, text) {
      if (rows[id]) rows[id].querySelector(".message").textContent = text;
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

    // A refused file shows no preview of itself, only a thumbnail the server made.
    function dropPreview(id) {
      var thumb = rows[id] && rows[id].querySelector(".thumb");
      if (thumb && thumb.dataset.ext && !thumb.querySelector('img[data-source="server"]')) {
        thumb.textContent = thumb.dataset.ext;
      }
    }

    // from: bytes already there (a resumed upload), so its speed counts only what it sends.
    function startProgress(id, from) {
      speeds[id] = { t: performance.now(), bytes: from || 0, rate: 0 };
    }

    function progress(id, sent, total) {
      var row = rows[id];
      if (!row || !total) return;
      var pct = Math.min(100, (100 * sent) / total);
      row.querySelector("progress").value = pct;
      var s = speeds[id] || (speeds[id] = { t: performance.now(), bytes: 0, rate: 0 });
      var now = performance.now();
      var dt = (now - s.t) / 1000;
      if (dt >= 0.25) {
        var rate = (sent - s.bytes) / dt;
        // A smoothed rate: per-chunk rates jump around too much to read.
        s.rate = s.rate ? 0.7 * s.rate + 0.3 * rate : rate;
        s.t = now;
        s.bytes = sent;
        row.querySelector(".speed").textContent = size(s.rate) + "/s";
        var left = total - sent;
        row.querySelector(".eta").textContent = s.rate > 0 ? seconds(left / s.rate) + " left" : "";
      }
      row.querySelector(".message").textContent = Math.floor(pct) + " %";
    }

    // The ready row links to the image's page.
    function showLink(id, link) {
      var row = rows[id];
      if (!row || !link) return;
      var a = document.createElement("a");
      a.href = link;
      a.textContent = link;
      a.setAttribute("hx-boost", "false");
      row.querySelector(".message").appendChild(a);
    }

    // A guest's upload: its delete link, shown this once, with a copy button.
    function showDeleteLink(id, link) {
      var row = rows[id];
      if (!row || !link || row.querySelector(".delete-link")) return;
      var box = document.createElement("div");
      box.className = "delete-link";
      var label = document.createElement("label");
      label.textContent = "Delete link (shown once, keep it):";
      var input = document.createElement("input");
      input.type = "text";
      input.readOnly = true;
      input.value = link;
      input.id = "delete-link-" + id.replace(/[^A-Za-z0-9_-]/g, "-");
      label.htmlFor = input.id;
      var copy = document.createElement("button");
      copy.type = "button";
      copy.className = "btn small";
      copy.textContent = "Copy";
      copy.setAttribute("data-copy", "#" + input.id);
      box.appendChild(label);
      box.appendChild(input);
      box.appendChild(copy);
      row.querySelector(".message").parentNode.appendChild(box);
    }

    function remove(id) {
      if (rows[id]) rows[id].remove();
      delete rows[id];
      updateSummary();
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

    return {
      row: function (id) { return rows[id] || null; },
      make: make,
      setState: setState,
      setMessage: setMessage,
      setRoute: setRoute,
      setThumb: setThumb,
      dropPreview: dropPreview,
      startProgress: startProgress,
      progress: progress,
      showLink: showLink,
      showDeleteLink: showDeleteLink,
      remove: remove
    };
  };

  window.pixelfoxFormat = { size: size, seconds: seconds };
})();
