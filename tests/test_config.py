"""One settings tree: errors name the variable and the form, `.env` works, `pot config` masks secrets and
names unknown POT_* variables, and nothing else in streams/ or sinks/ reads POT_* from the environment."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from sinks.registry import build_receivers
from streams.config import Settings
from streams.config_check import ConfigError, load, unknown_variables, variables
from streams.core.policy import load_policy

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def env(monkeypatch):
    for name in [k for k in os.environ if k.startswith("POT_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(ROOT / "tests")  # no .env there

    def set_(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
    return set_


def _errors() -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(Settings)
    return caught.value.lines


@pytest.mark.parametrize(("variable", "value", "expected"), [
    ("POT_WEB_PORT", "80a", "POT_WEB_PORT='80a' is not valid; expected a whole number (at least 0, at most 65535)"),
    ("POT_SMTP_PORT", "70000", "POT_SMTP_PORT='70000' is not valid; expected a whole number (at least 1, at most 65535)"),
    ("POT_KAFKA_SECURITY_PROTOCOL", "TLS", "POT_KAFKA_SECURITY_PROTOCOL='TLS' is not valid; expected one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"),
    ("POT_SMTP_TLS", "ssl", "POT_SMTP_TLS='ssl' is not valid; expected one of starttls, tls, none"),
    ("POT_CLASSIFY_IN_PROCESS", "maybe", "POT_CLASSIFY_IN_PROCESS='maybe' is not valid; expected true or false"),
    ("POT_RECEIVERS", "console,jsonl", 'POT_RECEIVERS is not valid JSON; expected a JSON list, e.g. ["console", "jsonl"]'),
    ("POT_BROKER", "http://k:9092", "POT_BROKER='http://k:9092' is not valid: broker must look like kafka://host:port"),
])
def test_errors_name_the_variable_and_the_form(env, variable, value, expected):
    env(**{variable: value})
    lines = _errors()
    assert lines[0].startswith(expected), lines
    assert not any("Input should" in line or "validation error" in line for line in lines)


def test_kafka_rules_name_the_missing_variables_and_never_the_password(env, tmp_path):
    env(POT_BROKER="k:9093", POT_KAFKA_SECURITY_PROTOCOL="SASL_SSL", POT_KAFKA_SASL_PASSWORD="s3cr3t-pw")
    lines = _errors()
    assert lines == ["POT_KAFKA_SECURITY_PROTOCOL=SASL_SSL needs POT_KAFKA_SASL_MECHANISM, POT_KAFKA_SASL_USERNAME"]
    env(POT_KAFKA_SASL_MECHANISM="scram-sha-512", POT_KAFKA_SASL_USERNAME="svc", POT_KAFKA_SSL_CAFILE=str(tmp_path / "no.pem"))
    assert _errors() == [f"POT_KAFKA_SSL_CAFILE: no such file: {tmp_path / 'no.pem'}"]
    (tmp_path / "ca.pem").write_text("x")
    env(POT_KAFKA_SSL_CAFILE=str(tmp_path / "ca.pem"))
    settings = load(Settings)
    assert settings.kafka.sasl_mechanism == "SCRAM-SHA-512" and "s3cr3t-pw" not in repr(settings)
    env(POT_KAFKA_SECURITY_PROTOCOL="PLAINTEXT")
    assert "set it to SASL_SSL" in _errors()[0]


def test_a_dotenv_file_is_read_and_the_environment_wins(env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("POT_PARTITIONS=7\nPOT_TOPIC_PREFIX=fromfile.\nPOT_SLACK_CHANNEL=#from-dotenv\n")
    env(POT_TOPIC_PREFIX="fromenv.")
    settings = load(Settings)
    assert (settings.partitions, settings.topic_prefix, settings.slack.channel) == (7, "fromenv.", "#from-dotenv")


def test_receivers_get_their_credentials_from_the_tree(env, tmp_path):
    env(POT_WEBHOOK_URL="https://hooks.example/in", POT_WEBHOOK_SECRET="k", POT_SMTP_HOST="mail.example",
        POT_EMAIL_FROM="pot@example.com", POT_EMAIL_TO="desk@example.com", POT_SMTP_TLS="TLS")
    settings = load(Settings)
    assert settings.receiver_settings().smtp.tls == "tls"
    (tmp_path / "p.yaml").write_text(
        "receivers:\n  hook: {type: webhook}\n  mail: {type: email}\nroutes:\n  receivers: [hook, mail]\n")
    sinks = build_receivers(load_policy(tmp_path / "p.yaml").receivers, settings.receiver_settings(), alerts_path=tmp_path / "a")
    assert sorted(sinks) == ["hook", "mail"] and sinks["mail"].recipients == ["desk@example.com"]


def _sample(field) -> str:
    """A valid value for a receiver setting, as a user would write it."""
    args = [arg for part in typing.get_args(field.annotation) for arg in typing.get_args(part)]
    annotation = next((a for a in typing.get_args(field.annotation) if a is not type(None)), field.annotation)
    if args:
        return str(args[0])
    return {int: "2525", float: "2.5"}.get(annotation, f"https://{id(field)}.example/v")


def test_each_receiver_has_one_model_shared_by_the_tree_and_the_sinks(env):
    """The receivers' settings are defined once, in sinks/settings.py: the tree's sections are those very classes,
    every variable a sink reads is the tree's at the same place, and what the tree hands the registry equals what
    the same variables give the sinks on their own. A second model of any receiver (a copy that drifts) fails here."""
    from sinks import settings as receivers

    for name, field in receivers.ReceiverSettings.model_fields.items():
        assert Settings.model_fields[name].annotation is field.annotation, f"settings.{name} is not sinks' own model"
        assert repr(Settings.model_fields[name].metadata) == repr(field.metadata)
        assert Settings.model_fields[name].get_default(call_default_factory=True) == field.get_default(call_default_factory=True)
    tree = {name: path for name, (path, _) in variables(Settings).items()}
    assert {name: tree.get(name) for name in receivers.variables()} == receivers.variables()
    fields = {name: field for name, (_, field) in variables(Settings).items()}
    values = {name: _sample(fields[name]) for name in receivers.variables()}
    env(**values)
    handed = load(Settings).receiver_settings()
    assert handed == receivers.ReceiverSettings.from_env(values)
    assert handed.slack.rate_per_s == 2.5 and handed.smtp.tls == "starttls" and handed.http_timeout_s == 2.5


def test_unknown_variables_come_with_the_likely_name():
    found = unknown_variables({"POT_SLACK_BOT_TOKN": "x", "POT_KAFKA_SASL_PASWORD": "x", "POT_WHATEVER": "1", "PATH": "/"}, Settings)
    assert found == [("POT_KAFKA_SASL_PASWORD", "POT_KAFKA_SASL_PASSWORD"), ("POT_SLACK_BOT_TOKN", "POT_SLACK_BOT_TOKEN"),
                     ("POT_WHATEVER", None)]


def _pot_config(tmp_path, *args: str, **values: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("POT_")}
    return subprocess.run([sys.executable, "-m", "streams.cli", "config", *args], capture_output=True, text=True,
                          env={**base, **values}, cwd=tmp_path, timeout=120)


def test_pot_config_masks_secrets_and_says_where_each_value_came_from(tmp_path):
    (tmp_path / ".env").write_text("POT_SLACK_BOT_TOKEN=xoxb-from-dotenv-123\n")
    result = _pot_config(tmp_path, "-o", "json", POT_KAFKA_SECURITY_PROTOCOL="SASL_SSL", POT_KAFKA_SASL_MECHANISM="PLAIN",
                         POT_KAFKA_SASL_USERNAME="key", POT_KAFKA_SASL_PASSWORD="hunter2-secret", POT_BROKER="k:9092")
    assert result.returncode == 0, result.stderr
    rows = {row["variable"]: row for row in json.loads(result.stdout)["settings"]}
    assert rows["POT_KAFKA_SASL_PASSWORD"]["value"] == "********" and rows["POT_SLACK_BOT_TOKEN"]["value"] == "********"
    assert rows["POT_SLACK_BOT_TOKEN"]["source"] == ".env" and rows["POT_BROKER"]["source"] == "environment"
    assert rows["POT_PARTITIONS"] == {"variable": "POT_PARTITIONS", "value": "4", "source": "default",
                                      "about": "Partitions of topics the monitor creates."}
    assert "hunter2" not in result.stdout + result.stderr and "xoxb-from" not in result.stdout + result.stderr
    assert set(rows) == set(variables(Settings))


def test_pot_config_exits_1_naming_an_unknown_variable_and_2_on_an_invalid_one(tmp_path):
    typo = _pot_config(tmp_path, POT_PAGERDUTY_ROUTINGKEY="abc")
    assert typo.returncode == 1
    assert "POT_PAGERDUTY_ROUTINGKEY is not a setting (did you mean POT_PAGERDUTY_ROUTING_KEY?)" in typo.stderr
    bad = _pot_config(tmp_path, POT_BATCH_SIZE="0")
    assert bad.returncode == 2 and "POT_BATCH_SIZE='0' is not valid" in bad.stderr


OWNED_ELSEWHERE = {"classifiers/hf_sequence.py", "classifiers/provision/resolve.py", "classifiers/e5_head.py"}
"""Classifier plugins read their own settings (POT_HF_*, POT_MODEL_CACHE, POT_E5_HEAD), so a new model needs no edit
of the core; the tree knows and lists them."""


def test_no_module_reads_pot_variables_from_the_environment_itself():
    readers = []
    for path in sorted([*ROOT.glob("streams/**/*.py"), *ROOT.glob("sinks/**/*.py"), *ROOT.glob("classifiers/**/*.py")]):
        text = path.read_text(encoding="utf-8")
        if re.search(r"os\.environ(\.get)?\(|os\.getenv\(|os\.environ\[", text) and "POT_" in text:
            readers.append(path.relative_to(ROOT).as_posix())
    assert set(readers) - OWNED_ELSEWHERE - {"streams/cli/base.py"} == set(), readers


def test_every_pot_variable_named_anywhere_is_a_setting():
    """A variable the docs, deploy files or code mention but the tree does not read would be silently ignored."""
    known = set(variables(Settings))
    named: dict[str, str] = {}
    files = [*ROOT.glob("streams/**/*.py"), *ROOT.glob("sinks/**/*.py"), *ROOT.glob("classifiers/**/*.py"),
             *ROOT.glob("deploy/**/*.y*ml"), *ROOT.glob("deploy/**/Dockerfile"), *ROOT.glob("docs/*.md"), ROOT / "README.md"]
    for path in files:
        for name in re.findall(r"\bPOT_[A-Z0-9_]*[A-Z0-9]\b", path.read_text(encoding="utf-8")):
            named.setdefault(name, path.relative_to(ROOT).as_posix())
    unknown = {name: where for name, where in named.items()
               if name not in known and name != "POT_BROKERS" and not any(k.startswith(name + "_") for k in known)}
    assert not unknown, f"named but not settings: {unknown}"


def test_the_configuration_page_lists_every_setting():
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert [name for name in variables(Settings) if f"`{name}`" not in page] == []
