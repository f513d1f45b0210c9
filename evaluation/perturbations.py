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

from lmlm.kg.facts import normalize_key

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
    a random one with it); else ``X of Y`` becomes ``Y X`` and two words ``X Y`` become
    ``Y of X``; else each word in :data:`WORD_SYNONYMS` is replaced.
    """
    low = relation.replace("\\'", "'").lower()
    words = low.split()
    if low in RELATION_SYNONYMS:
        synonyms = RELATION_SYNONYMS[low]
        text = rng.choice(synonyms) if rng is not None else synonyms[0]
    elif " of " in low:
        head, _, tail = low.partition(" of ")
        text = f"{tail} {head}"
    elif len(words) == 2 and words[0] not in ("of", "in"):
        text = f"{words[1]} of {words[0]}"
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
    """``name`` with a :func:`typo` in its longest word (ties broken at random), or None when no
    word has four letters."""
    words = name.split()
    if not words:
        return None
    j = max(range(len(words)), key=lambda w: len(words[w]) + rng.random())
    if len(words[j]) < 4:
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
