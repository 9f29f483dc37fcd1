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
# A node job holds an image's file lock at most this long: the background lane's
# job timeout plus a margin (a killed worker's lock lapses by itself).
IMAGE_LOCK_TTL = 660
HEARTBEAT_TTL = 30  # a node that stops beating vanishes from Redis after this
REACHABILITY_TTL = 30
JTI_LEEWAY = 120  # a used token id is kept this long past the token's expiry
HEALTH_HISTORY_TTL = 86400  # a pool's health samples outlive a quiet app by a day
HEALTH_HISTORY_LENGTH = 240  # samples kept per pool (an hour at one per 15 s)
# A finished move's state and outcome keys are kept this long for late jobs to read.
MOVE_FINISHED_TTL = 7 * 86400
# A node's placement health outlives a silent node by a day, so a node that comes
# back after an outage still needs its two healthy beats (see pixelfox_app.placement).
NODE_HEALTH_TTL = 86400


def token_audience(node_id: str) -> str:
    """Token audience of a node: a token minted for s01 is refused by s02."""
    return f"storage:{node_id}"


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
        return self.node_scope(node_id)

    def node_background_queue(self, node_id: str) -> str:
        """Background lane of a node (moves, replication, backfills, backups)."""
        return f"{self.prefix}:node:{node_id}:bg"

    # Everything a node writes lives under its own name, ``<prefix>:node:<id>``:
    # its Redis user (pixelfox_app.redis_users) may touch these keys and no others.
    def node_scope(self, node_id: str) -> str:
        """``<prefix>:node:<id>``: the node's queue, and the stem of all its keys."""
        return f"{self.prefix}:node:{node_id}"

    # Used upload-token ids of the node the token is for (owner: storage node, and
    # the app's proxy upload on that node's behalf; TTL: token expiry + JTI_LEEWAY).
    def node_token_jti(self, node_id: str, jti: str) -> str:
        return f"{self.node_scope(node_id)}:jti:{jti}"

    # Held by the node job that makes an image's variants or moves its files between
    # the public and private subtree, so the two never interleave (owner: node
    # worker; TTL: IMAGE_LOCK_TTL, released when the job ends).
    def image_lock(self, node_id: str, image_uuid: str) -> str:
        return f"{self.node_scope(node_id)}:image-lock:{image_uuid}"

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

    # Held while one process places an image's missing copies, so two (a node's
    # report and the control worker's copy check) never both place the same one
    # (owner: app copies; TTL: COPIES_LOCK_TTL, released when done).
    def copies_lock(self, image_id: int) -> str:
        return f"{self.prefix}:copies-lock:{image_id}"

    # Taken by the one app worker that records a health sample for this time slot
    # (owner: app web UI; TTL: one sampling interval).
    def health_sample_slot(self, slot: int) -> str:
        return f"{self.prefix}:health-sample:{slot}"

    # Job ids (owner: arq; each job's result is kept KEEP_RESULT after it ends). arq
    # keeps every job under global keys (``arq:job:<id>``, ``arq:result:<id>`` …),
    # not under our prefix, so every id starts with the prefix: two installations
    # sharing a Redis never refuse each other's jobs as duplicates, and the
    # installation's own jobs are found by ``arq:result:<prefix>:*``. A node's jobs
    # start with its scope (``<prefix>:node:<id>:``), so its Redis user may reach
    # their arq keys and no other node's.
    # Deterministic where a job must not run twice.
    def process_job(self, node_id: str, image_uuid: str) -> str:
        """Processing an image is never enqueued twice (fresh lane of its node)."""
        return f"{self.node_scope(node_id)}:process:{image_uuid}"

    def backup_job(self, node_id: str, image_uuid: str) -> str:
        """An original is copied to its pool's bucket once (background lane)."""
        return f"{self.node_scope(node_id)}:backup:{image_uuid}"

    def visibility_job(self, node_id: str, image_uuid: str, private: bool) -> str:
        """Moving an image's files into the private (or back to the public) subtree, once."""
        target = "private" if private else "public"
        return f"{self.node_scope(node_id)}:visibility:{image_uuid}:{target}"

    def trash_job(self, node_id: str, image_uuid: str, trashed: bool) -> str:
        """Renaming an image's files into its pool's trash (or back, a restore), once."""
        where = "trash" if trashed else "untrash"
        return f"{self.node_scope(node_id)}:{where}:{image_uuid}"

    def purge_job(self, node_id: str, image_uuid: str) -> str:
        """Deleting an image's files on a node's pool for good, once."""
        return f"{self.node_scope(node_id)}:purge:{image_uuid}"

    def restore_job(self, node_id: str, image_uuid: str) -> str:
        """Re-making the variants of an original that ``pixelfox restore`` brought back."""
        return f"{self.node_scope(node_id)}:restore:{image_uuid}"

    def move_job(self, node_id: str, move_id: int, image_id: int) -> str:
        """``<prefix>:node:<id>:move:<move_id>:<image_id>``: one job per image of a move,
        on the background lane of the node that holds the image."""
        return f"{self.node_scope(node_id)}:move:{move_id}:{image_id}"

    def replica_job(self, node_id: str, copy_id: int) -> str:
        """Pushing one copy of an image from the source node ``node_id`` (background lane)."""
        return f"{self.node_scope(node_id)}:replica:{copy_id}"

    def move_batch_job(self, node_id: str, move_id: int, first_image_id: int) -> str:
        """``<prefix>:node:<id>:move:<move_id>:batch:<first image id>``: one job per batch
        of a move's images (a batch queued twice runs once)."""
        return f"{self.node_scope(node_id)}:move:{move_id}:batch:{first_image_id}"

    def move_plan_job(self, move_id: int, cursor: int) -> str:
        """The planner's batch after image id ``cursor`` (control queue): planned once."""
        return f"{self.prefix}:move-plan:{move_id}:{cursor}"

    @property
    def job_pattern(self) -> str:
        """What every job id of this installation matches (``SCAN`` for arq's keys)."""
        return f"{self.prefix}:*"

    # A move's state as its node jobs see it: running, paused, cancelled … (owner:
    # app, pixelfox_app.moves; no TTL while the move lives, MOVE_FINISHED_TTL after).
    def move_state(self, move_id: int) -> str:
        return f"{self.prefix}:move:{move_id}:state"

    @property
    def move_state_pattern(self) -> str:
        """Every move's state key (``ACL`` pattern: nodes may read them, not write)."""
        return f"{self.prefix}:move:*:state"

    # Image ids whose move job on node ``node_id`` found the move paused and stopped;
    # resume queues them again (owner: that node's jobs add, under the node's own
    # prefix; the app pops every node's set; TTL as move_state).
    def node_move_parked(self, node_id: str, move_id: int) -> str:
        return f"{self.prefix}:node:{node_id}:move:{move_id}:parked"

    def move_handover_job(self, move_id: int, image_id: int, node_id: str) -> str:
        """An image of a move put by the app onto the lane of the node that holds its pool
        now (in that node's scope, like every job of its lanes)."""
        return f"{self.move_job(node_id, move_id, image_id)}@handover"

    # Files a replication grant has written on node ``node_id``: a hash of path →
    # SHA-256 and ``bytes`` → bytes taken (owner: that node's replicate endpoint;
    # TTL: the grant's expiry + JTI_LEEWAY).
    def node_grant_ledger(self, node_id: str, jti: str) -> str:
        return f"{self.prefix}:node:{node_id}:grant:{jti}"

    # A pool's scrub on node ``node_id``: one JSON string (GET/SET, the commands a
    # node's user has) with ``report`` (the last finished run, what the admin
    # shows), ``current`` (the run in progress) and, for the scheduled pass,
    # ``cursor`` (image id it goes on after) and ``pass_started`` (Unix time)
    # (owner: that node's scrub; no TTL, one per pool).
    def node_scrub(self, node_id: str, pool_id: int) -> str:
        return f"{self.prefix}:node:{node_id}:scrub:{pool_id}"

    def node_scrub_pattern(self, node_id: str = "*") -> str:
        """Every pool's scrub key of a node (``*``: of every node), for ``SCAN``."""
        return f"{self.prefix}:node:{node_id}:scrub:*"

    # image id → outcome (done, skipped, failed) already counted, so a job run again
    # after a crash never counts an image twice (owner: app; TTL as move_state).
    def move_outcomes(self, move_id: int) -> str:
        return f"{self.prefix}:move:{move_id}:outcomes"

    # Copy ids whose repair push the app queued on node ``node_id``'s background lane
    # (the per-node repair throttle; owner: app, pixelfox_app.copies.throttle; members
    # whose job ended are dropped when it is read; no TTL).
    def repairs_queued(self, node_id: str) -> str:
        return f"{self.prefix}:repairs:{node_id}"

    def copy_check_soon(self) -> str:
        """While a copy check queued between the minute's crons (a repair push ended) has
        not started yet (owner: app; TTL: until it is due); its job ids start with it."""
        return f"{self.prefix}:copy-check:soon"

    # Rate-limit counters (owner: the `limits` library; TTL: the window).
    @property
    def rate_limit_prefix(self) -> str:
        return f"{self.prefix}:rl"
