"""The paper's lookup loop, kept as the reference the fast decoder is checked and timed against.

One prompt at a time: tokenize the whole text, ``generate`` until ``<|db_return|>`` (or the end),
resolve the query, append the value and ``<|db_end|>`` to the text, and start again. Every
iteration re-tokenizes and re-encodes the whole prefix. It takes the same ``DecodingArgs`` and
counts text tokens and lookups with the same ``RowState``, applies the same logit rules
(``lmlm.model.sampling``) and records answers the same way (``lmlm.model.answers``) as
``LookupDecoder``.
"""

from __future__ import annotations

import torch
from transformers import LogitsProcessor, LogitsProcessorList, StoppingCriteria, StoppingCriteriaList

from lmlm.kg.syntax import DB_END, DB_START, parse_pending_lookup

from .answers import LookupFn, answer_lookups, entity_unwritten
from .decoding_args import DecodingArgs
from .lookup_state import Action, LookupTokenIds, RowState
from .results import GenerationOutput, LookupRecord, build_output
from .sampling import LogitRules, StepRows


class _Rules(LogitsProcessor):
    """The decoder's logit rules as a Hugging Face logits processor for one row."""

    def __init__(self, rules: LogitRules, state: RowState):
        self.rules, self.state = rules, state

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        seen = None
        if self.rules.needs_seen:
            seen = torch.zeros_like(scores, dtype=torch.bool).scatter_(1, input_ids, True)
        return self.rules(scores, StepRows([self.state], seen))


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
    after the logit rules, like ``LookupDecoder``'s ``logits_hook``)."""
    args = args or DecodingArgs()
    ids_of = LookupTokenIds.from_tokenizer(tokenizer)
    if args.enable_lookup and lookup_fn is None:
        raise ValueError("lookup decoding needs a lookup function; or pass enable_lookup=False")
    state = RowState(ids_of, args.max_new_tokens, args.enable_lookup, args.max_query_tokens)
    processors = [_Rules(LogitRules.from_args(args, ids_of), state)]
    processors += [logits_processor] if logits_processor is not None else []
    device = next(model.parameters()).device
    eos = [ids_of.eos] if not args.ignore_eos else []
    eos += [ids_of.ret] if args.enable_lookup else []
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
            repetition_penalty=1.0,  # a logit rule here, applied where generate applies its own
            logits_processor=LogitsProcessorList(processors),
            stopping_criteria=StoppingCriteriaList([follow]),
            eos_token_id=eos or None,
            pad_token_id=ids_of.eos,
        )
        new = out[0, enc["input_ids"].shape[1] :].tolist()
        if new and new[-1] == ids_of.eos:
            new = new[:-1]
        text += tokenizer.decode(new, skip_special_tokens=False, clean_up_tokenization_spaces=False)
        if follow.last_action is Action.LOOKUP:
            start = text.rfind(DB_START)
            query = parse_pending_lookup(text[start:])
            if query is None:
                text += DB_END
                state.close_broken([ids_of.end])
                records.append(LookupRecord("", "", None, "invalid"))
                continue
            if args.entities_from_context and entity_unwritten(
                query.entity, prompt, text[len(prompt) : start]
            ):
                record = LookupRecord(query.entity, query.relation, args.unknown_value, "unwritten")
            else:
                [record] = answer_lookups(lookup_fn, [query], args.unknown_value)
            text += f" {record.value}{DB_END}"
            state.injected(tokenizer.encode(f" {record.value}{DB_END}", add_special_tokens=False))
            records.append(record)
        elif follow.last_action is Action.CLOSE:
            text += DB_END
            state.injected([ids_of.end], counted=False)
        elif not state.finished:
            break  # generate stopped on its own cap
    raw = text[len(prompt) :]
    return build_output(prompt, raw, records, state)
