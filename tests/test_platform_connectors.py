"""Connectors against local servers that speak the platforms' protocols: a connection dropped mid-stream and
resumed from the cursor loses nothing and repeats nothing (counted at the receiving end), a restart resumes
from the saved cursor, rate limits are waited out, bad frames go to the dead-letter topic."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from typing import Any

from aiohttp import web

from streams.platforms.config import BlueskySettings, MastodonSettings
from streams.platforms.connectors.base import Backoff, MemoryCursorStore, MemoryPublisher, Outlet
from streams.platforms.connectors.bluesky import BlueskyConnector
from streams.platforms.connectors.mastodon import MastodonConnector
from streams.platforms.metrics import CONNECTOR_RATE_LIMITED, CONNECTOR_RECONNECTS

from .platform_servers import (JetstreamServer, MastodonServer, ProfileServer, http_server, jet_event, status,
                               ws_server)


async def until(check, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def run_until(connector: Any, check, what: str, timeout: float = 20.0) -> None:
    connector.backoff = Backoff(base_s=0.05, cap_s=0.2, jitter=0)
    stop = asyncio.Event()
    task = asyncio.create_task(connector.run(stop))
    try:
        await until(check, what, timeout)
    finally:
        stop.set()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await connector.close()


def keys(publisher: MemoryPublisher) -> list[str]:
    return [k for k, _ in publisher.records]


def test_mastodon_drop_mid_stream_resumes_from_the_cursor_with_nothing_lost_or_twice():
    async def main() -> None:
        statuses = [status(n) for n in range(30)]
        # 1st connection streams 0-9 and drops; 10-14 are written while the client is away; 2nd streams 15-29
        server = MastodonServer(statuses, script=[(0, 10, True), (15, 30, False)])
        rest, http_url = await http_server([web.get("/api/v1/timelines/tag/{tag}", server.tag_timeline)])
        wss, ws_url = await ws_server(server.stream)
        try:
            publisher, cursors = MemoryPublisher(), MemoryCursorStore()
            settings = MastodonSettings(url=http_url, streaming_url=ws_url, hashtags=["AcmeAir"], token=None)
            reconnects = CONNECTOR_RECONNECTS.labels("mastodon")._value.get()
            conn = MastodonConnector(settings, Outlet("mastodon", "mastodon", publisher, cursors))
            await run_until(conn, lambda: len(publisher.records) >= 30 and publisher.dead, "30 posts and a dead letter")
            got = keys(publisher)
            assert Counter(got) == Counter(f"mastodon:{s['id']}" for s in statuses), "each status once"
            assert got == sorted(got), "in the order written"
            assert server.subscriptions[0] == {"type": "subscribe", "stream": "hashtag", "tag": "AcmeAir"}
            assert CONNECTOR_RECONNECTS.labels("mastodon")._value.get() > reconnects
            assert cursors.values["mastodon:tag:acmeair"] == {"min_id": statuses[-1]["id"]}
            code, record = publisher.dead[0]
            assert code == "not_json" and json.loads(record)["raw"] == "{this is not a streaming message"
            post = json.loads(publisher.records[0][1])
            assert post["text"] == "post 0 about #acmeair" and post["author"]["handle"] == "@u0@m.example"

            # A restart (new connector, same cursor store) after 5 more were written: only those 5 come.
            server.publish(0, 30)
            more = [status(n) for n in range(30, 35)]
            server.statuses.extend(more)
            server.publish(30, 35)
            server.script.append((35, 35, False))
            again = MemoryPublisher()
            conn2 = MastodonConnector(settings, Outlet("mastodon", "mastodon", again, cursors))
            await run_until(conn2, lambda: len(again.records) >= 5, "the 5 written during the restart")
            await asyncio.sleep(0.2)
            assert keys(again) == [f"mastodon:{s['id']}" for s in more]
        finally:
            wss.close()
            await rest.cleanup()

    asyncio.run(main())


def test_mastodon_rate_limit_is_waited_out():
    async def main() -> None:
        statuses = [status(n) for n in range(3)]
        server = MastodonServer(statuses, script=[(0, 0, False)], rate_limit_first=True)
        server.publish(0, 3)
        rest, http_url = await http_server([web.get("/api/v1/timelines/tag/{tag}", server.tag_timeline)])
        wss, ws_url = await ws_server(server.stream)
        try:
            publisher = MemoryPublisher()
            before = CONNECTOR_RATE_LIMITED.labels("mastodon")._value.get()
            conn = MastodonConnector(MastodonSettings(url=http_url, streaming_url=ws_url, hashtags=["acmeair"]),
                                     Outlet("mastodon", "mastodon", publisher, MemoryCursorStore()))
            await run_until(conn, lambda: len(publisher.records) >= 3, "the page after the 429")
            assert CONNECTOR_RATE_LIMITED.labels("mastodon")._value.get() == before + 1
            assert server.rest_calls[1] - server.rest_calls[0] >= 0.9, "waited the Retry-After second"
        finally:
            wss.close()
            await rest.cleanup()

    asyncio.run(main())


BRAND_DID = "did:plc:acmeairbrand0000000000"
PROFILES = {
    "brand": {"did": BRAND_DID, "handle": "acmeair.com", "followersCount": 52000, "displayName": "Acme Air",
              "verification": {"verifiedStatus": "valid"}},
    "ana": {"did": "did:plc:ana00000000000000000000", "handle": "ana.bsky.social", "followersCount": 120},
    "bo": {"did": "did:plc:bo000000000000000000000", "handle": "bo.bsky.social", "followersCount": 7},
}


def jetstream_events() -> tuple[list[dict[str, Any]], set[str]]:
    """60 posts; the relevant ones mention @acmeair.com, say a keyword, reply to the brand, or are the brand's."""
    events, relevant = [], set()
    for n in range(60):
        did = PROFILES["ana"]["did"] if n % 2 else PROFILES["bo"]["did"]
        kind = n % 6
        if kind == 0:
            event = jet_event(n, did, f"@acmeair.com flight {n} cancelled, no refund yet")
        elif kind == 1:
            event = jet_event(n, did, f"lost luggage again ({n})")  # keyword
        elif kind == 2:
            event = jet_event(n, did, "thanks!", reply_to=f"at://{BRAND_DID}/app.bsky.feed.post/3lkbrand{n}")
        elif kind == 3 and n % 12 == 3:
            event = jet_event(n, BRAND_DID, f"@ana.bsky.social so sorry, DM us ({n})")
        else:
            event = jet_event(n, did, f"cats are great {n}")  # not about the brand
            events.append(event)
            continue
        events.append(event)
        relevant.add(f"bluesky:at://{event['did']}/app.bsky.feed.post/{event['commit']['rkey']}")
    return events, relevant


