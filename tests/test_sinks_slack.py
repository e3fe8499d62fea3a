"""The Slack sink against a local server that behaves like Slack's Web API and incoming webhooks."""

from __future__ import annotations

import asyncio
import json
import re
import time

import pytest

from sinks.base import DeliveryError
from sinks.pipeline import deliver_with_retry
from sinks.slack import SlackSink
from sinks.slack_blocks import build_message
from tests.sink_servers import HOSTILE_HANDLE, HOSTILE_TEXT, FakeSlack, free_port, make_alert, plain, serve, slack_error

TOKEN = "xoxb-test-1111-2222-tokenvalue"


def web_api(fake: FakeSlack, base: str, **kwargs: object) -> SlackSink:
    return SlackSink(token=fake.token, channel=fake.channel, api_url=f"{base}/api", **kwargs)  # type: ignore[arg-type]


def test_posts_blocks_with_the_bearer_token_and_returns_ts() -> None:
    async def scenario() -> None:
        fake = FakeSlack(TOKEN)
        async with serve(fake.app()) as base:
            sink = web_api(fake, base)
            await sink.start()
            result = await sink.deliver(make_alert())
            await sink.close()
        assert result.ref == "1714568400.000001"
        (seen,) = fake.seen
        assert seen.headers["Authorization"] == f"Bearer {TOKEN}"
        assert seen.headers["Content-Type"].startswith("application/json")
        body = json.loads(seen.body)
        assert body["channel"] == "C0ALERTS" and body["unfurl_links"] is False
        assert "COMPLAINT" in body["text"] and body["blocks"][0]["type"] == "header"
        assert "P1" in body["blocks"][0]["text"]["text"]

    asyncio.run(scenario())


def test_waits_the_retry_after_of_a_429_then_succeeds() -> None:
    async def scenario() -> None:
        fake = FakeSlack(TOKEN, script=[slack_error("ratelimited", status=429, retry_after="1")])
        async with serve(fake.app()) as base:
            sink = web_api(fake, base)
            result, attempts = await deliver_with_retry(sink, make_alert(), base_delay_s=0.01)
            await sink.close()
        assert attempts == 2 and result.ref
        assert fake.seen[1].at - fake.seen[0].at >= 0.95

    asyncio.run(scenario())


def test_ratelimited_in_a_200_body_is_retryable_with_its_retry_after() -> None:
    async def scenario() -> DeliveryError:
        fake = FakeSlack(TOKEN, script=[slack_error("ratelimited", retry_after="1")])
        async with serve(fake.app()) as base:
            sink = web_api(fake, base)
            with pytest.raises(DeliveryError) as caught:
                await sink.deliver(make_alert())
            await sink.close()
        return caught.value

    error = asyncio.run(scenario())
    assert error.retryable and error.retry_after_s == 1.0


@pytest.mark.parametrize("reply", [slack_error("internal_error"), plain(503, "upstream down"), plain(500)])
def test_server_side_failures_are_retryable(reply) -> None:
    async def scenario() -> DeliveryError:
        fake = FakeSlack(TOKEN, script=[reply])
        async with serve(fake.app()) as base:
            sink = web_api(fake, base)
            with pytest.raises(DeliveryError) as caught:
                await sink.deliver(make_alert())
            await sink.close()
        return caught.value

    assert asyncio.run(scenario()).retryable


@pytest.mark.parametrize(
    ("token", "channel", "code"),
    [(TOKEN, "C0WRONG", "channel_not_found"), ("xoxb-revoked", "C0ALERTS", "invalid_auth")],
)
def test_permanent_errors_stop_at_once(token: str, channel: str, code: str) -> None:
    async def scenario() -> DeliveryError:
        fake = FakeSlack(TOKEN)
        async with serve(fake.app()) as base:
            sink = SlackSink(token=token, channel=channel, api_url=f"{base}/api")
            started = time.monotonic()
            with pytest.raises(DeliveryError) as caught:
                await deliver_with_retry(sink, make_alert(), base_delay_s=0.5)
            assert time.monotonic() - started < 0.5
            await sink.close()
        assert len(fake.seen) == 1
        return caught.value

    error = asyncio.run(scenario())
    assert not error.retryable and code in str(error)


