"""The nginx-spool routes: nginx's question before a body, and the handover after it.

How nginx uses them is told in :mod:`pixelfox_storage.upload.spooled`. Both are
nginx's alone: they are hidden from the API documents, and a request without
this host's spool secret is refused.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from pathlib import Path
from typing import Any

from quart import Blueprint, Response, request
from quart_schema import hide

from pixelfox_protocol.errors import APIError
from pixelfox_protocol.internal import UPLOAD_PATH

from .. import cors, token_check
from ..endpoint import admit, store
from ..node import UploadNode, current_node
from .bodyfile import SPOOL_DIR, BodyFile, NotABodyFile, spool_dir
from .follower import handover

log = logging.getLogger(__name__)

UPLOAD_CHECK_PATH = f"{UPLOAD_PATH}/check"
UPLOAD_SPOOLED_PATH = f"{UPLOAD_PATH}/spooled"
SECRET_HEADER = "X-Pixelfox-Spool-Secret"  # noqa: S105 (a header name)
BODY_FILE_HEADER = "X-Pixelfox-Body-File"
ORIGINAL_METHOD_HEADER = "X-Original-Method"
ORIGINAL_LENGTH_HEADER = "X-Original-Content-Length"

blueprint = Blueprint("upload_spooled", __name__)
# The handover answers the browser's upload (nginx passes it on): the same CORS.
blueprint.after_request(cors.for_upload)


def from_nginx(node: UploadNode) -> bool:
    """Whether the request carries this host's spool secret (never true when none is set)."""
    secret = node.settings.spool_secret
    sent = request.headers.get(SECRET_HEADER, "")
    return bool(secret) and hmac.compare_digest(sent.encode(), secret.encode())


@blueprint.route(UPLOAD_CHECK_PATH, methods=["GET"])
@hide
async def check() -> Response:
    """nginx's question before it reads a body: 204 go ahead, 403 let the node answer."""
    node = current_node()
    verdict = Response(status=204)
    if not from_nginx(node):
        log.error("upload check without the spool secret: nginx and node disagree")
        verdict.status_code = 403
        return verdict
    try:
        admission = await admit(
            node,
            request.headers.get("Authorization"),
            request.headers.get(ORIGINAL_METHOD_HEADER, ""),
            _declared_length(),
        )
        assert node.redis is not None
        await token_check.JtiHold(node.redis, node.keys, admission.claims).check_free()
    except APIError as exc:
        # auth_request passes only 2xx, 401 and 403 on; the real answer comes
        # from the streaming route, which refuses before reading the body.
        verdict.status_code = 403
        verdict.headers["X-Pixelfox-Refusal"] = exc.code
    return verdict


@blueprint.route(UPLOAD_SPOOLED_PATH, methods=["POST", "PUT"])
@hide
async def spooled() -> Any:
    """Store the body nginx spooled; answers exactly like ``/api/internal/upload``."""
    node = current_node()
    started = time.perf_counter()
    if not from_nginx(node):
        raise APIError("FORBIDDEN", "Spooled bodies are taken from this host's nginx only.")
    body_file = open_body_file(node, request.headers.get(BODY_FILE_HEADER, ""))
    # What the spool follower read while nginx wrote the file, if it did.
    with body_file, handover(node.follower, body_file):
        admission = await admit(
            node, request.headers.get("Authorization"), request.method, body_file.size
        )
        return await store(node, admission, started, body_file)


def open_body_file(node: UploadNode, name: str) -> BodyFile:
    """The spooled body named by nginx, or FORBIDDEN when the name is not one nginx gives."""
    path = Path(name)
    spools = {_real(spool_dir(Path(pool.base_path))) for pool in node.known_pools()}
    # realpath == the name itself: no symlink and no ".." anywhere on the way.
    if not path.is_absolute() or _real(path) != path or path.parent not in spools:
        log.error("refused a spooled body outside the pools' %s/: %r", SPOOL_DIR, name)
        raise APIError("FORBIDDEN", "The body file is not in a pool's spool.")
    try:
        return BodyFile(path)
    except NotABodyFile as exc:
        log.error("refused a spooled body: %s", exc)
        raise APIError("FORBIDDEN", "The body file is not a plain file.") from exc


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _declared_length() -> int | None:
    raw = request.headers.get(ORIGINAL_LENGTH_HEADER, "").strip()
    return int(raw) if raw.isdigit() else None
