"""The unlearning experiment's table (markdown) and its figure: forget quality against model
utility, one point per method and split (the TOFU paper's figure, on the generated world)."""

from __future__ import annotations

import math
from pathlib import Path

MARKERS = {"original": "o", "retain": "*", "delete": "D", "ga": "v", "gd": "^", "npo": "s"}
COLORS = {"lmlm": "C1", "standard": "C0"}
COLUMNS = (
    "split | model | method | forget quality | utility | Δ utility (points) | stated | stated by weights "
    "| via fuzzy path | resolver probe leaks | seconds to forget"
)


def _fmt(value, spec: str = ".3f") -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and spec == "p":
        return f"{value:.2e}" if value < 1e-3 else f"{value:.3f}"
    return format(value, spec) if isinstance(value, float) else str(value)


def markdown_table(rows: list[dict]) -> str:
    lines = [f"| {COLUMNS} |", "|" + " --- |" * (COLUMNS.count("|") + 1)]
    for r in rows:
        cells = [
            f"{r['split']} ({r['forget_people']} people)",
            r["model"],
            r["method"],
            _fmt(r["forget_quality"], "p"),
            _fmt(100 * r["utility"], ".2f"),
            _fmt(r["utility_change_points"], "+.2f"),
            _fmt(r["stated"], ".1%"),
            _fmt(r["stated_by_weights"], ".1%"),
            _fmt(r["through_fuzzy"], ".1%"),
            _fmt(r["fuzzy_probe_leaked"]),
            _fmt(r["seconds"], ".3f") if r["seconds"] is not None else "–",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_markdown(report: dict, path: Path) -> Path:
    cfg = report["config"]
    text = [
        "# Unlearning on the generated world",
        "",
        f"Splits {', '.join(cfg['splits'])}; fine-tuning {cfg['epochs']} epochs at lr {cfg['lr']}, batch "
        f"{cfg['batch_size']}, NPO beta {cfg['npo_beta']}; {cfg['perturbed']} perturbed answers per fact; "
        f"{report['seconds']} s in all.",
        "",
        "Forget quality: KS-test p-value of the truth ratios on the forget facts against the retain "
        "reference (same kind of model, trained without the forget people). Utility: TOFU's harmonic mean "
        "(x 100). Stated: share of forget facts whose greedy continuation holds the value. Seconds to "
        "forget: deleting from the store (the fuzzy index catches up on its next use, timed apart in "
        "unlearning.json) or fine-tuning.",
        "",
        markdown_table(report["rows"]),
        "",
        "![forget quality against utility](unlearning.png)",
        "",
    ]
    path.write_text("\n".join(text), encoding="utf-8")
    return path


def plot_unlearning(report: dict, path: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    fig = Figure(figsize=(7.5, 5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for r in report["rows"]:
        quality = max(r["forget_quality"], 1e-30)
        ax.scatter(
            100 * r["utility"],
            quality,
            marker=MARKERS.get(r["method"], "x"),
            color=COLORS.get(r["model"], "C2"),
            s=70,
            edgecolor="black",
            linewidth=0.5,
        )
        ax.annotate(
            f"{round(100 * r['fraction'])}%",
            (100 * r["utility"], quality),
            fontsize=7,
            xytext=(4, 3),
            textcoords="offset points",
        )
    ax.set_yscale("log")
    ax.axhline(0.05, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("model utility (x 100)")
    ax.set_ylabel("forget quality (KS p-value, log; below 1e-30 drawn at 1e-30)")
    ax.set_title("forget quality vs utility, one point per method and split")
    handles = [Line2D([], [], marker=m, ls="", color="grey", label=k) for k, m in MARKERS.items()]
    handles += [Line2D([], [], marker="o", ls="", color=c, label=k) for k, c in COLORS.items()]
    ax.legend(handles=handles, fontsize=7, loc="best")
    ax.grid(alpha=0.3)
    if not math.isfinite(ax.get_ylim()[0]):
        ax.set_ylim(1e-30, 2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path
