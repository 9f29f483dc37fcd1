"""Every Redis key, queue name and token audience, with its owner and lifetime.

One module owns the names so that the app, the nodes and the workers cannot
drift apart. The prefix (``PIXELFOX_REDIS_PREFIX``, default ``pixelfox``)
lets several installations, or tests, share one Redis.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PREFIX = "pixelfox"
TOKEN_ISSUER = "pixelfox-app"  # noqa: S105 - an issuer name, not a secret

# Lifetimes in seconds.
HEARTBEAT_TTL = 30  # a node that stops beating vanishes from Redis after this
REACHABILITY_TTL = 30
JTI_LEEWAY = 120  # a used token id is kept this long past the token's expiry
HEALTH_HISTORY_TTL = 86400  # a pool's health samples outlive a quiet app by a day
HEALTH_HISTORY_LENGTH = 240  # samples kept per pool (an hour at one per 15 s)
# A node's placement health outlives a silent node by a day, so a node that comes
# back after an outage still needs its two healthy beats (see pixelfox_app.placement).
NODE_HEALTH_TTL = 86400


def token_audience(node_id: str) -> str:
    """Token audience of a node: a token minted for s01 is refused by s02."""
    return f"storage:{node_id}"


def process_job_id(image_uuid: str) -> str:
    """Deterministic: processing an image is never enqueued twice."""
    return f"process:{image_uuid}"


def move_job_id(move_id: int, image_id: int) -> str:
    return f"move:{move_id}:{image_id}"


def backup_job_id(image_uuid: str) -> str:
    """Deterministic: an original is copied to its pool's bucket once (background lane)."""
    return f"backup:{image_uuid}"


def restore_job_id(image_uuid: str) -> str:
    """Re-making the variants of an original that ``pixelfox restore`` brought back."""
    return f"restore:{image_uuid}"


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

    # Placement health of a node: state up/down, healthy beats counted since it went
    # down, last beat time (owner: app heartbeat receiver and control worker's
    # reachability check, via pixelfox_app.placement.health; TTL: NODE_HEALTH_TTL).
    def node_health(self, node_id: str) -> str:
        return f"{self.prefix}:node-health:{node_id}"

    # Bytes promised to a pool by upload sessions since its node's last heartbeat
    # (owner: app placement; reset by the heartbeat receiver; TTL: HEARTBEAT_TTL).
    def pool_placed_bytes(self, pool_id: int) -> str:
        return f"{self.prefix}:placed:{pool_id}"

    # Rolling health samples of a pool for the admin's pool page (owner: app web UI;
    # a list capped at HEALTH_HISTORY_LENGTH, TTL HEALTH_HISTORY_TTL).
    def pool_health_history(self, pool_id: int) -> str:
        return f"{self.prefix}:health-history:{pool_id}"

    # Taken by the one app worker that records a health sample for this time slot
    # (owner: app web UI; TTL: one sampling interval).
    def health_sample_slot(self, slot: int) -> str:
        return f"{self.prefix}:health-sample:{slot}"

    # Rate-limit counters (owner: the `limits` library; TTL: the window).
    @property
    def rate_limit_prefix(self) -> str:
        return f"{self.prefix}:rl"
