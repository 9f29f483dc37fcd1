"""PixelFox control app: upload sessions, pools, nodes, admin."""

from .app import create_app

__all__ = ["create_app"]
