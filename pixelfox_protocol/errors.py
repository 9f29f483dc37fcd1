"""One error type with stable codes, shared by the app, the nodes and the upload page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ErrorCode:
    code: str
    status: int
    message: str


def _codes(*codes: ErrorCode) -> dict[str, ErrorCode]:
    return {c.code: c for c in codes}


# The catalogue. Codes are stable: clients map them to messages and actions,
# so a code is never renamed, only added. docs/errors.md is generated from it.
CODES = _codes(
    ErrorCode("BAD_REQUEST", 400, "The request is malformed."),
    ErrorCode("VALIDATION_ERROR", 422, "Some fields of the request are missing or invalid."),
    ErrorCode("AUTH_REQUIRED", 401, "Please log in first."),
    ErrorCode("FORBIDDEN", 403, "You are not allowed to do this."),
    ErrorCode("NOT_FOUND", 404, "Nothing was found at this address."),
    ErrorCode("METHOD_NOT_ALLOWED", 405, "This method is not allowed here."),
    ErrorCode("FILE_TOO_LARGE", 413, "The file is larger than the upload limit."),
    ErrorCode("UNSUPPORTED_TYPE", 415, "This file type is not accepted; upload an image."),
    ErrorCode("INVALID_IMAGE", 422, "The file is not a valid image or could not be decoded."),
    ErrorCode("IMAGE_TOO_LARGE", 422, "The image has too many pixels or frames."),
    ErrorCode("MISSING_FILE", 400, "The upload carries no file."),
    ErrorCode("INCOMPLETE_UPLOAD", 400, "The upload ended before the whole file arrived."),
    ErrorCode("INVALID_FILENAME", 400, "The file name is not acceptable; rename the file."),
    ErrorCode("RATE_LIMITED", 429, "Too many uploads; please wait a moment."),
    ErrorCode("TOKEN_MISSING", 401, "The upload carries no token."),
    ErrorCode("TOKEN_INVALID", 401, "The upload token is not valid."),
    ErrorCode("TOKEN_EXPIRED", 401, "The upload token has expired; ask for a new one."),
    ErrorCode("TOKEN_USED", 409, "This upload token has already been used."),
    ErrorCode("TOKEN_WRONG_NODE", 403, "This upload token is meant for another storage node."),
    ErrorCode("SESSION_INVALID", 409, "The upload session is unknown, used or expired."),
    ErrorCode("NO_STORAGE", 503, "No storage pool can take this upload right now."),
    ErrorCode("STORAGE_FULL", 507, "The storage pool is full."),
    ErrorCode("NODE_UNAUTHORIZED", 401, "The node credential is not valid."),
    ErrorCode("POOL_NOT_ON_NODE", 403, "This pool does not belong to this node."),
    ErrorCode("CHECKSUM_MISMATCH", 422, "The file's SHA-256 does not match."),
    ErrorCode("DIRECT_UPLOAD_DISABLED", 409, "Direct upload is switched off; use the app."),
    ErrorCode("PROXY_UPLOAD_DISABLED", 409, "Uploads go straight to storage; ask for a session."),
    ErrorCode("CSRF_FAILED", 403, "The form has expired; reload the page and try again."),
    ErrorCode("LINK_INVALID", 403, "This download link is not valid."),
    ErrorCode("LINK_EXPIRED", 410, "This download link has expired; ask for a new one."),
    ErrorCode("RANGE_NOT_SATISFIABLE", 416, "The requested byte range is not in the file."),
    ErrorCode(
        "VISIBILITY_MISMATCH", 409, "The file was stored in a place its visibility does not allow."
    ),
    ErrorCode(
        "VISIBILITY_CHANGING", 409, "The image's visibility is being changed; try again shortly."
    ),
    ErrorCode("REPLICATION_DENIED", 401, "The replication grant is missing, forged or expired."),
    ErrorCode("REPLICATION_FORBIDDEN", 403, "The replication grant does not cover this file."),
    ErrorCode("CHECKSUM_REQUIRED", 422, "The file's SHA-256 must be sent with it."),
    ErrorCode("MOVE_SAME_POOL", 422, "A move needs two different pools."),
    ErrorCode("MOVE_TARGET_UNAVAILABLE", 409, "The target pool cannot take files now."),
    ErrorCode("MOVE_RUNNING", 409, "The source pool already has a move in progress."),
    ErrorCode("MOVE_STATE", 409, "The move is not in a state that allows this."),
    ErrorCode("MOVE_NOT_RUNNING", 409, "The move is not running; its images get no grant now."),
    ErrorCode(
        "MOVE_ITEM_UNKNOWN", 409, "The image is not an item of this move on this node's pool."
    ),
    ErrorCode("MOVE_FILE_UNKNOWN", 422, "A listed file is not one of the image's own files."),
    ErrorCode("COPY_NOT_PENDING", 409, "The copy is not pending; it gets no grant now."),
    ErrorCode("COPY_NOT_ON_POOL", 403, "This pool holds no copy of the image."),
    ErrorCode("REPLICATION_USED", 409, "This replication grant has already written this file."),
    ErrorCode("REPLICATION_OVER_CAP", 413, "The replication grant's bytes are used up."),
    ErrorCode("REPLICATION_EXISTS", 409, "Another file with other content is at this path."),
    # Adoption after a restore (``pixelfox scrub --adopt``): the node proposes, the app decides.
    ErrorCode(
        "ADOPT_PROOF_INVALID",
        403,
        "The upload token offered for adoption is forged, for another node or another file.",
    ),
    ErrorCode("ADOPT_OWNER_UNKNOWN", 409, "The owner of the upload offered for adoption is gone."),
    # Resumable (tus 1.0) uploads on a node: the protocol's own statuses.
    ErrorCode("TUS_VERSION_UNSUPPORTED", 412, "This tus version is not supported; send 1.0.0."),
    ErrorCode("TUS_CONTENT_TYPE", 415, "Send the chunk as application/offset+octet-stream."),
    ErrorCode("TUS_UPLOAD_NOT_FOUND", 404, "There is no resumable upload at this address."),
    ErrorCode("TUS_UPLOAD_EXPIRED", 410, "This resumable upload has expired; start a new one."),
    ErrorCode(
        "TUS_OFFSET_MISMATCH", 409, "The chunk does not start where the upload stands; ask (HEAD)."
    ),
    ErrorCode("TUS_UPLOAD_LOCKED", 423, "Another request is writing this upload; try again."),
    ErrorCode(
        "TUS_CHECKSUM_UNSUPPORTED", 400, "This checksum algorithm is not supported (sha1, sha256)."
    ),
    ErrorCode(
        "TUS_CHECKSUM_MISMATCH", 460, "The chunk does not match its checksum; it was discarded."
    ),
    ErrorCode(
        "NO_LIVE_COPY", 503, "No storage node that holds this file answers now; try again shortly."
    ),
    ErrorCode("QUOTA_EXCEEDED", 403, "This upload would exceed your storage quota."),
    ErrorCode("SIGNUP_CLOSED", 403, "Sign-up is closed; ask an administrator for an account."),
    ErrorCode("INVITE_INVALID", 403, "This invite link is not valid, used up or expired."),
    ErrorCode("GUEST_UPLOADS_OFF", 403, "Uploads without an account are switched off; log in."),
    ErrorCode("IMAGE_PURGING", 409, "The image is being deleted for good; it cannot be restored."),
    ErrorCode(
        "ALBUM_IMAGE_UNKNOWN", 422, "An image listed is not one of the album owner's images."
    ),
    ErrorCode(
        "ALBUM_ORDER_MISMATCH", 422, "The order must list every image of the album exactly once."
    ),
    ErrorCode("ALBUM_COVER_NOT_IN_ALBUM", 422, "The cover must be an image of the album."),
    ErrorCode("ALBUM_TOO_LARGE", 422, "The album cannot hold that many images."),
    ErrorCode("UNAVAILABLE", 503, "A service this request needs is not reachable."),
    ErrorCode("INTERNAL", 500, "Something went wrong on our side."),
)


class APIError(Exception):
    """An error with a stable code; both services render it as JSON."""

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        status: int | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        known = CODES[code]
        self.code = code
        self.status = status or known.status
        self.message = message or known.message
        self.details = details or {}
        self.headers = headers or {}
        super().__init__(f"{code}: {self.message}")

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return {"error": body}


def status_code_error(status: int) -> APIError:
    """Map a bare HTTP status (404, 405, …) raised by the framework to our format."""
    for code in CODES.values():
        if code.status == status and code.code in {
            "BAD_REQUEST",
            "NOT_FOUND",
            "METHOD_NOT_ALLOWED",
            "FILE_TOO_LARGE",
            "AUTH_REQUIRED",
            "FORBIDDEN",
        }:
            return APIError(code.code)
    if 400 <= status < 500:
        return APIError("BAD_REQUEST", status=status)
    return APIError("INTERNAL", status=status)
