"""Pretraining on tiny models: the loss falls, is normalised by trained tokens, resumes exactly."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from lmlm.kg.syntax import format_pretraining_lookup
from lmlm.train.masking import encode_documents, pack_arrays
from lmlm.train.presets import count_parameters
from lmlm.train.pretrain import PretrainArgs, pretrain
from tests.tiny_models import build_plain_tokenizer, build_tiny_model, build_tiny_tokenizer, tiny_corpus


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    """(tokenizer dir, tiny llama dir): hidden 32, 2 layers, saved with its tokenizer."""
    root = tmp_path_factory.mktemp("assets")
    tokenizer = build_tiny_tokenizer(root)
    model = build_tiny_model(tokenizer)
    model.save_pretrained(str(root / "model"))
    tokenizer.save_pretrained(str(root / "model"))
    return root / "tokenizer", root / "model"


def _args(assets, out_dir, /, **overrides) -> PretrainArgs:
    tok_dir, model_dir = assets
    settings = dict(
        out_dir=str(out_dir),
        tokenizer=str(tok_dir),
        init_from=str(model_dir),
        block_size=32,
        batch_size=4,
        max_steps=4,
        lr=3e-3,
        warmup=0,
        log_every=2,
        precision="fp32",
    )
    return PretrainArgs(**(settings | overrides))


def _run(assets, out_dir, docs=None, eval_docs=None, **overrides):
    docs = tiny_corpus() * 4 if docs is None else docs
    eval_docs = tiny_corpus()[:2] if eval_docs is None else eval_docs
    return pretrain(_args(assets, out_dir, **overrides), docs, eval_docs, show_progress=False)


@pytest.mark.slow
def test_tiny_run_lowers_eval_loss_and_writes_outputs(assets, tmp_path):
    result = _run(assets, tmp_path / "run", max_steps=40, eval_every=10, log_every=5)
    log = json.loads(result.log_path.read_text())
    evals = [e["loss"] for e in log["evals"]]
    assert [e["step"] for e in log["evals"]] == [10, 20, 30, 40]
    assert evals[-1] < evals[0] - 0.5 and evals[-1] < math.log(404)
    assert result.eval_loss == evals[-1] and result.steps == 40
    assert [s["step"] for s in log["steps"]] == list(range(1, 41))
    assert all(s["tokens_per_s"] > 0 and s["lr"] > 0 for s in log["steps"])
    assert log["args"]["mode"] == "lmlm" and log["data"]["train_docs"] == 24
    assert result.plot_path.read_bytes()[:4] == b"\x89PNG"
    model = AutoModelForCausalLM.from_pretrained(str(result.final_dir))
    tokenizer = AutoTokenizer.from_pretrained(str(result.final_dir))
    assert log["parameters"] == result.parameters == count_parameters(model)
    assert model.get_input_embeddings().weight.shape[0] == len(tokenizer)


@pytest.mark.parametrize(
    ("preset", "mode", "model_type"), [("tiny-2m", "lmlm", "llama"), ("tiny-gpt2", "standard", "gpt2")]
)
def test_presets_train_from_scratch(assets, tmp_path, preset, mode, model_type):
    result = _run(
        assets, tmp_path / preset, init_from="", preset=preset, mode=mode, max_steps=2, batch_size=2
    )
    model = AutoModelForCausalLM.from_pretrained(str(result.final_dir))
    assert model.config.model_type == model_type
    assert json.loads((result.final_dir / "pretrain.json").read_text())["mode"] == mode
    assert math.isfinite(result.train_loss) and math.isfinite(result.eval_loss)


def test_bf16_autocast_then_fp32_in_one_process(assets, tmp_path):
    """precision bf16 works on CPU too; a later fp32 run replaces the process's accelerate state."""
    for precision, expected in (("bf16", "bf16"), ("fp32", "no")):
        result = _run(assets, tmp_path / precision, max_steps=2, precision=precision)
        log = json.loads(result.log_path.read_text())
        assert log["environment"]["mixed_precision"] == expected
        assert math.isfinite(result.train_loss) and math.isfinite(result.eval_loss)


