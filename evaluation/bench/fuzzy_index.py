"""Fuzzy index benchmark on generated keys: encoding speed, build rate, size, recall and latency.

    python -m lmlm.evaluation.bench.fuzzy_index --keys 20000,100000 --out results/bench/fuzzy.json

Keys are "{entity} {relation}" strings like the store's: generated person, organisation, place and
work names, each with a few relations drawn (with the paper's frequencies) from the relations of
the paper's annotator database when it is present, else from a built-in list. Queries are
perturbed keys, as the language model would write them: a typo in the entity, the relation
reworded, the words reordered, the case changed.

Every speed figure has its baseline measured in the same run: the fast encoder against plain fp32
``SentenceTransformer.encode`` (taking turns, so load from other processes hits both alike), the
compressed index against flat (size, recall@1 of flat's top-1, latency). The sizes are prefixes of
one key set, encoded once; a size's build rate is that encoding rate plus its measured ``add``
(training included). Prints a table and writes JSON. ``--keys 1000000`` needs about 4 GB of memory
and 15-20 minutes on the 2-core machine, most of it encoding.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
from tqdm import tqdm

from lmlm.kg.embedding import Embedder, default_model_path
from lmlm.kg.vector_index import COMPRESSED_KIND, VectorIndex

PAPER_DATABASE = Path("/work/shared/data/lmlm-paper/dwiki-eval100-annotator_database.json")

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
    "birth place": ["birthplace", "place of birth", "born in"],
    "occupation": ["profession", "job", "career", "works as"],
    "date of birth": ["birth date", "born on", "birthday", "DOB"],
    "birth date": ["date of birth", "born on", "birthday"],
    "date of death": ["death date", "died on"],
    "death date": ["date of death", "died on"],
    "place of death": ["death place", "died in"],
    "death place": ["place of death", "died in"],
    "spouse": ["wife", "husband", "married to", "partner"],
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
    "employer": ["works for", "employed by", "company"],
    "award received": ["award", "prize won", "honours"],
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


def read_relations() -> tuple[list[str], list[float]]:
    """Relation names and sampling weights: the paper's (by their use in its triples) or the built-in list."""
    if PAPER_DATABASE.exists():
        db = json.loads(PAPER_DATABASE.read_text(encoding="utf-8"))
        counts = Counter(t[1] for t in db.get("triplets", []))
        names = [r.replace("\\'", "'") for r in db["relationships"]]
        weights = [1.0 + counts.get(r, 0) for r in db["relationships"]]
        return names, weights
    names = [r.strip() for r in BUILTIN_RELATIONS.split("|")]
    # Zipf-like: the first relations of the list (Birthplace, Occupation, ...) are the common ones.
    return names, [1.0 / (rank + 1) ** 0.7 for rank in range(len(names))]


@dataclass(frozen=True)
class GeneratedKey:
    entity: str
    relation: str

    @property
    def text(self) -> str:
        return f"{self.entity} {self.relation}"


def _split(block: str, sep: str | None = None) -> list[str]:
    return [w.strip() for w in block.split(sep) if w.strip()]


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


def generate_keys(n: int, seed: int = 0) -> list[GeneratedKey]:
    """``n`` distinct (entity, relation) keys; an entity has 1-12 relations (about 5 on average)."""
    rng = random.Random(seed)
    names = NameGenerator(rng)
    relations, weights = read_relations()
    seen_entities: set[str] = set()
    keys: list[GeneratedKey] = []
    with tqdm(total=n, desc="generate keys", unit=" keys", disable=n < 50_000) as bar:
        while len(keys) < n:
            entity = names.entity()
            if entity in seen_entities:
                continue
            seen_entities.add(entity)
            count = min(12, 1 + int(rng.expovariate(1 / 4)), n - len(keys))
            chosen = {r for r in rng.choices(relations, weights, k=count)}
            keys.extend(GeneratedKey(entity, r) for r in sorted(chosen))
            bar.update(len(chosen))
    return keys[:n]


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


def reword(relation: str, rng: random.Random) -> str:
    """Another way to say the relation: a synonym, else the words rearranged around "of"."""
    low = relation.lower()
    if low in RELATION_SYNONYMS:
        return rng.choice(RELATION_SYNONYMS[low])
    words = relation.split()
    if " of " in low:
        head, _, tail = low.partition(" of ")
        return f"{tail} {head}"
    if len(words) == 2:
        return f"{words[1]} of {words[0]}"
    return low


