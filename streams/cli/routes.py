"""``pot routes test``: where a sample post would go, as Alertmanager's ``amtool config routes test``; and the
receivers part of ``pot policy check`` (which receivers lack credentials, which Slack ones have no channel).

``routes test`` runs the monitor's own routing (:func:`streams.core.routing.decide`) on a post described by
options (or a JSON file) with the label you give it: the classifier is not run, nothing is sent, no broker is
needed. It prints the routes that match, the receivers that hear of the alert now and in digests, the window,
deadline and priority, the clock's owner (business hours, reminders, escalation) and the reasons.
``--expect`` makes it a test for CI: exit 1 unless exactly those receivers are reached.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.markup import escape

from sinks.text import human_duration

from ..config import Settings
from .base import err, settings_or_exit
from .output import OUTPUT, Output

__all__ = ["describe", "receiver_lines", "register"]

out = Console(highlight=False, soft_wrap=True)


def describe(policy: Any, post: Any, label: str, confidence: float, now: datetime) -> dict[str, Any]:
    """What routing does with one post of ``label``: a plain dict (the ``-o json`` output)."""
    from ..core.handling import keyword_matcher
    from ..core.records import Classification
    from ..core.routing import decide

    scores = {name: (confidence if name == label else (1 - confidence) / 4) for name in
              ("praise", "complaint", "question", "suggestion", "other")}
    classification = Classification(label=label, confidence=confidence, scores=scores, lang=post.lang,
                                    model="routes-test", model_version="0")
    decision = decide(post, classification, {}, policy, keyword_matcher(policy), now)
    if decision is None:
        return {"alert": False, "label": label,
                "why": f"`{label}` has no window and no keyword class with a window matched: no alert"}
    alert, clock = decision.alert, decision.clock
    owner = decision.routes[-1]
    return {
        "alert": True, "label": label, "priority": alert.priority, "window_s": alert.window_s,
        "window": human_duration(alert.window_s), "deadline": alert.deadline,
        "routes": [{"route": r.path, "receivers": list(r.receivers), "digest_s": r.digest_s} for r in decision.routes],
        "receivers": list(alert.receivers), "digests": dict(decision.digests),
        "clock": {
            "route": owner.path, "business_hours": owner.business_hours, "remind_every_s": owner.remind_every_s,
            "escalation": [{"after_s": level.after, "receivers": list(level.receivers)} for level in owner.escalation],
            "warn_at": datetime.fromtimestamp(clock.warn_at, timezone.utc).isoformat() if clock else None,
        },
        "keyword_classes": list(alert.keyword_classes), "reasons": list(alert.reasons),
    }


def _table(result: dict[str, Any]) -> None:
    if not result["alert"]:
        out.print(escape(result["why"]))
        return
    out.print(f"[bold]{result['priority']}[/bold] {result['label']}, window {result['window']} "
              f"(deadline {result['deadline']})")
    for route in result["routes"]:
        digest = f" (digest every {human_duration(route['digest_s'])})" if route["digest_s"] else ""
        out.print(f"  route {escape(route['route'])} → {escape(', '.join(route['receivers']) or 'no receivers')}{digest}")
    out.print(f"receivers now: {escape(', '.join(result['receivers']) or 'none')}")
    if result["digests"]:
        out.print("in digests: " + escape(", ".join(f"{n} (every {human_duration(s)})" for n, s in result["digests"].items())))
    clock = result["clock"]
    parts = [f"clock owned by {clock['route']}"]
    if clock["business_hours"]:
        parts.append(f"business hours {clock['business_hours']}")
    parts.append(f"reminders every {human_duration(clock['remind_every_s'])}" if clock["remind_every_s"] else "no reminders")
    parts += [f"after {human_duration(level['after_s'])} → {', '.join(level['receivers'])}" for level in clock["escalation"]]
    out.print(escape("; ".join(parts)))
    for reason in result["reasons"]:
        out.print(f"  - {escape(reason)}")


def _policy(file: Path | None, settings: Settings) -> Any:
    from ..core.policy import PolicyError, load_policy, policy_for_receivers

    try:
        if file is not None:
            return load_policy(file)
        return policy_for_receivers(settings.receivers, settings.windows_s, settings.uncertain_below)
    except (PolicyError, ValueError) as exc:
        err.print(f"[red]invalid:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from None


def _post(post_file: Path | None, fields: dict[str, Any], now: datetime) -> Any:
    from ..core.validation import InvalidPost, validate_post

    if post_file is not None:
        try:
            raw = json.loads(sys.stdin.read() if str(post_file) == "-" else post_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            err.print(f"[red]cannot read the post:[/red] {escape(str(exc))}")
            raise typer.Exit(2) from None
    else:
        author: dict[str, Any] = {"id": fields["author"].lstrip("@"), "followers": fields["followers"],
                                  "verified": fields["verified"]}
        if fields["author"].startswith("@"):
            author["handle"] = fields["author"]
        raw = {"id": "routes-test", "platform": fields["platform"], "text": fields["text"],
               "created_at": now.isoformat(), "author": author, "lang": fields["lang"], "brand": fields["brand"]}
    try:
        return validate_post(raw, now)
    except InvalidPost as exc:
        err.print(f"[red]not a valid post:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None


def receiver_lines(policy: Any) -> tuple[list[str], bool, bool]:
    """Lines about each receiver of a policy: (lines, some lack credentials, some can never work)."""
    from sinks.registry import channel_missing, check_receivers

    settings = settings_or_exit(warn=False)
    receivers = settings.receiver_settings()
    problems = check_receivers(policy.receivers, receivers, alerts_path=settings.alerts_path)
    no_channel = set(channel_missing(policy.receivers, receivers))
    lines = []
    for name, spec in policy.receivers.items():
        where = f" ({spec.channel})" if getattr(spec, "channel", None) else ""
        if name in no_channel:
            status = (f"[red]no channel:[/red] give it `channel:` (receivers.{escape(name)}.channel) "
                      "or set POT_SLACK_CHANNEL")
        elif problems.get(name):
            why = re.sub(r"^receiver '[^']*'(?: is not configured)?: ", "", str(problems[name]))
            status = f"[yellow]lacks credentials:[/yellow] {escape(why)}"
        else:
            status = "ready"
        lines.append(f"  {escape(name)}: {escape(spec.type)}{escape(where)}: {status}")
    lacking = any(problems.get(name) for name in policy.receivers if name not in no_channel)
    return lines, lacking, bool(no_channel)


def register(cli: typer.Typer) -> None:
    routes = typer.Typer(no_args_is_help=True, help="The route tree: try where posts would go.")
    cli.add_typer(routes, name="routes")

    @routes.command("test")
    def routes_test(
        policy_file: Optional[Path] = typer.Argument(None, help="Policy YAML (default: POT_POLICY_FILE, else the one-route policy of POT_RECEIVERS)."),
        label: str = typer.Option("complaint", "--label", "-l", help="The label, as the classifier would give it."),
        text: str = typer.Option("", "--text", "-t", help="The post's text (keyword classes are matched on it)."),
        lang: Optional[str] = typer.Option(None, help="Language code (keywords can be per language)."),
        platform: str = typer.Option("x", help="Platform the post came from."),
        brand: Optional[str] = typer.Option(None, help="Brand the post is about."),
        author: str = typer.Option("someone", help="Author id, or @handle (VIP lists match either)."),
        followers: int = typer.Option(0, min=0, help="The author's followers (reach rules)."),
        verified: bool = typer.Option(False, "--verified", help="The author is a verified account."),
        confidence: float = typer.Option(0.9, min=0.0, max=1.0, help="The classifier's confidence (uncertain_below)."),
        post_file: Optional[Path] = typer.Option(None, "--post", help="A post as JSON (a file, or - for stdin) instead of the options above."),
        expect: Optional[list[str]] = typer.Option(None, "--expect", help="Receivers it must reach (now or in a digest), repeatable; exit 1 otherwise."),
        output: Output = OUTPUT,
    ) -> None:
        """Show which routes and receivers a sample post reaches, with its window and priority."""
        from ..core.vocabulary import LABELS

        if label not in LABELS:
            err.print(f"[red]unknown label {escape(label)!r}[/red]; one of {', '.join(LABELS)}")
            raise typer.Exit(2)
        settings = settings_or_exit(warn=False)
        policy = _policy(policy_file or settings.policy_file, settings)
        now = datetime.now(timezone.utc).replace(microsecond=0)
        fields = {"text": text or f"a sample {label}", "lang": lang, "platform": platform, "brand": brand,
                  "author": author, "followers": followers, "verified": verified}
        result = describe(policy, _post(post_file, fields, now), label, confidence, now)
        if output == Output.json:
            print(json.dumps(result, ensure_ascii=False, indent=2))
        else:
            _table(result)
        if expect is not None:
            reached = sorted(set(result.get("receivers", [])) | set(result.get("digests", {})))
            wanted = sorted({name for item in expect for name in item.split(",") if name})
            if reached != wanted:
                err.print(f"[red]expected {', '.join(wanted) or 'no receivers'}; reached {', '.join(reached) or 'none'}[/red]")
                raise typer.Exit(1)
