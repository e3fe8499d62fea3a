"""The dedupe and author tables drop keys past their retention, and the drop survives a restart."""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone

import httpx
import pytest

from streams.kafka.broker import EmbeddedBroker
from tests.conftest import TOKEN, start_monitor, stop_monitor, wait_for

pytestmark = pytest.mark.e2e

AUTH = {"Authorization": f"Bearer {TOKEN}"}
POLICY = "keywords: []\nsurges: {enabled: false}\nreceivers: {audit: {type: jsonl}}\nroutes: {receivers: [audit]}\n"


def posts(prefix: str, n: int) -> list[dict]:
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return [{"id": f"{prefix}{i}", "platform": "x", "text": f"#question {prefix} number {i}",
             "author": {"id": f"{prefix}-author-{i}"}, "created_at": now} for i in range(n)]


def table_keys(web: str) -> dict[str, float]:
    text = httpx.get(f"{web}/metrics", timeout=10).text
    return {m.group(1): float(m.group(2)) for m in re.finditer(r'^pot_table_keys\{table="([^"]+)"\} (\S+)$', text, re.M)}


def test_old_keys_leave_the_tables_and_stay_gone_after_a_restart(tmp_path):
    broker = EmbeddedBroker(log_path=tmp_path / "broker.log").start(20)
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    offset = tmp_path / "offset"
    offset.write_text("0")
    env = {"POT_POLICY_FILE": str(policy), "POT_CLOCK_OFFSET_FILE": str(offset), "POT_CLASSIFIER": "tests.fakes:ByTag",
           "POT_CLASSIFY_IN_PROCESS": "false", "POT_DEDUPE_RETENTION_S": "86400"}
    data = tmp_path / "w"
    monitor = start_monitor(data, extra_env=env, args=["--broker", broker.url])
    try:
        assert httpx.post(f"{monitor.web}/posts", headers=AUTH, json=posts("old", 30)).status_code == 202
        wait_for(lambda: table_keys(monitor.web) == {"seen-posts": 30.0, "authors": 30.0}, "30 keys in each table", timeout=60)

        offset.write_text(str(31 * 86400))  # past the dedupe retention (1 day) and the history (30 days)
        assert httpx.post(f"{monitor.web}/posts", headers=AUTH, json=posts("new", 40)).status_code == 202
        wait_for(lambda: len(monitor.alerts()) == 70, "70 alerts", timeout=60)
        wait_for(lambda: table_keys(monitor.web) == {"seen-posts": 40.0, "authors": 40.0}, "only the new keys", timeout=60)

        stop_monitor(monitor)
        monitor = start_monitor(data, extra_env=env, args=["--broker", broker.url])
        # The 30 expired keys must not come back (their deletions are in the changelog), and the 40 live ones
        # must all be back, the changelog's last batch included (streams/kafka/patches.py, fault 5).
        seen: list[dict[str, float]] = []
        recovered = lambda: seen.append(table_keys(monitor.web)) or seen[-1] == {"seen-posts": 40.0, "authors": 40.0}  # noqa: E731
        try:
            wait_for(recovered, "the deletions recovered from the changelog", timeout=60)
            time.sleep(3)
            assert recovered(), "the tables changed after recovery"
        except AssertionError as error:
            raise AssertionError(f"{error}; the tables last held {seen[-1] if seen else 'nothing'}") from None
    finally:
        stop_monitor(monitor)
        broker.stop()
