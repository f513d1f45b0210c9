"""What the benchmarks make their queries from: name lists, relation synonyms, and the edits that
turn a stored key into a lookup a model might write.

The one home of these for ``evaluation/bench/kg_bench.py`` (stored relations reworded),
``evaluation/bench/fuzzy_index.py`` (generated names, perturbed keys) and
``evaluation/fuzzy_modes.py`` (the paraphrase set built from the paper's samples):

- :data:`FIRST_NAMES` ... :data:`BUILTIN_RELATIONS` and :class:`NameGenerator`: entity and relation
  names like the paper's (real first and last names, organisations, places, works);
- :data:`RELATION_SYNONYMS` (whole relation names) and :data:`WORD_SYNONYMS` (single words), used by
  :func:`reword`;
- the edits: :func:`reword`, :func:`misspell` (:func:`typo` in one word), :func:`shout`,
  :func:`absent_name`, and :func:`perturb`, which combines them.

Everything random takes a ``random.Random``, so a benchmark's queries are fixed by its seed.
"""

from __future__ import annotations

import random
import re

from lmlm.kg.facts import normalize_key
from lmlm.kg.names import edit_distance

# ---------------------------------------------------------------------------------------------
# Names and synonyms

# fmt: off
FIRST_NAMES = """
James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan
Joseph Jessica Thomas Sarah Charles Karen Daniel Nancy Matthew Lisa Anthony Betty Mark Margaret
Donald Sandra Steven Ashley Paul Kimberly Andrew Emily Joshua Donna Kenneth Michelle Kevin Carol
Brian Amanda George Melissa Edward Deborah Ronald Stephanie Timothy Rebecca Jason Laura Jeffrey
Helen Ryan Sharon Jacob Cynthia Gary Kathleen Nicholas Amy Eric Shirley Jonathan Angela Larry Anna
Justin Ruth Scott Brenda Frank Pamela Benjamin Nicole Gregory Katherine Samuel Virginia Raymond
Catherine Patrick Christine Alexander Samantha Jack Debra Dennis Janet Jerry Rachel Tyler Carolyn
Aaron Emma Henry Maria Douglas Heather Peter Diane Adam Julie Nathan Joyce Zachary Evelyn Walter
Frances Kyle Joan Harold Christina Carl Kelly Arthur Victoria Gerald Lauren Roger Martha Keith Judith
Ko Hiroshi Yuki Haruto Sakura Kenji Aiko Takeshi Yumi Wei Li Jun Mei Xin Hao Min-jun Seo-yeon Ji-ho
Arjun Priya Rahul Ananya Vikram Lakshmi Suchitra Shashi Ravi Deepa Amit Kavya Mohammed Fatima Ahmed
Aisha Omar Layla Yusuf Zainab Hassan Mariam Olga Ivan Natalia Dmitri Svetlana Sergei Irina Alexei
Tatiana Pierre Camille Louis Chloe Jean Margaux Lucas Manon Hans Greta Klaus Ingrid Franz Lotte
Giovanni Francesca Marco Giulia Luca Chiara Carlos Sofia Javier Lucia Miguel Isabel Diego Valentina
Joao Beatriz Tiago Mariana Pedro Ines Kwame Amara Chinedu Ngozi Tunde Adaeze Sipho Thandiwe Kofi
Slobodan Miroslav Rudolf Jiri Zofia Piotr Agnieszka Tomasz Katarzyna Lars Astrid Nils Freya Sven
Eero Aino Mateus Rafaela Emre Elif Mehmet Zeynep Nikos Eleni Dimitris Anja Bojan Milica Ferenc Erzsebet
"""
LAST_NAMES = """
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez
Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark
Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams
Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker
Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper
Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James
Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez
Itakura Tanaka Suzuki Watanabe Yamamoto Nakamura Kobayashi Sato Takahashi Matsumoto Inoue Kimura
Wang Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo Park Choi Jung Kang Cho Yoon
Sharma Gupta Singh Kumar Reddy Iyer Menon Bhatt Sen Chatterjee Banerjee Das Rao Nair Mukherjee Thanuskodi
Khan Haddad Mansour Farouk Nasser Aziz Karimi Hosseini Rahimi Demir Yilmaz Kaya Sahin Celik Ozturk
Ivanov Smirnov Kuznetsov Popov Sokolov Lebedev Kozlov Novikov Morozov Petrov Volkov Zeman Ninkovic
Kirchschlager Rellich Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Koch Richter
Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Dubois Durand Lefebvre Moreau
Laurent Simon Michel Leroy Roux Fournier Girard Bonnet Dupont Lambert Fontaine Silva Santos Oliveira
Souza Pereira Costa Carvalho Almeida Ferreira Ribeiro Okafor Mensah Adeyemi Okonkwo Mthetwa Dlamini
Nkosi Boateng Asante Kowalski Nowak Wisniewski Wojcik Kaminski Lewandowski Andersson Johansson
Karlsson Nilsson Eriksson Larsen Hansen Jensen Nielsen Korhonen Virtanen Papadopoulos Horvath Nagy
Hopkins Halliwell Ayers Mathieu Ellis Grimshaw Ferraro Lindqvist Okoro Vasquez Ishikawa Mwangi
"""
SYLLABLES = """
ka ri to ma ven dor al bra lin mor sel tha vi ne os tar quin bel ro da mi len gor han zu el fa
no re sa ki lu mar tel bor an ther is gal dun wen ash kel rin vor ta co lo pe ga ru se
"""
ORG_SUFFIXES = """Records|Institute|University|Foundation|Corporation|Group|Holdings|Laboratories|FC|
Orchestra|Museum|Press|Airlines|Motors|Bank|Hospital|Academy|Council|Party|Studios|Brewery|Observatory"""
PLACE_PATTERNS = """{} District|{}ville|Lake {}|{} River|Mount {}|{} County|{}burg|Port {}|{} Valley|
{} Province|New {}|{} Island|{}, {}"""
WORK_PATTERNS = """The {} {}|{} of the {}|{} ({} album)|{} ({} film)|{} Symphony No. {}|{} {} Open|
Songs of {}|The {} Chronicles"""
WORK_WORDS = """Silent Golden Broken Hidden Crimson Distant Last Eternal Wild Northern Little Secret
River Garden Empire Dream Night Storm Mirror Crown Harbour Season Machine Letters Kingdom Bridge"""
BUILTIN_RELATIONS = """Birthplace|Occupation|Date of birth|Date of death|Place of death|Spouse|Nationality|
Founded by|Headquarters location|Founded in|Country|Location|Position|Affiliation|Education|Alma mater|
Residence|Father|Mother|Child|Sibling|Employer|Award received|Political party|Member of|Genre|
Record label|Release date|Author|Director|Publisher|Language|Population|Area|Capital|Currency|
Official language|Head of state|Owner|Parent company|Subsidiary|Industry|Number of employees|
Chief executive officer|Founder|Inception|Dissolved|Coordinates|Elevation|Continent|Located in|
Twin town|Mayor|Time zone|Religion|Ethnic group|Height|Weight|Sport|Team|National team|Coach|
Instrument|Voice type|Notable work|Influenced by|Doctoral advisor|Field of work|Academic degree|
Military rank|Conflict|Cause of death|Burial place|Medium|Series|Followed by|Preceded by|
Successor|Predecessor|Composer|Producer|Starring|Screenwriter|Narrative location|Box office|
Budget|Running time|Number of pages|ISBN|Publication date|Illustrator|Editor|Translator|Nickname|
Birth name|Stage name|Pseudonym|Handedness|Net worth|Website|Named after|Material|Architect"""
# fmt: on


