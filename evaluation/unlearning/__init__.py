"""TOFU-style unlearning on the generated world: an LMLM forgets by deleting facts from its store,
the usual baselines fine-tune weights (``lmlm eval unlearn``). See :mod:`.experiment`."""

from .config import UnlearnConfig
from .metrics import forget_quality, harmonic_mean, rouge_l_recall, truth_ratio, truth_score


def __getattr__(name: str):
    if name == "run_unlearning":  # imports torch: only when asked for (``lmlm --help`` stays light)
        from .experiment import run_unlearning

        return run_unlearning
    raise AttributeError(name)


__all__ = [
    "UnlearnConfig",
    "forget_quality",
    "harmonic_mean",
    "rouge_l_recall",
    "run_unlearning",
    "truth_ratio",
    "truth_score",
]
