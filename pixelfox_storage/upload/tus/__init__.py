"""Resumable uploads over tus 1.0 on a storage node, beside the single-request upload.

A browser (Uppy's tus plugin, tus-js-client) or a script creates an upload at
``TUS_PATH`` with the upload token of a session, sends the file in PATCHes at
``TUS_PATH/<id>`` — after a cut, a node restart or a page reload it asks
where the upload stands (HEAD) and goes on from there — and the last byte
gets the single upload's answer: the same checks, commit, completion report
(outbox included) and error codes, through the same code.

Spoken: core (HEAD, PATCH, OPTIONS discovery; 409 on a wrong offset, 412 on
another version), creation, creation-with-upload, expiration (default 24 h),
checksum (sha1, sha256; 460) and termination. See docs/api.md for a client's
view.

The modules, in the order an upload meets them:

- :mod:`.routes` — the blueprint: headers in, answers out;
- :mod:`.protocol` — tus's version, extensions and header parsing;
- :mod:`.creation` — POST: the token's checks and the new upload;
- :mod:`.uploads` — finding an upload, its token, its lock (:mod:`.locks`);
- :mod:`.state` — the upload on disk (``<pool>/.incoming/tus/``): the offset is
  the data file's size;
- :mod:`.append` — one request's bytes (:mod:`.writer`), the running SHA-256
  (:mod:`.digests`), chunk checksums;
- :mod:`.finish` — the commit at the last byte, through ingest;
- :mod:`.expiry` — the sweep of expired uploads.
"""

from __future__ import annotations

from quart import Quart

from ..background import forever
from ..node import UploadNode
from . import expiry
from .routes import blueprint
from .uploads import TusUploads

__all__ = ["TusUploads", "blueprint", "install"]


def install(app: Quart, node: UploadNode) -> TusUploads:
    """Register the tus endpoint; its sweep starts with the node's other upload chores.

    Call it after the upload module's own ``before_serving`` (the pool map is loaded there).
    """
    tus = TusUploads(node)
    app.extensions["tus"] = tus
    app.register_blueprint(blueprint)

    @app.before_serving
    async def _start_sweep() -> None:
        node.keep(forever("tus sweep", lambda: expiry.sweep(tus)), "upload-tus-sweep")

    return tus
