"""Mapping tables: each platform's published payload shapes (fixtures under tests/fixtures/platforms/)
in, posts of the wire contract out, field by field, and each one valid by the pipeline's own rules."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from streams.platforms import PLATFORMS, Context, available, canonical_platform, get, map_lines, map_payload
from streams.platforms.registry import UnknownFormat

FIXTURES = Path(__file__).parent / "fixtures" / "platforms"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def payloads(name: str) -> list:
    path = FIXTURES / name
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [json.loads(path.read_text())]


def mapped(fmt: str, name: str, ctx: Context = Context()) -> tuple[list[dict], list[str]]:
    posts, skipped = [], []
    for payload in payloads(name):
        valid, rejected, skip = map_payload(fmt, payload, ctx, now=NOW)
        assert rejected == [], rejected
        posts.extend(json.loads(raw) for _, raw in valid)
        skipped.extend(skip)
    return posts, skipped


def pick(post: dict, fields: tuple[str, ...]) -> tuple:
    """Dotted field paths of a post, for the tables below."""
    out = []
    for path in fields:
        value = post
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        out.append(value)
    return tuple(out)


FIELDS = ("id", "platform", "created_at", "author.id", "author.handle", "author.followers", "author.verified",
          "url", "lang", "in_reply_to")

TABLES = {
    ("x", "x/filtered_stream_reply.json"): [
        ("1860000000723259675", "x", "2026-11-23T09:12:41.000Z", "2244994945", "@tomhalloran", 842, False,
         "https://x.com/tomhalloran/status/1860000000723259675", "en", "1860000000000000001"),
    ],
    ("x", "x/search_recent_page.json"): [
        ("1860000001157909314", "x", "2026-11-23T09:20:03.000Z", "783214", "@carmen_viaja", 250000, True,
         "https://x.com/carmen_viaja/status/1860000001157909314", "es", None),
        ("1860000001157909400", "x", "2026-11-23T09:21:00.000Z", "9999", None, 0, False,
         "https://x.com/i/web/status/1860000001157909400", None, None),
    ],
    ("mastodon", "mastodon/status.json"): [
        ("113529001203456789", "mastodon", "2026-11-23T09:05:11.512Z", "109334860508022726", "@jonas@chaos.social",
         403, False, "https://chaos.social/@jonas/113529001203456789", "de", "113528990000000001"),
    ],
    ("mastodon", "mastodon/streaming_events.jsonl"): [
        ("113529001203456789", "mastodon", "2026-11-23T09:05:11.512Z", "109334860508022726", "@jonas@chaos.social",
         403, False, "https://chaos.social/@jonas/113529001203456789", "de", "113528990000000001"),
        ("113529001203456790", "mastodon", "2026-11-23T09:05:11.512Z", "109334860508022726", "@jonas@chaos.social",
         403, False, "https://chaos.social/@jonas/113529001203456790", "de", None),
    ],
    ("bluesky", "bluesky/jetstream_events.jsonl"): [
        ("at://did:plc:eygmaihciaxprqvxpfvl6flk/app.bsky.feed.post/3lbu4wqkxgs2e", "bluesky", "2026-11-23T09:05:02.102Z",
         "did:plc:eygmaihciaxprqvxpfvl6flk", None, 0, False,
         "https://bsky.app/profile/did:plc:eygmaihciaxprqvxpfvl6flk/post/3lbu4wqkxgs2e", "en", None),
        ("at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.post/3lbu4wr1111e", "bluesky", "2026-11-23T09:05:03.000Z",
         "did:plc:z72i7hdynmk6r22z27h6tvur", None, 0, False,
         "https://bsky.app/profile/did:plc:z72i7hdynmk6r22z27h6tvur/post/3lbu4wr1111e", "de",
         "at://did:plc:freshboxbrand000000000/app.bsky.feed.post/3lbu4bbbbbb2e"),
    ],
    ("reddit", "reddit/new_comments.json"): [
        ("t1_lz3k9qx", "reddit", "2026-11-23T09:03:21Z", "t2_8mi2w3ab", "u/cilantro_hater_99", 0, False,
         "https://www.reddit.com/r/mealkits/comments/1gxflai/freshbox_anyone_else_getting_the_wrong_box/lz3k9qx/", None,
         "t3_1gxflai"),
        ("t1_lz3k2aa", "reddit", "2026-11-23T09:05:01Z", "t2_brand01", "u/FreshBox_Official", 0, False,
         "https://www.reddit.com/r/mealkits/comments/1gxflai/x/lz3k2aa/", None, "t1_lz3k9qx"),
    ],
    ("reddit", "reddit/new_submissions.json"): [
        ("t3_1hmdkt9", "reddit", "2026-11-23T09:06:16Z", "t2_5x1y", "u/sciatore_trentino", 0, False,
         "https://www.reddit.com/r/italy/comments/1hmdkt9/qualcuno_sa_se_voltmobile_prende_bene_in/", None, None),
    ],
    ("facebook", "facebook/feed_delivery.json"): [
        ("4625653909151281_1187364055231022", "facebook", "2026-11-23T09:03:16Z", "7791002233445566", "Daniel Okafor", 0,
         False, "https://www.facebook.com/104729485631200_4625653909151281?comment_id=4625653909151281_1187364055231022",
         None, "104729485631200_4625653909151281"),
        ("104729485631200_2789581816464191", "facebook", "2026-11-23T09:04:15Z", "5550001112223334", "Lucia Ferraro", 0,
         False, "https://www.facebook.com/104729485631200_2789581816464191", None, None),
    ],
    ("instagram", "instagram/comments_delivery.json"): [
        ("17865799348089039", "instagram", "2026-11-23T09:04:39Z", "232323232", "@lena.veggie", 0, False, None, None,
         "17918195224117851"),
        ("17865799348089040", "instagram", "2026-11-23T09:04:39Z", "17841405822304914", "@freshbox.de", 0, False, None,
         None, "17865799348089039"),
    ],
    ("trustpilot", "trustpilot/business_unit_reviews.json"): [
        ("6741a8f2e1b3c40d2a7f1c22", "trustpilot", "2026-11-23T09:06:10Z", "5d2f0a1b9c8e7f0012ab34cd", "Jess M", 0, False,
         "https://www.trustpilot.com/reviews/6741a8f2e1b3c40d2a7f1c22", "en", None),
    ],
    ("trustpilot", "trustpilot/webhook_events.json"): [
        ("6741b0aa7e5d2c001f9e8a31", "trustpilot", "2026-11-23T09:13:31Z", "5e77aa01b2c3d40011ef0099", "Julien Bertrand",
         0, False, "https://www.trustpilot.com/reviews/6741b0aa7e5d2c001f9e8a31", "fr", None),
    ],
    ("google", "google/reviews_list.json"): [
        ("AbFvOqn4x2kQ", "google", "2026-11-23T09:12:19.114Z", "a-/ALV-UjW3x9", "Hanna K.", 0, False, None, None, None),
    ],
}


@pytest.mark.parametrize(("fmt", "fixture"), list(TABLES), ids=[f for _, f in TABLES])
def test_mapping_table(fmt, fixture):
    posts, _ = mapped(fmt, fixture)
    assert [pick(p, FIELDS) for p in posts] == TABLES[(fmt, fixture)]


SKIPPED = {
    ("mastodon", "mastodon/streaming_events.jsonl"): ["deleted", "filters_changed"],
    ("bluesky", "bluesky/jetstream_events.jsonl"): ["deleted", "app.bsky.feed.like", "identity"],
    ("reddit", "reddit/new_comments.json"): ["t1_lz3k8zz deleted"],
    ("facebook", "facebook/feed_delivery.json"): ["reaction"],
    ("google", "google/reviews_list.json"): ["1-star rating without a comment"],
}


@pytest.mark.parametrize(("fmt", "fixture"), list(SKIPPED), ids=[f for _, f in SKIPPED])
def test_what_is_not_a_post_is_skipped_with_a_reason(fmt, fixture):
    _, skipped = mapped(fmt, fixture)
    assert len(skipped) == len(SKIPPED[(fmt, fixture)])
    for reason, word in zip(skipped, SKIPPED[(fmt, fixture)]):
        assert word in reason


def test_texts():
    x = mapped("x", "x/filtered_stream_reply.json")[0][0]
    assert x["text"] == "@skyjet 2h on the tarmac at Gatwick with the aircon off & not one announcement"
    long = mapped("x", "x/search_recent_page.json")[0][1]
    assert long["text"].startswith("@skyjet 👀 a long post")  # note_tweet carries the whole text
    toot = mapped("mastodon", "mastodon/status.json")[0][0]
    assert toot["text"] == ("@voltmobile Seit 4 Tagen kein Netz in Köln-Ehrenfeld & die Hotline legt auf.\n\n"
                            "Wenn das bis Freitag nicht läuft, kündige ich.\nDanke für nichts. #netzausfall")
    submission = mapped("reddit", "reddit/new_submissions.json")[0][0]
    assert submission["text"] == ("Qualcuno sa se VoltMobile prende bene in Val di Fassa?\n\n"
                                  "A dicembre vado su a sciare e devo lavorare da remoto. Grazie!")
    review = mapped("trustpilot", "trustpilot/business_unit_reviews.json")[0][0]
    assert review["text"].startswith("Bill screen takes forever\n\nApp works")


def test_metadata_keeps_ratings_and_platform_context():
    assert mapped("trustpilot", "trustpilot/business_unit_reviews.json")[0][0]["metadata"]["rating"] == 2
    assert mapped("trustpilot", "trustpilot/webhook_events.json")[0][0]["metadata"]["rating"] == 5
    google = mapped("google", "google/reviews_list.json")[0][0]["metadata"]
    assert google == {"rating": 2, "rating_max": 5, "location": "accounts/106324759202398/locations/4567123409876",
                      "updated_at": "2026-11-23T09:12:19.114Z"}
    assert mapped("x", "x/filtered_stream_reply.json")[0][0]["metadata"]["matching_rules"] == ["brand mentions"]
    assert mapped("reddit", "reddit/new_comments.json")[0][0]["metadata"]["subreddit"] == "mealkits"
    edited = mapped("mastodon", "mastodon/streaming_events.jsonl")[0][1]
    assert edited["metadata"]["edited_at"] == "2026-11-23T09:07:29.023Z"


def test_bluesky_profiles_fill_handle_and_followers():
    profile = payloads("bluesky/get_profile.json")[0]
    ctx = Context(brand="freshbox", profiles={profile["did"]: profile})
    first = mapped("bluesky", "bluesky/jetstream_events.jsonl", ctx)[0][0]
    assert pick(first, ("author.handle", "author.followers", "author.verified", "brand")) == (
        "@lena-veggie.bsky.social", 3310, False, "freshbox")
    assert first["metadata"]["mentions"] == ["did:plc:freshboxbrand000000000"]


def test_every_format_is_registered_under_its_canonical_name():
    assert set(PLATFORMS) <= set(available())
    assert [canonical_platform(n) for n in ("Twitter", "X", "bsky", "FB", "ig", "gbp")] == [
        "x", "x", "bluesky", "facebook", "instagram", "google"]
    assert get("twitter") is get("x")
    with pytest.raises(UnknownFormat, match="known: bluesky"):
        get("myspace")


def test_unmappable_lines_are_reported_with_numbers_and_reasons():
    lines = [
        json.dumps(payloads("x/filtered_stream_reply.json")[0]).encode(),
        b"",
        b"{not json",
        json.dumps({"errors": [{"title": "ConnectionException"}]}).encode(),
        json.dumps({"data": {"id": "5", "text": "hi", "author_id": "1"}}).encode(),  # no created_at
        json.dumps({"data": {"id": "6", "text": "  ", "author_id": "1", "created_at": "2026-11-23T09:00:00Z"}}).encode(),
        json.dumps({"data": {"id": "7", "text": "from the future", "author_id": "1", "created_at": "2031-01-01T00:00:00Z"}}).encode(),
        json.dumps({"data": {"id": "8", "text": "epoch time", "author_id": "1", "created_at": 1732352400}}).encode(),
    ]
    result = map_lines("x", lines, now=NOW)
    assert [(n, p.key) for n, p, _ in result.posts] == [(1, "x:1860000000723259675")]
    # the stage says where it failed: the mapper could not read lines 4 and 5; it mapped 6 to 8, their posts are invalid
    assert [(r.line, r.code, r.stage) for r in result.rejected] == [
        (3, "not_json", "validate"), (4, "unknown_shape", "map"), (5, "missing_field", "map"),
        (6, "empty_text", "validate"), (7, "bad_timestamp", "validate"), (8, "wrong_type", "validate")]
    assert "created_at" in result.rejected[2][2]
    assert result.rejected[0][3] == b"{not json"  # the native line, for the dead-letter topic


@pytest.mark.parametrize("fmt", PLATFORMS)
def test_hostile_values_never_crash_a_mapper(fmt):
    odd = [None, 7, "x", [], [None], {"data": None}, {"kind": "Listing", "data": {"children": [5]}},
           {"object": "page", "entry": [{"changes": [{"field": "feed", "value": {"item": "comment", "message": "m"}}]}]},
           {"object": "instagram", "entry": "nope"}, {"event": "update", "payload": "{bad"},
           {"kind": "commit", "did": "d", "commit": {"collection": "app.bsky.feed.post", "operation": "create", "rkey": "r"}},
           {"reviews": [{"reviewId": "r", "comment": "c", "createTime": 5}]}, {"stars": 1, "id": "1", "consumer": "c"}]
    for payload in odd:
        posts, rejected, _ = map_payload(fmt, payload, now=NOW)
        for code, reason, stage in rejected:
            assert code and reason and stage in ("map", "validate")
