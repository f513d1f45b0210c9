"""``lmlm demo``: the README's main job on the embedded default (no Neo4j, no GPU, no network).

The first run builds the demo (``lmlm demo build``: a generated world, its tokenizer, an LMLM and
a Standard model trained on it, the embedded store; a few minutes on a CPU, cached under
``$LMLM_HOME/demo``). Every run then opens the app on it (``lmlm app``, http://127.0.0.1:8501),
where one edits and forgets facts and watches the outputs regenerate.

``lmlm demo --walkthrough`` shows the same in the terminal, for people without a browser: lookups
answered by the knowledge graph (exact, fuzzy, miss), biographies of people the model never saw
whose facts all come from the store, a fact edited and forgotten in the store and the regenerated
text following it, and the same prompts without lookups and from the Standard model (which make
facts up).
"""

from __future__ import annotations

import json

from lmlm.cli.common import (
    add_dataclass_arguments,
    add_output_flags,
    dataclass_from_args,
    emit,
    model_loading_bars,
)


def register(groups) -> None:
    from lmlm.app.config import ServerArgs
    from lmlm.demo_build import DemoConfig

    p = groups.add_parser(
        "demo",
        help="build (first run) and run the demo: lookups, generation, editing and forgetting facts",
    )
    p.add_argument(
        "action", nargs="?", choices=["run", "build"], default="run", help="run (default) or only build"
    )
    p.add_argument("--force", action="store_true", help="rebuild every stage")
    p.add_argument(
        "--walkthrough",
        action="store_true",
        help="show the demo in the terminal instead of opening the app (no browser needed)",
    )
    add_dataclass_arguments(p, DemoConfig)
    add_dataclass_arguments(p, ServerArgs)
    add_output_flags(p, top=True)
    p.set_defaults(func=cmd_demo)


def demo_queries(world_people: list[dict]) -> list[tuple[str, str, str]]:
    """(what it shows, entity, relation) for a few people of the world."""
    a, b, c = (p["name"] for p in world_people[:3])
    misspelt = a[:-2] + a[-1] + a[-2]  # two letters swapped
    return [
        ("exact", a, "Place of birth"),
        ("exact", b, "Employer"),
        ("case and spacing", "  " + c.upper(), "occupation"),
        ("reworded relation", a, "birthplace"),
        ("reworded relation", b, "employed by"),
        ("misspelt entity", misspelt, "Occupation"),
        ("absent fact", c, "Favourite colour"),
        ("absent entity", "Nobody Anywhere", "Place of birth"),
    ]


def cmd_demo(args) -> int:
    from lmlm.demo_build import DemoConfig, DemoPaths, build_demo
    from lmlm.kg.knowledge_graph import lmlm_home

    config = dataclass_from_args(DemoConfig, args)
    if args.json and args.action == "run" and not args.walkthrough:
        raise ValueError("--json applies to `lmlm demo build` and `lmlm demo --walkthrough`, not to the app")
    paths = DemoPaths(lmlm_home() / "demo")
    say = (lambda _msg: None) if args.json else print
    # the build and the report load small models dozens of times: one weights bar each is noise
    with model_loading_bars(False):
        report = build_demo(paths.root, config, force=args.force, say=say, show_progress=not args.json)
        if args.action == "build":
            emit(args, {"root": str(paths.root), "report": report}, _report_text(paths, report))
            return 0
        if not args.walkthrough:
            return _open_app(paths, report, args)
        result = run_demo(paths, config)
    text = _report_text(paths, report) + "\n" + _run_text(result)
    emit(args, {"root": str(paths.root), "report": report, **result}, text)
    return 0


def _open_app(paths, report: dict, args) -> int:
    from lmlm.app.config import AppConfig, ServerArgs
    from lmlm.cli.app import run_app

    print(_report_text(paths, report))
    return run_app(AppConfig.of_demo(paths), dataclass_from_args(ServerArgs, args))  # decoded as reported


def _report_text(paths, report: dict) -> str:
    lmlm, standard = report["lmlm"]["grounded"], report["standard"]["grounded"]
    forgetting = report["forgetting"]
    return (
        f"\ndemo model ({paths.model('lmlm')}): on {report['prompts']} prompts about people it never saw, "
        f"{lmlm['precision']:.1%} of the {lmlm['stated']} values it stated are true "
        f"(Standard model of the same size: {standard['precision']:.1%}), {lmlm['lookup_share']:.1%} came "
        f"through an exact lookup made before them, {lmlm['wrong_slot_share']:.1%} stood in the wrong slot, "
        f"{lmlm['repeated_share']:.1%} of the outputs repeat a sentence; after forgetting "
        f"{forgetting['relation']['forgotten']!r} of these people, {forgetting['relation']['share']:.1%} of "
        f"the outputs still state one ({forgetting['people']['share']:.1%} after forgetting the people)"
    )


