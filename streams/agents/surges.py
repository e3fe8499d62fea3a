"""The surge agent: complaint counts per scope against their baseline (:mod:`streams.core.surges`).

::

    surge-counts ──[surges]──► surge-state table, events, notices (once per episode)
"""

from __future__ import annotations

from typing import Any

from .. import metrics
from ..core import surges
from ..core.records import Notice, isoformat
from ..core.routing import match_routes
from ..kafka.acking import each
from ..runtime import Runtime

__all__ = ["register", "surge_labels"]


def surge_labels(scope: str) -> dict[str, Any]:
    """The labels a surge is routed by (``kind: surge`` routes), from its scope (``all``, ``brand:X``, ``keyword:Y``).

    >>> surge_labels("brand:acme")
    {'kind': 'surge', 'scope': 'brand', 'label': 'complaint', 'brand': 'acme'}
    """
    kind, _, name = scope.partition(":")
    labels: dict[str, Any] = {"kind": "surge", "scope": kind, "label": "complaint"}
    if kind == "brand":
        labels["brand"] = name
    if kind == "keyword":
        labels["keyword_class"] = {name}
    return labels


def register(rt: Runtime) -> None:
    state_table = rt.tables.surge_state

    @rt.app.agent(rt.topics.surge_counts, name="surges")
    async def surge_agent(stream: Any) -> None:
        async for event in each(stream):
            item = event.value
            policy = rt.holder.current
            config = policy.surges
            scope = item["scope"]
            state = surges.observe(state_table.get(scope) or surges.new_state(), item["at"], item["text"], config)
            state, surge = surges.check(state, rt.now().timestamp(), config)
            state_table[scope] = state
            if surge is None:
                continue
            metrics.SURGES.labels(scope.partition(":")[0]).inc()
            receivers = [r for route in match_routes(policy.routes, surge_labels(scope)) for r in route.receivers]
            now = rt.now()
            notice_id = f"surge:{scope}:{int(now.timestamp())}"
            await rt.emit(notice_id, "surge", {"scope": scope, "count": surge.count, "threshold": surge.threshold})
            await rt.topics.notices.send(key=scope, value=Notice(
                notice_id=notice_id, kind="surge", receivers=list(dict.fromkeys(receivers)), at=isoformat(now),
                summary=surge.summary(scope), detail={
                    "scope": scope, "count": surge.count, "baseline_mean": surge.baseline_mean,
                    "baseline_sd": surge.baseline_sd, "top_terms": surge.top_terms, "samples": surge.samples,
                },
            ).dumps())
