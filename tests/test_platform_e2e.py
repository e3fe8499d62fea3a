"""End to end: native payloads in, alerts out. `pot run` on its embedded broker with the Mastodon and Bluesky
connectors pointed at local servers, `pot send --format x`, and a signed Meta delivery on POST /ingest/facebook."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from streams.platforms.connectors.kafka import read_latest
from streams.platforms.meta_webhook import sign
from streams.kafka.readers import read_topic

from .conftest import TOKEN, start_monitor, stop_monitor, wait_for
from .platform_servers import JetstreamServer, MastodonServer, ProfileServer, http_server, jet_event, status, ws_server

pytestmark = pytest.mark.e2e
FIXTURES = Path(__file__).parent / "fixtures" / "platforms"
APP_SECRET = "meta-app-secret-9f2e"
VERIFY_TOKEN = "meta-verify-4c1d"
BRAND_DID = "did:plc:acmeairbrand0000000000"


class Servers(threading.Thread):
    """The platforms' local servers, on their own event loop."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.ready = threading.Event()
        complaint = status(1, "Flight AA12 cancelled, 6 hours at the gate, nobody from the airline answers. Worst trip ever")
        question = status(2, "Does anyone know if the airline lets you bring a folded pram into the cabin?")
        self.mastodon = MastodonServer([complaint, question], script=[(0, 2, False)])
        self.jet = JetstreamServer([
            jet_event(1, "did:plc:ana00000000000000000000", "@acmeair.com my suitcase never arrived and nobody replies. I want a refund now!"),
            jet_event(2, "did:plc:bo000000000000000000000", "cats are great"),
        ])
        self.profiles = ProfileServer({
            "brand": {"did": BRAND_DID, "handle": "acmeair.com", "followersCount": 52000},
            "ana": {"did": "did:plc:ana00000000000000000000", "handle": "ana.bsky.social", "followersCount": 120},
        })

    def run(self) -> None:
        loop = asyncio.new_event_loop()

        async def start() -> None:
            self.rest, self.rest_url = await http_server([
                web.get("/api/v1/timelines/tag/{tag}", self.mastodon.tag_timeline),
                web.get("/xrpc/app.bsky.actor.getProfile", self.profiles.get_profile)])
            self.mws, self.mws_url = await ws_server(self.mastodon.stream)
            self.jws, self.jws_url = await ws_server(self.jet.handler)
            self.ready.set()

        loop.run_until_complete(start())
        loop.run_forever()


@pytest.fixture(scope="module")
def servers():
    s = Servers()
    s.start()
    assert s.ready.wait(10)
    return s


