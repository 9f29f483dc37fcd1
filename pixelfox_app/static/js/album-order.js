// The album editor's drag and drop: move an entry by dragging it, then post the
// whole order (image uuids) and put the server's list in place. A mouse drags
// the entry (HTML5 drag and drop); a finger or a pen drags its handle (pointer
// events: touch screens fire no HTML5 drag events). The up/down buttons do the
// same one step at a time without either (plain htmx forms).
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
    moveOver(over, event.clientY);
  });

  document.addEventListener("drop", function (event) {
    if (dragged) event.preventDefault();
  });

  // Puts the dragged entry before or after the one under (clientY), as the pointer moves.
  function moveOver(over, clientY) {
    if (!dragged || !over || over === dragged || over.parentNode !== dragged.parentNode) return;
    var rect = over.getBoundingClientRect();
    var after = clientY > rect.top + rect.height / 2;
    over.parentNode.insertBefore(dragged, after ? over.nextSibling : over);
  }

  function finish() {
    if (!dragged) return;
    var item = dragged;
    dragged = null;
    item.classList.remove("dragging");
    var box = item.closest("#album-entries-box");
    var order = orderOf(box);
    if (order.join(",") !== before) post(box, order);
  }

  document.addEventListener("dragend", finish);

  // Touch and pen: the handle follows the finger (touch-action: none on it, so the
  // page does not scroll instead); the entry under the finger makes room.
  var pointer = null;
  document.addEventListener("pointerdown", function (event) {
    if (event.pointerType === "mouse" || dragged) return;
    var handle = event.target.closest && event.target.closest(".album-entry .handle");
    if (!handle) return;
    event.preventDefault();
    dragged = entryOf(handle);
    pointer = event.pointerId;
    before = orderOf(dragged.closest("#album-entries-box")).join(",");
    dragged.classList.add("dragging");
    if (handle.setPointerCapture) handle.setPointerCapture(event.pointerId);
  });

  document.addEventListener("pointermove", function (event) {
    if (!dragged || event.pointerId !== pointer) return;
    event.preventDefault();
    var under = document.elementFromPoint(event.clientX, event.clientY);
    moveOver(entryOf(under), event.clientY);
  });

  function release(event) {
    if (!dragged || event.pointerId !== pointer) return;
    pointer = null;
    finish();
  }
  document.addEventListener("pointerup", release);
  document.addEventListener("pointercancel", release);
})();
