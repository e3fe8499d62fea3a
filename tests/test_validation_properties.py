"""Property-based tests of the validator: whatever arrives, it returns a sound post or an ``InvalidPost`` with a known code.

A worker that meets an exception other than :class:`InvalidPost` while
validating loses its batch (the agent crashes and faust restarts it), so the
first property is that nothing else ever escapes, for arbitrary bytes and
arbitrary JSON values. The second is that what validates can travel on: every
later stage re-encodes the post (faust's JSON on the ``classified`` topic, the
JSONL audit log as UTF-8), so a post that validates but cannot be encoded
again is a crash waiting downstream. The rest pin each rule to its code, so a
dead-letter record says why.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

# Hypothesis keeps caches (its Unicode tables) under ./.hypothesis; keep them out of the working tree.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(tempfile.gettempdir(), "pot-hypothesis"))

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.core.records import Post, parse_instant
from streams.core.validation import (
    EARLIEST_CREATED_AT,
    MAX_DEPTH,
    MAX_FUTURE_S,
    MAX_POST_BYTES,
    REASON_CODES,
    InvalidPost,
    decode_json,
    parse_post,
    raw_for_record,
    validate_obj,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
"""The validator's clock in these tests: ``created_at`` bounds are checked against it, not the wall clock."""

PROPERTY = settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
RULE = settings(PROPERTY, max_examples=100)
"""For the one-rule-one-code properties, whose input space is narrow: fewer examples, so the file stays fast."""
FEW = settings(PROPERTY, max_examples=40)
"""For examples that build large values (huge strings, deep nesting)."""

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
"""Bidirectional overrides, embeddings, isolates and marks: the Trojan Source characters."""

# --- strategies --------------------------------------------------------------------------------------------------

lone_surrogates = st.integers(0xD800, 0xDFFF).map(chr)
hostile_chars = st.one_of(
    st.characters(codec="utf-8"),
    st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Mn"]),
    st.sampled_from(BIDI),
)
hostile_text = st.text(hostile_chars, max_size=40)
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), hostile_text
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(hostile_text, children, max_size=4),
    max_leaves=20,
)
non_blank = st.text(hostile_chars, min_size=1, max_size=40).filter(lambda s: s.strip() != "")
offsets = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
plausible_instants = st.datetimes(
    min_value=datetime(2000, 1, 2), max_value=datetime(2026, 11, 23, 12, 0), timezones=offsets
)


