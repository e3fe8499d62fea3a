"""``pot send --format NAME FILE|-`` and ``--dry-run``: native JSON lines mapped to posts.

With ``--dry-run`` the normalised posts are printed, one JSON object per line on standard output,
nothing is sent and no broker is needed; otherwise they go to the posts topic keyed by
``platform:id``, and every line that did not map goes to the dead-letter topic with its reason
(the native line kept whole, so it can be sent again once fixed). Either way, unmappable lines
are listed on standard error with their line numbers.
"""

from __future__ import annotations

from typing import IO, Any

from rich.console import Console
from rich.table import Table

from ..core.records import utcnow
from ..core.validation import parse_post
from ..platforms.intake import IntakeResult, map_document, native_dead_letter, read_lines
from ..platforms.metrics import INGESTED
from ..platforms.registry import canonical_platform

__all__ = ["dry_run", "read_plain", "report", "send"]


def read_plain(lines: list[bytes], max_post_bytes: int) -> IntakeResult:
    """Lines already in the wire contract, validated (``--dry-run`` without ``--format``)."""
    return read_lines(lines, lambda line: ([(parse_post(line, max_post_bytes), line)], [], []))


def report(result: IntakeResult, console: Console, sent: bool) -> None:
    verb = "sent" if sent else "would send"
    console.print(f"{verb} [bold]{len(result.posts)}[/bold] post(s); rejected {len(result.rejected)} line item(s); "
                  f"skipped {len(result.skipped)} (not posts)")
    if result.rejected:
        table = Table("line", "reason", title="rejected" + (" (also sent to the dead-letter topic)" if sent else ""))
        for r in result.rejected[:50]:
            table.add_row(str(r.line), f"{r.code}: {r.reason}")
        console.print(table)
        if len(result.rejected) > 50:
            console.print(f"... and {len(result.rejected) - 50} more")


def dry_run(fmt: str | None, source: IO[bytes], out: IO[str], console: Console, max_post_bytes: int) -> IntakeResult:
    data = source.read()
    result = map_document(fmt, data, max_post_bytes=max_post_bytes) if fmt else read_plain(data.splitlines(), max_post_bytes)
    for _, _, raw in result.posts:
        out.write(raw.decode("utf-8") + "\n")
    out.flush()
    report(result, console, sent=False)
    return result


def send(settings: Any, fmt: str, source: IO[bytes], name: str, console: Console) -> IntakeResult:
    """Map, then publish with kafka-python (acks=all), dead-lettering every rejected line."""
    from kafka import KafkaProducer

    result = map_document(fmt, source.read(), max_post_bytes=settings.max_post_bytes)
    from ..kafka.security import kafka_python_kwargs

    producer = KafkaProducer(**kafka_python_kwargs(settings), acks="all", linger_ms=5, client_id="pot-send")
    try:
        for _, post, raw in result.posts:
            producer.send(settings.topic("posts"), key=post.key.encode(), value=raw)
        for r in result.rejected:
            record = native_dead_letter(r, utcnow(), f"pot send --format {fmt} {name}:{r.line}")
            producer.send(settings.topic("dlq"), key=r.code.encode(), value=record.dumps())
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=5)
    platform = canonical_platform(fmt)
    INGESTED.labels(platform, "accepted").inc(len(result.posts))
    INGESTED.labels(platform, "rejected").inc(len(result.rejected))
    INGESTED.labels(platform, "skipped").inc(len(result.skipped))
    report(result, console, sent=True)
    return result
