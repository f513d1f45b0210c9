"""The LMLM model and lookup decoding. Sees the knowledge graph only through a lookup callable.

Importing this package imports torch and transformers.
"""

from .generation import DecodingArgs, LookupDecoder, LookupFn, RowFinished, TextDelta
from .lmlm import LMLM, LMLMMixin, as_lmlm
from .results import GenerationOutput, LookupRecord, post_process

__all__ = [
    "LMLM",
    "DecodingArgs",
    "GenerationOutput",
    "LMLMMixin",
    "LookupDecoder",
    "LookupFn",
    "LookupRecord",
    "RowFinished",
    "TextDelta",
    "as_lmlm",
    "post_process",
]