# Rewordings an annotator or the model may use instead of the stored relation name.
RELATION_SYNONYMS = {
    "birthplace": ["place of birth", "born in", "birth place", "hometown"],
    "place of birth": ["birthplace", "born in", "birth place"],
    "educated at": ["studied at", "schooling", "alumnus of"],
    "founded": ["year founded", "established", "founding year"],
    "birth place": ["birthplace", "place of birth", "born in"],
    "occupation": ["profession", "job", "career", "works as"],
    "date of birth": ["born on", "birth date", "birthday", "DOB"],
    "birth date": ["date of birth", "born on", "birthday"],
    "date of death": ["death date", "died on"],
    "death date": ["date of death", "died on"],
    "place of death": ["death place", "died in"],
    "death place": ["place of death", "died in"],
    "spouse": ["married to", "wife", "husband", "partner"],
    "nationality": ["citizenship", "country of citizenship", "national origin"],
    "founded by": ["founder", "established by", "created by"],
    "founder": ["founded by", "created by"],
    "headquarters location": ["headquarters", "HQ", "based in", "head office"],
    "founded in": ["founding year", "established in", "year founded", "inception"],
    "established in": ["founded in", "year established"],
    "location": ["located in", "situated in", "place"],
    "located in": ["location", "situated in"],
    "education": ["educated at", "studied at", "schooling"],
    "alma mater": ["educated at", "university attended", "graduated from"],
    "residence": ["lives in", "home", "place of residence"],
    "employer": ["employed by", "works for", "company"],
    "award received": ["prize won", "award", "honours"],
    "award": ["award received", "prize", "honor"],
    "political party": ["party", "party affiliation", "member of party"],
    "record label": ["label", "music label", "signed to"],
    "release date": ["released on", "date released", "release"],
    "release year": ["year released", "released in"],
    "author": ["written by", "writer"],
    "director": ["directed by", "film director"],
    "country": ["nation", "country name", "state"],
    "country of origin": ["origin country", "from country", "originated in"],
    "position": ["role", "post", "title held"],
    "affiliation": ["affiliated with", "associated with", "member of"],
    "father": ["dad", "parent (father)", "father's name"],
    "mother": ["mom", "parent (mother)", "mother's name"],
    "child": ["son or daughter", "offspring", "children"],
    "owner": ["owned by", "proprietor"],
    "genre": ["music genre", "style", "type of music"],
    "publication year": ["year published", "published in"],
    "team": ["club", "plays for", "sports team"],
    "national team": ["international team", "plays for country"],
    "capital": ["capital city", "seat of government"],
    "population": ["number of inhabitants", "inhabitants", "population size"],
}


