"""``pot dlq list`` and ``pot dlq replay``: the dead-letter topic, read and sent back where each record came from.

Every record the pipeline could not handle is kept whole on the ``dlq`` topic
(:class:`streams.core.records.DeadLetter`: stage, reason, the raw bytes).
Once the cause is fixed (a receiver's credentials, a classifier, a policy),
``replay`` sends each chosen record back to the topic its stage reads:

======== ================ ==========================================
stage    replayed to      key
======== ================ ==========================================
validate ``posts``        none (intake validates again)
classify ``posts-normal`` ``platform:author`` (the lanes' key: author tables' partition), none when unreadable
route    ``classified``   ``platform:author`` (author tables' partition)
clock    ``actions``      the alert id
deliver  ``alerts`` or ``notices`` (by the record) the alert or notice id
======== ================ ==========================================

A native payload's dead letter (stage ``map`` or ``validate``; its source names the format:
``http /ingest/reddit:3``, ``pot send --format x a.json:2``, ``connector mastodon``) is not a post:
it is mapped again, with today's mappers and ``POT_MAX_POST_BYTES``, and the posts it makes go to
``posts`` keyed ``platform:id``; one that still does not map is refused with the reason.

Alert ids and delivery marks are stable, so a replayed alert is not sent
again to receivers that already had it.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..config import Settings
from ..core.validation import MAX_POST_BYTES
from ..platforms.intake import format_of_source, map_document
from .base import cli, client_settings, err
from .output import OUTPUT, WATCH, Output

__all__ = ["dlq_cli", "replay_records", "replay_target"]

out = Console(highlight=False, soft_wrap=True)
dlq_cli = typer.Typer(no_args_is_help=True, help="Dead letters: what the pipeline could not handle, and replaying it.")
cli.add_typer(dlq_cli, name="dlq")

BROKER = typer.Option(None, help="kafka://host:port; default: POT_BROKER or the local `pot run`'s broker. (POT_BROKER)")
STAGE = typer.Option(None, help="Only dead letters of this stage: map, validate, classify, route, clock, deliver.")
REASON = typer.Option(None, help="Only dead letters with this reason code (e.g. delivery_failed, too_large).")


def _raw(letter: dict[str, Any]) -> bytes:
    text = str(letter.get("raw", ""))
    return base64.b64decode(text) if letter.get("raw_encoding") == "base64" else text.encode("utf-8")


def _author_key(post: dict[str, Any]) -> str | None:
    """:attr:`streams.core.records.Post.author_key` of a post's JSON, ``None`` without an author id."""
    author = post.get("author") if isinstance(post.get("author"), dict) else {}
    return f"{post.get('platform')}:{author['id']}" if author.get("id") is not None else None


def replay_target(letter: dict[str, Any]) -> tuple[str, str | None] | None:
    """(topic name without prefix, key) a dead letter goes back to, or ``None`` when it cannot be replayed."""
    stage, raw = letter.get("stage"), _raw(letter)
    if stage == "validate":
        return "posts", None
    try:
        obj = json.loads(raw)
    except ValueError:
        obj = None
    if stage == "classify":
        return "posts-normal", _author_key(obj) if isinstance(obj, dict) else None
    if not isinstance(obj, dict):
        return None
    if stage == "route" and isinstance(obj.get("post"), dict):
        return "classified", _author_key(obj["post"])
    if stage == "clock" and obj.get("alert_id"):
        return "actions", str(obj["alert_id"])
    if stage == "deliver" and obj.get("notice_id"):
        return "notices", str(obj["notice_id"])
    if stage == "deliver" and obj.get("alert_id"):
        return "alerts", str(obj["alert_id"])
    return None


Replay = tuple[list[tuple[str, str | None, bytes]], str | None]
"""(topic without prefix, key, value) records to send, and why not (``None`` when it can be replayed)."""


def replay_records(letter: dict[str, Any], max_post_bytes: int = MAX_POST_BYTES) -> Replay:
    """What replaying one dead letter sends, as (topic without prefix, key, value) records, or why it cannot be
    replayed. A native payload is mapped again (sent to ``posts`` as it is, it would only fail validation)."""
    fmt = format_of_source(letter.get("source_topic"))
    if fmt is not None:
        result = map_document(fmt, _raw(letter), max_post_bytes=max_post_bytes)
        if result.rejected:
            first = result.rejected[0]
            return [], f"a {fmt} payload that still does not make a post ({first.stage}, {first.code}: {first.reason})"
        return [("posts", post.key, raw) for _, post, raw in result.posts], None
    target = replay_target(letter)
    if target is None:
        return [], f"stage {letter.get('stage')} record cannot be replayed"
    return [(target[0], target[1], _raw(letter))], None