def perturb(key: GeneratedKey, rng: random.Random) -> str:
    """A lookup the model might write for ``key``: one or two of typo, reworded relation, reordered, recased."""
    entity, relation = key.entity, key.relation
    edits = rng.sample(("typo", "reword", "order"), k=rng.choice((1, 1, 2)))
    if "typo" in edits:
        words = entity.split()
        j = max(range(len(words)), key=lambda w: len(words[w]) + rng.random())
        words[j] = typo(words[j], rng)
        entity = " ".join(words)
    if "reword" in edits:
        relation = reword(relation, rng)
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


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class FuzzyBenchArgs:
    keys: str = field(
        default="20000,100000", metadata={"help": "index sizes, comma-separated (e.g. 20000,100000,1000000)"}
    )
    queries: int = field(default=2000, metadata={"help": "perturbed queries for recall (encoded in batches)"})
    latency_queries: int = field(
        default=300, metadata={"help": "queries timed one by one, encoding included"}
    )
    encode_sample: int = field(
        default=10000, metadata={"help": "keys encoded by both fp32 and the fast path"}
    )
    compressed_kind: str = field(default=COMPRESSED_KIND, metadata={"help": "compressed index kind to test"})
    seed: int = field(default=0, metadata={"help": "random seed for keys and queries"})
    out: str = field(default="results/bench/fuzzy.json", metadata={"help": "JSON output file"})

    def __post_init__(self) -> None:
        try:
            sizes = [int(s.replace("_", "")) for s in self.keys.split(",")]
        except ValueError as e:
            raise ValueError(f"--keys must be comma-separated integers, got {self.keys!r}") from e
        if not sizes or min(sizes) < 100:
            raise ValueError(f"--keys sizes must be >= 100, got {self.keys!r}")
        for name in ("queries", "latency_queries", "encode_sample"):
            if getattr(self, name) < 10:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 10, got {getattr(self, name)}")

    @property
    def sizes(self) -> list[int]:
        return [int(s.replace("_", "")) for s in self.keys.split(",")]


