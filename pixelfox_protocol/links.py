"""Signed, expiring download links, exactly as nginx's ``secure_link`` module checks them.

The app signs, and nginx (or, without nginx, the storage service) verifies;
no Python runs on nginx's download path. A link to a private file is::

    <origin>/uploads/private/<path>?md5=<signature>&expires=<unix time>&k=<key id>

- ``signature`` = base64url, unpadded, of ``md5("<expires><uri> <secret>")``, where
  ``uri`` is the request path from ``/uploads/`` on (nginx: ``secure_link_md5
  "$secure_link_expires$uri $secret"``);
- the link is good up to and including second ``expires``, like nginx;
- ``k`` names the secret that signed it: the first 8 hex digits of the secret's
  SHA-256. nginx maps ``$arg_k`` to the secret (see docs/nginx/), so links signed
  with the current *and* the previous secret work at once during a rotation.
  A key id, and not a second check as a fallback, because nginx computes
  ``$secure_link`` once per request and keeps it, even across an internal
  redirect: a fallback location checking a second key sees the first answer.

Which files need a signature is decided by where they live: a pool keeps the
files of private images under ``private/`` (``private/original/…``,
``private/variants/…``), and both servers serve that subtree only with a
valid link. A path outside it is public, signed or not.

One secret per node: the app holds the *master* link secret and signs a link
with the secret of the node that serves the file, ``node_secret(master,
node_id)`` = hex HMAC-SHA256(master, ``"link:" + node_id``). Each node's nginx
gets only its own, so a stolen node can sign links to its own files, never to
another node's; the master never lands on a node. A rotation derives the
previous secret the same way.

MD5 is what nginx's built-in module offers. The construction puts the secret
last, and the app signs only paths it chose, so MD5's known weaknesses
(collisions, length extension) give an attacker no link to a file of its choice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path, PurePosixPath
from urllib.parse import urlencode

from . import layout

URI_PREFIX = "/uploads/"
# Where a node's nginx sends a request for a public file its pool lacks: the app's
# ``<REDIRECT_PREFIX><pool name>/<pool-relative path>``, which answers with a live
# copy's URL carrying ``REDIRECTED_PARAM=1``; a node that misses such a request too
# answers 404 (no loop). The nginx site (roles/nginx) spells both out.
REDIRECT_PREFIX = "/f/"
REDIRECTED_PARAM = "redirected"
PRIVATE_DIR = layout.PRIVATE_DIR
SIGNATURE_PARAM = "md5"
EXPIRES_PARAM = "expires"
KEY_PARAM = "k"
KEY_ID_LENGTH = 8
_EXPIRES = re.compile(r"^[0-9]{1,12}$")


class LinkState(StrEnum):
    VALID = "valid"
    INVALID = "invalid"  # missing, malformed, tampered, or signed with an unknown key
    EXPIRED = "expired"  # well signed, but past its time (nginx: $secure_link = "0")


is_private = layout.is_private


def resolve_file(base: Path, relative_path: str) -> Path:
    """``layout.resolve`` that also takes files of private images (``private/<layout path>``).

    Raises ``layout.UnsafePath`` like ``resolve`` for anything else.
    """
    parts = PurePosixPath(relative_path).parts
    if parts and parts[0] == PRIVATE_DIR:
        return layout.resolve(base / PRIVATE_DIR, "/".join(parts[1:]))
    return layout.resolve(base, relative_path)


def file_now(base: Path, relative_path: str) -> str:
    """Where the file named ``relative_path`` is now: there, or in the other subtree.

    A job queued before its image's visibility changed still names the old
    place; the disk tells where the file went. ``relative_path`` when it is in
    neither; raises ``layout.UnsafePath`` like ``resolve_file``.
    """
    other = layout.in_subtree(relative_path, not is_private(relative_path))
    for candidate in (relative_path, other):
        if resolve_file(base, candidate).is_file():
            return candidate
    return relative_path


NODE_SECRET_CONTEXT = "link:"  # noqa: S105 (a domain-separation label, not a secret)


def node_secret(master: str, node_id: str) -> str:
    """The link secret of node ``node_id``: hex HMAC-SHA256(``master``, ``"link:" + node_id``).

    "" for an empty master (no secret configured: links stay unsigned, and
    nodes refuse them). A node id is needed: no secret is shared by all nodes.
    """
    if not master:
        return ""
    if not node_id:
        raise ValueError("a node's link secret needs the node id")
    message = f"{NODE_SECRET_CONTEXT}{node_id}".encode()
    return hmac.new(master.encode(), message, hashlib.sha256).hexdigest()


def key_id(secret: str) -> str:
    """The public name of a secret (``k=``): stable across rotations, reveals nothing."""
    return hashlib.sha256(secret.encode()).hexdigest()[:KEY_ID_LENGTH]


def signature(expires: int, uri: str, secret: str) -> str:
    """nginx ``secure_link_md5 "$secure_link_expires$uri <secret>"``, base64url unpadded."""
    # MD5 because nginx's secure_link offers nothing else; see the module docstring.
    digest = hashlib.md5(f"{expires}{uri} {secret}".encode()).digest()  # noqa: S324
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(uri: str, secret: str, expires: int) -> str:
    """The query string (without ``?``) that makes ``uri`` valid until ``expires``."""
    if not secret:
        raise ValueError("a signed link needs a secret")
    return urlencode(
        {
            SIGNATURE_PARAM: signature(expires, uri, secret),
            EXPIRES_PARAM: str(expires),
            KEY_PARAM: key_id(secret),
        }
    )


@dataclass(frozen=True)
class LinkKeys:
    """The secrets a server accepts: the current one and, during a rotation, the previous."""

    by_id: Mapping[str, str]

    @classmethod
    def of(cls, *secrets: str) -> LinkKeys:
        return cls({key_id(s): s for s in secrets if s})

    def __bool__(self) -> bool:
        return bool(self.by_id)


def verify(uri: str, params: Mapping[str, str], keys: LinkKeys, now: float) -> LinkState:
    """Check a request's link the way nginx does (expired only when well signed)."""
    secret = keys.by_id.get(params.get(KEY_PARAM, ""))
    given = params.get(SIGNATURE_PARAM, "")
    raw_expires = params.get(EXPIRES_PARAM, "")
    if secret is None or not given or not _EXPIRES.match(raw_expires):
        return LinkState.INVALID
    expires = int(raw_expires)
    if expires == 0:
        return LinkState.INVALID
    expected = signature(expires, uri, secret)
    if not hmac.compare_digest(expected.encode(), given.rstrip("=").encode()):
        return LinkState.INVALID
    return LinkState.EXPIRED if expires < int(now) else LinkState.VALID
