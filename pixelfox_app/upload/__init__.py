"""The upload path of the control app: sessions and tokens, completion, proxy uploads."""

from .placement import choose_pool
from .signing import key_status

__all__ = ["choose_pool", "key_status"]
