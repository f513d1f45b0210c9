"""Factual precision grounded in a generated world: exact, no LLM judge, for any text.

Each output's claims, ``(subject, relation, value)``, are read back with the world's own sentence
templates (:class:`lmlm.train.world.claims.ClaimReader`) and checked against the world's facts:

* ``precision``: the share of stated values that are true for their subject and relation. A value
  outside every slot of its sentence, or about a name the world does not know, or that is no value
  of the world, is stated and not true.
* ``wrong_slot_share``: the share of stated values whose kind does not fit the relation of the
  place they stand in (``She is the sibling of 4 March 1966``), or that stand in no slot. A value
  that is no value of the world (a garbled name) has no kind: it is counted in ``not_in_world``.
* ``lookup_share``: the share of stated values that reach the text through an exact lookup of
  that value made *before* them in the same output (strict: a value written from the weights
  and looked up only later counts against the model). Plain texts make no lookups.
* ``repeated_share``: the share of outputs that write a sentence twice; ``repeated_fact_share``:
  that state the same relation of the same subject twice (in other words or not).
* ``misses``: slots whose words say the value is unknown (``born in an unknown place``): honest
  answers to a lookup that found nothing, not claims.

The same reader counts what an output still states about forgotten facts
(:func:`count_forgotten_statements`): any value in the place of a forgotten relation of a forgotten
subject, whatever the value, and any of the forgotten values written anywhere else.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field

from lmlm.train.world.claims import ClaimReader, TextClaims, WorldTruth


@dataclass(frozen=True)
class GroundedReport:
    outputs: int
    stated: int  # values stated (claims)
    true: int
    wrong_slot: int
    outside_slots: int  # stated outside every slot of their sentence
    not_in_world: int  # stated values that are no value of the world (nor a date or a year)
    through_lookup: int  # stated after an exact lookup of the same value in the same output
    misses: int  # slots that say the value is unknown
    repeated_outputs: int  # outputs with a sentence written twice
    repeated_fact_outputs: int  # outputs that state one subject's relation twice
    precision: float
    wrong_slot_share: float
    lookup_share: float
    repeated_share: float
    repeated_fact_share: float
    claims_per_output: float
    examples: list[dict] = field(default_factory=list)  # false or misplaced claims, with their text

    def to_dict(self) -> dict:
        return asdict(self)


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _full_text(output) -> tuple[str, int]:
    """(prompt + continuation, where the continuation starts) of a ``GenerationOutput`` or a str."""
    if isinstance(output, str):
        return output, 0
    return output.prompt + output.text, len(output.prompt)


def _exact_lookups(output, offset: int) -> list[tuple[str, int]]:
    """(value, where the words after the lookup start in the full text) of each exact lookup."""
    if isinstance(output, str):
        return []
    return [
        (r.value.strip().lower(), offset + r.span[0])
        for r in output.lookups
        if r.path == "exact" and r.value and r.span is not None
    ]


def read_claims(outputs: Sequence, subjects: Sequence[str], reader: ClaimReader) -> list[TextClaims]:
    """Each output's claims (prompt and continuation read together; the prompt states no value)."""
    if len(outputs) != len(subjects):
        raise ValueError(f"{len(outputs)} outputs but {len(subjects)} subjects")
    return [reader.read(_full_text(o)[0], s) for o, s in zip(outputs, subjects)]


def score_grounded(
    outputs: Sequence,
    subjects: Sequence[str],
    truth: WorldTruth | ClaimReader,
    *,
    max_examples: int = 10,
) -> GroundedReport:
    """Scores ``outputs`` (``GenerationOutput`` s or plain texts, prompt included) about
    ``subjects`` (the person each prompt names) against the world ``truth``."""
    reader = truth if isinstance(truth, ClaimReader) else ClaimReader(truth)
    world = reader.truth
    stated = true = wrong = outside = unknown = through = misses = repeated = repeated_facts = 0
    examples: list[dict] = []
    for output, read in zip(outputs, read_claims(outputs, subjects, reader)):
        text, offset = _full_text(output)
        lookups = _exact_lookups(output, offset)
        keys = [(c.subject, c.relation) for c in read.claims if c.relation is not None]
        repeated += bool(read.repeated_sentences)
        repeated_facts += len(set(keys)) < len(keys)
        misses += len(read.misses)
        for claim in read.claims:
            stated += 1
            is_true = world.value_of(claim.subject, claim.relation) == claim.value
            true += is_true
            wrong += claim.kind is not None and not claim.in_right_slot
            outside += claim.relation is None
            unknown += claim.kind is None
            value = claim.value.lower()
            through += any(v == value and at <= claim.start for v, at in lookups)
            if not (is_true and claim.in_right_slot) and len(examples) < max_examples:
                examples.append(
                    {"text": text, "subject": claim.subject, "relation": claim.relation, "value": claim.value}
                )
    n = len(outputs)
    return GroundedReport(
        outputs=n,
        stated=stated,
        true=true,
        wrong_slot=wrong,
        outside_slots=outside,
        not_in_world=unknown,
        through_lookup=through,
        misses=misses,
        repeated_outputs=repeated,
        repeated_fact_outputs=repeated_facts,
        precision=_share(true, stated),
        wrong_slot_share=_share(wrong, stated),
        lookup_share=_share(through, stated),
        repeated_share=_share(repeated, n),
        repeated_fact_share=_share(repeated_facts, n),
        claims_per_output=round(stated / n, 3) if n else 0.0,
        examples=examples,
    )


@dataclass(frozen=True)
class ForgottenReport:
    """How many outputs still state a value for a forgotten fact (see the module docstring)."""

    outputs: int
    stating: int  # outputs that state at least one value for a forgotten fact
    statements: int
    misses: int  # slots of forgotten facts that say the value is unknown
    share: float
    examples: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def count_forgotten_statements(
    outputs: Sequence,
    subjects: Sequence[str],
    truth: WorldTruth | ClaimReader,
    forgotten: Collection[tuple[str, str | None]],
    *,
    max_examples: int = 5,
) -> ForgottenReport:
    """``forgotten`` holds ``(entity, relation)`` pairs, or ``(entity, None)`` for every fact of the
    entity. A claim about a forgotten fact counts whatever its value; so does the forgotten value
    written where the reading finds no slot for it."""
    reader = truth if isinstance(truth, ClaimReader) else ClaimReader(truth)
    whole = {entity for entity, relation in forgotten if relation is None}
    pairs = {(e, r) for e, r in forgotten if r is not None}

    def is_forgotten(subject: str | None, relation: str | None) -> bool:
        return subject in whole or (subject, relation) in pairs

    stating = statements = misses = 0
    examples: list[dict] = []
    for output, subject, read in zip(outputs, subjects, read_claims(outputs, subjects, reader)):
        facts = reader.truth.facts.get(subject, {})
        old_values = {v.lower() for r, v in facts.items() if is_forgotten(subject, r)}
        hits = [
            c
            for c in read.claims
            if (c.relation is not None and is_forgotten(c.subject, c.relation))
            or (c.relation is None and c.value.lower() in old_values)
        ]
        misses += sum(is_forgotten(m.subject, m.relation) for m in read.misses)
        statements += len(hits)
        stating += bool(hits)
        if hits and len(examples) < max_examples:
            examples.append({"text": _full_text(output)[0], "values": [c.value for c in hits]})
    return ForgottenReport(len(outputs), stating, statements, misses, _share(stating, len(outputs)), examples)
