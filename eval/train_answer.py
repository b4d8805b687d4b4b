"""Fit the answer stage's learned combination and answerability score on the dev articles.

Usage::

    python -m eval.train_answer [--distractors 150] [--reread 3] [--seed 13]
        [--out qa/answer/weights.json] [--cache FILE]

The cross-encoder (``python -m eval.train_ranker``) never saw these articles (the dev splits
of :mod:`eval.splits`: a fifth of the BBC articles with reader questions, bbc-qa's and
``eval/data/bbc-qa-extra.jsonl``'s, and three SQuAD even-split articles), so
its scores on them are what it gives on news it was not trained on. They are indexed with
``--distractors`` other BBC articles (none with reader questions), every question is
retrieved and read by the real pipeline (:mod:`qa.answer`), and four models are fitted:

* the **shortlist**: a conditional logit (softmax over a question's candidates,
  L2-regularised, L-BFGS) over the cheap signals, :data:`qa.answer.ranking.PRE_FEATURES`;
  its best ``--shortlist`` candidates are what the cross-encoder reads at run time;
* the **ranking** combination: the same over the shortlisted candidates'
  :data:`qa.answer.ranking.FEATURES`, the cross-encoder's logit among them;
* **re-reading**: the span reader (``python -m eval.train_reader``) reads the best
  ``--reread`` of the ranked candidates with their neighbours; its margin for "some span
  answers", times a weight chosen on a grid to put the evidence first most often, joins
  their score;
* **answerability**: a logistic regression over :data:`qa.answer.ranking.LIST_FEATURES` of
  each question's ranked list, labelled 1 when the best sentence is the evidence. The
  negatives are the unanswerable questions, the answerable ones whose best sentence is
  wrong, and every answerable question once more with its evidence removed from the
  candidates (a question about the right article and people whose fact is not there).

Both are cross-validated by article (5 folds) and the figures printed: top-1 evidence
sentence for the cross-encoder alone, the bi-encoder's cosine alone and the combination;
answerability AUC. The final fit on all dev questions is written to ``--out`` with the
figures, data and seed.
"""

from __future__ import annotations

import argparse
import json
import pickle
import random
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from eval.datasets import DEFAULT_DATA_DIR
from eval.splits import bbc_question_rows, bbc_split, squad_split

DATA = DEFAULT_DATA_DIR
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "qa" / "answer" / "weights.json"
REREAD = 3  # candidates the span reader re-reads (each costs about 10 ms)
READER_WEIGHTS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0)


@dataclass(frozen=True)
class Reading:
    """One dev question as the pipeline read it: its candidates of the wanted kind, the
    cross-encoder's logit for every one of them, and which are the evidence."""

    question: str  # as the cross-encoder reads it (acronyms bridged)
    article: str  # the article it is about (for folds)
    answerable: bool
    candidates: list[Any]  # qa.answer.candidates.Candidate
    ce: np.ndarray
    gold: np.ndarray  # bool per candidate: overlaps the evidence
    windows: list[tuple[str, int, int]]  # what the span reader reads for each candidate
    spans: dict[int, Any] = field(default_factory=dict)  # sentence row -> reader's reading

    def reading(self, cand: Any) -> Any:
        """The span reader's reading of one of the candidates (made once, then kept)."""
        if cand.row not in self.spans:
            from embeddings.reader import load_reader

            i = next(i for i, c in enumerate(self.candidates) if c.row == cand.row)
            self.spans[cand.row] = load_reader().reading(self.question, *self.windows[i])
        return self.spans[cand.row]


class _Fixed:
    """A ranker that returns logits already computed, by sentence text."""

    def __init__(self, r: Reading) -> None:
        self.by_text = {c.text: float(x) for c, x in zip(r.candidates, r.ce)}

    def score(self, question: str, sentences: list[str]) -> np.ndarray:
        return np.array([self.by_text[t] for t in sentences])


