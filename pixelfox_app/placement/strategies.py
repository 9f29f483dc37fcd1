"""The operator's placement strategies (knob ``placement_strategy``) among eligible pools.

- ``least_used``: the pool with the smallest used share of its capacity,
  counting bytes placed since its node's last heartbeat, so a burst of
  sessions spreads instead of piling onto the pool that looked emptiest five
  seconds ago. Ties: priority, then id.
- ``priority``: the lowest ``priority`` number; among equals the least used.
- ``weighted_random``: a pool with probability proportional to its ``weight``
  (weight 0 never wins; eligibility already skipped those pools).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from .explain import Verdict

STRATEGIES = ("least_used", "priority", "weighted_random")
DEFAULT_STRATEGY = "least_used"


def _used(v: Verdict) -> float:
    return v.used_pct if v.used_pct is not None else 0.0


def least_used(candidates: Sequence[Verdict], rng: random.Random) -> tuple[Verdict, str]:
    best = min(candidates, key=lambda v: (_used(v), v.priority, v.pool_id))
    return best, f"least used: {_used(best):.3f} % of capacity"


def priority(candidates: Sequence[Verdict], rng: random.Random) -> tuple[Verdict, str]:
    best = min(candidates, key=lambda v: (v.priority, _used(v), v.pool_id))
    return best, f"best priority {best.priority}, then least used"


def weighted_random(candidates: Sequence[Verdict], rng: random.Random) -> tuple[Verdict, str]:
    total = sum(v.weight for v in candidates)
    best = rng.choices(list(candidates), weights=[v.weight for v in candidates])[0]
    return best, f"weighted random: weight {best.weight} of {total}"


Strategy = Callable[[Sequence[Verdict], random.Random], tuple[Verdict, str]]

BY_NAME: dict[str, Strategy] = {
    "least_used": least_used,
    "priority": priority,
    "weighted_random": weighted_random,
}


def strategy_named(name: str) -> tuple[str, Strategy]:
    """The strategy of that name; an unknown name (an old setting) falls back to the default."""
    if name in BY_NAME:
        return name, BY_NAME[name]
    return DEFAULT_STRATEGY, BY_NAME[DEFAULT_STRATEGY]
