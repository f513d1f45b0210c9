"""The LMLM model and lookup decoding. Sees the knowledge graph only through a lookup callable
(:mod:`lmlm.model.answers`). Load a model with :func:`lmlm.load_lmlm`.

Names load on first use (PEP 562): ``import lmlm.model.decoding_args`` (what ``lmlm generate``
builds its flags from) imports no torch; ``LMLM``, ``LookupDecoder`` and the rest import torch and
transformers when first touched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lmlm._lazy import lazy_names

if TYPE_CHECKING:
    from .answers import Answer, LookupFn
    from .decoding_args import DecodingArgs
    from .generation import LookupDecoder, RowFinished, TextDelta
    from .lmlm import LMLM
    from .lookup_state import LookupTokenIds
    from .results import GenerationOutput, LookupRecord, post_process

_EXPORTS = {
    "Answer": ".answers",
    "LookupFn": ".answers",
    "DecodingArgs": ".decoding_args",
    "GenerationOutput": ".results",
    "LMLM": ".lmlm",
    "LookupDecoder": ".generation",
    "LookupRecord": ".results",
    "LookupTokenIds": ".lookup_state",
    "RowFinished": ".generation",
    "TextDelta": ".generation",
    "post_process": ".results",
}

__all__ = [
    "LMLM",
    "Answer",
    "DecodingArgs",
    "GenerationOutput",
    "LookupDecoder",
    "LookupFn",
    "LookupRecord",
    "LookupTokenIds",
    "RowFinished",
    "TextDelta",
    "post_process",
]


__getattr__, __dir__ = lazy_names(__name__, _EXPORTS, globals())
