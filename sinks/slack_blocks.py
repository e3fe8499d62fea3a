"""The Slack message for one alert (Block Kit), built as pure data so tests can inspect it.

Every field from the post is untrusted: it is escaped for mrkdwn (``&``,
``<``, ``>``), so ``<!channel>``, ``<@U123>`` or ``<https://evil|looks-safe>``
arrive as visible text, and every mrkdwn text object is ``verbatim`` so Slack
does not auto-link bare ``@here`` or ``#channel`` either. The only ``<...>``
sequences in a message are the ones built here: the deadline's date token and
the link to an http(s) original.

>>> escape("<!channel> & co")
'&lt;!channel&gt; &amp; co'
"""

from __future__ import annotations

import re
from typing import Any

from .render import (
    PRIORITY_NAMES, author_name, deadline_utc, followers, http_url, one_line, parse_deadline, url_host,
)
from .text import clean_control, truncate

TEXT_LIMIT = 600
MRKDWN_LIMIT = 3000
FIELD_LIMIT = 2000
_PRIORITY_EMOJI = {"P1": ":rotating_light:", "P2": ":large_orange_circle:", "P3": ":large_yellow_circle:", "P4": ":white_circle:"}
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")


def escape(text: Any) -> str:
    """Escape for mrkdwn after neutralising control characters; Slack asks for exactly these three."""
    value = clean_control("" if text is None else str(text))
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fit(escaped: str, limit: int) -> str:
    """Cut escaped text to Slack's limit without leaving half an entity behind."""
    if len(escaped) <= limit:
        return escaped
    return _PARTIAL_ENTITY.sub("", escaped[: limit - 1]) + "…"


def mrkdwn(text: str, limit: int = MRKDWN_LIMIT) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": fit(text, limit) or " ", "verbatim": True}


def slack_date(value: Any) -> str:
    """The deadline in each reader's own time zone, with a UTC fallback for clients that cannot localise."""
    moment = parse_deadline(value)
    if moment is None:
        return escape(one_line(value, 64))
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{deadline_utc(value)}>"


def link(url: Any) -> str | None:
    """A mrkdwn link to the original post, or ``None`` when the URL is not plain http(s)."""
    safe = http_url(url)
    if safe is None:
        return None
    target = escape(safe).replace("|", "%7C")
    return f"<{target}|original post ({escape(url_host(safe))})>"


def quoted(text: Any) -> str:
    """The post as a mrkdwn quote; our ``>`` prefixes are literal, the post's own are escaped."""
    body = truncate(clean_control(str(text or "")).strip(), TEXT_LIMIT) or "(empty post)"
    return "\n".join("> " + escape(line) for line in body.splitlines())


LABEL_CHOICES = ("complaint", "question", "suggestion", "praise", "other")
STATE_LINES = {
    "acknowledged": ":eyes: Acknowledged",
    "resolved": ":white_check_mark: Resolved",
    "breach": ":hourglass: Window closed without acknowledgement",
    "escalation": ":arrow_double_up: Escalated",
}


def action_block(alert_id: str, state: str = "open") -> dict[str, Any]:
    """Acknowledge / Resolve buttons and a "wrong label" menu; values carry only our own alert id."""
    elements: list[dict[str, Any]] = []
    if state == "open":
        elements.append({"type": "button", "action_id": "pot_ack", "style": "primary", "value": alert_id,
                         "text": {"type": "plain_text", "text": "Acknowledge"}})
    if state in ("open", "acknowledged"):
        elements.append({"type": "button", "action_id": "pot_resolve", "value": alert_id,
                         "text": {"type": "plain_text", "text": "Resolve"}})
    elements.append({
        "type": "static_select", "action_id": "pot_relabel",
        "placeholder": {"type": "plain_text", "text": "Wrong label?"},
        "options": [{"text": {"type": "plain_text", "text": label}, "value": f"{alert_id}|{label}"} for label in LABEL_CHOICES],
    })
    return {"type": "actions", "block_id": "pot_actions", "elements": elements}


