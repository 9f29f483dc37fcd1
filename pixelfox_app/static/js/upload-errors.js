// Every stable error code of the API and the storage nodes, as a person would
// want to read it on the upload page. "retry": trying the same file again can
// help; "renew": get a new upload session first (silently); "switchTo": the
// operator changed the upload mode. tests/web/test_static.py checks that each
// code of pixelfox_protocol/errors.py has its entry here.
(function () {
  "use strict";

  window.pixelfoxUploadErrors = function (config, size, seconds) {
    function typeList() {
      return config.allowedTypes.map(function (t) {
        return t.replace("image/", "").toUpperCase();
      }).join(", ");
    }

    var MESSAGES = {
      BAD_REQUEST: { text: "The upload request was malformed.", retry: true },
      VALIDATION_ERROR: { text: "The upload request was refused as invalid.", retry: false },
      AUTH_REQUIRED: { text: "Your login has expired. Log in again in another tab, then retry.", retry: true },
      FORBIDDEN: { text: "You are not allowed to upload.", retry: false },
      NOT_FOUND: { text: "The upload address was not found.", retry: true },
      METHOD_NOT_ALLOWED: { text: "The upload address refused this kind of request.", retry: false },
      FILE_TOO_LARGE: { text: function () { return "Too large: the limit is " + size(config.maxBytes) + "."; }, retry: false },
      UNSUPPORTED_TYPE: { text: function () { return "Not an accepted image. Allowed: " + typeList() + "."; }, retry: false },
      INVALID_IMAGE: { text: "This file is not a valid image, or it is damaged.", retry: false },
      IMAGE_TOO_LARGE: { text: "The image has too many pixels or animation frames.", retry: false },
      MISSING_FILE: { text: "The upload arrived without its file.", retry: true },
      INVALID_FILENAME: { text: "This file name is not accepted. Rename the file and add it again.", retry: false },
      INCOMPLETE_UPLOAD: { text: "The upload was cut off before the whole file arrived.", retry: true },
      RATE_LIMITED: { text: function (e) { return "Too many uploads: trying again in " + seconds(e.retryAfter || 10) + "."; }, retry: true },
      TOKEN_MISSING: { text: "The upload permission was missing.", retry: true, renew: true },
      TOKEN_INVALID: { text: "The upload permission was not accepted.", retry: true, renew: true },
      TOKEN_EXPIRED: { text: "The upload permission expired.", retry: true, renew: true },
      TOKEN_USED: { text: "The upload permission was already used.", retry: true, renew: true },
      TOKEN_WRONG_NODE: { text: "The upload permission was for another storage node.", retry: true, renew: true },
      SESSION_INVALID: { text: "The upload session is no longer valid.", retry: true, renew: true },
      NO_STORAGE: { text: "No storage can take uploads right now. Please retry in a minute.", retry: true },
      STORAGE_FULL: { text: "The storage node is full. Retry to use another one.", retry: true, renew: true },
      NODE_UNAUTHORIZED: { text: "A storage node was not recognised by the app.", retry: true },
      POOL_NOT_ON_NODE: { text: "The storage node does not hold the chosen pool.", retry: true, renew: true },
      CHECKSUM_MISMATCH: { text: "The file changed on the way (checksum mismatch).", retry: true },
      DIRECT_UPLOAD_DISABLED: { text: "Direct upload was switched off; using the app instead.", retry: true, switchTo: "proxy" },
      PROXY_UPLOAD_DISABLED: { text: "Uploads go straight to storage now; switching.", retry: true, switchTo: "direct" },
      VISIBILITY_MISMATCH: { text: "The storage node did not keep the file private as asked. Retrying elsewhere.", retry: true, renew: true },
      VISIBILITY_CHANGING: { text: "The image's visibility is being changed; try again shortly.", retry: false },
      // The app's message names the quota and what is used; the page shows it as it is.
      QUOTA_EXCEEDED: { text: function (e) { return e.message || "Your storage is full: delete some images first."; }, retry: false },
      SIGNUP_CLOSED: { text: "Sign-up is closed; ask an administrator for an account.", retry: false },
      INVITE_INVALID: { text: "This invite link is not valid, used up or expired.", retry: false },
      GUEST_UPLOADS_OFF: { text: "Uploads without an account are switched off; log in to upload.", retry: false },
      IMAGE_PURGING: { text: "The image is being deleted for good; it cannot be restored.", retry: false },
      CSRF_FAILED: { text: "This page has expired. Reload it and upload again.", retry: false },
      ALBUM_IMAGE_UNKNOWN: { text: "An image listed is not one of the album owner's images.", retry: false },
      ALBUM_ORDER_MISMATCH: { text: "The album changed meanwhile; reload it and order again.", retry: false },
      ALBUM_COVER_NOT_IN_ALBUM: { text: "The cover must be an image of the album.", retry: false },
      ALBUM_TOO_LARGE: { text: "The album cannot hold that many images.", retry: false },
      UNAVAILABLE: { text: "A service the upload needs is not reachable. Please retry shortly.", retry: true },
      INTERNAL: { text: "Something went wrong on our side. Please retry.", retry: true },
      // Download-side codes: never expected here, but a message beats a raw code.
      LINK_EXPIRED: { text: "A download link expired; reload the page.", retry: false },
      LINK_INVALID: { text: "A download link was not valid; reload the page.", retry: false },
      RANGE_NOT_SATISFIABLE: { text: "The storage node refused a partial download.", retry: true },
      // Codes of moves between pools (admin and nodes): never expected here either.
      CHECKSUM_REQUIRED: { text: "A storage node refused a copy without its checksum.", retry: false },
      MOVE_RUNNING: { text: "A move of this pool is already under way.", retry: false },
      MOVE_SAME_POOL: { text: "A move needs two different pools.", retry: false },
      MOVE_STATE: { text: "The move cannot do this in its current state.", retry: false },
      MOVE_TARGET_UNAVAILABLE: { text: "The target pool cannot take files now.", retry: false },
      REPLICATION_DENIED: { text: "A storage node refused a copy without a valid permission.", retry: false },
      REPLICATION_FORBIDDEN: { text: "A storage node refused a copy it was not permitted.", retry: false },
      REPLICATION_USED: { text: "A storage node refused a second copy under the same permission.", retry: false },
      REPLICATION_OVER_CAP: { text: "A storage node refused more bytes than the copy was permitted.", retry: false },
      REPLICATION_EXISTS: { text: "A storage node already holds another file at that place.", retry: false },
      COPY_NOT_PENDING: { text: "This copy of the image is not waiting for files now.", retry: false },
      NO_LIVE_COPY: { text: "No storage node that holds this image answers right now.", retry: true },
      MOVE_NOT_RUNNING: { text: "The move is not running now.", retry: false },
      MOVE_ITEM_UNKNOWN: { text: "The image is not part of this move.", retry: false },
      MOVE_FILE_UNKNOWN: { text: "A file is not one of the image's own files.", retry: false },
      COPY_NOT_ON_POOL: { text: "This storage pool holds no copy of the image.", retry: false },
      ADOPT_PROOF_INVALID: { text: "The storage node could not prove this upload was yours.", retry: false },
      ADOPT_OWNER_UNKNOWN: { text: "The owner of this upload no longer exists.", retry: false },
      // Resumable uploads (tus): the client inside Uppy handles most of these itself.
      TUS_UPLOAD_NOT_FOUND: { text: "The storage node no longer has this upload; starting it again.", retry: true, renew: true },
      TUS_UPLOAD_EXPIRED: { text: "The unfinished upload expired; starting it again.", retry: true, renew: true },
      TUS_OFFSET_MISMATCH: { text: "The upload and the storage node disagreed on where it stood.", retry: true },
      TUS_UPLOAD_LOCKED: { text: "The storage node is still busy with this upload. Please retry.", retry: true },
      TUS_CHECKSUM_MISMATCH: { text: "A part of the file changed on the way.", retry: true },
      TUS_CHECKSUM_UNSUPPORTED: { text: "The storage node does not know this checksum.", retry: false },
      TUS_VERSION_UNSUPPORTED: { text: "The storage node speaks another version of the resumable protocol.", retry: false },
      TUS_CONTENT_TYPE: { text: "The storage node refused how a part of the file was sent.", retry: false },
      NETWORK: { text: "The connection was interrupted.", retry: true },
      PROCESSING_FAILED: { text: "The image was stored but could not be processed.", retry: false }
    };

    function describe(error) {
      var entry = MESSAGES[error.code];
      if (!entry) return { text: error.message || "Upload failed (" + error.code + ").", retry: true };
      var text = typeof entry.text === "function" ? entry.text(error) : entry.text;
      return { text: text, retry: entry.retry, renew: entry.renew, switchTo: entry.switchTo };
    }

    return { describe: describe, typeList: typeList };
  };
})();
