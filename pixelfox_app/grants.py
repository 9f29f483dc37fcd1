"""Replication grants the app mints, for a move's push or a replica's, and read grants
for a scrub's repair: one door.

A grant names the exact files of one image (its rows' paths and sizes, the
upload's SHA-256 for the original) for one pool of one other node, signed with
the app's token key (``pixelfox_protocol.grants``). Moves (``moves.tickets``) and
replicas (``copies.tickets``) both mint here, after their own checks; so does a
repair (``internal.repair``), whose read grant lets the peer serve those files.
"""

from __future__ import annotations

import logging

from pixelfox_protocol import grants
from pixelfox_protocol.errors import APIError
from pixelfox_protocol.internal import (
    COPY_FILE_PATH,
    REPLICATE_PATH,
    MoveFile,
    MoveGrant,
    MoveGrantRequest,
)

from .config import AppSettings
from .models import Image, ImageVariant, StorageNode, StoragePool
from .pools import effective_upload_api_url

log = logging.getLogger(__name__)


def node_url(pool: StoragePool, settings: AppSettings, path: str) -> str:
    """An endpoint of the pool's node, on the same origin as its upload endpoint."""
    upload = effective_upload_api_url(pool, settings)
    origin = upload.split("/api/", 1)[0] if "/api/" in upload else upload.rstrip("/")
    return origin + path


def replicate_url(pool: StoragePool, settings: AppSettings) -> str:
    """The target node's replicate endpoint."""
    return node_url(pool, settings, REPLICATE_PATH)


def copy_file_url(pool: StoragePool, settings: AppSettings) -> str:
    """The peer node's endpoint that serves a file of a copy to a read grant."""
    return node_url(pool, settings, COPY_FILE_PATH)


def mint_read_grant(
    image: Image, files: list[MoveFile], settings: AppSettings, peer_node: str, peer_pool_id: int
) -> str:
    """A read grant to ``peer_node`` for these files of ``image`` on its pool, each with
    its recorded size and SHA-256 (the caller took them from the rows)."""
    granted = tuple(grants.GrantedFile(f.path, f.size, f.sha256) for f in files)
    read = grants.ReplicationGrant(
        node_id=peer_node,
        pool_id=peer_pool_id,
        image_uuid=str(image.uuid),
        move_id=0,
        files=granted,
        reads=True,
    )
    log.info(
        "repair: read grant %s for image %s (%d files) on %s",
        read.jti,
        image.uuid,
        len(granted),
        read.node_id,
    )
    return grants.mint(read, settings.token_signing_key)


async def mint_grant(
    node: StorageNode,
    image: Image,
    request: MoveGrantRequest,
    settings: AppSettings,
    target_node: str,
    target_pool_id: int,
    *,
    move_id: int = 0,
    copy_id: int = 0,
) -> MoveGrant:
    """A grant to ``target_node``'s pool for the listed files of ``image`` (a move's or a
    replica's): never to the asking node itself, only with the app's signing key."""
    if target_node == node.node_id:
        raise APIError("BAD_REQUEST", "Source and target are on this node: copy, no grant.")
    if not settings.token_signing_key.strip():
        raise APIError("UNAVAILABLE", "Copies to other nodes need the app's signing key.")
    files = await granted_files(image, request)
    replication = grants.ReplicationGrant(
        node_id=target_node,
        pool_id=target_pool_id,
        image_uuid=str(image.uuid),
        move_id=move_id,
        files=files,
        copy_id=copy_id,
    )
    log.info(
        "%s: grant %s for image %s (%d files, %d bytes) to %s",
        f"copy {copy_id}" if copy_id else f"move {move_id}",
        replication.jti,
        image.uuid,
        len(files),
        replication.max_bytes,
        target_node,
    )
    token = grants.mint(replication, settings.token_signing_key)
    return MoveGrant(grant=token, max_bytes=replication.max_bytes)


async def granted_files(image: Image, request: MoveGrantRequest) -> tuple[grants.GrantedFile, ...]:
    """The listed files as a grant may name them: the image's own, each once, of their sizes.

    A listed file must be one of the image's rows, of that row's size (so a node
    cannot grow the grant's byte cap past what its image holds), and a layout
    path (MOVE_FILE_UNKNOWN); the original must be listed once, with the upload's
    SHA-256 (CHECKSUM_MISMATCH). Moves and replicas both mint from this.
    """
    own = {image.path: image.size}
    for variant in await ImageVariant.filter(image_id=image.id):
        own[variant.path] = variant.size
    listed = {f.path: f for f in request.files}
    for file in request.files:
        if own.get(file.path) != file.size or not file.sha256:
            raise APIError("MOVE_FILE_UNKNOWN", details={"path": file.path, "size": file.size})
    original = listed.get(image.path)
    if original is None or len(listed) != len(request.files):
        raise APIError("MOVE_FILE_UNKNOWN", "List the original once, and each variant once.")
    if (original.sha256, original.size) != (image.sha256, image.size):
        details = {"expected": image.sha256, "reported": original.sha256}
        raise APIError("CHECKSUM_MISMATCH", details=details)
    files = tuple(grants.GrantedFile(f.path, f.size, f.sha256) for f in request.files)
    try:
        grants.check_files(str(image.uuid), files)
    except APIError as exc:  # a row the layout does not know: no grant covers it
        raise APIError("MOVE_FILE_UNKNOWN", details=exc.details) from exc
    return files
