#!/usr/bin/env python3
"""Write the Grafana dashboards of points-of-truth as JSON into ``dashboards/`` beside this file.

    python deploy/grafana/build_dashboards.py          # (re)write the JSON files
    python deploy/grafana/build_dashboards.py --check  # exit 1 if the committed JSON is out of date

Only the metrics of ``streams/metrics.py`` (``pot_*``) and ``up`` are used. Counters are summed
``by`` their labels, so several workers add up. Panels use ``$__rate_interval`` for rates and
``$__range`` for "in the selected time range" totals; the provisioned data source sets
``timeInterval`` to the scrape interval so that ``$__rate_interval`` always spans several scrapes.
Standard library only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "dashboards"
DS = {"type": "prometheus", "uid": "${datasource}"}
JOB = 'job="points-of-truth"'
RI = "$__rate_interval"
RANGE = "$__range"


def q(expr: str, legend: str = "", instant: bool = False) -> dict[str, Any]:
    """One query target (refIds are set by the panel)."""
    target: dict[str, Any] = {"datasource": DS, "expr": expr, "legendFormat": legend or "__auto", "range": not instant}
    if instant:
        target["instant"] = True
    return target


def quantiles(metric: str, legend_prefix: str = "") -> list[dict[str, Any]]:
    """p50, p90 and p99 of a histogram over all workers, plus the mean."""
    targets = [
        q(f"histogram_quantile({p}, sum by (le) (rate({metric}_bucket[{RI}])))", f"{legend_prefix}p{int(p * 100)}")
        for p in (0.5, 0.9, 0.99)
    ]
    targets.append(q(f"sum(rate({metric}_sum[{RI}])) / sum(rate({metric}_count[{RI}]))", f"{legend_prefix}mean"))
    return targets


def panel(kind: str, title: str, targets: list[dict[str, Any]], description: str, w: int = 12, h: int = 8,
          unit: str = "short", stack: bool = False, bars: bool = False, thresholds: list[tuple[float, str]] | None = None,
          min_: float | None = 0, max_: float | None = None, base: str = "green",
          right_axis: dict[str, str] | None = None) -> dict[str, Any]:
    """A panel; ``right_axis`` maps series names (legends) to the unit they get on a right-hand axis."""
    for i, target in enumerate(targets):
        target["refId"] = chr(ord("A") + i)
    defaults: dict[str, Any] = {"unit": unit}
    if min_ is not None:
        defaults["min"] = min_
    if max_ is not None:
        defaults["max"] = max_
    steps = [{"color": base, "value": None}] + [{"color": c, "value": v} for v, c in (thresholds or [])]
    defaults["thresholds"] = {"mode": "absolute", "steps": steps}
    options: dict[str, Any]
    if kind == "timeseries":
        defaults["custom"] = {
            "drawStyle": "bars" if bars else "line",
            "lineWidth": 1,
            "fillOpacity": 60 if bars else 10,
            "showPoints": "never",
            "spanNulls": False,
            "stacking": {"mode": "normal" if stack else "none", "group": "A"},
            "thresholdsStyle": {"mode": "dashed" if thresholds else "off"},
        }
        options = {
            "legend": {"displayMode": "table", "placement": "right" if w >= 12 else "bottom", "showLegend": True,
                       "calcs": ["mean", "max", "lastNotNull"]},
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
    elif kind == "stat":
        options = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                   "colorMode": "value", "graphMode": "none", "textMode": "auto", "justifyMode": "auto",
                   "orientation": "auto"}
    elif kind == "bargauge":
        options = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                   "displayMode": "basic", "orientation": "horizontal", "showUnfilled": True}
    elif kind == "table":
        options = {"showHeader": True, "cellHeight": "sm", "sortBy": [{"displayName": "Value", "desc": True}]}
    else:
        raise ValueError(kind)
    result: dict[str, Any] = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": [
            {"matcher": {"id": "byName", "options": name},
             "properties": [{"id": "unit", "value": axis_unit}, {"id": "custom.axisPlacement", "value": "right"}]}
            for name, axis_unit in (right_axis or {}).items()
        ]},
        "options": options,
        "gridPos": {"w": w, "h": h},
    }
    if kind == "table":
        result["transformations"] = [
            {"id": "labelsToFields", "options": {"mode": "columns"}},
            {"id": "organize", "options": {"excludeByName": {"Time": True}}},
        ]
    return result


def row(title: str) -> dict[str, Any]:
    return {"type": "row", "title": title, "collapsed": False, "panels": [], "gridPos": {"w": 24, "h": 1}}


def layout(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give every panel an id and a place on the 24-column grid, left to right, top to bottom."""
    x = y = row_h = 0
    for index, item in enumerate(items, start=1):
        w, h = item["gridPos"]["w"], item["gridPos"]["h"]
        if item["type"] == "row" or x + w > 24:
            x, y, row_h = 0, y + row_h, 0
        item["id"] = index
        item["gridPos"] = {"h": h, "w": w, "x": x, "y": y}
        x += w
        row_h = max(row_h, h)
        if item["type"] == "row":
            x, y, row_h = 0, y + h, 0
    return items


