"""`pot routes test` (amtool's `config routes test` for our policy) and the receivers part of `pot policy check`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streams.cli import cli

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = str(ROOT / "deploy" / "policy.example.yaml")
CREDENTIALS = {"POT_SLACK_BOT_TOKEN": "xoxb-routes-cli", "POT_SMTP_HOST": "smtp.example", "POT_EMAIL_FROM": "pot@example.com",
               "POT_EMAIL_TO": "desk@example.com", "POT_PAGERDUTY_ROUTING_KEY": "pd-routes-cli-key"}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in [*CREDENTIALS, "POT_SLACK_CHANNEL", "POT_SLACK_WEBHOOK_URL", "POT_POLICY_FILE", "POT_RECEIVERS"]:
        monkeypatch.delenv(name, raising=False)


def pot(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "200", **(env or {})})


def test_a_safety_complaint_reaches_incidents_at_p1_with_its_escalation() -> None:
    result = pot("routes", "test", EXAMPLE, "--text", "I got food poisoning from your burger", "--lang", "en", "-o", "json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert (answer["priority"], answer["window_s"]) == ("P1", 900)
    assert [r["route"] for r in answer["routes"]] == ["audit-everything", "safety-and-legal"]
    assert answer["receivers"] == ["audit", "incidents"] and answer["keyword_classes"] == ["safety"]
    assert answer["clock"]["route"] == "safety-and-legal" and answer["clock"]["remind_every_s"] == 600
    assert answer["clock"]["escalation"] == [{"after_s": 600, "receivers": ["oncall"]}, {"after_s": 1800, "receivers": ["leads"]}]


def test_the_table_names_routes_receivers_window_and_priority() -> None:
    result = pot("routes", "test", EXAMPLE, "--label", "question", "--text", "do you ship to Iasi?")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("P3 question, window 1 h")
    assert "route questions → desk" in result.output and "receivers now: audit, desk" in result.output
    assert "business hours support-office" in result.output


def test_reach_and_digests_show_up() -> None:
    big = pot("routes", "test", EXAMPLE, "--text", "my parcel is late", "--followers", "250000", "-o", "json")
    assert json.loads(big.output)["priority"] == "P1" and json.loads(big.output)["receivers"] == ["audit", "desk"]
    praise = json.loads(pot("routes", "test", EXAMPLE, "--label", "praise", "--text", "lovely staff", "-o", "json").output)
    assert praise["receivers"] == ["audit"] and praise["digests"] == {"leads": 14400}


def test_expect_makes_it_a_ci_check() -> None:
    args = ["routes", "test", EXAMPLE, "--text", "I got food poisoning", "--lang", "en"]
    assert pot(*args, "--expect", "audit", "--expect", "incidents").exit_code == 0
    wrong = pot(*args, "--expect", "audit,desk")
    assert wrong.exit_code == 1 and "expected audit, desk; reached audit, incidents" in wrong.output


def test_a_post_that_raises_nothing_says_so_and_bad_input_is_refused(tmp_path) -> None:
    quiet = pot("routes", "test", EXAMPLE, "--label", "other", "--text", "nice weather today")
    assert quiet.exit_code == 0 and "no alert" in quiet.output
    assert pot("routes", "test", EXAMPLE, "--label", "angry").exit_code == 2
    broken = tmp_path / "p.json"
    broken.write_text('{"id": "1", "text": "hi"}')
    refused = pot("routes", "test", EXAMPLE, "--post", str(broken))
    assert refused.exit_code == 2 and "missing field" in refused.output
    bad_policy = tmp_path / "bad.yaml"
    bad_policy.write_text("routes: {receivers: [slak]}\n")
    assert pot("routes", "test", str(bad_policy)).exit_code == 1


def test_policy_check_says_which_receivers_lack_credentials() -> None:
    result = pot("policy", "check", EXAMPLE)
    assert result.exit_code == 0, result.output
    lines = {line.split(":")[0].strip(): line for line in result.output.splitlines() if line.startswith("  ")}
    assert lines["console"].endswith("ready") and lines["audit"].endswith("ready")
    assert "lacks credentials: set POT_PAGERDUTY_ROUTING_KEY" in lines["oncall"]
    assert "lacks credentials: set POT_SLACK_BOT_TOKEN, or POT_SLACK_WEBHOOK_URL" in lines["desk"]
    assert "POT_SMTP_HOST, POT_EMAIL_FROM, POT_EMAIL_TO" in lines["leads"]
    assert pot("policy", "check", EXAMPLE, "--strict").exit_code == 1
    ready = pot("policy", "check", EXAMPLE, "--strict", env=CREDENTIALS)
    assert ready.exit_code == 0 and "lacks" not in ready.output
    assert "xoxb-routes-cli" not in ready.output and "pd-routes-cli-key" not in ready.output


def test_policy_check_refuses_a_slack_receiver_with_no_channel_anywhere(tmp_path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("receivers:\n  desk: {type: slack}\nroutes: {receivers: [desk]}\n")
    result = pot("policy", "check", str(policy), env={"POT_SLACK_BOT_TOKEN": "xoxb-x"})
    assert result.exit_code == 1 and "desk: slack: no channel: give it `channel:` (receivers.desk.channel)" in result.output
    assert pot("policy", "check", str(policy), env={"POT_SLACK_CHANNEL": "C0DEFAULT"}).exit_code == 0
