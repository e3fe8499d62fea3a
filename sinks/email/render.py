"""Email rendering, pure: subjects, Message-IDs, plain-text and HTML bodies (jinja2), and the message itself.

Post fields are untrusted. The subject is one bounded line (no CR/LF, so a
handle cannot add headers), the HTML is rendered by jinja2 with autoescape
on, and only http(s) URLs become links. The Message-ID is derived from the
alert id, so a retried send is recognisably the same message and follow-ups
can thread under it (``In-Reply-To: message_id_for(...)``).

>>> message_id_for("al-0123abcd", "example.com")
'<al-0123abcd.alert@example.com>'
>>> reply_target("<al-0123abcd.alert@example.com>"), reply_target("x@y>\\r\\nBcc: v@example.com")
('<al-0123abcd.alert@example.com>', None)
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ..render import PRIORITY_NAMES, author_name, deadline_utc, followers, http_url, one_line, url_host
from ..text import clean_control, truncate

SUBJECT_LIMIT = 150
TEXT_LIMIT = 4000
_COLOURS = {"complaint": "#c0392b", "question": "#1f7a99", "suggestion": "#b7950b", "praise": "#1e8449"}
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9._-]")
_UNSAFE_DOMAIN = re.compile(r"[^A-Za-z0-9.-]")
_MSG_ID = re.compile(r"<?([A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,200}@[A-Za-z0-9.\[\]-]{1,253})>?")
DIGEST_LISTED = 200
DIGEST_TEXT_LIMIT = 300
SURGE_TERMS = 15
SURGE_SAMPLES = 10
SAMPLE_LIMIT = 500
FOLLOW_UP_TITLES = {
    "warning": "Warning", "breach": "Window closed", "escalation": "Escalated", "reminder": "Reminder",
    "acknowledged": "Acknowledged", "resolved": "Resolved",
}
_FOLLOW_UP_COLOURS = {"warning": "#b7950b", "breach": "#c0392b", "escalation": "#c0392b", "reminder": "#b7950b",
                      "acknowledged": "#1f7a99", "resolved": "#1e8449"}

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent.parent / "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), disabled_extensions=("txt",), default=True),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def message_id_for(alert_id: str, domain: str) -> str:
    """The Message-ID of an alert's email: stable per alert, so replies and follow-ups can reference it."""
    local = _UNSAFE_ID.sub("-", str(alert_id))[:128] or "alert"
    host = _UNSAFE_DOMAIN.sub("", domain)[:253] or "points-of-truth.invalid"
    return f"<{local}.alert@{host}>"


def notice_message_id(notice_id: str, domain: str) -> str:
    """A follow-up's own Message-ID: stable per notice (a retried send is the same mail), never the alert's.

    The readable part is cut and sanitised, so a hash of the whole notice id
    keeps two long ids that share a prefix apart.
    """
    local = _UNSAFE_ID.sub("-", str(notice_id))[:80] or "notice"
    digest = hashlib.sha256(str(notice_id).encode("utf-8", "surrogatepass")).hexdigest()[:16]
    host = _UNSAFE_DOMAIN.sub("", domain)[:253] or "points-of-truth.invalid"
    return f"<{local}.{digest}.notice@{host}>"


def reply_target(ref: str | None) -> str | None:
    """``ref`` as a ``<msg-id>`` to reply to, or ``None`` when it is absent or not a plain Message-ID.

    A ref that is not one (whitespace, a line break, a second address) is not
    used at all rather than repaired: it goes into headers.
    """
    if not isinstance(ref, str):
        return None
    match = _MSG_ID.fullmatch(ref.strip())
    return f"<{match.group(1)}>" if match else None


def subject_for(alert: dict[str, Any]) -> str:
    """``[P1] Complaint from @handle: first words``, one line, at most :data:`SUBJECT_LIMIT` characters."""
    post, cls = alert["post"], alert["classification"]
    who = author_name(post.get("author") or {})
    text = f"[{alert.get('priority', '?')}] {str(cls.get('label', '?')).capitalize()} from {who}: {post.get('text') or ''}"
    return one_line(text, SUBJECT_LIMIT)


def alert_context(alert: dict[str, Any]) -> dict[str, Any]:
    """What the alert templates show, every post field made safe; shared by alerts and their follow-ups."""
    post, cls = alert["post"], alert["classification"]
    author = post.get("author") or {}
    raw_url = post.get("url")
    link = http_url(raw_url)
    text = truncate(clean_control(str(post.get("text") or "")).strip(), TEXT_LIMIT) or "(empty post)"
    return {
        "subject": subject_for(alert),
        "label": one_line(cls.get("label", "?"), 20),
        "priority": one_line(alert.get("priority", "?"), 4),
        "priority_name": PRIORITY_NAMES.get(str(alert.get("priority")), "unknown"),
        "colour": _COLOURS.get(str(cls.get("label")), "#616061"),
        "deadline": deadline_utc(alert.get("deadline")),
        "author": author_name(author),
        "followers": followers(author),
        "verified": bool(author.get("verified")),
        "platform": one_line(post.get("platform"), 40),
        "lang": one_line(cls.get("lang") or post.get("lang") or "?", 16),
        "brand": one_line(post.get("brand"), 80),
        "text": text,
        "text_lines": text.splitlines(),
        "url": link or one_line(raw_url, 300),
        "url_is_link": link is not None,
        "url_host": url_host(link) if link else "",
        "reasons": [one_line(reason, 200) for reason in alert.get("reasons") or []],
        "confidence": f"{float(cls.get('confidence') or 0):.0%}",
        "model": one_line(f"{cls.get('model', '?')} {cls.get('model_version', '')}", 60),
        "alert_id": one_line(alert.get("alert_id"), 64),
    }