@st.composite
def valid_posts(draw: st.DrawFn) -> dict[str, Any]:
    """A post every field of which is valid (optional fields sometimes left out, sometimes null)."""
    post: dict[str, Any] = {
        "id": draw(non_blank),
        "text": draw(non_blank),
        "created_at": draw(plausible_instants).isoformat(),
        "author": {"id": draw(non_blank)},
    }
    optional = {
        "platform": non_blank,
        "url": st.none() | hostile_text,
        "lang": st.none() | st.sampled_from(["en", "fr", "ro", "ar", "he", "zh"]),
        "in_reply_to": st.none() | hostile_text,
        "brand": st.none() | hostile_text,
        "metadata": st.none() | st.dictionaries(hostile_text, json_values.filter(_finite), max_size=4),
        "x-producer-field": json_values,
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            post[name] = draw(strategy)
    author_optional = {
        "handle": st.none() | hostile_text,
        "followers": st.integers(0, 10**40),
        "verified": st.booleans(),
    }
    for name, strategy in author_optional.items():
        if draw(st.booleans()):
            post["author"][name] = draw(strategy)
    return post


def _finite(value: Any) -> bool:
    """No NaN anywhere: NaN != NaN, so round-trip equality would fail for a reason that is not the validator's."""
    if isinstance(value, float):
        return not math.isnan(value)
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    return True


def encode(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def base_post(**overrides: Any) -> dict[str, Any]:
    post = {
        "id": "p1",
        "platform": "x",
        "text": "my parcel is late #complaint",
        "created_at": "2026-11-23T09:00:00+02:00",
        "author": {"id": "u1", "handle": "@ana", "followers": 3, "verified": False},
    }
    post.update(overrides)
    return post


# --- checks ------------------------------------------------------------------------------------------------------


def outcome(call: Any) -> Post | InvalidPost:
    """Run one validation; any exception but InvalidPost fails the test with the exception itself."""
    try:
        return call()
    except InvalidPost as exc:
        assert exc.code in REASON_CODES, f"unknown reason code {exc.code!r}"
        assert isinstance(exc.reason, str) and exc.reason, "a rejection must say why"
        assert str(exc).startswith(f"[{exc.code}] ")
        return exc


def assert_sound(post: Post) -> None:
    """What every later stage relies on: required fields present and non-blank, a bounded instant, re-encodable."""
    assert isinstance(post, Post)
    for value in (post.id, post.text, post.author.id):
        assert isinstance(value, str) and value.strip()
    assert isinstance(post.platform, str)
    instant = parse_instant(post.created_at)
    assert EARLIEST_CREATED_AT <= instant <= NOW + timedelta(seconds=MAX_FUTURE_S)
    assert type(post.author.followers) is int and post.author.followers >= 0
    assert type(post.author.verified) is bool
    assert post.metadata is None or isinstance(post.metadata, dict)
    wire = post.dumps()  # what the classify agent puts on the classified topic
    wire.decode("utf-8")
    assert Post.loads(wire).dumps() == wire
    json.dumps(json.loads(wire), ensure_ascii=False, sort_keys=True).encode("utf-8")  # what the JSONL sink writes


def check(obj: Any) -> Post | InvalidPost:
    result = outcome(lambda: validate_obj(obj, now=NOW))
    if isinstance(result, Post):
        assert_sound(result)
    return result


def check_bytes(raw: bytes, max_bytes: int = MAX_POST_BYTES) -> Post | InvalidPost:
    result = outcome(lambda: parse_post(raw, max_bytes, now=NOW))
    if isinstance(result, Post):
        assert_sound(result)
    return result


def code_of(result: Post | InvalidPost) -> str:
    return result.code if isinstance(result, InvalidPost) else "valid"


# --- anything at all ---------------------------------------------------------------------------------------------


@PROPERTY
@given(json_values)
def test_any_json_value_is_a_sound_post_or_invalid(obj: Any) -> None:
    check(obj)


@PROPERTY
@given(st.dictionaries(st.sampled_from(["id", "text", "created_at", "author", "platform", "metadata", "url"]), json_values))
def test_any_object_with_post_field_names_is_a_sound_post_or_invalid(obj: dict[str, Any]) -> None:
    """Random values under the real field names reach deeper rules than random keys do."""
    check(obj)


@PROPERTY
@given(st.binary(max_size=300))
def test_any_bytes_are_a_sound_post_or_invalid(raw: bytes) -> None:
    check_bytes(raw)


@PROPERTY
@given(valid_posts(), st.data())
def test_fuzzed_post_bytes_are_a_sound_post_or_invalid(post: dict[str, Any], data: st.DataObject) -> None:
    """Truncate, delete, replace or insert bytes of a real post: what comes out is still a post or a reason."""
    raw = bytearray(encode(post))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(raw)))
        edit = data.draw(st.sampled_from(["truncate", "delete", "replace", "insert"]))
        byte = data.draw(st.integers(0, 255))
        if edit == "truncate":
            del raw[at:]
        elif edit == "delete":
            del raw[at : at + 1]
        elif edit == "replace" and at < len(raw):
            raw[at] = byte
        else:
            raw.insert(at, byte)
    check_bytes(bytes(raw))


@PROPERTY
@given(st.binary(max_size=300))
def test_decode_json_returns_a_value_or_raises_invalid(raw: bytes) -> None:
    outcome(lambda: decode_json(raw))


# --- valid posts --------------------------------------------------------------------------------------------------


@PROPERTY
@given(valid_posts())
def test_a_valid_post_validates_and_keeps_every_field(post: dict[str, Any]) -> None:
    result = check(post)
    assert isinstance(result, Post), f"rejected a valid post: {result}"
    assert result.id == post["id"] and result.text == post["text"] and result.created_at == post["created_at"]
    assert result.platform == post.get("platform", "unknown")
    assert result.key == f"{result.platform}:{post['id']}"
    for name in ("url", "lang", "in_reply_to", "brand", "metadata"):
        assert getattr(result, name) == post.get(name)
    author = post["author"]
    assert result.author.id == author["id"]
    assert result.author.handle == author.get("handle")
    assert result.author.followers == author.get("followers", 0)
    assert result.author.verified == author.get("verified", False)
    assert result.received_at is None, "received_at is the monitor's to stamp, not the producer's"