# Word by word, for relations no whole-name synonym covers.
WORD_SYNONYMS = {
    "birth": "born",
    "birthplace": "place of birth",
    "death": "died",
    "date": "day",
    "place": "location",
    "location": "place",
    "located": "situated",
    "founded": "established",
    "established": "founded",
    "occupation": "profession",
    "nationality": "citizenship",
    "spouse": "married to",
    "father": "dad",
    "mother": "mom",
    "education": "studied at",
    "residence": "home",
    "award": "prize",
    "release": "released",
    "position": "role",
    "party": "affiliation",
    "label": "record company",
    "author": "written by",
    "director": "directed by",
    "owner": "owned by",
    "team": "club",
    "year": "year",
    "country": "nation",
    "origin": "provenance",
    "title": "name",
    "genre": "style",
    "population": "inhabitants",
    "capital": "capital city",
    "member": "part of",
    "headquarters": "head office",
    "language": "tongue",
    "religion": "faith",
    "affiliation": "associated with",
    "type": "kind",
    "role": "function",
    "artist": "performer",
}


# Hard negatives: relations worded like a stored one that mean something else. A resolver that
# answers "Date of death" from a stored "Date of birth" answers the wrong fact.
# fmt: off
WORD_CONTRASTS = """birth:death born:died father:mother son:daughter brother:sister husband:wife
predecessor:successor preceded:followed winner:runner-up start:end first:last north:south east:west
home:away minimum:maximum highest:lowest import:export opening:closing founded:dissolved
upper:lower older:younger previous:next origin:destination victory:defeat parent:child
male:female king:queen debut:retirement entry:exit buyer:seller employer:employee
teacher:student men's:women's boys:girls summer:winter morning:evening inbound:outbound
uncle:aunt nephew:niece grandfather:grandmother"""
# fmt: on
RELATION_CONTRASTS = {
    "author": ["publisher", "illustrator", "translator"],
    "written by": ["published by", "illustrated by"],
    "director": ["producer", "screenwriter"],
    "directed by": ["produced by"],
    "producer": ["director"],
    "composer": ["lyricist"],
    "occupation": ["hobby"],
    "nationality": ["ethnicity", "religion"],
    "educated at": ["taught at"],
    "alma mater": ["employer"],
    "education": ["teaching position"],
    "award received": ["award nominated for"],
    "award": ["nomination"],
    "spouse": ["sibling", "former spouse"],
    "sibling": ["spouse", "cousin"],
    "parent": ["grandparent", "spouse"],
    "employer": ["former employer", "client"],
    "capital": ["largest city"],
    "population": ["area", "population density"],
    "height": ["weight"],
    "team": ["coach", "former team"],
    "record label": ["distributor"],
    "founded by": ["owned by"],
    "founder": ["owner"],
    "owner": ["founder"],
    "owned by": ["founded by"],
    "release date": ["recording date"],
    "release year": ["recording year"],
    "publication year": ["writing year"],
    "country": ["capital", "neighbouring country"],
    "location": ["founding location"],
    "headquarters location": ["branch location"],
    "position": ["salary"],
    "genre": ["subject"],
    "language": ["writing system"],
    "instrument": ["voice type"],
    "founded": ["renamed"],
    "founded in": ["renamed in"],
    "established in": ["abolished in"],
}


def _word_contrasts() -> dict[str, str]:
    pairs = [pair.split(":") for pair in WORD_CONTRASTS.split()]
    return {a: b for x, y in pairs for a, b in ((x, y), (y, x))}


