"""What a team installing the Slack app relies on: the manifest grants what the code calls, the settings keep
their secrets, and `pot run` says how clicks get in and warns when the web API is reachable from elsewhere."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from sinks.settings import ReceiverSettings, SlackSettings
from streams.cli.run import slack_status
from streams.config import Settings

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = yaml.safe_load((ROOT / "deploy" / "slack" / "manifest.yaml").read_text())
SCOPES = {"chat.postMessage": {"chat:write"}, "chat.update": {"chat:write"},
          "conversations.history": {"channels:history", "groups:history"}}
"""Web API method → the bot scopes it needs (docs.slack.dev/reference/methods)."""


def called_methods() -> set[str]:
    source = "\n".join(path.read_text() for path in sorted((ROOT / "sinks").glob("slack*.py")))
    return set(re.findall(r"""_call\(\s*["']([a-z]+\.[A-Za-z.]+)["']""", source)) | set(
        re.findall(r"""api_call\(\s*["']([a-z]+\.[A-Za-z.]+)["']""", source))


def test_the_manifest_grants_every_scope_the_code_needs_and_turns_on_buttons_over_socket_mode() -> None:
    methods = called_methods()
    assert {"chat.postMessage", "chat.update"} <= methods
    unknown = methods - set(SCOPES)
    assert not unknown, f"add the scopes of {unknown} to SCOPES here and to deploy/slack/manifest.yaml"
    granted = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    assert set().union(*(SCOPES[m] for m in methods)) <= granted
    settings = MANIFEST["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is True and "request_url" not in settings["interactivity"]
    assert MANIFEST["features"]["bot_user"]["display_name"]


def test_the_guide_covers_the_path_from_creating_the_app_to_the_first_alert() -> None:
    guide = (ROOT / "docs" / "slack.md").read_text()
    for step in ("deploy/slack/manifest.yaml", "POT_SLACK_BOT_TOKEN", "POT_SLACK_APP_TOKEN", "connections:write",
                 "POT_SLACK_SIGNING_SECRET", "/invite", "/slack/interactions", "POT_WEB_HOST", "channel:"):
        assert step in guide, f"docs/slack.md does not mention {step}"


def test_slack_secrets_are_masked_and_blank_values_are_unset(monkeypatch, tmp_path) -> None:
    env = {"POT_SLACK_BOT_TOKEN": "xoxb-setup-secret-1", "POT_SLACK_APP_TOKEN": "xapp-setup-secret-2",
           "POT_SLACK_SIGNING_SECRET": "signing-setup-secret-3", "POT_SLACK_CHANNEL": " ", "POT_SLACK_WEBHOOK_URL": ""}
    for name in [k for k in os.environ if k.startswith("POT_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no .env
    for settings in (Settings().slack, ReceiverSettings.from_env(env).slack):
        shown = repr(settings) + settings.model_dump_json() + str(settings.model_dump())
        assert not any(secret in shown for secret in ("xoxb-setup", "xapp-setup", "signing-setup"))
        assert settings.socket_mode and settings.channel is None and settings.webhook_url is None
    assert ReceiverSettings.from_env({}).slack.bot_token is None, "a given mapping is read alone, not mixed with the process's"


def test_pot_run_says_how_clicks_get_in() -> None:
    lines = slack_status("127.0.0.1", has_api_token=True, slack=SlackSettings(app_token="xapp-status-secret"))
    assert lines == ["Slack buttons: Socket Mode (POT_SLACK_APP_TOKEN); no public URL needed"]
    (line,) = slack_status("::1", has_api_token=False, slack=SlackSettings(signing_secret="signing-status-secret"))
    assert "POST /slack/interactions" in line and "secret" not in line.replace("POT_SLACK_SIGNING_SECRET", "")


@pytest.mark.parametrize(("host", "token", "warned"), [
    ("127.0.0.1", False, False), ("localhost", False, False), ("0.0.0.0", True, True), ("10.1.2.3", False, True),
    ("pot.internal", True, True),
])
def test_a_web_api_beyond_loopback_is_warned_about(host: str, token: bool, warned: bool) -> None:
    lines = slack_status(host, has_api_token=token, slack=SlackSettings())
    assert bool(lines) == warned
    if warned:
        assert f"listens on {host}" in lines[0] and "TLS" in lines[0]
        assert ("POT_API_TOKEN is not set" in lines[0]) == (not token)
