"""The annotation pipeline: raw text -> validated annotations -> cleaned corpus -> triples -> store.

:func:`annotate` reads the inputs, cuts them into chunks, skips the chunks an earlier run finished
(``resume``), sends the rest to the backend with ``concurrency`` requests (or batches) in flight,
validates each response as it comes back and appends it to the output directory at once
(:mod:`.output`), then cleans and extracts the whole directory's annotations (:mod:`.extraction`),
imports the triples into ``store`` when one is given, and writes ``report.json``.

A crash, a kill or Ctrl-C loses only the requests in flight: everything validated is on disk, and
``resume`` continues where the run stopped.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from lmlm.train.corpus import CleanConfig

from .backends import Backend, BackendConfig, Completion, Request, make_backend, resolve_model
from .extraction import annotator_name, extract, import_into_store
from .inputs import Chunk, InputConfig, chunk_document, read_documents, token_counter, word_counter
from .output import CLEAN, PAPER_JSON, REPORT, TRIPLES, RunDirectory, now, write_json_atomic
from .prompts import AUTO, DEFAULT_PROMPT, SFT_PROMPT, PromptTemplate, get_prompt
from .report import RunStats, summarize_directory
from .validation import REJECTED, ValidationConfig, validate_annotation

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunConfig:
    """Where the run writes and what it does after annotating; every field is a flag."""

    out: str = field(default="", metadata={"help": "output directory (see lmlm.annotation.output)"})
    prompt: str = field(
        default=AUTO,
        metadata={
            "help": f"prompt id: {DEFAULT_PROMPT}, {SFT_PROMPT} (what `lmlm train annotator` trains with), "
            f"or auto ({SFT_PROMPT} for an adapter, else {DEFAULT_PROMPT})"
        },
    )
    examples: str = field(default="", metadata={"help": "few-shot examples file replacing the prompt's"})
    resume: bool = field(default=False, metadata={"help": "continue the run in --out, skipping finished ids"})
    limit: int = field(default=0, metadata={"help": "annotate at most this many chunks now (0: all)"})
    clean: bool = field(default=True, metadata={"help": "apply the cleaning filters of `lmlm data clean`"})
    store: str = field(
        default="", metadata={"help": "import the triples into this store (directory or bolt:// URI)"}
    )

    def __post_init__(self) -> None:
        if not self.out:
            raise ValueError("--out is required")
        if self.limit < 0:
            raise ValueError(f"--limit must be >= 0, got {self.limit}")


def choose_prompt(run: RunConfig, backend: BackendConfig | Backend | None) -> PromptTemplate:
    """``auto``: the fine-tuning prompt for an annotator trained by ``lmlm train annotator``."""
    prompt_id = run.prompt
    if prompt_id == AUTO:
        if isinstance(backend, BackendConfig):
            local = backend.backend != "openai"
            adapter = local and resolve_model(backend.model, backend.adapter).adapter
        else:
            adapter = getattr(backend, "adapter", "")
        prompt_id = SFT_PROMPT if adapter else DEFAULT_PROMPT
    return get_prompt(prompt_id, run.examples or None)


def annotate(
    inputs: Sequence[str | Path],
    run: RunConfig,
    backend: BackendConfig | Backend,
    *,
    inputs_config: InputConfig | None = None,
    validation: ValidationConfig | None = None,
    clean: CleanConfig | None = None,
    show_progress: bool = False,
) -> dict:
    """Annotate ``inputs`` into ``run.out``; returns the report (also written to ``report.json``).

    ``backend`` is a config (the backend is built, used and closed here) or a ready backend.
    """
    inputs_config = inputs_config or InputConfig()
    backend_config = backend if isinstance(backend, BackendConfig) else None
    prompt = choose_prompt(run, backend)
    live = make_backend(backend) if backend_config else backend
    settings = _settings(live, prompt, inputs_config, inputs)
    directory = RunDirectory.open(run.out, settings, run.resume)
    counter = _counter(inputs_config, backend_config)
    stats = RunStats(backend_config.cost if backend_config else _no_cost)

    def pending() -> Iterator[Chunk]:
        return _pending(inputs, inputs_config, counter, directory.finished, run.limit)

    total = sum(1 for _ in pending()) if show_progress else None
    work = _run(
        live, prompt, pending(), directory, validation or ValidationConfig(), stats, total, show_progress
    )
    try:
        asyncio.run(_closing(work, live if backend_config else None))
    finally:
        directory.close()
        stats.backend = live.stats()
    return _finish(directory, run, stats, clean or CleanConfig(), inputs, show_progress)


def _no_cost(_prompt_tokens: int, _completion_tokens: int) -> float:
    return 0.0


async def _closing(work, backend: Backend | None) -> None:
    """Run ``work``, then close ``backend`` (when we built it) in the same event loop."""
    try:
        await work
    finally:
        if backend is not None:
            await backend.aclose()


def _settings(backend: Backend, prompt: PromptTemplate, config: InputConfig, inputs) -> dict:
    rendered = json.dumps(prompt.messages(""), ensure_ascii=False, sort_keys=True)
    return {
        "model_id": backend.model_id,
        "prompt_id": prompt.id,
        "prompt_sha256": hashlib.sha256(rendered.encode()).hexdigest(),
        "chunking": asdict(config),
        "inputs": [str(p) for p in inputs],
    }


def _counter(config: InputConfig, backend: BackendConfig | None):
    if config.chunk_by == "words" or not config.chunk_size:
        return word_counter
    name = config.chunk_tokenizer
    if not name and backend is not None and backend.backend != "openai":
        name = resolve_model(backend.model, backend.adapter).tokenizer
    if not name:
        raise ValueError(
            "--chunk-by tokens needs --chunk-tokenizer (a Hugging Face tokenizer) with this backend"
        )
    from transformers import AutoTokenizer

    return token_counter(AutoTokenizer.from_pretrained(name))


def _pending(inputs, config: InputConfig, counter, finished: set[str], limit: int) -> Iterator[Chunk]:
    """The chunks still to annotate, in input order (at most ``limit`` when > 0)."""
    n = 0
    for doc in read_documents(inputs, config):
        for chunk in chunk_document(doc, config.chunk_size, counter):
            if chunk.id in finished:
                continue
            if limit and n >= limit:
                return
            n += 1
            yield chunk


async def _run(
    backend, prompt, chunks: Iterable[Chunk], directory, validation, stats, total, show_progress
) -> None:
    """Producer -> ``backend.concurrency`` workers; each result is validated and written at once."""
    queue: asyncio.Queue = asyncio.Queue(maxsize=2 * backend.concurrency)
    bar = tqdm(total=total, unit="req", desc="annotating", disable=not show_progress, dynamic_ncols=True)
    stats.start()

    async def produce() -> None:
        batch: list[Chunk] = []
        for chunk in chunks:
            batch.append(chunk)
            if len(batch) == backend.batch_size:
                await queue.put(batch)
                batch = []
        if batch:
            await queue.put(batch)
        for _ in range(backend.concurrency):
            await queue.put(None)

    async def work() -> None:
        while (batch := await queue.get()) is not None:
            requests = [Request(c.id, c.text, tuple(prompt.messages(c.text))) for c in batch]
            stats.sent += len(requests)
            completions = await backend.complete(requests)
            for chunk, completion in zip(batch, completions):
                _record(chunk, completion, directory, prompt, validation, stats)
            bar.update(len(batch))
            bar.set_postfix(stats.postfix(), refresh=False)

    tasks = [asyncio.ensure_future(produce())] + [
        asyncio.ensure_future(work()) for _ in range(backend.concurrency)
    ]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        stats.stop()
        bar.close()


def _record(chunk: Chunk, completion: Completion, directory: RunDirectory, prompt, validation, stats) -> None:
    stats.add_usage(completion)
    if completion.error:
        stats.fail(chunk.id, completion.error)
        return
    verdict = validate_annotation(chunk.text, completion.text, chunk.id, validation)
    record = {
        "id": chunk.id,
        "document_id": chunk.document_id,
        "chunk": chunk.index,
        "chunks": chunk.count,
        "start": chunk.start,
        "end": chunk.end,
        "text": chunk.text,
        "model_id": directory.settings["model_id"],
        "prompt_id": prompt.id,
        "original_dataset": chunk.dataset,
        "original_dataset_ids": [chunk.document_id],
        "processing_timestamp": now(),
        "validation": verdict.to_dict(),
        "usage": {
            "prompt_tokens": completion.prompt_tokens,
            "completion_tokens": completion.completion_tokens,
        },
        "finish_reason": completion.finish_reason,
    }
    if verdict.status == REJECTED:
        directory.write(record | {"response": completion.text}, accepted=False)
    else:
        directory.write(record | {"annotated_text": verdict.annotated}, accepted=True)
    stats.add_verdict(verdict)


def _finish(
    directory: RunDirectory, run: RunConfig, stats: RunStats, clean: CleanConfig, inputs, show_progress: bool
) -> dict:
    directory.write_paper_json()
    root = directory.root
    extraction = extract(directory.accepted(), clean if run.clean else None, root / CLEAN, root / TRIPLES)
    imported = None
    if run.store:
        summary = f"lmlm annotate {root.name}"
        imported = import_into_store(run.store, extraction.triples, summary, show_progress)
    report = {
        "out": str(root),
        "inputs": [str(p) for p in inputs],
        "model_id": directory.settings["model_id"],
        "prompt_id": directory.settings["prompt_id"],
        "annotator": annotator_name(directory.settings["model_id"], directory.settings["prompt_id"]),
        "this_run": stats.to_dict(),
        "directory": summarize_directory(directory, stats.cost_of),
        "clean": extraction.clean.to_dict() if extraction.clean else None,
        "corpus_chunks": extraction.documents,
        "triples": len(extraction.triples),
        "store": {"location": run.store, **imported} if imported is not None else None,
        "files": {name: str(root / name) for name in (PAPER_JSON, CLEAN, TRIPLES, REPORT)},
        "finished": now(),
    }
    write_json_atomic(root / REPORT, report)
    logger.info("annotation report written to %s", root / REPORT)
    return report
