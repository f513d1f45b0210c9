"""The ``lmlm`` command as a whole: its groups, help without torch, and every settings dataclass
mapped onto its command's flags."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from lmlm.cli import GROUPS, build_parser
from lmlm.cli.common import dataclass_from_args, dataclass_to_argv, values_from_args
from lmlm.demo_build import DemoConfig
from lmlm.train.annotator_args import AnnotatorArgs
from lmlm.train.corpus import CleanConfig
from lmlm.train.pretrain_args import PretrainArgs
from lmlm.train.world.data import WorldDataConfig

# (the command, the arguments it needs besides the dataclass's, settings with no field at its default)
COMMANDS = [
    (
        ["data", "world"],
        ["--out", "w"],
        WorldDataConfig(
            people=7, seed=3, variants=2, heldout_fraction=0.25, eval_people=2, names="given",
            complete=True, eval_variants=0, facts_per_biography=3, relation_order="life", absent_share=0.2,
        ),
    ),
    (
        ["data", "clean"],
        ["in.jsonl", "--out", "o.jsonl"],
        CleanConfig(
            min_chars=5, max_chars=900, min_ratio=0.5, max_ratio=1.5, max_density=12.5,
            drop_redundant=False, dedupe=False,
        ),
    ),
    (
        ["demo", "build"],
        [],
        DemoConfig(
            people=20, seed=1, variants=3, vocab_size=300, preset="tiny-gpt2", epochs=0.5, lr=1e-2,
            batch_size=4, block_size=32, max_new_tokens=8, eval_prompts=5, facts_per_biography=2,
            relation_order="random", absent_share=0.05, forget_relation="Occupation", entities_from_context=False,
        ),
    ),
    (
        ["train", "pretrain"],
        [],
        PretrainArgs(
            out_dir="runs/x", tokenizer="tok", data="d.jsonl", eval_data="e.jsonl", eval_fraction=0.1,
            preset="tiny-8m", init_from="base", mode="standard", epochs=2.0, max_steps=7, batch_size=4,
            grad_accum=2, block_size=64, lr=1e-3, min_lr_ratio=0.2, warmup=10, weight_decay=0.0,
            max_grad_norm=0.5, eval_every=5, save_every=6, keep_checkpoints=3, log_every=2, seed=9,
            precision="bf16", gradient_checkpointing=True, resume=True,
        ),
    ),
    (
        ["train", "annotator"],
        [],
        AnnotatorArgs(
            base_model="base", data=("a.json", "b.jsonl"), out_dir="out", finetune="full", lora_r=8, lora_alpha=4,
            lora_dropout=0.1, target_modules="q_proj,v_proj", max_length=512, epochs=1.5, lr=1e-4,
            batch_size=2, grad_accum=4, eval_fraction=0.0, eval_every=5, precision="fp32",
            gradient_checkpointing=False, seed=3, max_steps=10, merge=False,
        ),
    ),
    (
        ["train", "annotator"],
        [],
        AnnotatorArgs(base_model="base", data=("a.json",), out_dir="out", merge=True),
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("command", "needed", "settings"), COMMANDS, ids=[" ".join(command) for command, _, _ in COMMANDS]
)
def test_every_field_is_a_flag_with_help_and_parses_back(command, needed, settings):
    cls = type(settings)
    for f in dataclasses.fields(cls):
        assert f.metadata.get("help"), f"{cls.__name__}.{f.name} has no help"
    args = build_parser().parse_args([*command, *needed, *dataclass_to_argv(settings)])
    assert dataclass_from_args(cls, args) == settings
    given = {f.name for f in dataclasses.fields(cls) if getattr(settings, f.name) != f.default}
    assert given <= set(values_from_args(cls, args)) <= {f.name for f in dataclasses.fields(cls)}


def test_the_settings_above_set_every_field_to_another_value_than_its_default():
    """So that a flag that does not reach its field fails the test above. Some values exclude each
    other (``--merge`` with ``--finetune full``): a class may take several rows to cover its fields."""
    untested: dict[type, set[str]] = {}
    for _, _, settings in COMMANDS:
        cls = type(settings)
        at_default = {f.name for f in dataclasses.fields(cls) if getattr(settings, f.name) == f.default}
        untested[cls] = untested.get(cls, at_default) & at_default
    assert {cls.__name__: names for cls, names in untested.items() if names} == {}


def test_help_of_every_group_and_command_is_fast_and_loads_no_torch():
    """One process prints every help text; none of them imports torch or transformers."""
    code = (
        "import contextlib, io, json, sys\n"
        "from lmlm.cli import build_parser, main\n"
        "def helps(argv):\n"
        "    out = io.StringIO()\n"
        "    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):\n"
        "        main([*argv, '--help'])\n"
        "    return out.getvalue()\n"
        "texts = {'': helps([])}\n"
        "groups = build_parser()._subparsers._group_actions[0].choices\n"
        "for name, group in groups.items():\n"
        "    texts[name] = helps([name])\n"
        "    for action in group._subparsers._group_actions if group._subparsers else []:\n"
        "        for command in getattr(action, 'choices', None) or {}:\n"
        "            if not isinstance(command, str) or command.startswith('-'): continue\n"
        "            texts[name + ' ' + command] = helps([name, command])\n"
        "heavy = [m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules]\n"
        "print(json.dumps({'texts': texts, 'heavy': heavy}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["heavy"] == []
    texts = result["texts"]
    assert set(GROUPS) <= set(texts)
    for group in GROUPS:
        assert group in texts[""]
    for command in ("data world", "data clean", "demo", "train pretrain", "train annotator", "kg lookup"):
        assert texts[command].startswith(f"usage: lmlm {command}"), command
    assert all(text.startswith("usage: lmlm") for text in texts.values())