def build_message(alert: dict[str, Any], state: str = "open", status: str | None = None) -> dict[str, Any]:
    """``text`` (notification fallback) and ``blocks`` for chat.postMessage or an incoming webhook.

    ``state`` and ``status`` render the same alert again after it changed
    (for ``chat.update``): a status line on top, and only the buttons that
    still make sense.
    """
    post, cls = alert["post"], alert["classification"]
    author = post.get("author") or {}
    label, priority = str(cls.get("label", "?")), str(alert.get("priority", "?"))
    who = author_name(author)
    heading = f"{_PRIORITY_EMOJI.get(priority, ':bell:')} {label.upper()} · {priority} {PRIORITY_NAMES.get(priority, '')}"

    body = quoted(post.get("text"))
    original = link(post.get("url"))
    if original:
        body += "\n" + original
    author_text = f"*Author*\n{escape(who)} · {followers(author):,} followers" + (" · verified" if author.get("verified") else "")
    fields = [
        mrkdwn(author_text, FIELD_LIMIT),
        mrkdwn(f"*Reply by*\n{slack_date(alert.get('deadline'))}", FIELD_LIMIT),
        mrkdwn(f"*Platform · language*\n{escape(one_line(post.get('platform'), 40))} · "
               f"{escape(one_line(cls.get('lang') or post.get('lang') or '?', 16))}", FIELD_LIMIT),
        mrkdwn(f"*Confidence*\n{float(cls.get('confidence') or 0):.0%}", FIELD_LIMIT),
    ]
    if post.get("brand"):
        fields.append(mrkdwn(f"*Brand*\n{escape(one_line(post['brand'], 80))}", FIELD_LIMIT))
    if alert.get("history"):
        recent = ", ".join(escape(one_line(x, 16)) for x in alert.get("recent_labels") or [])
        fields.append(mrkdwn(f"*History*\n{escape(one_line(alert['history'], 120))}" + (f" (last: {recent})" if recent else ""), FIELD_LIMIT))
    reasons = " · ".join(escape(one_line(reason, 200)) for reason in alert.get("reasons") or []) or "no reasons given"
    blocks: list[dict[str, Any]] = []
    if status:
        blocks.append({"type": "context", "elements": [mrkdwn(f"*{STATE_LINES.get(state, state)}* · {escape(one_line(status, 300))}")]})
    blocks += [
        {"type": "header", "text": {"type": "plain_text", "text": one_line(heading, 150), "emoji": True}},
        {"type": "section", "text": mrkdwn(body)},
        {"type": "section", "fields": fields},
        {"type": "context", "elements": [
            mrkdwn(reasons, FIELD_LIMIT),
            mrkdwn(f"{escape(one_line(alert.get('alert_id'), 64))} · {escape(one_line(cls.get('model'), 40))} "
                   f"{escape(one_line(cls.get('model_version'), 20))}", FIELD_LIMIT),
        ]},
    ]
    blocks.append(action_block(str(alert.get("alert_id")), state if state in ("acknowledged", "resolved") else "open"))
    fallback = f"{label.upper()} {priority} from {who}: {one_line(post.get('text'), 150)}"
    return {"text": fit(escape(fallback), MRKDWN_LIMIT), "blocks": blocks}


def build_notice(notice: dict[str, Any]) -> dict[str, Any]:
    """A follow-up as its own message (a thread reply, or a digest or surge): the summary and any entries."""
    lines = [f"*{escape(one_line(notice.get('kind'), 30)).upper()}* · {escape(one_line(notice.get('summary'), 500))}"]
    detail = notice.get("detail") or {}
    for entry in (detail.get("entries") or [])[:30]:
        lines.append(f"• _{escape(one_line(entry.get('label'), 20))}_ " + escape(one_line(entry.get("text"), 200)))
    for sample in (detail.get("samples") or [])[:5]:
        lines.append("> " + escape(one_line(sample, 280)))
    text = "\n".join(lines)
    return {"text": fit(escape(one_line(notice.get("summary"), 300)), MRKDWN_LIMIT), "blocks": [{"type": "section", "text": mrkdwn(text)}]}
