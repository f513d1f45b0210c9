"""The annotation prompts: templates versioned by id, and few-shot examples the user can replace.

A prompt is a system message, then each few-shot example as a user turn (the raw text) and an
assistant turn (its annotation), then the text to annotate as the last user turn. Every output
record stores the prompt's id, so an annotated corpus says which instructions produced it.

* ``lmlm-v1``: for general instruct models (GPT-4o, a Llama served by vLLM ...): the rules below and
  the examples of ``few_shot_v1.jsonl`` (or a file of the user's: ``--examples FILE``; the id then
  names the file and its hash, ``lmlm-v1+my-examples-1a2b3c4d``).
* ``lmlm-sft-v1``: the prompt ``lmlm train annotator`` fine-tunes with (no examples): an annotator
  trained there must be asked the way it was trained.

An examples file is JSONL (or the paper's annotated-document JSON) of ``{"text", "annotated_text"}``;
each example is checked on loading: its calls must parse and removing them must give back its text.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from lmlm.kg.errors import InputFormatError
from lmlm.kg.syntax import format_annotated_call, parse_annotated, strip_lookups

DEFAULT_PROMPT = "lmlm-v1"
SFT_PROMPT = "lmlm-sft-v1"
AUTO = "auto"
_DEFAULT_EXAMPLES = "few_shot_v1.jsonl"


@dataclass(frozen=True)
class FewShotExample:
    text: str
    annotated: str


@dataclass(frozen=True)
class PromptTemplate:
    """A system message and few-shot examples; :meth:`messages` renders the chat for one text."""

    id: str
    system: str
    examples: tuple[FewShotExample, ...] = ()

    def messages(self, text: str) -> list[dict[str, str]]:
        turns = [{"role": "system", "content": self.system}]
        for example in self.examples:
            turns.append({"role": "user", "content": example.text})
            turns.append({"role": "assistant", "content": example.annotated})
        turns.append({"role": "user", "content": text})
        return turns


def _rules() -> str:
    call = format_annotated_call("Entity", "Relation", "Value")
    return (
        "You annotate text for a language model that looks its facts up in a knowledge graph instead "
        "of memorising them.\n\n"
        "Return the user's text exactly as given: every word, number, punctuation mark and line break "
        "unchanged, nothing added, removed, corrected or reordered, and nothing written before or after "
        "it. Only insert lookup calls into it. A lookup call is written\n"
        f"{call}\n"
        "and goes immediately before the words of the text that state the value, followed by one space; "
        "those words stay in the text after the call.\n\n"
        "Rules:\n"
        "1. Place each call right before the value's words, never after them. Annotate facts stated "
        "about an entity: people, places, organisations, dates, numbers, titles, occupations, works.\n"
        "2. Entity: the full name of the entity the fact is about, even where the text says 'he', "
        "'she', 'it', 'the company' or a short name.\n"
        "3. Relation: a short, general relation name in title case ('Place of Birth', 'Employer', "
        "'Date of Birth', 'Population'), the same name each time the same kind of fact appears, not "
        "words copied from the sentence.\n"
        "4. Value: concise and canonical: the name, date or number itself, without articles or the "
        "words around it.\n"
        "5. Do not annotate the first mention of the entity itself, opinions, or anything the text "
        "does not state. When unsure, leave the text as it is.\n"
        "6. Quote entity and relation with single quotes; write an apostrophe inside them as \\'."
    )


def _sft_system() -> str:
    from lmlm.train.annotator import ANNOTATOR_SYSTEM_PROMPT  # torch-free: the training prompt itself

    return ANNOTATOR_SYSTEM_PROMPT


def load_examples(path: str | os.PathLike) -> tuple[FewShotExample, ...]:
    """The few-shot examples of ``path`` (JSONL, or the paper's JSON), each checked."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise InputFormatError(str(path), "file", e.strerror or str(e)) from e
    records = _example_records(path, raw)
    examples = tuple(_check_example(path, where, record) for where, record in records)
    if not examples:
        raise InputFormatError(str(path), "file", "no examples")
    return examples


def _example_records(path: Path, raw: str) -> list[tuple[str, object]]:
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as e:
            raise InputFormatError(str(path), f"line {e.lineno}", f"invalid JSON: {e.msg}") from e
        items = data.get("examples") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise InputFormatError(str(path), "top level", "expected a list or an object with 'examples'")
        return [(f"examples[{i}]", item) for i, item in enumerate(items)]
    records = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if line.strip():
            try:
                records.append((f"line {number}", json.loads(line)))
            except json.JSONDecodeError as e:
                raise InputFormatError(str(path), f"line {number}", f"invalid JSON: {e.msg}") from e
    return records


def _check_example(path: Path, where: str, record: object) -> FewShotExample:
    if not isinstance(record, dict):
        raise InputFormatError(str(path), where, "expected an object with 'text' and 'annotated_text'")
    text, annotated = record.get("text"), record.get("annotated_text")
    if not isinstance(annotated, str) or not annotated.strip():
        raise InputFormatError(str(path), where, "'annotated_text' must be a non-empty string")
    parsed = parse_annotated(annotated, where)
    if parsed.problems:
        raise InputFormatError(str(path), where, f"a call does not parse: {parsed.problems[0].describe()}")
    if not parsed.calls:
        raise InputFormatError(str(path), where, "'annotated_text' has no lookup call")
    stripped = strip_lookups(annotated)
    if text is None:
        text = stripped
    if not isinstance(text, str) or text != stripped:
        raise InputFormatError(
            str(path), where, "removing the calls from 'annotated_text' does not give back 'text'"
        )
    return FewShotExample(text, annotated)


def _file_tag(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
    return f"{path.stem}-{digest}"


def builtin_prompt_ids() -> tuple[str, ...]:
    return (DEFAULT_PROMPT, SFT_PROMPT)


def get_prompt(prompt_id: str = DEFAULT_PROMPT, examples: str | os.PathLike | None = None) -> PromptTemplate:
    """The template ``prompt_id``; ``examples`` (a file) replaces its few-shot examples."""
    if prompt_id == DEFAULT_PROMPT:
        system = _rules()
        default = resources.files("lmlm.annotation") / _DEFAULT_EXAMPLES
        shots = load_examples(Path(str(default)))
    elif prompt_id == SFT_PROMPT:
        system, shots = _sft_system(), ()
    else:
        raise ValueError(f"--prompt must be one of {', '.join(builtin_prompt_ids())}, got {prompt_id!r}")
    if examples:
        shots = load_examples(examples)
        return PromptTemplate(f"{prompt_id}+{_file_tag(Path(examples))}", system, shots)
    return PromptTemplate(prompt_id, system, shots)
