"""Training targets token by token: LMLM masks the looked-up values, standard trains everything."""

from __future__ import annotations

import pytest

from lmlm.kg.syntax import DB_END, DB_RETURN, DB_SEP, DB_START, format_pretraining_lookup
from lmlm.train.masking import (
    IGNORE_INDEX,
    BatchPlan,
    encode_document,
    encode_documents,
    pack_arrays,
    pack_documents,
)
from lmlm.train.tokenizer import extend_tokenizer, lookup_token_ids
from tests.tiny_models import build_plain_tokenizer, build_tiny_tokenizer

VALUE = "Borussia Mönchengladbach"


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    return build_tiny_tokenizer(tmp_path_factory.mktemp("tok"))


def _ids(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False).input_ids


def _pieces(tokenizer, pieces: list[tuple[str, bool]]) -> tuple[list[int], list[bool]]:
    """Expected ids and targets, piece by piece: (text or lookup token, trained?)."""
    tokens = lookup_token_ids(tokenizer)
    ids, trained = [], []
    for text, is_trained in pieces:
        piece = [tokens[text]] if text in tokens else _ids(tokenizer, text)
        ids += piece
        trained += [is_trained] * len(piece)
    return ids + [tokenizer.eos_token_id], trained + [True]


def test_lmlm_mask_token_by_token(tokenizer):
    text = f"He played for {format_pretraining_lookup('Ko Itakura', 'Employer', VALUE)} {VALUE} then."
    expected_ids, expected_trained = _pieces(
        tokenizer,
        [
            ("He played for ", True),
            (DB_START, True),
            (" Ko Itakura", True),
            (DB_SEP, True),
            (" Employer", True),
            (DB_RETURN, True),
            (" " + VALUE, False),
            (DB_END, False),
            (f" {VALUE} then.", True),
        ],
    )
    doc = encode_document(text, tokenizer, "lmlm")
    assert list(doc.input_ids) == expected_ids
    assert list(doc.trained) == expected_trained
    assert len(_ids(tokenizer, " " + VALUE)) > 1  # the value spans several tokens
    assert doc.n_trained == sum(expected_trained)


def test_two_lookups_and_malformed_ones(tokenizer):
    first = format_pretraining_lookup("A", "R", "x y")
    text = f"{first} x y and {DB_START} B{DB_SEP} R{DB_RETURN} lost {DB_START} C{DB_SEP} R{DB_RETURN} cut off"
    expected_ids, expected_trained = _pieces(
        tokenizer,
        [
            (DB_START, True),
            (" A", True),
            (DB_SEP, True),
            (" R", True),
            (DB_RETURN, True),
            (" x y", False),
            (DB_END, False),
            (" x y and ", True),
            (DB_START, True),
            (" B", True),
            (DB_SEP, True),
            (" R", True),
            (DB_RETURN, True),
            (" lost ", False),  # never closed: masked up to the next lookup token
            (DB_START, True),
            (" C", True),
            (DB_SEP, True),
            (" R", True),
            (DB_RETURN, True),
            (" cut off", False),  # document ends inside the value; the eos still trains
        ],
    )
    doc = encode_document(text, tokenizer, "lmlm")
    assert (list(doc.input_ids), list(doc.trained)) == (expected_ids, expected_trained)


def test_standard_mode_strips_lookups_and_trains_everything(tokenizer):
    text = f"He played for {format_pretraining_lookup('Ko Itakura', 'Employer', VALUE)} {VALUE} then."
    doc = encode_document(text, tokenizer, "standard")
    assert list(doc.input_ids) == _ids(tokenizer, f"He played for {VALUE} then.") + [tokenizer.eos_token_id]
    assert all(doc.trained)
    assert not set(doc.input_ids) & set(lookup_token_ids(tokenizer).values())


def test_eos_appended_and_trained(tokenizer):
    for mode in ("lmlm", "standard"):
        doc = encode_document("short text", tokenizer, mode)
        assert doc.input_ids[-1] == tokenizer.eos_token_id and doc.trained[-1]


