"""Lookup decoding on vLLM (GPU), with vLLM's stop tokens: ``pip install 'lmlm-kg[vllm]'``.

Each round submits every open row as token ids (prompt + everything generated and injected so
far) with ``<|db_return|>`` as a stop token; rows that stopped on it are resolved together in one
call of the lookup function, get the value and ``<|db_end|>`` appended as token ids (nothing is
re-tokenized) and go into the next round. vLLM's prefix cache keeps the resubmitted prefix from
being recomputed. The row bookkeeping (text-token budget, broken lookups, records, output) is the
HF decoder's, so the results have the same shape and meaning.

Differences from ``LookupDecoder``: grammar constraints (``constrain``) are not applied inside a
round (vLLM has no per-step hook for them); ``max_lookups`` suppresses the opener from the round
after the cap is reached; sampling follows vLLM's samplers, so only greedy decoding is comparable
token for token.
"""

from __future__ import annotations

from collections.abc import Sequence

from .answers import LookupFn
from .decoding_args import DecodingArgs
from .lookup_rows import LookupRows, _Row
from .lookup_state import Action
from .results import GenerationOutput


class VLLMLookupDecoder(LookupRows):
    """``VLLMLookupDecoder(model_path, lookup_fn, DecodingArgs(...)).generate(prompts)``."""

    def __init__(self, model, lookup_fn: LookupFn | None, args: DecodingArgs | None = None, **llm_kwargs):
        try:
            from vllm import LLM
        except ImportError as e:  # the extra is optional
            raise ImportError("vLLM decoding needs the vllm extra: pip install 'lmlm-kg[vllm]'") from e
        self.llm = (
            model
            if isinstance(model, LLM)
            else LLM(model=str(model), enable_prefix_caching=True, **llm_kwargs)
        )
        super().__init__(self.llm.get_tokenizer(), lookup_fn, args or DecodingArgs())

    def generate(self, prompts: Sequence[str]) -> list[GenerationOutput]:
        rows = [self._new_row(p, self.tokenizer(p)["input_ids"]) for p in prompts]
        open_rows = list(rows)
        while open_rows:
            outputs = self.llm.generate(
                [{"prompt_token_ids": row.prompt_ids + row.state.generated} for row in open_rows],
                [self._params(row) for row in open_rows],
                use_tqdm=False,
            )
            pending, chunks = [], []
            for row, out in zip(open_rows, outputs):
                action = Action.CONTINUE
                for token in out.outputs[0].token_ids:
                    action = row.state.push(token)
                    if action is not Action.CONTINUE:
                        break
                if action is Action.LOOKUP:
                    pending.append(row)
                    chunks.append([])
                elif action is Action.CLOSE:
                    row.state.injected([self.token_ids.end], counted=False)
                elif action is Action.CONTINUE and out.outputs[0].finish_reason == "length":
                    row.state.finish_reason = "length"  # the round's token cap: a row stuck in a lookup
            if pending:
                self._resolve(pending, chunks)
            open_rows = [row for row in open_rows if not row.state.finished]
        return [self._finish(row) for row in rows]

    def _params(self, row: _Row):
        from vllm import SamplingParams

        args, ids = self.args, self.token_ids
        by_token = ids.by_token()
        bias = {by_token[token]: value for token, value in args.bias.items()}
        if args.max_lookups is not None and row.state.lookups >= args.max_lookups:
            bias[ids.start] = -100.0
        left = args.max_new_tokens - row.state.text_tokens
        return SamplingParams(
            temperature=args.temperature if args.do_sample else 0.0,
            top_p=args.top_p if args.do_sample else 1.0,
            repetition_penalty=args.repetition_penalty,
            seed=args.seed,
            max_tokens=max(1, left + args.max_query_tokens + 2),
            stop_token_ids=[ids.ret] if args.enable_lookup else [],
            ignore_eos=args.ignore_eos,
            logit_bias=bias or None,
            skip_special_tokens=False,
            spaces_between_special_tokens=False,
            detokenize=False,
        )
