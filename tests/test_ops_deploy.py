"""The deployment files in deploy/, checked without a cluster or a Docker engine.

Parsed and checked for structure here: Prometheus rules and their unit tests, Grafana dashboards and
provisioning, Docker Compose, Kubernetes manifests. External validators run when they are on the PATH
and are skipped otherwise: ``docker compose config`` (needs the Compose plugin), ``check-jsonschema``
(Compose specification), ``kubectl kustomize``, ``kubernetes-validate``, ``amtool``. The promtool checks
and a real Prometheus are in tests/test_ops_prometheus.py.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
RULES = DEPLOY / "prometheus" / "rules.yml"
RULES_TEST = DEPLOY / "prometheus" / "rules_test.yml"
PROM_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
DASHBOARDS = DEPLOY / "grafana" / "dashboards"
PROVISIONING = DEPLOY / "grafana" / "provisioning"
COMPOSE_DIR = DEPLOY / "compose"
COMPOSE = COMPOSE_DIR / "docker-compose.yml"
COMPOSE_3 = COMPOSE_DIR / "docker-compose.kafka3.yml"
K8S = DEPLOY / "k8s"
JOB = "points-of-truth"


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_module(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def exported_metric_names() -> set[str]:
    """Every sample name the worker's /metrics can show, from streams/metrics.py's registry."""
    import streams.platforms.metrics  # noqa: F401  (intake and connector metrics, registered when the worker's API is)
    from streams.metrics import REGISTRY

    names: set[str] = set()
    for family in REGISTRY.collect():
        if family.type == "counter":
            names |= {f"{family.name}_total", f"{family.name}_created"}
        elif family.type == "histogram":
            names |= {f"{family.name}_{suffix}" for suffix in ("bucket", "sum", "count", "created")}
        else:
            names.add(family.name)
    return names


def metric_names_in(expr: str) -> set[str]:
    return set(re.findall(r"\b(pot_[a-z0-9_]+)\b", expr))


def rules() -> list[dict[str, Any]]:
    return [rule for group in load(RULES)["groups"] for rule in group["rules"]]


def dashboard_targets() -> list[tuple[str, str, str]]:
    """(dashboard file, panel title, expr) for every query of every panel."""
    out = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        for panel in json.loads(path.read_text(encoding="utf-8"))["panels"]:
            for target in panel.get("targets", []):
                out.append((path.name, panel["title"], target["expr"]))
    return out


def topics_of_the_app(name: str = "TOPICS") -> tuple[str, ...]:
    """streams.kafka.topics.TOPICS (or another tuple of topic names there), read without importing faust."""
    tree = ast.parse((ROOT / "streams" / "kafka" / "topics.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return tuple(ast.literal_eval(node.value))
    raise AssertionError(f"{name} not found in streams/kafka/topics.py")


def settings_env_names() -> set[str]:
    """POT_* variables the worker reads: every variable of the settings tree (streams/config.py)."""
    from streams.config import Settings
    from streams.config_check import variables

    return set(variables(Settings))


def interpolate(value: Any, shell: dict[str, str]) -> str:
    """Compose's ${VAR:-default} / ${VAR} interpolation of one value, with ``shell`` as the environment."""
    return re.sub(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}", lambda m: shell.get(m.group(1)) or (m.group(2) or ""), str(value))


def check_receivers(env: dict[str, str], tmp_path: Path) -> list[str]:
    """The receivers named in env, built by the worker's own registry: it raises when one is not configured."""
    from sinks.registry import build_sinks

    names = json.loads(env.get("POT_RECEIVERS", '["console", "jsonl"]'))
    return sorted(build_sinks(names, env, alerts_path=tmp_path / "alerts.jsonl"))


def run_tool(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, cwd=cwd, timeout=120)


# --------------------------------------------------------------------------- Prometheus rules


