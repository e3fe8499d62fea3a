"""Validation: every kind of bad input is rejected with a code and a reason; valid posts pass whole."""

from __future__ import annotations

import json

import pytest

from streams.core.validation import REASON_CODES, InvalidPost, parse_post, raw_for_record


def post(**overrides):
    base = {
        "id": "123",
        "platform": "twitter",
        "text": "My parcel is 2 weeks late @shop",
        "created_at": "2026-11-23T09:00:00+02:00",
        "author": {"id": "u1", "handle": "@ana", "followers": 12, "verified": False},
        "lang": "en",
    }
    base.update(overrides)
    return base


def encode(obj) -> bytes:
    return json.dumps(obj).encode()


def test_valid_post_keeps_every_field():
    parsed = parse_post(encode(post(url="https://x.test/1", brand="shop", metadata={"k": 1}, extra="ignored")))
    assert parsed.key == "twitter:123"
    assert parsed.author.followers == 12
    assert parsed.url == "https://x.test/1"
    assert parsed.metadata == {"k": 1}
    assert parsed.created_at == "2026-11-23T09:00:00+02:00"


def test_only_required_fields_is_enough():
    parsed = parse_post(encode({"id": "9", "text": "hi", "created_at": "2026-11-23T09:00:00Z", "author": {"id": "a"}}))
    assert parsed.platform == "unknown"
    assert parsed.author.handle is None


@pytest.mark.parametrize(
    ("raw", "code", "words"),
    [
        (b"not json at all", "not_json", "not JSON"),
        (b"\xff\xfe{}", "not_utf8", "not UTF-8"),
        (b"[1, 2]", "not_object", "JSON object"),
        (encode({"text": "x"}), "missing_field", "id, created_at, author.id"),
        (encode(post(author={"handle": "@x"})), "missing_field", "author.id"),
        (encode(post(id=123)), "wrong_type", "id"),
        (encode(post(text=["a"])), "wrong_type", "text"),
        (encode(post(author={"id": "u", "followers": "many"})), "wrong_type", "followers"),
        (encode(post(author={"id": "u", "followers": -3})), "wrong_type", "negative"),
        (encode(post(created_at="yesterday")), "bad_timestamp", "yesterday"),
        (encode(post(created_at="2026-11-23T09:00:00")), "bad_timestamp", "offset"),
        (encode(post(text="   ")), "empty_text", "empty"),
        (b"[" * 100000, "not_json", "nested"),
    ],
)
def test_bad_input_is_rejected_with_reason(raw, code, words):
    with pytest.raises(InvalidPost) as info:
        parse_post(raw, max_bytes=1_000_000)
    assert info.value.code == code
    assert code in REASON_CODES
    assert words in info.value.reason


def test_size_limit():
    big = encode(post(text="x" * 70_000))
    with pytest.raises(InvalidPost) as info:
        parse_post(big)
    assert info.value.code == "too_large"
    assert parse_post(big, max_bytes=100_000).text == "x" * 70_000


def test_raw_bytes_kept_as_text_or_base64():
    assert raw_for_record(b'{"a": 1}') == ('{"a": 1}', "utf-8")
    text, encoding = raw_for_record(b"\xff\x00\x01")
    assert encoding == "base64" and text == "/wAB"