def dev_questions(
    distractors: int, seed: int
) -> tuple[list[Any], list[tuple[str, str, list[tuple[int, int]]]]]:
    """The articles to index and the dev questions (text, article id, gold spans)."""
    from eval.datasets import load_bbc, load_squad
    from eval.runner import _to_article

    bbc = {a.id: a for a in load_bbc(DATA / "bbc-news")}
    rows = bbc_question_rows()
    in_qa = {"bbc-" + r["article"].replace("/", "-").removesuffix(".txt") for r in rows}
    questions: list[tuple[str, str, list[tuple[int, int]]]] = []
    keep: dict[str, Any] = {}
    for r in rows:
        if bbc_split(r["article"]) != "dev":
            continue
        aid = "bbc-" + r["article"].replace("/", "-").removesuffix(".txt")
        art = bbc[aid]
        keep[aid] = art
        spans = []
        if r["evidence"]:
            at = art.text.find(r["evidence"])
            if at < 0:
                continue
            spans = [(at, at + len(r["evidence"]))]
        questions.append((r["question"], aid, spans))
    squad = load_squad(DATA / "squad" / "dev-v1.1-even.json")
    titles = [a.id for a in squad.articles]
    for q in squad.questions:
        if q.article_id is None or squad_split(titles.index(q.article_id)) != "dev":
            continue
        spans = [(s, s + len(a)) for s, a in zip(q.answer_starts, q.answers)]
        questions.append((q.question, q.article_id, spans[:1]))
    for a in squad.articles:
        if squad_split(titles.index(a.id)) == "dev":
            keep[a.id] = a
    from eval.calibrate import bbc_distractors

    # no article with reader questions, nor their copies under other file names
    in_qa_articles = [bbc[i] for i in in_qa if i in bbc]
    keep.update(
        {a.id: a for a in bbc_distractors(list(bbc.values()), in_qa_articles, distractors, seed)}
    )
    return [_to_article(a) for a in keep.values()], questions


def read_all(
    engine: Any, questions: list[tuple[str, str, list[tuple[int, int]]]]
) -> tuple[list[Reading], dict[str, int]]:
    """Every question retrieved and read by the pipeline, its candidates labelled; and the
    counts of questions left out (and why)."""
    from embeddings.ranker import load_ranker
    from qa.answer import analyse
    from qa.answer.build import window
    from qa.answer.candidates import focus_of, gather, of_wanted_kind
    from qa.answer.ranking import as_read

    ranker = load_ranker()
    index = engine.index
    out = []
    left = {"metadata": 0, "no candidate of the wanted kind": 0, "evidence not retrieved": 0}
    for text, aid, spans in questions:
        info = analyse(text)
        if info.kind.startswith("metadata_"):
            left["metadata"] += 1
            continue
        result = engine.search(text)
        cands = of_wanted_kind(gather(text, info, result, index, focus_of(text, result, index)))
        if not cands:
            left["no candidate of the wanted kind"] += 1
            continue
        arow = index.article_row.get(aid, -1)
        gold = np.array(
            [
                c.article_row == arow and any(c.start < e and s < c.end for s, e in spans)
                for c in cands
            ]
        )
        if spans and not gold.any():
            left["evidence not retrieved"] += 1
            continue
        read_as = as_read(text, index)
        ce = ranker.score(read_as, [c.text for c in cands])
        windows = [window(index, c) for c in cands]
        out.append(Reading(read_as, aid, bool(spans), cands, ce, gold, windows))
    return out, left


def source_weights(readings: list[Reading]) -> np.ndarray:
    """A weight per reading such that each source (bbc-qa, SQuAD) weighs the same in a fit:
    the product reads news, and SQuAD's dev questions outnumber bbc-qa's three to one."""
    src = np.array([r.article.startswith("bbc-") for r in readings])
    w = np.where(src, 1.0 / max(1, src.sum()), 1.0 / max(1, (~src).sum()))
    return w * len(readings) / w.sum()


