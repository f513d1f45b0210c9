"""FActScore-style factual precision through an OpenAI-compatible chat model.

For users with an API (OpenAI, or any server speaking the chat-completions format: vLLM, a local
gateway). Per generation about a topic (a person):

1. **atomic facts**: each sentence goes to the model with FActScore's instruction ("Please breakdown
   the following sentence into independent facts"), answered as ``- fact`` lines;
2. **support**: each fact goes to the model with the topic's passages (FActScore's retrieve +
   ChatGPT judge: ``Answer the question about TOPIC based on the given context ... True or False?``);
   the answer is read as FActScore reads it (:func:`read_verdict`);
3. **score**: a generation's precision is supported / facts; FActScore is the mean over the
   generations with at least one fact, and with ``gamma`` (10, as the paper) each precision is
   multiplied by the length penalty ``exp(1 - gamma / n)`` when it has ``n < gamma`` facts
   (Min et al., 2023, section 4.4). Generations without facts count as abstentions.

Passages come with the input (``passages``: a list of strings) or, for a generated world, are the
topic's facts written as sentences (:func:`world_passages`). The API key comes only from the
environment (``OPENAI_API_KEY``, or the variable ``api_key_env`` names); ``base_url`` (or
``OPENAI_BASE_URL``) points at another server.
"""

from __future__ import annotations

import logging
import math
import os
import re
import string
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from lmlm.kg.errors import InputFormatError

from .entry_point import write_json
from .world_sets import read_jsonl

logger = logging.getLogger(__name__)