def _letters(settings: Settings, follow: bool, stage: str | None, reason: str | None) -> Any:
    from ..kafka.readers import read_records
    from ..kafka.security import kafka_python_kwargs

    for record in read_records(kafka_python_kwargs(settings), settings.topic("dlq"), follow=follow):
        try:
            letter = json.loads(record.value or b"null")
        except ValueError:
            letter = None
        if not isinstance(letter, dict):
            letter = {"stage": "?", "reason_code": "unreadable", "reason": "not a dead-letter record", "raw": ""}
        if (stage and letter.get("stage") != stage) or (reason and letter.get("reason_code") != reason):
            continue
        yield {"id": f"{record.partition}:{record.offset}", **letter}


def _row(table: Table, letter: dict[str, Any]) -> None:
    table.add_row(letter["id"], str(letter.get("at", "")), str(letter.get("stage", "")), str(letter.get("reason_code", "")),
                  escape(str(letter.get("reason", ""))[:100]), escape(str(letter.get("raw", ""))[:60]))


@dlq_cli.command("list")
def dlq_list(
    stage: Optional[str] = STAGE,
    reason: Optional[str] = REASON,
    output: Output = OUTPUT,
    watch: bool = WATCH,
    broker: Optional[str] = BROKER,
) -> None:
    """The dead letters, oldest first (printed once; --watch keeps printing new ones)."""
    settings = client_settings(broker, None)
    letters = _letters(settings, watch, stage, reason)
    try:
        if output == Output.json:
            for letter in letters:
                out.print(json.dumps(letter, ensure_ascii=False), markup=False, highlight=False)
            return
        if watch:
            for letter in letters:
                table = Table("id", "at", "stage", "reason", "why", "record", show_header=False, box=None)
                _row(table, letter)
                out.print(table)
            return
        table = Table("id", "at", "stage", "reason", "why", "record", title="dead letters")
        for letter in letters:
            _row(table, letter)
        out.print(table)
    except KeyboardInterrupt:
        pass
    except TimeoutError as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(3) from None


@dlq_cli.command("replay")
def dlq_replay(
    ids: Optional[list[str]] = typer.Argument(None, help="partition:offset ids from `pot dlq list`; none: every match."),
    stage: Optional[str] = STAGE,
    reason: Optional[str] = REASON,
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be replayed, send nothing."),
    broker: Optional[str] = BROKER,
) -> None:
    """Send dead letters back to the topic their stage reads; exits 1 if any could not be replayed."""
    from kafka import KafkaProducer

    from ..kafka.security import kafka_python_kwargs

    if not ids and not stage and not reason:
        err.print("[red]name ids, --stage or --reason:[/red] replaying every dead letter at once is rarely meant")
        raise typer.Exit(2)
    settings = client_settings(broker, None)
    chosen = [letter for letter in _letters(settings, False, stage, reason) if not ids or letter["id"] in ids]
    missing = sorted(set(ids or []) - {letter["id"] for letter in chosen})
    producer = None if dry_run else KafkaProducer(**kafka_python_kwargs(settings), acks="all", client_id="pot-dlq-replay")
    sent, refused = 0, len(missing)
    for name in missing:
        err.print(f"[red]{escape(name)}:[/red] no such dead letter (or it does not match --stage/--reason)")
    try:
        for letter in chosen:
            records, why = replay_records(letter, settings.max_post_bytes)
            if why is not None:
                refused += 1
                err.print(f"[red]{letter['id']}:[/red] {escape(why)}")
                continue
            topics = ", ".join(sorted({settings.topic(topic) for topic, _, _ in records})) or "nothing (no post in it)"
            count = f" ({len(records)} record(s))" if len(records) != 1 else ""
            out.print(f"{letter['id']} → {topics}{count}" + (" (dry run)" if dry_run else ""))
            for topic, key, value in records:
                if producer is not None:
                    producer.send(settings.topic(topic), key=key.encode() if key else None, value=value).get(timeout=30)
            sent += 1
    finally:
        if producer is not None:
            producer.close(timeout=5)
    out.print(f"{'would replay' if dry_run else 'replayed'} {sent}; could not replay {refused}")
    raise typer.Exit(1 if refused else 0)
