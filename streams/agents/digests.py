"""The digest agent: digest entries batched per receiver, one notice per interval (:mod:`streams.core.digests`).

::

    digests (one partition) ──[digests]──► digest-buffers table, notices

The timer (:mod:`streams.agents.timer`) sends a ``flush`` record every
``POT_DIGEST_CHECK_S``; a buffer that is due then becomes one notice.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ..core import digests
from ..core.records import Notice, isoformat
from ..kafka.acking import each
from ..runtime import Runtime

__all__ = ["register"]


def register(rt: Runtime) -> None:
    buffers = rt.tables.digest_buffers

    @rt.app.agent(rt.topics.digests, name="digests")
    async def digest_agent(stream: Any) -> None:
        async for event in each(stream):
            item = event.value
            now = rt.now()
            if item.get("flush"):
                for receiver in list(buffers.keys()):
                    buffer = buffers.get(receiver)
                    if digests.is_due(buffer, now.timestamp()):
                        entries = buffer["entries"]
                        await rt.topics.notices.send(key=receiver, value=Notice(
                            notice_id=f"digest:{receiver}:{int(buffer['since'])}", kind="digest", receivers=[receiver],
                            at=isoformat(now), summary=digests.headline(entries, buffer.get("dropped", 0)),
                            detail={"entries": entries, "dropped": buffer.get("dropped", 0),
                                    "since": isoformat(datetime.fromtimestamp(buffer["since"], timezone.utc))},
                        ).dumps())
                        buffers[receiver] = None
                continue
            buffers[item["receiver"]] = digests.add(buffers.get(item["receiver"]), item["entry"], item["every_s"], now.timestamp())
