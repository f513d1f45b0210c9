"""Scores of the annotation-quality experiment: triples against the world, the text checks.

:func:`score` reads what :func:`lmlm.annotation.annotate` wrote for the held-out biographies (its
report and ``triples.jsonl``) and scores it against the facts each biography states and the facts
the world holds; :func:`check_paper_samples` runs the same text checks on the paper's annotated
files, the reference of real annotators. Triples compare by :func:`triple_key` (normalised
entity, relation and value), the key the knowledge graph itself matches on.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from lmlm.annotation import validate_annotation
from lmlm.kg.facts import normalize_key
from lmlm.kg.syntax import parse_annotated, strip_lookups


def triple_key(entity: str, relation: str, value: str) -> tuple[str, str, str]:
    return normalize_key(entity), normalize_key(relation), normalize_key(value)


def score(docs: list[dict], truth: set, report: dict, triples_path: Path, accepted: set[str]) -> dict:
    """Precision and recall of the triples the pipeline extracted, and the text checks.

    ``accepted``: the ids of the documents the validation let through; recall within them says
    what the annotator finds where it copied the text, apart from the texts it lost.
    """
    predicted: dict[str, set] = {}
    for line in triples_path.read_text().splitlines():
        t = json.loads(line)
        predicted.setdefault(t["source"], set()).add(triple_key(t["entity"], t["relation"], t["value"]))
    n_pred = n_true = n_stated = n_gold = 0
    kept: Counter = Counter()
    per_relation: dict[str, Counter] = {}
    for doc in docs:
        pred, gold = predicted.get(doc["id"], set()), set(map(tuple, doc["gold"]))
        n_pred += len(pred)
        n_true += len(pred & truth)
        n_stated += len(pred & gold)
        n_gold += len(gold)
        if doc["id"] in accepted:
            kept["gold"] += len(gold)
            kept["stated"] += len(pred & gold)
        for key in gold:
            counts = per_relation.setdefault(key[1], Counter())
            counts["gold"] += 1
            counts["found"] += key in pred
    totals = report["directory"]
    return {
        "documents": len(docs),
        "text_preserved_share": totals["text_preserved"] / len(docs),
        "accepted_share": totals["accepted"] / len(docs),
        "exact": totals["exact"],
        "repaired": totals["repaired"],
        "rejected": totals["rejected"],
        "rejected_reasons": totals["rejected_reasons"],
        "repairs": totals["repairs"],
        "predicted_triples": n_pred,
        "gold_triples": n_gold,
        "precision_world": n_true / n_pred if n_pred else 0.0,
        "precision_stated": n_stated / n_pred if n_pred else 0.0,
        "recall": n_stated / n_gold if n_gold else 0.0,
        "recall_in_accepted": kept["stated"] / kept["gold"] if kept["gold"] else 0.0,
        "recall_by_relation": {rel: c["found"] / c["gold"] for rel, c in sorted(per_relation.items())},
    }


def check_paper_samples(folder: Path) -> list[dict]:
    """The same checks on the paper's annotated files: calls that parse, text preserved, verdicts."""
    rows = []
    for path in sorted(folder.glob("*_cleaned.json")):
        examples = json.loads(path.read_text(encoding="utf-8"))["examples"]
        calls = problems = preserved = 0
        verdicts: Counter = Counter()
        reasons: Counter = Counter()
        for ex in examples:
            parsed = parse_annotated(ex["annotated_text"])
            calls += len(parsed.calls)
            problems += len(parsed.problems)
            preserved += strip_lookups(ex["annotated_text"]) == ex["text"]
            verdict = validate_annotation(ex["text"], ex["annotated_text"])
            verdicts[verdict.status] += 1
            reasons[verdict.reason] += verdict.status == "rejected"
        rows.append(
            {
                "file": path.name,
                "annotator": examples[0].get("model_id") if examples else None,
                "documents": len(examples),
                "calls": calls + problems,
                "calls_parsed_share": calls / max(1, calls + problems),
                "text_preserved_share": preserved / max(1, len(examples)),
                "verdicts": dict(verdicts),
                "rejected_reasons": {k: v for k, v in reasons.items() if v},
            }
        )
    return rows
