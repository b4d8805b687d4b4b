"""Tests for eval.metrics: hand-computed answer, retrieval, abstention and latency scores."""

from __future__ import annotations

import math

import numpy as np
import pytest

from eval.metrics import (
    AbstentionScores,
    abstention_scores,
    exact_match,
    f1,
    hits_at_k,
    hits_curve,
    mrr_at_k,
    normalize_answer,
    percentiles,
    span_covers,
)

# --- normalize_answer / exact_match / f1 ----------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("The Denver Broncos!", "denver broncos"),
        ("  a   cat,  an  apple ", "cat apple"),
        ("theatre", "theatre"),  # "the" only as a whole word
        ("The-end", "theend"),  # punctuation goes before articles, as in the official script
        ("U.S.A.", "usa"),
        ("the", ""),
        ("", ""),
        ("Ünïcode Straße", "ünïcode straße"),  # only ASCII punctuation is removed
    ],
)
def test_normalize_answer_matches_squad_v11(raw: str, expected: str) -> None:
    assert normalize_answer(raw) == expected


def test_exact_match_ignores_case_punctuation_and_articles() -> None:
    assert exact_match("The Denver Broncos.", ["Denver Broncos"]) == 1.0
    assert exact_match("an Eiffel tower", ["the Eiffel Tower!"]) == 1.0
    assert exact_match("Denver", ["Denver Broncos"]) == 0.0


def test_exact_match_takes_the_max_over_golds() -> None:
    assert exact_match("tower", ["Eiffel Tower", "the tower"]) == 1.0


def test_f1_hand_computed() -> None:
    # "cat sat" vs "cat sat down": 2 common, P = 2/2, R = 2/3, F1 = 2 * 1 * (2/3) / (5/3) = 0.8
    assert f1("the cat sat", ["a cat sat down"]) == pytest.approx(0.8)
    # "cat cat" vs "cat": common is min(2, 1) = 1, P = 1/2, R = 1/1, F1 = 2/3
    assert f1("cat cat", ["cat"]) == pytest.approx(2 / 3)
    assert f1("dog", ["cat"]) == 0.0


def test_f1_takes_the_max_over_golds() -> None:
    # vs "cat sat down": 0.8; vs "cat sat": 1.0
    assert f1("the cat sat", ["a cat sat down", "cat sat"]) == 1.0
    # vs "sat on mat": P = 1/2, R = 1/3 -> 0.4; vs "a cat": P = 1/2, R = 1 -> 2/3
    assert f1("cat sat", ["sat on mat", "a cat"]) == pytest.approx(2 / 3)


def test_no_golds_only_an_empty_prediction_scores() -> None:
    assert exact_match("", []) == 1.0
    assert f1("", []) == 1.0
    assert exact_match("The.", []) == 1.0  # normalises to ""
    assert exact_match("Paris", []) == 0.0
    assert f1("Paris", []) == 0.0


def test_empty_prediction_against_real_gold_scores_zero() -> None:
    assert exact_match("", ["Paris"]) == 0.0
    assert f1("", ["Paris"]) == 0.0


# --- retrieval -----------------------------------------------------------------------------


def test_hits_at_k_counts_none_as_miss() -> None:
    ranks = [1, 3, None, 10, 2]
    assert hits_at_k(ranks, 1) == pytest.approx(1 / 5)
    assert hits_at_k(ranks, 3) == pytest.approx(3 / 5)
    assert hits_at_k(ranks, 10) == pytest.approx(4 / 5)


def test_mrr_at_k_hand_computed() -> None:
    # (1 + 1/3 + 0 + 1/10 + 1/2) / 5, and at k=3 the rank-10 hit counts 0
    ranks = [1, 3, None, 10, 2]
    assert mrr_at_k(ranks, k=10) == pytest.approx((1 + 1 / 3 + 1 / 10 + 1 / 2) / 5)
    assert mrr_at_k(ranks, k=3) == pytest.approx((1 + 1 / 3 + 1 / 2) / 5)
    assert mrr_at_k([None, None]) == 0.0


def test_hits_curve_keeps_order_of_ks() -> None:
    curve = hits_curve([1, 3, None, 10, 2], [10, 1, 3])
    assert list(curve) == [10, 1, 3]
    assert curve == {10: pytest.approx(0.8), 1: pytest.approx(0.2), 3: pytest.approx(0.6)}


