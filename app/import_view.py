"""Bulk import of an uploaded file, with progress (reading, writing, indexing) and the import's report.

The file is read and checked whole before anything is written (as ``lmlm kg import``): a malformed
file adds nothing, and the message names its line or record.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from lmlm.app import regenerate, render, state, views
from lmlm.kg.errors import InputFormatError
from lmlm.kg.formats import FORMATS, ReadReport, read_triples

if TYPE_CHECKING:
    from lmlm.app.resources import GraphHandle
    from lmlm.kg import Triple

TYPES = ["jsonl", "ndjson", "json", "csv"]
PROGRESS_EVERY = 1000


def read_upload(upload, fmt: str | None, strict: bool, progress) -> tuple[list[Triple], ReadReport | None]:
    """Every triple of the uploaded file (error messages name the file as uploaded)."""
    name = Path(upload.name).name or "upload"
    with tempfile.TemporaryDirectory(prefix="lmlm-import-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(upload.getvalue())
        report = None if strict else ReadReport()
        triples = []
        try:
            for triple in read_triples(path, fmt, report):
                triples.append(triple)
                if len(triples) % PROGRESS_EVERY == 0:
                    progress(len(triples))
        except InputFormatError as e:  # the reader's errors: file, line or record, problem
            raise InputFormatError(name, e.location, e.problem.replace(str(path), name)) from e
        except (ValueError, OSError) as e:
            raise type(e)(str(e).replace(str(path), name)) from e
    return triples, report


def import_panel(handle: GraphHandle, settings: state.Settings) -> None:
    upload = st.file_uploader("Facts file (JSONL, CSV, the paper's JSON)", type=TYPES, key="import_file")
    fmt = st.selectbox("Format", ["detect", *FORMATS], key="import_format")
    strict = st.checkbox("Stop at the first annotation that does not parse", value=True, key="import_strict")
    if not st.button("Import", disabled=upload is None, key="import_go"):
        return
    with (
        views.reported(),
        st.status(f"Importing {render.escape_markdown(upload.name)} ...", expanded=True) as status,
    ):
        bar = st.progress(0.0, text="reading ...")
        triples, read_report = read_upload(
            upload,
            None if fmt == "detect" else fmt,
            strict,
            lambda n: bar.progress(0.3, text=f"read {n:,} facts"),
        )
        bar.progress(0.4, text=f"read {len(triples):,} facts; writing them to the store ...")
        indexed = handle.kg.fuzzy_index_loaded
        done = {}

        def work(kg):
            done["report"] = kg.import_triples(triples, summary=f"import {upload.name}")
            return []

        regenerate.apply_edit(settings, work, f"import {upload.name}")
        bar.progress(
            1.0,
            text="written" + (" and indexed" if indexed else "; the fuzzy index catches up on its next use"),
        )
        status.update(label=f"Imported {render.escape_markdown(upload.name)}", state="complete")
        st.json(done["report"].to_dict())
        if read_report is not None and read_report.problems:
            st.warning(render.escape_markdown(read_report.summary()))
