"""Schemathesis hooks for our fuzz runs: every error answer must be in our error format.

Loaded by the ``st`` CLI through ``SCHEMATHESIS_HOOKS=tests.observability.st_hooks``.
"""

from __future__ import annotations

import json
import os
import time
import uuid

import schemathesis

from pixelfox_protocol import tokens
from pixelfox_protocol.errors import CODES
from pixelfox_protocol.internal import UPLOAD_PATH


@schemathesis.check
def error_in_our_format(ctx, response, case):  # type: ignore[no-untyped-def]
    """A 4xx/5xx answer is JSON ``{"error": {"code", "message", …}}`` with a catalogued code."""
    if response.status_code < 400 or case.method.upper() == "HEAD":
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(
            f"{response.status_code} answer is not JSON: {response.content[:200]!r}"
        ) from None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        raise AssertionError(f"{response.status_code} answer is not our error format: {body!r}")
    if error.get("code") not in CODES:
        raise AssertionError(f"error code {error.get('code')!r} is not in protocol.errors.CODES")
    return None


@schemathesis.auth(refresh_interval=None)
class PixelFoxAuth:
    """Credentials per operation, so fuzzing reaches the logic behind the auth checks.

    Internal app routes get the node's ``Authorization: Node …``, user routes an
    API token, the node's upload URL a fresh upload token per case (tokens are
    single use). Values come from ``PIXELFOX_FUZZ_*`` variables set by the test.
    """

    def get(self, case, ctx):  # type: ignore[no-untyped-def]
        path = case.operation.path
        if path.startswith("/api/internal/v1/"):
            return os.environ.get("PIXELFOX_FUZZ_NODE_AUTH")
        if path == UPLOAD_PATH:
            return f"Bearer {_fresh_upload_token()}" if _SIGNING_KEY else None
        token = os.environ.get("PIXELFOX_FUZZ_USER_TOKEN")
        return f"Bearer {token}" if token else None

    def set(self, case, data, ctx):  # type: ignore[no-untyped-def]
        if data:
            case.headers = {**(case.headers or {}), "Authorization": data}


_SIGNING_KEY = os.environ.get("PIXELFOX_FUZZ_SIGNING_KEY", "")


def _fresh_upload_token() -> str:
    claims = tokens.UploadClaims(
        node_id=os.environ.get("PIXELFOX_FUZZ_NODE_ID", "s01"),
        user_id=1,
        pool_id=int(os.environ.get("PIXELFOX_FUZZ_POOL_ID", "1")),
        session_id=str(uuid.uuid4()),
        jti=uuid.uuid4().hex,
        max_size=1 << 20,
        expires_at=int(time.time()) + 600,
        image_uuid=str(uuid.uuid4()),
        request_id=uuid.uuid4().hex,
    )
    return tokens.mint(claims, _SIGNING_KEY)
