"""The settings of a resolver calibration, apart from the calibration itself: ``lmlm kg`` makes
its ``calibrate`` flags from :class:`CalibrateArgs` at start-up, without importing numpy, tqdm or
the evaluation (:mod:`lmlm.evaluation.calibration`, :mod:`lmlm.evaluation.fuzzy_modes`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


def check_calibration(max_hard: float, wrong_cost: float, per_kind: int) -> None:
    """The flags of a calibration (here and in ``lmlm kg calibrate``), or a ValueError naming one."""
    if not 0.0 <= max_hard <= 1.0:
        raise ValueError(f"--max-hard must be a share in [0, 1], got {max_hard}")
    if wrong_cost < 0:
        raise ValueError(f"--wrong-cost must be >= 0, got {wrong_cost}")
    if per_kind < 1:
        raise ValueError(f"--per-kind must be >= 1, got {per_kind}")


GridName = Literal["full", "quick"]
MIN_FACTS = 20


@dataclass(frozen=True)
class CalibrateArgs:
    """Settings of ``lmlm kg calibrate``; each field is a flag (``max_hard`` -> ``--max-hard``)."""

    max_hard: float = field(
        default=1.0,
        metadata={
            "help": "the largest share of hard negatives (near relations, look-alike names, absent "
            "facts) the chosen setting may answer; 1: no cap"
        },
    )
    wrong_cost: float = field(
        default=1.0, metadata={"help": "what a hard negative answered costs, in missed answers"}
    )
    grid: GridName = field(
        default="quick",
        metadata={
            "help": "settings to try: quick (30: the relation threshold, margin and snapping cosine) or "
            "full (the 864 of fuzzy_modes; about 17x as long)"
        },
    )
    per_kind: int = field(default=300, metadata={"help": "queries of each kind"})
    max_facts: int = field(default=200_000, metadata={"help": "facts read to make queries from (by entity)"})
    seed: int = field(default=0, metadata={"help": "random seed for the sample and the queries"})
    out: str = field(default="", metadata={"help": "directory for calibration.json and calibration.png"})

    def __post_init__(self) -> None:
        check_calibration(self.max_hard, self.wrong_cost, self.per_kind)
        if self.max_facts < MIN_FACTS:
            raise ValueError(f"--max-facts must be >= {MIN_FACTS}, got {self.max_facts}")
