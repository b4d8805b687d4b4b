"""Ranking and answerability: the cross-encoder's reading of each candidate, combined with
the signals that still earn their place by weights learned on held-out data.

The weights live in ``weights.json`` beside this module, written (with the figures they
gave) by ``python -m eval.train_answer``; nothing here is set by hand. Four models:

* **shortlist**: the cross-encoder costs about 10 ms a sentence on two cores, so the
  candidates are first ordered by a conditional logit over the cheap signals
  (:data:`PRE_FEATURES`) and only the best ``shortlist`` of them are read;
* **ranking**: a conditional logit over the shortlisted candidates; a candidate's score is
  the dot product of its features (:data:`FEATURES`) with the learned weights.
* **re-reading** (:func:`reread`): the span reader reads the best ``reread`` candidates with
  their neighbours; its margin for "some span answers", times ``reader_weight``, joins
  their score;
* **answerability**: a logistic regression over the best candidate's features, the lead
  of the best over the rest and the span reader's margin for it (:data:`LIST_FEATURES`);
  its probability is the answer's confidence, which ``Settings.abstain_threshold`` applies
  to (calibrated by ``python -m eval.calibrate``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import QAError

from .candidates import Candidate

WEIGHTS_FILE = Path(__file__).resolve().parent / "weights.json"
#: The signals known before the cross-encoder reads anything, in the shortlist's order.
PRE_FEATURES: tuple[str, ...] = (
    "dense",
    "cover",
    "window_cover",
    "article_cover",
    "lexical",
    "inv_rank",
    "kind",
    "count_match",
)
#: A candidate's features, in the order of the ranking weights.
FEATURES: tuple[str, ...] = ("ce", *PRE_FEATURES, "ce_neighbour")
#: The features of a candidate list that answerability reads.
LIST_FEATURES: tuple[str, ...] = (
    "best_ce",
    "best_score",
    "lead",
    "best_dense",
    "best_cover",
    "best_article_cover",
    "typed",
    "best_count_match",
    "best_reader_margin",
)


@dataclass(frozen=True)
class Ranked:
    """A candidate with its cross-encoder logit and combined score."""

    candidate: Candidate
    ce: float
    score: float


def cheap_features(cands: list[Candidate]) -> np.ndarray:
    """The ``(n, len(PRE_FEATURES))`` matrix of the signals the shortlist reads."""
    return np.array(
        [
            [
                c.dense,
                c.cover,
                c.window_cover,
                c.article_cover,
                c.lexical,
                1.0 / c.passage_rank,
                float(c.kind),
                float(c.count_match),
            ]
            for c in cands
        ],
        dtype=np.float64,
    ).reshape(-1, len(PRE_FEATURES))


def candidate_features(cands: list[Candidate], ce: np.ndarray) -> np.ndarray:
    """The ``(n, len(FEATURES))`` feature matrix of shortlisted candidates."""
    by_row = {c.row: float(x) for c, x in zip(cands, ce)}
    floor = float(np.min(ce)) if len(ce) else 0.0
    # the better-reading neighbour: an answer often sits beside the sentence that restates
    # the question (a neighbour not shortlisted counts as the worst reading)
    nb = [max(by_row.get(c.row - 1, floor), by_row.get(c.row + 1, floor)) for c in cands]
    x = np.column_stack(
        [np.asarray(ce, dtype=np.float64), cheap_features(cands), np.array(nb, dtype=np.float64)]
    )
    return x.reshape(-1, len(FEATURES))


def shortlist(cands: list[Candidate], pre: np.ndarray, n: int) -> list[Candidate]:
    """The ``n`` candidates the cheap signals rank highest (weights ``pre``), in that
    order."""
    if not cands:
        return []
    s = cheap_features(cands) @ pre
    order = sorted(range(len(cands)), key=lambda i: (-s[i], cands[i].passage_rank, cands[i].row))
    return [cands[i] for i in order[:n]]


def list_features(ranked: list[Ranked], reading: Any) -> np.ndarray:
    """The :data:`LIST_FEATURES` of a ranked candidate list (best first), ``reading`` being
    the span reader's reading of the best candidate (``embeddings.reader.Reading``): how far
    its best span outscores "no span" says whether the sentence answers at all."""
    reader_margin = margin(reading)
    best = ranked[0]
    lead = best.score - ranked[1].score if len(ranked) > 1 else 1.0
    c = best.candidate
    return np.array(
        [
            best.ce,
            best.score,
            lead,
            c.dense,
            c.cover,
            c.article_cover,
            float(c.kind != 0),
            float(c.count_match),
            reader_margin,
        ],
        dtype=np.float64,
    )


@dataclass(frozen=True)
class Weights:
    """The learned weights (see ``eval/train_answer.py``).

    Attributes:
        pre: Shortlist weights over :data:`PRE_FEATURES`.
        shortlist: How many candidates the cross-encoder reads.
        rank: Ranking weights over :data:`FEATURES`.
        answer: Answerability weights over the standardised :data:`LIST_FEATURES`.
        answer_bias: Its intercept.
        answer_mean: Mean of each list feature in the fitting data.
        answer_scale: Standard deviation of each.
        meta: How and on what they were fitted, with the figures.
        reread: How many of the best-ranked candidates the span reader re-reads.
        reader_weight: What its margin adds to their ranking score (0: no re-reading).
    """

    pre: np.ndarray
    shortlist: int
    rank: np.ndarray
    answer: np.ndarray
    answer_bias: float
    answer_mean: np.ndarray
    answer_scale: np.ndarray
    meta: dict[str, Any]
    reread: int = 1
    reader_weight: float = 0.0

    def score(self, x: np.ndarray) -> np.ndarray:
        """Ranking scores of a feature matrix."""
        return x @ self.rank

    def answerable(self, z: np.ndarray) -> float:
        """Probability that a question whose candidates have list features ``z`` is
        answered by the best of them."""
        t = float(((z - self.answer_mean) / self.answer_scale) @ self.answer + self.answer_bias)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, t))))


@lru_cache(maxsize=2)
def load_weights(path: str = str(WEIGHTS_FILE)) -> Weights:
    """The learned weights, read once.

    Raises:
        QAError: The file is missing or not what ``eval.train_answer`` writes.
    """
    fix = (
        "restore it with `git checkout -- qa/answer/weights.json` or refit it with "
        "`python -m eval.train_answer`"
    )
    try:
        d = json.loads(Path(path).read_text())
        if (
            tuple(d["features"]) != FEATURES
            or tuple(d["pre_features"]) != PRE_FEATURES
            or tuple(d["list_features"]) != LIST_FEATURES
        ):
            raise ValueError("its feature names differ from this code's")
        return Weights(
            np.array(d["pre"], dtype=np.float64),
            int(d["shortlist"]),
            np.array(d["rank"], dtype=np.float64),
            np.array(d["answer"], dtype=np.float64),
            float(d["answer_bias"]),
            np.array(d["answer_mean"], dtype=np.float64),
            np.array(d["answer_scale"], dtype=np.float64),
            d.get("meta", {}),
            int(d["reread"]),
            float(d["reader_weight"]),
        )
    except FileNotFoundError as e:
        raise QAError(f"answer-stage weights not found: {path}; {fix}") from e
    except (ValueError, KeyError, TypeError) as e:
        raise QAError(f"{path} is not an answer-stage weights file ({e}); {fix}") from e


def margin(reading: Any) -> float:
    """How far the span reader's best span in a sentence outscores "no span" (floored at
    -10: past that, a sentence is simply not an answer)."""
    span = reading.best()
    return max(-10.0, float(span.margin)) if span is not None else -10.0


def reread(
    ranked: list[Ranked], read: Callable[[Candidate], Any], weights: Weights
) -> tuple[list[Ranked], Any]:
    """The ranked list with its best ``weights.reread`` candidates re-read by the span
    reader (``read``: a candidate to its ``Reading``) and re-ordered by their score plus
    ``weights.reader_weight`` times the reader's margin; with the reading of the new best.

    The reader reads a candidate with its neighbours and asks whether some span of it
    answers: on news questions that tells apart sentences the cross-encoder scores alike.
    """
    k = min(max(1, weights.reread), len(ranked)) if weights.reader_weight else 1
    top = []
    for r in ranked[:k]:
        reading = read(r.candidate)
        top.append((replace(r, score=r.score + weights.reader_weight * margin(reading)), reading))
    top.sort(key=lambda t: (-t[0].score, t[0].candidate.passage_rank, t[0].candidate.row))
    return [t[0] for t in top] + ranked[k:], top[0][1]


def as_read(question: str, index: Any) -> str:
    """The question as the cross-encoder reads it, at run time and in training: with its
    acronyms bridged ("SDF" read as "SDF (Syrian Democratic Forces)")."""
    return str(index.acronyms.expand(question)[0])


def rank(question: str, cands: list[Candidate], weights: Weights, ranker: Any) -> list[Ranked]:
    """The shortlisted candidates best first, scored by the cross-encoder and the learned
    combination.

    Args:
        question: The question (as searched: acronyms bridged, follow-ups rewritten).
        cands: Its candidates.
        weights: The learned weights.
        ranker: The cross-encoder (``embeddings.ranker.CrossEncoderRanker``).
    """
    cands = shortlist(cands, weights.pre, weights.shortlist)
    if not cands:
        return []
    ce = ranker.score(question, [c.text for c in cands])
    scores = weights.score(candidate_features(cands, ce))
    out = [Ranked(c, float(x), float(s)) for c, x, s in zip(cands, ce, scores)]
    out.sort(key=lambda r: (-r.score, r.candidate.passage_rank, r.candidate.row))
    return out
