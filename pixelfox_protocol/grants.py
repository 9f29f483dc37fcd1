"""Replication grants: the app's short signed permission to push one image's exact files to a node.

A move job on the source node hashes the image's files and asks the app for a
grant listing them; the app mints it (an Ed25519-signed JWT like an upload
token, same keys) only for an image of a *running* move whose source pool is
on the asking node, and only for the image's own files as the database and
the layout know them (:func:`pixelfox_protocol.layout.image_files`), the
original with the SHA-256 the upload recorded. The target node's
``PUT /api/internal/replicate`` verifies it with the app's public key.

Why a grant and not a secret all nodes share: under the trust rule a stolen
node may damage its own files, not the rest. With a grant it can write into
another node only the files the app listed, byte for byte as listed, each
once, never over a file there with other content, for 15 minutes.

A *read grant* is the same claims under another audience: a scrub repairing a
file on its pool asks the app, which mints one (only for a pool holding a
copy of the image, only for that image's files with the hashes recorded) to
the node of another verified copy; that node's ``GET /api/internal/copy-file``
serves just those files. A read grant never writes, a write grant never reads.

Claims (kept small):

- ``aud`` = ``replicate:<target node>`` (never an upload token's audience), or
  ``copy-read:<serving node>`` for a read grant;
- ``pool_id``: the target pool;
- ``mv``: the move id (0 for a replica); ``cp``: the copy id of a replica
  (``ImageCopy``, absent for a move), whose target reports the copy verified
  once it holds every listed file; ``img``: the image uuid (logs, and the layout check);
- ``f``: the files, each ``[path, size, sha256]`` (pool-relative, layout paths);
- ``max``: the cumulative byte cap over all writes with the grant, at most
  the sum of the files' sizes (the app mints the sum);
- ``jti``: the grant's id, the key of the target's ledger of files written;
- ``iss``, ``iat``, ``nbf``, ``exp``.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from . import layout
from .errors import APIError
from .keys import TOKEN_ISSUER
from .tokens import ALGORITHM, SignatureRefused, decode_signed, parse_private_key

GRANT_SECONDS = 900
REQUIRED_CLAIMS = ["iss", "aud", "pool_id", "mv", "img", "f", "max", "jti", "nbf", "exp"]


def grant_audience(node_id: str, *, reads: bool = False) -> str:
    """Never an upload token's audience, and a read grant's is not a write grant's:
    none can stand in for another."""
    return f"copy-read:{node_id}" if reads else f"replicate:{node_id}"


@dataclass(frozen=True)
class GrantedFile:
    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ReplicationGrant:
    node_id: str
    pool_id: int
    image_uuid: str
    move_id: int
    files: tuple[GrantedFile, ...]
    jti: str = field(default_factory=lambda: secrets.token_hex(16))
    expires: int = 0  # set by verify (the ``exp`` claim)
    # The byte cap when below the files' sum (the app mints the sum).
    cap: int | None = None
    # A replica's copy (0: a move's grant): the target reports it once every file is there.
    copy_id: int = 0
    # A read grant: ``node_id`` serves the files (a scrub's repair), nothing is written.
    reads: bool = False

    @property
    def max_bytes(self) -> int:
        total = sum(f.size for f in self.files)
        return total if self.cap is None else min(self.cap, total)

    def file(self, pool_id: int, path: str) -> GrantedFile:
        """The granted file at ``path`` in ``pool_id``; REPLICATION_FORBIDDEN otherwise."""
        details = {"pool_id": pool_id, "path": path}
        if pool_id == self.pool_id:
            for granted in self.files:
                if granted.path == path:
                    return granted
        raise APIError("REPLICATION_FORBIDDEN", details=details)


def check_files(
    image_uuid: str, files: list[GrantedFile] | tuple[GrantedFile, ...], *, reads: bool = False
) -> None:
    """Layout paths of one image, each a size and a SHA-256; else REPLICATION_FORBIDDEN.

    A write grant lists the original once (a copy is never without it); a read
    grant lists any of the image's files (those a repair lacks).
    """
    paths = [f.path for f in files]
    try:
        if not reads:
            layout.image_files(image_uuid, paths)
        for path in paths if reads else ():
            if layout.image_file(path) != image_uuid.lower():
                raise layout.UnsafePath(path)
    except layout.UnsafePath as exc:
        raise APIError("REPLICATION_FORBIDDEN", details={"path": str(exc)}) from exc
    if not paths or len(set(paths)) != len(paths):
        raise APIError("REPLICATION_FORBIDDEN", "List each file once.")
    for granted in files:
        if granted.size < 0 or len(granted.sha256) != 64:
            raise APIError("REPLICATION_FORBIDDEN", details={"path": granted.path})


def mint(grant: ReplicationGrant, signing_key: str, *, now: float | None = None) -> str:
    check_files(grant.image_uuid, grant.files, reads=grant.reads)
    kid, key = parse_private_key(signing_key)
    issued = int(now if now is not None else time.time())
    payload: dict[str, Any] = {
        "kid": kid,
        "iss": TOKEN_ISSUER,
        "aud": grant_audience(grant.node_id, reads=grant.reads),
        "pool_id": grant.pool_id,
        "mv": grant.move_id,
        "img": grant.image_uuid,
        "f": [[f.path, f.size, f.sha256] for f in grant.files],
        "max": grant.max_bytes,
        "jti": grant.jti,
        **({"cp": grant.copy_id} if grant.copy_id else {}),
        "iat": issued,
        "nbf": issued,
        "exp": issued + GRANT_SECONDS,
    }
    return jwt.encode(payload, key, algorithm=ALGORITHM, headers={"kid": kid})


def verify(
    authorization: str | None,
    node_id: str,
    public_keys: dict[str, Ed25519PublicKey],
    *,
    reads: bool = False,
) -> ReplicationGrant:
    """The request's ``Bearer`` grant for this node (a read grant with ``reads``), or
    REPLICATION_DENIED / _FORBIDDEN."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise APIError("REPLICATION_DENIED", "The request carries no replication grant.")
    try:
        payload = decode_signed(token.strip(), public_keys, REQUIRED_CLAIMS)
    except SignatureRefused as refused:
        if refused.reason == "expired":
            raise APIError("REPLICATION_DENIED", "The replication grant has expired.") from refused
        raise APIError("REPLICATION_DENIED") from refused
    if payload["aud"] != grant_audience(node_id, reads=reads):
        raise APIError("REPLICATION_FORBIDDEN", "The grant is for another node or use.")
    try:
        files = tuple(
            GrantedFile(path=str(path), size=int(size), sha256=str(sha))
            for path, size, sha in payload["f"]
        )
        grant = ReplicationGrant(
            node_id=node_id,
            pool_id=int(payload["pool_id"]),
            image_uuid=str(payload["img"]),
            move_id=int(payload["mv"]),
            files=files,
            jti=str(payload["jti"]),
            expires=int(payload["exp"]),
            cap=int(payload["max"]),
            copy_id=int(payload.get("cp", 0)),
            reads=reads,
        )
    except (TypeError, ValueError) as exc:
        raise APIError("REPLICATION_DENIED") from exc
    # Signed by the app, and still checked here: a grant never covers a non-layout
    # file, whatever minted it.
    check_files(grant.image_uuid, grant.files, reads=reads)
    if int(payload["max"]) > sum(f.size for f in files) or not grant.jti:
        raise APIError("REPLICATION_DENIED")
    return grant
