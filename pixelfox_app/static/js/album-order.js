// The album editor's drag and drop: move an entry by dragging it, then post the
// whole order (image uuids) and put the server's list in place. The up/down
// buttons do the same one step at a time without a mouse (plain htmx forms).
(function () {
  "use strict";
  if (window.pixelfoxAlbumOrder) return; // boosted navigation may load it again
  window.pixelfoxAlbumOrder = true;

  var dragged = null;
  var before = "";

  function entryOf(target) {
    return target && target.closest ? target.closest(".album-entry") : null;
  }

  function orderOf(box) {
    return Array.prototype.map.call(box.querySelectorAll(".album-entry"), function (li) {
      return li.getAttribute("data-uuid");
    });
  }

  function put(box, html) {
    var holder = document.createElement("div");
    holder.innerHTML = html.trim();
    var fresh = holder.firstElementChild;
    if (!fresh) return;
    box.replaceWith(fresh);
    if (window.htmx) window.htmx.process(fresh);
  }

  function post(box, order) {
    var body = new URLSearchParams();
    order.forEach(function (uuid) { body.append("image", uuid); });
    var token = document.querySelector('meta[name="csrf-token"]');
    fetch(box.getAttribute("data-order-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        "HX-Request": "true",
        "X-CSRF-Token": token ? token.getAttribute("content") : ""
      },
      body: body
    }).then(function (response) {
      return response.text().then(function (text) {
        if ((response.headers.get("Content-Type") || "").indexOf("text/html") === 0) put(box, text);
        if (!response.ok && window.pixelfoxToast) {
          window.pixelfoxToast("The order was not saved (" + response.status + ").", "error");
        }
      });
    }, function () {
      if (window.pixelfoxToast) window.pixelfoxToast("The server is not reachable.", "error");
    });
  }

  document.addEventListener("dragstart", function (event) {
    var item = entryOf(event.target);
    if (!item) return;
    dragged = item;
    before = orderOf(item.closest("#album-entries-box")).join(",");
    item.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", item.getAttribute("data-uuid"));
  });

  document.addEventListener("dragover", function (event) {
    var over = entryOf(event.target);
    if (!dragged || !over || over.parentNode !== dragged.parentNode) return;
    event.preventDefault();
    if (over === dragged) return;
    var rect = over.getBoundingClientRect();
    var after = event.clientY > rect.top + rect.height / 2;
    over.parentNode.insertBefore(dragged, after ? over.nextSibling : over);
  });

  document.addEventListener("drop", function (event) {
    if (dragged) event.preventDefault();
  });

  document.addEventListener("dragend", function () {
    if (!dragged) return;
    var item = dragged;
    dragged = null;
    item.classList.remove("dragging");
    var box = item.closest("#album-entries-box");
    var order = orderOf(box);
    if (order.join(",") !== before) post(box, order);
  });
})();
