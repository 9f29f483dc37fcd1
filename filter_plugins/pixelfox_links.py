"""Ansible filter ``pixelfox_node_link_secret``: a storage node's link secret from the master.

``{{ pixelfox_link_secret | pixelfox_node_link_secret(node_id) }}`` is
``pixelfox_protocol.links.node_secret``: hex HMAC-SHA256(master, "link:" +
node id). It runs on the controller, so the master stays there: a node's nginx
gets only its own derived secret. "" when the master or the node id is empty
(the nginx role then refuses the storage site).
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    from pixelfox_protocol import links
except ImportError:  # ansible-playbook outside the project's environment: the repository's copy
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from pixelfox_protocol import links


def node_link_secret(master: object, node_id: object) -> str:
    secret, node = str(master or "").strip(), str(node_id or "").strip()
    return links.node_secret(secret, node) if secret and node else ""


class FilterModule:
    def filters(self) -> dict[str, object]:
        return {"pixelfox_node_link_secret": node_link_secret}