def dashboard(uid: str, title: str, description: str, items: list[dict[str, Any]], other: tuple[str, str]) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["points-of-truth"],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True, "hide": True,
            "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard",
        }]},
        "templating": {"list": [{
            "name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
            "current": {}, "hide": 0, "includeAll": False, "multi": False, "options": [], "refresh": 1, "regex": "",
        }]},
        "links": [{"title": other[1], "type": "link", "url": f"/d/{other[0]}", "icon": "dashboard", "targetBlank": False}],
        "panels": layout(items),
    }


def pipeline_health() -> dict[str, Any]:
    items = [
        row("Workers"),
        panel("stat", "Workers up", [q(f"count(up{{{JOB}}} == 1) or vector(0)", "workers", instant=True)],
              "Workers that answered their last scrape. Alert PotWorkerDown / PotNoWorkerUp.", w=4, h=4,
              base="red", thresholds=[(1, "green")]),
        panel("stat", "Workers down", [q(f"count(up{{{JOB}}} == 0) or vector(0)", "down", instant=True)],
              "Scrape targets of job points-of-truth that did not answer.", w=4, h=4, thresholds=[(1, "red")]),
        panel("stat", "Posts read (range)", [q(f'sum(increase(pot_posts_received_total{{source="kafka"}}[{RANGE}]))', "posts", instant=True)],
              "Posts read from the pot.posts topic in the selected time range, valid or not.", w=4, h=4),
        panel("stat", "Posts classified (range)", [q(f"sum(increase(pot_posts_classified_total[{RANGE}]))", "classified", instant=True)],
              "Posts the classifier labelled in the selected time range.", w=4, h=4),
        panel("stat", "Dead letters (range)", [q(f"sum(increase(pot_dead_letters_total[{RANGE}]))", "dead letters", instant=True)],
              "Records sent to pot.dlq in the selected time range. Alert PotDeadLetters.", w=4, h=4,
              thresholds=[(1, "orange")]),
        panel("stat", "Failed deliveries (range)",
              [q(f'sum(increase(pot_deliveries_total{{outcome="failed"}}[{RANGE}]))', "failed", instant=True)],
              "Alert deliveries that failed after all retries. Alert PotSinkFailing.", w=4, h=4, thresholds=[(1, "red")]),

        row("Throughput"),
        panel("timeseries", "Posts in and out",
              [q(f"sum by (source) (rate(pot_posts_received_total[{RI}]))", "received ({{source}})"),
               q(f"sum(rate(pot_posts_classified_total[{RI}]))", "classified"),
               q(f"sum(rate(pot_posts_rejected_total[{RI}]))", "rejected")],
              "Posts per second over all workers. A post sent to POST /posts is counted under source=http when the API "
              "takes it and again under source=kafka when a worker reads it from pot.posts; source=kafka is every post "
              "that entered the pipeline.", unit="ops"),
        panel("timeseries", "Valid posts by platform",
              [q(f"sum by (platform) (rate(pot_posts_valid_total[{RI}]))", "{{platform}}")],
              "Valid posts per second by platform (known platforms by name, any other as other).", unit="ops",
              stack=True),
        panel("timeseries", "Triage lanes",
              [q(f"sum by (lane) (rate(pot_posts_triaged_total[{RI}]))", "{{lane}}")],
              "Valid posts per second by lane before classification: urgent (a safety or legal phrase, a VIP, a large "
              "audience: classified ahead of any backlog) or normal.", unit="ops", stack=True),
        panel("timeseries", "Classified per worker", [q(f"sum by (instance) (rate(pot_posts_classified_total[{RI}]))", "{{instance}}")],
              "Posts per second classified by each worker: uneven lines mean uneven partition assignment "
              "(or more workers than partitions of pot.posts).", unit="ops", stack=True),

        row("Classifier"),
        panel("timeseries", "Classify batch size", quantiles("pot_classify_batch_size"),
              "Texts per classifier call (POT_BATCH_SIZE is the upper bound). Small batches under load mean the "
              "worker is waiting for posts, not for the model.", w=12),
        panel("timeseries", "Classify call duration", quantiles("pot_classify_duration_seconds"),
              "Wall time of one classifier call (one batch).", unit="s", w=12),

        row("Latency"),
        panel("timeseries", "Post to alert delivered", quantiles("pot_post_to_alert_seconds"),
              "From a post's arrival at the monitor to its alert's delivery to a sink. The histogram's largest "
              "finite bucket is 60 s: quantiles above it read as 60 s.", unit="s", w=24, thresholds=[(60, "red")]),

        row("Backlog and memory"),
        panel("timeseries", "Consumer lag by topic",
              [q("sum by (topic) (pot_consumer_lag)", "{{topic}}")],
              "Records waiting in each topic (end offset minus committed offset), over all partitions and workers. "
              "posts growing: classification cannot keep up (add workers, up to the partitions of pot.posts); "
              "redeliver growing: a receiver is down. Alert PotConsumerLagGrowing.", w=12),
        panel("timeseries", "Worker memory",
              [q("sum by (instance, process) (pot_process_resident_memory_bytes)", "{{instance}} {{process}}")],
              "Resident memory of each worker and its classifier process; the Kubernetes requests are sized from it.",
              unit="bytes", w=12),
        panel("timeseries", "Table keys",
              [q("sum by (table) (pot_table_keys)", "{{table}}")],
              "Keys held in the dedupe (seen-posts) and author-history tables over all workers; each drops keys past "
              "its retention (POT_DEDUPE_RETENTION_S, the policy's history.keep), so this levels off under steady "
              "traffic. A line that only grows means expiry is not running.", w=24),

        row("Failures"),
        panel("timeseries", "Dead letters by stage", [q(f"sum by (stage) (increase(pot_dead_letters_total[{RI}]))", "{{stage}}")],
              "Records sent to pot.dlq, by the stage that gave up: validate (bad input), classify (model error), "
              "route, deliver (sink gave up).", w=8, bars=True, stack=True),
        panel("timeseries", "Rejected by reason", [q(f"sum by (reason) (increase(pot_posts_rejected_total[{RI}]))", "{{reason}}")],
              "Posts rejected by validation, by reason code. Alert PotPostsRejectedSpike.", w=8, bars=True, stack=True),
        panel("timeseries", "Deliveries by sink and outcome",
              [q(f"sum by (sink, outcome) (rate(pot_deliveries_total[{RI}]))", "{{sink}} {{outcome}}")],
              "Alert deliveries per second that ended, by sink and outcome (delivered, failed after retries, "
              "skipped_duplicate on replay, deferred to the redeliver topic while a receiver is down).", w=8, unit="ops"),
        panel("timeseries", "Records re-read and offset jumps",
              [q(f"sum by (topic) (increase(pot_consumer_rereads_total[{RI}]))", "re-read {{topic}}"),
               q(f"sum by (topic) (increase(pot_consumer_offset_jumps_total[{RI}]))", "jump {{topic}}")],
              "Re-read: a worker found records never handled while later ones were (dropped in a rebalance), held "
              "its commit back and read the partition again, so nothing was lost. Jump: a partition's next record "
              "was further on than the last one read; the skipped offsets are not taken as done. Both should stay "
              "at zero outside rebalances. Alert PotRecordsReread.", w=24, bars=True),
        panel("timeseries", "Delivery latency by sink (p90)",
              [q(f"histogram_quantile(0.9, sum by (le, sink) (rate(pot_delivery_duration_seconds_bucket[{RI}])))", "{{sink}}")],
              "Time to deliver one message to one receiver, retries included; Slack posts are paced at about one per "
              "second per channel.", w=24, unit="s"),

        row("Connectors"),
        panel("timeseries", "Posts in by connector",
              [q(f"sum by (connector) (rate(pot_connector_posts_total[{RI}]))", "{{connector}}"),
               q(f"sum by (format) (rate(pot_ingest_items_total{{outcome=\"accepted\"}}[{RI}]))", "ingest {{format}}")],
              "Posts per second each connector published (Mastodon, Bluesky, Reddit, X), and posts mapped from native "
              "payloads by POST /ingest/{format} and pot send --format.", w=6, unit="ops"),
        panel("timeseries", "Connector lag behind the platform",
              [q("sum by (connector) (pot_connector_lag_seconds)", "{{connector}}")],
              "Now minus the creation time of the last post a connector published: how far behind the platform it "
              "reads (one process runs each connector). Quiet sources grow here too; compare with the posts panel.", w=6, unit="s"),
        panel("timeseries", "Connector errors, reconnects and rate limits",
              [q(f"sum by (connector, kind) (increase(pot_connector_errors_total[{RI}]))", "{{connector}} {{kind}}"),
               q(f"sum by (connector) (increase(pot_connector_reconnects_total[{RI}]))", "{{connector}} reconnect"),
               q(f"sum by (connector) (increase(pot_connector_rate_limited_total[{RI}]))", "{{connector}} 429")],
              "bad_frame: a frame that did not map (in the dlq, stage map); network: a dropped connection; http: an "
              "error answer; 429: the platform asked to slow down and the connector waited. Reconnects resume from "
              "the cursor in the connector-cursors topic.", w=6, bars=True),
        panel("stat", "Connected", [q("sum by (connector) (pot_connector_connected)", "{{connector}}")],
              "1 while a connector holds its stream (or its last poll succeeded).", w=6,
              thresholds=[(1, "green")], base="red"),
    ]
    return dashboard("pot-pipeline-health", "points-of-truth / Pipeline health",
                     "Is the monitor keeping up: workers, throughput, classifier batches, latency, failures.",
                     items, ("pot-support-desk", "Support desk"))


