"""PixelFox storage node: the upload endpoint, file serving and the node worker.

Never imports ``pixelfox_app``: a node holds no database credentials and no
key that can mint upload tokens. What it shares with the app is the contract
in ``pixelfox_protocol``.
"""

from .app import create_app

__all__ = ["create_app"]
