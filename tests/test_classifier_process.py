"""A classifier run in its own process keeps the contract, reports failures, and survives its child dying."""

from __future__ import annotations

import os
import signal

import pytest

from classifiers.checks import check_classifier
from classifiers.process import ClassifierProcess


@pytest.fixture
def proxied():
    model = ClassifierProcess("tests.fakes:AlwaysOther")
    yield model
    model.close()


def test_keeps_the_contract_and_reports_the_child_model(proxied):
    check_classifier(proxied)
    assert (proxied.name, proxied.version) == ("always-other", "1")
    assert [p.label for p in proxied.predict(["a", "b"])] == ["other", "other"]


def test_a_dead_child_is_started_again(proxied):
    proxied.load()
    first = proxied.process_.pid
    os.kill(first, signal.SIGKILL)
    proxied.process_.join(5)
    assert proxied.predict(["still here?"])[0].label == "other"
    assert proxied.process_.pid != first


def test_failures_are_reported_not_hidden():
    flaky = ClassifierProcess("tests.fakes:FailsOnBoom").load()
    try:
        with pytest.raises(RuntimeError, match="tensor shape mismatch"):
            flaky.predict(["x", "boom"])
        assert flaky.predict(["fine"])[0].label == "other"
    finally:
        flaky.close()


def test_a_model_that_cannot_predict_fails_at_load_not_on_live_posts():
    with pytest.raises(RuntimeError, match="weights are corrupt"):
        ClassifierProcess("tests.fakes:Broken").load()


def test_an_unknown_classifier_fails_at_load():
    with pytest.raises(RuntimeError, match="cannot load classifier"):
        ClassifierProcess("no-such-model").load()
