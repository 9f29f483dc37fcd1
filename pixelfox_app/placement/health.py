"""Whether a node may take uploads: its heartbeat, its upload API, and two healthy beats.

Kept per node in Redis (``RedisKeys.node_health``, a hash), written by two
parties: the app's heartbeat receiver (:func:`record_beat`) and the control
worker's reachability check (:func:`mark_down`). Both updates are Lua scripts,
so a beat and a failed check racing each other cannot lose a transition.

The rules:

- a node seen for the first time is **up** on its first healthy beat (there is
  no failure to be careful about);
- a node leaves placement when its beat is older than ``FRESH_SECONDS`` (read
  at placement time, nobody has to notice), or when its upload API fails a
  check (:func:`mark_down`);
- it comes back only after ``RECOVERY_BEATS`` healthy beats in a row. A beat is
  healthy when none of the node's pools is marked unreachable; an unhealthy
  beat starts the count again. A node whose beat was stale is counted as down
  when its next beat arrives, whatever its hash still said.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from pixelfox_protocol.internal import Heartbeat
from pixelfox_protocol.keys import HEARTBEAT_TTL, NODE_HEALTH_TTL, RedisKeys

# Beats come every 5 s: two missed beats plus slack, so a stopped node leaves
# placement within 15 s of its last beat even when that beat was late itself.
FRESH_SECONDS = 12.0
RECOVERY_BEATS = 2

_RECORD_BEAT = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local fresh = tonumber(ARGV[2])
local healthy = ARGV[3] == '1'
local needed = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])
local why = ARGV[6]
local h = redis.call('HMGET', key, 'state', 'good', 'last_beat')
local state, good, last = h[1], tonumber(h[2] or '0'), tonumber(h[3] or '0')
local reason = nil
if not state then
  if healthy then state = 'up' else state = 'down'; good = 0; reason = why end
else
  if state == 'up' and now - last > fresh then
    state = 'down'; good = 0; reason = 'heartbeat stopped'
  end
  if not healthy then
    state = 'down'; good = 0; reason = why
  elseif state ~= 'up' then
    good = good + 1
    if good >= needed then state = 'up'; good = 0; reason = '' end
  end
end
if state ~= h[1] then redis.call('HSET', key, 'since', ARGV[1]) end
redis.call('HSET', key, 'state', state, 'good', good, 'last_beat', ARGV[1])
if reason then redis.call('HSET', key, 'reason', reason) end
redis.call('EXPIRE', key, ttl)
return state
"""

_MARK_DOWN = """
local key = KEYS[1]
if redis.call('HGET', key, 'state') ~= 'down' then
  redis.call('HSET', key, 'since', ARGV[1])
end
redis.call('HSET', key, 'state', 'down', 'good', 0, 'reason', ARGV[2])
redis.call('EXPIRE', key, tonumber(ARGV[3]))
return 1
"""


@dataclass(frozen=True)
class NodeHealth:
    """A node's placement health as stored in Redis."""

    state: str  # "up" or "down"
    good_beats: int
    since: float | None
    reason: str

    @property
    def up(self) -> bool:
        return self.state == "up"

    @classmethod
    def parse(cls, raw: dict[bytes, bytes] | dict[str, str] | None) -> NodeHealth | None:
        if not raw:
            return None
        data = {_text(k): _text(v) for k, v in raw.items()}
        try:
            since = float(data["since"]) if data.get("since") else None
            return cls(
                data.get("state", "down"), int(data.get("good", 0)), since, data.get("reason", "")
            )
        except ValueError:
            return None


