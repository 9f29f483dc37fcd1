"""PixelFox storage node: the upload endpoint, file serving and the node worker.

Never imports ``pixelfox_app``: a node holds no database credentials and no
key that can mint upload tokens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app


def __getattr__(name: str) -> Any:
    # Lazy, so that the control app and the CLI can import ``pixelfox_storage.protocol``
    # without loading the storage service itself.
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(name)


__all__ = ["create_app"]