@RULE
@given(valid_posts())
def test_a_valid_post_parses_from_its_bytes_as_from_its_value(post: dict[str, Any]) -> None:
    from_value = check(post)
    from_bytes = check_bytes(encode(post))
    ascii_bytes = check_bytes(json.dumps(post).encode("ascii"))  # \uXXXX escapes, surrogate pairs included
    assert isinstance(from_value, Post)
    assert from_value == from_bytes == ascii_bytes


# --- each rule to its code ---------------------------------------------------------------------------------------


INVALID_UTF8 = [b"\xff", b"\xfe", b"\xc0\xaf", b"\x80", b"\xe2\x82", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\xf4\x90\x80\x80"]
"""A stray byte, an overlong slash, a lone continuation, a truncated sequence, an encoded surrogate, 5 bytes, over U+10FFFF."""


@RULE
@given(valid_posts(), st.sampled_from(INVALID_UTF8), st.data())
def test_invalid_utf8_anywhere_is_not_utf8(post: dict[str, Any], bad: bytes, data: st.DataObject) -> None:
    raw = encode(post)
    at = data.draw(st.integers(0, len(raw)))
    while 0 < at < len(raw) and 0x80 <= raw[at] < 0xC0:
        at -= 1  # insert between characters, not inside one, so the bad sequence is the only one
    assert code_of(check_bytes(raw[:at] + bad + raw[at:])) == "not_utf8"


@RULE
@given(valid_posts(), st.sampled_from(["id", "text", "author.id", "author.handle", "metadata key", "platform"]), lone_surrogates)
def test_a_lone_surrogate_is_not_utf8(post: dict[str, Any], where: str, surrogate: str) -> None:
    """JSON may escape a lone surrogate (\\ud800); Python decodes it into a str that cannot be encoded again."""
    post = json.loads(json.dumps(post))
    if where == "metadata key":
        post["metadata"] = {f"k{surrogate}": 1}
    elif where.startswith("author."):
        post["author"][where.removeprefix("author.")] = f"a{surrogate}b"
    else:
        post[where] = f"a{surrogate}b"
    assert code_of(check(post)) == "not_utf8"
    assert code_of(check_bytes(json.dumps(post).encode("ascii"))) == "not_utf8"


@FEW
@given(st.integers(0, 3 * MAX_POST_BYTES), st.sampled_from(["a", "é", "€", "😀", "\u202e", "\x00", " "]))
def test_huge_text_is_too_large_or_kept_whole(length: int, char: str) -> None:
    text = "x" + char * length
    raw = encode(base_post(text=text))
    result = check_bytes(raw)
    if len(raw) > MAX_POST_BYTES:
        assert code_of(result) == "too_large"
    else:
        assert isinstance(result, Post) and result.text == text


@RULE
@given(st.binary(min_size=1, max_size=400), st.integers(0, 64))
def test_over_the_limit_is_too_large_whatever_it_holds(raw: bytes, spare: int) -> None:
    """The size check comes first: no parsing work is spent on a body that is too big."""
    limit = max(0, len(raw) - 1 - spare)
    assert code_of(check_bytes(raw, max_bytes=limit)) == "too_large"


@FEW
@given(st.integers(1, 3000), st.sampled_from(["object", "array"]), st.booleans())
def test_deep_nesting_is_not_json_past_the_limit(levels: int, kind: str, as_metadata: bool) -> None:
    """Nesting is refused past MAX_DEPTH, wherever it is; up to it a post is valid and re-encodable."""
    open_, close = ('{"a":', "}") if kind == "object" else ("[", "]")
    nested = open_ * levels + "1" + close * levels
    if as_metadata:
        # the post is level 1, metadata level 2: ``levels`` containers below it
        body = encode(base_post())[:-1] + b', "metadata": {"m": ' + nested.encode() + b"}}"
        depth = 2 + levels
    else:
        body = nested.encode()
        depth = levels
    result = check_bytes(body, max_bytes=1_000_000)
    if depth == MAX_DEPTH + 1 and kind == "array" and not as_metadata:
        assert code_of(result) == "not_object"  # one level is allowed for an HTTP batch's array; still no post
    elif depth > MAX_DEPTH:
        assert code_of(result) == "not_json"
    elif as_metadata:
        assert isinstance(result, Post)
    else:
        assert code_of(result) == ("not_object" if kind == "array" else "missing_field")


@FEW
@given(st.integers(4301, 20000), st.sampled_from(["followers", "metadata", "top"]))
def test_integers_too_long_to_convert_are_not_json(digits: int, where: str) -> None:
    """Python refuses to convert over 4,300 digits with a ValueError that is not a JSONDecodeError."""
    number = "7" * digits
    if where == "top":
        body = number
    elif where == "followers":
        body = encode(base_post()).decode().replace('"followers": 3', f'"followers": {number}')
    else:
        body = encode(base_post())[:-1].decode() + f', "metadata": {{"n": {number}}}}}'
    assert number in body
    assert code_of(check_bytes(body.encode(), max_bytes=100_000)) == "not_json"


STR_FIELDS = ["id", "text", "created_at", "platform", "url", "lang", "in_reply_to", "brand", "author.id", "author.handle"]
REQUIRED = {"id", "text", "created_at", "author", "author.id"}
not_a_str = st.one_of(
    st.booleans(), st.integers(), st.floats(allow_nan=True), st.lists(json_scalars, max_size=3),
    st.dictionaries(st.text(max_size=5), json_scalars, max_size=3),
)


def with_field(post: dict[str, Any], field: str, value: Any) -> dict[str, Any]:
    post = json.loads(json.dumps(post))
    if field.startswith("author."):
        post["author"][field.removeprefix("author.")] = value
    else:
        post[field] = value
    return post


@RULE
@given(valid_posts(), st.sampled_from(STR_FIELDS), not_a_str)
def test_a_string_field_of_another_type_is_wrong_type(post: dict[str, Any], field: str, value: Any) -> None:
    assert code_of(check(with_field(post, field, value))) == "wrong_type"


@RULE
@given(valid_posts(), st.sampled_from(sorted(REQUIRED)))
def test_a_required_field_null_or_absent_is_missing_field(post: dict[str, Any], field: str) -> None:
    assert code_of(check(with_field(post, field, None))) == "missing_field"
    post = json.loads(json.dumps(post))
    if field.startswith("author."):
        del post["author"][field.removeprefix("author.")]
    else:
        del post[field]
    assert code_of(check(post)) == "missing_field"


@RULE
@given(valid_posts(), st.one_of(st.booleans(), st.integers(), st.floats(), st.text(max_size=5), st.lists(st.integers(), max_size=2)))
def test_an_author_that_is_not_an_object_is_missing_field(post: dict[str, Any], value: Any) -> None:
    assert code_of(check(with_field(post, "author", value))) == "missing_field"


@RULE
@given(
    valid_posts(),
    st.one_of(
        st.tuples(st.just("author.followers"), st.one_of(
            st.integers(max_value=-1), st.booleans(), st.floats(), st.text(max_size=5), st.lists(st.integers(), max_size=2),
        )),
        st.tuples(st.just("author.verified"), st.one_of(st.integers(), st.text(max_size=5), st.floats(), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))),
        st.tuples(st.just("metadata"), st.one_of(st.booleans(), st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=3))),
    ),
)
def test_a_typed_optional_field_of_another_type_is_wrong_type(post: dict[str, Any], field_value: tuple[str, Any]) -> None:
    field, value = field_value
    assert code_of(check(with_field(post, field, value))) == "wrong_type"


