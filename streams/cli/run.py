"""``pot run`` (the monitor: broker, topics, classifier, worker, web API, and the connectors named in
``POT_CONNECTORS``) and ``pot send`` (publish posts, or native payloads with ``--format``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from sinks.settings import SlackSettings

from .base import BROKER_FILE, cli, client_settings, err, exit_unless_readable, load_classifier, settings_or_exit
from .connect import check_connectors, start_connectors

__all__ = ["EMBEDDED_NOTICE", "run", "sample_file", "send", "slack_status"]

EMBEDDED_NOTICE = (
    "The embedded broker keeps everything in memory: stopping or restarting `pot run` loses queued posts, "
    "open alerts and their SLA clocks, silences, digests, dedupe and author history. For a durable setup set "
    "POT_BROKER to a Kafka cluster (deploy/compose/docker-compose.yml; docs/kafka.md)."
)


def sample_file() -> Path:
    from importlib.resources import files

    return Path(str(files("streams").joinpath("samples", "sample_posts.jsonl")))



def slack_status(web_host: str, has_api_token: bool, slack: SlackSettings) -> list[str]:
    """What ``pot run`` says at start about Slack's inbound path and about a web API reachable from elsewhere."""
    import ipaddress

    try:
        loopback = web_host == "localhost" or ipaddress.ip_address(web_host).is_loopback
    except ValueError:
        loopback = False
    lines: list[str] = []
    if slack.socket_mode:
        lines.append("Slack buttons: Socket Mode (POT_SLACK_APP_TOKEN); no public URL needed")
    if slack.signing_secret is not None:
        lines.append("Slack buttons: signed HTTP clicks on POST /slack/interactions (POT_SLACK_SIGNING_SECRET)")
    if not loopback:
        lines.append(
            f"[yellow]warning:[/yellow] the web API listens on {web_host}, beyond this machine: put it behind TLS "
            "(a reverse proxy) and expose only /slack/interactions if Slack is all that needs it"
            + ("" if has_api_token else "; POT_API_TOKEN is not set, so anyone who reaches it can post and acknowledge alerts")
        )
    return lines


