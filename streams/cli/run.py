"""``pot run`` (the monitor: broker, topics, classifier, worker, web API) and ``pot send`` (publish posts)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from .base import BROKER_FILE, cli, client_settings, err, load_classifier, settings_or_exit

__all__ = ["run", "sample_file", "send"]


def sample_file() -> Path:
    from importlib.resources import files

    return Path(str(files("streams").joinpath("samples", "sample_posts.jsonl")))



@cli.command()
def run(
    broker: Optional[str] = typer.Option(None, help="kafka://host:port of a cluster; none starts the embedded broker.", envvar="POT_BROKER"),
    replay: Optional[str] = typer.Option(None, help="Replay a JSONL file of posts once the worker is up ('sample' = the shipped sample)."),
    replay_pace: float = typer.Option(0.25, help="Seconds between replayed posts."),
    web_port: Optional[int] = typer.Option(None, help="Port of the HTTP API and /metrics.", envvar="POT_WEB_PORT"),
    data_dir: Optional[Path] = typer.Option(None, help="Where the alert log and broker address go.", envvar="POT_DATA_DIR"),
    classifier: Optional[str] = typer.Option(None, help="Classifier name (entry point).", envvar="POT_CLASSIFIER"),
    shadow: Optional[str] = typer.Option(None, help="A candidate classifier to run beside the primary.", envvar="POT_SHADOW_CLASSIFIER"),
    policy: Optional[Path] = typer.Option(None, help="Routing policy YAML (see deploy/policy.example.yaml).", envvar="POT_POLICY_FILE"),
    log_level: str = typer.Option("warning", help="Log level of the worker."),
) -> None:
    """Start the monitor: broker (embedded unless one is given), topics, classifier, worker and web server."""
    import faust

    from classifiers.process import ClassifierProcess

    from sinks.registry import build_receivers

    from ..agents import create_worker
    from ..core.policy import PolicyError, PolicyHolder, policy_for_receivers
    from ..kafka.broker import BrokerUnreachable, EmbeddedBroker, ensure_topics, wait_for_broker
    from ..kafka.topics import SINGLE_PARTITION_TOPICS, TOPICS
    from .replay import replay_task

    settings = settings_or_exit(
        broker=broker, web_port=web_port, data_dir=data_dir, classifier=classifier, shadow_classifier=shadow,
        policy_file=policy,
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        holder = PolicyHolder(settings.policy_file, default=policy_for_receivers(settings.receivers, settings.windows_s, settings.uncertain_below))
    except PolicyError as exc:
        err.print(f"[red]policy error:[/red] {exc}")
        raise typer.Exit(2) from None
    try:
        sinks = build_receivers(holder.current.receivers, alerts_path=settings.alerts_path)
    except ValueError as exc:
        err.print(f"[red]receiver configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
    replay_path = sample_file() if replay == "sample" else (Path(replay) if replay else None)
    if replay_path is not None and not replay_path.is_file():
        err.print(f"[red]no such file to replay:[/red] {replay_path}")
        raise typer.Exit(2)

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
        else:
            wait_for_broker(settings.bootstrap_servers, settings.broker_wait_s)
        created = ensure_topics(settings.bootstrap_servers, [settings.topic(t) for t in TOPICS], settings.partitions, settings.replication)
        created += ensure_topics(settings.bootstrap_servers, [settings.topic(t) for t in SINGLE_PARTITION_TOPICS], 1, settings.replication)
        if created:
            err.print(f"created topics: {', '.join(created)}")
    except BrokerUnreachable as exc:
        err.print(f"[red]broker unreachable:[/red] {exc}")
        if embedded:
            embedded.stop()
        raise typer.Exit(3) from None

    runtime = create_worker(settings, model, sinks, shadow_model, holder)
    app = runtime.app
    if replay_path is not None:
        app.task(replay_task(runtime.topics.posts, replay_path, replay_pace))
    err.print(
        f"web API on http://{settings.web_host}:{settings.web_port} (POST /posts, /metrics); "
        f"alerts are logged to {settings.alerts_path}. Ctrl-C stops everything."
    )
    worker = faust.Worker(app, loglevel=log_level.upper(), redirect_stdouts=False, quiet=True)
    try:
        worker.execute_from_commandline()
    finally:
        if isinstance(model, ClassifierProcess):
            model.close()
        if embedded is not None:
            embedded.stop()
            broker_file.unlink(missing_ok=True)


@cli.command()
def send(
    file: str = typer.Argument(..., help="JSONL file of posts, or - for standard input."),
    broker: Optional[str] = typer.Option(None, help="kafka://host:port; default: the local `pot run`'s broker.", envvar="POT_BROKER"),
    data_dir: Optional[Path] = typer.Option(None, envvar="POT_DATA_DIR"),
) -> None:
    """Publish posts to the posts topic; invalid lines are reported with their line numbers (and dead-lettered)."""
    from .ingest import publish_lines

    settings = client_settings(broker, data_dir)
    stream = sys.stdin.buffer if file == "-" else None
    path = None if file == "-" else Path(file)
    if path is not None and not path.is_file():
        err.print(f"[red]no such file:[/red] {path}")
        raise typer.Exit(2)
    summary = publish_lines(settings, path, stream, err)
    raise typer.Exit(1 if summary.rejected else 0)