def support_desk() -> dict[str, Any]:
    not_alerted = f"sum(increase(pot_posts_not_alerted_total[{RANGE}]))"
    raised = f"sum(increase(pot_alerts_raised_total[{RANGE}]))"
    acked_within = (f'sum(increase(pot_alerts_acknowledged_total{{within_window="true"}}[{RANGE}])) / '
                    f'sum(increase(pot_alerts_acknowledged_total[{RANGE}]))')
    items = [
        row("The desk now"),
        panel("stat", "Open alerts now", [q('sum by (state) (pot_alerts_open)', "{{state}}", instant=True)],
              "Alerts not yet resolved: open = nobody has acknowledged them yet; acknowledged = someone is on it. "
              "Each worker counts the alerts of its own partitions, so the sum is the whole desk.", w=6, h=5,
              thresholds=[(20, "orange"), (50, "red")]),
        panel("bargauge", "Unacknowledged by label", [q('sum by (label) (pot_alerts_open{state="open"})', "{{label}}", instant=True)],
              "Open, unacknowledged alerts per label right now.", w=6, h=5),
        panel("stat", "Acknowledged within the window (range)", [q(acked_within, "within window", instant=True)],
              "Share of alerts acknowledged (or resolved) before their deadline, in the selected time range.",
              w=6, h=5, unit="percentunit", max_=1, base="red", thresholds=[(0.8, "orange"), (0.95, "green")]),
        panel("stat", "Breaches (range)", [q(f'sum(increase(pot_sla_steps_total{{step="breach"}}[{RANGE}]))', "breaches", instant=True)],
              "Alerts whose window closed before anyone acknowledged them, in the selected time range. Alert PotBreachRateHigh.",
              w=6, h=5, thresholds=[(1, "orange"), (10, "red")]),
        panel("timeseries", "Time to acknowledge by label (p50, p90)",
              [q(f"histogram_quantile(0.5, sum by (le, label) (rate(pot_time_to_acknowledge_seconds_bucket[{RI}])))", "p50 {{label}}"),
               q(f"histogram_quantile(0.9, sum by (le, label) (rate(pot_time_to_acknowledge_seconds_bucket[{RI}])))", "p90 {{label}}")],
              "From an alert being raised to its acknowledgement, per label. The dashed lines are the default windows: "
              "1 h for complaints and questions, 24 h for suggestions and praise.",
              unit="s", thresholds=[(3600, "orange"), (86400, "red")]),
        panel("timeseries", "Acknowledged within the window, by label",
              [q(f'sum by (label) (rate(pot_alerts_acknowledged_total{{within_window="true"}}[{RI}])) / '
                 f'sum by (label) (rate(pot_alerts_acknowledged_total[{RI}]))', "{{label}}")],
              "Share of acknowledgements that came before the deadline, per label.", unit="percentunit", max_=1),
        panel("timeseries", "Warnings, breaches, escalations, reminders per hour",
              [q(f"sum by (step) (rate(pot_sla_steps_total[{RI}])) * 3600", "{{step}}")],
              "Clock steps fired per hour: warning (75% of the window gone unacknowledged), breach (deadline passed), "
              "escalation (next level told), reminder.", bars=True, stack=True),
        panel("timeseries", "Time to resolve (p50, p90)",
              [q(f"histogram_quantile(0.5, sum by (le) (rate(pot_time_to_resolve_seconds_bucket[{RI}])))", "p50"),
               q(f"histogram_quantile(0.9, sum by (le) (rate(pot_time_to_resolve_seconds_bucket[{RI}])))", "p90"),
               q(f"sum(rate(pot_alerts_answered_in_stream_total[{RI}])) * 3600", "answered in the stream per hour")],
              "From an alert being raised to its resolution; and alerts resolved by a brand account's reply seen in the stream.",
              unit="s", right_axis={"answered in the stream per hour": "short"}),
        panel("timeseries", "Complaint surges",
              [q(f"sum by (scope) (increase(pot_surges_total[{RI}]))", "{{scope}}")],
              "Complaint surges detected (the last hour far above its own baseline), by scope: all posts, a brand, "
              "a keyword class. Each is one message to the incidents route.", w=8, bars=True, stack=True),
        panel("timeseries", "Silenced and digested per hour",
              [q(f"sum by (label) (rate(pot_alerts_silenced_total[{RI}])) * 3600", "silenced {{label}}"),
               q(f"sum by (receiver) (rate(pot_digests_sent_total[{RI}])) * 3600", "digests to {{receiver}}")],
              "Alerts recorded but not sent because a silence matched; digest messages sent.", w=8),
        panel("timeseries", "Policy reloads",
              [q(f"sum by (outcome) (increase(pot_policy_reloads_total[{RI}]))", "{{outcome}}"),
               q("sum by (instance) (pot_policy_version)", "version on {{instance}}")],
              "Policy reloads (SIGHUP or file change); a failed reload keeps the old policy and logs why. The version "
              "lines show each worker's reload count: workers that differ have not all seen the same file.", w=8,
              bars=True),

        row("Alerts"),
        panel("stat", "Alerts raised (range) by priority",
              [q(f"sum by (priority) (increase(pot_alerts_raised_total[{RANGE}]))", "{{priority}}", instant=True)],
              "Alerts raised in the selected time range. P1: complaint with a window of 15 min or less; P2: other "
              "complaints; P3: questions; P4: suggestions and praise.", w=12, h=5),
        panel("stat", "Other / no alert (range)", [q(f"{not_alerted} / ({not_alerted} + {raised})", "no alert", instant=True)],
              "Share of routed posts labelled other (noise: counted, no alert) in the selected time range.",
              w=6, h=5, unit="percentunit", max_=1),
        panel("stat", "Duplicates skipped (range)", [q(f"sum(increase(pot_posts_duplicate_total[{RANGE}]))", "duplicates", instant=True)],
              "Posts seen again within the dedupe window (POT_DEDUPE_RETENTION_S): no second alert.", w=6, h=5),
        panel("timeseries", "Alerts per hour by label",
              [q(f"sum by (label) (rate(pot_alerts_raised_total[{RI}])) * 3600", "{{label}}")],
              "Alerts raised per hour, by the classifier's label.", stack=True),
        panel("timeseries", "Alerts per hour by priority",
              [q(f"sum by (priority) (rate(pot_alerts_raised_total[{RI}])) * 3600", "{{priority}}")],
              "Alerts raised per hour, by priority.", stack=True),
        panel("table", "Alerts by label and priority (range)",
              [q(f"sum by (label, priority) (increase(pot_alerts_raised_total[{RANGE}]))", "", instant=True)],
              "Alerts raised in the selected time range, one row per label and priority.", w=12),
        panel("timeseries", "Other (no alert) share",
              [q(f"sum(rate(pot_posts_not_alerted_total[{RI}])) / (sum(rate(pot_posts_not_alerted_total[{RI}])) "
                 f"+ sum(rate(pot_alerts_raised_total[{RI}])))", "other share")],
              "Share of routed posts labelled other (noise: counted, no alert).", w=6, unit="percentunit", max_=1),
        panel("timeseries", "Duplicates skipped per hour",
              [q(f"sum(rate(pot_posts_duplicate_total[{RI}])) * 3600", "duplicates")],
              "Posts seen again within the dedupe window, per hour: replays after a crash, or producers sending twice.",
              w=6),

        panel("bargauge", "Top languages (range)",
              [q(f'sum by (lang) (increase(pot_posts_classified_total{{label!="other"}}[{RANGE}]))', "{{lang}}", instant=True)],
              "Posts that raised alerts' labels (praise, complaint, question, suggestion) in the selected time range, by "
              "language (the author's, else detected; languages outside the trained twelve count as other).", w=12),

        row("Labels and model quality"),
        panel("timeseries", "Classified by label (share)",
              [q(f"sum by (label) (rate(pot_posts_classified_total[{RI}])) / ignoring (label) group_left "
                 f"sum(rate(pot_posts_classified_total[{RI}]))", "{{label}}")],
              "Share of classified posts per label, over all workers and models.", unit="percentunit", stack=True, max_=1),
        panel("timeseries", "Shadow disagreement rate",
              [q(f"sum(rate(pot_shadow_disagreements_total[{RI}])) / sum(rate(pot_shadow_compared_total[{RI}]))", "disagreement"),
               q(f"sum(rate(pot_shadow_errors_total[{RI}])) * 3600", "shadow errors per hour")],
              "Share of posts on which the shadow classifier (POT_SHADOW_CLASSIFIER) gave another label than the "
              "primary; empty when no shadow runs. Alert PotShadowDisagreementHigh above 20% over an hour.",
              unit="percentunit", thresholds=[(0.2, "orange")], right_axis={"shadow errors per hour": "short"}),
        panel("table", "Shadow disagreements",
              [q(f"sum by (primary_label, shadow_label) (increase(pot_shadow_disagreements_total[{RANGE}]))", "", instant=True)],
              "Posts on which the two classifiers disagreed in the selected time range, by primary and shadow label. "
              "The posts themselves are on the pot.shadow topic.", w=12),
        panel("bargauge", "Corrections by label (range)",
              [q(f"sum by (label) (increase(pot_corrections_total[{RANGE}]))", "{{label}}", instant=True)],
              "Label corrections received (POST /corrections) in the selected time range, by the right label: "
              "training data for the next head.", w=6),
        panel("timeseries", "Corrections per hour by label",
              [q(f"sum by (label) (rate(pot_corrections_total[{RI}])) * 3600", "{{label}}")],
              "Label corrections received per hour, by the right label.", w=6, stack=True),
    ]
    return dashboard("pot-support-desk", "points-of-truth / Support desk",
                     "What customers are telling us: alerts by label and priority, noise, duplicates, model quality.",
                     items, ("pot-pipeline-health", "Pipeline health"))


DASHBOARDS = {"pipeline-health.json": pipeline_health, "support-desk.json": support_desk}


def render() -> dict[str, str]:
    return {name: json.dumps(build(), indent=2, ensure_ascii=False) + "\n" for name, build in DASHBOARDS.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a committed dashboard differs from the builder's")
    args = parser.parse_args(argv)
    stale = []
    for name, text in render().items():
        path = OUT / name
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            OUT.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print(f"out of date: {', '.join(stale)}; run python {Path(__file__).as_posix()}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
