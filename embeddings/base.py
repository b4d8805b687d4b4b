"""The one interface every embedding backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np


class EmbeddingModel(ABC):
    """Turns texts into L2-normalised float32 vectors.

    Attributes:
        model_id: A stable id of the model and backend, stored in the index manifest so that
            an index is never searched with vectors of another model.
        dimension: The length of each vector.
        max_tokens: The model's input window in its own (wordpiece) tokens.
    """

    model_id: str
    dimension: int
    max_tokens: int

    @abstractmethod
    def encode(
        self, texts: Sequence[str], *, batch_size: int = 32, show_progress: bool = False
    ) -> np.ndarray:
        """Embed texts as a ``(len(texts), dimension)`` float32 array of unit vectors."""

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed questions (the query side of retrieval)."""
        return self.encode(texts)

    def encode_documents(
        self, texts: Sequence[str], *, batch_size: int = 32, show_progress: bool = False
    ) -> np.ndarray:
        """Embed passages (the document side of retrieval)."""
        return self.encode(texts, batch_size=batch_size, show_progress=show_progress)
