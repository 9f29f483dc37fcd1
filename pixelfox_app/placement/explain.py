"""Why a pool was chosen and why every other pool was not.

An :class:`Explanation` is built on every placement. Admins get it in the
session API's answer (``POST /api/v1/upload/sessions?explain=1``) and in the
details of a NO_STORAGE refusal; the app logs a one-line summary of it always.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Skip reasons, in the order the checks run (the first that applies is reported).
REASONS: dict[str, str] = {
    "pool_inactive": "the pool is switched off",
    "not_upload_target": "the pool is not an upload target",
    "not_hot": "the pool's tier is not hot",
    "node_retired": "the node is retired",
    "node_inactive": "the node is deactivated",
    "node_draining": "the node is being drained",
    "node_avoided": "the client asked to avoid this node",
    "pool_avoided": "a replica may not go there (the pool is being drained)",
    "not_on_this_host": "proxy mode: the pool's directory is not on the app's host",
    "no_heartbeat": "no heartbeat from the node",
    "heartbeat_stale": "the node's last heartbeat is too old",
    "node_recovering": "the node is back but has not sent two healthy beats yet",
    "upload_api_unreachable": "the pool's upload API failed its last check",
    "pool_not_reported": "the node's heartbeat does not report this pool",
    "no_room": "free space after this upload would fall below the pool's reserve",
    "zero_weight": "weight 0 never wins under weighted_random",
    "other_region": "a pool in the client's region can take the upload",
}


@dataclass
class Verdict:
    """One pool's facts and, when it was skipped, the reason."""

    pool_id: int
    pool: str
    node_id: str
    region: str
    priority: int
    weight: int
    reason: str = ""
    detail: str = ""
    free_after_bytes: int | None = None
    reserve_bytes: int | None = None
    used_pct: float | None = None
    heartbeat_age: float | None = None
    # True/False: the last upload API check; None: not checked (or proxy mode).
    upload_api_reachable: bool | None = None

    def skip(self, reason: str, detail: str = "") -> Verdict:
        self.reason = reason
        self.detail = detail or REASONS[reason]
        return self

    @property
    def eligible(self) -> bool:
        return not self.reason


@dataclass
class Explanation:
    mode: str  # "direct" or "proxy"
    strategy: str
    file_size: int
    region: str | None = None
    region_source: str | None = None  # "query", "header" or None
    avoid_nodes: list[str] = field(default_factory=list)
    chosen: Verdict | None = None
    rule: str = ""
    candidates: list[Verdict] = field(default_factory=list)
    skipped: list[Verdict] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """One log line: the choice and each skipped pool's reason."""
        chosen = (
            f"pool {self.chosen.pool_id} ({self.chosen.pool}) on {self.chosen.node_id}"
            if self.chosen
            else "no pool"
        )
        skipped = ", ".join(f"{v.pool_id}:{v.reason}" for v in self.skipped) or "none"
        return f"{chosen} by {self.strategy} ({self.rule or 'nothing eligible'}); skipped {skipped}"
