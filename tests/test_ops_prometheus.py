"""The deploy/ monitoring on a real Prometheus scraping a real worker.

One worker (`pot run` on its embedded broker, the real classifier, plus a fake shadow classifier so
the shadow metrics have data) gets valid, invalid and duplicate posts and a correction; a real
`prometheus` process scrapes its /metrics every second and evaluates deploy/prometheus/rules.yml.
Then every query of every Grafana dashboard must return data through the HTTP query API, every rule
must evaluate without error, and the alerts that this traffic should trigger must be pending (and
the others quiet). promtool checks the rules, their unit tests and the compose Prometheus config.

Skipped when `prometheus` / `promtool` are not on the PATH (Debian: apt-get install prometheus).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from .conftest import TOKEN, Monitor, alive, free_port, start_monitor, stop_monitor

ROOT = Path(__file__).resolve().parents[1]
PROM_DIR = ROOT / "deploy" / "prometheus"
RULES = PROM_DIR / "rules.yml"
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

needs_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool is not on the PATH (Debian: apt-get install prometheus)"
)
needs_prometheus = pytest.mark.skipif(
    shutil.which("prometheus") is None or shutil.which("promtool") is None,
    reason="prometheus/promtool are not on the PATH (Debian: apt-get install prometheus)",
)

TEXTS = [
    "@skyjet my flight got cancelled and nobody at the desk can tell me anything. Worst service ever.",
    "Where is my refund? It has been three weeks and your chat keeps closing on me.",
    "My parcel arrived broken and the box was soaking wet. Very disappointed.",
    "How do I change the email address on my account?",
    "Do you deliver to Belgium, and how long does it take?",
    "Is the store on Main Street open on Sundays?",
    "Thank you so much to the support team, problem solved in five minutes!",
    "Love the new app update, checkout is so much faster now.",
    "It would be great if you added Apple Pay to the app.",
    "Please add a dark mode, my eyes would thank you.",
    "Charged twice for the same order and still no answer from billing. Fix this now.",
    "Can I return an item bought online in one of your shops?",
]


def post(i: int, text: str) -> dict:
    return {"id": f"ops-{i}", "platform": "twitter", "text": text, "created_at": "2026-11-23T09:00:00+00:00",
            "author": {"id": f"u-{i}"}, "lang": "en"}


VALID = [post(i, TEXTS[i % len(TEXTS)] + f" (#{i})") for i in range(24)]
INVALID = [{"id": f"bad-{i}", "text": "no author and no date"} for i in range(12)]


class Prometheus:
    def __init__(self, workdir: Path, target: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "900ms", "evaluation_interval": "1s"},
            "rule_files": [str(RULES)],
            "scrape_configs": [{"job_name": "points-of-truth", "static_configs": [{"targets": [target]}]}],
        }
        (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.log_path = workdir / "prometheus.log"
        self.process = subprocess.Popen(
            ["prometheus", f"--config.file={workdir / 'prometheus.yml'}", f"--storage.tsdb.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=open(self.log_path, "wb"), stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"prometheus exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise AssertionError(f"prometheus not ready:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def api(self, path: str, **params: str) -> dict:
        response = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=10)
        body = response.json()
        assert response.status_code == 200 and body["status"] == "success", (path, params, body)
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        data = self.api("query", query=expr)
        assert data["resultType"] in ("vector", "scalar"), (expr, data)
        return data["result"] if data["resultType"] == "vector" else [{"metric": {}, "value": data["result"]}]

    def value(self, expr: str) -> float:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else 0.0

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def wait_until(predicate, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[tuple[Monitor, Prometheus, float]]:
    """A worker with traffic, scraped by Prometheus; yields (monitor, prometheus, seconds of data)."""
    if shutil.which("prometheus") is None or shutil.which("promtool") is None:
        pytest.skip("prometheus/promtool are not on the PATH (Debian: apt-get install prometheus)")
    monitor = start_monitor(tmp_path_factory.mktemp("ops-monitor"), extra_env={"POT_SHADOW_CLASSIFIER": "tests.fakes:AlwaysOther"})
    prom = None
    try:
        prom = Prometheus(tmp_path_factory.mktemp("ops-prometheus"), monitor.web.removeprefix("http://"))
        started = time.monotonic()
        # The counters must be scraped at zero before the traffic, or increase() would see no change.
        wait_until(lambda: prom.query('up{job="points-of-truth"} == 1'), 30, "the first scrape")
        time.sleep(2)
        web = httpx.Client(base_url=monitor.web, headers=AUTH, timeout=30)
        routed = lambda: len(monitor.alerts()) + prom.value("sum(pot_posts_not_alerted_total)")  # noqa: E731
        compared = lambda: prom.value("sum(pot_shadow_compared_total)")  # noqa: E731
        # Two waves. pot_alerts_raised_total{label,priority} and pot_shadow_disagreements_total{primary_label,
        # shadow_label} are not created at start-up (streams/metrics.py initialise()), so a series is first
        # scraped already at its value and increase() cannot see its first increments. The first wave gives
        # every label its series; the second is what the rates and alerts below see.
        first, second = VALID[: len(TEXTS)], VALID[len(TEXTS) :]
        assert web.post("/posts", json=first).status_code == 202
        wait_until(lambda: routed() >= len(first) and compared() >= len(first), 120, "the first wave to be routed")
        time.sleep(2)
        assert web.post("/posts", json=second).status_code == 202
        assert web.post("/posts", json=INVALID).status_code == 400
        assert web.post("/posts", json=VALID[-1]).status_code == 202  # a duplicate
        correction = {"text": TEXTS[0], "right_label": "complaint", "wrong_label": "other"}
        assert web.post("/corrections", json=correction).status_code == 202
        wait_until(lambda: routed() >= len(VALID), 120, "every valid post to be routed")
        wait_until(lambda: prom.value("sum(pot_posts_duplicate_total)") >= 1, 60, "the duplicate to be counted")
        wait_until(lambda: compared() >= len(VALID) + 1, 60, "the shadow comparison")
        # Prometheus itself must hold the final counts (on a loaded machine its scrapes lag the worker)
        wait_until(lambda: prom.value('sum(pot_posts_received_total{source="kafka"})') >= len(VALID), 60,
                   "Prometheus to scrape every post read")
        time.sleep(4)  # a few more scrapes and rule evaluations on the final counts
        yield monitor, prom, time.monotonic() - started
    finally:
        if prom is not None:
            prom.stop()
        stop_monitor(monitor)


def dashboard_queries() -> list[tuple[str, str, str]]:
    out = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        for panel in json.loads(path.read_text(encoding="utf-8"))["panels"]:
            for target in panel.get("targets", []):
                out.append((path.stem, panel["title"], target["expr"]))
    return out


@needs_prometheus
@pytest.mark.e2e
def test_prometheus_scrapes_the_worker_and_loads_every_rule(stack):
    monitor, prom, _ = stack
    (target,) = prom.api("targets")["activeTargets"]
    assert target["health"] == "up" and target["labels"]["job"] == "points-of-truth", target
    groups = prom.api("rules")["groups"]
    expected = yaml.safe_load(RULES.read_text())["groups"]
    assert sorted(g["name"] for g in groups) == sorted(g["name"] for g in expected)
    for group in groups:
        assert group["file"] == str(RULES)
        for rule in group["rules"]:
            assert rule["type"] == "alerting"
            assert rule["health"] == "ok", (rule["name"], rule.get("lastError"))
    loaded = {rule["name"] for group in groups for rule in group["rules"]}
    assert loaded == {rule["alert"] for group in expected for rule in group["rules"]}


@needs_prometheus
@pytest.mark.e2e
def test_every_dashboard_query_returns_data(stack):
    _, prom, seconds = stack
    window = f"{int(seconds) + 5}s"  # the whole life of the series: every rate has several samples
    empty = []
    for board, title, expr in dashboard_queries():
        concrete = expr.replace("$__rate_interval", window).replace("$__range", window)
        if not prom.query(concrete):
            empty.append(f"{board} / {title}: {concrete}")
    assert not empty, "queries without data:\n" + "\n".join(empty)


@needs_prometheus
@pytest.mark.e2e
def test_dashboard_figures_reflect_the_traffic(stack):
    _, prom, seconds = stack
    window = f"{int(seconds) + 5}s"
    by_title = {(board, title): expr.replace("$__rate_interval", window).replace("$__range", window)
                for board, title, expr in dashboard_queries()}
    total = lambda key: sum(float(s["value"][1]) for s in prom.query(by_title[key]))  # noqa: E731
    assert total(("pipeline-health", "Workers up")) == 1
    assert total(("pipeline-health", "Workers down")) == 0
    assert total(("pipeline-health", "Posts read (range)")) >= len(VALID)
    assert total(("pipeline-health", "Posts classified (range)")) >= len(VALID)
    assert total(("pipeline-health", "Dead letters (range)")) >= len(INVALID)
    assert total(("pipeline-health", "Failed deliveries (range)")) == 0
    assert total(("support-desk", "Alerts raised (range) by priority")) >= 1  # second wave only: see stack()
    assert total(("support-desk", "Duplicates skipped (range)")) >= 1
    assert total(("support-desk", "Shadow disagreements")) >= 1
    assert total(("support-desk", "Corrections by label (range)")) >= 1


@needs_prometheus
@pytest.mark.e2e
def test_alerts_follow_the_traffic(stack):
    _, prom, _ = stack
    active = {}
    for alert in prom.api("alerts")["alerts"]:
        active.setdefault(alert["labels"]["alertname"], []).append(alert)
    # 12 invalid posts among 24 valid ones: dead letters and a rejection spike; the fake shadow says
    # "other" to every post, so it disagrees with every alert the real classifier raises.
    assert [a["labels"]["stage"] for a in active.get("PotDeadLetters", [])] == ["validate"]
    for name in ("PotDeadLetters", "PotPostsRejectedSpike", "PotShadowDisagreementHigh"):
        assert name in active, f"{name} should be pending: {sorted(active)}"
        assert all(a["state"] in ("pending", "firing") for a in active[name])
    for name in ("PotWorkerDown", "PotNoWorkerUp", "PotSinkFailing", "PotNoPostsClassified"):
        assert name not in active, active[name]


@needs_prometheus
@pytest.mark.e2e
def test_stopping_leaves_no_process(stack):
    monitor, prom, _ = stack
    prom.stop()
    children = stop_monitor(monitor)
    assert not alive(prom.process.pid)
    assert not alive(monitor.process.pid)
    assert not [pid for pid in children if alive(pid)], children


@needs_promtool
def test_promtool_checks_the_rules():
    result = subprocess.run(["promtool", "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_promtool_runs_the_rule_unit_tests():
    result = subprocess.run(["promtool", "test", "rules", str(PROM_DIR / "rules_test.yml")], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_promtool_checks_the_compose_prometheus_config():
    result = subprocess.run(["promtool", "check", "config", str(PROM_DIR / "prometheus.yml")], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_dashboard_queries_parse(tmp_path):
    """Every dashboard query is valid PromQL (as a recording rule, promtool parses it offline)."""
    rules = [{"record": f"dashboard:query_{i}", "expr": expr.replace("$__rate_interval", "1m").replace("$__range", "1h")}
             for i, (_, _, expr) in enumerate(dashboard_queries())]
    path = tmp_path / "dashboard_queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
