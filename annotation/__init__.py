"""Annotation: raw text -> annotated text -> cleaned corpus -> knowledge graph.

```python
from lmlm.annotation import BackendConfig, RunConfig, annotate

report = annotate(
    ["docs.jsonl"],
    RunConfig(out="runs/annotated", store="./my-kg"),
    BackendConfig(backend="openai", model="gpt-4o-mini", concurrency=16),
)
```

Backends (:mod:`.backends`): an OpenAI-compatible endpoint, a local Hugging Face model with the
adapter of ``lmlm train annotator``, vLLM. Prompts (:mod:`.prompts`), validation and repair
(:mod:`.validation`), the output directory (:mod:`.output`), cleaning and extraction
(:mod:`.extraction`). Importing this package loads neither torch nor openai.
"""

from .backends import BACKENDS, Backend, BackendConfig, Completion, Request, make_backend
from .inputs import Chunk, InputConfig, SourceDocument, chunk_document, read_documents
from .pipeline import RunConfig, annotate, choose_prompt
from .prompts import DEFAULT_PROMPT, SFT_PROMPT, FewShotExample, PromptTemplate, get_prompt, load_examples
from .validation import EXACT, REJECTED, REPAIRED, Validation, ValidationConfig, validate_annotation

__all__ = [
    "BACKENDS",
    "DEFAULT_PROMPT",
    "EXACT",
    "REJECTED",
    "REPAIRED",
    "SFT_PROMPT",
    "Backend",
    "BackendConfig",
    "Chunk",
    "Completion",
    "FewShotExample",
    "InputConfig",
    "PromptTemplate",
    "Request",
    "RunConfig",
    "SourceDocument",
    "Validation",
    "ValidationConfig",
    "annotate",
    "choose_prompt",
    "chunk_document",
    "get_prompt",
    "load_examples",
    "make_backend",
    "read_documents",
    "validate_annotation",
]
