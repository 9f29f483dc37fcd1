// PixelFox pages: polling only while visible, error toasts, copy buttons.
// Loaded on every page; no inline scripts anywhere (the CSP forbids them).
(function () {
  "use strict";

  // Polling elements carry data-poll. A hidden tab sends nothing; when the tab
  // comes back, each of them refreshes at once instead of waiting a full interval.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (document.visibilityState !== "visible" && elt && elt.hasAttribute("data-poll")) {
      event.preventDefault();
    }
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState !== "visible" || !window.htmx) return;
    document.querySelectorAll("[data-poll]").forEach(function (elt) {
      window.htmx.trigger(elt, "pf:visible");
    });
  });

  function toast(message, kind) {
    var box = document.querySelector(".toasts");
    if (!box) {
      box = document.createElement("div");
      box.className = "toasts";
      box.setAttribute("role", "status");
      document.body.appendChild(box);
    }
    var item = document.createElement("div");
    item.className = "toast" + (kind ? " " + kind : "");
    item.textContent = message;
    box.appendChild(item);
    setTimeout(function () { item.remove(); }, 6000);
  }
  window.pixelfoxToast = toast;

  // htmx does not swap error responses; say what went wrong instead of doing nothing.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var message = "Request failed (" + xhr.status + ").";
    try {
      var body = JSON.parse(xhr.responseText);
      if (body && body.error && body.error.message) message = body.error.message;
    } catch (e) { /* not JSON: keep the generic message */ }
    toast(message, "error");
  });
  document.addEventListener("htmx:sendError", function () {
    toast("The server is not reachable. Check your connection.", "error");
  });

  // Copy buttons: <button data-copy="#input-id">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var input = document.querySelector(button.getAttribute("data-copy"));
    if (!input) return;
    var text = input.value || input.textContent;
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1400);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { input.select(); });
    } else {
      input.select();
      document.execCommand("copy");
      done();
    }
  });

  // "Select all" boxes: <input type="checkbox" data-select-all="#form-id"> ticks every
  // image checkbox of that form.
  document.addEventListener("change", function (event) {
    var box = event.target.closest && event.target.closest("[data-select-all]");
    if (!box) return;
    var form = document.querySelector(box.getAttribute("data-select-all"));
    if (!form) return;
    form.querySelectorAll('input[type=checkbox][name=image]').forEach(function (input) {
      input.checked = box.checked;
    });
  });

  // Confirmations without eval: <button data-confirm="Really?">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
})();
