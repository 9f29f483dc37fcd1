"""A repair source: the image's verified copy on another node, read with the app's grant.

The repair plan (``AppAPI.repair_plan``) lists the other nodes' verified copies
whose heartbeat is fresh, the primary first, each with a read grant for exactly
the files the scrub found faulty. :class:`CopySource` reads a file from each in
turn (``GET /api/internal/copy-file`` on that node, :mod:`..moves.copyfile`) into
a temporary file in this pool (the node worker's ``.tmp/worker/``, which its
sweeper cleans), hashing as it comes; only a file of the recorded size and
SHA-256 is fsynced and renamed into place, and a damaged file it replaces is
kept in the quarantine first. A copy that is bad too, or a node that does not
answer, sends the repair to the next copy, then to the S3 backup.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import httpx

from pixelfox_protocol import links
from pixelfox_protocol.internal import MoveFile, PeerCopy, PoolImageFiles, PoolInfo, RepairPlan

from ..appapi import error_body
from ..moves.calls import PUSH_TIMEOUT
from ..moves.files import CHUNK, commit, temp_file
from .repair import quarantine

log = logging.getLogger(__name__)


class CopyRefused(Exception):
    """The peer's copy of the file cannot be used (its answer, its bytes)."""


@dataclass
class CopySource:
    """Verified copies of the image on other nodes (``RepairPlan.peers``)."""

    client: httpx.AsyncClient
    name: str = "copy"

    async def original(
        self, base: Path, pool: PoolInfo, item: PoolImageFiles, plan: RepairPlan
    ) -> str | None:
        return await self._bring(base, plan, plan.original)

    async def variant(
        self, base: Path, pool: PoolInfo, item: PoolImageFiles, plan: RepairPlan, path: str
    ) -> str | None:
        file = next((f for f in plan.files if f.path == path), None)
        if file is None or not file.sha256:
            return "no SHA-256 recorded to check a copy against"
        return await self._bring(base, plan, file)

    async def _bring(self, base: Path, plan: RepairPlan, file: MoveFile) -> str | None:
        if not plan.peers:
            return "no verified copy on another node that is up"
        reasons = []
        for peer in plan.peers:
            try:
                await fetch(self.client, peer, file, base)
            except CopyRefused as exc:
                log.warning("copy of %s on %s not used: %s", file.path, peer.node_id, exc)
                reasons.append(f"{peer.node_id}: {exc}")
                continue
            log.info(
                "repaired from a copy",
                extra={"path": file.path, "peer": peer.node_id, "bytes": file.size},
            )
            return None
        return "; ".join(reasons)


async def fetch(client: httpx.AsyncClient, peer: PeerCopy, file: MoveFile, base: Path) -> None:
    """Read ``file`` from the peer, check it and put it in place; CopyRefused if not right."""
    final = links.resolve_file(base, file.path)
    tmp = await asyncio.to_thread(temp_file, base, final)
    try:
        with tmp.open("wb") as out:
            await _receive(client, peer, file, out)
        await asyncio.to_thread(_into_place, base, file.path, tmp, final)
    except OSError as exc:  # this pool's disk (full, read-only): the next source may not need it
        raise CopyRefused(f"writing here failed: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


async def _receive(
    client: httpx.AsyncClient, peer: PeerCopy, file: MoveFile, out: BinaryIO
) -> None:
    params: dict[str, str | int] = {"pool_id": peer.pool_id, "path": file.path}
    headers = {"Authorization": f"Bearer {peer.grant}"}
    digest = hashlib.sha256()
    received = 0
    try:
        async with client.stream(
            "GET", peer.copy_file_url, params=params, headers=headers, timeout=PUSH_TIMEOUT
        ) as response:
            if response.status_code != 200:
                await response.aread()
                error = error_body(response)
                raise CopyRefused(f"HTTP {response.status_code} {error.code if error else ''}")
            async for chunk in response.aiter_bytes(CHUNK):
                received += len(chunk)
                if received > file.size:
                    raise CopyRefused(f"sent more than the recorded {file.size} bytes")
                digest.update(chunk)
                await asyncio.to_thread(out.write, chunk)
    except httpx.HTTPError as exc:
        raise CopyRefused(f"{type(exc).__name__}: {exc}") from exc
    if received != file.size:
        raise CopyRefused(f"sent {received} of the recorded {file.size} bytes")
    if digest.hexdigest() != file.sha256:
        raise CopyRefused("its SHA-256 is not the recorded one")
    await asyncio.to_thread(_sync, out)


def _sync(out: BinaryIO) -> None:
    out.flush()
    os.fsync(out.fileno())


def _into_place(base: Path, rel: str, tmp: Path, final: Path) -> None:
    """The verified file to its place; a damaged one there is kept in the quarantine."""
    if final.is_file():
        quarantine(base, rel, keep=True)
    commit(tmp, final)
