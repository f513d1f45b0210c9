"""Annotator fine-tuning on a tiny local Llama: completion-only loss, adapter round trip, CLI, errors."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from lmlm.cli import main
from lmlm.kg.syntax import format_annotated_call, parse_annotated
from lmlm.train.annotator import (
    ANNOTATOR_SYSTEM_PROMPT,
    AnnotationPair,
    AnnotatorArgs,
    args_from_config,
    build_annotator_messages,
    build_trainer,
    load_annotation_pairs,
    load_config,
)
from lmlm.train.tokenizer import prefix_spaced
from tests.tiny_models import build_tiny_model, build_tiny_tokenizer

CHAT_TEMPLATE = (
    "{% for m in messages %}### {{ m['role'] }}\n{{ m['content'] }}{{ eos_token }}\n{% endfor %}"
    "{% if add_generation_prompt %}### assistant\n{% endif %}"
)
PEOPLE = [
    ("Ko Itakura", "Yokohama", "1997"),
    ("Ada Lovelace", "London", "1815"),
    ("Alan Turing", "London", "1912"),
]


def _pair_texts(person: str, city: str, year: str) -> tuple[str, str]:
    text = f"{person} was born in {city} in {year}."
    birthplace = format_annotated_call(person, "Birthplace", city)
    born = format_annotated_call(person, "Birth Year", year)
    return text, f"{person} was born in {birthplace} {city} in {born} {year}."


def _write_paper_json(path, people=PEOPLE) -> None:
    examples = [dict(zip(("text", "annotated_text"), _pair_texts(*p))) for p in people]
    path.write_text(json.dumps({"examples": examples, "metadata": {}}))


def _build_tiny_base(out_dir) -> None:
    """The shared tiny tokenizer with a ChatML-like template (eos ends a turn) and a 2-layer Llama."""
    tokenizer = build_tiny_tokenizer(
        out_dir, [ANNOTATOR_SYSTEM_PROMPT, *(t for p in PEOPLE for t in _pair_texts(*p))]
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(out_dir / "base")
    build_tiny_model(tokenizer).save_pretrained(out_dir / "base")


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("tiny_chat_llama")
    _build_tiny_base(out_dir)
    return out_dir / "base"


def _args(base, data, out_dir, **overrides) -> AnnotatorArgs:
    settings = dict(
        base_model=str(base),
        data=(str(data),),
        out_dir=str(out_dir),
        lora_r=4,
        lora_alpha=8,
        max_length=512,
        batch_size=2,
        grad_accum=1,
        lr=5e-2,
        max_steps=4,
        gradient_checkpointing=False,
        eval_fraction=0.25,
    )
    return AnnotatorArgs(**(settings | overrides))


def test_system_prompt_example_is_in_the_parsed_format():
    calls = parse_annotated(ANNOTATOR_SYSTEM_PROMPT).calls
    assert [(c.entity, c.relation, c.value) for c in calls][-2:] == [
        ("Ko Itakura", "Birthplace", "Yokohama"),
        ("Ko Itakura", "Club", "Borussia Mönchengladbach"),
    ]
    messages = build_annotator_messages("Some text.")
    assert [m["role"] for m in messages] == ["system", "user"] and messages[1]["content"] == "Some text."


@pytest.mark.parametrize(
    ("override", "flag"),
    [
        ({"lora_r": 0}, "--lora-r"),
        ({"lora_dropout": 1.0}, "--lora-dropout"),
        ({"precision": "fp16"}, "--precision"),
        ({"eval_fraction": 1.0}, "--eval-fraction"),
        ({"max_steps": 0}, "--max-steps"),
        ({"base_model": ""}, "--base-model"),
        ({"data": ()}, "--data"),
        ({"finetune": "qlora"}, "--finetune"),
        ({"finetune": "full", "merge": True}, "--merge"),
    ],
)
def test_args_validation_names_the_flag(override, flag):
    settings = {"base_model": "m", "data": ("d.json",), "out_dir": "o"} | override
    with pytest.raises(ValueError, match=flag):
        AnnotatorArgs(**settings)


def test_preset_config_loads_and_flags_override_it(tmp_path):
    preset = load_config("annotator_llama31_8b")
    assert preset["base_model"] == "meta-llama/Llama-3.1-8B-Instruct"
    assert (preset["lora_r"], preset["lora_alpha"], preset["max_length"]) == (32, 16, 2048)
    args = args_from_config("annotator_llama31_8b", data=["a.json"], lr=1e-5, epochs=None)
    assert args.lr == 1e-5 and args.epochs == preset["epochs"] and args.data == ("a.json",)
    assert args.precision == "bf16"

    bad = tmp_path / "bad.json"
    bad.write_text('{"lora_rank": 8}')
    with pytest.raises(ValueError, match=r"bad\.json.*lora_rank"):
        load_config(str(bad))
    bad.write_text('{\n"lora_r": 8,\n}')
    with pytest.raises(ValueError, match=r"bad\.json: line 3"):
        load_config(str(bad))


def test_import_does_not_load_torch():
    code = "import sys, lmlm.train.annotator; assert 'torch' not in sys.modules, 'torch imported'"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_empty_text_is_rejected_naming_file_and_record(tmp_path):
    data = tmp_path / "pairs.jsonl"
    text, annotated = _pair_texts(*PEOPLE[0])
    rows = [
        {"id": "ok", "text": text, "annotated_text": annotated},
        {"id": "blank", "text": " ", "annotated_text": annotated},
    ]
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(ValueError, match=r"pairs\.jsonl.*blank.*empty 'text'"):
        load_annotation_pairs([data])


def test_pairs_come_back_in_the_canonical_annotated_format(tmp_path):
    data = tmp_path / "paper.json"
    _write_paper_json(data)
    pairs = load_annotation_pairs(str(data))
    assert [p.annotated for p in pairs] == [_pair_texts(*p)[1] for p in PEOPLE]
    assert [p.text for p in pairs] == [_pair_texts(*p)[0] for p in PEOPLE]


@pytest.mark.slow
def test_trl_trains_on_the_completion_only(tiny_base, tmp_path):
    from transformers import AutoTokenizer

    pairs = [AnnotationPair(str(i), *_pair_texts(*p)) for i, p in enumerate(PEOPLE)]
    trainer = build_trainer(_args(tiny_base, "unused.json", tmp_path), pairs, [], show_progress=False)
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(len(pairs))])
    tokenizer = AutoTokenizer.from_pretrained(tiny_base)
    for row, pair in enumerate(pairs):
        ids, labels = batch["input_ids"][row], batch["labels"][row]
        prompt_ids = tokenizer.apply_chat_template(
            build_annotator_messages(pair.text), add_generation_prompt=True, tokenize=True, return_dict=True
        )["input_ids"]
        n_prompt, n_real = len(prompt_ids), int(batch["attention_mask"][row].sum())
        assert ids[:n_prompt].tolist() == prompt_ids  # the prompt is really in the sequence ...
        assert (labels[:n_prompt] == -100).all()  # ... and none of it is trained
        assert (labels[n_real:] == -100).all()  # nor the padding
        assert labels[n_prompt:n_real].tolist() == ids[n_prompt:n_real].tolist()
        # (our tokenizer writes a space before a word after a special token: prefix_spaced)
        assert tokenizer.decode(labels[n_prompt:n_real]) == pair.annotated + prefix_spaced(
            tokenizer.eos_token + "\n"
        )


@pytest.mark.slow
def test_cli_trains_adapter_that_loads_back_and_changes_outputs(tiny_base, tmp_path, capsys):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    data = tmp_path / "paper.json"
    _write_paper_json(data, PEOPLE * 2)
    out = tmp_path / "run"
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(_args(tiny_base, data, out, lr=1e-3).__dict__ | {"data": [str(data)]}))
    assert main(["train", "annotator", "--config", str(config), "--lr", "5e-2", "--merge", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)

    assert math.isfinite(result["train_loss"]) and math.isfinite(result["eval_loss"])
    log = json.loads((out / "losses.json").read_text())
    assert log["steps"] == 4 and log["args"]["lr"] == 5e-2 and len(log["train"]) == 4 and log["eval"]
    assert (out / "losses.png").read_bytes()[:4] == b"\x89PNG"
    adapter = out / "adapter"
    assert (adapter / "adapter_config.json").is_file() and (adapter / "adapter_model.safetensors").is_file()

    ids = torch.tensor([[1, 5, 9, 17, 33, 65]])
    with torch.no_grad():
        base_logits = AutoModelForCausalLM.from_pretrained(tiny_base)(ids).logits
        tuned = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_base), adapter)
        tuned_logits = tuned(ids).logits
        merged_logits = AutoModelForCausalLM.from_pretrained(out / "merged")(ids).logits
    assert not torch.allclose(base_logits, tuned_logits, atol=1e-4)
    assert torch.allclose(tuned_logits, merged_logits, atol=1e-4)


@pytest.mark.slow
def test_full_fine_tuning_writes_a_whole_model_and_no_adapter(tiny_base, tmp_path, capsys):
    import torch
    from transformers import AutoModelForCausalLM

    data = tmp_path / "paper.json"
    _write_paper_json(data, PEOPLE * 2)
    out = tmp_path / "run"
    argv = ["train", "annotator", "--base-model", str(tiny_base), "--data", str(data), "--out", str(out)]
    argv += ["--finetune", "full", "--max-steps", "3", "--batch-size", "2", "--lr", "5e-2", "--json"]
    argv += ["--no-gradient-checkpointing", "--max-length", "512"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["model_dir"] == str(out / "model") and result["adapter_dir"] is None
    assert not (out / "adapter").exists() and (out / "model" / "chat_template.jinja").is_file()

    ids = torch.tensor([[1, 5, 9, 17, 33, 65]])
    with torch.no_grad():
        base_logits = AutoModelForCausalLM.from_pretrained(tiny_base)(ids).logits
        tuned_logits = AutoModelForCausalLM.from_pretrained(out / "model")(ids).logits
    assert not torch.allclose(base_logits, tuned_logits, atol=1e-4)  # every weight was trained