@dataclass(frozen=True)
class StoredBeat:
    """The latest heartbeat of a node and when the app received it.

    The one reader of ``RedisKeys.node_heartbeat``: placement and the admin
    screens both see a node's beat through :meth:`parse`.
    """

    heartbeat: Heartbeat
    received_at: float

    def age(self, now: float | None = None) -> float:
        return max(0.0, (now or time.time()) - self.received_at)

    @classmethod
    def parse(
        cls, raw: bytes | str | None, ttl: int | None = None, *, now: float | None = None
    ) -> StoredBeat | None:
        """The stored beat, or None (absent, not a heartbeat, or of unknown time).

        The receiver stores ``received_at``; a beat written without it (by hand,
        by an older app) is dated by its remaining ``ttl`` when the caller read it.
        """
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            beat = Heartbeat.model_validate(data)
        except ValueError:  # pydantic's ValidationError is a ValueError too
            return None
        received = _received_at(data)
        if received is None and ttl is not None and ttl >= 0:
            received = (time.time() if now is None else now) - (HEARTBEAT_TTL - ttl)
        return None if received is None else cls(beat, received)


def _received_at(data: dict[str, Any]) -> float | None:
    value = data.get("received_at") or data.get("at")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            return None
    return None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def reachability_failed(raw: bytes | str | None) -> str | None:
    """Why a pool's upload API check failed, or None (it answered, or was not checked)."""
    if raw is None:
        return None
    try:
        data: Any = json.loads(raw)
    except ValueError:
        return None if _text(raw).strip() not in ("0", "false") else "upload API did not answer"
    if isinstance(data, dict) and data.get("ok") is False:
        return str(data.get("error") or "upload API did not answer")
    if data is False or data == 0:
        return "upload API did not answer"
    return None


async def store_beat(
    redis: Redis,
    keys: RedisKeys,
    beat: Heartbeat,
    pool_ids: Iterable[int],
    *,
    now: float | None = None,
) -> str:
    """Keep ``beat`` as the node's latest and count it towards its health; returns the state.

    ``pool_ids``: the node's own pools (the ones whose reachability decides whether
    this beat is healthy and whose placed-bytes counters the beat settles).
    """
    now = time.time() if now is None else now
    pools = sorted(set(pool_ids))
    body = {"received_at": now, **beat.model_dump()}
    reach = await redis.mget([keys.pool_reachable(p) for p in pools]) if pools else []
    failures = [
        f"pool {p}: {why}"
        for p, raw in zip(pools, reach, strict=True)
        if (why := reachability_failed(raw))
    ]
    async with redis.pipeline(transaction=False) as pipe:
        pipe.set(keys.node_heartbeat(beat.node_id), json.dumps(body), ex=HEARTBEAT_TTL)
        # The beat's used bytes now include what was placed before it (near enough:
        # uploads still streaming are forgotten, and the next beat counts them).
        for pool_id in pools:
            pipe.delete(keys.pool_placed_bytes(pool_id))
        pipe.eval(
            _RECORD_BEAT,
            1,
            keys.node_health(beat.node_id),
            repr(now),
            repr(FRESH_SECONDS),
            "0" if failures else "1",
            str(RECOVERY_BEATS),
            str(NODE_HEALTH_TTL),
            "; ".join(failures)[:500],
        )
        results = await pipe.execute()
    return _text(results[-1])


async def mark_down(
    redis: Redis, keys: RedisKeys, node_id: str, reason: str, *, now: float | None = None
) -> None:
    """Take a node out of placement until it sends ``RECOVERY_BEATS`` healthy beats."""
    now = time.time() if now is None else now
    await redis.eval(  # type: ignore[misc]
        _MARK_DOWN, 1, keys.node_health(node_id), repr(now), reason[:500], str(NODE_HEALTH_TTL)
    )


async def read_nodes(
    redis: Redis, keys: RedisKeys, node_ids: Iterable[str]
) -> dict[str, tuple[StoredBeat | None, NodeHealth | None]]:
    """Latest beat and health of each node, in one round trip."""
    ids = sorted(set(node_ids))
    if not ids:
        return {}
    async with redis.pipeline(transaction=False) as pipe:
        for node_id in ids:
            pipe.get(keys.node_heartbeat(node_id))
            pipe.hgetall(keys.node_health(node_id))
        replies = await pipe.execute()
    return {
        node_id: (StoredBeat.parse(replies[2 * i]), NodeHealth.parse(replies[2 * i + 1]))
        for i, node_id in enumerate(ids)
    }
