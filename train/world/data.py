"""The generated world as training and evaluation data (``lmlm data world``).

:func:`write_world` writes one directory, the same bytes for the same config:

* ``world.json``: the config, every person (name, pronoun, held out or not, facts, the facts
  absent from the store), place and organisation with their facts; ``triples.jsonl``: every fact
  in the store (``lmlm kg import DIR/triples.jsonl``). With ``absent_share`` > 0 a share of the
  trained people's facts is kept out of it: their biographies look them up, the lookup returns
  ``unknown`` (the decoder's miss value) and the text says so.
* ``corpus/train.jsonl``: ``variants`` biographies of each person not held out, and
  ``corpus/eval.jsonl``: other biographies of a few of them (for an eval loss). Records are
  ``{"id", "person", "text", "annotated_text"}``; ``annotated_text`` writes every fact as a lookup
  in the paper's annotated format (:func:`lmlm.train.corpus.load_documents` converts it).
* ``prompts.jsonl``: openings of biographies of the held-out people, who have no biography in the
  corpus, with their facts: does the model look facts up for people it never saw?
* ``qa.jsonl`` and ``cloze.jsonl``: a question and a cloze prompt per stored fact of every person, marked
  ``heldout``; ``splits/forget_01.json`` (``05``, ``10``): 1, 5 and 10% of the people (at least one,
  nested, drawn from the trained people) to forget, and the trained people to retain.
* ``manifest.json``: config, counts, and each file's size and SHA-256.

The directory is written under a temporary name next to ``out_dir`` and renamed when complete, so a
failed or interrupted run leaves nothing half-written. A held-out person's name never appears in
the training corpus: a trained person's relative who is held out goes unmentioned.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Literal

from lmlm.kg.facts import Triple

from .biographies import (
    CLOZE_PROMPTS,
    LIFE_SECTIONS,
    OPENING_PROMPTS,
    QUESTIONS,
    RELATION_ORDERS,
    write_biography,
)
from .people import Person, World, WorldConfig, generate_world

logger = logging.getLogger(__name__)

FORMAT = "lmlm-world/1"
FORGET_SPLITS = {"forget_01": 0.01, "forget_05": 0.05, "forget_10": 0.10}
_MAX_AUTO_EVAL_PEOPLE = 500
_MANIFEST = "manifest.json"


@dataclass(frozen=True)
class WorldDataConfig:
    """What ``lmlm data world`` writes; each field is a flag of it (``eval_people`` -> ``--eval-people``)."""

    people: int = field(default=300, metadata={"help": "people in the world"})
    seed: int = field(default=0, metadata={"help": "random seed: the same seed writes the same bytes"})
    variants: int = field(
        default=4, metadata={"help": "biographies of each trained person in corpus/train.jsonl"}
    )
    heldout_fraction: float = field(
        default=0.1,
        metadata={
            "help": "share of people with facts but no biography (prompts.jsonl asks about them); "
            "at least one when > 0",
            "flags": ("--heldout",),
        },
    )
    eval_people: int = field(
        default=0,
        metadata={
            "help": "trained people with a biography in corpus/eval.jsonl; 0: a tenth of them, 1 to 500"
        },
    )
    names: Literal["syllables", "given"] = field(
        default="syllables",
        metadata={
            "help": "person names: syllables (every name different) or given (given + family names "
            "from fixed lists, the demo's)"
        },
    )
    complete: bool = field(
        default=False, metadata={"help": "every person has an award and one relative of each kind"}
    )
    eval_variants: int = field(
        default=1,
        metadata={"help": "biographies of each eval person in corpus/eval.jsonl, none shared with train"},
    )
    facts_per_biography: int = field(
        default=0,
        metadata={
            "help": "facts each biography writes (0: all of the person's); the variants of a person "
            "take turns through a shuffled list of their facts, so together they write each fact "
            "when variants x facts_per_biography covers them"
        },
    )
    relation_order: str = field(
        default="random",
        metadata={
            "help": "random: a biography's facts in any order after the opening; life: section by "
            "section (birth, education, work, award, family), in any order within a section",
            "choices": RELATION_ORDERS,
        },
    )
    absent_share: float = field(
        default=0.0,
        metadata={
            "help": "share of the trained people's facts kept out of the store (triples.jsonl): their "
            "biographies still look them up, the lookup returns the miss value 'unknown' and the text "
            "says so ('born in an unknown place'), so a model learns what to write on a miss; "
            "held-out people keep every fact"
        },
    )

    def __post_init__(self) -> None:
        checks = [
            (self.people >= 1, "--people must be >= 1", self.people),
            (self.seed >= 0, "--seed must be >= 0", self.seed),
            (self.variants >= 1, "--variants must be >= 1", self.variants),
            (0.0 <= self.heldout_fraction < 1.0, "--heldout must be in [0, 1)", self.heldout_fraction),
            (self.eval_people >= 0, "--eval-people must be >= 0", self.eval_people),
            (self.eval_variants >= 0, "--eval-variants must be >= 0", self.eval_variants),
            (self.facts_per_biography >= 0, "--facts-per-biography must be >= 0", self.facts_per_biography),
            (0.0 <= self.absent_share < 1.0, "--absent-share must be in [0, 1)", self.absent_share),
            (
                self.relation_order in RELATION_ORDERS,
                f"--relation-order must be one of {', '.join(RELATION_ORDERS)}",
                self.relation_order,
            ),
        ]
        for ok, message, value in checks:
            if not ok:
                raise ValueError(f"{message}, got {value!r}")

    @property
    def heldout_count(self) -> int:
        """Held-out people: the rounded share, at least one when the share is > 0, never everyone."""
        if self.heldout_fraction == 0 or self.people < 2:
            return 0
        return min(self.people - 1, max(1, round(self.heldout_fraction * self.people)))


@dataclass(frozen=True)
class WorldManifest:
    """What :func:`write_world` wrote (``manifest.json`` holds the same counts)."""

    out_dir: str
    people: int
    heldout: int
    train_documents: int
    eval_documents: int
    train_lookups: int
    triples: int
    prompts: int
    qa: int
    cloze: int
    forget: dict[str, int]
    files: dict[str, int] = field(default_factory=dict)  # relative path -> bytes
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _Plan:
    """Who is held out, who gets eval biographies, the forget splits, and the facts kept out of the
    store (person -> relations)."""

    heldout: frozenset[str]
    eval_people: tuple[int, ...]  # indices into world.people
    forget: dict[str, tuple[str, ...]]
    absent: dict[str, frozenset[str]] = field(default_factory=dict)

    def in_store(self, person: str, relation: str) -> bool:
        return relation not in self.absent.get(person, ())


def write_world(
    out_dir: str | os.PathLike,
    config: WorldDataConfig | None = None,
    show_progress: bool = False,
    *,
    overwrite: bool = False,
) -> WorldManifest:
    """Write the world's data files to ``out_dir`` (see the module docstring).

    ``out_dir`` must not exist, or be empty, or (with ``overwrite``) hold an earlier world.
    """
    config = config or WorldDataConfig()
    started = time.perf_counter()
    out = Path(out_dir)
    _check_target(out, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    world = generate_world(
        WorldConfig(people=config.people, seed=config.seed, names=config.names, complete=config.complete)
    )
    plan = _plan(world, config)
    temp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    try:
        temp.chmod(0o755)  # mkdtemp makes it private
        counts = _write_files(temp, world, plan, config, show_progress)
        files = _describe_files(temp)
        manifest = {"format": FORMAT, "config": asdict(config), "counts": counts, "files": files}
        _write_json(temp / _MANIFEST, manifest)
        _install(temp, out, overwrite)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    seconds = time.perf_counter() - started
    logger.info("wrote %s: %d documents in %.1f s", out, counts["train_documents"], seconds)
    sizes = {name: info["bytes"] for name, info in files.items()}
    return WorldManifest(out_dir=str(out), files=sizes, seconds=seconds, **counts)


def _check_target(out: Path, overwrite: bool) -> None:
    if not out.exists():
        return
    if not out.is_dir():
        raise FileExistsError(f"{out}: exists and is not a directory")
    if not any(out.iterdir()):
        return
    if not overwrite:
        raise FileExistsError(f"{out}: directory exists and is not empty (--force replaces an earlier world)")
    if not (out / _MANIFEST).is_file():
        raise FileExistsError(
            f"{out}: not a world written by `lmlm data world` (no {_MANIFEST}); not replacing it"
        )


def _install(temp: Path, out: Path, overwrite: bool) -> None:
    """Rename the finished directory into place; an earlier world goes only once the new one is there."""
    if out.exists() and not any(out.iterdir()):
        out.rmdir()
    if not out.exists():
        temp.rename(out)
        return
    _check_target(out, overwrite)
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    out.rename(old)
    temp.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def _plan(world: World, config: WorldDataConfig) -> _Plan:
    people = world.people
    rng = random.Random(f"heldout-{config.seed}")
    heldout = frozenset(people[i].name for i in rng.sample(range(len(people)), config.heldout_count))
    trained = [i for i, person in enumerate(people) if person.name not in heldout]
    auto = min(_MAX_AUTO_EVAL_PEOPLE, max(1, round(0.1 * len(trained))))
    n_eval = min(len(trained), config.eval_people or auto) if config.eval_variants else 0
    eval_people = tuple(sorted(random.Random(f"eval-{config.seed}").sample(trained, n_eval)))
    order = [people[i].name for i in trained]
    random.Random(f"forget-{config.seed}").shuffle(order)
    forget = {
        name: tuple(order[: min(len(order), max(1, round(share * len(people))))])
        for name, share in FORGET_SPLITS.items()
    }
    absent: dict[str, frozenset[str]] = {}
    if config.absent_share > 0:
        draw = random.Random(f"absent-{config.seed}").random
        for i in trained:  # one draw per fact, in the world's order: the same seed, the same gaps
            person = people[i]
            gaps = frozenset(r for r in person.facts if draw() < config.absent_share)
            if gaps:
                absent[person.name] = gaps
    return _Plan(heldout, eval_people, forget, absent)


def _write_files(root: Path, world: World, plan: _Plan, config: WorldDataConfig, show_progress: bool) -> dict:
    (root / "corpus").mkdir()
    (root / "splits").mkdir()
    _write_json(root / "world.json", _world_record(world, plan, config), indent=1)
    stored = (t for t in world.triples if plan.in_store(t.entity, t.relation))
    triples, _ = _write_records(root / "triples.jsonl", ((_triple_record(t), 0) for t in stored))
    from tqdm.auto import tqdm  # here, not at import: `lmlm --help` imports this module for its flags

    trained = [(i, p) for i, p in enumerate(world.people) if p.name not in plan.heldout]
    bar = tqdm(trained, desc="biographies", unit="person", disable=not show_progress)
    train_docs, train_lookups = _write_records(
        root / "corpus" / "train.jsonl", _biographies(world, plan, bar, range(config.variants), config)
    )
    evaluated = [(i, world.people[i]) for i in plan.eval_people]
    eval_range = range(config.variants, config.variants + config.eval_variants)
    eval_docs, _ = _write_records(
        root / "corpus" / "eval.jsonl", _biographies(world, plan, evaluated, eval_range, config)
    )
    prompts, _ = _write_records(root / "prompts.jsonl", _prompts(world, plan))
    qa, _ = _write_records(root / "qa.jsonl", _asking(world, plan, "qa", QUESTIONS, "question"))
    cloze, _ = _write_records(root / "cloze.jsonl", _asking(world, plan, "cloze", CLOZE_PROMPTS, "prompt"))
    retained = [p.name for p in world.people if p.name not in plan.heldout]
    for name, forget in plan.forget.items():
        chosen = set(forget)
        split = {"fraction": FORGET_SPLITS[name], "forget": list(forget)}
        split["retain"] = [person for person in retained if person not in chosen]
        _write_json(root / "splits" / f"{name}.json", split, indent=1)
    return {
        "people": len(world.people),
        "heldout": len(plan.heldout),
        "train_documents": train_docs,
        "eval_documents": eval_docs,
        "train_lookups": train_lookups,
        "triples": triples,
        "prompts": prompts,
        "qa": qa,
        "cloze": cloze,
        "forget": {name: len(forget) for name, forget in plan.forget.items()},
    }


def _world_record(world: World, plan: _Plan, config: WorldDataConfig) -> dict:
    facts = world.entity_facts
    return {
        "format": FORMAT,
        "config": asdict(config),
        "people": [
            {
                "name": p.name,
                "pronoun": p.pronoun,
                "heldout": p.name in plan.heldout,
                "facts": p.facts,
                "absent": sorted(plan.absent.get(p.name, ())),  # facts not in triples.jsonl
            }
            for p in world.people
        ],
        "places": [{"name": name, "facts": facts[name]} for name in world.places],
        "organisations": [{"name": name, "facts": facts[name]} for name in world.organisations],
    }


def _biographies(
    world: World, plan: _Plan, people: Iterable[tuple[int, Person]], variants: range, config: WorldDataConfig
) -> Iterator[tuple[dict, int]]:
    """(record, lookups) for each person and variant; each text from its own seeded stream."""
    width = len(str(len(world.people) - 1))
    facts = world.entity_facts
    seed, k = config.seed, config.facts_per_biography
    sections = LIFE_SECTIONS if config.relation_order == "life" else ()
    for i, person in people:
        relations = [r for r, value in person.facts.items() if value not in plan.heldout]
        absent = plan.absent.get(person.name, frozenset())
        if k:  # the variants take turns through one shuffled list: each fact in some biography
            random.Random(f"facts-{seed}-{i}").shuffle(relations)
        for v in variants:
            rng = random.Random((seed * 10_000_000 + i) * 1_000 + v)
            chosen = [relations[(v * k + j) % len(relations)] for j in range(min(k, len(relations)))]
            written = chosen if k else relations
            annotated, raw, lookups = write_biography(person, facts, rng, written, absent, sections)
            record = {"id": f"bio-{i:0{width}d}-{v}", "person": person.name, "text": raw}
            record["annotated_text"] = annotated
            yield record, lookups


def _prompts(world: World, plan: _Plan) -> Iterator[tuple[dict, int]]:
    for i, person in enumerate(world.people):
        if person.name not in plan.heldout:
            continue
        for k, (template, relation) in enumerate(OPENING_PROMPTS):
            if relation is None or relation in person.facts:
                prompt = template.format(N=person.name)
                record = {"id": f"prompt-{i}-{k}", "person": person.name, "prompt": prompt}
                yield {**record, "relation": relation, "facts": person.facts}, 0


def _stored_facts(person: Person, plan: _Plan) -> Iterator[tuple[str, str]]:
    return ((r, v) for r, v in person.facts.items() if plan.in_store(person.name, r))


def _asking(
    world: World, plan: _Plan, kind: str, templates: dict[str, str], key: str
) -> Iterator[tuple[dict, int]]:
    """One record per stored fact of every person: ``templates[relation]`` about them under
    ``key`` (``question`` for QA, ``prompt`` for cloze), with the answer."""
    for i, person in enumerate(world.people):
        for relation, value in _stored_facts(person, plan):
            record = {"id": f"{kind}-{i}-{_slug(relation)}", "person": person.name, "relation": relation}
            asked = templates[relation].format(N=person.name)
            yield {**record, key: asked, "answer": value, "heldout": person.name in plan.heldout}, 0


def _triple_record(t: Triple) -> dict:
    """What ``lmlm.kg.formats.write_jsonl`` writes for a triple (without its slower ``asdict``)."""
    return {
        "entity": t.entity,
        "relation": t.relation,
        "value": t.value,
        "source": t.source,
        "annotator": t.annotator,
    }


def _slug(relation: str) -> str:
    return relation.lower().replace(" ", "_")


def _write_records(path: Path, records: Iterable[tuple[dict, int]]) -> tuple[int, int]:
    """JSONL, one record a line; returns (records, sum of their lookups)."""
    count = lookups = 0
    with _open_text(path) as f:
        for record, n in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
            lookups += n
    return count, lookups


def _write_json(path: Path, obj, indent: int | None = None) -> None:
    with _open_text(path) as f:
        f.write(json.dumps(obj, ensure_ascii=False, indent=indent) + "\n")


def _open_text(path: Path) -> IO[str]:
    return open(path, "w", encoding="utf-8", newline="\n")


def _describe_files(root: Path) -> dict[str, dict]:
    """Each file's size and SHA-256, by path relative to ``root``, sorted."""
    files = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        files[path.relative_to(root).as_posix()] = {"bytes": path.stat().st_size, "sha256": digest}
    return files
