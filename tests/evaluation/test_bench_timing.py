"""What every benchmark's figures rest on: interleaved repetitions (each variant once per round, the
order rotated), medians with their spread, ratios paired within a round, thread-count flags and the
machine description written next to the figures."""

from __future__ import annotations

import pytest

from lmlm.evaluation.bench.timing import (
    BF16_FLAGS,
    check_thread_spec,
    describe_machine,
    paired_ratios,
    run_interleaved,
    summarize,
    thread_counts,
)


def test_variants_take_turns_and_the_order_rotates_every_round():
    calls: list[str] = []
    seen_before: list[str] = []
    variants = {name: (lambda name=name: calls.append(name) or name) for name in "abc"}
    seconds, results = run_interleaved(variants, 3, before_each=seen_before.append)
    assert calls == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]
    assert seen_before == calls  # the untimed hook runs before each call
    assert {k: len(v) for k, v in seconds.items()} == {"a": 3, "b": 3, "c": 3}
    assert results == {"a": "a", "b": "b", "c": "c"}
    with pytest.raises(ValueError, match="repeats must be >= 1"):
        run_interleaved(variants, 0)


def test_a_summary_is_the_median_with_min_max_and_relative_spread():
    assert summarize([2.0, 1.0, 4.0]) == {"median": 2.0, "min": 1.0, "max": 4.0, "spread": 1.5, "n": 3}
    with pytest.raises(ValueError, match="at least one value"):
        summarize([])


def test_ratios_pair_values_of_the_same_round():
    # b is twice as fast as a in every round although both swing 3x between rounds: the paired
    # ratio has no spread, a ratio of medians of unpaired rounds would
    ratio = paired_ratios([10.0, 30.0, 20.0], [5.0, 15.0, 10.0])
    assert (ratio["median"], ratio["spread"]) == (2.0, 0.0)
    with pytest.raises(ValueError, match="as many values"):
        paired_ratios([1.0], [1.0, 2.0])


def test_thread_flags_name_their_counts_and_bad_values_name_the_flag():
    assert thread_counts("1,default", 2) == {"1 thread": 1, "default (2)": 2}
    assert thread_counts("1,default", 1) == {"1 thread": 1}  # one count, timed once
    assert thread_counts("4,2", 8) == {"4 threads": 4, "2 threads": 2}
    check_thread_spec("1,default")
    for bad in ("0", "two", "1,,2"):
        with pytest.raises(ValueError, match="--threads takes integers >= 1 or 'default'"):
            check_thread_spec(bad)


def test_the_machine_description_holds_what_a_figure_depends_on():
    import torch

    m = describe_machine()
    assert m["usable_cores"] >= 1 and m["logical_cores"] >= m["usable_cores"]
    assert set(m["cpu_flags"]) in (set(), set(BF16_FLAGS))
    assert m["torch"]["threads"] == torch.get_num_threads()
    assert {"OMP_NUM_THREADS", "MKL_NUM_THREADS"} <= set(m["env"])
    assert m["versions"]["torch"].split("+")[0] == torch.__version__.split("+")[0]
