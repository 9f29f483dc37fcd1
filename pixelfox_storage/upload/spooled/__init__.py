"""Uploads that nginx receives to disk (its *spool*) and hands over: the node's side of them.

On storage hosts nginx fronts the node (docs/nginx/pixelfox-storage.conf). For
``POST|PUT /api/internal/upload`` it

1. asks ``GET /api/internal/upload/check`` (``auth_request``, no body) with the
   client's Authorization, Content-Type and, as ``X-Original-Method`` and
   ``X-Original-Content-Length``, what the body will be: every check of the
   streaming path that needs no byte of the body. 204 lets nginx read the body
   and holds the token as busy for a while (``X-Pixelfox-Hold`` names the
   hold), so a second connection with the token is refused before nginx
   spools a byte of it. A refusal is a 403 carrying the real answer (status
   and JSON body, ``X-Pixelfox-Refusal-*``), which nginx gives the client
   while it discards the body: a refused body never reaches the node;
2. receives the body into ``<pool>/.spool/`` (``client_body_in_file_only
   clean``: the file is nginx's and deleted when the request ends) and
   proxies the request without its body to ``/api/internal/upload/spooled``,
   naming the file in ``X-Pixelfox-Body-File`` and the check's hold in
   ``X-Pixelfox-Hold``: the handover takes that hold over (or gives it back
   when it refuses the body).

The name is trusted only from nginx: the request must carry the shared secret
(``X-Pixelfox-Spool-Secret``, ``PIXELFOX_SPOOL_SECRET``, compared in constant
time), and the file must sit directly in a known pool's ``.spool/`` with no
symlink on the way, be a regular file with one name, opened without following
links. Then the upload runs through the same ``endpoint.store`` as a streamed
one (token taken, sizes, types, libvips, SHA-256, fsync, outbox, completion);
a raw body is linked into place, not copied. Most of the hashing (and of a
form's parse) is done already: the spool follower (:mod:`.follower`) read the
file while nginx wrote it, and the handover takes its result by inode.

Spool files of requests nginx never finished (a killed worker) are swept like
the node's own incoming files.

The modules: :mod:`.routes` (the check and the handover, on a blueprint of
their own), :mod:`.bodyfile` (one body file, held by descriptor; the sweep of
stale ones), :mod:`.follower` (reads body files while nginx writes them) and
:mod:`.followedform` (the follower's form parse, ingest's own).
"""

from .bodyfile import SPOOL_DIR, BodyFile, sweep_spool
from .follower import SpoolFollower
from .routes import blueprint

__all__ = ["SPOOL_DIR", "BodyFile", "SpoolFollower", "blueprint", "sweep_spool"]
