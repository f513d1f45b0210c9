"""The paper's lookup loop, kept as the reference the fast decoder is checked and timed against.

One prompt at a time: tokenize the whole text, ``generate`` until ``<|db_return|>`` (or the end),
resolve the query, append the value and ``<|db_end|>`` to the text, and start again. Every
iteration re-tokenizes and re-encodes the whole prefix. It takes the same ``DecodingArgs`` and
counts text tokens and lookups with the same ``RowState`` as ``LookupDecoder``.
"""

from __future__ import annotations

import logging

import torch
from transformers import LogitsProcessor, LogitsProcessorList, StoppingCriteria, StoppingCriteriaList

from lmlm.kg.syntax import DB_END, DB_START, parse_pending_lookup

from .generation import DecodingArgs, LookupFn
from .lookup_state import Action, LookupTokenIds, RowState
from .results import GenerationOutput, LookupRecord, build_output

logger = logging.getLogger(__name__)


class _LookupBias(LogitsProcessor):
    def __init__(self, ids, values, state: RowState, ids_of: LookupTokenIds, cap, constrain: bool):
        self.ids, self.values, self.state, self.start, self.cap = ids, values, state, ids_of.start, cap
        self.constrain = constrain

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        scores = scores.clone()
        for token, value in zip(self.ids, self.values):
            scores[:, token] += value
        if self.cap is not None and self.state.lookups >= self.cap:
            scores[:, self.start] = float("-inf")
        if self.constrain:
            scores[:, list(self.state.forbidden())] = float("-inf")
        return scores


class _FollowState(StoppingCriteria):
    """Feeds each new token to the row state; stops when the state says the row is done."""

    def __init__(self, state: RowState):
        self.state = state
        self.last_action = Action.CONTINUE

    def __call__(self, input_ids: torch.LongTensor, scores, **kwargs) -> torch.BoolTensor:
        self.last_action = self.state.push(int(input_ids[0, -1]))
        done = self.state.finished or self.last_action in (Action.LOOKUP, Action.CLOSE)
        return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)


@torch.inference_mode()
def reference_generate(
    model,
    tokenizer,
    lookup_fn: LookupFn | None,
    prompt: str,
    args: DecodingArgs | None = None,
    *,
    logits_processor: LogitsProcessor | None = None,
) -> GenerationOutput:
    """One prompt through the paper's re-tokenize-and-generate loop (``logits_processor`` runs
    after the lookup-token bias, like ``LookupDecoder``'s ``logits_hook``)."""
    args = args or DecodingArgs()
    ids_of = LookupTokenIds.from_tokenizer(tokenizer)
    state = RowState(ids_of, args.max_new_tokens, args.enable_lookup, args.max_query_tokens)
    bias = args.bias
    processor = _LookupBias(
        [tokenizer.convert_tokens_to_ids(t) for t in bias],
        list(bias.values()),
        state,
        ids_of,
        args.max_lookups,
        args.constrain,
    )
    device = next(model.parameters()).device
    eos = [ids_of.eos] if not args.ignore_eos else []
    eos += [ids_of.ret] if args.enable_lookup else []
    processors = [processor] + ([logits_processor] if logits_processor is not None else [])
    text = prompt
    records: list[LookupRecord] = []
    while not state.finished:
        enc = tokenizer(text, return_tensors="pt").to(device)
        follow = _FollowState(state)
        out = model.generate(
            **enc,
            max_new_tokens=4 * args.max_new_tokens + 64,
            do_sample=args.do_sample,
            temperature=args.temperature if args.do_sample else None,
            top_p=args.top_p if args.do_sample else None,
            top_k=None,
            repetition_penalty=args.repetition_penalty,
            logits_processor=LogitsProcessorList(processors),
            suppress_tokens=[ids_of.eos] if args.ignore_eos else None,
            stopping_criteria=StoppingCriteriaList([follow]),
            eos_token_id=eos or None,
            pad_token_id=ids_of.eos,
        )
        new = out[0, enc["input_ids"].shape[1] :].tolist()
        if new and new[-1] == ids_of.eos:
            new = new[:-1]
        text += tokenizer.decode(new, skip_special_tokens=False, clean_up_tokenization_spaces=False)
        if follow.last_action is Action.LOOKUP:
            query = parse_pending_lookup(text[text.rfind(DB_START) :])
            if query is None:
                text += DB_END
                state.close_broken([ids_of.end])
                records.append(LookupRecord("", "", None, "invalid"))
                continue
            answer = lookup_fn([(query.entity, query.relation)])[0]
            value = answer.value if answer.value is not None else args.unknown_value
            text += f" {value}{DB_END}"
            state.injected(tokenizer.encode(f" {value}{DB_END}", add_special_tokens=False))
            records.append(
                LookupRecord(
                    query.entity,
                    query.relation,
                    value,
                    answer.path,
                    answer.score,
                    answer.fact_id,
                    answer.entity,
                    answer.relation,
                )
            )
        elif follow.last_action is Action.CLOSE:
            text += DB_END
            state.injected([ids_of.end], counted=False)
        elif not state.finished:
            break  # generate stopped on its own cap
    raw = text[len(prompt) :]
    return build_output(prompt, raw, records, state)
