"""Password hashing with argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile).

A hash costs about 0.15 s of CPU and 64 MiB: on the event loop it would stall
every other request for that long, so the app calls :func:`verify_in_thread`
and :func:`hash_in_thread`, which run it on hashing threads (argon2-cffi
releases the GIL while it hashes). Each hash already computes its four lanes
on threads of its own, so the pool is small: one hash per two cores. Twenty
parallel logins then wait their turn instead of asking for twenty times 64
MiB and crowding the event loop's thread off the CPU; on Linux the hashing
threads also run at a lower priority (nice 10, which the lane threads
inherit): under load a login waits a little longer, the other requests do not.
bench/login_latency.py measures it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
HASH_THREADS = max(1, min(4, (os.cpu_count() or 1) // 2))
HASH_NICE = 10


def _lower_priority() -> None:
    # Linux keeps a nice value per thread, and setpriority() takes a thread id
    # there; elsewhere the same call would renice a whole process, so only here.
    # (A sandbox may forbid it; hashing works all the same.)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_NICE)


_threads = ThreadPoolExecutor(
    max_workers=HASH_THREADS, thread_name_prefix="argon2", initializer=_lower_priority
)


@cache
def _dummy_hash() -> str:
    # Verified against when the username is unknown, so that a login for a missing
    # account costs as much time as one for an existing account. Made on first
    # use: hashing at import would slow every process start by a hash.
    return _hasher.hash("pixelfox-no-such-user")


def hash_password(password: str) -> str:
    """An argon2id hash (with its parameters and salt) to store in ``User.password_hash``."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; a missing or malformed hash never matches."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


async def verify_in_thread(password_hash: str | None, password: str) -> bool:
    """:func:`verify_password` on a hashing thread, so that the event loop keeps serving."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_threads, verify_password, password_hash, password)


async def hash_in_thread(password: str) -> str:
    """:func:`hash_password` on a hashing thread."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_threads, hash_password, password)
