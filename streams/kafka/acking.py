"""Iterate a faust stream so that a record is acknowledged only after the agent has finished with it.

faust acknowledges in ``finally`` blocks: ``Stream.__aiter__`` acks the
current event and ``take_events`` acks the whole batch when the generator is
closed, even when it is closed because the agent's body was cancelled or
raised. On a shutdown or rebalance that catches a batch mid-way (a classifier
call under way, a delivery being retried), the offsets of work never done
are committed and the posts are lost; a scale-out test found exactly that
under CPU pressure. These helpers read through ``stream.noack()`` and ack
only when the body has returned for the record, so an interrupted record
is read again by whoever owns the partition next (at-least-once; the stable
ids downstream absorb the repeat).

:func:`batches` reads in a task of its own, so faust's *current event* (which
decides the changelog partition a table write goes to) is not set in the
caller's task; :func:`current` sets it for one record of a batch while the
caller writes tables on that record's behalf.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

from faust.streams import _current_event  # faust 0.15.3 (pinned, see patches.VERSIONS): what current_event() reads


@contextmanager
def current(event: Any) -> Iterator[None]:
    """``event`` is faust's current event in this task while the body runs: table writes made in it go to the
    changelog partition ``event`` was read from, the partition whose owner holds those keys."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


async def each(stream: Any) -> AsyncIterator[Any]:
    """Events one at a time; an event is acked when the caller asks for the next one."""
    quiet = stream.noack()
    async for event in quiet.events():
        yield event
        await quiet.ack(event)


async def batches(stream: Any, max_: int, within: float) -> AsyncIterator[list[Any]]:
    """Lists of up to ``max_`` events, waiting at most ``within`` seconds to fill one; a batch is acked
    when the caller asks for the next one, never when it was interrupted."""
    quiet = stream.noack()
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=max_)

    async def pump() -> None:
        async for event in quiet.events():
            await queue.put(event)

    loop = asyncio.get_running_loop()
    task = loop.create_task(pump())
    try:
        while True:
            getter = loop.create_task(queue.get())
            done, _ = await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                task.result()  # the stream ended or failed: say so rather than wait forever
                return
            batch = [getter.result()]
            deadline = loop.time() + within
            while len(batch) < max_:
                try:
                    batch.append(queue.get_nowait())
                    continue
                except asyncio.QueueEmpty:
                    pass
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(queue.get(), remaining))
                except asyncio.TimeoutError:
                    break
            yield batch
            for event in batch:
                await quiet.ack(event)
    finally:
        task.cancel()
