"""Which part of a document each token is: text, the lookup's entity or relation, or a value.

A document in the pretraining token format::

    born in <|db_entity|> Ko Itakura<|db_relationship|> Birthplace<|db_return|> Yokohama<|db_end|> Yokohama.
           ^ENTITY---------------------^RELATION-------------------------------^GIVEN--------------^VALUE--^TEXT

* ``ENTITY``: the space token written before the opener (it exists only because of the lookup),
  ``<|db_entity|>`` and the entity's tokens;
* ``RELATION``: ``<|db_relationship|>``, the relation's tokens and ``<|db_return|>``;
* ``GIVEN``: the value the store returns and ``<|db_end|>`` (the model never predicts them: they
  are masked in training, and at inference the store writes them); never scored;
* ``VALUE``: the value as the text writes it after the lookup (``Yokohama``, the ``engineer`` of
  ``an engineer``); in the Standard model's text (lookups removed) the same words;
* ``TEXT``: every other token, the end-of-text token included.

Scored sequences start with the end-of-text token as context (as in packed pretraining, where the
previous document ends with it), so every token of the document, the first included, is scored.
Token categories come from the fast tokenizer's character offsets (a token takes the category of
its last character), so the ids are exactly those of pretraining (:mod:`lmlm.train.masking`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lmlm.kg.syntax import DB_END, DB_RETURN, DB_SEP, iter_pretraining_lookups, locate_lookups

GIVEN, TEXT, ENTITY, RELATION, VALUE = 0, 1, 2, 3, 4
CATEGORY_NAMES = {TEXT: "text", ENTITY: "entity", RELATION: "relation", VALUE: "value"}
_COPY_SLACK = 8  # characters allowed between a lookup and its value's copy ("an " before an occupation)


@dataclass(frozen=True)
class Categorized:
    """Token ids (end-of-text first, as context) and each token's category."""

    ids: list[int]
    categories: np.ndarray  # int8, same length; entry 0 is GIVEN (context, not scored)

    def count(self, category: int) -> int:
        return int((self.categories == category).sum())


def find_copy(text: str, value: str, start: int) -> tuple[int, int] | None:
    """The span of ``value`` written at or just after ``start`` (case-insensitive), or None."""
    window = text[start : start + len(value) + _COPY_SLACK].lower()
    at = window.find(value.lower())
    return (start + at, start + at + len(value)) if at >= 0 and value else None


def lookup_char_labels(text: str) -> np.ndarray:
    """A category per character of a token-format text (see the module docstring)."""
    labels = np.full(len(text), TEXT, dtype=np.int8)
    for call in iter_pretraining_lookups(text):
        sep = text.index(DB_SEP, call.start)
        ret = text.index(DB_RETURN, sep)
        end = text.index(DB_END, ret) + len(DB_END)
        opener = call.start - 1 if call.start > 0 and text[call.start - 1] == " " else call.start
        labels[opener:sep] = ENTITY
        labels[sep : ret + len(DB_RETURN)] = RELATION
        labels[ret + len(DB_RETURN) : end] = GIVEN
        copy = find_copy(text, call.value, end)
        if copy is not None:
            labels[copy[0] : copy[1]] = VALUE
    return labels


def raw_char_labels(token_text: str) -> tuple[str, np.ndarray]:
    """The raw text (lookups removed) of a token-format text, and a category per character:
    ``VALUE`` on the words each lookup's value was copied into, ``TEXT`` elsewhere."""
    clean, located = locate_lookups(token_text)
    labels = np.full(len(clean), TEXT, dtype=np.int8)
    for call, pos in located:
        copy = find_copy(clean, call.value, pos)
        if copy is not None:
            labels[copy[0] : copy[1]] = VALUE
    return clean, labels


def categorize(text: str, char_labels: np.ndarray, tokenizer) -> Categorized:
    """Tokenize ``text`` as pretraining does and label each token by its last character."""
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError("token categories need a fast tokenizer (character offsets)")
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    eos = tokenizer.eos_token_id
    cats = [GIVEN]
    for start, end in enc["offset_mapping"]:
        cats.append(int(char_labels[max(start, end - 1)]) if end > start else TEXT)
    return Categorized([eos, *enc["input_ids"], eos], np.asarray([*cats, TEXT], dtype=np.int8))


def categorize_lmlm(token_text: str, tokenizer) -> Categorized:
    """The LMLM's view of a document: its lookups in place."""
    return categorize(token_text, lookup_char_labels(token_text), tokenizer)


def categorize_raw(token_text: str, tokenizer) -> Categorized:
    """The Standard model's view (and the original text's tokens): lookups removed."""
    clean, labels = raw_char_labels(token_text)
    return categorize(clean, labels, tokenizer)
