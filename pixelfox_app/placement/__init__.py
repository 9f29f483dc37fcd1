"""Which pool takes the next upload: health-aware placement with an explanation.

- :mod:`.health` — heartbeats in Redis and each node's up/down state (two
  healthy beats to come back);
- :mod:`.reachability` — the control worker's ``HEAD upload_api_url`` checks;
- :mod:`.eligibility` — which pools can take an upload, and why not;
- :mod:`.strategies` — least_used, priority, weighted_random;
- :mod:`.region` — the client's region, from a query parameter or a trusted header;
- :mod:`.choose` — :func:`place`, which puts it together;
- :mod:`.explain` — the explanation admins see and the logs keep.
"""

from __future__ import annotations

from .choose import NoEligiblePool, Placement, PlacementRequest, place
from .explain import REASONS, Explanation, Verdict
from .strategies import STRATEGIES

__all__ = [
    "REASONS",
    "STRATEGIES",
    "Explanation",
    "NoEligiblePool",
    "Placement",
    "PlacementRequest",
    "Verdict",
    "place",
]
