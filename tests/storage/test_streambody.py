"""Request bodies with backpressure: a streaming handler holds little, a whole-body read all."""

from __future__ import annotations

import asyncio

import pytest
from werkzeug.exceptions import RequestEntityTooLarge

from pixelfox_common.streambody import HIGH_WATER, StreamBody

CHUNK = b"x" * 65536


async def test_the_receiver_waits_while_a_streaming_handler_is_behind() -> None:
    body = StreamBody(None, None)
    for _ in range(HIGH_WATER // len(CHUNK)):
        body.append(CHUNK)

    waiting = asyncio.ensure_future(body.wait_for_room())
    await asyncio.sleep(0.01)
    assert not waiting.done()

    assert await body.__anext__() == CHUNK
    await asyncio.wait_for(waiting, 1)


async def test_chunks_come_out_as_they_went_in_and_the_body_ends() -> None:
    body = StreamBody(None, None)
    body.append(b"one")
    body.append(b"two")
    body.set_complete()

    assert [chunk async for chunk in body] == [b"one", b"two"]


async def test_a_whole_body_read_is_not_held_back_by_the_bound() -> None:
    body = StreamBody(None, None)
    for _ in range(2 * HIGH_WATER // len(CHUNK)):
        body.append(CHUNK)
    reader = asyncio.ensure_future(_whole(body))
    await asyncio.sleep(0)
    await asyncio.wait_for(body.wait_for_room(), 1)
    body.append(b"end")
    body.set_complete()

    assert len(await reader) == 2 * HIGH_WATER + 3


async def _whole(body: StreamBody) -> bytes:
    return await body


async def test_the_content_length_cap_still_applies_unless_lifted() -> None:
    capped = StreamBody(None, 10)
    capped.append(b"x" * 20)
    capped.set_complete()
    with pytest.raises(RequestEntityTooLarge):
        await capped

    lifted = StreamBody(None, 10)
    lifted.max_content_length = None
    lifted.append(b"x" * 20)
    lifted.set_complete()
    assert [chunk async for chunk in lifted] == [b"x" * 20]


async def test_a_declared_length_over_the_cap_is_refused_before_reading() -> None:
    body = StreamBody(10**9, 16 * 1024 * 1024)
    with pytest.raises(RequestEntityTooLarge):
        await body.__anext__()
