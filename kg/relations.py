"""What the structured resolver knows about relations that read alike but mean different things.

MiniLM places opposites close: "date of death" is nearer "date of birth" (cosine 0.58) than
"born on" is (0.44), and "father"/"mother" sit at 0.73. No threshold on relation cosines tells a
rewording from a different relation, so the resolver also asks :class:`RelationContrasts`
whether the query names a relation *known to differ* from the stored one it is nearest to. That
knowledge comes from two places:

- the store itself: two relations that one entity has with different values are different
  relations ("Birth Date" and "Death Date" of one person), and the word that tells two such
  relations apart is a contrasting pair (``birth``/``death``) that also tells apart "place of
  birth" and "place of death" for an entity that has only the first;
- :data:`REFERENCE_RELATIONS`, a list of common relations, each different from the others (the
  labels of frequent Wikidata properties), for stores too small to have seen a contrast. Two
  relations of the list differ; and a query relation and the stored relation it matched differ when
  each is nearest a different relation of the list, both at :data:`REFERENCE_COSINE` or more
  (:func:`apart_by_reference`: "founder" is nearest "founded by", "Owner" is nearest "owned by");
- :data:`NON_SUBSECTIVE`, words that make a relation name something the bare relation is not: a
  former spouse is not a spouse, a prospective buyer not a buyer (Kamp and Partee's privative and
  non-subsective adjectives, plus "ex-"). A query and a stored relation differ when one has such a
  word and the other has none (:func:`non_subsective`); "previous name" may still match "Former
  Name". This also counts as built-in knowledge (``use_reference``).

Measured in ``evaluation/fuzzy_modes.py`` (learned contrasts and the reference list, each alone
and together).
"""

from __future__ import annotations

import itertools
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from .facts import Fact, normalize_key

logger = logging.getLogger(__name__)

# fmt: off
REFERENCE_RELATIONS = tuple(r.strip() for r in """
instance of|subclass of|country|place of birth|date of birth|date of death|place of death|sex or gender|
country of citizenship|occupation|educated at|employer|member of sports team|position played on team|spouse|
child|father|mother|sibling|relative|award received|nominated for|language|author|publisher|director|producer|
screenwriter|composer|cast member|genre|record label|performer|publication date|located in|headquarters location|
founded by|inception|dissolved|owned by|parent organization|subsidiary|industry|member of political party|
position held|religion|ethnic group|native language|military branch|military rank|conflict|cause of death|
manner of death|place of burial|residence|notable work|field of work|doctoral advisor|doctoral student|student of|
influenced by|movement|participant in|capital|population|area|elevation above sea level|continent|time zone|
official language|head of government|head of state|currency|shares border with|architect|architectural style|
made from material|height|mass|length|width|duration|start time|end time|point in time|follows|followed by|
replaces|replaced by|part of|has part|main subject|depicts|characters|narrative location|filming location|
original language|country of origin|distributed by|production company|box office|budget|number of pages|illustrator|
editor|translator|nickname|birth name|pseudonym|given name|family name|official website|named after|sport|league|
home venue|head coach|team captain|chairperson|chief executive officer|number of employees|revenue|net income|
stock exchange|legal form|operator|manufacturer|designer|developer|platform|license|instrument|voice type|
lyrics by|conductor|choreographer|academic degree|academic major|member of|candidacy in election|
significant event|location of formation|date of official opening|date of first performance|original broadcaster|
number of seasons|number of episodes|winner|runner-up|participant|coordinate location|
located in the administrative territorial unit|located on terrain feature|mouth of the watercourse|basin country|
drainage basin|tributary|highest point|lowest point|age at death|number of children|floors above ground|
construction start|completion date|service entry|service retirement|first flight|first appearance|
last appearance|creator|voice actor|unmarried partner|godparent|stepparent|grandparent|nephew|cousin|
work period start|work period end|salary|net worth|hobby|patron saint|diocese|religious order|taxon rank|
parent taxon|endemic to|habitat|diet|conservation status|chemical formula|boiling point|melting point|density|
discoverer or inventor|time of discovery or invention|opponent|score|attendance|venue|host city|edition number|
votes received|electoral district|term start|term end|appointed by
""".split("|") if r.strip())
# fmt: on

# fmt: off
NON_SUBSECTIVE = frozenset("""
former ex erstwhile onetime one-time previous past sometime quondam alleged supposed putative purported
so-called fake false counterfeit mock pseudo fictional imaginary would-be potential prospective future
intended proposed planned failed
""".split())
# fmt: on

