"""``lmlm demo``: the README's main job on the embedded default (no Neo4j, no GPU, no network).

At this stage it loads a generated world into an embedded store under ``$LMLM_HOME/demo`` (once;
later runs reuse it) and answers lookups through the resolver: exact hits, a case-changed entity,
reworded relations and a misspelled name (fuzzy), and a fact that is not there (miss).
"""

from __future__ import annotations

from lmlm.cli import add_output_flags, print_json


def register(groups) -> None:
    p = groups.add_parser("demo", help="load the demo world into the embedded store and answer lookups")
    p.add_argument("--store", default=None, help="store directory (default $LMLM_HOME/demo/kg)")
    p.add_argument("--people", type=int, default=200, help="people in the generated world")
    p.add_argument("--seed", type=int, default=0)
    add_output_flags(p, top=True)
    p.set_defaults(func=cmd_demo)


def demo_queries(world) -> list[tuple[str, str, str]]:
    """(what it shows, entity, relation) for a few people of the world."""
    a, b, c = world.people[0], world.people[1], world.people[2]
    misspelt = a.name[:-2] + a.name[-1] + a.name[-2]  # two letters swapped
    return [
        ("exact", a.name, "Place of birth"),
        ("exact", b.name, "Employer"),
        ("case and spacing", "  " + c.name.upper(), "occupation"),
        ("reworded relation", a.name, "birthplace"),
        ("reworded relation", b.name, "employed by"),
        ("misspelt entity", misspelt, "Occupation"),
        ("absent fact", c.name, "Favourite colour"),
        ("absent entity", "Nobody Anywhere", "Place of birth"),
    ]


def cmd_demo(args) -> int:
    from lmlm.kg.knowledge_graph import KnowledgeGraph, lmlm_home
    from lmlm.kg.world import WorldConfig, generate_world

    store = args.store or str(lmlm_home() / "demo" / "kg")
    world = generate_world(WorldConfig(people=args.people, seed=args.seed))
    with KnowledgeGraph.open(store) as kg:
        report = kg.import_triples(
            world.triples, summary=f"demo world seed={args.seed}", progress=not args.json
        )
        kg.build_index(show_progress=not args.json)
        resolver = kg.resolver()
        queries = demo_queries(world)
        answers = resolver.resolve_many([(e, r) for _, e, r in queries])
        rows = [
            {
                "case": case,
                "entity": e.strip(),
                "relation": r,
                **ans.to_dict(),
                "matched": [ans.entity, ans.relation],
            }
            for (case, e, r), ans in zip(queries, answers)
        ]
        stats = kg.store.stats()
    if args.json:
        print_json({"store": store, "facts": stats.facts, "added": report.added, "lookups": rows})
        return 0
    print(f"store {store}: {stats.facts} facts about {stats.entities} entities ({report.added} added now)\n")
    print(f"{'case':<18} {'lookup':<52} {'answer':<28} path   score")
    for row in rows:
        lookup = f"{row['entity']} | {row['relation']}"
        answer = row["value"] if row["value"] is not None else "-"
        print(f"{row['case']:<18} {lookup[:52]:<52} {answer[:28]:<28} {row['path']:<6} {row['score']:.2f}")
    print("\nTry: lmlm kg --store", store, "lookup", repr(world.people[0].name), "'Occupation'")
    return 0
