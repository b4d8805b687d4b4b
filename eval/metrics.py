"""Pure scoring functions: answer quality, retrieval, abstention and latency.

Nothing here imports the ``qa`` package or a heavy dependency; every function takes plain
values (strings, ranks, booleans, numbers) so evaluation scripts can score any system.

Answer scores follow the official SQuAD scripts: :func:`normalize_answer` is the v1.1
normalisation, and :func:`exact_match` / :func:`f1` take the maximum over the gold answers.
Where a question has no gold answer (an unanswerable question) the SQuAD v2.0 convention is
used: the only correct prediction is an empty one.

Example:
    >>> exact_match("The Denver Broncos!", ["Denver Broncos"])
    1.0
    >>> hits_at_k([1, 3, None], k=2)
    0.3333333333333333
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "AbstentionScores",
    "abstention_scores",
    "exact_match",
    "f1",
    "hits_at_k",
    "hits_curve",
    "mrr_at_k",
    "normalize_answer",
    "percentiles",
    "span_covers",
]

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)


# --- answers -------------------------------------------------------------------------------


def normalize_answer(s: str) -> str:
    """Normalise an answer exactly as the official SQuAD v1.1 evaluation script does.

    Lower-cases, removes ASCII punctuation, removes the articles "a", "an" and "the" as whole
    words, and collapses runs of whitespace to single spaces. The steps run in the official
    order (lower, punctuation, articles, whitespace), which matters: "The-end" becomes
    "theend", not "end".

    Args:
        s: The answer text.

    Returns:
        The normalised text; "" when nothing but punctuation, articles and spaces was given.
    """
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCTUATION)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def _no_golds_score(prediction: str) -> float:
    # SQuAD v2.0 convention: an unanswerable question's gold answer is "", so only an
    # empty (after normalisation) prediction is right.
    return 1.0 if normalize_answer(prediction) == "" else 0.0


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    """Score 1.0 if the normalised prediction equals any normalised gold answer.

    Args:
        prediction: The system's answer.
        golds: The gold answers. When empty (an unanswerable question) the score is 1.0 only
            if the prediction normalises to "" and 0.0 otherwise, as in SQuAD v2.0.

    Returns:
        1.0 or 0.0.

    Example:
        >>> exact_match("the Eiffel Tower.", ["Eiffel Tower", "tower"])
        1.0
    """
    if not golds:
        return _no_golds_score(prediction)
    pred = normalize_answer(prediction)
    return 1.0 if any(pred == normalize_answer(g) for g in golds) else 0.0


def _f1_single(pred_tokens: list[str], gold_tokens: list[str]) -> float:
    if not pred_tokens or not gold_tokens:
        # SQuAD v2.0: when either side is empty, score 1 only if both are.
        return float(pred_tokens == gold_tokens)
    common = Counter(pred_tokens) & Counter(gold_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(pred_tokens)
    recall = num_same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def f1(prediction: str, golds: Sequence[str]) -> float:
    """Token-overlap F1 between the prediction and the best-matching gold answer.

    Tokens are the whitespace-separated words of :func:`normalize_answer` output; overlap
    counts repeated tokens as often as both sides contain them (a multiset intersection).

    Args:
        prediction: The system's answer.
        golds: The gold answers. When empty (an unanswerable question) the score is 1.0 only
            if the prediction normalises to "" and 0.0 otherwise, as in SQuAD v2.0. A gold or
            prediction that normalises to "" scores 1.0 against each other and 0.0 against
            anything else (also the v2.0 rule; v1.1 never meets this case).

    Returns:
        The maximum F1 over the gold answers, in [0, 1].

    Example:
        >>> f1("the cat sat", ["a cat sat down"])  # P = 2/2, R = 2/3
        0.8
    """
    if not golds:
        return _no_golds_score(prediction)
    pred_tokens = normalize_answer(prediction).split()
    return max(_f1_single(pred_tokens, normalize_answer(g).split()) for g in golds)


# --- retrieval -----------------------------------------------------------------------------


def _check_k(k: int) -> None:
    if k <= 0:
        raise ValueError(f"k must be > 0, got {k}")


def _check_ranks(ranks: Sequence[int | None]) -> None:
    for i, r in enumerate(ranks):
        if r is not None and r < 1:
            raise ValueError(f"ranks are 1-based or None, got {r!r} at position {i}")


def hits_at_k(ranks: Sequence[int | None], k: int) -> float:
    """Fraction of queries whose first relevant result is within the top ``k``.

    Args:
        ranks: Per query, the 1-based rank of the first relevant result, or ``None`` when no
            relevant result was retrieved (counted as a miss).
        k: The cut-off, > 0.

    Returns:
        Hits@k in [0, 1]; ``nan`` when ``ranks`` is empty (there is nothing to average).

    Raises:
        ValueError: ``k`` is not positive or a rank is below 1.
    """
    _check_k(k)
    _check_ranks(ranks)
    if not ranks:
        return math.nan
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks)


def mrr_at_k(ranks: Sequence[int | None], k: int = 10) -> float:
    """Mean reciprocal rank, counting ranks beyond ``k`` (and ``None``) as 0.

    Args:
        ranks: Per query, the 1-based rank of the first relevant result, or ``None``.
        k: The cut-off, > 0.

    Returns:
        MRR@k in [0, 1]; ``nan`` when ``ranks`` is empty.

    Raises:
        ValueError: ``k`` is not positive or a rank is below 1.

    Example:
        >>> mrr_at_k([1, 2, None, 20], k=10)  # (1 + 1/2 + 0 + 0) / 4
        0.375
    """
    _check_k(k)
    _check_ranks(ranks)
    if not ranks:
        return math.nan
    return sum(1.0 / r for r in ranks if r is not None and r <= k) / len(ranks)


def hits_curve(ranks: Sequence[int | None], ks: Iterable[int]) -> dict[int, float]:
    """Hits@k for several cut-offs at once, for recall-at-k plots.

    Args:
        ranks: Per query, the 1-based rank of the first relevant result, or ``None``.
        ks: The cut-offs, each > 0; the result keeps their order.

    Returns:
        A dict from each cut-off to :func:`hits_at_k` at that cut-off.

    Raises:
        ValueError: A cut-off is not positive or a rank is below 1.
    """
    return {k: hits_at_k(ranks, k) for k in ks}


def span_covers(start: int, end: int, offsets: Iterable[int]) -> bool:
    """Whether the character span ``[start, end)`` contains any of the given offsets.

    Used to decide whether a retrieved chunk or cited sentence holds a gold answer: pass the
    span's offsets in the article and the gold answers' start offsets in the same article.

    Args:
        start: First character of the span.
        end: One past the last character of the span.
        offsets: Gold answer start offsets.

    Returns:
        True if ``start <= offset < end`` for some offset.

    Raises:
        ValueError: ``end`` is before ``start``.
    """
    if end < start:
        raise ValueError(f"span end must be >= start, got [{start}, {end})")
    return any(start <= o < end for o in offsets)


# --- abstention ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AbstentionScores:
    """How well a system abstains ("I can't answer that from these articles").

    Abstaining is treated as predicting "unanswerable". Rates whose denominator is 0 are
    ``nan`` rather than a flattering 1.0 or a punishing 0.0, so a report shows "undefined".

    Attributes:
        precision: Of the abstentions, the fraction on unanswerable questions.
        recall: Of the unanswerable questions, the fraction abstained on.
        f1: Harmonic mean of precision and recall; ``nan`` when either is ``nan``, 0.0 when
            both are 0.
        total: Number of questions.
        abstained: Number of abstentions.
        unanswerable: Number of unanswerable questions.
        correct: Abstentions on unanswerable questions (true positives).
        wrong: Abstentions on answerable questions (false positives).
        missed: Unanswerable questions that got an answer (false negatives).
    """

    precision: float
    recall: float
    f1: float
    total: int
    abstained: int
    unanswerable: int
    correct: int
    wrong: int
    missed: int

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict of every field (``nan`` stays a float)."""
        return asdict(self)