REFERENCE_COSINE = 0.7  # calibrated by evaluation/fuzzy_modes.py (ResolverConfig.reference_cosine)
FUNCTION_WORDS = frozenset("of in on at by to for from with as into the a an".split())
MAX_FAMILY = 64  # relations sharing all words but one; larger families are names of one pattern
VALUE_CHECKS = 3  # entities read to see whether two relations hold different values


def content_words(relation: str) -> tuple[str, ...]:
    """The words of a relation that carry its meaning (lower case, no function words, no 's)."""
    words = normalize_key(relation).replace("'s ", " ").replace("'s", "").split()
    return tuple(w for w in words if w not in FUNCTION_WORDS)


def non_subsective(relation: str) -> frozenset[str]:
    """The words of :data:`NON_SUBSECTIVE` in a relation, "ex-" prefixes included."""
    words = normalize_key(relation).replace("\\'", "'").split()
    return frozenset(w for w in words if w in NON_SUBSECTIVE or (w.startswith("ex-") and len(w) > 3))


def acronym(relation: str) -> str | None:
    """The letters of a relation written as an acronym ("DOB", "HQ": one word of 2 to 5 capitals,
    dots allowed), lower case, else None. Lower-case words are words, not acronyms."""
    text = relation.strip().replace(".", "")
    return text.lower() if 2 <= len(text) <= 5 and text.isalpha() and text.isupper() else None


def spells_acronym(letters: str, relation_key: str) -> bool:
    """Whether ``letters`` are the initials of a relation's words, function words included or
    not ("dob" and "db" for "date of birth")."""
    words = [w for w in relation_key.replace("-", " ").split() if w[:1].isalnum()]
    content = [w for w in words if w not in FUNCTION_WORDS]
    return len(words) >= 2 and letters in {"".join(w[0] for w in words), "".join(w[0] for w in content)}


def one_word_apart(relations: Iterable[str]) -> Iterable[tuple[str, str, str, str]]:
    """Pairs of relations (of two to four content words) equal but for one word in one place:
    ``(relation_a, relation_b, word_a, word_b)``."""
    families: dict[tuple, list[tuple[str, str]]] = defaultdict(list)
    for relation in dict.fromkeys(relations):
        words = content_words(relation)
        if 2 <= len(words) <= 4:
            for i, word in enumerate(words):
                families[(i, words[:i], words[i + 1 :])].append((relation, word))
    for family in families.values():
        if len(family) <= MAX_FAMILY:
            for (a, word_a), (b, word_b) in itertools.combinations(family, 2):
                if word_a != word_b:
                    yield a, b, word_a, word_b


def apart_by_reference(
    query_vectors: np.ndarray,
    stored_vectors: np.ndarray,
    reference_vectors: np.ndarray,
    min_cosine: float,
    *,
    texts: tuple[Sequence[str], Sequence[str]] | None = None,
) -> np.ndarray:
    """For each row (unit vectors of a query relation and of the stored relation it matched),
    whether the two are nearest different relations of the reference list, each at ``min_cosine``
    or more: the query then names another relation than the stored one.

    With ``texts`` (the query relations, row for row, and the reference list), a query whose
    content words are a strict part of its nearest entry's is broader than that entry, and being
    nearest it says nothing: "company" is nearest "production company", yet may well be the stored
    "Employer". Only the query is read so: a stored "Award" (nearest "award received") is still
    apart from a query "nomination" (nearest "nominated for")."""
    if not len(query_vectors) or not len(reference_vectors):
        return np.zeros(len(query_vectors), dtype=bool)
    query_sims, stored_sims = query_vectors @ reference_vectors.T, stored_vectors @ reference_vectors.T
    close = (query_sims.max(axis=1) >= min_cosine) & (stored_sims.max(axis=1) >= min_cosine)
    query_near, stored_near = query_sims.argmax(axis=1), stored_sims.argmax(axis=1)
    apart = close & (query_near != stored_near)
    if texts is not None:
        queries, reference = texts
        broader = [
            set(content_words(q)) < set(content_words(reference[i])) for q, i in zip(queries, query_near)
        ]
        apart &= ~np.array(broader, dtype=bool)
    return apart


