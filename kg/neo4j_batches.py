"""Changes the Neo4j store writes in batches, one write transaction each: bulk imports, and undoing
a change of more than ``change_batch_size`` facts (a large import), which as one transaction would
outgrow the server's transaction memory (about 60k facts on a 1 GB heap).

Each follows :mod:`lmlm.kg.changes`: the change is recorded ``running`` before its first batch, each
batch counts itself in the record in its own transaction, and the change is marked ``complete`` only
after the last. A failure marks it ``interrupted``; a killed process leaves it ``running``. Either way
the record says exactly how many batches committed, and undoing it removes them.

``write(work, *args)`` is the store's: it runs ``work(tx, *args)`` in one retried write transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sized
from dataclasses import replace

from . import neo4j_tx
from .changes import COMPLETE, INTERRUPTED, RUNNING, Change, ChangeDraft, ImportReport
from .errors import ChangeInterruptedError, ImportInterruptedError, KnowledgeStoreError
from .facts import Fact, Triple, fact_id_from_keys, normalize_key
from .neo4j_tx import FactBatch

logger = logging.getLogger(__name__)

Write = Callable[..., object]


def import_batched(
    write: Write, triples: Iterable[Triple], summary: str, batch_size: int, *, progress: bool
) -> ImportReport:
    """Import ``triples`` as one change in batches of ``batch_size`` input rows (see the module).

    A failure part-way (reading the input or writing a batch) raises ImportInterruptedError, whose
    ``report`` says how many batches committed; they stay and carry the change id, so ``undo``
    removes them.
    """
    from tqdm import tqdm

    start = time.perf_counter()
    total_rows = len(triples) if isinstance(triples, Sized) else None
    total_batches = -(-total_rows // batch_size) if total_rows is not None else None
    now = time.time()
    record = Change(
        0, "import", summary, now, state=RUNNING, committed_batches=0, total_batches=total_batches
    )
    record = replace(record, id=write(neo4j_tx.create_change, record))
    seen: set[str] = set()
    read = pending = 0
    batch = FactBatch()
    bar = tqdm(total=total_rows, desc="import", unit=" facts", disable=not progress, mininterval=0.5)
    try:
        for triple in triples:
            read += 1
            pending += 1
            ek, rk, vk = (normalize_key(text) for text in (triple.entity, triple.relation, triple.value))
            fact_id = fact_id_from_keys(ek, rk, vk)
            if fact_id not in seen:
                seen.add(fact_id)
                batch.add(fact_id, triple, rk, now, record.id, ek, vk)
            if pending == batch_size:
                record = _commit_import_batch(write, batch, record)
                bar.update(pending)
                batch, pending = FactBatch(), 0
        if pending:
            record = _commit_import_batch(write, batch, record)
            bar.update(pending)
    except (Exception, KeyboardInterrupt) as e:
        bar.close()
        committed, added = record.committed_batches, record.added_count
        total = total_batches if total_batches is not None else committed + 1
        _finish(write, replace(record, state=INTERRUPTED))
        note = f"stopped after {committed} of {'' if total_batches is not None else 'at least '}{total} batches committed"
        raise ImportInterruptedError(
            f"import {note} (change {record.id}, marked interrupted, {added} facts; `undo {record.id}` "
            f"removes them): {type(e).__name__}: {one_line(e)}",
            ImportReport(record.id, read, added, read - added, committed, total, time.perf_counter() - start),
        ) from e
    bar.close()
    record = replace(record, state=COMPLETE, total_batches=record.committed_batches)
    _finish(write, record)
    seconds = time.perf_counter() - start
    added, committed = record.added_count, record.committed_batches
    logger.info("imported %d of %d facts in %d batches (%.1f s)", added, read, committed, seconds)
    return ImportReport(record.id, read, added, read - added, committed, committed, seconds)


def _commit_import_batch(write: Write, batch: FactBatch, record: Change) -> Change:
    """Write one batch and its count in the change record, in one transaction; the record after."""
    progress = replace(record, committed_batches=record.committed_batches + 1)
    added = write(neo4j_tx.merge_import_batch, batch, progress)
    return replace(progress, added_count=progress.added_count + added)


def apply_batched(write: Write, draft: ChangeDraft, batch_size: int, resume: Change | None = None) -> Change:
    """A large change without aliases (undoing a large import) in batches of ``batch_size`` facts:
    removals first, then additions, each batch one transaction that lists its facts in a ChangePart
    and counts itself in the change record. The change it undoes is marked undone only at the end;
    one stopped part-way is marked interrupted (ChangeInterruptedError). With ``resume`` (such a
    change, stopped) the batches go on under it, numbered after the ones it has. Returns the change
    with the facts of this call's batches."""
    now = time.time()
    removals = [draft.removed[i : i + batch_size] for i in range(0, len(draft.removed), batch_size)]
    new = draft.new_facts(now)
    additions = [new[i : i + batch_size] for i in range(0, len(new), batch_size)]
    if resume is None:
        batches = len(removals) + len(additions)
        record = Change(0, draft.op, draft.summary, now, undoes=draft.undoes, state=RUNNING)
        record = replace(record, committed_batches=0, total_batches=batches)
        record = replace(record, id=write(neo4j_tx.create_change, record))
    else:
        done = resume.committed_batches or 0
        record = replace(
            resume, state=RUNNING, committed_batches=done, total_batches=done + len(removals) + len(additions),
            removed=(), added=(),
        )  # fmt: skip
    stored: list[Fact] = []
    try:
        for facts in removals:
            progress = replace(
                record,
                committed_batches=record.committed_batches + 1,
                removed_count=record.removed_count + len(facts),
            )
            write(neo4j_tx.remove_part, record.id, progress.committed_batches, facts, progress)
            record = progress
        for facts in additions:
            progress = replace(record, committed_batches=record.committed_batches + 1)
            stored += write(neo4j_tx.add_part, record.id, progress.committed_batches, facts, progress)
            record = replace(progress, added_count=progress.added_count + len(facts))
    except (Exception, KeyboardInterrupt) as e:
        record = replace(record, state=INTERRUPTED)
        _finish(write, record)
        raise ChangeInterruptedError(
            f"{draft.summary} stopped: change {record.id} is {record.progress_note()}; `undo {draft.undoes}` "
            f"again resumes it, `undo {record.id}` reverts it: {type(e).__name__}: {one_line(e)}",
            record.id,
        ) from e
    record = replace(record, state=COMPLETE)
    write(neo4j_tx.finish_change, record)
    return replace(record, removed=tuple(draft.removed), added=tuple(stored))


def _finish(write: Write, record: Change) -> None:
    """Record a batched change's final state; if that write fails, its batches stay counted."""
    try:
        write(neo4j_tx.finish_change, record)
    except KnowledgeStoreError:
        logger.warning("could not mark change %d %s (%s)", record.id, record.state, record.progress_note())


def one_line(e: BaseException) -> str:
    """An error as one line: the server's message for a server error, else the error's text."""
    from neo4j.exceptions import Neo4jError

    text = (e.message if isinstance(e, Neo4jError) else None) or str(e) or type(e).__name__
    return " ".join(str(text).split())