@RULE
@given(valid_posts(), st.sampled_from(["id", "author.id", "text"]), st.text(" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u2028\u3000", max_size=8))
def test_blank_ids_are_missing_field_and_blank_text_is_empty_text(post: dict[str, Any], field: str, blank: str) -> None:
    expected = "empty_text" if field == "text" else "missing_field"
    assert code_of(check(with_field(post, field, blank))) == expected


@RULE
@given(
    valid_posts(),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=offsets),
)
def test_a_timestamp_is_valid_only_between_the_bounds(post: dict[str, Any], moment: datetime) -> None:
    """Far past (year 1, epoch zero) and far future (year 9999) are bad_timestamp; in between, a post keeps its own."""
    result = check(with_field(post, "created_at", moment.isoformat()))
    if EARLIEST_CREATED_AT <= moment <= NOW + timedelta(seconds=MAX_FUTURE_S):
        assert isinstance(result, Post) and result.created_at == moment.isoformat()
    else:
        assert code_of(result) == "bad_timestamp"


@pytest.mark.parametrize(
    ("created_at", "code"),
    [
        ("9999-12-31T23:59:59+00:00", "bad_timestamp"),  # its deadline would overflow datetime
        ("0001-01-01T00:00:00+14:00", "bad_timestamp"),  # before year 1 in UTC: overflows too
        ("1970-01-01T00:00:00Z", "bad_timestamp"),  # a producer's zero
        ("1999-12-31T23:59:59Z", "bad_timestamp"),
        ("2000-01-01T00:00:00Z", "valid"),
        ((NOW + timedelta(seconds=MAX_FUTURE_S)).isoformat(), "valid"),
        ((NOW + timedelta(seconds=MAX_FUTURE_S + 1)).isoformat(), "bad_timestamp"),
        ("2026-11-23T09:00:00+24:00", "bad_timestamp"),
        ("2026-02-30T09:00:00Z", "bad_timestamp"),
        ("2026-11-23T09:00:00", "bad_timestamp"),
        ("2026-11-23T09:00:00.000000\u202eevil+00:00", "bad_timestamp"),  # Python 3.11 parses it: text after 6 digits is skipped
        ("2026-11-23\u202e09:00:00+00:00", "bad_timestamp"),  # ... and any character separates date and time
        ("2026-11-23 09:00:00+00:00", "valid"),
        ("  2026-11-23T09:00:00Z\n", "valid"),
        ("", "bad_timestamp"),
    ],
)
def test_timestamp_edges(created_at: str, code: str) -> None:
    assert code_of(check(base_post(created_at=created_at))) == code


