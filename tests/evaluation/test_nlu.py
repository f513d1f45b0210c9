"""Zero-shot NLU: every task's format from a tiny local file, scored through a real model."""

from __future__ import annotations

import json
import math

import pytest

from lmlm.evaluation.nlu import TASKS, NluArgs, load_task, run_nlu, score_examples
from lmlm.kg.errors import InputFormatError
from tests.evaluation.scripted_lm import uniform
from tests.tiny_models import build_tiny_model, build_tiny_tokenizer

CHOICES = {"text": ["a dog", "a cat", "a bird"], "label": ["A", "B", "C"]}
RECORDS = {
    "hellaswag": {
        "ctx_a": "A man sits.",
        "ctx_b": "he",
        "activity_label": "Sitting",
        "endings": ["sits [title] down", "runs"],
        "label": "1",
    },
    "winogrande": {
        "sentence": "The cup fell because _ was heavy.",
        "option1": "the cup",
        "option2": "it",
        "answer": "2",
    },
    "piqa": {"goal": "Open a jar", "sol1": "twist the lid", "sol2": "hit it", "label": 0},
    "siqa": {
        "context": "Ko ate.",
        "question": "Why?",
        "answerA": "hungry",
        "answerB": "sad",
        "answerC": "late",
        "label": "1",
    },
    "openbookqa": {
        "question_stem": "Which barks?",
        "choices": {"text": ["dog", "cat"], "label": ["A", "B"]},
        "answerKey": "A",
    },
    "arc_easy": {"question": "Which flies?", "choices": CHOICES, "answerKey": "C"},
    "arc_challenge": {"question": "Which purrs?", "choices": CHOICES, "answerKey": "B"},
    "commonsense_qa": {"question": "Which swims?", "choices": CHOICES, "answerKey": "A"},
}


@pytest.fixture(scope="module")
def model_and_tokenizer(tmp_path_factory):
    tokenizer = build_tiny_tokenizer(tmp_path_factory.mktemp("tok"))
    return uniform(build_tiny_model(tokenizer)), tokenizer


def test_every_task_reads_its_datasets_fields(tmp_path):
    for task, record in RECORDS.items():
        path = tmp_path / f"{task}.jsonl"
        path.write_text(json.dumps(record) + "\n")
        [example] = load_task(task, path)
        assert 0 <= example.gold < len(example.choices) and example.context
    [hs] = load_task("hellaswag", tmp_path / "hellaswag.jsonl")
    assert hs.context == "Sitting: A man sits. He" and hs.choices == (" sits. down", " runs") and hs.gold == 1
    [wg] = load_task("winogrande", tmp_path / "winogrande.jsonl")
    assert wg.context == "The cup fell because" and wg.choices == (" the cup was heavy.", " it was heavy.")
    assert set(RECORDS) == set(TASKS)


def test_a_bad_record_names_the_file_and_record(tmp_path):
    path = tmp_path / "piqa.jsonl"
    path.write_text(json.dumps(RECORDS["piqa"]) + "\n" + json.dumps({"goal": "x"}) + "\n")
    with pytest.raises(InputFormatError, match=r"piqa\.jsonl.*record 2"):
        load_task("piqa", path)
    with pytest.raises(ValueError, match="TASK=FILE"):
        NluArgs(model="m", tasks=("piqa",))


def test_uniform_model_picks_the_fewest_tokens_and_the_fewest_tokens_per_character(model_and_tokenizer):
    """Under a uniform model a continuation's log-likelihood is -(its tokens) * log V."""
    model, tokenizer = model_and_tokenizer
    from lmlm.evaluation.nlu import Example

    examples = [
        Example("Question: x\nAnswer:", (" Ko", " Ko Itakura was born in Yokohama"), 0),
        Example("Question: y\nAnswer:", (" Ko", " Ko Itakura was born in Yokohama"), 1),
    ]
    result = score_examples(model, tokenizer, examples)
    tokens = [len(tokenizer.encode(c, add_special_tokens=False)) for c in examples[0].choices]
    chars = [len(c) for c in examples[0].choices]
    shortest = min(range(2), key=lambda k: tokens[k])
    per_char = max(range(2), key=lambda k: -tokens[k] * math.log(len(tokenizer)) / chars[k])
    assert result["examples"] == 2
    assert result["acc"] == sum(shortest == e.gold for e in examples) / 2 == 0.5
    assert result["acc_norm"] == sum(per_char == e.gold for e in examples) / 2


def test_run_nlu_writes_json(model_and_tokenizer, tmp_path):
    model, tokenizer = model_and_tokenizer
    model.save_pretrained(tmp_path / "m")
    tokenizer.save_pretrained(tmp_path / "m")
    tasks = []
    for task in ("piqa", "arc_easy"):
        (tmp_path / f"{task}.json").write_text(json.dumps([RECORDS[task]] * 3))
        tasks.append(f"{task}={tmp_path / f'{task}.json'}")
    report = run_nlu(
        NluArgs(model=str(tmp_path / "m"), tasks=tuple(tasks), limit=2), tmp_path / "out", show_progress=False
    )
    assert report["tasks"]["piqa"]["examples"] == 2 and report["tasks"]["arc_easy"]["acc"] in (0.0, 0.5, 1.0)
    assert json.loads((tmp_path / "out" / "nlu.json").read_text())["tasks"].keys() == {"piqa", "arc_easy"}
