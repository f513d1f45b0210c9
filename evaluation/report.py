"""``lmlm eval report RUN_DIR...``: every evaluation's results gathered into one markdown page.

Each run directory is searched for the JSON files the evaluations write (``perplexity.json``,
``completion.json``, ``precision.json``, ``factscore.json``, ``nlu.json``, ``unlearning.json``);
each found becomes a section with its table (LMLM and Standard side by side) and its plot, linked
relative to the page.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from .unlearning.report import markdown_table

SYSTEMS = {
    "standard": "Standard",
    "lmlm_static": "LMLM static",
    "lmlm_dynamic": "LMLM dynamic",
    "lmlm": "LMLM + store",
    "lmlm_no_lookup": "LMLM, no lookups",
}


def _table(header: Sequence[str], rows: Sequence[Sequence]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join("–" if c is None else str(c) for c in row) + " |" for row in rows]
    return lines


def _num(x, spec: str = ".3f"):
    return None if x is None else format(x, spec)


def _perplexity(data: dict) -> list[str]:
    lines = [
        "Normalized: NLL of the text and the lookup queries over the original text's tokens "
        "(see the formulas in the README)."
    ]
    for name, systems in data["sets"].items():
        columns = list(systems)
        rows = [
            [metric] + [_num(systems[c].get(metric)) for c in columns]
            for metric in ("normalized_ppl", "ppl", "text_ppl")
        ]
        for category in ("text", "entity", "relation", "value"):
            rows.append([f"loss: {category}"] + [_num(systems[c]["loss"].get(category)) for c in columns])
        rows.append(["lookups"] + [systems[c]["lookups"] for c in columns])
        lines += ["", f"**{name}** ({systems[columns[0]]['documents']} documents)", ""]
        lines += _table(["", *(SYSTEMS.get(c, c) for c in columns)], rows)
    return lines


def _completion(data: dict) -> list[str]:
    lines = []
    for name, systems in data["sets"].items():
        columns = list(systems)
        groups = sorted({g for s in systems.values() for g in s["groups"]}) or ["all"]
        rows = []
        for group in groups:
            for metric in ("first_words", "contains"):
                cells = [(systems[c]["groups"].get(group) or systems[c]).get(metric) for c in columns]
                rows.append([f"{group}: {metric}"] + [_num(x, ".3f") for x in cells])
        relations = sorted({r for s in systems.values() for r in s["relations"]})
        for relation in relations:
            rows.append(
                [f"{relation} (contains)"]
                + [_num(systems[c]["relations"].get(relation, {}).get("contains")) for c in columns]
            )
        lines += ["", f"**{name}** ({systems[columns[0]]['n']} items)", ""]
        lines += _table(["", *(SYSTEMS.get(c, c) for c in columns)], rows)
    return lines


def _precision(data: dict) -> list[str]:
    systems = data["systems"]
    rows = [
        [metric] + [systems[s].get(metric) for s in systems]
        for metric in (
            "precision",
            "stated",
            "true",
            "claims_per_output",
            "wrong_slot_share",
            "lookup_share",
            "repeated_share",
        )
    ]
    return [f"{data['prompts']} prompts about held-out people.", ""] + _table(
        ["", *(SYSTEMS.get(s, s) for s in systems)], rows
    )


def _factscore(data: dict) -> list[str]:
    systems = data["systems"]
    metrics = ("factscore", "factscore_no_penalty", "responded", "facts_per_response")
    rows = [[m] + [systems[s].get(m) for s in systems] for m in metrics]
    return [f"Judge: {data['settings']['model']}, gamma {data['settings']['gamma']}.", ""] + _table(
        ["", *(SYSTEMS.get(s, s) for s in systems)], rows
    )


def _nlu(data: dict) -> list[str]:
    rows = [[t, r["examples"], r["acc"], r["acc_norm"]] for t, r in data["tasks"].items()]
    return [f"Model: `{data['settings']['model']}`.", ""] + _table(
        ["task", "examples", "acc", "acc_norm"], rows
    )


def _unlearning(data: dict) -> list[str]:
    return [f"{data['seconds']} s in all.", "", markdown_table(data["rows"])]


SECTIONS: dict[str, tuple[str, Callable[[dict], list[str]], str | None]] = {
    "perplexity.json": ("Perplexity", _perplexity, "perplexity.png"),
    "completion.json": ("Knowledge completion", _completion, "completion.png"),
    "precision.json": ("Factual precision (grounded in the world)", _precision, "precision.png"),
    "factscore.json": ("FActScore", _factscore, None),
    "nlu.json": ("NLU (zero-shot)", _nlu, None),
    "unlearning.json": ("Unlearning", _unlearning, "unlearning.png"),
}


def build_report(run_dirs: Sequence[str | Path], out: str | Path) -> Path:
    """Writes the markdown page ``out`` from the results under ``run_dirs``; returns its path."""
    out = Path(out)
    lines = ["# LMLM evaluation report", ""]
    found = 0
    for run in map(Path, run_dirs):
        if not run.is_dir():
            raise ValueError(f"{run}: not a directory of results")
        lines += [f"## {run.name}", ""]
        for name, (title, render, plot) in SECTIONS.items():
            for path in sorted(run.rglob(name)):
                found += 1
                data = json.loads(path.read_text(encoding="utf-8"))
                lines += [f"### {title}", "", f"From `{path}`.", ""] + render(data) + [""]
                image = path.with_name(plot) if plot else None
                if image is not None and image.is_file():
                    lines += [f"![{title}]({os.path.relpath(image.resolve(), out.parent.resolve())})", ""]
    if not found:
        raise ValueError(
            f"no results under {', '.join(map(str, run_dirs))} (looked for {', '.join(SECTIONS)})"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines), encoding="utf-8")
    return out
