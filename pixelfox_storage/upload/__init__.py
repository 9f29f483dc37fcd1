"""Direct-to-storage upload on a node: the endpoint and the chores that keep it honest.

- :mod:`.endpoint` — ``/api/internal/upload`` (POST multipart, PUT raw, HEAD/OPTIONS);
- :mod:`.spooled` — the same upload when nginx received the body to disk first
  (storage hosts; its nginx spool); the node checks the token before and takes
  the file after, on a blueprint of its own (``spooled.blueprint``, registered
  by the app factory);
- :mod:`.tus` — the same uploads, resumable (tus 1.0): ``/api/internal/upload/tus``;
- :mod:`.grant` — the Ed25519 upload token and its single use in Redis;
- :mod:`.completion` — reporting a stored file to the app; :mod:`.outbox` — when the
  app is away;
- :mod:`.background` — outbox delivery, pool-map refresh, sweeping ``.incoming/``
  and ``.spool/``;
- :mod:`.cors` — browsers on the app's origin only.

The bytes themselves are judged by :func:`pixelfox_common.ingest.receive`, which
the app's proxy mode calls too.
"""

from __future__ import annotations

from quart import Quart

from pixelfox_common import streambody

from ..config import StorageSettings
from . import background, tus
from .endpoint import blueprint
from .node import UploadNode

__all__ = ["install"]


def install(app: Quart, settings: StorageSettings) -> UploadNode:
    """Register the upload endpoint and its background chores on the storage app.

    Needs ``app.extensions["redis"]`` to be opened by an earlier ``before_serving``.
    """
    node = UploadNode.create(settings)
    app.extensions["upload"] = node
    streambody.install(app)
    streambody.tune_hypercorn_reads()
    app.register_blueprint(blueprint)

    @app.before_serving
    async def _start_uploads() -> None:
        await node.open(app.extensions["redis"])
        background.start(node)

    # The same uploads, resumable (tus); its sweep starts once the pools are known.
    tus.install(app, node)

    @app.after_serving
    async def _stop_uploads() -> None:
        await node.close()

    return node