class RelationContrasts:
    """Tells whether a query relation names a relation known to differ from a stored one.

    Args:
        relations_of: entity key -> its relation keys (the fuzzy index's map).
        facts_by_keys: the store's batched read, (entity key, relation key) -> facts; two
            relations differ when an entity holds them with no value in common.
        use_store: learn from the store.
        use_reference: use :data:`REFERENCE_RELATIONS`.
    """

    def __init__(
        self,
        relations_of: Mapping[str, Iterable[str]],
        facts_by_keys: Callable[[Sequence[tuple[str, str]]], Sequence[Sequence[Fact]]],
        *,
        use_store: bool = True,
        use_reference: bool = True,
    ):
        self._facts_by_keys = facts_by_keys
        self.use_store = use_store
        self.reference = (
            frozenset(normalize_key(r) for r in REFERENCE_RELATIONS) if use_reference else frozenset()
        )
        self._entities_of: dict[str, set[str]] = defaultdict(set)
        if use_store:
            for entity, relations in relations_of.items():
                for relation in relations:
                    self._entities_of[relation].add(entity)
        self._known: dict[frozenset[str], bool] = {}
        self.contrasting_words = self._learn_words()

    def differ(self, query_relation: str, relation_key: str) -> bool:
        """Whether ``query_relation`` names another relation than the stored ``relation_key``:
        a relation known to differ from it (held with another value by one entity, or both in
        the reference list), one word away from it by a contrasting pair of words, or (with the
        built-in knowledge) one of the two qualified by a non-subsective word and the other not."""
        query_key = normalize_key(query_relation)
        if query_key == relation_key:
            return False
        if self.reference and bool(non_subsective(query_key)) != bool(non_subsective(relation_key)):
            return True
        if self.known_distinct([(query_key, relation_key)])[0]:
            return True
        q_words, r_words = set(content_words(query_key)), set(content_words(relation_key))
        only_q, only_r = q_words - r_words, r_words - q_words
        return (
            len(only_q) == 1 and len(only_r) == 1 and frozenset((*only_q, *only_r)) in self.contrasting_words
        )

    def differ_many(self, pairs: Sequence[tuple[str, str]]) -> list[bool]:
        """:meth:`differ` for each ``(query relation, stored relation key)``, with one store read
        for every pair not seen before (a batch of lookups is one round trip, not one each)."""
        keys = [(normalize_key(query), key) for query, key in pairs]
        self.known_distinct([(query, key) for query, key in keys if query != key])
        return [self.differ(query, key) for query, key in pairs]

    def known_distinct(self, pairs: Sequence[tuple[str, str]]) -> list[bool]:
        """For each pair of relation keys, whether they are known to be different relations:
        both in the reference list, or held by one entity with no value in common."""
        todo = [
            pair
            for pair in dict.fromkeys(frozenset(p) for p in pairs)
            if len(pair) == 2 and pair not in self._known and not pair <= self.reference
        ]
        if todo and self.use_store:
            self._check_values(todo)
        return [
            len(set(p)) == 2 and (frozenset(p) <= self.reference or self._known.get(frozenset(p), False))
            for p in pairs
        ]

    def _check_values(self, pairs: list[frozenset[str]]) -> None:
        """One store read for the values of a few entities that hold both relations of each pair."""
        checks = []
        for pair in pairs:
            a, b = sorted(pair)
            shared = sorted(self._entities_of.get(a, set()) & self._entities_of.get(b, set()))
            checks += [(pair, e, a, b) for e in shared[:VALUE_CHECKS]]
            self._known[pair] = False
        keys = [key for _, e, a, b in checks for key in ((e, a), (e, b))]
        found = self._facts_by_keys(keys) if keys else []
        for i, (pair, *_rest) in enumerate(checks):
            values_a = {normalize_key(f.value) for f in found[2 * i]}
            values_b = {normalize_key(f.value) for f in found[2 * i + 1]}
            if values_a and values_b and not values_a & values_b:
                self._known[pair] = True

    def _learn_words(self) -> frozenset[frozenset[str]]:
        """Contrasting words: those telling apart two relations one word apart that are known to
        differ (from the store, or both in the reference list)."""
        candidates: dict[frozenset[str], list[tuple[str, str]]] = defaultdict(list)
        sources: list[Sequence[str]] = [sorted(self.reference)]
        if self.use_store:
            sources.append(sorted(self._entities_of))
        for relations in sources:
            for a, b, word_a, word_b in one_word_apart(relations):
                candidates[frozenset((word_a, word_b))].append((a, b))
        pairs = [p for ps in candidates.values() for p in ps]
        known = dict(zip(pairs, self.known_distinct(pairs)))
        words = frozenset(w for w, ps in candidates.items() if any(known[p] for p in ps))
        logger.debug("%d contrasting word pairs learned from %d candidates", len(words), len(candidates))
        return words