def _render_pair(name: str, context: dict[str, Any]) -> tuple[str, str]:
    return _templates.get_template(f"{name}.txt").render(context), _templates.get_template(f"{name}.html").render(context)


def render(alert: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text body, HTML body) for one alert; pure, so tests can look at it."""
    context = alert_context(alert)
    return (context["subject"], *_render_pair("alert", context))


def _notice_context(notice: dict[str, Any]) -> dict[str, Any]:
    kind = one_line(notice.get("kind"), 30)
    return {
        "kind": kind,
        "title": FOLLOW_UP_TITLES.get(kind, kind.capitalize() or "Notice"),
        "summary": one_line(notice.get("summary"), 500),
        "actor": one_line(notice.get("actor"), 80),
        "at": deadline_utc(notice.get("at")),
        "notice_id": one_line(notice.get("notice_id"), 128),
        "status_colour": _FOLLOW_UP_COLOURS.get(kind, "#616061"),
    }


def render_follow_up(notice: dict[str, Any], threaded: bool) -> tuple[str, str, str]:
    """(subject, text, HTML) for a follow-up about one alert: a status banner, then the alert again.

    A reply keeps the original subject behind ``Re:`` untouched (clients such
    as Gmail thread only when the subjects match); a mail with nothing to
    reply to (an escalation level that never had the alert) says what it is.
    """
    alert = notice["alert"]
    context = {**alert_context(alert), **_notice_context(notice)}
    original = context["subject"]
    subject = f"Re: {original}" if threaded else one_line(f"{context['title']}: {original}", SUBJECT_LIMIT)
    return (subject, *_render_pair("follow_up", {**context, "subject": subject}))


def _digest_entry(entry: Any) -> dict[str, Any]:
    entry = entry if isinstance(entry, dict) else {}
    link = http_url(entry.get("url"))
    text = one_line(entry.get("text"), DIGEST_TEXT_LIMIT) or "(empty post)"
    return {
        "label": one_line(entry.get("label") or "?", 20),
        "priority": one_line(entry.get("priority") or "?", 4),
        "author": one_line(entry.get("author") or "unknown", 80),
        "lang": one_line(entry.get("lang"), 16),
        "text": text,
        "url": link or "",
        "url_host": url_host(link) if link else "",
        "alert_id": one_line(entry.get("alert_id"), 64),
    }


def render_digest(notice: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text, HTML) for a digest: ``Digest: 12 alerts (8 suggestion, 4 praise)`` and one item per alert.

    Only http(s) URLs are shown, as links; anything else is left out, because
    a digest line has no room to explain why a URL is not clickable.
    """
    detail = notice.get("detail") or {}
    raw_entries = detail.get("entries") if isinstance(detail.get("entries"), list) else []
    entries = [_digest_entry(entry) for entry in raw_entries]
    counts = Counter(entry["label"] for entry in entries)
    total = len(entries)
    breakdown = ", ".join(f"{n} {label}" for label, n in counts.most_common())
    subject = one_line(f"Digest: {total} alert{'' if total == 1 else 's'}" + (f" ({breakdown})" if breakdown else ""), SUBJECT_LIMIT)
    context = {
        **_notice_context(notice),
        "subject": subject,
        "since": deadline_utc(detail.get("since")) if detail.get("since") else "",
        "entries": entries[:DIGEST_LISTED],
        "unlisted": max(0, total - DIGEST_LISTED),
    }
    return (subject, *_render_pair("digest", context))


def render_surge(notice: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text, HTML) for a complaint surge: the summary, the top terms and a few of the posts."""
    detail = notice.get("detail") or {}
    terms = []
    for item in (detail.get("top_terms") if isinstance(detail.get("top_terms"), list) else [])[:SURGE_TERMS]:
        term, count = (item[0], item[1]) if isinstance(item, (list, tuple)) and len(item) == 2 else (item, "")
        terms.append({"term": one_line(term, 60), "count": one_line(count, 12)})
    samples = [one_line(sample, SAMPLE_LIMIT) for sample in
               (detail.get("samples") if isinstance(detail.get("samples"), list) else [])[:SURGE_SAMPLES]]
    context = {**_notice_context(notice), "terms": terms, "samples": samples}
    subject = one_line(f"Surge: {context['summary']}", SUBJECT_LIMIT)
    return (subject, *_render_pair("surge", {**context, "subject": subject}))




def compose(subject: str, text: str, html: str, message_id: str, sender: str, recipients: list[str]) -> EmailMessage:
    """A multipart (text + HTML) message with the monitor's headers."""
    message = EmailMessage(policy=SMTP)
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message
