"""PixelFox control app: upload sessions, pools, nodes, admin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app


def __getattr__(name: str) -> Any:
    # Lazy, so that importing a submodule (the CLI's models, the migrations) does not
    # load the whole web app with Quart and every blueprint.
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(name)


__all__ = ["create_app"]
