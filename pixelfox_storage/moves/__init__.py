"""Moving an image to another pool, the node's half (the app plans, see pixelfox_app.moves).

- :mod:`.jobs` — ``move_image`` on the source node's background lane;
- :mod:`.replicate` — ``PUT /api/internal/replicate``, where another node pushes a file;
- :mod:`.files` — hashing, durable copies, removing source copies;
- :mod:`.calls` — the job's ticket, its pushes to the target node, its exceptions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quart import Quart

__all__ = ["install"]


def install(app: Quart) -> None:
    """Register the replicate endpoint; it shares the upload module's pools and keys."""
    # Imported here: the node worker imports this package for its jobs and has no
    # use for the web framework.
    from .replicate import blueprint

    app.register_blueprint(blueprint)
