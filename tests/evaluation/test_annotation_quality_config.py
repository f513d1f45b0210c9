"""The annotation-quality experiment's settings, its copy task and its refusal to mix runs (fast parts).

The whole experiment runs at its smallest size in ``tests/annotation`` (the quality fixture).
"""

from __future__ import annotations

import random

import pytest

from lmlm.evaluation.annotation_base import BASE_PRESET, _copy_batch, copy_warmup, get_base_preset
from lmlm.evaluation.annotation_quality import QualityConfig, run
from tests.tiny_models import build_tiny_model, build_tiny_tokenizer


@pytest.mark.parametrize(
    ("override", "flag"),
    [
        ({"baseline": "random"}, "--baseline"),
        ({"preset": "huge"}, "--preset"),
        ({"finetune": "qlora"}, "--finetune"),
        ({"copy_steps": -1}, "--copy-steps"),
        ({"copy_longer_steps": -1}, "--copy-longer-steps"),
        ({"pretrain_epochs": -1.0}, "--pretrain-epochs"),
        ({"heldout": 1.0}, "--heldout"),
    ],
)
def test_settings_name_the_bad_flag(override, flag):
    with pytest.raises(ValueError, match=flag):
        QualityConfig(out="o", **override)


def test_the_base_preset_is_its_own_or_a_project_preset():
    assert get_base_preset(BASE_PRESET.name) is BASE_PRESET
    assert get_base_preset("tiny-2m").layers == 4
    with pytest.raises(ValueError, match="--preset"):
        get_base_preset("nope")


def test_a_copy_row_is_a_sequence_its_separator_and_the_sequence_again_labelled_on_the_repeat():
    sep = 0
    ids, labels = _copy_batch(random.Random(0), list(range(5, 50)), sep, 3, 9, 16)
    for row, lab in zip(ids.tolist(), labels.tolist()):
        n = row.index(sep)
        seq = row[:n]
        assert 3 <= n <= 9 and row[n + 1 : 2 * n + 1] == seq and set(row[2 * n + 1 :]) <= {sep}
        assert lab[n + 1 : 2 * n + 1] == seq  # the repeat is trained ...
        assert set(lab[: n + 1] + lab[2 * n + 1 :]) == {-100}  # ... nothing else


def test_copy_warmup_runs_every_phase_and_reports_a_held_out_accuracy(tmp_path):
    tokenizer = build_tiny_tokenizer(tmp_path)
    model = build_tiny_model(tokenizer)
    before = [p.detach().clone() for p in model.parameters()]
    warm = copy_warmup(model, tokenizer, first_steps=3, longer_steps=1, seed=0)
    assert warm.steps == 3 + 3 and warm.first_phase_steps == 3  # random weights cannot stop phase 1 early
    assert 0.0 <= warm.accuracy <= 1.0 and warm.seconds > 0
    assert any(not (a == b).all() for a, b in zip(before, model.parameters()))
    assert not model.training


def test_an_output_directory_of_an_earlier_run_is_refused_before_anything_is_trained(tmp_path):
    (tmp_path / "baseline").mkdir()
    with pytest.raises(ValueError, match="--out .*baseline"):
        run(QualityConfig(out=str(tmp_path), threads=1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["baseline"]