@RULE
@given(valid_posts(), plausible_instants, hostile_chars.filter(lambda c: c not in "0123456789TtWwZz:.,+- "), st.data())
def test_a_foreign_character_inside_a_timestamp_is_bad_timestamp(
    post: dict[str, Any], moment: datetime, char: str, data: st.DataObject
) -> None:
    """Bidi overrides, control characters, letters: a timestamp holding one is refused, not kept verbatim."""
    created = moment.isoformat(timespec="microseconds")
    at = data.draw(st.integers(1, len(created) - 1))
    assert code_of(check(with_field(post, "created_at", created[:at] + char + created[at:]))) == "bad_timestamp"


@RULE
@given(valid_posts(), st.text(hostile_chars, max_size=40))
def test_any_string_as_a_timestamp_is_valid_or_bad_timestamp(post: dict[str, Any], created_at: str) -> None:
    assert code_of(check(with_field(post, "created_at", created_at))) in ("valid", "bad_timestamp")


@RULE
@given(valid_posts(), st.text(st.one_of(st.characters(categories=["Cc", "Cf"]), st.sampled_from(BIDI + "#complaint ")), max_size=60))
def test_control_and_bidi_characters_in_text_are_kept_not_rejected(post: dict[str, Any], text: str) -> None:
    """A complaint with an RLO or a NUL in it is still a complaint: it is kept byte for byte (sinks escape it)."""
    result = check(with_field(post, "text", text))
    if text.strip():
        assert isinstance(result, Post) and result.text == text
    else:
        assert code_of(result) == "empty_text"


@RULE
@given(valid_posts(), st.dictionaries(st.text(max_size=10).filter(lambda k: k not in ("id", "text", "created_at", "author", "platform", "url", "lang", "in_reply_to", "brand", "metadata")), json_values, max_size=4))
def test_unknown_fields_are_ignored(post: dict[str, Any], extra: dict[str, Any]) -> None:
    """Producers may add their own fields (``received_at`` among them: the monitor stamps that itself)."""
    plain = check(post)
    assert isinstance(plain, Post)
    assert check({**extra, **post}) == plain


# --- the dead-letter record's copy of the raw bytes ---------------------------------------------------------------


@PROPERTY
@given(st.binary(max_size=500))
def test_raw_for_record_keeps_the_bytes(raw: bytes) -> None:
    """A dead letter can be replayed only if its ``raw`` gives back exactly the bytes that arrived."""
    import base64

    text, encoding = raw_for_record(raw)
    assert encoding in ("utf-8", "base64")
    back = text.encode("utf-8") if encoding == "utf-8" else base64.b64decode(text, validate=True)
    assert back == raw
    json.dumps({"raw": text}, ensure_ascii=False).encode("utf-8")  # the record itself is encodable
