"""The shipped cross-encoder: reads a question and a sentence together, gives one logit.

The weights are an ONNX int8 export of all-MiniLM-L6-v2 fine-tuned by
``python -m eval.train_ranker``; they live in ``embeddings/models/ranker/`` beside their
``manifest.json`` (training data and SHA-256, seed, validation figures). Nothing is
downloaded: a missing or damaged file raises :class:`RankerError` saying how to restore it.
The model is loaded once per process (:func:`load_ranker`).
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_RANKER = Path(__file__).resolve().parent / "models" / "ranker"
_cache: dict[str, CrossEncoderRanker] = {}
_lock = threading.Lock()


class RankerError(RuntimeError):
    """A shipped model (the ranker, the reader) is missing, damaged, or cannot run here."""


class CrossEncoderRanker:
    """Scores (question, sentence) pairs with an exported cross-encoder.

    Args:
        folder: A folder written by ``eval.train_ranker``: ``manifest.json``, the ONNX file
            it names and the tokenizer files.
        threads: ONNX Runtime intra-op threads (1: a query's batch is small, and a pool that
            spins between calls takes cores from the rest of the request).
        check: Verify the ONNX file's SHA-256 against the manifest.

    Raises:
        RankerError: The folder, its manifest or its model file is missing or damaged, or
            ONNX Runtime is not installed.

    Example:
        >>> r = load_ranker()  # doctest: +SKIP
        >>> r.score("Who won?", ["Smith won the race.", "It rained."])  # doctest: +SKIP
        array([ 5.1, -6.3], dtype=float32)
    """

    def __init__(
        self, folder: str | Path = DEFAULT_RANKER, threads: int = 1, check: bool = True
    ) -> None:
        self.folder = Path(folder)
        fix = (
            "restore it with `git checkout -- embeddings/models/ranker` or retrain it with "
            "`python -m eval.train_ranker`"
        )
        self.manifest, self.session, self.tokenizer = open_onnx_model(
            self.folder, "ranker", fix, threads, check
        )
        self.max_length = int(self.manifest.get("max_length", 128))
        self.tokenizer.enable_truncation(self.max_length, strategy="longest_first")
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")

    def score(self, question: str, sentences: list[str]) -> np.ndarray:
        """One logit per sentence: how well it answers ``question`` (higher is better).

        Args:
            question: The question.
            sentences: Candidate sentences.

        Returns:
            float32 array of ``len(sentences)`` logits; ``sigmoid`` of one is the model's
            probability that the sentence answers the question.
        """
        if not sentences:
            return np.zeros(0, dtype=np.float32)
        enc = self.tokenizer.encode_batch([(question, s) for s in sentences])
        feed = {
            "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64),
        }
        return np.asarray(self.session.run(None, feed)[0], dtype=np.float32).reshape(-1)


def open_onnx_model(
    folder: Path, what: str, fix: str, threads: int = 1, check: bool = True
) -> tuple[dict[str, Any], Any, Any]:
    """Open a shipped model folder: its manifest, an ONNX Runtime session over the file it
    names (SHA-256 checked against the manifest when ``check``) and its tokenizer.

    Args:
        folder: The model folder (``manifest.json``, the ONNX file, ``tokenizer.json``).
        what: The model's name in error messages ("ranker", "reader").
        fix: How to restore the folder, appended to every error.
        threads: ONNX Runtime intra-op threads (1: a query's batch is small, and a pool
            that spins between calls takes cores from the rest of the request).
        check: Verify the SHA-256.

    Raises:
        RankerError: Anything missing or damaged, or ONNX Runtime cannot load the file.
    """
    mf = folder / "manifest.json"
    if not mf.is_file():
        raise RankerError(f"{what} manifest not found: {mf}; {fix}")
    try:
        manifest: dict[str, Any] = json.loads(mf.read_text())
        model_file = folder / manifest["file"]
    except (ValueError, KeyError) as e:
        raise RankerError(f"{mf} is not a {what} manifest ({e}); {fix}") from e
    if not model_file.is_file():
        raise RankerError(f"{what} weights not found: {model_file}; {fix}")
    if check and "sha256" in manifest:
        digest = hashlib.sha256(model_file.read_bytes()).hexdigest()
        if digest != manifest["sha256"]:
            raise RankerError(
                f"{model_file} is damaged (SHA-256 {digest[:12]}..., the "
                f"manifest says {manifest['sha256'][:12]}...); {fix}"
            )
    try:
        import onnxruntime as ort
        from tokenizers import Tokenizer
    except ImportError as e:  # pragma: no cover - both are dependencies
        raise RankerError(f"the {what} needs onnxruntime and tokenizers ({e})") from e
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    try:
        session = ort.InferenceSession(str(model_file), opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own exception types
        raise RankerError(f"{model_file} could not be loaded ({e}); {fix}") from e
    return manifest, session, tokenizer


def load_ranker(folder: str | Path = DEFAULT_RANKER) -> CrossEncoderRanker:
    """The ranker in ``folder``, loaded once per process and cached after."""
    key = str(Path(folder).resolve())
    with _lock:
        if key not in _cache:
            _cache[key] = CrossEncoderRanker(folder)
        return _cache[key]