def test_jetstream_drop_and_restart_resume_from_time_us_with_nothing_lost_or_twice():
    async def main() -> None:
        events, relevant = jetstream_events()
        jet = JetstreamServer(events[:45], drop_after=[17, 9], bad_frame_at=5)
        profiles = ProfileServer(PROFILES)
        rest, appview = await http_server([web.get("/xrpc/app.bsky.actor.getProfile", profiles.get_profile)])
        wss, ws_url = await ws_server(jet.handler)
        try:
            publisher, cursors = MemoryPublisher(), MemoryCursorStore()
            settings = BlueskySettings(jetstream_url=ws_url + "/subscribe", appview_url=appview,
                                       handles=["@acmeair.com"], keywords=["lost luggage"])
            first45 = {k for k in relevant if any(k.endswith(e["commit"]["rkey"]) for e in events[:45])}
            conn = BlueskyConnector(settings, Outlet("bluesky", "bluesky", publisher, cursors, brand="acmeair"))
            await run_until(conn, lambda: set(keys(publisher)) >= first45, "the relevant posts of the first 45 events")
            assert len(jet.connections) >= 3, "dropped twice, connected three times"
            assert jet.connections[0]["wantedCollections"] == ["app.bsky.feed.post"]
            assert "cursor" not in jet.connections[0] and "cursor" in jet.connections[1]
            assert Counter(keys(publisher)) == Counter(first45), "each relevant post once, nothing else"
            assert cursors.values["bluesky:jetstream"]["time_us"] >= max(
                e["time_us"] for e in events[:45] if f"bluesky:at://{e['did']}/app.bsky.feed.post/{e['commit']['rkey']}" in first45)
            assert sorted(Counter(profiles.calls).values())[-1] == 1, "each profile looked up once (cached)"
            assert [code for code, _ in publisher.dead] == ["not_json"]
            by_key = {k: json.loads(v) for k, v in publisher.records}
            ana_post = next(p for p in by_key.values() if p["author"]["id"] == PROFILES["ana"]["did"])
            assert ana_post["author"]["handle"] == "@ana.bsky.social" and ana_post["author"]["followers"] == 120
            assert ana_post["brand"] == "acmeair"
            brand_post = next(p for p in by_key.values() if p["author"]["id"] == BRAND_DID)
            assert brand_post["author"]["verified"] is True

            # Restart: a new connector with the saved cursor, the rest of the events now on the server.
            jet.events = events
            jet.drop_after = []
            again = MemoryPublisher()
            conn2 = BlueskyConnector(settings, Outlet("bluesky", "bluesky", again, cursors))
            rest_relevant = relevant - first45
            await run_until(conn2, lambda: set(keys(again)) >= rest_relevant, "the relevant posts of events 45-59")
            await asyncio.sleep(0.2)
            assert Counter(keys(again)) == Counter(rest_relevant), "after the restart: only what was not sent"
        finally:
            wss.close()
            await rest.cleanup()

    asyncio.run(main())