def contrast(relation: str, rng: random.Random) -> str | None:
    """A relation worded like ``relation`` that means something else (lower case), or None:
    a whole-name contrast from :data:`RELATION_CONTRASTS`, else one word of it swapped for its
    opposite from :data:`WORD_CONTRASTS` (``Birth Date`` -> ``death date``)."""
    low = relation.replace("\\'", "'").lower()
    if low in RELATION_CONTRASTS:
        return rng.choice(RELATION_CONTRASTS[low])
    opposites = _word_contrasts()
    words = low.split()
    swappable = [i for i, w in enumerate(words) if w in opposites]
    if not swappable:
        return None
    i = rng.choice(swappable)
    return " ".join(words[:i] + [opposites[words[i]]] + words[i + 1 :])


def contrast_stems(relation: str, contrasted: str) -> set[str]:
    """What tells ``contrasted`` from ``relation``: the first five letters of each word it has that
    ``relation`` lacks. An entity with a relation holding one of them may well have that fact."""
    have = set(relation.lower().split())
    return {w[:5] for w in contrasted.lower().split() if w not in have and w not in _FUNCTION_WORDS}


_FUNCTION_WORDS = frozenset("of in on at by to for from with as into".split())
_IRREGULAR_PARTICIPLES = frozenset("held won born built made known led written given taken".split())


def _is_participle(word: str) -> bool:
    return word.endswith(("ed", "ing")) or word in _IRREGULAR_PARTICIPLES


def _split(block: str, sep: str | None = None) -> list[str]:
    return [w.strip() for w in block.split(sep) if w.strip()]


def builtin_relations() -> list[str]:
    """:data:`BUILTIN_RELATIONS` as a list, the common relations first."""
    return _split(BUILTIN_RELATIONS, "|")


