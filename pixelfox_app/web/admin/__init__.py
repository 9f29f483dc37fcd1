"""The HTMX admin: storage pools, nodes, queues, moves, scrub, settings, users and images.

``base`` holds the blueprint; each view module registers its routes on it when
imported here, and imports only ``base``, so no view imports this package.
"""

from . import images, moves, nodes, pools, queues, scrub, settings, users
from .base import blueprint

__all__ = ["blueprint", "images", "moves", "nodes", "pools", "queues", "scrub", "settings", "users"]