def clogit(
    groups: list[tuple[np.ndarray, np.ndarray]], weights: np.ndarray, start: np.ndarray, l2: float
) -> np.ndarray:
    """Conditional-logit weights: maximise the weighted mean log softmax probability of each
    group's gold rows, less ``l2`` times the squared norm (L-BFGS)."""
    from scipy.optimize import minimize

    total_w = float(np.sum(weights))

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.0, np.zeros_like(w)
        for (x, y), g in zip(groups, weights):
            s = x @ w
            e = np.exp(s - s.max())
            p = e / e.sum()
            q = p * y / (p * y).sum()  # posterior over the gold sentences
            total -= g * float(np.log((p * y).sum()))
            grad = grad + g * (x.T @ (p - q))
        return total / total_w + l2 * float(w @ w), grad / total_w + 2 * l2 * w

    return np.asarray(minimize(loss, start, jac=True, method="L-BFGS-B").x)


def fit_pre(readings: list[Reading], l2: float) -> np.ndarray:
    """Shortlist weights over the cheap signals of every candidate."""
    from qa.answer.ranking import PRE_FEATURES, cheap_features

    keep = [i for i, r in enumerate(readings) if r.answerable]
    groups = [
        (cheap_features(readings[i].candidates), readings[i].gold.astype(float)) for i in keep
    ]
    start = np.zeros(len(PRE_FEATURES))
    start[PRE_FEATURES.index("dense")] = 1.0
    return clogit(groups, source_weights(readings)[keep], start, l2)


def _short(r: Reading, pre: np.ndarray, n: int) -> tuple[list[Any], np.ndarray, np.ndarray]:
    from qa.answer.ranking import shortlist

    sl = shortlist(r.candidates, pre, n)
    at = {c.row: i for i, c in enumerate(r.candidates)}
    idx = np.array([at[c.row] for c in sl], dtype=int)
    return sl, r.ce[idx], r.gold[idx]


def fit_rank(readings: list[Reading], pre: np.ndarray, n: int, l2: float) -> np.ndarray:
    """Ranking weights over the shortlisted candidates of answerable readings."""
    from qa.answer.ranking import FEATURES, candidate_features

    groups, keep = [], []
    for i, r in enumerate(readings):
        if r.answerable:
            sl, ce, gold = _short(r, pre, n)
            if gold.any():
                groups.append((candidate_features(sl, ce), gold.astype(float)))
                keep.append(i)
    start = np.zeros(len(FEATURES))
    start[FEATURES.index("ce")] = 1.0
    return clogit(groups, source_weights(readings)[keep], start, l2)


def _weights(
    pre: np.ndarray,
    n: int,
    rank_w: np.ndarray,
    ans: Any = None,
    reader_weight: float = 0.0,
    reread: int = REREAD,
) -> Any:
    from qa.answer.ranking import LIST_FEATURES, Weights

    k = len(LIST_FEATURES)
    if ans is None:
        ans = (np.zeros(k), 0.0, np.zeros(k), np.ones(k))
    return Weights(pre, n, rank_w, ans[0], ans[1], ans[2], ans[3], {}, reread, reader_weight)


def _best(r: Reading, weights: Any) -> Any:
    """The candidate the runtime would answer with: ranked, then re-read."""
    from qa.answer.ranking import rank, reread

    ranked, _ = reread(rank(r.question, r.candidates, weights, _Fixed(r)), r.reading, weights)
    return ranked[0].candidate


def fit_reader_weight(readings: list[Reading], weights: Any) -> float:
    """What the span reader's margin adds to the score of the best :data:`REREAD`
    candidates: the value on a grid that puts the evidence first most often (each source
    weighing the same)."""
    sw = source_weights(readings)
    best_w, best_hits = 0.0, -1.0
    for rw in READER_WEIGHTS:
        w = replace(weights, reader_weight=rw)
        hits = sum(
            s * float(_best(r, w).row in {c.row for c, g in zip(r.candidates, r.gold) if g})
            for r, s in zip(readings, sw)
            if r.answerable
        )
        if hits > best_hits + 1e-9:
            best_w, best_hits = rw, hits
    return best_w