@pytest.mark.parametrize("reply", [slack_error("not_in_channel"), plain(404, "not found"), plain(400, "bad")])
def test_other_errors_and_4xx_are_permanent(reply) -> None:
    async def scenario() -> DeliveryError:
        fake = FakeSlack(TOKEN, script=[reply])
        async with serve(fake.app()) as base:
            sink = web_api(fake, base)
            with pytest.raises(DeliveryError) as caught:
                await sink.deliver(make_alert())
            await sink.close()
        return caught.value

    assert not asyncio.run(scenario()).retryable


def test_timeouts_and_refused_connections_are_retryable() -> None:
    async def slow() -> DeliveryError:
        from aiohttp import web

        async def hang(request: web.Request) -> web.Response:
            await asyncio.sleep(2)
            return web.json_response({"ok": True, "ts": "1"})

        app = web.Application()
        app.router.add_post("/api/chat.postMessage", hang)
        async with serve(app) as base:
            sink = SlackSink(token=TOKEN, channel="C0ALERTS", api_url=f"{base}/api", timeout_s=0.2)
            with pytest.raises(DeliveryError) as caught:
                await sink.deliver(make_alert())
            await sink.close()
        return caught.value

    async def refused() -> DeliveryError:
        sink = SlackSink(token=TOKEN, channel="C0ALERTS", api_url=f"http://127.0.0.1:{free_port()}/api")
        with pytest.raises(DeliveryError) as caught:
            await sink.deliver(make_alert())
        await sink.close()
        return caught.value

    timed_out, no_server = asyncio.run(slow()), asyncio.run(refused())
    assert timed_out.retryable and "timed out" in str(timed_out)
    assert no_server.retryable and "127.0.0.1" not in str(no_server)


def test_hostile_post_is_shown_as_text_not_as_mentions_or_links() -> None:
    async def scenario() -> dict:
        fake = FakeSlack(TOKEN)
        alert = make_alert(text=HOSTILE_TEXT + "\x1b[2J\u202e", url="javascript:alert(1)", brand="<!everyone>",
                           author={"id": "u-1", "handle": HOSTILE_HANDLE, "followers": 3, "verified": True})
        alert["reasons"] = ["<@U999> said so", "a & b"]
        async with serve(fake.app()) as base:
            sink = web_api(fake, base)
            await sink.deliver(alert)
            await sink.close()
        return json.loads(fake.seen[0].body)

    body = asyncio.run(scenario())
    blocks = json.dumps(body["blocks"], ensure_ascii=False)
    for raw in ("<!channel>", "<!here>", "<!everyone>", "<@U123>", "<@U999>", "<https://evil|click>", "<script>", "javascript:", "\x1b", "\u202e"):
        assert raw not in blocks and raw not in body["text"]
    assert "&lt;!channel&gt; &lt;@U123&gt; &lt;https://evil|click&gt; &amp; stuff" in blocks
    assert "&lt;!here&gt;" in blocks and "a &amp; b" in blocks
    assert all(block.get("text", {}).get("verbatim", True) for block in body["blocks"] if block["type"] == "section")
    assert re.findall(r"<[^&]", blocks) == ["<!"], "the only markup left is the deadline's date token"


def test_links_only_http_urls_and_renders_the_deadline_per_reader() -> None:
    message = build_message(make_alert(url="https://x.com/a|<!channel>"))
    text = json.dumps(message["blocks"])
    assert "<https://x.com/a%7C&lt;!channel&gt;|original post (x.com)>" in text
    assert "<!date^1714568400^{date_short_pretty} {time}|2024-05-01 13:00 UTC>" in text
    assert "original post" not in json.dumps(build_message(make_alert(url="ftp://x.com/a"))["blocks"])


def test_long_posts_are_truncated_within_slack_limits() -> None:
    message = build_message(make_alert(text="&" * 5000))
    quote = message["blocks"][1]["text"]["text"]
    assert len(quote) <= 3000 and "…" in quote and not re.search(r"&[a-z]{0,3}…", quote)