REQUIRED_ALERTS = {
    "PotWorkerDown": 'up{job="points-of-truth"} == 0',
    "PotDeadLetters": "increase(pot_dead_letters_total[10m])",
    "PotSinkFailing": 'rate(pot_deliveries_total{outcome="failed"}[5m])',
    "PotShadowDisagreementHigh": "pot_shadow_compared_total[1h]",
    "PotPostsRejectedSpike": "pot_posts_rejected_total",
    "PotNoPostsClassified": "pot_posts_classified_total[15m]",
    "PotConsumerLagGrowing": "deriv(pot_consumer_lag[10m])",
    "PotBreachRateHigh": 'pot_sla_steps_total{step="breach"}[1h]',
}


def test_alert_rules_cover_the_pipeline_and_tell_the_reader_what_to_do():
    by_name = {rule["alert"]: rule for rule in rules()}
    for name, fragment in REQUIRED_ALERTS.items():
        assert name in by_name, name
        assert fragment in " ".join(by_name[name]["expr"].split()), (name, by_name[name]["expr"])
    assert "> 0.2" in by_name["PotShadowDisagreementHigh"]["expr"]
    assert "pot_shadow_disagreements_total[1h]" in by_name["PotShadowDisagreementHigh"]["expr"]
    known = exported_metric_names()
    for rule in by_name.values():
        assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule["alert"]
        assert rule["annotations"]["summary"].strip(), rule["alert"]
        assert len(rule["annotations"]["description"].split()) >= 25, f"{rule['alert']}: say what to do"
        assert metric_names_in(rule["expr"]) <= known, (rule["alert"], metric_names_in(rule["expr"]) - known)


def test_every_rule_has_a_firing_and_a_quiet_unit_test():
    firing: set[str] = set()
    quiet: set[str] = set()
    suite = load(RULES_TEST)
    assert suite["rule_files"] == ["rules.yml"]
    for case in suite["tests"]:
        for check in case.get("alert_rule_test", []):
            (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in rules()}
    assert names <= firing, f"no firing case: {names - firing}"
    assert names <= quiet, f"no quiet case: {names - quiet}"


def test_prometheus_config_scrapes_the_workers_and_loads_the_rules():
    config = load(PROM_CONFIG)
    assert [(PROM_CONFIG.parent / f).resolve() for f in config["rule_files"]] == [RULES.resolve()]
    job = next(j for j in config["scrape_configs"] if j["job_name"] == JOB)
    assert job.get("metrics_path", "/metrics") == "/metrics"
    targets = [t for sc in job["static_configs"] for t in sc["targets"]]
    compose = load(COMPOSE)
    workers = sorted(name for name in compose["services"] if name.startswith("worker-"))
    assert sorted(targets) == [f"{w}:6066" for w in workers]
    alertmanagers = [t for am in config["alerting"]["alertmanagers"] for sc in am["static_configs"] for t in sc["targets"]]
    assert alertmanagers == ["alertmanager:9093"] and "alertmanager" in compose["services"]


def test_labelled_counters_read_by_rates_exist_from_start_up():
    from streams import metrics

    metrics.initialise(["console"], "e5-head")
    samples = [(s.name, s.labels) for family in metrics.REGISTRY.collect() for s in family.samples]
    alert_labels = {labels.get("label") for name, labels in samples if name == "pot_alerts_raised_total"}
    assert {"complaint", "question", "suggestion", "praise"} <= alert_labels
    assert any(name == "pot_shadow_disagreements_total" for name, _ in samples)


# --------------------------------------------------------------------------- Grafana


def test_dashboards_are_up_to_date_with_their_builder():
    builder = load_module(DEPLOY / "grafana" / "build_dashboards.py")
    rendered = builder.render()
    assert sorted(rendered) == sorted(p.name for p in DASHBOARDS.glob("*.json"))
    for name, text in rendered.items():
        assert (DASHBOARDS / name).read_text(encoding="utf-8") == text, f"{name}: run deploy/grafana/build_dashboards.py"