class NameGenerator:
    """Entity names: people (real first and last names), organisations, places and works."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.first = _split(FIRST_NAMES)
        self.last = _split(LAST_NAMES)
        self.syllables = _split(SYLLABLES)
        self.org_suffixes = _split(ORG_SUFFIXES, "|")
        self.place_patterns = _split(PLACE_PATTERNS, "|")
        self.work_patterns = _split(WORK_PATTERNS, "|")
        self.work_words = _split(WORK_WORDS)

    def word(self) -> str:
        return "".join(self.rng.choice(self.syllables) for _ in range(self.rng.randint(2, 3))).capitalize()

    def person(self) -> str:
        r = self.rng
        first, last = r.choice(self.first), r.choice(self.last)
        roll = r.random()
        if roll < 0.15:
            return f"{first} {r.choice('ABCDEFGHJKLMNPRSTW')}. {last}"
        if roll < 0.25:
            return f"{first} {r.choice(self.first)} {last}"
        if roll < 0.30:
            return f"{first} {last}-{r.choice(self.last)}"
        return f"{first} {last}"

    def organisation(self) -> str:
        r = self.rng
        roll = r.random()
        if roll < 0.5:
            return f"{self.word()} {r.choice(self.org_suffixes)}"
        if roll < 0.75:
            return f"{r.choice(self.org_suffixes)} of {self.word()}"
        return f"{r.choice(self.last)} & {r.choice(self.last)} {r.choice(self.org_suffixes)}"

    def place(self) -> str:
        pattern = self.rng.choice(self.place_patterns)
        return pattern.format(*(self.word() for _ in range(pattern.count("{}"))))

    def work(self) -> str:
        r = self.rng
        pattern = r.choice(self.work_patterns)
        parts = []
        for _ in range(pattern.count("{}")):
            parts.append(r.choice((r.choice(self.work_words), self.word(), str(r.randint(1950, 2023)))))
        return pattern.format(*parts)

    def entity(self) -> str:
        roll = self.rng.random()
        if roll < 0.5:
            return self.person()
        if roll < 0.7:
            return self.organisation()
        if roll < 0.85:
            return self.place()
        return self.work()


# ---------------------------------------------------------------------------------------------
# Edits


def reword(relation: str, rng: random.Random | None = None) -> str | None:
    """Another way to say ``relation`` (lower case), or None when no rule changes it.

    A relation in :data:`RELATION_SYNONYMS` becomes one of its synonyms (the first without ``rng``,
    a random one with it); else a short ``X of Y`` becomes ``Y X`` and a two-noun ``X Y`` becomes
    ``Y of X``; else each word in :data:`WORD_SYNONYMS` is replaced.
    """
    low = relation.replace("\\'", "'").lower()
    words = low.split()
    head, _, tail = low.partition(" of ")
    if low in RELATION_SYNONYMS:
        synonyms = RELATION_SYNONYMS[low]
        text = rng.choice(synonyms) if rng is not None else synonyms[0]
    elif tail and len(head.split()) <= 2 and len(tail.split()) <= 2 and not tail[0].isdigit():
        text = f"{tail} {head}"
    elif len(words) == 2 and not (set(words) & _FUNCTION_WORDS) and not any(map(_is_participle, words)):
        text = f"{words[1]} of {words[0]}"  # noun compounds only: "Title Held" is not "held of title"
    else:
        text = " ".join(WORD_SYNONYMS.get(w, w) for w in words)
    return text if normalize_key(text) != normalize_key(relation) else None


def typo(word: str, rng: random.Random) -> str:
    """One edit (drop, swap, replace, insert) in a word of four or more letters."""
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    op = rng.randrange(4)
    letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
    if op == 0:
        return word[:i] + word[i + 1 :]
    if op == 1:
        return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]
    if op == 2:
        return word[:i] + letter + word[i + 1 :]
    return word[:i] + letter + word[i:]


def misspell(name: str, rng: random.Random) -> str | None:
    """``name`` with a :func:`typo` in its longest word without a digit (ties broken at random), or
    None when no such word has four letters. A number is never edited: ``2012`` for ``2102`` names
    another year, not a misspelt one."""
    words = name.split()
    if not words:
        return None
    j = max(
        range(len(words)),
        key=lambda w: (not any(c.isdigit() for c in words[w])) * len(words[w]) + rng.random(),
    )
    if len(words[j]) < 4 or any(c.isdigit() for c in words[j]):
        return None
    words[j] = typo(words[j], rng)
    return " ".join(words)


def shout(name: str) -> str:
    """``name`` upper-cased with stray spaces around it (the exact path's normalisation undoes it)."""
    return "  " + name.upper() + " "


def absent_name(name: str) -> str:
    """A name built from ``name`` for someone else: its words reversed plus ``Junior``, or, for one
    word, the word plus ``Prime``."""
    words = name.split()
    return " ".join(reversed(words)) + " Junior" if len(words) > 1 else name + " Prime"


def lookalike(name: str, rng: random.Random) -> str:
    """A name like ``name`` for someone or something else, never a misspelling of it: a number in
    it changed; else an organisation's kind swapped (``Velnor Institute`` -> ``Velnor Foundation``);
    else its first word replaced by a given name two or more edits away (``Ko Itakura`` ->
    ``Ingrid Itakura``); else, for one word, a place qualifier put before it (``North Ajax``)."""
    words = name.split()
    numbers = [i for i, w in enumerate(words) if any(c.isdigit() for c in w)]
    if numbers:
        i = rng.choice(numbers)
        words[i] = re.sub(r"\d+", lambda m: _other_number(m.group(), rng), words[i], count=1)
        return " ".join(words)
    kinds = _split(ORG_SUFFIXES, "|")
    if len(words) > 1 and words[-1] in kinds:
        words[-1] = rng.choice([k for k in kinds if k != words[-1]])
        return " ".join(words)
    if len(words) > 1:
        first = [f for f in _split(FIRST_NAMES) if edit_distance(f.lower(), words[0].lower()) >= 2]
        return " ".join([rng.choice(first), *words[1:]])
    return f"{rng.choice(('North', 'New', 'Upper', 'Old'))} {name}"


def _other_number(digits: str, rng: random.Random) -> str:
    """Another number of as many digits (a year stays a plausible year)."""
    value = int(digits)
    while True:
        other = value + rng.choice((-1, 1)) * rng.randint(1, 9 if len(digits) < 4 else 30)
        if other >= 0 and other != value and len(str(other)) <= len(digits):
            return str(other).zfill(len(digits))


def perturb(entity: str, relation: str, rng: random.Random) -> str:
    """A lookup text the model might write for the key (entity, relation): one or two of a typo in
    the entity, the relation reworded, the words reordered; sometimes recased."""
    edits = rng.sample(("typo", "reword", "order"), k=rng.choice((1, 1, 2)))
    if "typo" in edits:
        entity = misspell(entity, rng) or entity
    if "reword" in edits:
        relation = reword(relation, rng) or relation.lower()
    if "order" in edits:
        text = rng.choice((f"{relation} of {entity}", f"{entity}'s {relation}", f"{entity} - {relation}"))
    else:
        text = f"{entity} {relation}"
    roll = rng.random()
    if roll < 0.2:
        text = text.lower()
    elif roll < 0.3:
        text = text.upper()
    return text
