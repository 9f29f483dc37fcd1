"""Copies of images on several nodes: a row per copy (``ImageCopy``), replicas, reads, repair.

- :mod:`.factor` — how many copies a pool's images want (the installation's default);
- :mod:`.placement` — where a replica goes (another node, another zone where one exists);
- :mod:`.replicas` — the primary's row after processing, pending replicas and their jobs;
- :mod:`.tickets` — the replica job's ticket and grant, the target's verified report;
- :mod:`.reads` — which copy the URLs the app hands out point at;
- :mod:`.lost` — ``pixelfox nodes lost``: copies lost, primaries switched, repair queued;
- :mod:`.repair` — the control worker's copy check: fill-ups, drained replicas, surplus;
- :mod:`.throttle` — at most ``repair_jobs_per_node`` repair pushes per source node;
- :mod:`.surplus` — removing copies beyond the factor (or on a drained pool), safely;
- :mod:`.stats` — under-replicated images and replication lag (admin, metrics).
"""
