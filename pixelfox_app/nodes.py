"""Storage nodes as principals: registering a node and checking its credential.

A node proves itself with ``Authorization: Node <node_id>:<credential>``; the
app keeps only the credential's SHA-256, so a leaked database cannot be used
to impersonate a node.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from pixelfox_protocol.errors import APIError
from pixelfox_protocol.internal import NODE_AUTH_SCHEME

from .models import StorageNode, StoragePool

NODE_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
# Compared against when the node is unknown, so both failures take the same path.
_UNKNOWN_NODE_HASH = "0" * 64


def credential_hash(credential: str) -> str:
    return hashlib.sha256(credential.encode()).hexdigest()


async def register_node(node_id: str, dns_name: str = "") -> str:
    """Create the node, or rotate its credential if it exists; returns the new credential.

    The plaintext is shown to the operator once (it goes into the node's
    ``PIXELFOX_NODE_CREDENTIAL``); the previous credential stops working at once.
    """
    if not NODE_ID_PATTERN.match(node_id):
        raise ValueError("a node id is 1 to 32 lowercase letters, digits or dashes, e.g. 's01'")
    credential = secrets.token_urlsafe(32)
    node = await StorageNode.get_or_none(node_id=node_id)
    if node is None:
        await StorageNode.create(
            node_id=node_id, dns_name=dns_name, credential_hash=credential_hash(credential)
        )
    else:
        fields = {"credential_hash": credential_hash(credential)}
        if dns_name:
            fields["dns_name"] = dns_name
        await StorageNode.filter(id=node.id).update(**fields)
    return credential


def parse_node_authorization(header: str) -> tuple[str, str] | None:
    """``Node s01:secret`` → ``("s01", "secret")``; anything else → None."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme != NODE_AUTH_SCHEME:
        return None
    node_id, sep, credential = rest.strip().partition(":")
    if not sep or not node_id or not credential:
        return None
    return node_id, credential


async def authenticate_node(header: str) -> StorageNode:
    """The active node this header proves, or NODE_UNAUTHORIZED."""
    parsed = parse_node_authorization(header)
    if parsed is None:
        raise APIError("NODE_UNAUTHORIZED")
    node_id, credential = parsed
    node = await StorageNode.get_or_none(node_id=node_id)
    expected = node.credential_hash if node is not None else _UNKNOWN_NODE_HASH
    matches = hmac.compare_digest(expected, credential_hash(credential))
    if node is None or not matches or not node.is_active:
        raise APIError("NODE_UNAUTHORIZED")
    return node


# The seed's runtime default: a pool without a node id belongs to the app's own host.
DEFAULT_NODE_ID = "local"


def node_of(pool: StoragePool) -> str:
    """The id of the node that holds ``pool`` (its token audience and queue)."""
    return pool.node_id or DEFAULT_NODE_ID
