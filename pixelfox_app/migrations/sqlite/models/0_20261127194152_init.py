from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "settings" (
    "key" VARCHAR(64) NOT NULL PRIMARY KEY,
    "value" JSON NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "updated_by" VARCHAR(64) NOT NULL
) /* An operator knob; its type and default live in pixelfox_app.knobs. */;
CREATE TABLE IF NOT EXISTS "storage_nodes" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "node_id" VARCHAR(32) NOT NULL UNIQUE,
    "dns_name" VARCHAR(255) NOT NULL,
    "credential_hash" VARCHAR(64) NOT NULL,
    "version" VARCHAR(32) NOT NULL,
    "last_seen_at" TIMESTAMP,
    "is_active" INT NOT NULL,
    "created_at" TIMESTAMP NOT NULL
) /* A storage host (``s01`` …). Its credential is stored as a SHA-256 only. */;
CREATE TABLE IF NOT EXISTS "storage_pools" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "name" VARCHAR(100) NOT NULL UNIQUE,
    "type" VARCHAR(8) NOT NULL /* LOCAL: local\nNFS: nfs\nS3: s3 */,
    "tier" VARCHAR(8) NOT NULL /* HOT: hot\nWARM: warm\nCOLD: cold */,
    "priority" INT NOT NULL,
    "base_path" VARCHAR(500) NOT NULL,
    "public_base_url" VARCHAR(500) NOT NULL,
    "cdn_base_url" VARCHAR(500) NOT NULL,
    "upload_api_url" VARCHAR(500) NOT NULL,
    "node_id" VARCHAR(32) NOT NULL,
    "region" VARCHAR(32) NOT NULL,
    "weight" INT NOT NULL,
    "capacity_bytes" BIGINT NOT NULL,
    "used_bytes" BIGINT NOT NULL,
    "reserve_bytes" BIGINT NOT NULL,
    "is_active" INT NOT NULL,
    "is_upload_target" INT NOT NULL,
    "health_status" VARCHAR(16) NOT NULL,
    "backup_bucket" VARCHAR(255) NOT NULL,
    "backup_prefix" VARCHAR(255) NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL
) /* Where images live: a directory on one node, with its public and upload URLs. */;
CREATE INDEX IF NOT EXISTS "idx_storage_poo_node_id_82c64b" ON "storage_pools" ("node_id");
CREATE TABLE IF NOT EXISTS "moves" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "state" VARCHAR(16) NOT NULL /* PLANNING: planning\nRUNNING: running\nPAUSED: paused\nCANCELLED: cancelled\nDONE: done\nFAILED: failed */,
    "cursor" INT NOT NULL,
    "planned" INT NOT NULL,
    "done" INT NOT NULL,
    "failed" INT NOT NULL,
    "skipped" INT NOT NULL,
    "bytes_moved" BIGINT NOT NULL,
    "batch_size" INT NOT NULL,
    "requested_by" VARCHAR(64) NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "started_at" TIMESTAMP,
    "finished_at" TIMESTAMP,
    "source_id" INT NOT NULL REFERENCES "storage_pools" ("id") ON DELETE RESTRICT,
    "target_id" INT NOT NULL REFERENCES "storage_pools" ("id") ON DELETE RESTRICT
) /* Moving every image of one pool to another (rebalancing, draining). */;
CREATE TABLE IF NOT EXISTS "users" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "username" VARCHAR(64) NOT NULL UNIQUE,
    "email" VARCHAR(255),
    "password_hash" VARCHAR(255) NOT NULL,
    "is_admin" INT NOT NULL,
    "is_active" INT NOT NULL,
    "created_at" TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS "api_tokens" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "name" VARCHAR(100) NOT NULL,
    "token_hash" VARCHAR(64) NOT NULL UNIQUE,
    "prefix" VARCHAR(12) NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "last_used_at" TIMESTAMP,
    "revoked_at" TIMESTAMP,
    "user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
) /* A personal token for scripts; only its SHA-256 is stored. */;
CREATE TABLE IF NOT EXISTS "images" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "uuid" CHAR(36) NOT NULL UNIQUE,
    "short_id" VARCHAR(16) NOT NULL UNIQUE,
    "path" VARCHAR(255) NOT NULL,
    "original_filename" VARCHAR(255) NOT NULL,
    "size" BIGINT NOT NULL,
    "sha256" VARCHAR(64) NOT NULL,
    "mime" VARCHAR(64) NOT NULL,
    "width" INT NOT NULL,
    "height" INT NOT NULL,
    "state" VARCHAR(16) NOT NULL /* PROCESSING: processing\nREADY: ready\nFAILED: failed */,
    "visibility" VARCHAR(16) NOT NULL /* PUBLIC: public\nUNLISTED: unlisted\nPRIVATE: private */,
    "backed_up_at" TIMESTAMP,
    "created_at" TIMESTAMP NOT NULL,
    "processed_at" TIMESTAMP,
    "owner_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    "pool_id" INT NOT NULL REFERENCES "storage_pools" ("id") ON DELETE RESTRICT,
    CONSTRAINT "uid_images_pool_id_936219" UNIQUE ("pool_id", "path")
);
CREATE INDEX IF NOT EXISTS "images_owner_created" ON "images" ("owner_id", "created_at");
CREATE INDEX IF NOT EXISTS "images_pool_id" ON "images" ("pool_id", "id");
CREATE TABLE IF NOT EXISTS "image_variants" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "kind" VARCHAR(32) NOT NULL,
    "format" VARCHAR(8) NOT NULL,
    "path" VARCHAR(255) NOT NULL,
    "size" BIGINT NOT NULL,
    "width" INT NOT NULL,
    "height" INT NOT NULL,
    "image_id" INT NOT NULL REFERENCES "images" ("id") ON DELETE CASCADE,
    "pool_id" INT NOT NULL REFERENCES "storage_pools" ("id") ON DELETE RESTRICT,
    CONSTRAINT "uid_image_varia_image_i_244be0" UNIQUE ("image_id", "kind", "format"),
    CONSTRAINT "uid_image_varia_pool_id_3be407" UNIQUE ("pool_id", "path")
);
CREATE INDEX IF NOT EXISTS "image_variants_pool_id" ON "image_variants" ("pool_id", "id");
CREATE TABLE IF NOT EXISTS "move_items" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "state" VARCHAR(16) NOT NULL /* FAILED: failed\nSKIPPED: skipped\nQUARANTINED: quarantined */,
    "error" TEXT NOT NULL,
    "attempts" INT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "image_id" INT REFERENCES "images" ("id") ON DELETE SET NULL,
    "move_id" INT NOT NULL REFERENCES "moves" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_move_items_move_id_ea1b0b" UNIQUE ("move_id", "image_id")
) /* A per-image error or quarantine entry of a move (successes are only counted). */;
CREATE TABLE IF NOT EXISTS "upload_sessions" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "token_id" VARCHAR(64) NOT NULL UNIQUE,
    "image_uuid" CHAR(36) NOT NULL UNIQUE,
    "filename" VARCHAR(255) NOT NULL,
    "content_type" VARCHAR(128) NOT NULL,
    "declared_size" BIGINT NOT NULL,
    "max_size" BIGINT NOT NULL,
    "expires_at" TIMESTAMP NOT NULL,
    "state" VARCHAR(16) NOT NULL /* OPEN: open\nUSED: used\nEXPIRED: expired */,
    "client_ip" VARCHAR(64) NOT NULL,
    "request_id" VARCHAR(64) NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "used_at" TIMESTAMP,
    "pool_id" INT NOT NULL REFERENCES "storage_pools" ("id") ON DELETE CASCADE,
    "user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
) /* One promised upload: the token's ``sid``; becomes an Image on completion. */;
CREATE INDEX IF NOT EXISTS "upload_sessions_expires_at" ON "upload_sessions" ("expires_at");
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSON NOT NULL
);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        """


MODELS_STATE = (
    "eJztXXlv4zYW/yqE/9kMkAaJc266WMBJPB1vPXbWR9ttXSi0xNhEZErVkWO7892XpCTrti"
    "VHViSVQDGNKT5K+r1H8l16/LO10hSkmkcdHU+0J0Ra1+DPFoErRP+IXTsELajr/hXWYMG5"
    "yjtDHUsW68ab4dy0DChb9MojVE1EmxRkygbWLayxu7Q6QEeGqRGoAk4GHjUDOD3M74FG1D"
    "eALROMv3S+a59fAGwC09IMpByx4RVNpuNjsnj3SDbBf9iIPvkCWUtk0PF++502Y6KgV2R6"
    "P/Un6REjVQnBgxU2AG+XrDedt/WI9Zl3ZA85l2RNtVfE76y/WUuNrHtjYrHWBSLIgBZiw1"
    "uGzcAitqq6yHr4OU/qd3EeMUCjoEdoqwxyRu08gN/WkqTBcCKNuxNJasXY4VEEcHWbZI0w"
    "VtJHNfnbL9gjfNc+Obs8uzq9OLuiXfhjrlsuvzm39oFxCDk8g0nrG78OLej04Bj7oPL/x2"
    "C9XUIjGVevfwRZ+shRZD0cN0HrNfjY+tJbBrgr+CqpiCysJf15cny8AcqfOqPbL53RAe31"
    "id1So9PNmYkD91Lbucbw9vHlM0RaQnOZB+UwVTFYf6wYh5C+OMsA9MVZKs7sUhhm3UCP+D"
    "UPxD5FE0W5nUWS2+mC3I4CLBuIgSFBKw7yHb1i4RVKBjpMGQFbcUmPvD/qCD19QWVItz13"
    "Tm2AftL72h1POl/v2e1WpvmHyvHrTLrsSpu3vkVaDy4ibFoPAn7uTb4A9hP8Ohx0ObyaaS"
    "0Mfke/3+TXFnsmaFuaRLQXCSqB6e+1eqiFuK5C05Jscye+R2kL4Lz7yFVhfE0Y7WGykdMG"
    "eqZ7zi58DlMKLleZy3Q6GlIuPTpAsV2ZrsNiXYA+zSyUx6dEdZrBFUf3MzV/8IL8iN44yD"
    "36RJDISXq0awJO3WFqBu43T3q8Vn82G/BlbdIFhYq+O31jZDnaWmd827nrtjjCcyg/vUBD"
    "kUJQsytaW4u0rPvGL63aq2gLJHDBwWFvwZ7ZRb23glw6Yha5c+FwkzmOWZdspng6nAnG8W"
    "90DdBUbwZCqt39HrGX/2z5r9fSXsga2oDixUjQK1V5TZM+wxqJtWXNH15yiF0y/nauVLY4"
    "OX0r/oOvKIF7Bh6Q/pvtVgGalJsIN0CZbgDbToJ1Ou3dpWwLdiKyrPmIUdXOQN2AHjeWTp"
    "1tO7gh8/cMW0nmUjOsxA023RAN0jTO0j+5yGKIRlWigCF6EbP02RqYA16vfwOt/Pb5eQZ0"
    "aa9UePm1ML6agReYQJWOSW+U0zuYSFwe8q1WfXE38X8ToL7Bi9S9zaNokl7+93b79PSyfX"
    "x6cXV+dnl5fnW83unilzZteTe9H9iuF8Lf2waD6zVsn1/kW609igYuKMX7ZVc43wLi9Rfg"
    "ZgD3BStJe2HqgrHuX96KcVxpfdiHcknt82WC6ysVS59AgBlbVS364smzvkvsVcwHEl5gPe"
    "IS1Qbd0GRmr1KM8kHcuh8Nb7vjcW/wwzXwR5mRUbdz959rwCIDbzPyudPrd+/Yrala5MjS"
    "h+vRz9jEc6xi621XToVHKJNd9lzFcm5WTW/6vVvKJk49I9NBvzeeMLbYRMUmfcYZuR/1fu"
    "pMuoyX+NmVw49nFfNuIUWy9R2881Fa4Z+vsn9eRFnTJ1lzo6zuxrET36O0Yn5XeX4H3fMZ"
    "Fc0gSZMs/cK0zUAoISOkwYiKQHRrTJNLoAhqbgtqBidqclQzKrUFYDq26EK2QPfuaA2FNj"
    "BhQ8iO6II86t1ONgWMAxYPNDBkd47BfuNSfv5xhFTI3yIVcR4L/skZqkGQh7122jOSsIVW"
    "78TqKx2nR4eprdIRh2nv+QeeaKWlIQREb0s2ghQU+KKzEpw7OHPyiTKJC4pmrJxkg5xZC/"
    "kzCNbvJjIJKpZJsBaGjB5/r38DPf6nWbKwT9OzsE9jWdjuDMsBr0/RQICvMuB7lQrvlUgt"
    "ECHuxoe4axAkrPxuV7M4YY3wDKqRWRWxAInAVDjEyneIYS8d/J3Om3Vaec3gzeq2Cc5U4R"
    "ErFNr3eMT26cJgHp9WguuCtx9uclkwn1PGUgZ0MIohQM/IeANcyID2CDSCAIMFWBqARGOu"
    "CnBgoDlUqcDQ/odAYYjSvz7FaxoUM6QoblAtX0T9EpGoYJFd0pD6ncHASUJyR5iR0dRtMm"
    "y35b4zHbN8Fx2yz3Jn5LYzuO32eWaSzCBQVdZ6Nxx0r4FCZb+aiUuybZhaQjwqdbb4BCJV"
    "L6YrMnFBuXRFn0LAGYWTzZocWHrdBZBRIP0FJyOUPoEAM5aP+4R1PReaAQoBZxTO+ZuFTI"
    "npqwmQbvJmRggbg2zJHs05tOSllOxMTsc+RFQe9O3juoi1gehbsTRoaZ6SEp6MbJSucZ/7"
    "Ff/hjkjzTYe+uWm+1KA0duN6mFKk+FY5xfcRE2wud2JzhFTwucp8NjXbkHOGrkI0ItKSoI"
    "TQhW6BkitopKIaohGobo9fOWIoYi2eIG2JtYRmbUq0JS7DAt6M8Iam7zvSu8vNV64L2ntN"
    "WF7jlRLx87DcHPXzM80zVjH/zgnQIcPQDED/+8OGBiQWJrSNWMYbC91BwIYGB6Yt8+/jTA"
    "AN5BQnlzWbUL4mRAELHz0xddp5Zyfb2YuQR9OjRZxQxAmLXEda4UjejIx/7N3fswbX1Tsj"
    "/552Rp3BpDdgrb7QVyTqx6djnEUT9Joi+2uCBvijNtlN3V8mIZPJA/Hga+eXTyGzqT8c/O"
    "B1D4B+2x/eRMCGFl2R9aQvpVKXmiBJYxzbhZk1wuGXDnVzHX4fkdxaMY9P0RMpoDtlRDRA"
    "IXwD230DKzdR752mq5fvVzNws9qsAaHanthadrpwxZaAd2cL0wcAg2m//1E5rWNkWc4Lxo"
    "xc79LhJhvXdDpltXAJ0HTGXmp6PhFt/j0/TIuJAoBEAS57gIqp/YkJ0PErUh+1V4ne/4j1"
    "NxPM2kKGfEdy6xPKFVF2uzeuGHJRgeR0Q/YZqnbCUvOv8XCQDPWaIKpZYtkC/wOsLlp9l/"
    "EkmBkUm+2lqGkU0QvZAFF7ydaVHdX7MKVQ76ui3ieEAGNVMjze5UuXCVM1wDmxjzUupqB+"
    "0M7vBGAG9Ffi7h+4vFkDcDpSQVKyfuPSAS4RWFKpBQcPD+bxycMDmNnt4/bFpyPQo1u4bC"
    "AFEQtD1T9lE0ATwPXhm8wlneTnLnZw8d1LtfzZTM5ynkIRIGmc3lV8HQ6FmFLesxGCNI1b"
    "9vdSL8JfgXIfoJpAWuXwTGUyU5+RYboh8qxQB0gaJ9bFrxz8VEwTIbLriZoBWpEgWB3rIM"
    "H7b0pUw8NJ7tQbTVMRJClKTpAuwuL5HlOBvP25XLbeDIf9EEdvetEA5fTrTXd0cMJZSTth"
    "xysogmzNt8LTgmzVMg95fl66eeil7203D1mpgYzm4c/UzEJOoQKTO26vqV2mYAPJdKw3ap"
    "nx2gVMqT8EL9haco+vc/IB9/nauqpBBUxH/QR/cdGDC/OwYuZhTsulWKulQobhyfFxljyl"
    "4+P0RCV2LZLCzuBJRHd7LplHW6IirWoyVHNq063+8LbTvwacdkYGn8cU70dzRsan18A8jS"
    "4oWVhRcClHCyeVLM/IBJe2RCYsNSsvC74MJ9eA0s3Iz53R12tAt7PVjNwO+6yah6bulLZX"
    "dD1NA2tG4gFD6dUlAiTlpWuc1OYj3Tk0qZ6Qs05piKiBbpDzTMv4+YZl/Dy+jDv6jMSxs4"
    "2EymQb6sLGSRvnGdkL5rJCdgI8SifQzoK2o6ZLUMd58Y5TCsSzIF6FuEwc45j+XVvnqoEW"
    "OZ3XPkXjJLh4eF/yFj9++YDix/XR5WSoQ5nquhKvC5TgJd5QSihO25iPLkquJsRKIe7CgT"
    "CdQH839A1kIuMZ7cKAGGmZa8zl6eXZyVX7rFHMEBGrkiNWFDhXlU6rGbAN9xi5gD87/EsE"
    "VWspsQ947YTFJ11rjBGWqDza5IloL6QcHXI/Z1nbujS35acked/kxIoQNk5h30sOlQubbq"
    "BH/LoD3j6hwDtjzppIQvhLJCGID0CazPW0D0BypJ5EvgAt4tzZGvI/tTBRKO1UHM2b42he"
    "U9LsJFshZ6WrZkOEE/zAAqFQ5Mf0Tth9F1BTPtjYGatJiO0zdTAMWkLyYAzV9PTBBG5uTy"
    "AcsqONDG2FTeQl7NHXXiJgaU+I/M0EDw8mVh4evgdzJGsrVuGMgJ5zMBIBtEVXERsrnj1Y"
    "6MjbUwdDB0mjVx3T/V1yTqHedIp0BDQpQHlYzEnS02nvLkeeom1j5YjR7DKFtufUtf7xaB"
    "OZ4Qr4ndg/Z//cl6G1Qclzwk6O1hbUx/irb85b5AKUM34apGlc/mLx3/84RTiYcOQS6BBV"
    "uYL9MV+jbJXiYEFwyq+cGbdBGuF3yeR30YiFiCWlZ9+meF0idI1D+6SdJauT9kp34rZjmZ"
    "0KklVoICXlFJZNYbsYqQid7hatY1zOD3+Qqkn10EoGP6wu5nH4hSkb6PCrr4Mv7tetW2Hg"
    "lqajvKHB1vC+O7hmFcLIjDgHhDrHg3Z/ue+N2E9HZCtSCFhWMduvsZ5rlw8SNW6LL94McM"
    "/0ymlrhakEzFthFsHCdOjrGTbKFCw0d4sUmuJkqI9mbyalgX3Gna9GcYCiSTp5YZnSVPSN"
    "fIgGKASi26s+M7ji6OauUDx1h6kZuGkRoMNIheKAUG2v+qy7mZfvhPSvcQZUYAFMRvZjCn"
    "xweU4KzrlyviEmR3tki8SlYynKZlSrbAbjaV5HfpBGhJ+2GkRoBXGuL1HXBDuBWzEluIQw"
    "iQ5N80Wj62LegooxwgbWEdgL4uzjGGWVmI207Zsaj6zEbzrWLbX9qEN8xCTK7lVmeWmWE2"
    "un3GdWJIIn4bwzzbCj4wkbpoZikCknU+SIi6TViietdpCB5WUrwSB2rxxuMomh30fYxKXt"
    "QHu2ietSL7zeNgSbVDkQdrs3EN29FOx0UwDjCKcfmxUgEQdn5Tw4K4cWWfxm9u3/WmodBA"
    "=="
)
