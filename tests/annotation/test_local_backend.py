"""The local Hugging Face backend end to end, with an annotator trained here, and the quality script.

A session fixture (conftest) runs ``lmlm.evaluation.annotation_quality`` at its smallest size: a world, a
tokenizer with a chat template, a tiny Llama warmed up on the copy task and pretrained on the world's
text, ``lmlm train annotator`` (LoRA) on it, the held-out biographies annotated through the pipeline
with the local backend, and the same without the copy warm-up (the baseline). The tests then check the script's report, and drive ``lmlm annotate --backend local``
with the adapter it trained (token chunks, --resume).
"""

from __future__ import annotations

import json

import pytest
import torch

from lmlm.annotation import BackendConfig, Request, get_prompt
from lmlm.annotation.local_backend import LocalBackend
from lmlm.annotation.output import ANNOTATED, REJECTED, read_records
from lmlm.cli import main
from lmlm.kg.syntax import strip_lookups
from tests.annotation.conftest import SMALLEST, world_biographies, write_inputs
from tests.paper_data import PAPER_DATA

pytestmark = pytest.mark.slow


def test_the_quality_script_writes_scores_and_the_paper_reference(quality):
    out, result = quality
    assert json.loads((out / "annotation_quality.json").read_text()) == result
    assert (out / "annotation_quality.png").read_bytes()[:4] == b"\x89PNG"
    arms = result["annotator"], result["baseline"]
    assert (
        arms[0]["base"]["copy_warmup"]["steps"] == SMALLEST["copy_steps"] + 3 * SMALLEST["copy_longer_steps"]
    )
    assert arms[1]["base"]["copy_warmup"] is None and arms[1]["model"].startswith(str(out / "baseline"))
    for arm in arms:
        held = arm["heldout"]
        assert held["documents"] == SMALLEST["eval_docs"] and held["gold_triples"] > 0
        assert held["exact"] + held["repaired"] + held["rejected"] == held["documents"]
        for key in (
            "text_preserved_share",
            "accepted_share",
            "precision_world",
            "precision_stated",
            "recall",
            "recall_in_accepted",
        ):
            assert 0.0 <= held[key] <= 1.0
        assert held["precision_stated"] <= held["precision_world"]
        assert held["recall_in_accepted"] >= held["recall"]  # the rejected texts give no triples
        assert arm["seconds"]["total"] >= arm["seconds"]["finetune"] > 0
    if PAPER_DATA.is_dir():
        rows = {row["file"]: row for row in result["paper_samples"]}
        squad = rows["squad-eval100_chatgpt_gpt4o-v7.1_cleaned.json"]
        assert squad["documents"] == 99 and squad["annotator"] == "gpt-4o"
        assert squad["verdicts"] == {"exact": 53, "repaired": 21, "rejected": 25}
        assert 0.99 <= squad["calls_parsed_share"] < 1.0  # one call of 586 does not parse


def test_the_local_backend_loads_the_adapter_that_lmlm_train_annotator_wrote(quality):
    out, result = quality
    adapter = result["annotator"]["adapter"]
    text = world_biographies(1, seed=7)[0]["text"]
    request = Request("r", text, tuple(get_prompt("lmlm-sft-v1").messages(text)))
    tuned = LocalBackend(BackendConfig(backend="local", model=adapter, max_new_tokens=24))
    base = LocalBackend(BackendConfig(backend="local", model=str(out / "base" / "final"), max_new_tokens=24))
    assert tuned.model_id.endswith("+adapter")
    [completion] = tuned.generate([request])
    assert completion.id == "r" and completion.completion_tokens > 0 and completion.prompt_tokens > 0
    ids = tuned.tokenizer(text, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        tuned_logits, base_logits = tuned.model(ids).logits, base.model(ids).logits
    assert not torch.allclose(tuned_logits, base_logits, atol=1e-6)  # the adapter is merged in


def test_lmlm_annotate_with_the_local_backend_chunks_by_tokens_and_resumes(quality, tmp_path, capsys):
    _, result = quality
    docs = world_biographies(5, seed=3)
    inputs = tmp_path / "in.jsonl"
    write_inputs(inputs, docs[:3])
    argv = ["annotate", str(inputs), "--out", str(tmp_path / "out"), "--backend", "local"]
    argv += ["--model", result["annotator"]["adapter"], "--chunk-by", "tokens", "--chunk-size", "40"]
    argv += ["--batch-size", "4", "--max-new-tokens", "96", "--json"]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["prompt_id"] == "lmlm-sft-v1"  # the adapter is asked the way it was trained
    records = list(read_records(tmp_path / "out" / ANNOTATED)) + list(
        read_records(tmp_path / "out" / REJECTED)
    )
    chunks = first["directory"]["chunks"]
    assert chunks == len(records) == first["this_run"]["completed"] > 3  # the texts were cut
    assert {r["document_id"] for r in records} == {d["id"] for d in docs[:3]}
    for record in records:
        assert record["chunks"] > 1 and record["id"] == f"{record['document_id']}#c{record['chunk']}"
        if "annotated_text" in record:
            assert strip_lookups(record["annotated_text"]) == record["text"]
        else:
            assert record["validation"]["reason"] and "response" in record
    assert first["directory"]["accepted"] + first["directory"]["rejected"] == chunks

    write_inputs(inputs, docs)
    assert main([*argv, "--resume"]) == 0
    second = json.loads(capsys.readouterr().out)
    new = second["this_run"]["requests"]
    assert new == second["directory"]["chunks"] - chunks > 0  # only the two new documents
    ids = [r["id"] for r in read_records(tmp_path / "out" / ANNOTATED)] + [
        r["id"] for r in read_records(tmp_path / "out" / REJECTED)
    ]
    assert len(ids) == len(set(ids)) == second["directory"]["chunks"]