EXTRACT_PROMPT = (
    "Please breakdown the following sentence into independent facts. "
    "Write one fact per line, each starting with '- '.\n\n"
    "Sentence: He made his acting debut in the film The Moon is the Sun's Dream (1992), and continued "
    "to appear in small and supporting roles throughout the 1990s.\n"
    "- He made his acting debut in the film.\n- He made his acting debut in The Moon is the Sun's Dream.\n"
    "- The Moon is the Sun's Dream is a film.\n- The Moon is the Sun's Dream was released in 1992.\n"
    "- After his acting debut, he appeared in small and supporting roles.\n"
    "- After his acting debut, he appeared in small and supporting roles throughout the 1990s.\n\n"
    "Sentence: {sentence}\n"
)
JUDGE_PROMPT = (
    "Answer the question about {topic} based on the given context.\n\n"
    "Title: {topic}\nText: {passages}\n\n"
    "Input: {fact} True or False?\nOutput:"
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class FactScoreArgs:
    """The judge model and the scoring (``lmlm eval factscore``)."""

    model: str = field(default="gpt-4o-mini", metadata={"help": "chat model that extracts and judges facts"})
    base_url: str = field(
        default="", metadata={"help": "OpenAI-compatible server (default: $OPENAI_BASE_URL or OpenAI)"}
    )
    api_key_env: str = field(
        default="OPENAI_API_KEY", metadata={"help": "environment variable holding the API key"}
    )
    gamma: int = field(
        default=10, metadata={"help": "length penalty: facts below which a score is damped (0: off)"}
    )
    max_sentences: int = field(
        default=20, metadata={"help": "sentences of each generation sent for extraction"}
    )
    timeout: float = field(default=60.0, metadata={"help": "seconds per request"})

    def __post_init__(self) -> None:
        if self.gamma < 0 or self.max_sentences < 1 or self.timeout <= 0:
            raise ValueError(
                f"--gamma must be >= 0, --max-sentences >= 1, --timeout > 0; got {self.gamma}, "
                f"{self.max_sentences}, {self.timeout}"
            )


@dataclass(frozen=True)
class GenerationFacts:
    topic: str
    facts: tuple[str, ...]
    supported: tuple[bool, ...]

    @property
    def precision(self) -> float | None:
        return sum(self.supported) / len(self.facts) if self.facts else None


def length_penalty(n_facts: int, gamma: int) -> float:
    """FActScore's ``exp(1 - gamma / n)`` for ``n < gamma`` facts, else 1."""
    if not gamma or n_facts >= gamma:
        return 1.0
    return math.exp(1 - gamma / n_facts)


def aggregate(results: Sequence[GenerationFacts], gamma: int) -> dict:
    """FActScore over generations: with and without the length penalty, abstentions apart."""
    answered = [r for r in results if r.facts]
    raw = [r.precision for r in answered]
    damped = [r.precision * length_penalty(len(r.facts), gamma) for r in answered]

    def mean(xs):
        return round(sum(xs) / len(xs), 4) if xs else None

    return {
        "generations": len(results),
        "responded": len(answered),
        "facts_per_response": round(sum(len(r.facts) for r in answered) / max(1, len(answered)), 3),
        "supported": sum(sum(r.supported) for r in answered),
        "facts": sum(len(r.facts) for r in answered),
        "factscore": mean(damped),
        "factscore_no_penalty": mean(raw),
        "gamma": gamma,
    }


def read_verdict(reply: str) -> bool:
    """FActScore's reading of the judge's answer: "true" without "false" (or the later of the two);
    with neither, supported unless it says not/cannot/unknown/information."""
    reply = reply.lower()
    if "true" in reply and "false" in reply:
        return reply.index("true") > reply.index("false")
    if "true" in reply or "false" in reply:
        return "true" in reply
    words = reply.translate(str.maketrans("", "", string.punctuation)).split()
    return not any(w in words for w in ("not", "cannot", "unknown", "information"))


class FactScorer:
    """Extracts and judges facts through a chat-completions endpoint (the ``openai`` package)."""

    def __init__(self, args: FactScoreArgs, client=None):
        self.args = args
        self.client = client or self._client(args)
        self.requests = 0

    @staticmethod
    def _client(args: FactScoreArgs):
        from openai import OpenAI

        key = os.environ.get(args.api_key_env)
        if not key:
            raise ValueError(
                f"no API key: set ${args.api_key_env} (credentials come only from the environment)"
            )
        base_url = args.base_url or os.environ.get("OPENAI_BASE_URL") or None
        return OpenAI(api_key=key, base_url=base_url, timeout=args.timeout, max_retries=2)

    def _ask(self, prompt: str) -> str:
        self.requests += 1
        response = self.client.chat.completions.create(
            model=self.args.model,
            messages=[{"role": "user", "content": prompt}],
            temperature=0,
            max_tokens=512,
        )
        return response.choices[0].message.content or ""

    def atomic_facts(self, text: str) -> list[str]:
        sentences = [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]
        facts: list[str] = []
        for sentence in sentences[: self.args.max_sentences]:
            reply = self._ask(EXTRACT_PROMPT.format(sentence=sentence))
            facts += [
                line[2:].strip() for line in reply.splitlines() if line.startswith("- ") and line[2:].strip()
            ]
        return facts

    def is_supported(self, topic: str, fact: str, passages: Sequence[str]) -> bool:
        return read_verdict(
            self._ask(JUDGE_PROMPT.format(topic=topic, passages="\n".join(passages), fact=fact))
        )

    def score(self, topic: str, text: str, passages: Sequence[str]) -> GenerationFacts:
        facts = self.atomic_facts(text)
        return GenerationFacts(
            topic, tuple(facts), tuple(self.is_supported(topic, f, passages) for f in facts)
        )


def world_passages(world, topic: str) -> list[str]:
    """The topic's facts in the generated world as sentences (the knowledge source FActScore retrieves)."""
    facts = world.entity_facts.get(topic, {})
    return [f"{topic}: {relation} is {value}." for relation, value in facts.items()]


def read_generations(path: str | Path) -> list[dict]:
    """JSONL records with ``topic`` and ``output`` (``precision_outputs.jsonl`` is one), optional
    ``passages`` (a list of strings) and ``system``."""
    records = read_jsonl(Path(path))
    for number, r in enumerate(records, start=1):
        if not isinstance(r.get("topic"), str) or not isinstance(r.get("output"), str):
            raise InputFormatError(str(path), f"record {number}", "needs string fields 'topic' and 'output'")
        if "passages" in r and not (
            isinstance(r["passages"], list) and all(isinstance(p, str) for p in r["passages"])
        ):
            raise InputFormatError(str(path), f"record {number}", "'passages' must be a list of strings")
    return records


def run_factscore(
    args: FactScoreArgs,
    generations: str | Path,
    out_dir: str | Path,
    *,
    world_dir: str = "",
    limit: int = 0,
    client=None,
    show_progress: bool = True,
) -> dict:
    """Scores each system's generations; writes factscore.json (per system and per generation)."""
    records = read_generations(generations)
    world = None
    if any("passages" not in r for r in records):
        if not world_dir:
            raise ValueError(f"{generations}: records without 'passages' need --world (the knowledge source)")
        from .world_sets import WorldSets

        world = WorldSets(world_dir).world
    by_system: dict[str, list[dict]] = {}
    for r in records:
        by_system.setdefault(str(r.get("system", "model")), []).append(r)
    scorer = FactScorer(args, client)
    report: dict = {"settings": {**asdict(args), "generations": str(generations)}, "systems": {}}
    for system, rows in by_system.items():
        rows = rows[:limit] if limit else rows
        results = []
        for r in tqdm(rows, desc=f"factscore {system}", disable=not show_progress):
            passages = r["passages"] if "passages" in r else world_passages(world, r["topic"])
            results.append(scorer.score(r["topic"], r["output"], passages))
        report["systems"][system] = aggregate(results, args.gamma) | {
            "items": [
                {"topic": g.topic, "facts": list(g.facts), "supported": list(g.supported)} for g in results
            ]
        }
    report["requests"] = scorer.requests
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "factscore.json", report)
    return report
