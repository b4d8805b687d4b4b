"""The default backend: sentence-transformers on torch, on the CPU unless told otherwise."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from embeddings.base import EmbeddingModel

log = logging.getLogger(__name__)


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
        self._model = SentenceTransformer(path, device=device)
        self.model_id = model_id
        self.dimension = int(self._model.get_embedding_dimension() or 0)
        self.max_tokens = int(self._model.max_seq_length)

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 32, show_progress: bool = False
    ) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # sentence-transformers sorts by length before batching, so padding is not wasted.
        vecs = self._model.encode(
            list(texts),
            batch_size=batch_size,
            show_progress_bar=show_progress,
            normalize_embeddings=True,
            convert_to_numpy=True,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)