def _four_block_docs(tokenizer_dir):
    """Documents that pack into exactly four 32-token blocks with unequal numbers of targets."""
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    lookups = " ".join(
        format_pretraining_lookup("Ada Lovelace", "Employer", "the Analytical Engine") for _ in range(3)
    )
    docs = [lookups + " London", "Ada Lovelace was born in London."]
    n = sum(len(d.input_ids) for d in encode_documents(docs, tokenizer, "lmlm"))
    while n <= 96:
        docs.append("People still talk about Ada.")
        n = sum(len(d.input_ids) for d in encode_documents(docs, tokenizer, "lmlm"))
    assert 96 < n <= 128
    return tokenizer, docs


def test_step_loss_is_mean_over_trained_tokens(assets, tmp_path):
    tokenizer, docs = _four_block_docs(assets[0])
    result = _run(assets, tmp_path / "run", docs=docs, max_steps=1, batch_size=2, grad_accum=2)
    logged = json.loads(result.log_path.read_text())["steps"][0]["loss"]

    packed = pack_arrays(encode_documents(docs, tokenizer, "lmlm"), 32, pad_id=tokenizer.pad_token_id)
    assert packed.n_blocks == 4
    model = AutoModelForCausalLM.from_pretrained(str(assets[1])).eval()
    per_block = []
    with torch.no_grad():
        for ids, trained in zip(packed.input_ids, packed.trained):
            logp = torch.log_softmax(model(torch.tensor(ids[None], dtype=torch.long)).logits[0], -1)
            losses = [-logp[t - 1, ids[t]].item() for t in range(1, 32) if trained[t]]
            per_block.append((sum(losses), len(losses)))
    by_hand = sum(s for s, _ in per_block) / sum(n for _, n in per_block)
    assert logged == pytest.approx(by_hand, rel=1e-5)
    mean_of_means = sum(s / n for s, n in per_block if n) / sum(1 for _, n in per_block if n)
    assert abs(by_hand - mean_of_means) > 1e-3  # the check would catch per-batch averaging


def test_grad_accumulation_matches_one_big_batch(assets, tmp_path):
    _, docs = _four_block_docs(assets[0])
    big = _run(assets, tmp_path / "big", docs=docs, max_steps=2, batch_size=4, grad_accum=1)
    accum = _run(assets, tmp_path / "accum", docs=docs, max_steps=2, batch_size=2, grad_accum=2)
    losses = [[s["loss"] for s in json.loads(r.log_path.read_text())["steps"]] for r in (big, accum)]
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)
    a = AutoModelForCausalLM.from_pretrained(str(big.final_dir)).state_dict()
    b = AutoModelForCausalLM.from_pretrained(str(accum.final_dir)).state_dict()
    for name in a:  # Adam divides by sqrt(v): float noise in near-zero gradients shows up a little
        torch.testing.assert_close(a[name], b[name], rtol=1e-3, atol=1e-4)


def test_resume_continues_the_step_count_exactly(assets, tmp_path):
    full = _run(assets, tmp_path / "full", max_steps=6, save_every=3, keep_checkpoints=5)
    assert sorted(p.name for p in full.out_dir.glob("checkpoint-*")) == ["checkpoint-3", "checkpoint-6"]
    at_6 = AutoModelForCausalLM.from_pretrained(str(full.out_dir / "checkpoint-6")).state_dict()
    AutoTokenizer.from_pretrained(str(full.out_dir / "checkpoint-6"))  # a checkpoint is a loadable model
    cut = tmp_path / "cut"
    shutil.copytree(full.out_dir, cut)
    for stale in ("checkpoint-6", "final"):
        shutil.rmtree(cut / stale)
    resumed = _run(assets, cut, max_steps=6, save_every=3, keep_checkpoints=5, resume=True)
    log, ref = json.loads(resumed.log_path.read_text()), json.loads(full.log_path.read_text())
    assert log["resumed_at"] == [3]
    assert [s["step"] for s in log["steps"]] == list(range(1, 7))
    assert [s["loss"] for s in log["steps"]] == pytest.approx([s["loss"] for s in ref["steps"]], rel=1e-6)
    a = AutoModelForCausalLM.from_pretrained(str(full.final_dir)).state_dict()
    b = AutoModelForCausalLM.from_pretrained(str(resumed.final_dir)).state_dict()
    for name in a:
        torch.testing.assert_close(a[name], b[name])
        torch.testing.assert_close(a[name], at_6[name])

    longer = _run(assets, cut, max_steps=8, save_every=3, keep_checkpoints=5, resume=True)
    assert [s["step"] for s in json.loads(longer.log_path.read_text())["steps"]] == list(range(1, 9))


