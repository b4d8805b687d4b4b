"""The default backend: sentence-transformers on torch, on the CPU unless told otherwise."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from embeddings.base import EmbeddingModel

log = logging.getLogger(__name__)
SMALL_BATCH = 4  # up to this many texts encode on one thread (queries)
_BATCH_THREADS: int | None = None


class SentenceTransformerModel(EmbeddingModel):
    """A sentence-transformers model run by torch (fp32).

    Args:
        path: A local model folder or a model name already in the local cache (nothing is
            downloaded: the process runs with ``HF_HUB_OFFLINE=1``).
        model_id: The id stored in index manifests.
        device: torch device; "cpu" by default.
    """

    def __init__(self, path: str, model_id: str, device: str = "cpu") -> None:
        from sentence_transformers import SentenceTransformer

        try:  # the weight-loading progress bar is noise in a CLI answer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
        except ImportError:  # pragma: no cover - older transformers
            pass
        import torch

        self._model = SentenceTransformer(path, device=device)
        # torch's thread pool spins up and down around the numpy and FAISS work of a search;
        # for one short query that costs more than a second core gains (warm search 26 ms on
        # one thread against 72 ms on two; 3k chunks, 2 cores). So the process encodes on one
        # thread, and batches (ingest) borrow every core for their duration.
        global _BATCH_THREADS
        if _BATCH_THREADS is None:  # torch's own default, read before the first change
            _BATCH_THREADS = max(1, torch.get_num_threads())
        self._batch_threads = _BATCH_THREADS
        torch.set_num_threads(1)
        self.model_id = model_id
        self.dimension = int(self._model.get_embedding_dimension() or 0)
        window = self._model.max_seq_length  # None when neither tokenizer nor config says
        if window is None:
            raise ValueError(
                f"embedding model {path!r} declares no input window (max_seq_length); set "
                "max_seq_length in its sentence_bert_config.json"
            )
        self.max_tokens = int(window)

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 32, show_progress: bool = False
    ) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        import torch

        if len(texts) > SMALL_BATCH and self._batch_threads > 1:
            torch.set_num_threads(self._batch_threads)
            try:
                return self._encode(texts, batch_size, show_progress)
            finally:
                torch.set_num_threads(1)
        return self._encode(texts, batch_size, show_progress)

    def _encode(self, texts: Sequence[str], batch_size: int, show_progress: bool) -> np.ndarray:
        # sentence-transformers sorts by length before batching, so padding is not wasted.
        vecs = self._model.encode(
            list(texts),
            batch_size=batch_size,
            show_progress_bar=show_progress,
            normalize_embeddings=True,
            convert_to_numpy=True,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)
