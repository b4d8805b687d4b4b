"""The shipped span reader: reads a question with a sentence and its neighbours and gives
start/end logits per token, from which the short answer is read out of the sentence.

The weights are an ONNX int8 export of all-MiniLM-L6-v2 fine-tuned by
``python -m eval.train_reader``; they live in ``embeddings/models/reader/`` beside their
``manifest.json`` (training data and SHA-256, seed, validation figures). Nothing is
downloaded: a missing or damaged file raises :class:`~embeddings.ranker.RankerError`
saying how to restore it. The model is loaded once per process (:func:`load_reader`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embeddings.ranker import open_onnx_model

DEFAULT_READER = Path(__file__).resolve().parent / "models" / "reader"
MAX_ANSWER_TOKENS = 30
_cache: dict[str, SpanReader] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Span:
    """A span the reader read out of the sentence.

    Attributes:
        start: Character offset in the window (the text read) where the span begins.
        end: Character offset in the window one past its end.
        score: Its start logit plus its end logit.
        margin: ``score`` minus the no-span score (the ``[CLS]`` token's start and end
            logits): above 0 the reader holds that the sentence answers the question.
    """

    start: int
    end: int
    score: float
    margin: float


@dataclass(frozen=True)
class Reading:
    """The reader's logits over one (question, window) pair, with each token's character
    offsets in the window; only tokens inside ``[sent_start, sent_end)`` can be a span."""

    start_logits: np.ndarray
    end_logits: np.ndarray
    offsets: list[tuple[int, int]]
    inside: np.ndarray  # bool per token: a token of the sentence
    sent_start: int = 0  # where the sentence begins in the window

    @property
    def null(self) -> float:
        """The no-span score: the [CLS] token's start plus end logit."""
        return float(self.start_logits[0] + self.end_logits[0])

    def best(self, max_tokens: int = MAX_ANSWER_TOKENS) -> Span | None:
        """The highest-scoring span inside the sentence, or None when it has no tokens."""
        idx = np.flatnonzero(self.inside)
        if not len(idx):
            return None
        s = self.start_logits[idx]
        e = self.end_logits[idx]
        grid = s[:, None] + e[None, :]
        pos = idx[:, None], idx[None, :]
        ok = (pos[1] >= pos[0]) & (pos[1] - pos[0] < max_tokens)
        grid = np.where(ok, grid, -np.inf)
        i, j = np.unravel_index(int(np.argmax(grid)), grid.shape)
        a, b = int(idx[i]), int(idx[j])
        score = float(grid[i, j])
        return Span(self.offsets[a][0], self.offsets[b][1], score, score - self.null)

    def score(self, start: int, end: int) -> Span | None:
        """The reader's score for the given character span of the window: its first token's
        start logit plus its last token's end logit; None when no token lies inside it."""
        toks = [
            t for t, (a, b) in enumerate(self.offsets) if self.inside[t] and a < end and b > start
        ]
        if not toks:
            return None
        score = float(self.start_logits[toks[0]] + self.end_logits[toks[-1]])
        return Span(start, end, score, score - self.null)


def reading_from(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    offsets: Sequence[Sequence[int]],
    sequence_ids: Sequence[int | None],
    sent_start: int,
    sent_end: int,
) -> Reading:
    """A :class:`Reading` from a model's logits over one encoded (question, window) pair:
    each token's character offsets in its own sequence and its sequence id (0 the question,
    1 the window, None a special token); spans limited to ``[sent_start, sent_end)`` of the
    window."""
    offs = [(int(o[0]), int(o[1])) for o in offsets]
    inside = np.array(
        [
            sid == 1 and b > a and a >= sent_start and b <= sent_end
            for (a, b), sid in zip(offs, sequence_ids)
        ],
        dtype=bool,
    )
    return Reading(
        np.asarray(start_logits, dtype=np.float32),
        np.asarray(end_logits, dtype=np.float32),
        offs,
        inside,
        sent_start,
    )


class SpanReader:
    """Reads short answers out of sentences with an exported extractive-QA model.

    Args:
        folder: A folder written by ``eval.train_reader``: ``manifest.json``, the ONNX file
            it names and the tokenizer files.
        threads: ONNX Runtime intra-op threads.
        check: Verify the ONNX file's SHA-256 against the manifest.

    Raises:
        RankerError: The folder, its manifest or its model file is missing or damaged.

    Example:
        >>> r = load_reader()  # doctest: +SKIP
        >>> w = "Officials met on Monday. The fight will last two months, he said."
        >>> s = r.read("How long will the fight last?", w, 25, len(w))  # doctest: +SKIP
        >>> w[s.start : s.end]  # doctest: +SKIP
        'two months'
    """

    def __init__(
        self, folder: str | Path = DEFAULT_READER, threads: int = 1, check: bool = True
    ) -> None:
        self.folder = Path(folder)
        fix = (
            "restore it with `git checkout -- embeddings/models/reader` or retrain it with "
            "`python -m eval.train_reader`"
        )
        self.manifest, self.session, self.tokenizer = open_onnx_model(
            self.folder, "reader", fix, threads, check
        )
        self.max_length = int(self.manifest.get("max_length", 192))
        from tokenizers import Tokenizer

        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self._question_tokenizer = Tokenizer.from_str(self.tokenizer.to_str())
        self.tokenizer.enable_truncation(self.max_length, strategy="only_second")

    def reading(self, question: str, window: str, sent_start: int, sent_end: int) -> Reading:
        """The reader's logits for ``question`` against ``window``, spans limited to
        ``window[sent_start:sent_end]`` (the sentence; the rest is context)."""
        # a question of more than a third of the budget is cut (the window must fit too)
        q = self._question_tokenizer.encode(question, add_special_tokens=False)
        if len(q.ids) > self.max_length // 3:
            question = question[: q.offsets[self.max_length // 3 - 1][1]]
        enc = self.tokenizer.encode(question, window)
        feed = {
            "input_ids": np.array([enc.ids], dtype=np.int64),
            "attention_mask": np.array([enc.attention_mask], dtype=np.int64),
            "token_type_ids": np.array([enc.type_ids], dtype=np.int64),
        }
        start, end = self.session.run(None, feed)
        return reading_from(start[0], end[0], enc.offsets, enc.sequence_ids, sent_start, sent_end)

    def read(self, question: str, window: str, sent_start: int, sent_end: int) -> Span:
        """The best span of the sentence ``window[sent_start:sent_end]`` for ``question``
        (an empty span at ``sent_start`` with margin -inf when the sentence has no tokens)."""
        span = self.reading(question, window, sent_start, sent_end).best()
        return span or Span(sent_start, sent_start, float("-inf"), float("-inf"))


def load_reader(folder: str | Path = DEFAULT_READER) -> SpanReader:
    """The reader in ``folder``, loaded once per process and cached after."""
    key = str(Path(folder).resolve())
    with _lock:
        if key not in _cache:
            _cache[key] = SpanReader(folder)
        return _cache[key]