def test_out_dir_with_checkpoints_needs_resume_and_same_settings(assets, tmp_path):
    _run(assets, tmp_path / "run", max_steps=2)
    with pytest.raises(ValueError, match="--resume"):
        _run(assets, tmp_path / "run", max_steps=2)
    with pytest.raises(ValueError, match="--mode 'standard' differs"):
        _run(assets, tmp_path / "run", max_steps=4, mode="standard", resume=True)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"mode": "masked"}, "--mode must be one of lmlm, standard, got 'masked'"),
        ({"batch_size": 0}, "--batch-size must be >= 1, got 0"),
        ({"lr": -1.0}, "--lr must be > 0, got -1.0"),
        ({"precision": "fp8"}, "--precision .*'fp8'"),
        ({"init_from": "", "preset": "huge"}, "--preset must be one of .*'huge'"),
        ({"tokenizer": "", "init_from": ""}, "--tokenizer is required"),
        ({"eval_fraction": 1.5}, "--eval-fraction"),
        ({"out_dir": ""}, "--out is required"),
    ],
)
def test_bad_args_name_the_flag_and_value(assets, tmp_path, overrides, message):
    with pytest.raises(ValueError, match=message):
        _args(assets, tmp_path, **overrides)


def test_bad_inputs_fail_before_training(assets, tmp_path):
    with pytest.raises(ValueError, match="--tokenizer: .*not a directory"):
        _run(assets, tmp_path / "a", tokenizer=str(tmp_path / "missing"))
    plain = tmp_path / "plain"
    build_plain_tokenizer().save_pretrained(str(plain))
    with pytest.raises(ValueError, match="lacks the lookup tokens"):
        _run(assets, tmp_path / "b", tokenizer=str(plain))
    with pytest.raises(ValueError, match="--block-size 2048 exceeds the model's 1024 positions"):
        _run(assets, tmp_path / "c", init_from="", preset="tiny-gpt2", block_size=2048)
    with pytest.raises(ValueError, match="--data is required"):
        pretrain(_args(assets, tmp_path / "d"), show_progress=False)


@pytest.mark.slow
def test_two_process_ddp_matches_one_process(assets, tmp_path):
    """Two CPU processes (gloo) with half the batch each log the same losses as one process."""
    data = tmp_path / "docs.jsonl"
    data.write_text("".join(json.dumps({"annotated_text": t}) + "\n" for t in tiny_corpus() * 4))
    common = ["-m", "lmlm.train.pretrain_cli", "--data", str(data), "--tokenizer", str(assets[0])]
    common += ["--init-from", str(assets[1]), "--max-steps", "3", "--block-size", "32", "--grad-accum", "2"]
    common += ["--precision", "fp32", "--log-level", "WARNING", "--json"]
    env = {**os.environ, "ACCELERATE_USE_CPU": "true", "OMP_NUM_THREADS": "1"}
    ddp = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    subprocess.run([*ddp, *common, "--out", str(tmp_path / "ddp"), "--batch-size", "2"], check=True, env=env)
    one = [sys.executable, *common, "--out", str(tmp_path / "one"), "--batch-size", "4"]
    subprocess.run(one, check=True, env=env)
    logs = [json.loads((tmp_path / run / "log.json").read_text()) for run in ("ddp", "one")]
    assert logs[0]["environment"]["processes"] == 2 and logs[1]["environment"]["processes"] == 1
    assert [s["loss"] for s in logs[0]["steps"]] == pytest.approx(
        [s["loss"] for s in logs[1]["steps"]], rel=1e-5
    )
    assert logs[0]["evals"][-1]["loss"] == pytest.approx(logs[1]["evals"][-1]["loss"], rel=1e-5)