def test_dashboards_are_well_formed():
    uids = set()
    for path in sorted(DASHBOARDS.glob("*.json")):
        board = json.loads(path.read_text(encoding="utf-8"))
        assert board["uid"] not in uids and len(board["uid"]) <= 40
        uids.add(board["uid"])
        assert any(v["name"] == "datasource" and v["type"] == "datasource" for v in board["templating"]["list"])
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)), path.name
        for panel in board["panels"]:
            pos = panel["gridPos"]
            assert 0 <= pos["x"] and pos["x"] + pos["w"] <= 24 and pos["h"] > 0, (path.name, panel["title"])
            if panel["type"] == "row":
                continue
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert panel["targets"] and panel["description"], panel["title"]
            refs = [t["refId"] for t in panel["targets"]]
            assert len(refs) == len(set(refs))


def test_dashboards_use_only_exported_metrics_summed_over_workers():
    known = exported_metric_names()
    used: set[str] = set()
    for board, title, expr in dashboard_targets():
        names = metric_names_in(expr)
        assert names <= known, (board, title, names - known)
        used |= names
        if names:
            assert re.match(r"\s*(sum|count|histogram_quantile)\b", expr), f"{board} / {title}: aggregate over workers: {expr}"
        else:
            assert re.search(r'\bup\{job="points-of-truth"\}', expr), (board, title, expr)
    families = {re.sub(r"_(total|bucket|sum|count|created)$", "", n) for n in known}
    shown = {re.sub(r"_(total|bucket|sum|count|created)$", "", n) for n in used}
    assert families == shown, f"metrics on no dashboard: {families - shown}"


@pytest.mark.parametrize(
    ("board", "needles"),
    [
        ("pipeline-health.json", [
            "rate(pot_posts_received_total", "rate(pot_posts_classified_total", "pot_classify_batch_size_bucket",
            "pot_classify_duration_seconds_bucket", "pot_post_to_alert_seconds_bucket", "sum by (stage)",
            "sum by (reason)", "sum by (sink, outcome)", 'count(up{job="points-of-truth"} == 1)',
        ]),
        ("support-desk.json", [
            "sum by (label) (rate(pot_alerts_raised_total", "sum by (priority)", "pot_posts_not_alerted_total",
            "pot_posts_duplicate_total", "pot_shadow_disagreements_total", "sum by (label) (increase(pot_corrections_total",
        ]),
    ],
)
def test_dashboards_show_what_was_asked_for(board, needles):
    exprs = " ".join(expr for name, _, expr in dashboard_targets() if name == board)
    for needle in needles:
        assert needle in exprs, (board, needle)


def test_alert_descriptions_name_panels_that_exist():
    titles = {title for _, title, _ in dashboard_targets()}
    for rule in rules():
        for quoted in re.findall(r'"([^"]+)" panel|\(Pipeline health, "([^"]+)"\)', rule["annotations"]["description"]):
            title = next(q for q in quoted if q)
            assert any(t.lower() == title.lower() for t in titles), (rule["alert"], title)


def test_grafana_provisioning_matches_the_compose_mounts():
    datasource = load(PROVISIONING / "datasources" / "prometheus.yml")["datasources"][0]
    assert datasource["type"] == "prometheus" and datasource["url"] == "http://prometheus:9090"
    provider = load(PROVISIONING / "dashboards" / "dashboards.yml")["providers"][0]
    grafana = load(COMPOSE)["services"]["grafana"]
    mounts = {target: (COMPOSE_DIR / source).resolve() for source, target, *_ in (v.split(":") for v in grafana["volumes"]) if source.startswith(".")}
    assert mounts["/etc/grafana/provisioning"] == PROVISIONING.resolve()
    assert mounts[provider["options"]["path"]] == DASHBOARDS.resolve()


# --------------------------------------------------------------------------- Docker Compose


def workers(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in compose["services"].items() if svc.get("command", [])[:2] == ["pot", "run"]}


