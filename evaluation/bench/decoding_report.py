"""The decoding benchmark's figures: rates and paired ratios from the timed repetitions, and the
printed tables (``lmlm.evaluation.bench.decoding`` measures; this module reads and prints).

Every rate is tokens / seconds of one call; the figure is the median over repetitions with its
min, max and spread. A ratio ``A / B`` is taken within each repetition (A and B ran one after the
other) and then summarized the same way.
"""

from __future__ import annotations

import statistics
from typing import Any

from .timing import paired_ratios, summarize

VARIANTS = (
    "reference b1",
    "ours b1",
    "ours bN",
    "plain b1",
    "plain bN",
)  # as decoding.variant_calls names them
# (name, numerator, denominator, rate): ratios within one setting and thread count
RATIOS = (
    ("ours b1 / reference b1 (text tokens/s)", "ours b1", "reference b1", "text"),
    ("ours bN / reference b1 (text tokens/s)", "ours bN", "reference b1", "text"),
    ("ours b1 / plain b1 (output tokens/s)", "ours b1", "plain b1", "output"),
    ("ours bN / plain bN (output tokens/s)", "ours bN", "plain bN", "output"),
)
# ours under its own settings against the paper's loop under the paper's
CROSS = (
    ("ours b1 [ours] / reference b1 [paper] (text tokens/s)", "ours b1", "reference b1"),
    ("ours bN [ours] / reference b1 [paper] (text tokens/s)", "ours bN", "reference b1"),
)


def _tokens(subject, variant: str, result) -> dict[str, int]:
    if variant.startswith("plain"):
        return {"output_tokens": int(result)}
    tok = subject.tok
    return {
        "text_tokens": sum(o.text_tokens for o in result),
        "output_tokens": sum(len(tok(o.raw_text, add_special_tokens=False)["input_ids"]) for o in result),
        "lookups": sum(len(o.lookups) for o in result),
    }


def summarize_model(subject, args, measured: dict[tuple, tuple], untimed: dict, threads: dict) -> dict:
    """The JSON of one model: a row per (setting, threads, variant), paired ratios, agreement."""
    rows, rates = [], {}
    for (setting, label, variant), (seconds, result, resolver_s) in measured.items():
        counts = _tokens(subject, variant, result)
        rate = {
            k: [counts[f"{k}_tokens"] / s for s in seconds]
            for k in ("text", "output")
            if f"{k}_tokens" in counts
        }
        rates[(setting, label, variant)] = rate
        rows.append(
            {
                "setting": setting,
                "threads": label,
                "variant": variant.replace("bN", f"b{args.batch}"),
                **counts,
                "seconds": summarize(seconds),
                "seconds_each": [round(s, 4) for s in seconds],
                **{f"{k}_per_s": summarize(v, 2) for k, v in rate.items()},
                "resolver_share": round(statistics.median(r / s for r, s in zip(resolver_s, seconds)), 4),
            }
        )
    ratios = []
    for setting in args.settings_list:
        for label in threads:
            for name, a, b, kind in RATIOS:
                pair = paired_ratios(rates[(setting, label, a)][kind], rates[(setting, label, b)][kind])
                ratios.append({"setting": setting, "threads": label, "ratio": _named(name, args), **pair})
    if {"ours", "paper"} <= set(args.settings_list):
        for label in threads:
            for name, a, b in CROSS:
                pair = paired_ratios(rates[("ours", label, a)]["text"], rates[("paper", label, b)]["text"])
                ratios.append(
                    {"setting": "ours vs paper", "threads": label, "ratio": _named(name, args), **pair}
                )
    return {
        "model": subject.name,
        "parameters": sum(p.numel() for p in subject.model.parameters()),
        "lookups_per_output": {
            s: round(sum(len(o.lookups) for o in u["untimed_bN"]) / len(u["untimed_bN"]), 2)
            for s, u in untimed.items()
        },
        "ours_b1_equals_reference": _agreement(measured, args, threads),
        "rows": rows,
        "ratios": ratios,
        "thread_speedup": _thread_speedup(measured, args, threads),
        "untimed": untimed,  # dropped before writing; the scripted model is made from it
    }


def _named(name: str, args) -> str:
    return name.replace("bN", f"b{args.batch}")


