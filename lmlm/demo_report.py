"""What ``lmlm demo build`` measures (``report.json``), on prompts about held-out people.

* The LMLM (exact lookups, the demo's greedy decoding) and the Standard model of the same size,
  scored against the generated world (:mod:`lmlm.evaluation.grounded_precision`): factual precision,
  values in the wrong slot, values that reach the text through an exact lookup made before them,
  outputs with a repeated sentence; for the LMLM also where its facts come from
  (:mod:`lmlm.evaluation.fact_statements`).
* The forgetting check: in a copy of the store, forget one relation of the prompts' people (then,
  in another copy, the people themselves), regenerate, and count the outputs that still state a
  value for what was forgotten, read with the same claim reader (any value in the forgotten slot
  counts, not only the old one). Whole people are checked with the exact resolver and with the
  default one, whose fuzzy entity match may answer with a look-alike person's facts.
* Each model's training steps, tokens and seconds (from its run's ``log.json``) and every target of
  the demo (``targets``: figure, value, bound, met).
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from pathlib import Path

logger = logging.getLogger(__name__)

# (figure, where it is in the report, comparison, bound)
TARGETS = (
    ("outputs stating a forgotten relation", ("forgetting", "relation", "share"), "<=", 0.02),
    ("outputs stating facts of forgotten people", ("forgetting", "people", "share"), "<=", 0.02),
    ("factual precision, LMLM", ("lmlm", "grounded", "precision"), ">=", 0.95),
    ("outputs with a repeated sentence, LMLM", ("lmlm", "grounded", "repeated_share"), "<=", 0.05),
    ("values in the wrong slot, LMLM", ("lmlm", "grounded", "wrong_slot_share"), "<=", 0.03),
    ("values through an exact lookup made before them", ("lmlm", "grounded", "lookup_share"), ">=", 0.95),
    ("training seconds of both models", ("training", "seconds"), "<=", 360.0),
)
_SAMPLES = 5


def evaluate_demo(paths, config) -> dict:
    """The report of a built demo (``paths``: ``DemoPaths``; ``config``: ``DemoConfig``)."""
    from lmlm.api import load_lmlm
    from lmlm.evaluation.fact_statements import score_fact_statements
    from lmlm.evaluation.grounded_precision import score_grounded
    from lmlm.kg import KnowledgeGraph, ResolverConfig
    from lmlm.kg.formats import read_json_objects
    from lmlm.train.world.claims import ClaimReader, WorldTruth

    records = [record for _, record in read_json_objects(paths.world / "prompts.jsonl")]
    records = records[: config.eval_prompts]
    prompts, subjects = [r["prompt"] for r in records], [r["person"] for r in records]
    reader = ClaimReader(WorldTruth.load(paths.world))
    values = [t["value"] for _, t in read_json_objects(paths.world / "triples.jsonl")]  # every value stored
    model = load_lmlm(paths.model("lmlm"))  # loaded once; each store below is attached to it in turn
    with KnowledgeGraph.open(paths.kg) as kg:
        lmlm = load_lmlm(model, kg, resolver_config=ResolverConfig(fuzzy=False))
        outputs, lmlm_seconds = _generate(lmlm, prompts, config)
    standard = load_lmlm(paths.model("standard"))
    standard_outputs, standard_seconds = _generate(standard, prompts, config, enable_lookup=False)
    people = sorted(set(subjects))
    relation = [(person, config.forget_relation) for person in people]
    whole = [(person, None) for person in people]
    report = {
        "prompts": len(prompts),
        "people": len(people),
        "decoding": {
            "greedy": True,
            "max_new_tokens": config.max_new_tokens,
            "entities_from_context": config.entities_from_context,
            "resolver": "exact",
        },
        "lmlm": {
            "grounded": score_grounded(outputs, subjects, reader).to_dict(),
            "seconds": lmlm_seconds,
        },
        "standard": {
            "grounded": score_grounded(standard_outputs, subjects, reader).to_dict(),
            "seconds": standard_seconds,
        },
        "facts": score_fact_statements(outputs, subjects, values).to_dict(),
        "forgetting": {
            "relation": {
                "forgotten": config.forget_relation,
                **_forget_check(model, paths, config, prompts, subjects, reader, relation, fuzzy=False),
            },
            "relation_fuzzy_resolver": _forget_check(
                model, paths, config, prompts, subjects, reader, relation, fuzzy=True
            ),
            "people": _forget_check(model, paths, config, prompts, subjects, reader, whole, fuzzy=False),
            "people_fuzzy_resolver": _forget_check(
                model, paths, config, prompts, subjects, reader, whole, fuzzy=True
            ),
        },
        "training": training_figures(paths),
        "samples": [o.to_dict() for o in outputs[:_SAMPLES]],
        "standard_samples": [o.prompt + o.text for o in standard_outputs[:_SAMPLES]],
    }
    report["targets"] = check_targets(report)
    return report


def _generate(model, prompts: list[str], config, **options) -> tuple[list, float]:
    start = time.perf_counter()
    outputs = model.generate_outputs(
        prompts,
        max_new_tokens=config.max_new_tokens,
        entities_from_context=config.entities_from_context,
        batch_size=32,
        **options,
    )
    return outputs, round(time.perf_counter() - start, 1)


def _forget_check(model, paths, config, prompts, subjects, reader, forgotten, *, fuzzy: bool) -> dict:
    """Forgets ``forgotten`` ((entity, relation or None)) in a copy of the store, regenerates with
    ``model`` (the demo's LMLM, loaded once) on it, counts."""
    from lmlm.api import load_lmlm
    from lmlm.evaluation.grounded_precision import count_forgotten_statements
    from lmlm.kg import KnowledgeGraph, ResolverConfig

    with tempfile.TemporaryDirectory(dir=paths.root, prefix=".forget-") as tmp:
        copy = Path(tmp) / "kg"
        shutil.copytree(paths.kg, copy)
        with KnowledgeGraph.open(copy) as kg:
            for entity, relation in forgotten:
                kg.forget(entity, relation, include_as_value=relation is None)
            lmlm = load_lmlm(model, kg, resolver_config=ResolverConfig(fuzzy=fuzzy))
            outputs, seconds = _generate(lmlm, prompts, config)
    counted = count_forgotten_statements(outputs, subjects, reader, forgotten)
    return {
        "resolver": "default (exact, then fuzzy)" if fuzzy else "exact",
        **counted.to_dict(),
        "seconds": seconds,
        "samples": [o.prompt + o.text for o in outputs[:_SAMPLES]],
    }


def training_figures(paths) -> dict:
    """Steps, input tokens and seconds of each model's training loop (its ``log.json``)."""
    figures: dict = {}
    for mode in ("lmlm", "standard"):
        log = json.loads((paths.run(mode) / "log.json").read_text(encoding="utf-8"))
        steps = log.get("steps", [])
        seconds = sum(s["tokens"] / s["tokens_per_s"] for s in steps if s.get("tokens_per_s"))
        figures[mode] = {
            "steps": len(steps),
            "tokens": sum(s["tokens"] for s in steps),
            "seconds": round(seconds, 1),
            "parameters": log.get("parameters"),
        }
    figures["seconds"] = round(figures["lmlm"]["seconds"] + figures["standard"]["seconds"], 1)
    return figures


def check_targets(report: dict) -> list[dict]:
    rows = []
    for figure, where, op, bound in TARGETS:
        value = report
        for key in where:
            value = value[key]
        met = value <= bound if op == "<=" else value >= bound
        rows.append({"figure": figure, "value": value, "target": f"{op} {bound}", "met": met})
    return rows
