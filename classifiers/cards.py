"""Model cards as Markdown: every held-out set separately, per label and per language, with the commands."""

from __future__ import annotations

from typing import Any


def _fmt(value: Any) -> str:
    return "" if value is None else f"{value:.3f}"


def summary_rows(scores: dict[str, Any]) -> list[str]:
    """One table row per held-out set: the figures the issue's targets are set on."""
    lines = [
        "| held-out set | n | macro-F1 | accuracy | complaint P | complaint R | non-suggestions called suggestion | worst language (F1) | ECE |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in scores.items():
        complaint = s["per_label"].get("complaint", {})
        worst = s.get("min_language")
        worst_text = f"{worst['lang']} ({worst['macro_f1']:.3f})" if worst else ""
        lines.append(
            f"| {name} | {s['n']} | {s['macro_f1']:.3f} | {s['accuracy']:.3f} | {_fmt(complaint.get('precision'))} | "
            f"{_fmt(complaint.get('recall'))} | {_fmt(s.get('non_suggestion_as_suggestion'))} | "
            f"{worst_text} | {s['ece']:.3f} |"
        )
    return lines


def detail_rows(name: str, s: dict[str, Any]) -> list[str]:
    lines = ["", f"### {name}: per label", "", "| label | precision | recall | F1 | n |", "|---|---|---|---|---|"]
    for label, m in s["per_label"].items():
        lines.append(f"| {label} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['n']} |")
    if len(s.get("per_language", {})) > 1:
        lines += ["", "| language | n | macro-F1 |", "|---|---|---|"]
        for lang, m in s["per_language"].items():
            lines.append(f"| {lang} | {m['n']} | {m['macro_f1']:.3f} |")
    conf = s["confusion"]
    lines += ["", "confusion (rows: true, columns: predicted)", "", "| | " + " | ".join(conf["rows_true_cols_pred"]) + " |"]
    lines.append("|---" * (len(conf["rows_true_cols_pred"]) + 1) + "|")
    for label, row in zip(conf["rows_true_cols_pred"], conf["matrix"]):
        if any(row):
            lines.append(f"| {label} | " + " | ".join(str(v) for v in row) + " |")
    return lines


def comparison_rows(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Old → new per held-out set: the figures a ship decision is made on."""
    def pick(s: dict[str, Any] | None, key: str) -> Any:
        if s is None:
            return None
        if key in ("precision", "recall"):
            return s["per_label"].get("complaint", {}).get(key)
        return s.get(key)

    def lang(s: dict[str, Any] | None) -> str:
        worst = (s or {}).get("min_language")
        return f"{worst['lang']} {worst['macro_f1']:.3f}" if worst else ""

    lines = [
        "| held-out set | n | macro-F1 old → new | complaint P old → new | complaint R old → new | non-suggestions called suggestion old → new | worst language old → new | ECE old → new |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, s in new.items():
        o = old.get(name)
        cells = [f"{_fmt(pick(o, k))} → {_fmt(pick(s, k))}" for k in ("macro_f1", "precision", "recall", "non_suggestion_as_suggestion")]
        lines.append(f"| {name} | {s['n']} | " + " | ".join(cells) + f" | {lang(o)} → {lang(s)} | {_fmt(pick(o, 'ece'))} → {_fmt(pick(s, 'ece'))} |")
    return lines


def render_card(card: dict[str, Any]) -> str:
    """The model card as Markdown tables, for people (``card.json`` holds the same, for machines)."""
    lines = [f"# Model card: {card['version']}", "", f"- encoder: `{card['encoder']}` ({'int8 dynamic quantisation' if card.get('quantize') else 'fp32'})"]
    extra = []
    if card.get("C") is not None:
        extra.append(f"C={card['C']}")
    if card.get("real_weight") is not None:
        extra.append(f"real-data weight {card['real_weight']}")
    if card.get("temperature") is not None:
        extra.append(f"temperature {card['temperature']}")
    lines.append(f"- head: {card['head']}" + (f"; {', '.join(extra)}" if extra else ""))
    if "train" in card:
        train = card["train"]
        lines.append(f"- trained on {train.get('brand_posts')} brand posts ({', '.join(train.get('languages', []))}) and {train.get('real')} real posts")
    if "corpus" in card:
        corpus = card["corpus"]
        lines.append(f"- training rows: {corpus['train']}; validation rows (chose the epoch, biases, temperature): {corpus['validation']}")
        lines.append(f"- near-duplicates of held-out posts dropped from training: {corpus['near_duplicates_dropped']}")
        lines.append(f"- real training rows relabelled by the guide: {corpus['relabelled_train_rows']}")
    if "calibration" in card:
        cal = card["calibration"]
        epoch = f"; best epoch {card['best_epoch']}" if card.get("best_epoch") is not None else ""
        lines.append(f"- chosen on validation: complaint bias {cal['complaint_bias']}, other bias {cal['other_bias']}, temperature {cal['temperature']}{epoch}")
    for run in card.get("soup_of", []):
        lines.append(
            f"- averaged run {run['run']} ({run['version']}): seed {run['seed']}, {run.get('real_per_epoch')} real posts per epoch, "
            f"best epoch {run['best_epoch']}, validation score {run['validation_after']['val_score']}"
        )
    if card.get("student_of"):
        d = card.get("distill", {})
        best = max(d.get("history", []), key=lambda row: row["val_f1"], default={})
        lines.append(
            f"- distilled student of {card['student_of']}: encoder layers {d.get('keep')}, best epoch {best.get('epoch')} "
            f"(validation macro-F1 {best.get('val_f1')}, agreement with the teacher {best.get('val_agreement_with_teacher')})"
        )
    if card.get("split"):
        lines.append(f"- split: {card['split']}")
    lines += [f"- {note}" for note in card.get("notes", [])]
    if card.get("commands"):
        lines += ["", "## Commands", ""] + [f"- {what}: `{cmd}`" for what, cmd in card["commands"].items()]
    scores = card.get("scores", {})
    compared = card.get("compared_with")
    if compared and scores:
        lines += ["", f"## Against {compared['version']}, same sets, same command", ""] + comparison_rows(compared["scores"], scores)
    if scores:
        lines += ["", "## Held-out scores", ""] + summary_rows(scores)
        for name, s in scores.items():
            lines += detail_rows(name, s)
    return "\n".join(lines) + "\n"
