"""Stage 6, answer: the extractive answerer (offline, deterministic, no LLM).

The data flow, one module per arrow::

    SearchResult -> candidates (question.py, candidates.py): the passages' sentences minus
                    page furniture and header lines, with their entities and signals
                 -> ranking (ranking.py): the shipped cross-encoder reads question and
                    sentence together; its logit and the other signals are combined by
                    weights learned on held-out data (eval/train_answer.py)
                 -> re-reading (ranking.py): the span reader reads the best few with
                    their neighbours; its margin for "some span answers" joins their score
                 -> answerability (ranking.py): a learned probability that the best sentence
                    answers the question; below ``Settings.abstain_threshold`` it abstains.
                    A question that wants a kind of entity (an amount of money for "how
                    much", a date for "when", a person for "who") is answered only by a
                    sentence holding one.
                 -> Answer (build.py): the sentence cited verbatim; the short answer read
                    out of it by the shipped span reader (embeddings/reader.py), limited to
                    entities of the wanted kind when the question wants one.

Questions about the article itself (author, outlet, date, headline) are answered from its
metadata (metadata.py).
"""

from __future__ import annotations

import logging
from typing import Any

from qa.answer_types import Answer
from qa.retrieval import SearchResult
from qa.settings import ABSTAIN_THRESHOLD
from qa.store import IndexReader

from .build import abstain, sentence_answer, window
from .candidates import focus_of, gather, of_wanted_kind
from .metadata import metadata_answer
from .question import QuestionInfo, analyse
from .ranking import Weights, as_read, list_features, load_weights, rank, reread

log = logging.getLogger(__name__)

__all__ = ["QuestionInfo", "abstain", "analyse", "answer_extractive"]

_WANT = {
    "person": "name",
    "place": "place",
    "organisation": "name",
    "money": "sum of money",
    "percent": "percentage",
    "number": "number",
    "date": "date",
    "duration": "duration",
}


def answer_extractive(
    question: str,
    result: SearchResult,
    index: IndexReader,
    *,
    threshold: float = ABSTAIN_THRESHOLD,
    ranker: Any = None,
    weights: Weights | None = None,
    reader: Any = None,
) -> Answer:
    """Answer a question from retrieved passages without an LLM.

    Args:
        question: The question.
        result: What retrieval found (passages, expanded query, sentence similarities).
        index: The index the passages came from.
        threshold: Answerability probability below which it abstains.
        ranker: The cross-encoder (default: the shipped one, loaded once).
        reader: The span reader that reads the short answer out of the chosen sentence
            (default: the shipped one, loaded once).
        weights: The learned weights (default: the shipped ``weights.json``).

    Returns:
        An :class:`Answer` whose citations quote the chosen sentences verbatim.

    Example:
        >>> result = search(question, index, model)  # doctest: +SKIP
        >>> answer_extractive(question, result, index).short  # doctest: +SKIP
        'between two and three months'
    """
    info = analyse(question)
    if info.kind.startswith("metadata_"):
        meta = metadata_answer(question, info, result, index)
        if meta is not None:
            return meta
        return abstain(question, result, info, reason="The article's metadata has no such field.")
    if not result.passages:
        nothing = (
            "No article matches the filters." if index.articles else "The index holds no articles."
        )
        return abstain(question, result, info, searched_nothing=nothing)
    if ranker is None:
        from embeddings.ranker import load_ranker

        ranker = load_ranker()
    weights = weights or load_weights()
    focus = focus_of(question, result, index)
    cands = gather(question, info, result, index, focus)
    if not cands:
        return abstain(question, result, info)
    cands = of_wanted_kind(cands)
    if not cands:
        return abstain(
            question,
            result,
            info,
            0.0,
            f"No sentence in the closest passages gives a {_WANT[info.kind]}.",
        )
    read_as = as_read(question, index)
    ranked = rank(read_as, cands, weights, ranker)
    if reader is None:
        from embeddings.reader import load_reader

        reader = load_reader()
    ranked, reading = reread(ranked, lambda c: reader.reading(read_as, *window(index, c)), weights)
    best = ranked[0].candidate
    confidence = weights.answerable(list_features(ranked, reading))
    if confidence < threshold:
        return abstain(
            question,
            result,
            info,
            confidence,
            f"Best support {confidence:.2f} is below the threshold {threshold:.2f}.",
        )
    return sentence_answer(question, info, result, index, best, focus, confidence, reading)
