"""SIGKILL the worker three times while a few thousand posts stream through the real classifier.

Counted at receivers that record every request (tests/receivers.py), not at
the JSONL log (which drops repeats itself): every alert raised reaches the
webhook, Slack and email receivers; Slack shows none twice (an interrupted
post is found again by its metadata); the webhook gets at most one repeat per
kill, each with the Idempotency-Key of the first delivery. The scenario is
tests/kill_scenario.py; bench/kill_bench.py runs it and prints the counts.
"""

from __future__ import annotations

import pytest

from tests import kill_scenario

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
KILLS = 3


def test_three_sigkills_lose_nothing_and_show_no_slack_message_twice(tmp_path):
    result = kill_scenario.run(tmp_path, posts=2400, kills=KILLS)
    print(result)
    assert result.unrouted == 0, f"{result.unrouted} posts never routed"
    assert result.alerts > 1000
    for name, counts in result.report.items():
        assert counts["lost"] == 0, f"{name} lost {counts['lost']} of {result.alerts} alerts: {result.report}"
        assert counts["extra"] == 0, f"{name} got alerts that were never raised: {result.report}"
    assert result.report["chat"]["duplicated"] == 0, f"Slack showed a message twice: {result.report}"
    assert result.report["hook"]["duplicated"] <= KILLS, f"webhook repeats over one per kill: {result.report}"
    for alert_id, keys in result.webhook_repeats:
        assert len(set(keys)) == 1 and keys[0] == f"{alert_id}:alert", (alert_id, keys)
