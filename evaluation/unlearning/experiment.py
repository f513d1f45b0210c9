"""The unlearning experiment: every method on every split, against retain references.

Per split: the forget facts, retain facts, world facts and retain biographies
(:mod:`.items`); the retain references (:mod:`.references`); then, each measured with
:func:`~.evaluate.evaluate_system`:

* ``original``: the LMLM with its full store, the Standard model (before forgetting);
* ``retain``: the references (the LMLM's reads the store without the forget people);
* ``delete``: the LMLM with the forget people deleted from a copy of its store;
* ``ga``/``gd``/``npo``: the Standard model's weights fine-tuned, and the LMLM's too (its store
  untouched: what unlearning an LMLM the usual way does).

Each row: forget quality against its reference, model utility and its change from the original
(in points: utility x 100), the share of forgotten facts still stated (by the weights; through the
fuzzy path, and the direct resolver probe), seconds to forget. Outputs in ``out_dir``:
``unlearning.json``, ``unlearning.md`` and ``unlearning.png`` (forget quality against utility).
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import asdict
from pathlib import Path

from tqdm.auto import tqdm

from lmlm.train.corpus import lmlm_text, load_documents, standard_text

from ..completion import spread
from ..entry_point import write_json
from ..systems import ModelsArgs, load_causal_lm
from ..world_sets import WorldSets
from . import methods
from .config import UnlearnConfig
from .evaluate import EvalItems, System, evaluate_system, probe_fuzzy
from .items import person_items, world_items
from .metrics import forget_quality
from .references import original_recipe, reference_model
from .report import plot_unlearning, write_markdown

logger = logging.getLogger(__name__)


class _Experiment:
    def __init__(self, cfg: UnlearnConfig, show_progress: bool):
        self.cfg, self.show = cfg, show_progress
        self.models = ModelsArgs(demo=cfg.demo).require("lmlm", "standard", "store", "world")
        self.demo = Path(self.models.demo)
        self.out = Path(cfg.out_dir)
        self.world = WorldSets(self.models.world)
        self.cache = Path(cfg.reference_cache) if cfg.reference_cache else self.demo / "unlearning-references"
        self.docs = {d.id: d for d in load_documents(self.world.root)}
        self.person_of = dict(self.world.documents_of("train"))
        self.lmlm, self.tokenizer = load_causal_lm(self.models.lmlm)
        self.standard, self.std_tokenizer = load_causal_lm(self.models.standard)
        self.base_store = self._base_store()
        self.rows: list[dict] = []

    def _base_store(self) -> Path:
        """A copy of the demo store with its fuzzy index built, copied again for each split."""
        from lmlm.kg import KnowledgeGraph

        base = self.out / "stores" / "base"
        shutil.rmtree(base, ignore_errors=True)
        shutil.copytree(self.models.store, base)
        with KnowledgeGraph.open(base) as kg:
            kg.build_fuzzy_index(show_progress=self.show)
        return base

    def _items(self, forget: tuple[str, ...], retain: tuple[str, ...]) -> EvalItems:
        cfg = self.cfg
        retain_set = set(retain)
        eval_people = dict(self.world.documents_of("eval"))
        docs = [d for d in self.world.eval_documents() if eval_people.get(d.id) in retain_set]
        return EvalItems(
            forget=person_items(self.world, forget, cfg.max_forget_facts, cfg.perturbed, cfg.seed),
            retain=person_items(self.world, retain, cfg.utility_facts, cfg.perturbed, cfg.seed),
            world=world_items(self.world, cfg.utility_facts, cfg.perturbed, cfg.seed),
            docs=spread(docs, cfg.utility_docs, cfg.seed),
        )

    def _evaluate(self, name: str, model, tokenizer, items: EvalItems, kg=None) -> dict:
        lookup_fn = kg.resolver() if kg is not None else None
        system = System(name, model, tokenizer, lookup_fn, self.cfg.miss_value)
        result = evaluate_system(
            system, items, max_new_tokens=self.cfg.max_new_tokens, batch_size=self.cfg.batch
        )
        out = result.to_dict()
        if lookup_fn is not None:
            out["fuzzy_probe"] = probe_fuzzy(
                lookup_fn, [(i.entity, i.relation, i.value) for i in items.forget]
            )
        return out

    def run_split(self, name: str) -> None:
        from lmlm.kg import KnowledgeGraph

        cfg, split = self.cfg, self.world.split(name)
        items = self._items(split.forget, split.retain)
        evals: dict[tuple[str, str], dict] = {}
        runs: dict[tuple[str, str], dict] = {}
        bar = tqdm(desc=f"unlearning {name}", total=4 + 2 * len(cfg.methods), disable=not self.show)
        refs = {mode: self._reference(mode, split.forget) for mode in ("lmlm", "standard")}
        store = self.out / "stores" / name
        shutil.rmtree(store, ignore_errors=True)
        shutil.copytree(self.base_store, store)
        with KnowledgeGraph.open(self.base_store) as full, KnowledgeGraph.open(store) as cut:
            evals["lmlm", "original"] = self._evaluate("lmlm", self.lmlm, self.tokenizer, items, full)
            evals["standard", "original"] = self._evaluate(
                "standard", self.standard, self.std_tokenizer, items
            )
            bar.update(2)
            if "delete" in cfg.methods:
                run = methods.delete_people(cut, split.forget)
                runs["lmlm", "delete"] = {"seconds": run.seconds, **run.details}
                evals["lmlm", "delete"] = self._evaluate("lmlm", self.lmlm, self.tokenizer, items, cut)
            bar.update(2)
            for mode, path in refs.items():
                model, tokenizer = load_causal_lm(str(path))
                evals[mode, "retain"] = self._evaluate(
                    mode, model, tokenizer, items, cut if mode == "lmlm" else None
                )
            bar.update(2)
            for method in (m for m in cfg.methods if m != "delete"):
                for mode in cfg.weights_of:
                    model, tokenizer = load_causal_lm(getattr(self.models, mode))  # a fresh copy to fine-tune
                    run = self._finetune(model, tokenizer, method, mode, split)
                    runs[mode, method] = {"seconds": run.seconds, **run.details}
                    evals[mode, method] = self._evaluate(
                        mode, model, tokenizer, items, full if mode == "lmlm" else None
                    )
                bar.update(2)
        bar.close()
        self._rows(name, split, evals, runs)

    def _reference(self, mode: str, forget: tuple[str, ...]) -> Path:
        """The retain reference for ``forget``: shared, the one trained without the largest split's
        forget people (who include every smaller split's), or TOFU's own per split."""
        if self.cfg.references == "shared":
            largest = max((self.world.split(s) for s in self.cfg.splits), key=lambda s: len(s.forget))
            if not set(forget) <= set(largest.forget):
                raise ValueError(
                    f"--references shared needs nested splits: {forget[:3]}... not all in {largest.name}"
                )
            forget = largest.forget
        recipe = original_recipe(self.demo / "runs" / mode)
        return reference_model(
            self.world,
            forget,
            mode,
            recipe,
            self.cache,
            max_steps=self.cfg.reference_max_steps,
            show_progress=self.show,
        )

    def _finetune(self, model, tokenizer, method: str, mode: str, split) -> methods.ForgetRun:
        chosen = set(split.forget)
        text = lmlm_text if mode == "lmlm" else standard_text
        forget = [text(d) for i, d in self.docs.items() if self.person_of.get(i) in chosen]
        retain = [text(d) for i, d in self.docs.items() if self.person_of.get(i) not in chosen]
        return methods.finetune_forget(
            model, tokenizer, method, forget, retain, mode, self.cfg, show_progress=self.show
        )

    def _rows(self, name: str, split, evals: dict, runs: dict) -> None:
        for (mode, method), result in evals.items():
            reference = evals[mode, "retain"]
            p, ks = forget_quality(result["forget_ratios"], reference["forget_ratios"])
            before = evals[mode, "original"]["utility"]
            run = runs.get((mode, method), {})
            self.rows.append(
                {
                    "split": name,
                    "fraction": split.fraction,
                    "forget_people": len(split.forget),
                    "model": mode,
                    "method": method,
                    "forget_quality": p,
                    "ks_statistic": round(ks, 4),
                    "utility": result["utility"],
                    "utility_change_points": round(100 * (result["utility"] - before), 3),
                    "stated": result["forget"]["stated"],
                    "stated_by_weights": result["forget"]["by_weights"],
                    "through_fuzzy": result["forget"]["through_fuzzy"],
                    "fuzzy_probe_leaked": (result.get("fuzzy_probe") or {}).get("leaked"),
                    "seconds": round(run["seconds"], 4) if "seconds" in run else None,
                    "run": {k: v for k, v in run.items() if k != "seconds"},
                    "eval": result,
                }
            )


def run_unlearning(cfg: UnlearnConfig, *, show_progress: bool = True) -> dict:
    """Runs the experiment (see the module docstring); returns the report written to ``unlearning.json``."""
    start = time.perf_counter()
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    experiment = _Experiment(cfg, show_progress)
    for name in cfg.splits:
        experiment.run_split(name)
    report = {
        "config": asdict(cfg),
        "models": asdict(experiment.models),
        "seconds": round(time.perf_counter() - start, 1),
        "rows": experiment.rows,
    }
    write_json(out / "unlearning.json", report)
    write_markdown(report, out / "unlearning.md")
    plot_unlearning(report, out / "unlearning.png")
    shutil.rmtree(out / "stores", ignore_errors=True)
    return report