def test_incoming_webhook_mode_posts_without_a_token() -> None:
    async def scenario() -> None:
        fake = FakeSlack(TOKEN, script=[])
        async with serve(fake.app()) as base:
            sink = SlackSink(webhook_url=f"{base}{fake.webhook_path}")
            result = await sink.deliver(make_alert())
            fake.script.append(plain(404, "channel_not_found"))
            with pytest.raises(DeliveryError) as caught:
                await sink.deliver(make_alert())
            fake.script.append(plain(429, "rate limited", retry_after="1"))
            with pytest.raises(DeliveryError) as limited:
                await sink.deliver(make_alert())
            await sink.close()
        assert result.ref is None and "Authorization" not in fake.seen[0].headers
        assert json.loads(fake.seen[0].body)["blocks"]
        assert not caught.value.retryable and "channel_not_found" in str(caught.value)
        assert "hooksecret" not in str(caught.value)
        assert limited.value.retryable and limited.value.retry_after_s == 1.0

    asyncio.run(scenario())


def notice(kind: str, alert: dict | None = None, **extra: object) -> dict:
    return {"notice_id": f"al-1:{kind}", "kind": kind, "receivers": ["slack"], "at": "2024-05-01T12:40:00Z",
            "summary": f"{kind} by care-lead", "actor": "care-lead", "alert": alert, "detail": {}, **extra}


def actions(blocks: list[dict]) -> list[dict]:
    return [element for block in blocks if block["type"] == "actions" for element in block["elements"]]


def follow_up_scenario(*steps: tuple[str, bool]) -> tuple[FakeSlack, str, list]:
    """Deliver an alert, then send one follow-up per (kind, with the delivered ts as ref) step."""
    async def scenario() -> tuple[FakeSlack, str, list]:
        fake = FakeSlack(TOKEN)
        async with serve(fake.app()) as base:
            sink = web_api(fake, base)
            delivered = await sink.deliver(make_alert())
            assert delivered.ref
            results = [await sink.follow_up(notice(kind, make_alert()), delivered.ref if threaded else None)
                       for kind, threaded in steps]
            await sink.close()
        return fake, delivered.ref, results

    return asyncio.run(scenario())


def test_an_alert_message_has_ack_and_resolve_buttons_and_a_wrong_label_menu() -> None:
    fake, ts, _ = follow_up_scenario()
    elements = actions(fake.messages[ts]["blocks"])
    buttons = {e["action_id"]: e for e in elements if e["type"] == "button"}
    assert set(buttons) == {"pot_ack", "pot_resolve"}
    assert {b["value"] for b in buttons.values()} == {make_alert()["alert_id"]}
    assert buttons["pot_ack"]["text"]["text"] == "Acknowledge" and buttons["pot_resolve"]["text"]["text"] == "Resolve"
    (menu,) = [e for e in elements if e["type"] == "static_select"]
    assert menu["action_id"] == "pot_relabel"
    assert [o["value"] for o in menu["options"]][0] == f"{make_alert()['alert_id']}|complaint"


def test_acknowledged_updates_the_original_in_place() -> None:
    fake, ts, (result,) = follow_up_scenario(("acknowledged", True))
    assert result.ref == ts and len(fake.top_level()) == 1 and not fake.replies
    (update,) = fake.updates
    assert update["ts"] == ts and json.loads(fake.seen[-1].body)["channel"] == "C0ALERTS"
    blocks = fake.messages[ts]["blocks"]
    assert blocks[0]["type"] == "context" and blocks[0]["elements"][0]["text"].startswith("*:eyes: Acknowledged*")
    assert "acknowledged by care-lead" in blocks[0]["elements"][0]["text"]
    ids = [e["action_id"] for e in actions(blocks)]
    assert "pot_ack" not in ids and "pot_resolve" in ids and "pot_relabel" in ids


def test_resolved_updates_the_original_and_keeps_only_the_relabel_menu() -> None:
    fake, ts, results = follow_up_scenario(("acknowledged", True), ("resolved", True))
    assert [r.ref for r in results] == [ts, ts] and [u["ts"] for u in fake.updates] == [ts, ts]
    blocks = fake.messages[ts]["blocks"]
    assert blocks[0]["elements"][0]["text"].startswith("*:white_check_mark: Resolved*")
    assert [e["action_id"] for e in actions(blocks)] == ["pot_relabel"], "corrections are still welcome after resolving"
    assert len(fake.top_level()) == 1


