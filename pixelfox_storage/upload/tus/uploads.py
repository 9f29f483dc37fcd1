"""What every request on a resumable upload needs: finding it, checking its token, its lock.

:class:`TusUploads` is this process's view of the node's resumable uploads:
the uploads themselves are files (:mod:`.state`); the process adds only the
locks of the requests it serves (:mod:`.locks`) and the running SHA-256 of
the uploads it wrote (:mod:`.digests`).

Authorisation: an upload is created with an upload token, exactly as a single
upload is (:func:`pixelfox_storage.upload.endpoint.admit`), and every later
request on it must carry that very token (compared by digest). The token's
expiry is not looked at again — an upload may be finished with the token that
created it until the upload's own expiry — and its single-use key is held as
``busy:tus:<id>`` for the upload's life and spent at the commit (see token_check).
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pixelfox_common import logs
from pixelfox_protocol.errors import APIError
from pixelfox_protocol.internal import PoolInfo

from .. import token_check
from ..node import UploadNode
from .digests import Digests
from .locks import Holder, UploadLocks
from .state import ID_PATTERN, UploadFiles, UploadInfo, token_digest, tus_dir

T = TypeVar("T")


@dataclass
class Found:
    """An upload's pool, files and record as last read."""

    pool: PoolInfo
    files: UploadFiles
    info: UploadInfo


class TusUploads:
    """The node's resumable uploads, as this process serves them."""

    def __init__(self, node: UploadNode) -> None:
        self.node = node
        self.locks = UploadLocks()
        self.digests = Digests()
        # Upload ids being created right now (a creation sent twice at once waits its turn).
        self.creating: set[str] = set()

    @property
    def max_size(self) -> int:
        return self.node.settings.tus_max_size

    @property
    def expiry_seconds(self) -> int:
        return self.node.settings.tus_expiry_seconds

    async def find(self, upload_id: str) -> Found:
        """The upload ``upload_id`` in one of this node's pools, or TUS_UPLOAD_NOT_FOUND."""
        if ID_PATTERN.match(upload_id):
            for pool in self.node.known_pools():
                files = UploadFiles(tus_dir(Path(pool.base_path)), upload_id)
                info = await asyncio.to_thread(files.load)
                if info is not None:
                    return Found(pool, files, info)
        raise APIError("TUS_UPLOAD_NOT_FOUND")

    def authorize(self, info: UploadInfo, authorization: str | None) -> None:
        """TOKEN_MISSING, or TOKEN_INVALID unless the request carries the upload's own token."""
        token = token_check.bearer_token(authorization)
        if not hmac.compare_digest(token_digest(token), info.token_sha256):
            raise APIError("TOKEN_INVALID", "This is not the token the upload was created with.")
        claims = info.claims
        logs.bind_request_id(claims.get("request_id"))
        logs.bind(
            user_id=claims.get("user_id"),
            pool_id=claims.get("pool_id"),
            image_uuid=claims.get("image_uuid"),
        )

    def token_hold(self, info: UploadInfo) -> token_check.JtiHold:
        """The upload's hold on its token's single-use key (taken at creation)."""
        assert self.node.redis is not None
        return token_check.JtiHold(
            self.node.redis,
            self.node.keys,
            info.upload_claims(),
            value=info.hold,
            until=int(info.expires),
        )

    @staticmethod
    def expired(info: UploadInfo, now: float | None = None) -> bool:
        return (now if now is not None else time.time()) >= info.expires

    async def discard(self, files: UploadFiles, info: UploadInfo) -> None:
        """Remove an upload with everything of it; an unfinished one gives its token back."""
        self.digests.forget(files.id)
        await asyncio.to_thread(files.remove)
        if info.finished is None:
            await self.token_hold(info).release()

    async def locked(self, found: Found, work: Callable[[Holder | None], Awaitable[T]]) -> T:
        """Run ``work`` holding the upload's lock (None: it has no data, finished or gone).

        It runs as a task of its own: a client that goes away makes it stop
        reading and keep what arrived (see append), and a commit it started
        runs to its end.
        """
        holder = await self.locks.acquire(found.files)

        async def run() -> T:
            try:
                return await work(holder)
            finally:
                if holder is not None:
                    self.locks.release(holder)

        task = self.node.keep(run(), f"tus-{found.files.id}")
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if holder is not None:
                holder.asked.set()
            raise

    async def reload(self, found: Found) -> UploadInfo:
        """The record again (it may have changed while we waited for the lock)."""
        info = await asyncio.to_thread(found.files.load)
        if info is None:
            raise APIError("TUS_UPLOAD_NOT_FOUND")
        found.info = info
        return info