@cli.command()
def run(
    broker: Optional[str] = typer.Option(
        None, help="kafka://host:port of a cluster; unset or `embedded` starts the in-memory embedded broker. (POT_BROKER)",
    ),
    replay: Optional[str] = typer.Option(None, help="Replay a JSONL file of posts once the worker is up ('sample' = the shipped sample)."),
    replay_pace: float = typer.Option(0.25, help="Seconds between replayed posts."),
    web_port: Optional[int] = typer.Option(None, help="Port of the HTTP API and /metrics. (POT_WEB_PORT)"),
    web_host: Optional[str] = typer.Option(
        None, help="Address the HTTP API listens on (default 127.0.0.1); 0.0.0.0 for Slack's interactivity URL. See docs/slack.md. (POT_WEB_HOST)",
    ),
    data_dir: Optional[Path] = typer.Option(None, help="Where the alert log and broker address go. (POT_DATA_DIR)"),
    classifier: Optional[str] = typer.Option(None, help="Classifier name (entry point). (POT_CLASSIFIER)"),
    shadow: Optional[str] = typer.Option(None, help="A candidate classifier to run beside the primary. (POT_SHADOW_CLASSIFIER)"),
    policy: Optional[Path] = typer.Option(None, help="Routing policy YAML (see deploy/policy.example.yaml). (POT_POLICY_FILE)"),
    log_level: str = typer.Option("warning", help="Log level of the worker: debug, info, warning or error."),
) -> None:
    """Start the monitor: broker (embedded unless one is given), topics, classifier, worker and web server."""
    import faust

    from classifiers.process import ClassifierProcess

    from sinks.registry import build_receivers

    from ..agents import create_worker
    from ..agents.timer import hold_sighup
    from ..core.policy import PolicyError, PolicyHolder, policy_for_receivers
    from ..kafka.broker import BrokerUnreachable, EmbeddedBroker, ensure_topics, wait_for_broker
    from ..kafka.security import describe, kafka_python_kwargs
    from ..kafka.topics import SINGLE_PARTITION_TOPICS, TOPICS
    from .replay import replay_task

    early_sighups = hold_sighup()
    settings = settings_or_exit(
        strict=True, broker=broker, web_port=web_port, web_host=web_host, data_dir=data_dir, classifier=classifier,
        shadow_classifier=shadow,
        policy_file=policy,
    )
    if settings.broker is None and settings.kafka.security_protocol != "PLAINTEXT":
        err.print(
            f"[red]configuration error:[/red] POT_KAFKA_SECURITY_PROTOCOL={settings.kafka.security_protocol} but POT_BROKER "
            "is unset; set POT_BROKER to your cluster (the embedded broker takes no TLS or SASL)"
        )
        raise typer.Exit(2)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        holder = PolicyHolder(settings.policy_file, default=policy_for_receivers(settings.receivers, settings.windows_s, settings.uncertain_below))
    except PolicyError as exc:
        err.print(f"[red]policy error:[/red] {exc}")
        raise typer.Exit(2) from None
    try:
        sinks = build_receivers(holder.current.receivers, settings.receiver_settings(), alerts_path=settings.alerts_path)
    except ValueError as exc:
        err.print(f"[red]receiver configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
    chosen_connectors = check_connectors()
    replay_path = sample_file() if replay == "sample" else (Path(replay) if replay else None)
    if replay_path is not None and not replay_path.is_file():
        err.print(f"[red]no such file to replay:[/red] {replay_path}")
        raise typer.Exit(2)

    if settings.broker is not None:  # a configured broker is checked before minutes go into loading models
        err.print(f"Kafka at [bold]{settings.broker}[/bold] ({describe(settings)})")
        try:
            wait_for_broker(settings.bootstrap_servers, settings.broker_wait_s, security=kafka_python_kwargs(settings))
        except BrokerUnreachable as exc:
            err.print(f"[red]broker unreachable (POT_BROKER={settings.broker}):[/red] {exc}")
            err.print("the embedded broker is used only when POT_BROKER is unset or `embedded`; nothing was started")
            raise typer.Exit(3) from None

    with err.status(f"loading classifier {settings.classifier} (the first start builds the encoder, ~10 s)"):
        model = load_classifier(settings.classifier, "classifier", settings.classify_in_process)
    shadow_model = None
    if settings.shadow_classifier:
        shadow_model = load_classifier(settings.shadow_classifier, "shadow classifier", in_process=False)

    embedded: EmbeddedBroker | None = None
    broker_file = settings.data_dir / BROKER_FILE
    try:
        if settings.broker is None:
            embedded = EmbeddedBroker(log_path=settings.data_dir / "broker.log").start(settings.broker_wait_s)
            settings.broker = embedded.url
            broker_file.write_text(embedded.url + "\n")
            err.print(f"embedded broker (tansu) on [bold]{embedded.bootstrap}[/bold]")
            err.print(f"[yellow]{EMBEDDED_NOTICE}[/yellow]")
        security = kafka_python_kwargs(settings)
        created = ensure_topics(settings.bootstrap_servers, [settings.topic(t) for t in TOPICS], settings.partitions, settings.replication, security)
        created += ensure_topics(settings.bootstrap_servers, [settings.topic(t) for t in SINGLE_PARTITION_TOPICS], 1, settings.replication, security)
        if created:
            err.print(f"created topics: {', '.join(created)}")
    except BrokerUnreachable as exc:
        where = "the embedded broker" if embedded else f"POT_BROKER={settings.broker}"
        err.print(f"[red]broker unreachable ({where}):[/red] {exc}")
        if embedded:
            embedded.stop()
        raise typer.Exit(3) from None

    runtime = create_worker(settings, model, sinks, shadow_model, holder)
    runtime.early_sighups = early_sighups
    runtime.connectors = start_connectors(settings, chosen_connectors)
    app = runtime.app
    if replay_path is not None:
        app.task(replay_task(runtime.topics.posts, replay_path, replay_pace))
    err.print(
        f"web API on http://{settings.web_host}:{settings.web_port} (POST /posts, /metrics); "
        f"alerts are logged to {settings.alerts_path}. Ctrl-C stops everything."
    )
    for line in slack_status(settings.web_host, settings.api_token is not None, settings.slack):
        err.print(line)
    worker = faust.Worker(app, loglevel=log_level.upper(), redirect_stdouts=False, quiet=True)
    try:
        worker.execute_from_commandline()
    finally:
        if runtime.connectors is not None:
            runtime.connectors.stop()
        if isinstance(model, ClassifierProcess):
            model.close()
        if embedded is not None:
            embedded.stop()
            broker_file.unlink(missing_ok=True)


@cli.command()
def send(
    file: str = typer.Argument(..., help="JSONL file of posts (or of native payloads with --format), or - for standard input."),
    format: Optional[str] = typer.Option(None, "--format", "-f", help="Native payloads of a platform: x, mastodon, bluesky, reddit, facebook, instagram, trustpilot, google."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the normalised posts as JSON lines on stdout; send nothing (no broker needed)."),
    broker: Optional[str] = typer.Option(None, help="kafka://host:port; default: the local `pot run`'s broker. (POT_BROKER)"),
    data_dir: Optional[Path] = typer.Option(None, help="Where a local `pot run` wrote its broker address. (POT_DATA_DIR)"),
) -> None:
    """Publish posts to the posts topic; invalid lines are reported with their line numbers (and dead-lettered)."""
    from ..platforms import UnknownFormat
    from ..platforms import get as get_format
    from . import native
    from .ingest import publish_lines

    if format is not None:
        try:
            get_format(format)
        except UnknownFormat as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
    path = None if file == "-" else Path(file)
    if path is not None:
        exit_unless_readable(path)
    if dry_run:
        with (open(path, "rb") if path is not None else sys.stdin.buffer) as source:
            result = native.dry_run(format, source, sys.stdout, err, settings_or_exit(data_dir=data_dir).max_post_bytes)
        raise typer.Exit(1 if result.rejected else 0)
    settings = client_settings(broker, data_dir)
    if format is not None:
        with (open(path, "rb") if path is not None else sys.stdin.buffer) as source:
            result = native.send(settings, format, source, str(path or "stdin"), err)
        raise typer.Exit(1 if result.rejected else 0)
    stream = sys.stdin.buffer if file == "-" else None
    summary = publish_lines(settings, path, stream, err)
    raise typer.Exit(1 if summary.rejected else 0)