def test_native_payloads_become_alerts(servers, tmp_path):
    env = {
        "POT_CONNECTORS": '["mastodon", "bluesky"]',
        "POT_CONNECTOR_BRAND": "acmeair",
        "POT_MASTODON_URL": servers.rest_url, "POT_MASTODON_STREAMING_URL": servers.mws_url,
        "POT_MASTODON_HASHTAGS": '["acmeair"]',
        "POT_BLUESKY_JETSTREAM_URL": servers.jws_url + "/subscribe", "POT_BLUESKY_APPVIEW_URL": servers.rest_url,
        "POT_BLUESKY_HANDLES": '["acmeair.com"]',
        "POT_META_APP_SECRET": APP_SECRET, "POT_META_VERIFY_TOKEN": VERIFY_TOKEN,
    }
    monitor = start_monitor(tmp_path / "monitor", extra_env=env)
    try:
        # X: a filtered-stream message through `pot send --format x`
        sent = subprocess.run(
            [sys.executable, "-m", "streams.cli", "send", "--format", "x", str(FIXTURES / "x" / "filtered_stream_reply.json")],
            env={**__import__("os").environ, "POT_DATA_DIR": str(monitor.data_dir), "POT_TOPIC_PREFIX": "e2e."},
            capture_output=True, text=True, timeout=60)
        assert sent.returncode == 0, sent.stderr

        # Facebook: Meta's verification handshake, then a signed delivery (and an unsigned one refused)
        hub = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
        answer = httpx.get(f"{monitor.web}/ingest/facebook", params=hub)
        assert (answer.status_code, answer.text) == (200, "1158201444")
        assert httpx.get(f"{monitor.web}/ingest/facebook", params={**hub, "hub.verify_token": "guess"}).status_code == 403
        body = (FIXTURES / "facebook" / "feed_delivery.json").read_bytes()
        assert httpx.post(f"{monitor.web}/ingest/facebook", content=body).status_code == 401
        answer = httpx.post(f"{monitor.web}/ingest/facebook", content=body,
                            headers={"X-Hub-Signature-256": sign(body, APP_SECRET), "Content-Type": "application/json"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["accepted"] == ["facebook:4625653909151281_1187364055231022", "facebook:104729485631200_2789581816464191"]
        assert answer.json()["skipped"] == ["reaction add: not a post or comment"]

        # a review over POT_MAX_POST_BYTES (64 KiB): refused as POST /posts refuses one, and dead-lettered
        huge = {"id": "tp-huge", "stars": 1, "title": "long", "text": "the flight was late. " * 4000,
                "createdAt": "2026-11-23T09:00:00Z", "consumer": {"id": "c9", "displayName": "Cy"}}
        answer = httpx.post(f"{monitor.web}/ingest/trustpilot", json=huge, headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 413, answer.text
        assert [(r["code"], r["stage"]) for r in answer.json()["rejected"]] == [("too_large", "validate")]

        wanted = {
            ("x", "1860000000723259675"): "complaint",
            ("facebook", "4625653909151281_1187364055231022"): "complaint",
            ("mastodon", servers.mastodon.statuses[0]["id"]): "complaint",
            ("bluesky", "at://did:plc:ana00000000000000000000/app.bsky.feed.post/3lk000001"): "complaint",
        }

        def alerted():
            found = {(a["post"]["platform"], a["post"]["id"]): a for a in monitor.alerts()}
            return found if set(wanted) <= set(found) else None

        found = wait_for(alerted, "alerts for the X, Facebook, Mastodon and Bluesky posts", timeout=150)
        for key, label in wanted.items():
            assert found[key]["classification"]["label"] == label, (key, found[key]["classification"])
        bluesky = found[("bluesky", "at://did:plc:ana00000000000000000000/app.bsky.feed.post/3lk000001")]["post"]
        assert bluesky["author"]["handle"] == "@ana.bsky.social" and bluesky["brand"] == "acmeair"
        assert ("bluesky", "at://did:plc:bo000000000000000000000/app.bsky.feed.post/3lk000002") not in found

        cursors = read_latest([monitor.broker], "e2e.connector-cursors")
        assert cursors["mastodon:tag:acmeair"] == {"min_id": servers.mastodon.statuses[1]["id"]}
        assert cursors["bluesky:jetstream"]["time_us"] >= servers.jet.events[0]["time_us"]
        metrics = httpx.get(f"{monitor.web}/metrics").text
        assert 'pot_connector_posts_total{connector="mastodon"} 2.0' in metrics
        assert 'pot_connector_posts_total{connector="bluesky"} 1.0' in metrics
        assert 'pot_ingest_items_total{format="facebook",outcome="accepted"} 2.0' in metrics
        assert 'pot_connector_posts_total{connector="reddit"} 0.0' in metrics  # bounded labels exist from the start
        letters = read_topic(monitor.broker, "e2e.dlq", timeout_s=2)
        assert not [d for d in letters if d["stage"] == "map"]
        assert ("validate", "too_large", "http /ingest/trustpilot:1") in [
            (d["stage"], d["reason_code"], d["source_topic"]) for d in letters]
    finally:
        stop_monitor(monitor)
