"""One canonical name per platform, everywhere: a post sent as `twitter` is an `x` post for the dedupe key,
the author key, the metrics label, the policy's `platform:` matchers, VIP lists and brand accounts."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from streams import metrics
from streams.core.authors import new_context
from streams.core.handling import brand_accounts
from streams.core.keywords import KeywordMatcher
from streams.core.policy import parse_policy
from streams.core.records import Classification
from streams.core.routing import author_labels, decide
from streams.core.validation import parse_post
from streams.core.vocabulary import PLATFORMS, canonical_platform
from streams.platforms import Context, available, get

NOW = datetime(2026, 11, 23, 9, 5, tzinfo=timezone.utc)
COMPLAINT = Classification(label="complaint", confidence=0.9, scores={"complaint": 0.9}, lang="en", model="m", model_version="1")


def sent_as(platform: str, author: str = "u1", handle: str | None = None) -> bytes:
    return json.dumps({
        "id": "123", "platform": platform, "text": "my parcel is late", "created_at": "2026-11-23T09:00:00+00:00",
        "author": {"id": author, "handle": handle},
    }).encode()


@pytest.mark.parametrize(("written", "canonical"), [
    ("twitter", "x"), ("Twitter", "x"), ("x", "x"), (" X ", "x"), ("bsky", "bluesky"), ("fb", "facebook"),
    ("ig", "instagram"), ("gbp", "google"), ("Reddit", "reddit"), ("TikTok", "tiktok"),
])
def test_a_post_is_keyed_and_counted_under_its_canonical_platform(written, canonical):
    post = parse_post(sent_as(written))
    assert post.platform == canonical
    assert post.key == f"{canonical}:123"
    assert json.loads(post.dumps())["platform"] == canonical  # what the next topics carry
    assert metrics.bounded(post.platform, metrics.PLATFORMS) == canonical


def test_a_blank_platform_is_unknown_as_a_missing_one():
    assert parse_post(sent_as("  ")).key == "unknown:123"


def test_the_same_post_sent_under_two_names_has_one_dedupe_key():
    assert parse_post(sent_as("twitter")).key == parse_post(sent_as("x")).key


def test_every_metrics_platform_is_canonical_and_every_mapper_is_counted():
    assert all(canonical_platform(name) == name for name in metrics.PLATFORMS)
    assert set(PLATFORMS) <= set(metrics.PLATFORMS)
    assert set(PLATFORMS) <= set(available())
    assert all(canonical_platform(name) == name for name in available())


def test_mapper_posts_carry_their_canonical_platform():
    mapped = get("twitter")({"data": {"id": "1", "text": "late", "author_id": "9", "created_at": "2026-11-23T09:00:00Z"}}, Context())
    assert [post["platform"] for post in mapped.posts] == ["x"]


def test_a_policy_route_for_twitter_catches_x_posts():
    policy = parse_policy({
        "receivers": {"console": {"type": "console"}, "social": {"type": "jsonl"}},
        "routes": {"receivers": ["console"], "routes": [{"match": {"platform": ["Twitter", "bsky"]}, "receivers": ["social"]}]},
    })
    assert policy.routes.routes[0].match["platform"] == ["x", "bluesky"]
    for written in ("x", "twitter"):
        decision = decide(parse_post(sent_as(written)), COMPLAINT, new_context(), policy, KeywordMatcher([]), NOW)
        assert decision is not None and decision.routes[-1].receivers == ("social",), written
    other = decide(parse_post(sent_as("reddit")), COMPLAINT, new_context(), policy, KeywordMatcher([]), NOW)
    assert other is not None and other.routes[-1].receivers == ("console",)


@pytest.mark.parametrize("vip_entry", ["twitter:u1", "x:u1", "Twitter:u1"])
@pytest.mark.parametrize("written", ["x", "twitter"])
def test_a_vip_entry_under_any_name_matches(vip_entry, written):
    policy = parse_policy({"reach": {"vip": {"authors": [vip_entry], "window": "15m", "priority": "P1"}}})
    decision = decide(parse_post(sent_as(written)), COMPLAINT, new_context(), policy, KeywordMatcher([]), NOW)
    assert decision is not None
    assert any("VIP" in reason for reason in decision.alert.reasons)
    assert decision.alert.priority == "P1"


def test_a_vip_entry_of_another_platform_does_not_match():
    policy = parse_policy({"reach": {"vip": {"authors": ["reddit:u1"], "window": "15m"}}})
    decision = decide(parse_post(sent_as("twitter")), COMPLAINT, new_context(), policy, KeywordMatcher([]), NOW)
    assert decision is not None and not any("VIP" in reason for reason in decision.alert.reasons)


def test_brand_accounts_and_author_matchers_are_folded_too():
    policy = parse_policy({
        "brand_accounts": ["twitter:brand-1", "@acme"],
        "routes": {"receivers": ["console", "jsonl"], "routes": [{"match": {"author": "fb:u7"}, "receivers": ["jsonl"]}]},
    })
    assert author_labels(parse_post(sent_as("twitter", author="brand-1"))) & brand_accounts(policy)
    assert policy.routes.routes[0].match["author"] == "facebook:u7"
    decision = decide(parse_post(sent_as("facebook", author="u7")), COMPLAINT, new_context(), policy, KeywordMatcher([]), NOW)
    assert decision is not None and decision.routes[-1].receivers == ("jsonl",)


def test_ids_that_hold_colons_are_left_alone():
    policy = parse_policy({"reach": {"vip": {"authors": ["did:plc:abc", "bsky:did:plc:abc"], "window": "15m"}}})
    assert policy.reach.vip.authors == ["did:plc:abc", "bluesky:did:plc:abc"]
