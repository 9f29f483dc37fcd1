"""Scrub: a pool's disk against what the app says the pool holds, and repair.

- :mod:`.check` — one image's files (missing, wrong size, wrong SHA-256,
  variants missing for a ready image) and the pool's files without a row
  (orphans, stray upload parts), read at a bytes/s cap.
- :mod:`.repair` — healing a fault from the first source that has the file (the
  S3 backup for originals, re-made from the original for the primary's
  variants), and the quarantine folder orphans are moved to (never deleted by a
  scrub);
- :mod:`.peer` — the first source: the image's verified copy on another node,
  read with the read grant of the app's repair plan.
- :mod:`.run` — one pass over a pool, paged from the app, its report kept in
  Redis under the node's own keys (``RedisKeys.node_scrub``).
- :mod:`.jobs` — the scheduled scrub: a cron slice on the background lane that
  goes on from its cursor and starts a new full pass every N days.
"""