def _agreement(measured, args, threads) -> dict[str, dict[str, str]]:
    """Per setting and thread count: how many b1 prompts ours and the paper's loop wrote alike."""
    out: dict[str, dict[str, str]] = {}
    for setting in args.settings_list:
        for label in threads:
            ours = measured[(setting, label, "ours b1")][1]
            ref = measured[(setting, label, "reference b1")][1]
            same = sum(a.raw_text == b.raw_text for a, b in zip(ours, ref))
            out.setdefault(setting, {})[label] = f"{same}/{len(ours)}"
    return out


def _thread_speedup(measured, args, threads) -> list[dict]:
    """Each variant's seconds at the first thread count over its seconds at each other count."""
    labels = list(threads)
    out = []
    for setting in args.settings_list:
        for variant in VARIANTS:
            base = measured[(setting, labels[0], variant)][0]
            for label in labels[1:]:
                pair = paired_ratios(base, measured[(setting, label, variant)][0])
                out.append(
                    {
                        "setting": setting,
                        "variant": _named(variant, args),
                        "threads": f"{label} vs {labels[0]}",
                        **pair,
                    }
                )
    return out


def _counts(by_threads: dict[str, str]) -> str:
    """``{"1 thread": "2/2"}`` as ``1 thread 2/2``."""
    return ", ".join(f"{label} {same}" for label, same in by_threads.items())


def _cell(summary: dict[str, Any] | None) -> str:
    """A rate: median [spread]."""
    if summary is None:
        return "-"
    return f"{summary['median']:.1f} [{summary['spread']:.0%}]"


def _ratio(summary: dict[str, Any]) -> str:
    """A ratio: median (min-max)."""
    return f"{summary['median']:.2f}x ({summary['min']:.2f}-{summary['max']:.2f})"


def print_report(report: dict) -> None:
    m = report["machine"]
    torch_info = m.get("torch", {})
    flags = [f for f, present in m["cpu_flags"].items() if present]
    print(
        f"machine: {m['cpu']}, {m['usable_cores']} usable cores, flags {' '.join(flags) or '-'}; torch "
        f"{m['versions']['torch']} ({torch_info.get('parallel_backend')}, default {torch_info.get('threads')} "
        f"threads); load average {m['load_average']} before, {m['load_average_after']} after"
    )
    print(
        f"{report['tokens']} text tokens per output, EOS ignored, greedy; {report['args']['repeats']} "
        "repetitions, interleaved; rates: median [spread = (max-min)/median], ratios: median (min-max)"
    )
    print(
        f"resolver answer cache and embedder query cache off: every run resolves its own lookups; "
        f"fuzzy index and embedder loaded before timing ({report['fuzzy_load_s']} s)"
    )
    for setting, agreement in report["agreement_demo"].items():
        print(
            f"demo model, {setting} settings: "
            + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in agreement.items())
        )
    for r in report["results"]:
        print(
            f"\n{r['model']} ({r['parameters'] / 1e6:.1f}M parameters), lookups per output {r['lookups_per_output']}"
        )
        labels = list(report["threads"])
        for setting in report["settings"]:
            print(
                f"  {setting} settings {report['settings'][setting] or '(defaults)'}; ours == reference (b1): {_counts(r['ours_b1_equals_reference'][setting])}"
            )
            header = "".join(f" | {label + ' text tok/s':>24} {'output tok/s':>14}" for label in labels)
            print(f"    {'run':<14}{header} | resolver")
            for variant in dict.fromkeys(row["variant"] for row in r["rows"]):
                cells, share = "", "-"
                for label in labels:
                    row = next(
                        x
                        for x in r["rows"]
                        if (x["setting"], x["threads"], x["variant"]) == (setting, label, variant)
                    )
                    cells += f" | {_cell(row.get('text_per_s')):>24} {_cell(row['output_per_s']):>14}"
                    share = f"{row['resolver_share']:.1%}" if "lookups" in row else share
                print(f"    {variant:<14}{cells} | {share}")
        print("  ratios (paired within a repetition)")
        for name in dict.fromkeys((x["setting"], x["ratio"]) for x in r["ratios"]):
            cells = "".join(
                f" | {label}: {_ratio(next(x for x in r['ratios'] if (x['setting'], x['ratio'], x['threads']) == (*name, label)))}"
                for label in labels
            )
            print(f"    [{name[0]}] {name[1]:<52}{cells}")
        if r["thread_speedup"]:
            print("  speed at more threads / speed at the first thread count (paired)")
        for row in r["thread_speedup"]:
            print(f"    [{row['setting']}] {row['variant']:<14} {row['threads']}: {_ratio(row)}")
