"""The HTTP API's OpenAPI description (streams/api/openapi.py) is served, kept in docs/, and true: schemathesis
generates requests from it (bounded examples per operation) against a running worker, and every answer must be
documented, match its schema, and never be a server error. Also the request-rate limit on POST /posts."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import schemathesis
from schemathesis.checks import positive_data_acceptance
from hypothesis import HealthCheck, given, settings

from streams.api.openapi import spec
from tests.conftest import TOKEN, start_monitor, stop_monitor

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[1]
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def worker(tmp_path_factory):
    env = {"POT_CLASSIFIER": "tests.fakes:ByTag", "POT_CLASSIFY_IN_PROCESS": "false", "POT_PUBLISH_TIMEOUT_S": "5",
           "POT_HTTP_RATE_PER_S": "5", "POT_HTTP_BURST": "20", "POT_SLACK_SIGNING_SECRET": "fuzz-signing-secret-1"}
    monitor = start_monitor(tmp_path_factory.mktemp("openapi"), extra_env=env)
    yield monitor
    stop_monitor(monitor)


def test_the_description_in_docs_is_the_one_the_code_builds():
    on_disk = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
    assert on_disk == spec(), "regenerate: python -m streams.api.openapi > docs/openapi.json"


OPERATIONS = [f"{method.upper()} {path}" for path, item in spec()["paths"].items() for method in item]


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_answer_is_documented_and_none_is_a_server_error(operation, worker):
    # schemathesis's own pytest plugin (from_fixture) reads a pytest attribute that pytest 9 removed: drive it here
    served = httpx.get(f"{worker.web}/openapi.json", timeout=30).json()
    assert served == spec()
    schema = schemathesis.openapi.from_url(f"{worker.web}/openapi.json")
    method, path = operation.split(" ", 1)
    strategy = schema[path][method].as_strategy()

    @given(case=strategy)
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def fuzz(case):
        # every check but "schema-valid data is accepted": a schema cannot say that ends_at follows starts_at or
        # that created_at is within a day of now, and those requests are rightly refused
        case.call_and_validate(headers=AUTH, timeout=30, excluded_checks=[positive_data_acceptance])

    fuzz()


def test_post_posts_is_rate_limited_with_retry_after(worker):
    with httpx.Client(timeout=30) as client:
        answers = [client.post(f"{worker.web}/posts", json=[], headers=AUTH) for _ in range(40)]
    codes = [a.status_code for a in answers]
    assert 429 in codes and codes[0] in (400, 429), codes
    refused = next(a for a in answers if a.status_code == 429)
    assert int(refused.headers["Retry-After"]) >= 1 and "too many requests" in refused.json()["error"]
    assert httpx.get(f"{worker.web}/alerts", headers=AUTH, timeout=30).status_code == 200, "reads are not limited"
