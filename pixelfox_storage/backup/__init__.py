"""S3 cold backup of a pool's originals, and restoring them (the seed's asynchronous backup).

- :mod:`.store` — the bucket (boto3): put with SHA-256, check, get back;
- :mod:`.jobs` — ``backup_original`` on the node worker's background lane;
- :mod:`.appcalls` — reporting a backup to the app, asking it what to restore;
- :mod:`.restore` — ``pixelfox restore``: verified downloads back into the pool.
"""
