"""Ten thousand hostile records straight onto the posts topic: the worker survives, and every one is accounted for.

The corpus is generated from a fixed seed (only ``created_at`` values are
relative to the start of the run, since the validator bounds them by the
clock). Each record says what must become of it, by construction:

* a bad record (fuzzed, truncated or over-long JSON, wrong types, missing
  fields, invalid UTF-8 and lone surrogates, control characters and bidi
  overrides, deep nesting, far-past and far-future timestamps, ...) yields
  exactly one dead letter whose ``raw`` gives back its bytes, with the reason
  code expected for its kind, and one count on ``pot_posts_rejected_total``;
* a valid post (``#complaint``/``#question``, a third of them with bidi
  overrides, control characters or other hostile but legal content) yields
  exactly one alert with its text intact;
* a copy of a valid post (same platform and id) yields neither: it is counted
  on ``pot_posts_duplicate_total``.

Why end to end, when ``test_validation_properties`` covers the validator: an
exception that escapes validation does not kill the process, it crashes the
``classify-posts`` agent, faust restarts it, and the batch it held is lost
without a trace. Only the real worker, its topics and its counters show that.
"""

from __future__ import annotations

import base64
import json
import random
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from kafka import KafkaProducer

from streams.kafka.readers import read_topic
from streams.core.validation import MAX_DEPTH, MAX_POST_BYTES, REASON_CODES, InvalidPost, parse_post

from .conftest import Monitor, start_monitor, stop_monitor

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SEED = 20261123
BAD = 10_000
VALID = 300
DUPLICATES = 400
TOO_LARGE = 120
"""Records over 64 KiB are few (tens of MiB would only slow the run), the other kinds share the rest."""
WAIT_S = 420.0
STALL_S = 90.0

BIDI = ["\u202e", "\u202d", "\u202a", "\u202b", "\u202c", "\u2066", "\u2067", "\u2068", "\u2069", "\u200f", "\u200e", "\u061c"]
CONTROL = [chr(c) for c in range(0x20)] + ["\x7f", "\x85", "\u2028", "\u2029", "\ufeff", "\u200b", "\u200d", "\ufffe"]
WORDS = ["order", "late", "refund", "why", "app", "crash", "parcel", "help", "nobody", "answers", "colis", "livrare",
         "طلبي", "מתי", "包裹", "😡", "🙏🏽", "👨‍👩‍👧", "é\u0301", "ﷺ", "Z\u0351\u0352\u0353"]
