"""The lexical half of retrieval: the word tokenizer BM25 reads text with (Snowball
stemming, bm25s's English stop words), shared with the answerer, and :class:`BM25Index`, the
in-memory bm25s index that the index's FTS5 tables (:class:`qa.store.Lexical`) replaced and
are checked against (``tests/test_lexical_store.py``, ``python -m eval.lexical``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import bm25s

_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_CAMEL = re.compile(r"(?<=[a-z]{2})(?=[A-Z][a-z])")


@lru_cache(maxsize=1)
def _stemmer() -> Any:  # a Stemmer.Stemmer (PyStemmer has no type hints)
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """bm25s's English stop-word list."""
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def terms(text: str) -> list[str]:
    """Lower-cased, stop-word-free, stemmed word tokens of a text (BM25's view of it)."""
    stop = stopwords()
    text = _CAMEL.sub(" ", text)  # "SecretaryGeneral" -> "Secretary General"
    words = [w for w in _TOKEN.findall(text.lower()) if w not in stop]
    return _stemmer().stemWords(words) if words else []


# Question words say what is asked, not what the answer's text contains ("where" would
# match "the region where it was born").
_QUESTION_WORDS = (
    "what which who whom whose when where why how did does do is are was were "
    "name named kind type sort many much long often far old"
)


@lru_cache(maxsize=1)
def question_terms() -> frozenset[str]:
    """Stems of question words, left out of queries."""
    return frozenset(terms(_QUESTION_WORDS))


def query_terms(text: str) -> list[str]:
    """:func:`terms` of a question, without question words."""
    skip = question_terms()
    return [t for t in terms(text) if t not in skip]


class BM25Index:
    """BM25 scores of every row of a fixed corpus for a query (bm25s, k1 1.2, b 0.75).

    The reference :class:`qa.store.Lexical` is measured against: bm25s has no incremental
    add, so an index built on it re-indexed the whole corpus on every write.
    """

    def __init__(self, model: bm25s.BM25 | None = None, size: int = 0) -> None:
        self._model = model
        self.size = size
        self._df: np.ndarray | None = None

    @classmethod
    def build(cls, texts: Sequence[str]) -> BM25Index:
        """Index texts (one per chunk row)."""
        import bm25s

        if not texts:
            return cls(None, 0)
        model = bm25s.BM25(k1=1.2, b=0.75)
        tokens = [terms(t) or ["\x00empty"] for t in texts]
        model.index(tokens, show_progress=False)
        return cls(model, len(texts))

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every row for the query terms (zeros when no term is known)."""
        if self._model is None or self.size == 0:
            return np.zeros(self.size, dtype=np.float32)
        vocab = self._model.vocab_dict
        known = [t for t in query_terms if t in vocab]
        if not known:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._model.get_scores(known), dtype=np.float32)

    def knows(self, term: str) -> bool:
        """Whether any indexed text contains the term."""
        return self._model is not None and term in self._model.vocab_dict

    def idf(self, term: str) -> float:
        """BM25's inverse document frequency of a term; unknown terms get the rarest value."""
        n = self.size
        if self._model is None or n == 0:
            return 0.0
        if self._df is None:
            indptr = np.asarray(self._model.scores["indptr"])
            self._df = np.diff(indptr)
        j = self._model.vocab_dict.get(term)
        df = int(self._df[j]) if j is not None and j < len(self._df) else 0
        return float(np.log(1 + (n - df + 0.5) / (df + 0.5)))

    def save(self, folder: Path) -> None:
        """Write the index files into ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "size").write_text(str(self.size))
        if self._model is not None:
            self._model.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> BM25Index:
        """Read an index written by :meth:`save`."""
        import bm25s

        size = int((folder / "size").read_text())
        if size == 0:
            return cls(None, 0)
        model = bm25s.BM25.load(str(folder), show_progress=False, verbosity=0)
        return cls(model, size)
