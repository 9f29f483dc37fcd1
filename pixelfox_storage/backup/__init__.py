"""S3 cold backup of a pool's originals, and restoring them (the seed's asynchronous backup).

- :mod:`.store` — the bucket (boto3): put with SHA-256, check, get back;
- :mod:`.jobs` — ``backup_original`` on the node worker's background lane;
- :mod:`.restore` — ``pixelfox restore``: verified downloads back into the pool.

Reporting a backup to the app and asking it what to restore are calls of the
node's one app client, :class:`pixelfox_storage.appapi.AppAPI`.
"""
