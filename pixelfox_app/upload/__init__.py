"""The upload path of the control app: sessions and tokens, completion, proxy uploads."""

from .token_keys import key_status

__all__ = ["key_status"]
