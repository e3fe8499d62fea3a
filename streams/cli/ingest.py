"""``pot send``: publish JSONL posts with kafka-python, reporting every line it could not send."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..config import Settings
from ..core.records import utcnow
from ..core.steps import dead_letter
from ..core.validation import InvalidPost, parse_post


@dataclass
class Summary:
    sent: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)


def publish_lines(settings: Settings, path: Path | None, stream: BinaryIO | None, console: Console) -> Summary:
    """Validate each line locally, send the valid ones keyed by post, dead-letter the rest."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all", linger_ms=5, client_id="pot-send")
    summary = Summary()
    source = open(path, "rb") if path is not None else stream
    assert source is not None
    name = str(path) if path is not None else "stdin"
    try:
        lines = source.read().splitlines()
        with Progress(
            TextColumn("sending"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=True
        ) as progress:
            task = progress.add_task("send", total=len(lines))
            for number, line in enumerate(lines, start=1):
                progress.advance(task)
                if not line.strip():
                    continue
                try:
                    post = parse_post(line, settings.max_post_bytes)
                except InvalidPost as exc:
                    summary.rejected.append((number, exc.code, exc.reason))
                    record = dead_letter("validate", exc.code, exc.reason, line, utcnow(), f"pot send {name}:{number}")
                    producer.send(settings.topic("dlq"), key=exc.code.encode(), value=record.dumps())
                    continue
                producer.send(settings.topic("posts"), key=post.key.encode(), value=line)
                summary.sent += 1
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=5)
        if path is not None:
            source.close()
    console.print(f"sent [bold]{summary.sent}[/bold] post(s) to {settings.topic('posts')}; rejected {len(summary.rejected)}")
    if summary.rejected:
        table = Table("line", "reason", title="rejected (also sent to the dead-letter topic)")
        for number, code, reason in summary.rejected[:50]:
            table.add_row(str(number), f"{code}: {reason}")
        console.print(table)
        if len(summary.rejected) > 50:
            console.print(f"... and {len(summary.rejected) - 50} more")
    return summary