def lists(
    readings: list[Reading], weights: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """List features, answer-is-right labels, answerable flags, which rows are
    evidence-removed copies, and each row's source weight (:func:`source_weights`), for
    every reading as the runtime ranks it."""
    from qa.answer.ranking import list_features, rank, reread

    z, y, answerable, removed, sw = [], [], [], [], []
    for r, w in zip(readings, source_weights(readings)):
        variants = [(r.candidates, r.gold, False)]
        if r.answerable and (~r.gold).any():
            variants.append(
                ([c for c, g in zip(r.candidates, r.gold) if not g], r.gold[~r.gold], True)
            )
        for cands, gold, is_removed in variants:
            gold_rows = {c.row for c, g in zip(cands, gold) if g}
            ranked, reading = reread(
                rank(r.question, cands, weights, _Fixed(r)), r.reading, weights
            )
            z.append(list_features(ranked, reading))
            y.append(int(ranked[0].candidate.row in gold_rows))
            answerable.append(r.answerable and not is_removed)
            removed.append(is_removed)
            sw.append(w)
    return np.array(z), np.array(y), np.array(answerable), np.array(removed), np.array(sw)


def fit_answerable(
    z: np.ndarray, y: np.ndarray, seed: int, sample_weight: np.ndarray | None = None
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Logistic regression of "the best sentence answers" on standardised list features."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = z.mean(axis=0), z.std(axis=0) + 1e-9
    model = LogisticRegression(C=1.0, max_iter=1000, random_state=seed)
    model.fit((z - mean) / scale, y, sample_weight=sample_weight)
    return model.coef_[0], float(model.intercept_[0]), mean, scale


def fit(
    readings: list[Reading],
    n: int,
    l2: float,
    seed: int,
    label: str = "right",
    reread: int = REREAD,
) -> Any:
    """All four models, fitted on ``readings`` (the span reader re-reading the best
    ``reread`` candidates)."""
    pre = fit_pre(readings, l2)
    w = fit_rank(readings, pre, n, l2)
    rw = fit_reader_weight(readings, _weights(pre, n, w, reread=reread))
    z, y, answerable, _, sw = lists(readings, _weights(pre, n, w, None, rw, reread))
    target = y if label == "right" else answerable.astype(int)
    return _weights(pre, n, w, fit_answerable(z, target, seed, sw), rw, reread)


def auc(p: np.ndarray, y: np.ndarray) -> float:
    pos, neg = p[y == 1], p[y == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    return round(
        float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()), 4
    )


def _top1(readings: list[Reading], score: Any) -> float:
    hits = [float(r.gold[int(np.argmax(score(r)))]) for r in readings if r.answerable]
    return round(float(np.mean(hits)), 4) if hits else 0.0


def cross_validate(
    readings: list[Reading],
    n: int,
    l2: float,
    seed: int,
    label: str = "right",
    reread: int = REREAD,
) -> dict[str, Any]:
    """5 folds by article: held-out top-1 evidence sentence of the bi-encoder's cosine
    alone, the cross-encoder alone (over all candidates) and the whole ranking (shortlist,
    cross-encoder, combination); the shortlist's recall; answerability AUC; and what the
    answers would be at a few thresholds."""

    articles = sorted({r.article for r in readings})
    random.Random(seed).shuffle(articles)
    fold = {a: i % 5 for i, a in enumerate(articles)}
    hits, recall, p_all, y_all, ans_all = [], [], [], [], []
    hit_news: list[bool] = []
    news_all: list[bool] = []
    for k in range(5):
        train = [r for r in readings if fold[r.article] != k]
        test = [r for r in readings if fold[r.article] == k]
        weights = fit(train, n, l2, seed, label, reread)
        for r in test:
            if r.answerable:
                _, _, gold = _short(r, weights.pre, n)
                recall.append(float(gold.any()))
                best = _best(r, weights).row
                hits.append(float(best in {c.row for c, g in zip(r.candidates, r.gold) if g}))
                hit_news.append(r.article.startswith("bbc-"))
        z, y, answerable, _, _ = lists(test, weights)
        p_all += [weights.answerable(x) for x in z]
        y_all += list(y)
        ans_all += list(answerable)
        news_all += [
            r.article.startswith("bbc-")
            for r in test
            for _ in range(1 + int(r.answerable and (~r.gold).any()))
        ]
    p, y, a, news = np.array(p_all), np.array(y_all), np.array(ans_all), np.array(news_all)

    def curve(keep: np.ndarray) -> dict[str, dict[str, float]]:
        out = {}
        for t in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6):
            pk, yk, ak = p[keep], y[keep], a[keep]
            out[str(t)] = {
                "answerable_right": round(float(((pk >= t) & (yk == 1))[ak].mean()), 4),
                "answerable_abstained": round(float((pk < t)[ak].mean()), 4),
                "unanswerable_abstained": round(float((pk < t)[~ak].mean()), 4),
            }
        return out

    return {
        "top1_cosine": _top1(readings, lambda r: np.array([c.dense for c in r.candidates])),
        "top1_cross_encoder": _top1(readings, lambda r: r.ce),
        "top1_ranking_cv": round(float(np.mean(hits)), 4),
        "top1_ranking_cv_bbcqa": round(float(np.mean([h for h, b in zip(hits, hit_news) if b])), 4),
        f"shortlist_{n}_recall_cv": round(float(np.mean(recall)), 4),
        "answerable_auc_cv": auc(p, y),
        "answerable_auc_cv_bbcqa": auc(p[news], y[news]),
        "thresholds_cv": curve(np.ones(len(p), dtype=bool)),
        "thresholds_cv_bbcqa": curve(news),
    }


def _manifest_sha(model: str) -> str:
    """The SHA-256 of a shipped model's weights, as its manifest gives it."""
    root = Path(__file__).resolve().parent.parent
    manifest = root / "embeddings" / "models" / model / "manifest.json"
    return str(json.loads(manifest.read_text())["sha256"])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m eval.train_answer", description=__doc__.split("\n\n")[0]
    )
    p.add_argument(
        "--distractors",
        type=int,
        default=150,
        help="other BBC articles indexed beside the dev articles (default 150)",
    )
    p.add_argument(
        "--shortlist",
        type=int,
        default=10,
        help="candidates the cross-encoder reads per question (default 10)",
    )
    p.add_argument(
        "--reread",
        type=int,
        default=REREAD,
        help=f"best-ranked candidates the span reader re-reads (default {REREAD}; each costs "
        "about 10 ms an answer)",
    )
    p.add_argument(
        "--l2",
        type=float,
        default=0.01,
        help="L2 penalty of the ranking combination (default 0.01)",
    )
    p.add_argument(
        "--limit",
        type=int,
        default=0,
        help="read at most this many questions (a quick check of the script)",
    )
    p.add_argument(
        "--label",
        choices=["right", "present"],
        default="right",
        help="what answerability learns: that the best sentence is the evidence (right, "
        "the default), or that the question is answerable at all (present)",
    )
    p.add_argument(
        "--cache",
        default="",
        help="keep the pipeline's readings of the dev questions in this file and reuse them "
        "(refits without re-reading; delete it when the candidates or the ranker change; "
        "the span reader's readings are kept too, and read again when the reader changes)",
    )
    p.add_argument("--seed", type=int, default=13, help="random seed (default 13)")
    p.add_argument("--out", default=str(DEFAULT_OUT), help=f"weights file (default {DEFAULT_OUT})")
    args = p.parse_args(argv)
    import os
    import sys

    from eval.runner import Corpus, build_engine, eval_settings
    from qa.answer.candidates import of_wanted_kind
    from qa.answer.ranking import FEATURES, LIST_FEATURES, PRE_FEATURES
    from qa.settings import Settings

    t0 = time.perf_counter()
    articles, questions = dev_questions(args.distractors, args.seed)
    if args.limit:
        questions = random.Random(args.seed).sample(questions, args.limit)
    cache = Path(args.cache) if args.cache else None
    reader_sha = _manifest_sha("reader")
    if cache and cache.is_file():
        readings, left, cached_sha = pickle.loads(cache.read_bytes())
        # the candidates as gather() made them, through the current gate; the span reader's
        # readings only if it is the reader that made them
        readings = [
            replace(
                r,
                candidates=of_wanted_kind(r.candidates),
                spans=r.spans if cached_sha == reader_sha else {},
            )
            for r in readings
        ]
        print(f"readings from {cache}")
    else:
        with tempfile.TemporaryDirectory() as tmp, eval_settings(Settings(), Path(tmp)) as s:
            engine = build_engine(s, Corpus(articles))
            readings, left = read_all(engine, questions)
        if cache:
            cache.write_bytes(pickle.dumps((readings, left, reader_sha)))
    n_ans = sum(r.answerable for r in readings)
    print(
        f"dev: {len(readings)} questions read ({n_ans} answerable) over {len(articles)} "
        f"articles; left out {left} ({time.perf_counter() - t0:.0f}s)",
        flush=True,
    )
    cv = cross_validate(readings, args.shortlist, args.l2, args.seed, args.label, args.reread)
    if cache:  # again, with the span reader's readings made since
        cache.write_bytes(pickle.dumps((readings, left, reader_sha)))
    print("cross-validated by article:", json.dumps(cv, indent=1), flush=True)
    weights = fit(readings, args.shortlist, args.l2, args.seed, args.label, args.reread)
    z, y, _, removed, _ = lists(readings, weights)
    prob = np.array([weights.answerable(x) for x in z])
    print("shortlist weights:", dict(zip(PRE_FEATURES, np.round(weights.pre, 3).tolist())))
    print("ranking weights:", dict(zip(FEATURES, np.round(weights.rank, 3).tolist())))
    print(f"re-reading: the best {weights.reread}, reader weight {weights.reader_weight}")
    print(
        "answerability weights:",
        dict(zip(LIST_FEATURES, np.round(weights.answer, 3).tolist())),
        flush=True,
    )
    out = {
        "features": list(FEATURES),
        "pre_features": list(PRE_FEATURES),
        "list_features": list(LIST_FEATURES),
        "pre": [float(x) for x in weights.pre],
        "shortlist": args.shortlist,
        "rank": [float(x) for x in weights.rank],
        "reread": weights.reread,
        "reader_weight": weights.reader_weight,
        "answer": [float(x) for x in weights.answer],
        "answer_bias": weights.answer_bias,
        "answer_mean": [float(x) for x in weights.answer_mean],
        "answer_scale": [float(x) for x in weights.answer_scale],
        "meta": {
            "date": time.strftime("%Y-%m-%d"),
            "seed": args.seed,
            "l2": args.l2,
            "label": args.label,
            "command": "python -m eval.train_answer "
            + " ".join(sys.argv[1:] if argv is None else argv),
            "data": "dev splits of eval/splits.py: bbc-qa dev articles, SQuAD even positions "
            f"1, 9, 17; {args.distractors} other BBC articles as distractors",
            "ranker_sha256": _manifest_sha("ranker"),
            "reader_sha256": reader_sha,
            "questions": len(readings),
            "left_out": left,
            "lists": int(len(y)),
            "evidence_removed_lists": int(removed.sum()),
            "figures": {**cv, "answerable_auc_fit": auc(prob, y)},
        },
    }
    tmp_out = Path(args.out + ".tmp")
    tmp_out.write_text(json.dumps(out, indent=2) + "\n")
    os.replace(tmp_out, args.out)
    print(f"wrote {args.out} ({time.perf_counter() - t0:.0f}s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
