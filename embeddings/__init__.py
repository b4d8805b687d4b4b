"""Embedding models and their backends (stage 3, embed).

``load_model(name, backend)`` returns an :class:`EmbeddingModel`, loaded once per process
and cached per (model, backend). This package never imports ``qa``.
"""

from embeddings.base import EmbeddingModel
from embeddings.factory import BACKENDS, DEFAULT_MODEL, load_model, resolve_model_path

__all__ = ["BACKENDS", "DEFAULT_MODEL", "EmbeddingModel", "load_model", "resolve_model_path"]