def test_retrieval_metrics_on_empty_ranks_are_nan() -> None:
    assert math.isnan(hits_at_k([], 5))
    assert math.isnan(mrr_at_k([]))


@pytest.mark.parametrize("k", [0, -1])
def test_retrieval_metrics_reject_bad_k(k: int) -> None:
    with pytest.raises(ValueError, match=f"k must be > 0, got {k}"):
        hits_at_k([1], k)
    with pytest.raises(ValueError, match="k must be > 0"):
        mrr_at_k([1], k)


def test_retrieval_metrics_reject_zero_based_ranks() -> None:
    with pytest.raises(ValueError, match="1-based"):
        hits_at_k([1, 0], 3)


def test_span_covers() -> None:
    assert span_covers(10, 20, [5, 10])
    assert span_covers(10, 20, [19])
    assert not span_covers(10, 20, [20])  # end is exclusive
    assert not span_covers(10, 20, [])
    assert not span_covers(10, 10, [10])
    with pytest.raises(ValueError, match="end must be >= start"):
        span_covers(5, 4, [4])


# --- abstention ----------------------------------------------------------------------------


def test_abstention_scores_hand_computed() -> None:
    abstained = [True, True, True, False, False, False]
    answerable = [False, False, True, False, True, True]
    s = abstention_scores(abstained, answerable)
    # 3 abstentions, 2 on unanswerable; 3 unanswerable, 2 abstained on
    assert (s.total, s.abstained, s.unanswerable) == (6, 3, 3)
    assert (s.correct, s.wrong, s.missed) == (2, 1, 1)
    assert s.precision == pytest.approx(2 / 3)
    assert s.recall == pytest.approx(2 / 3)
    assert s.f1 == pytest.approx(2 / 3)
    assert s.to_dict()["correct"] == 2


def test_abstention_scores_undefined_rates_are_nan() -> None:
    s = abstention_scores([False, False], [True, False])  # never abstained
    assert math.isnan(s.precision)
    assert s.recall == 0.0
    assert math.isnan(s.f1)
    s = abstention_scores([True], [True])  # nothing unanswerable
    assert s.precision == 0.0
    assert math.isnan(s.recall)


def test_abstention_scores_zero_precision_and_recall_give_zero_f1() -> None:
    s = abstention_scores([True, False], [True, False])
    assert (s.precision, s.recall, s.f1) == (0.0, 0.0, 0.0)


def test_abstention_scores_are_frozen() -> None:
    s = abstention_scores([True], [False])
    assert isinstance(s, AbstentionScores)
    with pytest.raises(AttributeError):
        s.precision = 0.0  # type: ignore[misc]


def test_abstention_scores_reject_length_mismatch() -> None:
    with pytest.raises(ValueError, match="same length, got 2 and 1"):
        abstention_scores([True, False], [True])


# --- percentiles ---------------------------------------------------------------------------


def test_percentiles_hand_computed() -> None:
    # 4 values: p50 at position 1.5 -> 2.5; p90 at 2.7 -> 3 + 0.7 * (4 - 3)
    out = percentiles([4.0, 1.0, 3.0, 2.0], ps=(50, 90))
    assert out == {"p50": pytest.approx(2.5), "p90": pytest.approx(3.7)}


@pytest.mark.parametrize("n", [1, 2, 5, 17, 100, 1001])
def test_percentiles_match_numpy(n: int) -> None:
    rng = np.random.default_rng(n)
    values = rng.lognormal(size=n).tolist()
    ps = (0, 1, 50, 66.6, 90, 95, 99, 99.9, 100)
    out = percentiles(values, ps)
    assert list(out) == ["p0", "p1", "p50", "p66.6", "p90", "p95", "p99", "p99.9", "p100"]
    assert list(out.values()) == pytest.approx(np.percentile(values, ps).tolist(), abs=0, rel=1e-12)


def test_percentiles_default_keys_and_empty_input() -> None:
    out = percentiles([])
    assert list(out) == ["p50", "p90", "p95", "p99"]
    assert all(math.isnan(v) for v in out.values())


def test_percentiles_reject_out_of_range() -> None:
    with pytest.raises(ValueError, match="got 101"):
        percentiles([1.0], ps=(101,))
