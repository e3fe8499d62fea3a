"""The web desk end to end over HTTP, on two workers sharing one broker: each shows every alert, whichever
partitions it owns; login (users file on one, a trusted proxy header on the other), CSRF, escaping of hostile
post text, actions recorded with the user as actor, and reports that match the events topic.

The workers' clock is advanced through ``POT_CLOCK_OFFSET_FILE``; the browser itself is
``tests/test_desk_browser.py``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from streams.api.desk.auth import hash_password
from streams.core import reports
from streams.kafka.broker import EmbeddedBroker
from streams.kafka.readers import read_topic
from tests.conftest import TOKEN, start_monitor, stop_monitor, wait_for

pytestmark = pytest.mark.e2e

AUTH = {"Authorization": f"Bearer {TOKEN}"}
HOSTILE = '#complaint <script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> "quoted" & \u202eevil'
PROXY = {"X-Forwarded-User": "bo"}


def post(n: str, text: str, **extra) -> dict:
    return {"id": n, "platform": "x", "text": text, "author": {"id": f"id-{n}", "handle": f"h{n}", "followers": 10},
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), **extra}


def aid(n: str) -> str:
    from streams.core import alert_id_for

    return alert_id_for(f"x:{n}")


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def shown(html: str) -> set[str]:
    return set(re.findall(r'<article class="alert[^"]*" id="(al-[0-9a-f]+)"', html))


@pytest.fixture
def pair(tmp_path):
    broker = EmbeddedBroker(log_path=tmp_path / "broker.log").start(20)
    users = tmp_path / "users.yaml"
    users.write_text(f"users:\n  ana: {{password_hash: '{hash_password('ana-secret-pw')}'}}\n")
    offset = tmp_path / "offset"
    offset.write_text("0")
    env = {
        "POT_CLASSIFIER": "tests.fakes:ByTag", "POT_CLASSIFY_IN_PROCESS": "false", "POT_CLOCK_OFFSET_FILE": str(offset),
        "POT_CLOCK_TICK_S": "0.2", "POT_DESK_SECRET": "a-shared-desk-secret-for-tests", "POT_DESK_POLL_S": "0.5",
    }
    a = start_monitor(tmp_path / "a", extra_env={**env, "POT_DESK_USERS_FILE": str(users)}, args=["--broker", broker.url])
    b = start_monitor(tmp_path / "b", extra_env={**env, "POT_DESK_TRUSTED_HEADER": "X-Forwarded-User"}, args=["--broker", broker.url])
    yield {"a": a, "b": b, "broker": broker, "offset": offset, "env": env}
    stop_monitor(b)
    stop_monitor(a)
    broker.stop()


def test_two_workers_one_desk(pair):
    a, b, broker = pair["a"], pair["b"], pair["broker"]
    def split(web: str) -> bool:
        return not httpx.get(f"{web}/alerts", params={"scope": "local"}, headers=AUTH).json()["complete"]
    wait_for(lambda: split(a.web) and split(b.web), "the two workers to split the partitions", timeout=90)

    # no one reads customer text or acts without logging in
    assert httpx.get(f"{a.web}/desk").status_code == 303
    assert httpx.get(f"{a.web}/desk/rows").status_code == 401
    assert httpx.get(f"{a.web}/desk/alerts/al-x").headers["location"].startswith("/desk/login")
    assert httpx.get(f"{a.web}/desk/reports").status_code == 303
    assert httpx.get(f"{b.web}/desk").status_code == 401, "behind a proxy, no header means no one"
    assert httpx.get(f"{b.web}/desk", headers={"X-Forwarded-User": "<script>"}).status_code == 401

    ana = httpx.Client(base_url=a.web, timeout=20)
    ana.get("/desk/login")
    refused = ana.post("/desk/login", data={"csrf": "forged", "username": "ana", "password": "ana-secret-pw"})
    assert refused.status_code == 403
    wrong = ana.post("/desk/login", data={"csrf": csrf_of(refused.text), "username": "ana", "password": "nope"})
    assert wrong.status_code == 401
    done = ana.post("/desk/login", data={"csrf": csrf_of(wrong.text), "username": "ana", "password": "ana-secret-pw", "next": "//evil.example"})
    assert (done.status_code, done.headers["location"]) == (303, "/desk"), "never an open redirect"
    assert "HttpOnly" in done.headers["set-cookie"] and "SameSite=Lax" in done.headers["set-cookie"]
    bo = httpx.Client(base_url=b.web, headers=PROXY, timeout=20)

    assert httpx.post(f"{a.web}/posts", headers=AUTH, json=[
        post("c1", HOSTILE, brand="acme", url="javascript:window.__pwned=3"), post("c2", "#complaint late again", brand="globex"),
        post("q1", "#question open on Sunday?", lang="en"), post("q2", "#question do you ship to Iasi?"),
        post("p1", "#praise lovely staff", url="https://x.com/p/1"),
    ]).status_code == 202
    everyone = {aid(n) for n in ("c1", "c2", "q1", "q2", "p1")}
    wait_for(lambda: shown(ana.get("/desk").text) == everyone, "every alert on worker a's desk")
    wait_for(lambda: shown(bo.get("/desk").text) == everyone, "every alert on worker b's desk")
    local_a = {r["alert_id"] for r in httpx.get(f"{a.web}/alerts", params={"scope": "local"}, headers=AUTH).json()["alerts"]}
    assert local_a and local_a != everyone, "each worker's own table holds only its partitions' alerts"
    for web in (a.web, b.web):  # GET /alerts (and `pot alerts`) shows them all, whichever worker answers
        body = wait_for(lambda: (r := httpx.get(f"{web}/alerts", headers=AUTH).json())["complete"]
                        and {x["alert_id"] for x in r["alerts"]} == everyone and r, f"every alert from {web}")
        assert len(body["alerts"]) == len(everyone)
    assert httpx.get(f"{a.web}/alerts").status_code == 401, "customer text needs the token"

    for page in (ana.get("/desk").text, ana.get(f"/desk/alerts/{aid('c1')}").text, ana.get("/desk/rows").json()["html"]):
        assert "<script>window.__pwned" not in page and "<img src=x" not in page
        assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;&lt;img src=x onerror=&#34;window.__pwned=2&#34;&gt;" in page
        assert 'href="javascript:' not in page
        assert "\u202e" not in page, "bidi overrides are shown as escapes, not applied"
    assert "script-src 'self'" in ana.get("/desk").headers["content-security-policy"]

    # actions: CSRF is required, the user is the actor, and any worker can act on any alert
    owned_by_a = sorted(local_a - {aid("p1")})[0]
    page = bo.get("/desk").text
    assert bo.post(f"/desk/alerts/{owned_by_a}/ack", data={"next": "/desk"}).status_code == 403
    assert bo.post(f"/desk/alerts/{owned_by_a}/ack", data={"csrf": csrf_of(page)},
                   headers={"Origin": "http://evil.example"}).status_code == 403
    acked = bo.post(f"/desk/alerts/{owned_by_a}/ack", data={"csrf": csrf_of(page), "next": "/desk"})
    assert acked.status_code == 303 and "msg=" in acked.headers["location"]
    wait_for(lambda: re.search(rf'id="{owned_by_a}".*?acknowledged by bo', ana.get("/desk").text, re.S), "b's ack on a's desk")
    page = ana.get("/desk").text
    others = sorted(everyone - {owned_by_a, aid("p1")})
    ana.post(f"/desk/alerts/{others[0]}/resolve", data={"csrf": csrf_of(page), "next": "/desk"})
    ana.post(f"/desk/alerts/{aid('p1')}/relabel", data={"csrf": csrf_of(page), "right_label": "complaint", "next": "/desk"})
    again = ana.post(f"/desk/alerts/{owned_by_a}/ack", data={"csrf": csrf_of(page), "next": "/desk"})
    assert again.headers["location"].endswith("msg=already_acknowledged")
    assert ana.post("/desk/alerts/al-nope/ack", data={"csrf": csrf_of(page)}).headers["location"].endswith("msg=unknown")

    pair["offset"].write_text(str(61 * 60))  # past the hour: the two untouched complaints/questions breach
    breached = set(others[1:])
    wait_for(lambda: all(f'id="{x}"' in (h := ana.get("/desk/rows").json()["html"]) for x in breached)
             and len(re.findall(r"is-breached", h)) == len(breached), "breaches on the desk", timeout=30)

    events = wait_for(lambda: (ev := read_topic([broker.bootstrap], "e2e.events", timeout_s=1))
                      and {(e["alert_id"], e["kind"]) for e in ev} >= {(x, "breach") for x in breached}
                      | {(aid("p1"), "wrong_label")} and ev, "the events")
    actors = {(e["alert_id"], e["kind"]): e["actor"] for e in events}
    assert actors[(owned_by_a, "acknowledged")] == "bo" and actors[(others[0], "resolved")] == "ana"
    assert actors[(aid("p1"), "wrong_label")] == "ana"
    trail = bo.get(f"/desk/alerts/{owned_by_a}").text
    assert all(kind in trail for kind in ("raised", "delivered", "acknowledged"))
    correction = read_topic([broker.bootstrap], "e2e.corrections", timeout_s=1)
    assert correction[0]["right_label"] == "complaint" and correction[0]["actor"] == "ana"

    now = datetime.now(timezone.utc) + timedelta(seconds=61 * 60)
    env = {**os.environ, **pair["env"], "POT_TOPIC_PREFIX": "e2e.", "POT_BROKER": broker.url}
    cli = subprocess.run([sys.executable, "-m", "streams.cli", "report", "--since", "7d", "--by", "label", "-o", "json",
                          "--now", now.isoformat()], capture_output=True, text=True, env=env, timeout=120)
    assert cli.returncode == 0, cli.stderr
    from_cli = {r["label"]: r for r in json.loads(cli.stdout)["rows"] if r["week"] == "all"}
    expected = reports.build(read_topic([broker.bootstrap], "e2e.events", timeout_s=1), now, 7 * 86400, ("label",))
    assert from_cli == {r["label"]: r for r in expected.as_dict()["rows"] if r["week"] == "all"}
    labels = {aid("c1"): "complaint", aid("c2"): "complaint", aid("q1"): "question", aid("q2"): "question"}
    for label in ("complaint", "question"):
        mine = [x for x, lab in labels.items() if lab == label]
        row = from_cli[label]
        assert (row["raised"], row["pending"]) == (2, 0)
        assert row["breaches"] == len([x for x in mine if x in breached])
        assert row["acked_in_window"] == len([x for x in mine if x not in breached])
    assert (from_cli["praise"]["raised"], from_cli["praise"]["pending"], from_cli["praise"]["share_in_window"]) == (1, 1, None)

    web_json = ana.get("/desk/reports.json", params={"by": "label"}).json()
    assert {r["label"]: r["raised"] for r in web_json["rows"] if r["week"] == "all"} == {k: v["raised"] for k, v in from_cli.items()}
    page = ana.get("/desk/reports", params={"by": "label"})
    assert page.status_code == 200 and 'id="report"' in page.text
    png = ana.get("/desk/reports.png", params={"by": "label"})
    assert png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"

    out = ana.post("/desk/logout", data={"csrf": csrf_of(ana.get("/desk").text)})
    assert out.status_code == 303 and ana.get("/desk").status_code == 303
