"""Uploads that nginx receives to disk and hands over: the node's side of the spooled path.

On storage hosts nginx fronts the node (docs/nginx/pixelfox-storage.conf). For
``POST|PUT /api/internal/upload`` it

1. asks ``GET /api/internal/upload/check`` (``auth_request``, no body) with the
   client's Authorization, Content-Type and, as ``X-Original-Method`` and
   ``X-Original-Content-Length``, what the body will be: every check of the
   streaming path that needs no byte of the body, except that the token is
   only looked at, not taken. 204 lets nginx read the body; any refusal is a
   403, and nginx then passes the request to the streaming route, which gives
   the client the real answer (same status, same code) before reading the body;
2. receives the body into ``<pool>/.spool/`` (``client_body_in_file_only
   clean``: the file is nginx's and deleted when the request ends) and
   proxies the request without its body to ``/api/internal/upload/spooled``,
   naming the file in ``X-Pixelfox-Body-File``.

The name is trusted only from nginx: the request must carry the shared secret
(``X-Pixelfox-Spool-Secret``, ``PIXELFOX_SPOOL_SECRET``, compared in constant
time), and the file must sit directly in a known pool's ``.spool/`` with no
symlink on the way, be a regular file with one name, opened without following
links. Then the upload runs through the same ``endpoint.store`` as a streamed
one (token taken, sizes, types, libvips, SHA-256, fsync, outbox, completion);
a raw body is linked into place, not copied. Most of the hashing (and of a
form's parse) is done already: the spool follower (:mod:`.follower`) read the
file while nginx wrote it, and the handover takes its result by inode.

Spool files of requests nginx never finished (a killed worker) are swept like
the node's own temporary files.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from pathlib import Path
from typing import Any

from quart import Response, request
from quart_schema import hide

from pixelfox_common.bodyfile import BodyFile, NotABodyFile
from pixelfox_common.spool import sweep_folder
from pixelfox_protocol.errors import APIError
from pixelfox_protocol.internal import UPLOAD_PATH

from . import grant
from .endpoint import _node as current_node
from .endpoint import admit, blueprint, store
from .follower import handover
from .node import UploadNode

log = logging.getLogger(__name__)

UPLOAD_CHECK_PATH = f"{UPLOAD_PATH}/check"
UPLOAD_SPOOLED_PATH = f"{UPLOAD_PATH}/spooled"
# Inside each pool, on the pool's filesystem, so a body can be linked into place.
SPOOL_DIR = ".spool"
SECRET_HEADER = "X-Pixelfox-Spool-Secret"  # noqa: S105 (a header name)
BODY_FILE_HEADER = "X-Pixelfox-Body-File"
ORIGINAL_METHOD_HEADER = "X-Original-Method"
ORIGINAL_LENGTH_HEADER = "X-Original-Content-Length"


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
        await grant.JtiHold(node.redis, node.keys, admission.claims).check_free()
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
    spools = {_real(Path(pool.base_path) / SPOOL_DIR) for pool in node.known_pools()}
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


def sweep_spool(pool_base: Path, older_than_seconds: float) -> int:
    """Delete body files nginx left in ``<pool>/.spool/`` (a killed worker), untouched for long.

    nginx names them with digits only and writes as the body arrives, so the
    age of the last write tells a dead request from a slow one.
    """
    return sweep_folder(pool_base / SPOOL_DIR, older_than_seconds, str.isdigit)
