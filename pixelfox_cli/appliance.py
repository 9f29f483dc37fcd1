"""The database side of ``pixelfox up``: schema, admin account, node ``local`` and its pool.

Everything here is idempotent: a second start finds the admin, the node and
the pool in place and only brings the pool's URLs up to date with the ports
of this run.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pixelfox_app.db import close_db, init_db
from pixelfox_app.dbschema import migrate
from pixelfox_protocol.internal import UPLOAD_PATH

from .processes import NODE_ID


@dataclass(frozen=True)
class Prepared:
    admin_username: str
    # Set only when the admin account was created by this run.
    admin_password: str | None
    node_credential: str
    # True when the credential was issued by this run and must be persisted.
    credential_issued: bool
    pool_id: int


async def prepare(
    database_url: str,
    *,
    admin_username: str,
    node_credential: str,
    pool_path: Path,
    node_url: str,
    report: Callable[[str], None],
) -> Prepared:
    """Bring the schema up to date and make sure admin, node and pool exist."""
    await migrate(database_url, progress=lambda line: report(f"database: {line}"))
    await init_db(database_url)
    try:
        username, password = await _ensure_admin(admin_username)
        credential, issued = await _ensure_node(NODE_ID, node_credential)
        pool_id = await _ensure_pool(pool_path, node_url)
    finally:
        await close_db()
    return Prepared(username, password, credential, issued, pool_id)


# --- the calls into pixelfox_app: kept in these three helpers on purpose ---


async def _ensure_admin(username: str) -> tuple[str, str | None]:
    """The first admin's name, and a fresh password when the account was created now."""
    from pixelfox_app.auth.accounts import create_admin
    from pixelfox_app.models import User

    existing = await User.filter(is_admin=True).order_by("id").first()
    if existing is not None:
        return existing.username, None
    password = secrets.token_urlsafe(15)
    await create_admin(username, password)
    return username, password


async def _ensure_node(node_id: str, credential: str) -> tuple[str, bool]:
    """The node's working credential; issued anew when ours does not match the stored hash."""
    from pixelfox_app.models import StorageNode
    from pixelfox_app.nodes import credential_hash, register_node

    node = await StorageNode.get_or_none(node_id=node_id)
    stored = node.credential_hash if node is not None else ""
    if credential and hmac.compare_digest(stored, credential_hash(credential)):
        return credential, False
    # Creates the node, or rotates the credential we lost (e.g. secrets.env deleted).
    return await register_node(node_id, "localhost"), True


async def _ensure_pool(pool_path: Path, node_url: str) -> int:
    """The default pool on node ``local``; its URLs follow this run's node port."""
    from pixelfox_app.pools import ensure_default_pool

    pool_path.mkdir(parents=True, exist_ok=True)
    # The node serves /uploads/ itself here; with nginx in front, an operator
    # points public_base_url at nginx instead.
    default = await ensure_default_pool(
        str(pool_path), public_base_url=node_url, upload_api_url=node_url + UPLOAD_PATH
    )
    return int(default.pool.id)