def test_x_stream_dropped_and_rate_limited_catches_up_by_recent_search():
    from streams.platforms.config import XSettings
    from streams.platforms.connectors.x import XConnector

    from .platform_servers import XServer, tweet

    async def main() -> None:
        tweets = [tweet(n) for n in range(25)]
        # stream: 0-7 then drop (8-11 written meanwhile), a 429, then 12-24 and a bad line
        server = XServer(tweets, stream_script=[(0, 8, True), "429", (12, 25, False)])
        server.searchable = 0
        runner, url = await http_server(server.routes())
        try:
            publisher, cursors = MemoryPublisher(), MemoryCursorStore()
            settings = XSettings(api_url=url, bearer_token="x-test-bearer", rules=["@acmeair -is:retweet"])
            limited = CONNECTOR_RATE_LIMITED.labels("x")._value.get()
            conn = XConnector(settings, Outlet("x", "x", publisher, cursors))
            await run_until(conn, lambda: len(publisher.records) >= 25 and publisher.dead, "25 tweets and a dead letter")
            assert Counter(keys(publisher)) == Counter(f"x:{t['id']}" for t in tweets)
            assert server.rules == [{"id": "1", "value": "@acmeair -is:retweet", "tag": "pot: @acmeair -is:retweet"}]
            assert CONNECTOR_RATE_LIMITED.labels("x")._value.get() == limited + 1
            assert server.stream_calls[2] - server.stream_calls[1] >= 1.0, "waited for x-rate-limit-reset"
            assert cursors.values["x:since"] == {"since_id": tweets[-1]["id"]}
            assert set(server.auth) == {"Bearer x-test-bearer"}
            first = json.loads(publisher.records[0][1])
            assert (first["author"]["handle"], first["author"]["followers"]) == ("@flyer0", 1)
        finally:
            await runner.cleanup()

    asyncio.run(main())


def test_reddit_polls_new_things_once_and_resumes_after_restart():
    from streams.platforms.config import RedditSettings
    from streams.platforms.connectors.reddit import RedditConnector

    from .platform_servers import RedditServer

    def thing(kind: str, n: int) -> dict[str, Any]:
        base = {"name": f"{kind}_{n + 1000:x}", "id": f"{n + 1000:x}", "author": f"user{n}", "author_fullname": f"t2_{n}",
                "created_utc": 1795424400.0 + n, "subreddit": "acmeair", "permalink": f"/r/acmeair/comments/x/{kind}{n}/"}
        return {"kind": kind, "data": {**base, "title": f"delayed again {n}", "selftext": ""} if kind == "t3"
                else {**base, "body": f"same here {n}", "parent_id": "t3_abc"}}

    async def main() -> None:
        server = RedditServer([thing("t3", n) for n in range(0, 40, 2)], [thing("t1", n) for n in range(1, 40, 2)],
                              visible=10, rate_limit_at=3)
        runner, url = await http_server(server.routes())
        try:
            publisher, cursors = MemoryPublisher(), MemoryCursorStore()
            settings = RedditSettings(api_url=url, token_url=url + "/api/v1/access_token", client_id="cid",
                                      client_secret="csecret", subreddits=["acmeair"], poll_s=0.1)
            conn = RedditConnector(settings, Outlet("reddit", "reddit", publisher, cursors))
            server_grow = asyncio.get_running_loop().call_later(1.5, setattr, server, "visible", 15)
            await run_until(conn, lambda: len(publisher.records) >= 30, "15 submissions and 15 comments")
            server_grow.cancel()
            assert len(keys(publisher)) == len(set(keys(publisher))) == 30
            kinds = [k for k, _ in server.calls]
            assert kinds[:2] == ["new", "comments"] and server.tokens == 1
            (k429, t429), (k_next, t_next) = server.calls[2], server.calls[3]
            assert t_next - t429 >= 0.9, "waited X-Ratelimit-Reset after the 429"
            server.visible = 20
            again = MemoryPublisher()
            conn2 = RedditConnector(settings, Outlet("reddit", "reddit", again, cursors))
            await run_until(conn2, lambda: len(again.records) >= 10, "the 10 new after the restart")
            await asyncio.sleep(0.3)
            assert len(again.records) == 10 and not set(keys(again)) & set(keys(publisher))
        finally:
            await runner.cleanup()

    asyncio.run(main())
