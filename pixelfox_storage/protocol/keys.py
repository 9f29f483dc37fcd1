"""Every Redis key, queue name and token audience, with its owner and lifetime.

One module owns the names so that the app, the nodes and the workers cannot
drift apart. The prefix (``PIXELFOX_REDIS_PREFIX``, default ``pixelfox``)
lets several installations, or tests, share one Redis.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PREFIX = "pixelfox"
TOKEN_ISSUER = "pixelfox-app"

# Lifetimes in seconds.
HEARTBEAT_TTL = 30  # a node that stops beating vanishes from Redis after this
REACHABILITY_TTL = 30
JTI_LEEWAY = 120  # a used token id is kept this long past the token's expiry


def token_audience(node_id: str) -> str:
    """Token audience of a node: a token minted for s01 is refused by s02."""
    return f"storage:{node_id}"


def process_job_id(image_uuid: str) -> str:
    """Deterministic: processing an image is never enqueued twice."""
    return f"process:{image_uuid}"


def move_job_id(move_id: int, image_id: int) -> str:
    return f"move:{move_id}:{image_id}"


@dataclass(frozen=True)
class RedisKeys:
    prefix: str = DEFAULT_PREFIX

    # Queues (owner: arq). The control worker takes the control queue; each node
    # worker takes two lanes, so fresh uploads never wait behind moves or backfills.
    @property
    def control_queue(self) -> str:
        return f"{self.prefix}:control"

    def node_queue(self, node_id: str) -> str:
        """Fresh-upload lane of a node (processing of new images)."""
        return f"{self.prefix}:node:{node_id}"

    def node_background_queue(self, node_id: str) -> str:
        """Background lane of a node (moves, replication, backfills, backups)."""
        return f"{self.prefix}:node:{node_id}:bg"

    # Used upload-token ids (owner: storage node; TTL: token expiry + JTI_LEEWAY).
    def token_jti(self, jti: str) -> str:
        return f"{self.prefix}:jti:{jti}"

    # Latest heartbeat of a node (owner: app; TTL: HEARTBEAT_TTL).
    def node_heartbeat(self, node_id: str) -> str:
        return f"{self.prefix}:heartbeat:{node_id}"

    # Upload API reachability of a pool (owner: control worker; TTL: REACHABILITY_TTL).
    def pool_reachable(self, pool_id: int) -> str:
        return f"{self.prefix}:reachable:{pool_id}"

    # Rate-limit counters (owner: the `limits` library; TTL: the window).
    @property
    def rate_limit_prefix(self) -> str:
        return f"{self.prefix}:rl"