def run_demo(paths, config) -> dict:
    from lmlm.api import load_lmlm
    from lmlm.kg import KnowledgeGraph
    from lmlm.kg.formats import read_json_objects

    world = json.loads((paths.world / "world.json").read_text(encoding="utf-8"))
    prompts = [record for _, record in read_json_objects(paths.world / "prompts.jsonl")]
    with KnowledgeGraph.open(paths.kg) as kg:
        resolver = kg.resolver()
        queries = demo_queries(world["people"])
        answers = resolver.resolve_many([(e, r) for _, e, r in queries])
        lookups = [
            {
                "case": case,
                "entity": e.strip(),
                "relation": r,
                **ans.to_dict(),
                "matched": [ans.entity, ans.relation],
            }
            for (case, e, r), ans in zip(queries, answers)
        ]
        model = load_lmlm(paths.model("lmlm"), lookup_fn=resolver)
        opts = {
            "max_new_tokens": config.max_new_tokens,
            "entities_from_context": config.entities_from_context,
        }
        chosen = _pick_prompts(prompts)
        outputs = model.generate_outputs([p["prompt"] for p in chosen], **opts)
        shown = _edit_prompt(chosen, outputs)
        edit = _edit_and_forget(kg, model, shown, opts, world, paths)
        no_lookup = model.generate_outputs([shown["prompt"]], max_lookups=0, **opts)[0]
        standard = load_lmlm(paths.model("standard"))
        standard_out = standard.generate_outputs([shown["prompt"]], enable_lookup=False, **opts)[0]
    return {
        "lookups": lookups,
        "generated": [o.to_dict() for o in outputs[:_SHOWN]],
        "edit": edit,
        "without_lookups": no_lookup.to_dict(),
        "standard": standard_out.to_dict(),
        "store": str(paths.kg),
        "model": str(paths.model("lmlm")),
    }


_SHOWN, _CANDIDATES = 3, 8  # outputs shown; prompts tried for the edit step


def _pick_prompts(prompts: list[dict]) -> list[dict]:
    """Prompts about different held-out people, 'was born in' openings first."""
    chosen, people = [], set()
    for p in sorted(prompts, key=lambda p: p.get("relation") != "Place of birth"):
        if p["person"] not in people:
            chosen.append(p)
            people.add(p["person"])
        if len(chosen) == _CANDIDATES:
            break
    return chosen


def _edit_prompt(chosen: list[dict], outputs: list) -> dict:
    """The prompt the edit step shows: the first whose output looks up the prompt's own fact exactly.
    A small model sometimes writes a lookup for a misspelt name (a miss whatever the store holds),
    which would show no effect of the edit; the outputs shown in step 2 are not filtered."""
    for prompt, out in zip(chosen, outputs):
        relation = prompt.get("relation") or "Place of birth"
        if any(
            (r.entity.strip(), r.relation, r.path) == (prompt["person"], relation, "exact")
            for r in out.lookups
        ):
            return prompt
    return chosen[0]


def _edit_and_forget(kg, model, prompt: dict, opts: dict, world: dict, paths) -> dict:
    """Set another value, regenerate, forget it, regenerate, and undo both (the store is unchanged).

    After the forget, the lookup misses and the text should say the value is unknown: the values
    the output still states for the forgotten fact (any value, read with the world's claim reader)
    are listed in ``still_stated``."""
    from lmlm.evaluation.grounded_precision import read_claims
    from lmlm.train.world.claims import ClaimReader, WorldTruth

    person, relation = prompt["person"], prompt.get("relation") or "Place of birth"
    current = kg.lookup(person, relation).value
    pool = (
        [place["name"] for place in world["places"]]
        if relation == "Place of birth"
        else [p["facts"][relation] for p in world["people"] if relation in p["facts"]]
    )
    new_value = next(v for v in pool if v != current)
    edit = kg.set_fact(person, relation, new_value)
    after_edit = model.generate_outputs([prompt["prompt"]], **opts)[0]
    forget = kg.forget(person, relation)
    after_forget = model.generate_outputs([prompt["prompt"]], **opts)[0]
    kg.undo(forget.id)
    kg.undo(edit.id)
    reader = ClaimReader(WorldTruth.load(paths.world))
    (claims,) = read_claims([after_forget], [person], reader)
    still = [c.value for c in claims.claims if (c.subject, c.relation) == (person, relation)]
    return {
        "entity": person,
        "relation": relation,
        "old_value": current,
        "new_value": new_value,
        "after_edit": after_edit.to_dict(),
        "after_forget": after_forget.to_dict(),
        "still_stated": still,
    }


def _show(label: str, out: dict) -> list[str]:
    lines = [f"\n{label}\n  {out['prompt']}{out['text']}"]
    for r in out["lookups"]:
        fact = f" fact {r['fact_id']}" if r["fact_id"] else ""
        lines.append(
            f"    [{r['path']} {r['score']:.2f}] {r['entity']} | {r['relation']} -> {r['value']}{fact}"
        )
    return lines


def _run_text(result: dict) -> str:
    lines = [f"\n1. Lookups through the resolver (store {result['store']})"]
    lines.append(f"  {'case':<18} {'lookup':<52} {'answer':<28} path   score")
    for row in result["lookups"]:
        lookup = f"{row['entity']} | {row['relation']}"
        answer = row["value"] if row["value"] is not None else "-"
        lines.append(
            f"  {row['case']:<18} {lookup[:52]:<52} {answer[:28]:<28} {row['path']:<6} {row['score']:.2f}"
        )
    lines.append("\n2. Generation: people the model never saw in training; every fact comes from the store")
    for out in result["generated"]:
        lines += _show("", out)
    edit = result["edit"]
    lines.append(
        f"\n3. Edit the store: {edit['entity']} | {edit['relation']} := {edit['new_value']}, then forget it"
    )
    lines += _show("after the edit (same model, no retraining):", edit["after_edit"])
    lines += _show("after forgetting the fact (the lookup misses; the model says so):", edit["after_forget"])
    stated = ", ".join(edit["still_stated"]) or "none"
    lines.append(f"  values it still states for {edit['entity']} | {edit['relation']}: {stated}")
    lines.append("  (both changes undone: the store is as it was)")
    lines.append("\n4. The same prompt without lookups: the models write values from their weights")
    lines += _show("LMLM, lookups suppressed (max_lookups=0):", result["without_lookups"])
    lines += _show(
        "Standard model (same size, trained on the same text without lookups):", result["standard"]
    )
    lines.append(f"\nTry: lmlm generate 'PROMPT' --model {result['model']} --store {result['store']}")
    return "\n".join(lines)