def bench_encoders(texts: list[str], fast: Embedder, rounds: int = 5) -> dict:
    """Plain fp32 ``SentenceTransformer.encode`` against the fast path, on the same texts.

    The encoders take turns on slices of ``texts`` (``rounds`` turns each), so load from other
    processes on a shared machine falls on all of them alike and the ratios stay meaningful.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    plain = SentenceTransformer(str(default_model_path()), device="cpu")  # defaults: fp32, batch 32
    fp32 = Embedder(precision="fp32")  # this module's path without bf16
    encoders = {
        "st_fp32": lambda batch: plain.encode(batch, normalize_embeddings=True),
        "embedder_fp32": fp32.encode,
        "fast": fast.encode,
    }
    for encode in encoders.values():
        encode(texts[:256])  # model load and first-call allocations excluded
    seconds = dict.fromkeys(encoders, 0.0)
    vecs: dict[str, list[np.ndarray]] = {name: [] for name in encoders}
    step = -(-len(texts) // rounds)
    for lo in tqdm(range(0, len(texts), step), desc="encode fp32 vs fast", unit=" rounds"):
        for name, encode in encoders.items():
            start = time.perf_counter()
            vecs[name].append(encode(texts[lo : lo + step]))
            seconds[name] += time.perf_counter() - start
    ref, out = np.concatenate(vecs["st_fp32"]), np.concatenate(vecs["fast"])
    cos = (ref * out).sum(axis=1)
    # top-1 neighbour agreement: each of the first 2000 texts' nearest other text, fp32 vs fast
    m = min(2000, len(texts))
    sim_ref, sim_fast = ref[:m] @ ref.T, out[:m] @ out.T
    np.fill_diagonal(sim_ref[:, :m], -2.0)
    np.fill_diagonal(sim_fast[:, :m], -2.0)
    agree = float((sim_ref.argmax(axis=1) == sim_fast.argmax(axis=1)).mean())
    single: dict[str, list[float]] = {"st_fp32": [], "fast": []}
    for text in texts[:200]:
        for name in single:
            start = time.perf_counter()
            encoders[name]([text])
            single[name].append((time.perf_counter() - start) * 1000)
    rate = {name: len(texts) / s for name, s in seconds.items()}
    return {
        "sample": len(texts),
        "fast_precision": fast.dtype_name,
        "st_fp32_keys_per_s": round(rate["st_fp32"]),
        "embedder_fp32_keys_per_s": round(rate["embedder_fp32"]),
        "fast_keys_per_s": round(rate["fast"]),
        "speedup_vs_st_fp32": round(rate["fast"] / rate["st_fp32"], 2),
        "speedup_vs_embedder_fp32": round(rate["fast"] / rate["embedder_fp32"], 2),
        "cosine_mean": round(float(cos.mean()), 6),
        "cosine_min": round(float(cos.min()), 6),
        "top1_neighbour_agreement": round(agree, 4),
        "single_encode_ms_p50": round(percentile(single["fast"], 0.5), 2),
        "single_encode_ms_p95": round(percentile(single["fast"], 0.95), 2),
        "st_fp32_single_encode_ms_p50": round(percentile(single["st_fp32"], 0.5), 2),
        "st_fp32_single_encode_ms_p95": round(percentile(single["st_fp32"], 0.95), 2),
    }


def bench_size(
    keys: list[GeneratedKey],
    vecs: np.ndarray,
    encode_rate: float,
    args: FuzzyBenchArgs,
    embedder: Embedder,
    rng: random.Random,
) -> dict:
    """Flat against compressed on the first ``len(keys)`` keys (their vectors precomputed)."""
    n = len(keys)
    ids = np.arange(n, dtype=np.int64)
    encode_s = n / encode_rate
    sources = rng.sample(range(n), min(args.queries, n))
    queries = [perturb(keys[i], rng) for i in sources]
    qvecs = embedder.encode(queries)
    out: dict = {"keys": n}
    top1: dict[str, np.ndarray] = {}
    for kind in ("flat", args.compressed_kind):
        index = VectorIndex(embedder, kind)
        start = time.perf_counter()
        index.add_vectors(ids, vecs)  # one call: a compressed index sizes its lists for what it is given
        add_s = time.perf_counter() - start
        hits = index.search_vectors(qvecs, k=1)
        top1[kind] = np.array([row[0].id if row else -1 for row in hits])
        latencies = []
        for q in queries[: args.latency_queries]:
            start = time.perf_counter()
            index.search([q], k=1)
            latencies.append((time.perf_counter() - start) * 1000)
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            index.save(tmp)
            save_s = time.perf_counter() - start
            start = time.perf_counter()
            VectorIndex.load(tmp, embedder)
            load_s = time.perf_counter() - start
        out[kind] = {
            "storage": index.storage,
            "params": index.params(),
            "add_s": round(add_s, 2),
            "build_keys_per_s": round(n / (encode_s + add_s)),  # encode at the measured rate, then add
            "bytes_per_key": round(index.bytes_per_key(), 1),
            "search_p50_ms": round(percentile(latencies, 0.5), 2),
            "search_p95_ms": round(percentile(latencies, 0.95), 2),
            "right_key_at_1": round(float((top1[kind] == np.array(sources)).mean()), 4),
            "save_s": round(save_s, 2),
            "load_s": round(load_s, 2),
        }
    out["recall_at_1_vs_flat"] = round(float((top1["flat"] == top1[args.compressed_kind]).mean()), 4)
    return out


def print_table(results: dict) -> None:
    enc = results["encoding"]
    print(
        f"\nencoding ({enc['sample']} keys, turns taken): SentenceTransformer.encode fp32 "
        f"{enc['st_fp32_keys_per_s']} keys/s, Embedder fp32 {enc['embedder_fp32_keys_per_s']}, "
        f"Embedder fast ({enc['fast_precision']}) {enc['fast_keys_per_s']} = "
        f"{enc['speedup_vs_st_fp32']}x / {enc['speedup_vs_embedder_fp32']}x; cosine to fp32 mean "
        f"{enc['cosine_mean']} min {enc['cosine_min']}; top-1 neighbour agreement "
        f"{enc['top1_neighbour_agreement']}; single query {enc['single_encode_ms_p50']} ms "
        f"(p95 {enc['single_encode_ms_p95']}; SentenceTransformer fp32 {enc['st_fp32_single_encode_ms_p50']})"
    )
    kind = results["compressed_kind"]
    header = f"{'keys':>9} {'index':>10} {'build k/s':>10} {'bytes/key':>10} {'p50 ms':>7} {'p95 ms':>7} {'right@1':>8} {'recall@1':>9}"
    print("\n" + header + "\n" + "-" * len(header))
    for row in results["sizes"]:
        for k in ("flat", kind):
            r = row[k]
            recall = f"{row['recall_at_1_vs_flat']:.4f}" if k == kind else "-"
            print(
                f"{row['keys']:>9} {k:>10} {r['build_keys_per_s']:>10} {r['bytes_per_key']:>10} "
                f"{r['search_p50_ms']:>7} {r['search_p95_ms']:>7} {r['right_key_at_1']:>8} {recall:>9}"
            )
    print(
        "\ntargets: build >= 1500 keys/s; compressed <= 256 bytes/key and recall@1 >= 0.95; single encode ~10 ms"
    )


def parse_args(argv: list[str] | None = None) -> FuzzyBenchArgs:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    for f in fields(FuzzyBenchArgs):
        parser.add_argument(
            f"--{f.name.replace('_', '-')}", type=type(f.default), default=f.default, help=f.metadata["help"]
        )
    try:
        return FuzzyBenchArgs(**vars(parser.parse_args(argv)))
    except ValueError as e:
        parser.error(str(e))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rng = random.Random(args.seed)
    all_keys = generate_keys(max(args.sizes), args.seed)
    embedder = Embedder()
    results: dict = {"args": asdict(args), "compressed_kind": args.compressed_kind}
    sample = rng.sample([k.text for k in all_keys], min(args.encode_sample, len(all_keys)))
    results["encoding"] = bench_encoders(sample, embedder)
    # Every size is a prefix of the largest, so the keys are encoded once.
    start = time.perf_counter()
    vecs = embedder.encode([k.text for k in all_keys], show_progress=True)
    rate = len(all_keys) / (time.perf_counter() - start)
    results["build_encode_keys_per_s"] = round(rate)
    results["sizes"] = [bench_size(all_keys[:n], vecs[:n], rate, args, embedder, rng) for n in args.sizes]
    print_table(results)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
