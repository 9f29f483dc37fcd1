"""Compare-and-delete without a script: nodes' Redis users may not run Lua.

A node's Redis user has no ``EVAL`` (a script could reach keys its ACL names
only through ``KEYS[]``, and scripting is a large surface for a stolen node),
so "delete this key only if it still holds my value" is a ``WATCH`` /
``MULTI`` transaction instead.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import WatchError


async def delete_if_holds(redis: Redis, key: str, value: str) -> bool:
    """Delete ``key`` if it holds ``value``; False if it holds anything else or changed meanwhile.

    A change between the ``GET`` and the ``DEL`` (the key expired and another
    holder took it) aborts the transaction: the key is no longer ours to delete.
    """
    async with redis.pipeline(transaction=True) as pipe:
        try:
            await pipe.watch(key)
            held = await pipe.get(key)
            if held is None or held != value.encode():
                await pipe.unwatch()
                return False
            pipe.multi()
            pipe.delete(key)
            await pipe.execute()
        except WatchError:
            return False
    return True