def abstention_scores(abstained: Sequence[bool], answerable: Sequence[bool]) -> AbstentionScores:
    """Precision, recall and F1 of abstaining, against which questions are answerable.

    Args:
        abstained: Per question, whether the system declined to answer.
        answerable: Per question, whether the articles hold the answer.

    Returns:
        The scores and the counts behind them.

    Raises:
        ValueError: The two lists differ in length.

    Example:
        >>> s = abstention_scores([True, True, False], [False, True, False])
        >>> (s.precision, s.recall)
        (0.5, 0.5)
    """
    if len(abstained) != len(answerable):
        raise ValueError(
            f"abstained and answerable must have the same length, "
            f"got {len(abstained)} and {len(answerable)}"
        )
    n_abstained = sum(1 for a in abstained if a)
    n_unanswerable = sum(1 for a in answerable if not a)
    correct = sum(1 for a, ok in zip(abstained, answerable, strict=True) if a and not ok)
    precision = correct / n_abstained if n_abstained else math.nan
    recall = correct / n_unanswerable if n_unanswerable else math.nan
    if math.isnan(precision) or math.isnan(recall):
        f = math.nan
    elif precision + recall == 0:
        f = 0.0
    else:
        f = 2 * precision * recall / (precision + recall)
    return AbstentionScores(
        precision=precision,
        recall=recall,
        f1=f,
        total=len(abstained),
        abstained=n_abstained,
        unanswerable=n_unanswerable,
        correct=correct,
        wrong=n_abstained - correct,
        missed=n_unanswerable - correct,
    )


# --- latency -------------------------------------------------------------------------------


def _percentile_key(p: float) -> str:
    # 50 -> "p50", 99.9 -> "p99.9"
    return f"p{int(p)}" if float(p).is_integer() else f"p{p:g}"


def percentiles(
    values: Iterable[float], ps: Sequence[float] = (50, 90, 95, 99)
) -> dict[str, float]:
    """Percentiles of a sample (e.g. latencies), matching ``numpy.percentile``'s default.

    Uses linear interpolation between closest ranks: the p-th percentile of ``n`` sorted
    values sits at position ``p / 100 * (n - 1)``. Pure Python, so the module stays light.

    Args:
        values: The sample; need not be sorted.
        ps: Percentiles to report, each in [0, 100].

    Returns:
        A dict from "p50"-style keys (in the order of ``ps``) to values; every value is
        ``nan`` when the sample is empty.

    Raises:
        ValueError: A percentile is outside [0, 100].

    Example:
        >>> percentiles([1.0, 2.0, 3.0, 4.0], ps=(50, 90))
        {'p50': 2.5, 'p90': 3.7}
    """
    for p in ps:
        if not 0 <= p <= 100:
            raise ValueError(f"percentiles must be in [0, 100], got {p}")
    data = sorted(float(v) for v in values)
    out: dict[str, float] = {}
    for p in ps:
        if not data:
            out[_percentile_key(p)] = math.nan
            continue
        pos = p / 100 * (len(data) - 1)
        lo = math.floor(pos)
        hi = min(lo + 1, len(data) - 1)
        frac = pos - lo
        # Same form as numpy's _lerp, so results agree to the last bit in most cases.
        lo_v, hi_v = data[lo], data[hi]
        diff = hi_v - lo_v
        value = hi_v - diff * (1 - frac) if frac >= 0.5 else lo_v + diff * frac
        out[_percentile_key(p)] = value
    return out
