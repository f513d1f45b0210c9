"""TOFU-style unlearning on the generated world: an LMLM forgets by deleting facts from its store,
the usual baselines fine-tune weights (``lmlm eval unlearn``). See :mod:`.experiment`."""

from lmlm._lazy import lazy_names

from .config import UnlearnConfig
from .metrics import forget_quality, harmonic_mean, rouge_l_recall, truth_ratio, truth_score

# run_unlearning imports torch: only when asked for (``lmlm --help`` stays light)
__getattr__, __dir__ = lazy_names(__name__, {"run_unlearning": ".experiment"}, globals())


__all__ = [
    "UnlearnConfig",
    "forget_quality",
    "harmonic_mean",
    "rouge_l_recall",
    "run_unlearning",
    "truth_ratio",
    "truth_score",
]
