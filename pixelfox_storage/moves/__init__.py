"""Moving an image to another pool, the node's half (the app plans, see pixelfox_app.moves).

- :mod:`.jobs` — ``move_image`` on the source node's background lane;
- :mod:`.replicate` — ``PUT /api/internal/replicate``, where another node pushes a file;
- :mod:`.copyfile` — ``GET /api/internal/copy-file``, where another node reads a file of
  a copy to repair its own (a scrub's, with a read grant);
- :mod:`.files` — hashing, durable copies, removing source copies;
- :mod:`.calls` — the job's ticket, its pushes to the target node, its exceptions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quart import Quart

__all__ = ["install"]


def install(app: Quart) -> None:
    """Register the replicate and copy-file endpoints; they share the upload module's
    pools and keys."""
    # Imported here: the node worker imports this package for its jobs and has no
    # use for the web framework.
    from .copyfile import blueprint as copy_file
    from .replicate import blueprint as replicate

    app.register_blueprint(replicate)
    app.register_blueprint(copy_file)
