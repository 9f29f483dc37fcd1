"""The upload token: checked before a byte of the body is read, and used once.

Single use is a Redis key per token id (``RedisKeys.node_token_jti``), taken with
``SET NX`` for the token's remaining life plus ``JTI_LEEWAY``. Its value says
where the upload stands:

- ``busy:<nonce>`` while this node receives the body — for a body that nginx
  spools, from nginx's pre-check on (:func:`spool_hold_seconds`, then taken
  over by the handover with :meth:`JtiHold.take_over`), so parallel
  connections with one token cannot each make nginx spool a body;
- ``busy:tus:<upload id>`` for the life of a resumable upload the token
  created (``pixelfox_storage.upload.tus``), which may span many requests and
  outlive the token itself;
- ``used:<image_uuid>`` once the file is committed — from then on the token
  is spent for good (TOKEN_USED), whatever the app answers.

When an upload fails *before* its file is committed — a cut-off connection,
a wrong type, an oversized body — the key is deleted again, so the browser
may retry the same token until it expires (a flaky network should not cost the
user a new session). At most one upload per token is ever stored. A node that
dies mid-upload leaves ``busy`` behind until the key expires; the client then
asks the app for a fresh session.
"""

from __future__ import annotations

import logging
import secrets
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from redis.asyncio import Redis
from redis.exceptions import RedisError, WatchError

from pixelfox_common.redis_cas import delete_if_holds
from pixelfox_protocol import tokens
from pixelfox_protocol.errors import APIError
from pixelfox_protocol.keys import JTI_LEEWAY, RedisKeys

log = logging.getLogger(__name__)

# The pre-check's hold on a token whose body nginx is about to spool: long enough
# for the declared length at a slow client's pace, and no longer, because a
# connection that nginx drops (cut off, a body shorter than declared) never
# reaches the handover that would give the token back.
SPOOL_HOLD_SECONDS = 30
SPOOL_HOLD_BYTES_PER_SECOND = 128 * 1024
SPOOL_HOLD_MAX_SECONDS = 3600


def spool_hold_seconds(declared_length: int) -> int:
    """How long the pre-check holds a token for a body of ``declared_length`` bytes."""
    pace = max(0, declared_length) // SPOOL_HOLD_BYTES_PER_SECOND
    return min(SPOOL_HOLD_MAX_SECONDS, SPOOL_HOLD_SECONDS + pace)


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header, or TOKEN_MISSING."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise APIError("TOKEN_MISSING")
    return token.strip()


def verify(
    authorization: str | None, node_id: str, public_keys: dict[str, Ed25519PublicKey]
) -> tokens.UploadClaims:
    """Verify the request's token for this node; raises TOKEN_* errors."""
    if not public_keys:
        raise APIError("UNAVAILABLE", "Uploads are not configured on this node (no token keys).")
    claims = tokens.verify(bearer_token(authorization), node_id, public_keys)
    if not claims.image_uuid or claims.max_size < 1:
        raise APIError("TOKEN_INVALID", "The upload token lacks the image id or the size limit.")
    return claims


class JtiHold:
    """This request's claim on a token id."""

    def __init__(
        self,
        redis: Redis,
        keys: RedisKeys,
        claims: tokens.UploadClaims,
        *,
        value: str | None = None,
        until: float | None = None,
        ttl: int | None = None,
    ) -> None:
        """``value`` names a holder that outlives one request (a resumable upload), ``until``
        the Unix time the key must last to at least, beyond the token's own expiry;
        ``ttl`` shortens the hold (nginx's pre-check, :func:`spool_hold_seconds`)."""
        self.redis = redis
        self.key = keys.node_token_jti(claims.node_id, claims.jti)
        keep_until = max(claims.expires_at, int(until or 0))
        self.ttl = max(1, keep_until - int(time.time()) + JTI_LEEWAY)
        if ttl is not None:
            self.ttl = max(1, min(self.ttl, ttl))
        self.value = value or f"busy:{secrets.token_hex(8)}"

    @property
    def nonce(self) -> str:
        """What names this hold to nginx (``X-Pixelfox-Hold``): the value after ``busy:``."""
        return self.value.removeprefix("busy:")

    @classmethod
    def named(
        cls, redis: Redis, keys: RedisKeys, claims: tokens.UploadClaims, nonce: str
    ) -> JtiHold:
        """The hold the pre-check took and named ``nonce``, for the handover to take over."""
        return cls(redis, keys, claims, value=f"busy:{nonce}")

    async def take(self) -> None:
        """TOKEN_USED when another request holds or spent this token."""
        try:
            taken = await self.redis.set(self.key, self.value, nx=True, ex=self.ttl)
        except RedisError as exc:
            log.error("redis unreachable while taking a token id: %s", exc)
            raise APIError("UNAVAILABLE") from exc
        if not taken:
            raise APIError("TOKEN_USED")

    async def take_over(self) -> None:
        """Make the pre-check's hold this request's, for the token's whole life.

        The key must still hold this very value (or have lapsed, with nobody
        else taking it since); TOKEN_USED when another request holds or spent
        the token meanwhile. A transaction (WATCH/MULTI), not a script.
        """
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                await pipe.watch(self.key)
                current = await pipe.get(self.key)
                if isinstance(current, bytes):
                    current = current.decode()
                if current is not None and current != self.value:
                    raise APIError("TOKEN_USED")
                pipe.multi()
                pipe.set(self.key, self.value, ex=self.ttl)
                await pipe.execute()
        except WatchError as exc:
            raise APIError("TOKEN_USED") from exc
        except RedisError as exc:
            log.error("redis unreachable while taking over a token id: %s", exc)
            raise APIError("UNAVAILABLE") from exc

    async def release(self) -> None:
        """Give the token back after a failed upload (best effort)."""
        try:
            # Only while it still holds our own "busy" value.
            await delete_if_holds(self.redis, self.key, self.value)
        except RedisError as exc:
            log.warning("could not release token id %s: %s", self.key, exc)

    async def spend(self, image_uuid: str) -> None:
        """Mark the token used for good once its file is committed (best effort)."""
        try:
            await self.redis.set(self.key, f"used:{image_uuid}", ex=self.ttl)
        except RedisError as exc:
            # The "busy" value still blocks reuse until it expires.
            log.warning("could not mark token id %s used: %s", self.key, exc)
