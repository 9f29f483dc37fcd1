// Where each file goes, and what to do when it fails. Every upload starts with
// a session: the app checks the file's size, type and rate limits, picks a
// pool and signs a token for exactly this file. The answer says where to send
// it: a storage node (direct) or the app itself (proxy mode, switched by the
// operator); the token goes along either way. After a failure, decide():
// quietly go again (another node, a renewed permission, a switched mode), wait
// out a rate limit, or give up with a sentence for the user.
(function () {
  "use strict";

  // Failures that say "this node, now" rather than "this file": the file goes
  // again, quietly, to another node (the app skips the ones in avoid_nodes).
  var NODE_FAULTS = { NETWORK: true, UNAVAILABLE: true, STORAGE_FULL: true, INTERNAL: true };
  var SILENT_RETRIES = 3;

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

  // config: the page's upload config; csrfToken: this page's token;
  // describe: code -> {text, retry, renew, switchTo} (upload-errors.js);
  // visibility: the <select> of the page; onMode(mode): the mode changed.
  window.pixelfoxUploadSessions = function (config, csrfToken, describe, visibility, onMode) {
    var mode = config.direct ? "direct" : "proxy";
    var targets = {};    // file id -> {route, node, url, headers}
    var attempts = {};   // file id -> silent retries so far (renewed sessions, waits)
    var avoided = {};    // file id -> storage nodes that failed this file (placement skips them)

    function setMode(next) {
      mode = next;
      onMode(mode);
    }

    async function resolve(file) {
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
      setMode(body.direct === false ? "proxy" : "direct");
      var headers = { Authorization: "Bearer " + body.token, Accept: "application/json" };
      // The proxy is the app itself: the browser's cookies ride along, so the
      // app wants this page's CSRF token too. A node never sees it.
      if (mode === "proxy") headers["X-CSRF-Token"] = csrfToken;
      var target = {
        route: mode, node: body.node_id || "", url: body.upload_url, headers: headers,
        // Resumable uploads (upload-tus.js): the node's tus endpoint, and what to remember.
        tusUrl: body.tus_url || null, imageUuid: body.image_uuid,
        // A guest's upload: the page of its delete link, shown once the file is stored.
        deletePageUrl: body.delete_page_url || null
      };
      targets[file.id] = target;
      return target;
    }

    // A session kept from before (a resumable upload the page remembered): no new one.
    function adopt(fileId, target) {
      targets[fileId] = target;
      setMode(target.route);
      return target;
    }

    // A failed tus request (tus-js-client's error, or Uppy's network error around it).
    function tusError(error) {
      var answer = (error && (error.originalResponse || (error.cause && error.cause.originalResponse))) || null;
      if (!answer) return apiError(0, null, null);
      var body = null;
      try { body = JSON.parse(answer.getBody()); } catch (e) { body = null; }
      return apiError(answer.getStatus(), body, answer.getHeader("Retry-After"));
    }

    function avoidNode(fileId, target, code) {
      if (!target || target.route !== "direct" || !target.node || !NODE_FAULTS[code]) return false;
      var nodes = avoided[fileId] || (avoided[fileId] = []);
      if (nodes.indexOf(target.node) < 0) nodes.push(target.node);
      return true;
    }

    // What to do after a failed upload: {again: ms, message} to go again
    // quietly, {wait: seconds} to wait out a rate limit, or {fail: text, retry}.
    function decide(fileId, error) {
      var code = error && error.code ? error.code : "NETWORK";
      var info = describe({ code: code, message: error && error.message, retryAfter: error && error.retryAfter });
      var tries = attempts[fileId] || 0;
      var failedTarget = targets[fileId];
      delete targets[fileId];
      var quiet = tries < SILENT_RETRIES;
      if (quiet && avoidNode(fileId, failedTarget, code)) {
        attempts[fileId] = tries + 1;
        return { code: code, again: 50, message: "Trying another storage node…" };
      }
      if (code === "NO_STORAGE" && avoided[fileId] && quiet) {
        // Every other node is out too: the failed one may be back, so ask without avoiding.
        attempts[fileId] = tries + 1;
        delete avoided[fileId];
        return { code: code, again: 2000, message: "Waiting for a storage node…" };
      }
      if (info.switchTo) setMode(info.switchTo);
      if ((info.renew || info.switchTo) && quiet) {
        // An expired or refused permission, or a switched mode: get a new one and go again, quietly.
        attempts[fileId] = tries + 1;
        return { code: code, again: 50, message: "Renewing the upload permission…" };
      }
      if (code === "RATE_LIMITED" && quiet) {
        attempts[fileId] = tries + 1;
        return { code: code, wait: error.retryAfter || 10 };
      }
      return { code: code, fail: info.text, retry: info.retry };
    }

    return {
      mode: function () { return mode; },
      resolve: resolve,
      adopt: adopt,
      target: function (fileId) { return targets[fileId]; },
      decide: decide,
      // The user pressed Retry: a fresh allowance of quiet retries.
      reset: function (fileId) { attempts[fileId] = 0; },
      httpError: xhrError,
      tusError: tusError
    };
  };
})();