def test_value_cut_at_block_boundary_stays_masked(tokenizer):
    text = f"For {format_pretraining_lookup('Ko Itakura', 'Employer', VALUE)} {VALUE}."
    doc = encode_document(text, tokenizer, "lmlm")
    ret = doc.input_ids.index(lookup_token_ids(tokenizer)[DB_RETURN])
    block_size = ret + 2  # block 0 ends on the value's first token; the rest of the value opens block 1
    blocks = pack_documents([doc, doc], block_size, pad_id=tokenizer.pad_token_id)
    first, second = blocks[0], blocks[1]
    assert first.labels[-1] == IGNORE_INDEX and first.input_ids[-1] == doc.input_ids[ret + 1]
    assert second.labels[0] == IGNORE_INDEX and second.input_ids[0] == doc.input_ids[ret + 2]
    stream_ids = [i for b in blocks for i in b.input_ids]
    stream_labels = [lab for b in blocks for lab in b.labels]
    expected = [i if t else IGNORE_INDEX for i, t in zip(doc.input_ids, doc.trained)] * 2
    assert stream_ids[: len(expected)] == list(doc.input_ids) * 2
    assert stream_labels[: len(expected)] == expected


def test_last_block_padded_with_untrained_pads(tokenizer):
    doc = encode_document("one two three four five", tokenizer, "standard")
    n = len(doc.input_ids)
    blocks = pack_documents([doc], n - 1, pad_id=tokenizer.pad_token_id)
    assert len(blocks) == 2
    assert blocks[1].input_ids[1:] == (tokenizer.pad_token_id,) * (n - 2)
    assert blocks[1].labels == (doc.input_ids[-1],) + (IGNORE_INDEX,) * (n - 2)
    packed = pack_arrays([doc], n - 1, pad_id=tokenizer.pad_token_id)
    assert packed.input_ids.shape == (2, n - 1) and packed.trained.sum() == n


def test_batched_encoding_matches_single(tokenizer):
    texts = [f"{format_pretraining_lookup('E', 'R', str(i))} {i} text {i}" for i in range(7)]
    assert encode_documents(texts, tokenizer, "lmlm", batch_size=3) == [
        encode_document(t, tokenizer, "lmlm") for t in texts
    ]


def test_llama_style_bos_opens_each_document_untrained(tmp_path):
    tokenizer, _ = extend_tokenizer(build_plain_tokenizer(), tmp_path)
    doc = encode_document(f"hello {DB_START} E{DB_SEP} R{DB_RETURN} V{DB_END} V", tokenizer, "lmlm")
    assert doc.input_ids[0] == tokenizer.bos_token_id != tokenizer.eos_token_id
    assert not doc.trained[0] and doc.trained[-1] and doc.input_ids[-1] == tokenizer.eos_token_id
    assert doc.trained.count(False) == 1 + len(_ids(tokenizer, " V")) + 1  # bos, value, <|db_end|>


def test_bad_mode_block_size_and_missing_tokens(tokenizer):
    with pytest.raises(ValueError, match="--mode .*'masked'"):
        encode_document("x", tokenizer, "masked")
    with pytest.raises(ValueError, match="--block-size"):
        pack_arrays([], 1)
    plain = build_plain_tokenizer()
    with pytest.raises(ValueError, match="lacks the lookup tokens"):
        encode_document("x", plain, "lmlm")
    assert all(encode_document("x", plain, "standard").trained[1:])


def test_batch_plan_deals_each_epoch_across_processes():
    plans = [BatchPlan(10, 2, rank, 2, seed=3) for rank in range(2)]
    assert plans[0].per_rank == 5 and plans[0].per_epoch == 3
    epochs = []
    for epoch in range(2):
        seen = [i for p in plans for m in range(epoch * 3, epoch * 3 + 3) for i in p.indices(m).tolist()]
        assert sorted(seen) == list(range(10))
        epochs.append(seen)
    assert epochs[0] != epochs[1]  # a new order each epoch
    again = BatchPlan(10, 2, 0, 2, seed=3)
    assert again.indices(4).tolist() == plans[0].indices(4).tolist()  # by index: a resume needs no replay
    uneven = BatchPlan(5, 4, 1, 2, seed=0)
    assert len(uneven.indices(0)) == 3  # 5 blocks padded to 6 by wrapping; 3 per process
