"""Moving a pool's images to another pool (rebalancing, draining): the app's half.

- :mod:`.preflight` — the dry run before a start: what would move where, and its checks;
- :mod:`.control` — start (with the target's checks), pause, resume, cancel, retry;
- :mod:`.selection` — a move of chosen images (the admin's image list);
- :mod:`.planner` — ``plan_move`` on the control queue, a batch at a time;
- :mod:`.batches` — what a node's batch job asks: its tickets, then one switch;
- :mod:`.tickets` — one image's ticket, grant and switch, and every outcome;
- :mod:`.throttle` — rates and time windows, changeable while a move runs;
- :mod:`.progress` and :mod:`.rate` — counters (each image once), rate, time left, the end;
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