def test_compose_stack_has_every_service():
    compose = load(COMPOSE)
    services = compose["services"]
    assert {"kafka", "create-topics", "worker-1", "worker-2", "prometheus", "grafana", "mailpit", "alertmanager"} <= set(services)
    assert "zookeeper" not in COMPOSE.read_text()
    kafka = services["kafka"]["environment"]
    assert set(kafka["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}  # KRaft
    assert "kafka-broker-api-versions.sh" in " ".join(services["kafka"]["healthcheck"]["test"])
    for name, svc in services.items():
        for port in svc.get("ports", []):
            assert port.startswith("127.0.0.1:"), (name, port)
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (COMPOSE_DIR / source).exists(), (name, source)
            else:
                assert source in compose["volumes"], (name, source)


def test_compose_creates_the_topics_once():
    topics = load(COMPOSE)["services"]["create-topics"]
    script = topics["command"][0]
    assert "kafka-topics.sh" in script and "--create --if-not-exists" in script
    assert "--partitions" in script and "--replication-factor" in script
    loops = re.findall(r"for topic in ([a-z -]+); do", script)
    assert loops and tuple(loops[0].split()) == topics_of_the_app("TOPICS")
    assert len(loops) == 2 and tuple(loops[1].split()) == topics_of_the_app("SINGLE_PARTITION_TOPICS")
    assert re.search(r"for topic in silences digests; do\s+\S+ --bootstrap-server \S+ --create --if-not-exists \\\s+"
                     r"--topic \S+ --partitions 1 ", script)
    assert topics["environment"]["TOPIC_PREFIX"] == "pot."
    assert int(topics["environment"]["PARTITIONS"]) >= 2
    assert topics["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert topics["restart"] == "no"


def test_compose_runs_two_workers_against_kafka(tmp_path):
    compose = load(COMPOSE)
    found = workers(compose)
    assert sorted(found) == ["worker-1", "worker-2"]
    known_env = settings_env_names()
    for name, svc in found.items():
        command = svc["command"]
        assert command[command.index("--broker") + 1] == "kafka://kafka:9092", name
        env = svc["environment"]
        assert env["POT_WEB_HOST"] == "0.0.0.0" and env["POT_WEB_PORT"] == "6066"
        assert set(env) <= known_env, set(env) - known_env
        assert env["POT_API_TOKEN"] == "${POT_API_TOKEN:-}"  # from the operator's shell or .env, never inline
        assert env["POT_SMTP_HOST"] == "mailpit" and "mailpit" in svc["depends_on"]
        assert not any(re.search(r"PASSWORD|SECRET|TOKEN", k) and v and not str(v).startswith("${") for k, v in env.items())
        check = " ".join(svc["healthcheck"]["test"])
        assert re.search(r"127\.0\.0\.1:6066/(healthz|readyz)", check), check
        assert svc["depends_on"]["create-topics"]["condition"] == "service_completed_successfully"
        build = svc["build"]
        assert (COMPOSE_DIR / build["context"] / build["dockerfile"]).resolve() == (COMPOSE_DIR / "Dockerfile").resolve()
    ports = [svc["ports"][0].rsplit(":", 2)[1] for svc in found.values()]
    assert len(set(ports)) == 2


def test_compose_prometheus_and_grafana_get_their_config():
    services = load(COMPOSE)["services"]
    prom = services["prometheus"]
    mounts = {target: (COMPOSE_DIR / source).resolve() for source, target, *_ in (v.split(":") for v in prom["volumes"])
              if source.startswith(".")}
    assert mounts["/etc/prometheus"] == PROM_CONFIG.parent.resolve()
    assert "--config.file=/etc/prometheus/prometheus.yml" in prom["command"]
    assert (PROM_CONFIG.parent / "rules.yml").is_file()
    grafana = services["grafana"]
    assert any(v.split(":")[1] == "/etc/grafana/provisioning" for v in grafana["volumes"])
    mailpit = services["mailpit"]
    assert mailpit["image"].startswith("axllent/mailpit:")
    alertmanager = load(COMPOSE_DIR / "alertmanager.yml")
    assert alertmanager["global"]["smtp_smarthost"] == "mailpit:1025"


def test_three_broker_override_is_consistent():
    base, extra = load(COMPOSE), load(COMPOSE_3)
    nodes = {"kafka": base["services"]["kafka"], **{n: extra["services"][n] for n in ("kafka-2", "kafka-3")}}
    merged_env = {name: {**svc["environment"], **extra["services"].get(name, {}).get("environment", {})} for name, svc in nodes.items()}
    ids = sorted(int(env["KAFKA_NODE_ID"]) for env in merged_env.values())
    assert ids == [1, 2, 3]
    voters = {env["KAFKA_CONTROLLER_QUORUM_VOTERS"] for env in merged_env.values()}
    assert voters == {"1@kafka:9093,2@kafka-2:9093,3@kafka-3:9093"}
    assert len({env["CLUSTER_ID"] for env in merged_env.values()}) == 1
    for name, env in merged_env.items():
        assert env["KAFKA_ADVERTISED_LISTENERS"].startswith(f"PLAINTEXT://{name}:9092"), name
    assert extra["services"]["create-topics"]["environment"]["REPLICATION"] == "3"
    for name in ("worker-1", "worker-2"):
        command = extra["services"][name]["command"]
        assert command[command.index("--broker") + 1] == "kafka://kafka:9092,kafka-2:9092,kafka-3:9092"
        assert extra["services"][name]["environment"]["POT_REPLICATION"] == "3"


def test_dockerfile_installs_pinned_cpu_only_torch():
    text = (COMPOSE_DIR / "Dockerfile").read_text(encoding="utf-8")
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert re.search(r"^FROM python:3\.11-slim\s*$", code, re.M)
    assert "ARG TORCH_VERSION=2.13.0" in code
    assert "ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu" in code, "the CPU-only wheels by default"
    install = next(line for line in code.splitlines() if "torch==" in line)
    assert 'pip install "torch==${TORCH_VERSION}"' in install and '--index-url "$TORCH_INDEX_URL"' in install
    assert install.index("torch==") < code.index("pip install ."), "torch comes before the package, which would pull CUDA torch"
    urls = set(re.findall(r"[a-z]+://[^\s'\"]+", code)) - {"http://127.0.0.1:6066/healthz", "https://download.pytorch.org/whl/cpu"}
    assert not urls, urls
    assert re.search(r"^USER \d+", code, re.M), "runs as a non-root user"
    ignore = (COMPOSE_DIR / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    assert ignore[[i for i, line in enumerate(ignore) if not line.startswith("#")][0]] == "*"


def test_docker_compose_config_when_the_plugin_exists(tmp_path):
    if not shutil.which("docker"):
        pytest.skip("no docker client on the PATH")
    if run_tool("docker", "compose", "version").returncode != 0:
        pytest.skip("the docker client here has no Compose plugin ('docker compose' is an unknown command)")
    for files in (["-f", str(COMPOSE)], ["-f", str(COMPOSE), "-f", str(COMPOSE_3)]):
        result = run_tool("docker", "compose", *files, "config", "--quiet")
        assert result.returncode == 0, result.stderr


def test_compose_files_validate_against_the_compose_spec_schema():
    """The Compose Specification's JSON schema (tests/fixtures/schemas/compose-spec.json, as check-jsonschema vendors
    it): a misspelt key, a wrong type or an unknown service option fails here without a Docker engine."""
    import jsonschema

    schema = json.loads((ROOT / "tests" / "fixtures" / "schemas" / "compose-spec.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    for path in (COMPOSE, COMPOSE_3):
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(load(path))]
        assert not errors, f"{path.name}: {errors}"
    broken = load(COMPOSE)
    broken["services"]["worker-1"]["enviroment"] = {"POT_X": "1"}
    assert any("enviroment" in e.message for e in validator.iter_errors(broken)), "the schema catches a misspelt key"


def test_compose_workers_mount_a_policy_and_pass_every_receivers_variables(tmp_path):
    """With only the shell's credentials set, the workers build every receiver of the mounted policy, as
    `pot run` will; adding Slack to the policy needs no edit of the compose file."""
    from sinks.registry import build_receivers
    from streams.core.policy import load_policy, parse_policy

    compose, secret_types = load(COMPOSE), {"slack", "webhook", "pagerduty", "smtp"}
    known = settings_env_names()
    for name, svc in workers(compose).items():
        env = svc["environment"]
        mount = next(v for v in svc["volumes"] if v.split(":")[1] == "/etc/points-of-truth/policy.yaml")
        source, target, mode = mount.split(":")
        assert mode == "ro" and env["POT_POLICY_FILE"] == target
        policy = load_policy(COMPOSE_DIR / source)
        wanted = {v for v in known if v.split("_")[1].lower() in secret_types and re.search(r"TOKEN|SECRET|KEY|PASSWORD|URL", v)}
        wanted -= {"POT_SLACK_API_URL", "POT_PAGERDUTY_URL"}  # test doubles, not credentials
        assert wanted <= set(env), f"{name} does not pass {sorted(wanted - set(env))}"
        for variable in wanted:
            assert env[variable] == f"${{{variable}:-}}", f"{variable} comes from the shell or .env, never inline"
        shell = {"POT_SLACK_BOT_TOKEN": "xoxb-1", "POT_SLACK_SIGNING_SECRET": "s", "POT_SLACK_CHANNEL": "#desk"}
        worker_env = {k: interpolate(v, shell) for k, v in env.items()}
        assert sorted(build_receivers(policy.receivers, worker_env, alerts_path=tmp_path / "a")) == sorted(policy.receivers)
        slack_policy = parse_policy({"receivers": {"desk": {"type": "slack", "channel": "#desk"}}, "routes": {"receivers": ["desk"]}})
        assert list(build_receivers(slack_policy.receivers, worker_env, alerts_path=tmp_path / "a")) == ["desk"]


def test_deployment_maps_every_secret_the_example_policy_uses():
    """Each receiver type of deploy/policy.example.yaml has each of its secret variables mapped from the Secret."""
    from streams.config import Settings
    from streams.config_check import variables
    from streams.core.policy import load_policy

    sections = {"slack": ["slack"], "email": ["smtp"], "pagerduty": ["pagerduty"], "webhook": ["webhook"]}
    types = {spec.type for spec in load_policy(DEPLOY / "policy.example.yaml").receivers.values()}
    assert {"slack", "email", "pagerduty"} <= types
    secret = {name for name, (path, field) in variables(Settings).items()
              if "SecretStr" in str(field.annotation) and path[0] in {s for t in types for s in sections.get(t, [])}}
    assert {"POT_SLACK_SIGNING_SECRET", "POT_PAGERDUTY_ROUTING_KEY", "POT_SMTP_PASSWORD"} <= secret
    env = {var["name"]: var for var in one("Deployment")["spec"]["template"]["spec"]["containers"][0]["env"]}
    missing = sorted(name for name in secret | {"POT_KAFKA_SASL_PASSWORD"}
                     if "secretKeyRef" not in env.get(name, {}).get("valueFrom", {}))
    assert not missing, f"deployment.yaml does not map {missing} from the Secret"


def test_compose_files_match_the_compose_specification():
    tool = shutil.which("check-jsonschema")
    if not tool:
        pytest.skip("check-jsonschema is not on the PATH (pip install check-jsonschema)")
    result = run_tool(tool, "--builtin-schema", "vendor.compose-spec", str(COMPOSE), str(COMPOSE_3))
    assert result.returncode == 0, result.stdout + result.stderr


def test_alertmanager_config_with_amtool():
    tool = shutil.which("amtool")
    if not tool:
        pytest.skip("amtool is not on the PATH (Debian: prometheus-alertmanager)")
    result = run_tool(tool, "check-config", str(COMPOSE_DIR / "alertmanager.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------- Kubernetes

API_VERSIONS = {
    "Deployment": "apps/v1",
    "Service": "v1",
    "ConfigMap": "v1",
    "Secret": "v1",
    "PodDisruptionBudget": "policy/v1",
    "ServiceMonitor": "monitoring.coreos.com/v1",
    "PrometheusRule": "monitoring.coreos.com/v1",
}
PLACEHOLDER = re.compile(r"^(CHANGE[-_]?ME|<[^>]+>|REPLACE[-_A-Z]*)$")


def manifests() -> list[tuple[Path, dict[str, Any]]]:
    out = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc is not None:
                out.append((path, doc))
    return out


def one(kind: str, name: str = "points-of-truth") -> dict[str, Any]:
    found = [
        doc for path, doc in manifests()
        if doc["kind"] == kind and doc["metadata"]["name"] == name and not path.name.endswith(".example.yaml")
    ]
    assert len(found) == 1, kind
    return found[0]


def test_every_manifest_parses_with_a_known_kind():
    docs = manifests()
    assert {doc["kind"] for _, doc in docs} == set(API_VERSIONS)
    for path, doc in docs:
        assert doc["apiVersion"] == API_VERSIONS[doc["kind"]], (path.name, doc["kind"])
        assert doc["metadata"]["name"] == ("points-of-truth-policy" if path.name == "policy-configmap.yaml" else "points-of-truth"), path.name
    kustomization = load(K8S / "kustomization.yaml")
    listed = set(kustomization["resources"])
    shipped = {p.name for p, _ in docs if not p.name.endswith(".example.yaml")}
    assert listed == shipped
    assert not any(name.endswith(".example.yaml") for name in listed)


def test_no_secret_with_real_data_is_shipped():
    for path, doc in manifests():
        if doc["kind"] != "Secret":
            continue
        assert path.name.endswith(".example.yaml"), f"{path.name}: a Secret outside an example file"
        assert "data" not in doc, "the example uses stringData placeholders, never encoded values"
        for key, value in doc["stringData"].items():
            assert PLACEHOLDER.match(str(value)), f"{path.name}: {key} is not a placeholder"
    for key in one("ConfigMap")["data"]:
        assert not re.search(r"TOKEN|PASSWORD|SECRET|KEY", key), f"ConfigMap holds {key}: it belongs in the Secret"


def test_worker_deployment_probes_resources_and_secret_refs():
    deployment = one("Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["ports"] == [{"name": "http-metrics", "containerPort": 6066, "protocol": "TCP"}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http-metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http-metrics"}
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    resources = container["resources"]
    assert resources["requests"] == {"cpu": "1", "memory": "1.5Gi"}
    assert resources["limits"] == {"memory": "2Gi"}
    comments = " ".join(line.strip().lstrip("#").strip() for line in (K8S / "deployment.yaml").read_text().splitlines()
                        if line.strip().startswith("#"))
    assert "measured peak RSS" in comments and "1.43 GiB" in comments and "fp32 e5-small" in comments, "say where the memory figures come from"
    for source in container.get("envFrom", []):
        assert set(source) == {"configMapRef"}, "secrets come in one key at a time, through secretKeyRef"
    example = next(doc for path, doc in manifests() if doc["kind"] == "Secret")
    for var in container["env"]:
        assert "value" not in var or not re.search(r"TOKEN|PASSWORD|SECRET|URL", var["name"]), var["name"]
        if re.search(r"TOKEN|PASSWORD|SECRET|URL", var["name"]):
            ref = var["valueFrom"]["secretKeyRef"]
            assert ref["name"] == "points-of-truth" and ref["key"] in example["stringData"], var
            assert ref.get("optional", False) is (var["name"] != "POT_API_TOKEN"), var
        if "valueFrom" in var:
            assert set(var["valueFrom"]) <= {"secretKeyRef", "configMapKeyRef", "fieldRef", "resourceFieldRef"}
    assert any(var["name"] == "POT_API_TOKEN" for var in container["env"])
    assert set(example["stringData"]) == {var["valueFrom"]["secretKeyRef"]["key"] for var in container["env"]
                                          if "secretKeyRef" in var.get("valueFrom", {})}
    assert pod["securityContext"]["runAsNonRoot"] is True
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_configmap_holds_only_known_settings(tmp_path):
    data = one("ConfigMap")["data"]
    unknown = {k for k in data if k.startswith("POT_")} - settings_env_names()
    assert not unknown, unknown
    assert {k for k in data if not k.startswith("POT_")} == {"OMP_NUM_THREADS"}
    assert check_receivers(data, tmp_path) == ["console", "jsonl"]
    policy_file = Path(data["POT_POLICY_FILE"])
    deployment = one("Deployment")
    mount = next(m for m in deployment["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] if m["name"] == "policy")
    volume = next(v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == "policy")
    assert policy_file.parent == Path(mount["mountPath"]) and mount["readOnly"] is True
    assert volume["configMap"]["name"] == "points-of-truth-policy"
    from streams.core.policy import parse_policy
    from sinks.registry import build_receivers

    policy = parse_policy(yaml.safe_load(one("ConfigMap", "points-of-truth-policy")["data"][policy_file.name]))
    assert sorted(build_receivers(policy.receivers, data, alerts_path=tmp_path / "a.jsonl")) == ["audit", "console"]
    assert data["POT_WEB_HOST"] == "0.0.0.0" and data["POT_WEB_PORT"] == "6066"
    assert data["POT_BROKER"].startswith("kafka://")
    assert all(isinstance(v, str) for v in data.values())


def test_service_and_servicemonitor_point_at_the_workers():
    labels = one("Deployment")["spec"]["template"]["metadata"]["labels"]
    service = one("Service")
    assert service["metadata"]["name"] == JOB  # the job label under the Prometheus Operator
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"] == [{"name": "http-metrics", "port": 6066, "targetPort": "http-metrics", "protocol": "TCP"}]
    monitor = one("ServiceMonitor")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["endpoints"][0]["port"] == "http-metrics"
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    pdb = one("PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_prometheusrule_carries_the_same_rules():
    assert one("PrometheusRule")["spec"]["groups"] == load(RULES)["groups"]
    sync = load_module(K8S / "sync_rules.py")
    assert (K8S / "prometheusrule.yaml").read_text(encoding="utf-8") == sync.render(), "run deploy/k8s/sync_rules.py"


def test_kustomization_renders_offline():
    if not shutil.which("kubectl"):
        pytest.skip("kubectl is not on the PATH")
    result = run_tool("kubectl", "kustomize", str(K8S))
    assert result.returncode == 0, result.stderr
    kinds = sorted(doc["kind"] for doc in yaml.safe_load_all(result.stdout) if doc)
    assert kinds == sorted([*(set(API_VERSIONS) - {"Secret"}), "ConfigMap"])  # settings and policy


def test_manifests_match_the_kubernetes_schemas(tmp_path):
    tool = shutil.which("kubernetes-validate")
    if not tool:
        pytest.skip("kubernetes-validate is not on the PATH (pip install kubernetes-validate); kubeconform is not packaged here")
    files = [str(p) for p in sorted(K8S.glob("*.yaml")) if p.name != "kustomization.yaml"]
    result = run_tool(tool, "--strict", "--quiet", *files)
    assert result.returncode == 0, result.stdout + result.stderr
    # The CRDs have no schema there: only those may be reported as unknown.
    unknown = re.findall(r"Couldn't find schema for kind (\w+)", result.stdout + result.stderr)
    assert set(unknown) <= {"ServiceMonitor", "PrometheusRule"}, unknown
