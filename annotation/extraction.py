"""From accepted annotations to a training corpus and a knowledge graph.

The accepted chunks go through the cleaning filters of ``lmlm data clean``
(:func:`lmlm.train.corpus.clean_documents`: length, ratio, lookup density, redundant lookups,
duplicates); the kept ones are written as a pretraining corpus, and their lookups become triples
with provenance: ``source`` is the document id, ``annotator`` is ``MODEL@PROMPT_ID``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from lmlm.kg.facts import Triple
from lmlm.kg.formats import write_jsonl
from lmlm.kg.syntax import iter_pretraining_lookups
from lmlm.train.corpus import CleanConfig, CleanReport, Document, clean_documents, write_documents
from lmlm.train.lookup_text import to_token_text

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Extraction:
    clean: CleanReport | None  # None when cleaning was turned off
    documents: int  # chunks in the corpus
    triples: list[Triple]


def annotator_name(model_id: str, prompt_id: str) -> str:
    """The provenance every extracted triple carries: which model, asked with which prompt."""
    return f"{model_id}@{prompt_id}"


def records_to_documents(records: Iterable[dict]) -> Iterator[tuple[Document, dict]]:
    """Each accepted record as a corpus Document (annotated text in the token format)."""
    for record in records:
        annotated, _, _ = to_token_text(record["annotated_text"], record["id"])
        yield Document(record["id"], record["text"], annotated, record.get("original_dataset", "")), record


def extract(
    records: Iterable[dict], clean: CleanConfig | None, corpus_path: Path, triples_path: Path
) -> Extraction:
    """Clean (unless ``clean`` is None), write the corpus and the triples; returns what was kept."""
    pairs = list(records_to_documents(records))
    by_id = {doc.id: record for doc, record in pairs}
    docs = [doc for doc, _ in pairs]
    report = None
    if clean is not None:
        docs, report = clean_documents(docs, clean)
    write_documents(docs, corpus_path)
    triples = [triple for doc in docs for triple in _triples(doc, by_id[doc.id])]
    write_jsonl(triples, triples_path)
    logger.info("corpus of %d chunks, %d triples", len(docs), len(triples))
    return Extraction(report, len(docs), triples)


def _triples(doc: Document, record: dict) -> Iterator[Triple]:
    annotator = annotator_name(record.get("model_id", ""), record.get("prompt_id", ""))
    source = record.get("document_id", doc.id)
    for call in iter_pretraining_lookups(doc.annotated):
        yield Triple(call.entity, call.relation, call.value, source, annotator)


def import_into_store(
    location: str, triples: list[Triple], summary: str, show_progress: bool = False
) -> dict:
    """Add ``triples`` to the store at ``location`` (a directory or a bolt:// URI) as one change."""
    from lmlm.kg import KnowledgeGraph

    with KnowledgeGraph.open(location) as kg:
        report = kg.import_triples(triples, summary=summary, progress=show_progress)
    return report.to_dict()
