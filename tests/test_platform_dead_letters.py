"""Native payloads that do not become posts, on every way in (POST /ingest/{format}, pot send --format, a
connector): the dead-letter stage says where they failed (``map``: the mapper could not read the payload;
``validate``: it mapped, the post is invalid), POT_MAX_POST_BYTES applies as it does to plain posts, a payload
too big for the dead-letter topic is cut rather than crashing the sender, and ``pot dlq replay`` maps a
native payload again instead of sending it to a topic that expects posts."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import datetime, timezone

import kafka
from rich.console import Console

from streams.api.ingest import answer_status, dead_letter_rejected
from streams.cli import native
from streams.cli.dlq import replay_records
from streams.config import Settings
from streams.core.records import DeadLetter
from streams.platforms.config import XSettings
from streams.platforms.connectors.base import MemoryCursorStore, MemoryPublisher, Outlet
from streams.platforms.connectors.runner import build
from streams.platforms.intake import DEAD_LETTER_MAX_BYTES, map_document

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
LIMIT = 2_000
"""A POT_MAX_POST_BYTES for these tests: far below the 64 KiB default, so a default-sized check would let the
big tweet through."""


def tweet(tid: str, text: str, created_at: object = "2026-11-23T09:00:00Z") -> dict:
    return {"data": {"id": tid, "text": text, "author_id": "42", "created_at": created_at}}


BIG = tweet("big", "the seat was broken " * 500)  # about 10 kB of post: over LIMIT, under the default
WRONG_TYPE = tweet("epoch", "late again", created_at=1732352400)  # maps; the post's created_at is not a string
UNREADABLE = {"errors": [{"title": "ConnectionException"}]}  # not a tweet: the mapper cannot read it
GOOD = tweet("ok", "my bag is lost")


def lines(*payloads: dict) -> bytes:
    return b"".join(json.dumps(p).encode() + b"\n" for p in payloads)


def letters_of(records: list[bytes]) -> list[tuple[str, str]]:
    return [(d.stage, d.reason_code) for d in (DeadLetter.loads(r) for r in records)]


EXPECTED = [("validate", "too_large"), ("validate", "wrong_type"), ("map", "unknown_shape")]


def test_stage_and_size_limit_in_the_shared_intake():
    result = map_document("x", lines(GOOD, BIG, WRONG_TYPE, UNREADABLE), now=NOW, max_post_bytes=LIMIT)
    assert [p.key for _, p, _ in result.posts] == ["x:ok"]
    assert [(r.line, r.stage, r.code) for r in result.rejected] == [
        (2, "validate", "too_large"), (3, "validate", "wrong_type"), (4, "map", "unknown_shape")]
    assert f"over the {LIMIT}-byte limit" in result.rejected[0].reason
    assert not map_document("x", lines(BIG), now=NOW).rejected, "the default limit (64 KiB) still lets 10 kB through"


def test_http_ingest_dead_letters_with_the_stage_and_answers_413_for_posts_over_the_limit():
    class Rt:
        def __init__(self) -> None:
            self.letters: list[DeadLetter] = []

        def now(self) -> datetime:
            return NOW

        async def dead_letter(self, record: DeadLetter) -> None:
            self.letters.append(record)

    rt = Rt()
    result = map_document("x", lines(BIG, WRONG_TYPE, UNREADABLE), now=NOW, max_post_bytes=LIMIT)
    asyncio.run(dead_letter_rejected(rt, "x", result))  # type: ignore[arg-type]
    assert [(d.stage, d.reason_code) for d in rt.letters] == EXPECTED
    assert [d.source_topic for d in rt.letters] == ["http /ingest/x:1", "http /ingest/x:2", "http /ingest/x:3"]
    assert answer_status(map_document("x", lines(BIG), now=NOW, max_post_bytes=LIMIT)) == 413
    assert answer_status(map_document("x", lines(UNREADABLE), now=NOW)) == 400
    assert answer_status(map_document("x", lines(GOOD, BIG), now=NOW, max_post_bytes=LIMIT)) == 202


class FakeProducer:
    sent: list[tuple[str, bytes]] = []

    def __init__(self, **_: object) -> None:
        FakeProducer.sent = []

    def send(self, topic: str, key: bytes | None = None, value: bytes = b"") -> None:
        FakeProducer.sent.append((topic, value))

    def flush(self, timeout: float = 0) -> None:
        pass

    def close(self, timeout: float = 0) -> None:
        pass


def test_pot_send_format_uses_pot_max_post_bytes_and_dead_letters_with_the_stage(monkeypatch):
    monkeypatch.setattr(kafka, "KafkaProducer", FakeProducer)
    settings = Settings(max_post_bytes=LIMIT, broker="kafka://127.0.0.1:9")
    console = Console(file=io.StringIO(), width=200)
    result = native.send(settings, "x", io.BytesIO(lines(GOOD, BIG, WRONG_TYPE, UNREADABLE)), "page.jsonl", console)
    assert [p.key for _, p, _ in result.posts] == ["x:ok"]
    assert letters_of([v for t, v in FakeProducer.sent if t == "pot.dlq"]) == EXPECTED
    assert "too_large" in console.file.getvalue()  # type: ignore[attr-defined]

    out = io.StringIO()
    dry = native.dry_run("x", io.BytesIO(lines(GOOD, BIG)), out, Console(file=io.StringIO()), LIMIT)
    assert [r.code for r in dry.rejected] == ["too_large"] and json.loads(out.getvalue())["id"] == "ok"


def test_a_connector_uses_the_limit_and_the_stage():
    built = build("x", MemoryPublisher(), settings=XSettings(bearer_token="t", rules=["acme"]), max_post_bytes=LIMIT)
    assert built.outlet.max_post_bytes == LIMIT, "pot run / pot connect hand the connectors POT_MAX_POST_BYTES"
    asyncio.run(built.close())
    publisher = MemoryPublisher()
    outlet = Outlet("x", "x", publisher, MemoryCursorStore(), max_post_bytes=LIMIT)
    for payload in (GOOD, BIG, WRONG_TYPE, UNREADABLE):
        asyncio.run(outlet.emit(payload))
    assert [k for k, _ in publisher.records] == ["x:ok"]
    assert letters_of([r for _, r in publisher.dead]) == EXPECTED


def test_a_payload_too_big_for_the_dead_letter_topic_is_cut_not_fatal():
    page = {"data": [tweet(str(i), "x" * 1_000)["data"] for i in range(1_200)] + [BIG["data"]]}  # ~1.3 MB
    publisher = MemoryPublisher()
    asyncio.run(Outlet("x", "x", publisher, MemoryCursorStore(), max_post_bytes=LIMIT).emit(page))
    assert len(publisher.records) == 1_200
    (code, record), = publisher.dead
    assert code == "too_large" and len(record) < DEAD_LETTER_MAX_BYTES
    letter = DeadLetter.loads(record)
    assert "only its first" in letter.reason and letter.stage == "validate"


def test_replay_maps_a_native_payload_again():
    def letter(stage: str, raw: dict, source: str) -> dict:
        return {"stage": stage, "raw": json.dumps(raw), "source_topic": source}

    # the limit was raised since: the big tweet now makes a post, keyed like any other
    records, why = replay_records(letter("validate", BIG, "pot send --format twitter page.jsonl:2"))
    assert why is None and [(t, k) for t, k, _ in records] == [("posts", "x:big")]
    assert json.loads(records[0][2])["platform"] == "x"
    records, why = replay_records(letter("map", UNREADABLE, "http /ingest/x:4"))
    assert records == [] and "unknown_shape" in str(why), "still not a tweet: refused, with the reason"
    records, why = replay_records(letter("validate", BIG, "connector x"), max_post_bytes=LIMIT)
    assert records == [] and "too_large" in str(why)
    # a plain post's dead letter goes back to posts as it was
    assert replay_records({"stage": "validate", "raw": "{not json", "source_topic": "posts"}) == (
        [("posts", None, b"{not json")], None)