def test_breach_updates_in_place_and_keeps_the_acknowledge_button() -> None:
    fake, ts, _ = follow_up_scenario(("breach", True))
    blocks = fake.messages[ts]["blocks"]
    assert "Window closed" in blocks[0]["elements"][0]["text"]
    assert [e["action_id"] for e in actions(blocks)] == ["pot_ack", "pot_resolve", "pot_relabel"]


def test_reminder_is_a_thread_reply_and_leaves_the_original_alone() -> None:
    fake, ts, (result,) = follow_up_scenario(("reminder", True))
    original = build_message(make_alert())
    assert fake.messages[ts]["blocks"] == original["blocks"] and not fake.updates
    (reply,) = fake.replies[ts]
    assert reply["thread_ts"] == ts and result.ref == reply["ts"] != ts
    assert "*REMINDER* · reminder by care-lead" in reply["blocks"][0]["text"]["text"]
    assert len(fake.top_level()) == 1


def test_escalation_without_a_ref_posts_the_alert_as_a_new_message() -> None:
    fake, ts, (result,) = follow_up_scenario(("escalation", False))
    assert not fake.updates and not fake.replies
    first, second = fake.top_level()
    assert second["ts"] == result.ref != ts
    blocks = json.dumps(second["blocks"])
    assert "COMPLAINT" in blocks and make_alert()["alert_id"] in blocks and "escalation by care-lead" in blocks
    assert "pot_ack" in [e["action_id"] for e in actions(second["blocks"])]


def test_digest_is_one_message_with_hostile_entries_escaped() -> None:
    entries = [
        {"alert_id": "al-a", "label": "suggestion", "priority": "P4", "text": HOSTILE_TEXT, "url": "javascript:x",
         "lang": "en", "author": HOSTILE_HANDLE},
        {"alert_id": "al-b", "label": "praise", "priority": "P4", "text": "love the app", "url": None, "lang": "en", "author": "@fan"},
    ]
    digest = notice("digest", None, summary="2 alerts in this digest: 1 suggestion, 1 praise",
                    detail={"entries": entries, "since": "2024-05-01T11:00:00Z"})

    async def scenario() -> FakeSlack:
        fake = FakeSlack(TOKEN)
        async with serve(fake.app()) as base:
            sink = web_api(fake, base)
            await sink.follow_up(digest, None)
            await sink.close()
        return fake

    fake = asyncio.run(scenario())
    (message,) = fake.top_level()
    text = message["blocks"][0]["text"]["text"]
    assert text.startswith("*DIGEST* · 2 alerts in this digest")
    assert "&lt;!channel&gt; &lt;@U123&gt;" in text and "love the app" in text
    for raw in ("<!channel>", "<@U123>", "<script>", "<https://evil|click>"):
        assert raw not in json.dumps(message, ensure_ascii=False)


def test_no_posted_message_previews_the_links_or_images_a_post_carries() -> None:
    """A digest's or surge's sample posts hold the authors' URLs; a preview would show their images in the channel."""
    digest = notice("digest", None, summary="1 alert in this digest: 1 praise",
                    detail={"entries": [{"alert_id": "al-a", "label": "praise", "priority": "P4", "lang": "en",
                                         "text": "look https://evil.example/big.gif", "url": None, "author": "@fan"}]})

    async def scenario() -> FakeSlack:
        fake = FakeSlack(TOKEN)
        async with serve(fake.app()) as base:
            sink = web_api(fake, base)
            ts = (await sink.deliver(make_alert())).ref
            await sink.follow_up(notice("reminder", make_alert()), ts)
            await sink.follow_up(notice("escalation", make_alert()), None)
            await sink.follow_up(digest, None)
            hook = SlackSink(webhook_url=f"{base}{fake.webhook_path}")
            await hook.deliver(make_alert())
            await hook.follow_up(digest, None)
            await sink.close()
            await hook.close()
        return fake

    fake = asyncio.run(scenario())
    posted = [json.loads(seen.body) for seen in fake.seen]
    assert len(posted) == 6
    assert [(body.get("unfurl_links"), body.get("unfurl_media")) for body in posted] == [(False, False)] * 6


