"""Moving a pool's images to another pool (rebalancing, draining): the app's half.

- :mod:`.control` — start (with the target's checks), pause, resume, cancel;
- :mod:`.planner` — ``plan_move`` on the control queue, a batch at a time;
- :mod:`.tickets` — what a node's move job asks: the ticket, the switch, an outcome;
- :mod:`.progress` — counters, each image counted once, and the move's end;
- :mod:`.api` — the admin's JSON API, ``/api/v1/admin/moves``.

The node's half (copying, the replicate endpoint) is ``pixelfox_storage.moves``;
docs/moves.md tells the whole story.
"""

from __future__ import annotations

from .control import cancel_move, find_pool, pause_move, resume_move, retry_move, start_move
from .planner import plan_move

__all__ = [
    "cancel_move",
    "find_pool",
    "pause_move",
    "plan_move",
    "resume_move",
    "retry_move",
    "start_move",
]
