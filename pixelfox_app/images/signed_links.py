"""Signing download links of private files (the app's half of ``protocol.links``).

nginx on the storage node checks the links by itself; the app only has to
sign them. ``PIXELFOX_LINK_SECRET`` is the master secret: a link is signed
with the secret of the node that serves the file (``links.node_secret``), the
only one that node's nginx knows, so one node's secret signs no link another
node accepts. During a rotation the new master signs, and nodes accept the
old one's derived secret (from ``PIXELFOX_LINK_PREVIOUS_SECRET``) until the
links it signed have expired.

Expiry times are rounded up to ``EXPIRY_STEP``: a page rendered twice within
a few minutes shows the same URL, so browsers and CDNs can reuse what they
fetched instead of treating each rendering as a new file.
"""

from __future__ import annotations

import logging
import math
import time

from pixelfox_protocol import links

from ..config import AppSettings

log = logging.getLogger(__name__)

# How long a signed link stays good, at least.
LINK_LIFETIME_SECONDS = 3600
EXPIRY_STEP = 300


def expires_at(now: float, lifetime: int = LINK_LIFETIME_SECONDS) -> int:
    """Unix time a link made at ``now`` expires: ``now + lifetime``, rounded up to a step."""
    return math.ceil((now + lifetime) / EXPIRY_STEP) * EXPIRY_STEP


def sign_uri(
    uri: str,
    settings: AppSettings,
    node_id: str,
    *,
    now: float | None = None,
    lifetime: int = LINK_LIFETIME_SECONDS,
) -> str | None:
    """The query string that makes ``uri`` (``/uploads/…``) valid on node ``node_id``
    for ``lifetime`` seconds.

    None when no link secret is configured: the caller hands out the bare URL,
    which the node refuses (fail closed); ``key_status`` warns at start-up.
    """
    master = settings.link_secret.strip()
    if not master:
        log.warning("no PIXELFOX_LINK_SECRET: a private file's URL is left unsigned")
        return None
    when = time.time() if now is None else now
    return links.sign(uri, links.node_secret(master, node_id), expires_at(when, lifetime))


def signed(
    url: str, uri: str, settings: AppSettings, node_id: str, *, now: float | None = None
) -> str:
    """``url`` (whose path is ``uri``, served by node ``node_id``) with its signature
    appended, when one can be made."""
    query = sign_uri(uri, settings, node_id, now=now)
    return f"{url}?{query}" if query else url
