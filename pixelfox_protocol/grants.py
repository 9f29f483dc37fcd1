"""Replication grants: the app's short signed permission to push one image's files to a node.

A move job on the source node asks the app for a ticket; the ticket carries a
grant, an Ed25519-signed JWT like an upload token (same keys), which the target
node's ``PUT /api/internal/replicate`` verifies with the app's public key.

Why a grant and not a secret all nodes share: under the trust rule a stolen
node may damage its own files, not the rest. With a shared secret it could
write anything into every other node's pools. A grant names the target node,
pool, image and the original's SHA-256, expires in minutes, and the app mints
it only for an image of a running move on a pool of the asking node.

Claims: ``aud`` = ``replicate:<target node>``, ``pool_id`` (target pool),
``img`` (image uuid: every path must be one of its files), ``orig`` and
``sha`` (the original's path and SHA-256, which the target checks itself),
``max`` (bytes of all files together), ``ck`` (the operator's
``replication_require_checksum``), ``mv`` (move id, for the logs).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from . import layout
from .errors import APIError
from .keys import TOKEN_ISSUER
from .tokens import ALGORITHM, SignatureRefused, decode_signed, parse_private_key

GRANT_SECONDS = 900
REQUIRED_CLAIMS = ["iss", "aud", "pool_id", "img", "orig", "sha", "max", "nbf", "exp"]


def grant_audience(node_id: str) -> str:
    """Never an upload token's audience: neither can stand in for the other."""
    return f"replicate:{node_id}"


@dataclass(frozen=True)
class ReplicationGrant:
    node_id: str
    pool_id: int
    image_uuid: str
    original_path: str
    original_sha256: str
    max_bytes: int
    require_checksum: bool = True
    move_id: int = 0

    def check_file(self, pool_id: int, path: str) -> None:
        """REPLICATION_FORBIDDEN unless ``path`` in ``pool_id`` is a file of the granted image."""
        name = PurePosixPath(path).name
        public = layout.in_subtree(path, private=False)
        ours = name.startswith(f"{self.image_uuid}.") or name.startswith(f"{self.image_uuid}_")
        if pool_id != self.pool_id or not ours:
            raise APIError("REPLICATION_FORBIDDEN", details={"pool_id": pool_id, "path": path})
        if public.startswith("original/") and path != self.original_path:
            raise APIError("REPLICATION_FORBIDDEN", details={"pool_id": pool_id, "path": path})

    def expected_sha256(self, path: str) -> str:
        """The original's SHA-256 as the app recorded it; "" for a variant."""
        return self.original_sha256 if path == self.original_path else ""


def mint(grant: ReplicationGrant, signing_key: str, *, now: float | None = None) -> str:
    kid, key = parse_private_key(signing_key)
    issued = int(now if now is not None else time.time())
    payload: dict[str, Any] = {
        "kid": kid,
        "iss": TOKEN_ISSUER,
        "aud": grant_audience(grant.node_id),
        "pool_id": grant.pool_id,
        "img": grant.image_uuid,
        "orig": grant.original_path,
        "sha": grant.original_sha256,
        "max": grant.max_bytes,
        "ck": grant.require_checksum,
        "mv": grant.move_id,
        "iat": issued,
        "nbf": issued,
        "exp": issued + GRANT_SECONDS,
    }
    return jwt.encode(payload, key, algorithm=ALGORITHM, headers={"kid": kid})


def verify(
    authorization: str | None, node_id: str, public_keys: dict[str, Ed25519PublicKey]
) -> ReplicationGrant:
    """The request's ``Bearer`` grant for this node, or REPLICATION_DENIED / _FORBIDDEN."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise APIError("REPLICATION_DENIED", "The request carries no replication grant.")
    try:
        payload = decode_signed(token.strip(), public_keys, REQUIRED_CLAIMS)
    except SignatureRefused as refused:
        if refused.reason == "expired":
            raise APIError("REPLICATION_DENIED", "The replication grant has expired.") from refused
        raise APIError("REPLICATION_DENIED") from refused
    if payload["aud"] != grant_audience(node_id):
        raise APIError("REPLICATION_FORBIDDEN", "The replication grant is for another node.")
    try:
        return ReplicationGrant(
            node_id=node_id,
            pool_id=int(payload["pool_id"]),
            image_uuid=str(payload["img"]),
            original_path=str(payload["orig"]),
            original_sha256=str(payload["sha"]),
            max_bytes=int(payload["max"]),
            require_checksum=bool(payload.get("ck", True)),
            move_id=int(payload.get("mv", 0)),
        )
    except (TypeError, ValueError) as exc:
        raise APIError("REPLICATION_DENIED") from exc
