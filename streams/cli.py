"""The ``pot`` command: run the monitor, feed it posts, try and train the classifier."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console

from .config import Settings

cli = typer.Typer(add_completion=False, no_args_is_help=True, help="points-of-truth: customer posts in, timely alerts out.")
err = Console(stderr=True, highlight=False)

BROKER_FILE = "broker.url"


def _settings(**overrides: Any) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except Exception as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None


def _client_settings(broker: str | None, data_dir: Path | None) -> Settings:
    """Settings for a command that talks to a running monitor's broker: the configured one, or the one
    a local ``pot run`` wrote down for its neighbours; exits plainly when there is neither."""
    settings = _settings(broker=broker, data_dir=data_dir)
    if not settings.broker:
        path = settings.data_dir / BROKER_FILE
        settings.broker = path.read_text().strip() if path.is_file() else None
    if not settings.broker:
        err.print("[red]no broker:[/red] pass --broker kafka://host:port, set POT_BROKER, or start `pot run` first")
        raise typer.Exit(2)
    return settings


def _load_classifier(name: str, role: str, in_process: bool) -> Any:
    """Load a classifier (in a child process when asked) or exit with a plain message."""
    from classifiers import create
    from classifiers.process import ClassifierProcess

    try:
        model = ClassifierProcess(name).load() if in_process else create(name).load()
    except Exception as exc:
        err.print(f"[red]cannot load {role} {name!r}:[/red] {exc}")
        raise typer.Exit(2) from None
    err.print(f"{role} [bold]{model.name}[/bold] {model.version} loaded")
    return model


def _sample_file() -> Path:
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

    from .app import SINGLE_PARTITION_TOPICS, TOPICS, create_app
    from .policy import PolicyError, PolicyHolder, policy_for_receivers
    from .broker import BrokerUnreachable, EmbeddedBroker, ensure_topics, wait_for_broker
    from .replay import replay_task
    from sinks.registry import build_receivers

    settings = _settings(
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
    replay_path = _sample_file() if replay == "sample" else (Path(replay) if replay else None)
    if replay_path is not None and not replay_path.is_file():
        err.print(f"[red]no such file to replay:[/red] {replay_path}")
        raise typer.Exit(2)

    with err.status(f"loading classifier {settings.classifier} (the first start builds the encoder, ~10 s)"):
        model = _load_classifier(settings.classifier, "classifier", settings.classify_in_process)
    shadow_model = None
    if settings.shadow_classifier:
        shadow_model = _load_classifier(settings.shadow_classifier, "shadow classifier", in_process=False)

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

    app = create_app(settings, model, sinks, shadow_model, holder)
    if replay_path is not None:
        app.task(replay_task(app, replay_path, replay_pace))
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

    settings = _client_settings(broker, data_dir)
    stream = sys.stdin.buffer if file == "-" else None
    path = None if file == "-" else Path(file)
    if path is not None and not path.is_file():
        err.print(f"[red]no such file:[/red] {path}")
        raise typer.Exit(2)
    summary = publish_lines(settings, path, stream, err)
    raise typer.Exit(1 if summary.rejected else 0)


@cli.command()
def classify(
    file: str = typer.Argument("-", help="JSONL with a `text` field, or plain lines; - for standard input."),
    classifier: Optional[str] = typer.Option(None, help="Classifier name (entry point).", envvar="POT_CLASSIFIER"),
    batch_size: int = typer.Option(32, min=1),
) -> None:
    """Print one JSON prediction per input line: the quickest way to try a model."""

    settings = _settings(classifier=classifier)
    if file != "-" and not Path(file).is_file():
        err.print(f"[red]no such file:[/red] {file}")
        raise typer.Exit(2)
    source = sys.stdin if file == "-" else open(file, encoding="utf-8")
    texts: list[str] = []
    for line in source:
        line = line.rstrip("\n")
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            texts.append(obj["text"] if isinstance(obj, dict) and isinstance(obj.get("text"), str) else line)
        except json.JSONDecodeError:
            texts.append(line)
    with err.status(f"loading {settings.classifier}"):
        model = _load_classifier(settings.classifier, "classifier", in_process=False)
    for start in range(0, len(texts), batch_size):
        chunk = texts[start : start + batch_size]
        for text, p in zip(chunk, model.predict(chunk)):
            out = {"text": text, "label": p.label, "confidence": round(p.confidence, 4),
                   "scores": {label: round(score, 4) for label, score in p.scores.items()},
                   "lang": p.lang, "model": model.name, "version": model.version}
            print(json.dumps(out, ensure_ascii=False), flush=True)


@cli.command("eval")
def evaluate(
    data: Optional[list[Path]] = typer.Argument(None, help="JSONL files (text, label, optional lang); none: the held-out sets."),
    classifier: Optional[str] = typer.Option(None, help="Classifier name (entry point).", envvar="POT_CLASSIFIER"),
    out_json: Path = typer.Option(Path("eval-report.json"), help="Where the JSON report goes."),
    out_png: Path = typer.Option(Path("eval-confusion.png"), help="Where the confusion-matrix picture goes."),
    real_dir: Optional[Path] = typer.Option(None, help="Real labelled posts for the default sets (default: ../shared/data/real when present)."),
    limit: Optional[int] = typer.Option(None, min=1, help="At most this many posts per set (a fixed sample, by text hash)."),
    batch_size: int = typer.Option(32, min=1),
) -> None:
    """Score a classifier: per-label and per-language F1, accuracy, calibration; JSON report and confusion PNG."""
    from rich.console import Console

    from classifiers import create
    from classifiers.datasets import default_real_dir
    from classifiers.eval_cli import evaluate_sets, load_sets, plot_confusions, print_report, write_json

    settings = _settings(classifier=classifier)
    missing = [str(p) for p in data or [] if not p.is_file()]
    if missing:
        err.print(f"[red]no such file:[/red] {', '.join(missing)}")
        raise typer.Exit(2)
    try:
        sets = load_sets(data or [], real_dir or default_real_dir(), limit)
    except (ValueError, KeyError) as exc:  # a bad label, a line that is not JSON or has no text
        from rich.markup import escape

        reason = str(exc) if isinstance(exc, ValueError) else f"a line has no {exc} field"
        err.print(f"[red]cannot read the data:[/red] {escape(reason)}")
        raise typer.Exit(2) from None
    with err.status(f"loading classifier {settings.classifier}"):
        try:
            model = create(settings.classifier).load()
        except Exception as exc:
            err.print(f"[red]cannot load classifier {settings.classifier!r}:[/red] {exc}")
            raise typer.Exit(2) from None
    result = evaluate_sets(model, sets, batch_size, err)
    print_report(result, Console(highlight=False))
    write_json(result, out_json)
    plot_confusions(result, out_png)
    err.print(f"wrote {out_json} and {out_png}")


@cli.command()
def train(
    out: Optional[Path] = typer.Option(None, help="Folder for head.npz and the model card (default: the shipped head)."),
    real_dir: Optional[Path] = typer.Option(None, help="Real labelled posts (default: ../shared/data/real when present)."),
    extra: list[Path] = typer.Option([], help="More JSONL training files (text, label, lang)."),
    force: bool = typer.Option(False, help="Overwrite the shipped head."),
    int8: bool = typer.Option(False, help="Train on int8-quantised embeddings (faster, but batch-dependent scores)."),
    lora: bool = typer.Option(False, help="Fine-tune a LoRA adapter on the encoder jointly with the head."),
    epochs: int = typer.Option(6, min=1, help="Epochs of LoRA fine-tuning."),
) -> None:
    """Train the classifier head (and optionally a LoRA adapter); writes head.npz, card.json and card.md."""
    from classifiers.datasets import default_real_dir
    from classifiers.e5_head import shipped_head_dir
    from classifiers.train import TrainConfig, train as run_training

    target = out or shipped_head_dir()
    if (target / "head.npz").exists() and target.resolve() == shipped_head_dir().resolve() and not force:
        err.print(f"[red]refusing to overwrite the shipped head at {target}[/red]; pass --out DIR, or --force")
        raise typer.Exit(2)
    real = real_dir or default_real_dir()
    if real is None:
        err.print("[yellow]no real data found (../shared/data/real): training on the project's own posts only[/yellow]")
    if lora:
        from classifiers.finetune import FinetuneConfig, finetune

        finetune(FinetuneConfig(out_dir=target, real_dir=real, extra_train=list(extra), epochs=epochs, quantize=int8), err)
    else:
        run_training(
            TrainConfig(
                out_dir=target, real_dir=real, extra_train=list(extra), quantize=int8, cache_dir=Path(".pot/cache")
            ),
            err,
        )
    from rich.markdown import Markdown

    err.print(Markdown((target / "card.md").read_text()))
    err.print(f"wrote {target}/head.npz, card.json, card.md")


corrections_cli = typer.Typer(no_args_is_help=True, help="Human label corrections.")
cli.add_typer(corrections_cli, name="corrections")


@corrections_cli.command("export")
def corrections_export(
    out: Path = typer.Argument(..., help="JSONL file to write (text, label, lang): feed it to `pot train --extra`."),
    broker: Optional[str] = typer.Option(None, envvar="POT_BROKER"),
    data_dir: Optional[Path] = typer.Option(None, envvar="POT_DATA_DIR"),
) -> None:
    """Read the corrections topic and write training examples; the latest correction of a post wins."""
    from .corrections import export_corrections

    settings = _client_settings(broker, data_dir)
    count = export_corrections(settings, out)
    err.print(f"wrote {count} corrected example(s) to {out}")


from .desk_cli import register as _register_desk  # noqa: E402

_register_desk(cli)

from .reports_cli import register as _register_reports  # noqa: E402

_register_reports(cli)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    cli()


if __name__ == "__main__":
    main()
