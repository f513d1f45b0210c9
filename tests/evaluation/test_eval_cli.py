"""``lmlm eval``'s parser: light to build, and the unlearn command's settings from file and flags."""

from __future__ import annotations

import json
import subprocess
import sys

from lmlm.cli import build_parser
from lmlm.cli.eval import unlearn_config


def test_building_the_parser_imports_no_torch():
    code = "import sys; from lmlm.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_unlearn_flags_override_the_config_file(tmp_path):
    config = tmp_path / "unlearn.json"
    config.write_text(json.dumps({"out_dir": "runs/u", "epochs": 3, "splits": ["forget_05"]}))
    args = build_parser().parse_args(["eval", "unlearn", "--config", str(config), "--lr", "0.001"])
    settings = unlearn_config(args)
    assert (settings.epochs, settings.splits, settings.lr, settings.out_dir) == (
        3,
        ("forget_05",),
        0.001,
        "runs/u",
    )
    args = build_parser().parse_args(["eval", "unlearn", "--quick", "--out", "x", "--splits", "forget_01"])
    quick = unlearn_config(args)
    assert quick.splits == ("forget_01",) and quick.reference_max_steps > 0 and quick.out_dir == "x"
