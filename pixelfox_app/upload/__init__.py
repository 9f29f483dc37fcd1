"""The upload path of the control app: sessions and tokens, completion, proxy uploads."""

from .signing import key_status

__all__ = ["key_status"]
