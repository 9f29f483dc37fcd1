"""A replication grant's ledger: which of its files this node took, and how many bytes.

A Redis hash under the node's own keys (``RedisKeys.node_grant_ledger``), not
a file in the pool: every worker process of the node shares it, a claim is
one atomic ``HSETNX``, it lapses by itself with the grant, and nothing of it
lies in a directory nginx serves or a backup copies. A node's Redis user may
run exactly the commands used here (``pixelfox_app.redis_users.NODE_COMMANDS``).
"""

from __future__ import annotations

from redis.asyncio import Redis

from pixelfox_protocol import grants
from pixelfox_protocol.errors import APIError
from pixelfox_protocol.grants import GrantedFile
from pixelfox_protocol.keys import JTI_LEEWAY, RedisKeys

# The ledger's field counting the bytes claimed (no file path is this).
_BYTES = "bytes"


class GrantLedger:
    def __init__(
        self, redis: Redis, keys: RedisKeys, node_id: str, grant: grants.ReplicationGrant
    ) -> None:
        self.redis = redis
        self.grant = grant
        self.key = keys.node_grant_ledger(node_id, grant.jti)

    async def claim(self, granted: GrantedFile) -> None:
        """Note the file: REPLICATION_USED the second time, _OVER_CAP past the grant's bytes.

        Bytes are counted when a file is claimed, whether or not its body then
        arrives whole: a grant never carries more. Redis errors pass through.
        """
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(self.key, granted.path, granted.sha256)
            pipe.expireat(self.key, self.grant.expires + JTI_LEEWAY)
            first, _ = await pipe.execute()
        if not first:
            used = {"path": granted.path, "jti": self.grant.jti}
            raise APIError("REPLICATION_USED", details=used)
        taken = int(await self.redis.hincrby(self.key, _BYTES, granted.size))  # type: ignore[misc]
        if taken > self.grant.max_bytes:
            details = {"bytes": taken, "granted": self.grant.max_bytes, "jti": self.grant.jti}
            raise APIError("REPLICATION_OVER_CAP", details=details)

    async def claimed(self) -> set[str]:
        """The paths claimed so far. Redis errors pass through."""
        fields = await self.redis.hkeys(self.key)  # type: ignore[misc]
        return {f.decode() if isinstance(f, bytes) else f for f in fields} - {_BYTES}
