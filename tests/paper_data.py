"""Where the paper's released samples are: ``shared/data/lmlm-paper`` beside the checkout (also in CI).

Tests that read them skip, saying so, when a clone sits elsewhere (e.g. under /tmp).
"""

from pathlib import Path

PAPER_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "lmlm-paper"
