"""Logging in does not stall the app: argon2 runs on hashing threads, not on the event loop."""

from __future__ import annotations

import asyncio
import time

from pixelfox_app.auth.passwords import hash_password, verify_password
from tests.web.conftest import PASSWORD, Web

LOGINS = 4  # below the per-address limit of 10 a minute


async def _max_gap_while(work: asyncio.Future[object]) -> float:
    """The longest the event loop went without running a 1 ms ticker while ``work`` ran."""
    gap = 0.0
    last = time.perf_counter()
    while not work.done():
        await asyncio.sleep(0.001)
        now = time.perf_counter()
        gap = max(gap, now - last)
        last = now
    await work
    return gap


def _one_hash_seconds() -> float:
    stored = hash_password("x" * 12)
    started = time.perf_counter()
    verify_password(stored, "x" * 12)
    return time.perf_counter() - started


async def test_parallel_logins_leave_the_event_loop_free(web: Web):
    await web.user("ada")
    # What one verification costs on this machine now: a loop that ran them
    # itself would stand still at least that long, once per login.
    one_hash = min(_one_hash_seconds() for _ in range(2))

    async def login() -> int:
        # A browser each (no cookies yet, so no CSRF token needed).
        response = await web.app.test_client().post(
            "/api/v1/auth/login", json={"username": "ada", "password": PASSWORD}
        )
        return response.status_code

    logins = asyncio.gather(*(login() for _ in range(LOGINS)))
    gap = await _max_gap_while(logins)
    assert logins.result() == [200] * LOGINS
    # Generous for a loaded machine: the loop waits for the hashing threads'
    # results, never for a hash itself.
    assert gap < one_hash / 2, f"the loop stood still {gap:.3f} s; one hash takes {one_hash:.3f} s"