INVALID_UTF8 = [b"\xff", b"\xfe", b"\xc0\xaf", b"\x80", b"\xe2\x82", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\xf4\x90\x80\x80", b"\xc3"]


@dataclass(frozen=True)
class Record:
    """One message for the posts topic and what must become of it: a reason code, ``alert`` or ``duplicate``."""

    kind: str
    value: bytes | None
    expect: str
    key: bytes | None = None
    post_id: str | None = None
    text: str | None = None


# --- the corpus --------------------------------------------------------------------------------------------------


class Corpus:
    """Builds the records; every generator knows the outcome of what it builds."""

    def __init__(self, seed: int, now: datetime) -> None:
        self.rng = random.Random(seed)
        self.now = now
        self.serial = 0

    # building blocks

    def hostile_text(self, words: int = 6) -> str:
        """Words in several scripts with bidi overrides, control characters and emoji between them."""
        rng = self.rng
        parts = []
        for _ in range(words):
            roll = rng.random()
            parts.append(rng.choice(BIDI) if roll < 0.2 else rng.choice(CONTROL) if roll < 0.35 else rng.choice(WORDS))
        return " ".join(parts)

    def instant(self) -> str:
        """A plausible ``created_at``: up to three days old, in some UTC offset, in one of the ISO spellings."""
        moment = self.now - timedelta(seconds=self.rng.uniform(0, 3 * 86400))
        offset = timezone(timedelta(minutes=self.rng.choice([0, 0, 60, 120, 330, -300, -480, 840, -720])))
        local = moment.astimezone(offset)
        text = local.isoformat(timespec=self.rng.choice(["seconds", "milliseconds", "microseconds"]))
        return text.replace("+00:00", "Z") if self.rng.random() < 0.5 else text

    def post(self, pid: str | None = None, text: str | None = None) -> dict[str, Any]:
        self.serial += 1
        pid = pid or f"b{self.serial}"
        return {
            "id": pid,
            "platform": self.rng.choice(["x", "instagram", "facebook", "tiktok"]),
            "text": text if text is not None else "#complaint " + self.hostile_text(),
            "created_at": self.instant(),
            "author": {"id": f"a-{pid}", "handle": "@" + pid, "followers": self.rng.randint(0, 10**6), "verified": self.rng.random() < 0.1},
            "lang": self.rng.choice([None, "en", "fr", "ar", "he"]),
        }

    def ascii_post(self) -> bytes:
        """A valid-shaped post as ASCII JSON with no escaped quotes: deleting any quote breaks it."""
        obj = self.post(text="#complaint " + " ".join(self.rng.choice(["late", "order", "why", "refund"]) for _ in range(6)))
        return json.dumps(obj).encode("ascii")

    def utf8_post(self, **overrides: Any) -> bytes:
        obj = self.post()
        obj.update(overrides)
        return json.dumps(obj, ensure_ascii=False).encode("utf-8")

    def char_boundary(self, raw: bytes) -> int:
        at = self.rng.randint(0, len(raw))
        while 0 < at < len(raw) and 0x80 <= raw[at] < 0xC0:
            at -= 1
        return at

    # one generator per kind of bad record: (value, expected code)

    def truncated(self) -> tuple[bytes, str]:
        raw = self.ascii_post()
        return raw[: self.rng.randint(0, len(raw) - 1)], "not_json"

    def quote_deleted(self) -> tuple[bytes, str]:
        raw = self.ascii_post()
        quotes = [i for i, b in enumerate(raw) if b == ord('"')]
        at = self.rng.choice(quotes)
        return raw[:at] + raw[at + 1 :], "not_json"

    def structure_broken(self) -> tuple[bytes, str]:
        raw = self.ascii_post()
        choice = self.rng.randint(0, 3)
        if choice == 0:  # a name/value colon becomes something else
            spots = [m.start() + 1 for m in re.finditer(rb'": ', raw)]
            at = self.rng.choice(spots)
            return raw[:at] + self.rng.choice([b"=", b";", b""]) + raw[at + 1 :], "not_json"
        if choice == 1:  # trailing data after the object
            return raw + self.rng.choice([b"}", b",", b"x", b"{}", b"\x00", b"]", b'"']), "not_json"
        if choice == 2:  # a trailing comma, a missing comma
            return (raw[:-1] + b",}" if self.rng.random() < 0.5 else raw.replace(b", ", b" ", 1)), "not_json"
        return b"{" + raw, "not_json"

    def raw_control_char(self) -> tuple[bytes, str]:
        """An unescaped control character inside a string: strict JSON refuses it."""
        raw = self.ascii_post()
        at = raw.index(b'"text": "') + len(b'"text": "') + self.rng.randint(0, 5)
        return raw[:at] + bytes([self.rng.randint(0, 0x1F)]) + raw[at:], "not_json"

    def garbage(self) -> tuple[bytes, str]:
        length = self.rng.randint(1, 200)
        first = self.rng.choice("xyzqkw<#@!")
        body = "".join(self.rng.choice("abcxyz <>!?#&%$@~`'=;:,.|\\") for _ in range(length))
        return (first + body).encode(), "not_json"

    def empty(self) -> tuple[bytes | None, str]:
        return (None if self.rng.random() < 0.5 else b""), "not_json"

    def deep_nesting(self) -> tuple[bytes, str]:
        """Deeper than MAX_DEPTH, top level or inside metadata, objects or arrays, kept under the size limit."""
        kind = self.rng.choice(["object", "array"])
        open_, close = (b'{"a":', b"}") if kind == "object" else (b"[", b"]")
        levels = self.rng.choice([MAX_DEPTH + 2, MAX_DEPTH + 10, 500, 990, 1000, 5000, self.rng.randint(MAX_DEPTH + 2, 10000)])
        levels = min(levels, (MAX_POST_BYTES - 400) // len(open_ + close))
        nested = open_ * levels + b"1" + close * levels
        if self.rng.random() < 0.5:
            return nested, "not_json"
        return self.utf8_post()[:-1] + b', "metadata": {"deep": ' + nested + b"}}", "not_json"

    def huge_number(self) -> tuple[bytes, str]:
        """Over Python's 4,300-digit limit for int(): json raises a ValueError that is not a JSONDecodeError."""
        number = str(self.rng.randint(1, 9)) * self.rng.randint(4301, 20000)
        where = self.rng.randint(0, 2)
        if where == 0:
            return number.encode(), "not_json"
        if where == 1:
            raw = self.utf8_post().decode()
            return re.sub(r'"followers": \d+', f'"followers": {number}', raw, count=1).encode(), "not_json"
        return self.utf8_post()[:-1] + f', "metadata": {{"n": -{number}}}}}'.encode(), "not_json"

    def not_utf8(self) -> tuple[bytes, str]:
        choice = self.rng.randint(0, 3)
        if choice == 0:  # a bad sequence inside an otherwise valid post
            raw = self.utf8_post()
            at = self.char_boundary(raw)
            return raw[:at] + self.rng.choice(INVALID_UTF8) + raw[at:], "not_utf8"
        if choice == 1:  # random bytes with a stray 0xff
            blob = bytearray(self.rng.randbytes(self.rng.randint(1, 300)))
            blob[self.rng.randrange(len(blob))] = 0xFF
            return bytes(blob), "not_utf8"
        if choice == 2:  # the right post in the wrong encoding
            return json.dumps(self.post(text="#complaint déjà reçu, où est ma commande ?"), ensure_ascii=False).encode(
                self.rng.choice(["latin-1", "utf-16", "utf-16-be", "cp1252"])
            ), "not_utf8"
        raw = self.utf8_post()  # cut inside a multi-byte character, then closed
        return raw + b'"' + "€".encode()[:2], "not_utf8"

    def lone_surrogate(self) -> tuple[bytes, str]:
        """``\\ud800`` escapes are legal JSON, but the str they decode to cannot be written as UTF-8 again."""
        obj = self.post()
        surrogate = chr(self.rng.randint(0xD800, 0xDFFF))
        where = self.rng.choice(["text", "id", "author", "metadata"])
        if where == "author":
            obj["author"]["handle"] = "@x" + surrogate
        elif where == "metadata":
            obj["metadata"] = {"k" + surrogate: "v"}
        else:
            obj[where] = obj[where] + surrogate + self.hostile_text(2)
        return json.dumps(obj).encode("ascii"), "not_utf8"

    def not_object(self) -> tuple[bytes, str]:
        values: list[Any] = [[], [self.post()], [self.post(), self.post()], "a post", 42, -1.5e308, True, False, None,
                             [[["#complaint"]]], "#complaint " + self.hostile_text()]
        return json.dumps(self.rng.choice(values), ensure_ascii=self.rng.random() < 0.5).encode(), "not_object"

    def missing_field(self) -> tuple[bytes, str]:
        obj = self.post()
        choice = self.rng.randint(0, 5)
        if choice == 0:
            for name in self.rng.sample(["id", "text", "created_at", "author"], self.rng.randint(1, 4)):
                del obj[name]
        elif choice == 1:
            obj[self.rng.choice(["id", "text", "created_at", "author"])] = None
        elif choice == 2:
            obj["author"] = self.rng.choice([{}, {"handle": "@x"}, {"id": None}, "u1", ["u1"], 7, True])
        elif choice == 3:
            obj[self.rng.choice(["id"])] = self.rng.choice(["", " ", "\t\n", "\u3000", "\x1c\x1f"])
        elif choice == 4:
            obj["author"]["id"] = self.rng.choice(["", "  ", "\u2028"])
        else:
            obj = {"text": obj["text"]} if self.rng.random() < 0.5 else {}
        return json.dumps(obj, ensure_ascii=self.rng.random() < 0.5).encode(), "missing_field"

    WRONG: list[tuple[str, Any]] = [
        ("id", 123), ("id", ["a"]), ("id", {"a": 1}), ("id", True), ("id", 1.5),
        ("text", 42), ("text", ["#complaint"]), ("text", {"t": "#complaint"}), ("text", False),
        ("created_at", 1700000000), ("created_at", 1.7e9), ("created_at", ["2026-11-23T09:00:00Z"]),
        ("created_at", {"iso": "2026-11-23T09:00:00Z"}), ("created_at", True),
        ("platform", None), ("platform", 7), ("platform", ["x"]),
        ("url", 5), ("lang", ["en"]), ("in_reply_to", 9), ("brand", {"b": 1}),
        ("metadata", [1, 2]), ("metadata", "k=v"), ("metadata", 3), ("metadata", True),
        ("author.id", 77), ("author.id", ["u"]), ("author.id", {"id": "u"}), ("author.handle", 5),
        ("author.followers", "many"), ("author.followers", -1), ("author.followers", 1.5), ("author.followers", True),
        ("author.followers", None), ("author.followers", 1e400), ("author.verified", "yes"), ("author.verified", 1),
        ("author.verified", None),
    ]

    def wrong_type(self) -> tuple[bytes, str]:
        obj = self.post()
        field, value = self.rng.choice(self.WRONG)
        if field.startswith("author."):
            obj["author"][field.removeprefix("author.")] = value
        else:
            obj[field] = value
        return json.dumps(obj, ensure_ascii=self.rng.random() < 0.5).encode(), "wrong_type"

    def bad_timestamp(self) -> tuple[bytes, str]:
        rng = self.rng
        choice = rng.randint(0, 3)
        if choice == 0:  # far future
            created = rng.choice([
                "9999-12-31T23:59:59+00:00", "2999-01-01T00:00:00Z", "2100-06-01T12:00:00+05:30",
                f"{rng.randint(2100, 9999)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T10:00:00Z",
                (self.now + timedelta(days=rng.uniform(2, 3650))).isoformat(),
            ])
        elif choice == 1:  # far past
            created = rng.choice([
                "0001-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00", "1970-01-01T00:00:00Z", "1000-05-05T05:05:05-03:00",
                "1999-12-31T23:59:59Z", f"{rng.randint(1, 1999):04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T10:00:00Z",
            ])
        elif choice == 2:  # does not parse
            created = rng.choice([
                "yesterday", "", "2026-11-23T09:00:00", "2026-02-30T00:00:00Z", "2026-11-23T09:00:00+24:00",
                "2026-11-23T25:00:00Z", "1700000000", "２０２６-11-23T09:00:00Z", "2026-11-23T09:00:00Z" * 50,
                "now", "NaN", "Infinity", "2026-13-01T00:00:00Z", "-2026-11-23T09:00:00Z",
                # Python 3.11 parses these (any separator; anything after six fractional digits is skipped)
                (self.now - timedelta(hours=1)).isoformat(timespec="microseconds").replace("+00:00", "\u202eevil+00:00"),
                (self.now - timedelta(hours=1)).isoformat().replace("T", rng.choice(["\u202e", "x", "\x00", "\u2066"])),
            ])
        else:  # control characters and bidi overrides inside it
            created = self.instant()
            at = rng.randint(1, len(created) - 2)
            created = created[:at] + rng.choice(["\x00", "\u202e", "\u2066", "\x1b", "\u200b", "\ufeff"]) + created[at:]
        obj = self.post()
        obj["created_at"] = created
        return json.dumps(obj, ensure_ascii=rng.random() < 0.5).encode(), "bad_timestamp"

    def empty_text(self) -> tuple[bytes, str]:
        obj = self.post(text=self.rng.choice(["", " ", "\n\t", "\u3000", "\x1c\x1d\x1e\x1f", "\u2028\u2029", "\x85 \xa0"]))
        return json.dumps(obj, ensure_ascii=self.rng.random() < 0.5).encode(), "empty_text"

    def too_large(self) -> tuple[bytes, str]:
        size = self.rng.randint(MAX_POST_BYTES + 1, 4 * MAX_POST_BYTES)
        choice = self.rng.randint(0, 4)
        if choice == 0:
            text = "#complaint "
            while len(text.encode()) < size:
                text += self.hostile_text(50) + " "
            raw = self.utf8_post(text=text)
        elif choice == 1:
            raw = self.utf8_post(id="i" * size)
        elif choice == 2:
            raw = self.utf8_post(metadata={"blob": "\u202e" * (size // 3 + 1)})
        elif choice == 3:  # also invalid UTF-8: the size check comes first
            raw = b"\xff" * size
        else:  # also broken JSON
            raw = b"[" * size
        assert len(raw) > MAX_POST_BYTES
        return raw, "too_large"

    # valid posts and their copies

    def valid(self, index: int) -> Record:
        label = "complaint" if index % 2 == 0 else "question"
        pid = f"v{index}"
        hostile = index % 3 == 0
        body = self.hostile_text(8) if hostile else " ".join(self.rng.choice(WORDS[:10]) for _ in range(8))
        text = f"{body} #{label}" if self.rng.random() < 0.5 else f"#{label} {body}"
        obj = self.post(pid, text)
        if index % 10 == 1:
            obj["metadata"] = {"nested": json.loads("[" * 20 + "1" + "]" * 20), "producer": {"v": 2}}
        if index % 10 == 2:
            obj["x-unknown"] = {"ignored": True}
            obj["received_at"] = "1970-01-01T00:00:00Z"  # the monitor stamps its own
        if index % 10 == 3:
            obj["text"] = text + " " + "x" * self.rng.randint(1000, 40_000)  # long, still under the limit
        if index % 10 == 4:
            obj["author"]["followers"] = 10**40
        value = json.dumps(obj, ensure_ascii=self.rng.random() < 0.5).encode()
        assert len(value) <= MAX_POST_BYTES
        return Record(f"valid:{label}" + (":hostile" if hostile else ""), value, "alert",
                      key=f"{obj['platform']}:{pid}".encode(), post_id=pid, text=obj["text"])

    def duplicate(self, original: Record) -> Record:
        """The same bytes again, or the same platform, id and author with other text (same tag)."""
        assert original.value is not None
        if self.rng.random() < 0.5:
            return Record("duplicate:same-bytes", original.value, "duplicate", key=original.key, post_id=original.post_id)
        obj = json.loads(original.value)
        obj["text"] = obj["text"] + " still waiting " + self.rng.choice(BIDI)
        return Record("duplicate:edited", json.dumps(obj).encode(), "duplicate", key=original.key, post_id=original.post_id)

    def build(self) -> list[Record]:
        kinds: list[Callable[[], tuple[bytes | None, str]]] = [
            self.truncated, self.quote_deleted, self.structure_broken, self.raw_control_char, self.garbage, self.empty,
            self.deep_nesting, self.huge_number, self.not_utf8, self.lone_surrogate, self.not_object, self.missing_field,
            self.wrong_type, self.bad_timestamp, self.empty_text,
        ]
        records = [Record("too_large", *self.too_large()) for _ in range(TOO_LARGE)]
        for index in range(BAD - TOO_LARGE):
            make = kinds[index % len(kinds)]
            value, code = make()
            assert value is None or len(value) <= MAX_POST_BYTES, make.__name__
            key = None if self.rng.random() < 0.7 else self.rng.choice([b"", b"\xff\xfe", "\u202e".encode(), b"k" * 200])
            if value is None and key is None:
                key = b"tombstone"  # Kafka wants a key or a value
            records.append(Record(make.__name__, value, code, key=key))
        valid = [self.valid(i) for i in range(VALID)]
        records += valid
        self.rng.shuffle(records)
        placed = [(float(at), record) for at, record in enumerate(records)]
        where = {id(record): at for at, record in enumerate(records)}
        for _ in range(DUPLICATES):  # each copy goes somewhere after its original (same key, same author)
            original = self.rng.choice(valid)
            placed.append((self.rng.uniform(where[id(original)] + 0.5, len(records)), self.duplicate(original)))
        placed.sort(key=lambda pair: pair[0])
        return [record for _, record in placed]


def expected_by_validator(record: Record) -> str:
    """What the validator says of one record on its own: checks the corpus is what it claims before the run."""
    if record.value is None:
        return "not_json"
    try:
        parse_post(record.value)
    except InvalidPost as exc:
        return exc.code
    except Exception as exc:  # what would crash the worker's agent
        return f"raised {type(exc).__name__}"
    return "valid"


# --- watching the worker -----------------------------------------------------------------------------------------


def scrape(monitor: Monitor) -> dict[str, float]:
    """The counters this test reads from ``/metrics`` (rejections by reason, duplicates, received, dead letters)."""
    text = httpx.get(f"{monitor.web}/metrics", timeout=10).text
    found: dict[str, float] = {}
    for line in text.splitlines():
        match = re.match(r'(pot_posts_rejected_total|pot_posts_duplicate_total|pot_posts_received_total|pot_dead_letters_total)(\{[^}]*\})? (\S+)$', line)
        if match:
            found[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return found


def rejected_by_reason(counters: dict[str, float]) -> dict[str, int]:
    return {code: int(counters.get(f'pot_posts_rejected_total{{reason="{code}"}}', 0)) for code in REASON_CODES}


def read_alerts(monitor: Monitor) -> list[dict[str, Any]]:
    """The JSONL alert log, split on ``\\n`` only, its last line skipped while it is still being written.

    Not ``Monitor.alerts()``: ``str.splitlines`` also splits on U+2028, U+2029 and U+0085, which JSON leaves
    unescaped inside strings (the sink writes ``ensure_ascii=False``), so a post with one of them in its text
    would read as two broken lines.
    """
    path = monitor.data_dir / "alerts.jsonl"
    if not path.exists():
        return []
    *complete, _partial = path.read_bytes().split(b"\n")
    return [json.loads(line.decode("utf-8")) for line in complete if line.strip()]


def raw_bytes(letter: dict[str, Any]) -> bytes:
    return base64.b64decode(letter["raw"]) if letter["raw_encoding"] == "base64" else letter["raw"].encode("utf-8")


def agent_crashes(log: str) -> list[str]:
    """faust restarts a crashed agent and the process lives on, so a crash shows only in the log (with its lost batch)."""
    return [line[:300] for line in log.splitlines() if "Crashed reason=" in line]


def wait_for_everything(monitor: Monitor, total: int, bad: int, valid: int, duplicates: int) -> dict[str, float]:
    """Poll until every record was read and accounted for; give up at WAIT_S, or sooner when nothing moves."""
    started = last_change = time.monotonic()
    last: tuple[int, ...] = ()
    reported = 0.0
    while True:
        assert monitor.process.poll() is None, f"the worker exited ({monitor.process.returncode}):\n{monitor.log()[-3000:]}"
        counters = scrape(monitor)
        received = int(counters.get('pot_posts_received_total{source="kafka"}', 0))
        rejected = sum(rejected_by_reason(counters).values())
        dups = int(counters.get("pot_posts_duplicate_total", 0))
        alerted = len(read_alerts(monitor))
        now = time.monotonic()
        state = (received, rejected, dups, alerted)
        if state != last:
            last, last_change = state, now
        if now - reported >= 5:
            reported = now
            print(f"[{now - started:5.1f} s] received {received}/{total}, rejected {rejected}/{bad}, "
                  f"alerts {alerted}/{valid}, duplicates {dups}/{duplicates}", flush=True)
        if received >= total and rejected >= bad and alerted >= valid and dups >= duplicates:
            return counters
        if now - started > WAIT_S or now - last_change > STALL_S:
            return counters
        time.sleep(0.5)


def settle(monitor: Monitor, counters: dict[str, float], quiet_s: float = 3.0) -> dict[str, float]:
    """Poll a little longer so that anything extra (a second alert, a stray dead letter) has the chance to show."""
    deadline = time.monotonic() + quiet_s
    while time.monotonic() < deadline:
        time.sleep(0.5)
        counters = scrape(monitor)
    return counters


# --- the test ----------------------------------------------------------------------------------------------------


def test_hostile_corpus_is_absorbed_without_a_crash_or_a_loss(tmp_path: Path) -> None:
    corpus = Corpus(SEED, datetime.now(timezone.utc)).build()
    bad = [r for r in corpus if r.expect in REASON_CODES]
    valid = [r for r in corpus if r.expect == "alert"]
    duplicates = [r for r in corpus if r.expect == "duplicate"]
    assert len(bad) == BAD and len(valid) == VALID and len(duplicates) == DUPLICATES
    assert len(bad) + len(duplicates) >= 10_000
    kinds = Counter(r.kind for r in corpus)
    print(f"corpus: {len(corpus)} records, {sum(len(r.value or b'') for r in corpus) / 2**20:.1f} MiB; {dict(kinds)}", flush=True)

    wrong = Counter(
        (r.kind, r.expect, got) for r in corpus
        if (got := expected_by_validator(r)) != (r.expect if r.expect in REASON_CODES else "valid")
    )
    assert not wrong, f"the validator disagrees with the corpus (kind, expected, got): {wrong.most_common(20)}"

    monitor = start_monitor(tmp_path, extra_env={
        "POT_CLASSIFIER": "tests.fakes:ByTag", "POT_CLASSIFY_IN_PROCESS": "false", "POT_RECEIVERS": '["jsonl"]',
    })
    try:
        producer = KafkaProducer(
            bootstrap_servers=monitor.broker, acks="all", linger_ms=20, max_request_size=2 * 2**20,
            max_in_flight_requests_per_connection=1,  # a copy must not overtake its original
        )
        sent_at = time.monotonic()
        futures = [producer.send("e2e.posts", key=r.key, value=r.value) for r in corpus]
        producer.flush(timeout=120)
        failed = [(r.kind, repr(f.exception)) for r, f in zip(corpus, futures) if not f.succeeded()]
        producer.close(timeout=10)
        assert not failed, f"{len(failed)} records were not accepted by the broker (a test problem): {failed[:5]}"
        print(f"sent {len(corpus)} records in {time.monotonic() - sent_at:.1f} s", flush=True)

        counters = wait_for_everything(monitor, len(corpus), len(bad), len(valid), len(duplicates))
        counters = settle(monitor, counters)
        print(f"accounted for in {time.monotonic() - sent_at:.1f} s after the first send", flush=True)

        # the worker is alive, ready, and none of its agents crashed and restarted on the way
        assert monitor.process.poll() is None, monitor.log()[-3000:]
        ready = httpx.get(f"{monitor.web}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        crashes = agent_crashes(monitor.log())
        assert not crashes, f"{len(crashes)} agent crash(es), each losing the batch it held:\n" + "\n".join(crashes[:10])

        # every record was read
        assert int(counters.get('pot_posts_received_total{source="kafka"}', 0)) == len(corpus)

        # every valid post: exactly one alert, with its label and its text byte for byte
        alerts = read_alerts(monitor)
        per_post = Counter(a["post"]["id"] for a in alerts)
        missing = [(r.kind, r.post_id) for r in valid if per_post[r.post_id] == 0]
        assert not missing, f"{len(missing)} valid posts raised no alert: {missing[:10]}"
        extra = {pid: n for pid, n in per_post.items() if n != 1 or pid not in {r.post_id for r in valid}}
        assert not extra, f"alerts that should not exist (post id: count): {dict(list(extra.items())[:10])}"
        texts = {a["post"]["id"]: (a["post"]["text"], a["classification"]["label"]) for a in alerts}
        for record in valid:
            text, label = texts[record.post_id]
            assert text == record.text, f"{record.post_id} ({record.kind}): text changed on the way"
            assert label == record.kind.split(":")[1], f"{record.post_id}: labelled {label}"

        # every bad record: exactly one dead letter, its reason code, its bytes
        letters = read_topic(monitor.broker, "e2e.dlq", timeout_s=5)
        stages = Counter((d.get("stage"), d.get("source_topic")) for d in letters)
        assert stages == Counter({("validate", "e2e.posts"): len(bad)}), f"dead letters by (stage, source): {stages}"
        incomplete = [d for d in letters if not (d.get("reason_code") and "raw" in d and d.get("reason"))]
        assert not incomplete, f"dead letters without reason_code, reason or raw: {incomplete[:3]}"
        expected = Counter((r.value or b"", r.expect) for r in bad)
        got = Counter((raw_bytes(d), d["reason_code"]) for d in letters)
        if got != expected:
            short, surplus = expected - got, got - expected
            by_raw = {raw: code for raw, code in got}
            codes = Counter((r.kind, r.expect, by_raw.get(r.value or b"", "no dead letter")) for r in bad
                            if (r.value or b"", r.expect) in short)
            raise AssertionError(f"{sum(short.values())} bad records without their dead letter, as "
                                 f"(kind, expected code, what the dlq holds for those bytes): {codes.most_common(15)}; "
                                 f"{sum(surplus.values())} dead letters that match no bad record")

        # the counters agree: rejections by reason, dead letters, duplicates
        want = Counter(r.expect for r in bad)
        assert rejected_by_reason(counters) == {code: want.get(code, 0) for code in REASON_CODES}
        assert sum(rejected_by_reason(counters).values()) == len(bad)
        assert int(counters.get('pot_dead_letters_total{stage="validate"}', 0)) == len(bad)
        assert int(counters.get("pot_posts_duplicate_total", 0)) == len(duplicates)
    finally:
        stop_monitor(monitor)