def test_chat_update_429_is_retryable_with_its_retry_after() -> None:
    async def scenario() -> tuple[FakeSlack, DeliveryError]:
        fake = FakeSlack(TOKEN)
        async with serve(fake.app()) as base:
            sink = web_api(fake, base)
            ts = (await sink.deliver(make_alert())).ref
            fake.script.append(slack_error("ratelimited", status=429, retry_after="7"))
            with pytest.raises(DeliveryError) as caught:
                await sink.follow_up(notice("acknowledged", make_alert()), ts)
            await sink.close()
        return fake, caught.value

    fake, error = asyncio.run(scenario())
    assert error.retryable and error.retry_after_s == 7.0 and not fake.updates


def test_chat_update_of_an_unknown_message_is_permanent() -> None:
    async def scenario() -> DeliveryError:
        fake = FakeSlack(TOKEN)
        async with serve(fake.app()) as base:
            sink = web_api(fake, base)
            with pytest.raises(DeliveryError) as caught:
                await sink.follow_up(notice("resolved", make_alert()), "1714568400.999999")
            await sink.close()
        return caught.value

    error = asyncio.run(scenario())
    assert not error.retryable and "message_not_found" in str(error)


def test_incoming_webhook_mode_posts_follow_ups_as_new_messages() -> None:
    async def scenario() -> tuple[FakeSlack, list]:
        fake = FakeSlack(TOKEN)
        async with serve(fake.app()) as base:
            sink = SlackSink(webhook_url=f"{base}{fake.webhook_path}")
            results = [await sink.follow_up(notice(kind, make_alert()), None) for kind in ("acknowledged", "escalation")]
            await sink.close()
        return fake, results

    fake, results = asyncio.run(scenario())
    acknowledged, escalation = (json.loads(seen.body) for seen in fake.seen)
    assert all(r.ref is None for r in results) and not fake.messages
    assert acknowledged["blocks"][0]["text"]["text"].startswith("*ACKNOWLEDGED* · acknowledged by care-lead")
    assert escalation["blocks"][0]["type"] == "context" and escalation["blocks"][1]["type"] == "header"


@pytest.mark.parametrize("reply", [slack_error("ratelimited", status=429, retry_after="1"), plain(503), slack_error("internal_error")])
def test_one_call_per_attempt_slack_sdk_does_not_retry_behind_the_pipeline(reply) -> None:
    async def scenario() -> FakeSlack:
        fake = FakeSlack(TOKEN, script=[reply])
        async with serve(fake.app()) as base:
            sink = web_api(fake, base)
            with pytest.raises(DeliveryError):
                await sink.deliver(make_alert())
            await sink.close()
        return fake

    assert len(asyncio.run(scenario()).seen) == 1, "retries belong to the notify pipeline's retry stage alone"


def test_a_non_json_answer_is_retryable_not_a_crash() -> None:
    async def scenario() -> DeliveryError:
        fake = FakeSlack(TOKEN, script=[plain(200, "<html>maintenance</html>"), plain(200, "{not json")])
        async with serve(fake.app()) as base:
            sink = web_api(fake, base)
            errors = []
            for _ in range(2):
                with pytest.raises(DeliveryError) as caught:
                    await sink.deliver(make_alert())
                errors.append(caught.value)
            await sink.close()
        assert all(e.retryable for e in errors)
        return errors[0]

    assert "maintenance" not in str(asyncio.run(scenario()))


def test_a_channel_given_by_name_is_updated_in_place_by_the_id_slack_answered() -> None:
    async def scenario() -> FakeSlack:
        fake = FakeSlack(TOKEN)
        async with serve(fake.app()) as base:
            sink = SlackSink(token=TOKEN, channel="#alerts", api_url=f"{base}/api")
            ts = (await sink.deliver(make_alert())).ref
            await sink.follow_up(notice("acknowledged", make_alert()), ts)
            await sink.close()
        return fake

    fake = asyncio.run(scenario())
    assert [json.loads(seen.body)["channel"] for seen in fake.seen] == ["#alerts", "C0ALERTS"]
    assert len(fake.updates) == 1
