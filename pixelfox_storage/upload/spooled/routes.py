"""The nginx-spool routes: nginx's question before a body, and the handover after it.

How nginx uses them is told in :mod:`pixelfox_storage.upload.spooled`. Both are
nginx's alone: they are hidden from the API documents, and a request without
this host's spool secret is refused.
"""

from __future__ import annotations

import hmac
import json
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
# The pre-check's hold on the token (its nonce): nginx passes it from the check's
# answer to the handover (auth_request_set), which takes the same hold over.
HOLD_HEADER = "X-Pixelfox-Hold"
# A refusal at the check, for nginx to give the client as it is (status, JSON body):
# the body is then never read by the node, so never streamed to a node that
# stopped reading it (which nginx would turn into a 502).
REFUSAL_HEADER = "X-Pixelfox-Refusal"
REFUSAL_STATUS_HEADER = "X-Pixelfox-Refusal-Status"
REFUSAL_BODY_HEADER = "X-Pixelfox-Refusal-Body"

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
    """nginx's question before it reads a body: 204 go ahead, 403 with the refusal to give.

    A yes holds the token (``busy``, for :func:`token_check.spool_hold_seconds`
    of the declared length) and names the hold in ``X-Pixelfox-Hold``: a second
    connection with the same token is refused (TOKEN_USED) before nginx spools
    a byte of it, however many are opened at once.
    """
    node = current_node()
    verdict = Response(status=204)
    if not from_nginx(node):
        log.error("upload check without the spool secret: nginx and node disagree")
        verdict.status_code = 403
        return verdict
    declared = _declared_length()
    try:
        admission = await admit(
            node,
            request.headers.get("Authorization"),
            request.headers.get(ORIGINAL_METHOD_HEADER, ""),
            declared,
        )
        assert node.redis is not None
        claims = admission.claims
        seconds = token_check.spool_hold_seconds(claims.max_size if declared is None else declared)
        hold = token_check.JtiHold(node.redis, node.keys, claims, ttl=seconds)
        await hold.take()
        verdict.headers[HOLD_HEADER] = hold.nonce
    except APIError as exc:
        # auth_request passes only 2xx, 401 and 403 on: the real answer goes in
        # headers, and nginx answers with it (or, for a status its site does not
        # list, passes the request to the streaming route, which refuses before
        # reading the body).
        verdict.status_code = 403
        verdict.headers[REFUSAL_HEADER] = exc.code
        verdict.headers[REFUSAL_STATUS_HEADER] = str(exc.status)
        verdict.headers[REFUSAL_BODY_HEADER] = json.dumps(exc.to_dict(), separators=(",", ":"))
    return verdict


@blueprint.route(UPLOAD_SPOOLED_PATH, methods=["POST", "PUT"])
@hide
async def spooled() -> Any:
    """Store the body nginx spooled; answers exactly like ``/api/internal/upload``.

    Takes over the pre-check's hold on the token (``X-Pixelfox-Hold``) and
    gives it back when it refuses the body; without one (a site from before
    the holds), it takes the token itself as a streamed upload does.
    """
    node = current_node()
    started = time.perf_counter()
    if not from_nginx(node):
        raise APIError("FORBIDDEN", "Spooled bodies are taken from this host's nginx only.")
    nonce = request.headers.get(HOLD_HEADER, "").strip()
    authorization = request.headers.get("Authorization")
    try:
        body_file = open_body_file(node, request.headers.get(BODY_FILE_HEADER, ""))
    except APIError:
        await _release(node, authorization, nonce)
        raise
    # What the spool follower read while nginx wrote the file, if it did.
    with body_file, handover(node.follower, body_file):
        try:
            admission = await admit(node, authorization, request.method, body_file.size)
        except APIError:
            await _release(node, authorization, nonce)
            raise
        hold = None
        if nonce:
            assert node.redis is not None
            hold = token_check.JtiHold.named(node.redis, node.keys, admission.claims, nonce)
            await hold.take_over()
        # From here on the hold is released (refused) or spent (stored) by store().
        return await store(node, admission, started, body_file, hold=hold)


async def _release(node: UploadNode, authorization: str | None, nonce: str) -> None:
    """Give back the pre-check's hold of a body refused before the upload took it over.

    A token that no longer verifies (it expired meanwhile) names no key: its
    hold lapses by itself, within :func:`token_check.spool_hold_seconds`.
    """
    if not nonce or node.redis is None:
        return
    try:
        claims = token_check.verify(authorization, node.settings.node_id, node.public_keys)
    except APIError:
        return
    await token_check.JtiHold.named(node.redis, node.keys, claims, nonce).release()


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
