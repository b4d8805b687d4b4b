"""Calibrate the extractive answerer's abstention threshold (``Settings.abstain_threshold``).

``python -m eval.calibrate`` (or ``qa eval calibrate``) builds answerable and unanswerable
questions and records ``Answer.confidence`` for each with the threshold at 0, then sweeps
the threshold. By default it uses only data meant for fitting (:mod:`eval.splits`), never a
measuring set:

* **bbc-qa dev** (``../shared/data/bbc-qa``, the articles whose ``bbc_split`` is "dev"): its
  answerable questions and its genuinely unanswerable ones (about an indexed article that
  does not give the fact), asked against an index of the dev articles plus ``--distractors``
  BBC News articles that are not in bbc-qa (a seeded sample; copies of a bbc-qa article
  under another file name and same-headline versions of one are left out), judged by the
  news-qa rules (:class:`eval.judge.NewsQAJudge`); with them the dev articles of the team's
  own questions over other BBC articles (``--bbcqa-extra``, ``eval/data/bbc-qa-extra.jsonl``,
  the same recipe), reported as one source.
* **SQuAD train + dev** (the even split's articles not held out: ``squad_split(pos)`` is
  "train" or "dev"): shuffled (seeded) and split in two halves; only the first half is
  indexed. Questions about the indexed half are answerable; questions about the other half,
  asked against an index without their article, are unanswerable.

SQuAD's held-out articles, news-qa and the seed question set measure the system; choosing a
threshold on them would tune on the measure. ``--seed-set PATH`` adds a JSONL question set
(``eval/data/seed_questions.jsonl``) explicitly, reported as its own source and marked as a
measuring set.

At a threshold ``t`` a question is abstained on when the answerer abstained even at 0 (no
span of the wanted kind, a missing metadata field) or its confidence is below ``t``.

The recommendation is computed on the bbc-qa questions alone by default
(``--recommend-from``): the product reads news, and SQuAD's questions, which reuse their
passage's words, get higher confidences; a threshold chosen with them abstains on too many
news questions. Every source is reported either way.

Criteria (both are reported; ``--criterion`` picks the recommendation):

* ``accuracy`` (default): the share of questions handled well: answered correctly (the data
  set's rule, see :mod:`eval.judge`) or, when unanswerable, abstained on: what a reader
  gets. This also rewards abstaining on answerable questions the system would get wrong.
* ``f1``: F1 of abstention, abstaining being the positive class and "unanswerable" the
  truth. It ignores whether the answers given are right.

Ties (the curves are step functions) are broken by taking the middle of the widest run of
best thresholds, which keeps the choice away from the edge of a step.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import logging
import math
import os
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval.datasets import (
    DEFAULT_DATA_DIR,
    EvalArticle,
    EvalQuestion,
    EvalSet,
    load_bbc,
    load_bbcqa,
    load_jsonl,
    load_squad,
    same_story,
    sample_questions,
    story,
)
from eval.judge import Judge, make_judge
from eval.metrics import abstention_scores
from eval.splits import BBC_QUESTION_FILES, squad_split

log = logging.getLogger(__name__)

DEFAULT_SQUAD = DEFAULT_DATA_DIR / "squad" / "dev-v1.1-even.json"
DEFAULT_BBCQA = DEFAULT_DATA_DIR / "bbc-qa"
#: Our question set, a measuring set: added only with ``--seed-set``.
SEED_SET = Path(__file__).resolve().parent / "data" / "seed_questions.jsonl"
DEFAULT_DISTRACTORS = 150
THRESHOLDS = [round(i / 100, 2) for i in range(101)]


@dataclass(frozen=True)
class Observation:
    """One question asked with the threshold at 0.

    Attributes:
        id: The question id.
        source: The :attr:`Source.name` it came from: ``bbcqa``, ``squad`` or ``seed``.
        question: The question text.
        answerable: Whether the index holds the answer.
        confidence: ``Answer.confidence``.
        forced: The answerer abstained even at threshold 0.
        right: For an answerable question, whether the answer given is right; False otherwise.
    """

    id: str
    source: str
    question: str
    answerable: bool
    confidence: float
    forced: bool
    right: bool


@dataclass(frozen=True)
class Source:
    """One source of calibration questions, and where they came from.

    Attributes:
        name: ``bbcqa``, ``squad`` or ``seed``.
        judge: The :func:`eval.judge.make_judge` kind that scores its answers.
        questions: The questions asked (unanswerable ones marked ``answerable=False``).
        origin: What was taken from which data, for the report.
        path: The data file or folder read.
        sha256: :attr:`eval.datasets.EvalSet.sha256` of what was read.
        measuring: Whether the source is a measuring set (tuning on it tunes on the measure).
    """

    name: str
    judge: str
    questions: list[EvalQuestion]
    origin: str
    path: str
    sha256: str
    measuring: bool = False

    def counts(self) -> dict[str, int]:
        """How many answerable and unanswerable questions it has."""
        return {
            "answerable": sum(q.answerable for q in self.questions),
            "unanswerable": sum(not q.answerable for q in self.questions),
        }


@dataclass(frozen=True)
class CalibrationSet:
    """What a calibration asks and indexes.

    Attributes:
        sources: The question sources, in the order asked.
        articles: The articles to index with the questions' answers (the indexed SQuAD
            half, the bbc-qa articles).
        distractors: BBC News articles indexed beside them, none of bbc-qa's.
        article_files: Article files to ingest too (a ``--seed-set``'s articles).
    """

    sources: list[Source]
    articles: list[EvalArticle]
    distractors: list[EvalArticle] = field(default_factory=list)
    article_files: list[Path] = field(default_factory=list)


def calibration_squad(evalset: EvalSet) -> EvalSet:
    """SQuAD's articles meant for fitting: the train and dev positions of
    :func:`eval.splits.squad_split`, never the held-out ones (they measure).

    Args:
        evalset: A set returned by :func:`eval.datasets.load_squad` (articles in file order).

    Returns:
        The set named "<name>-train+dev" with those articles and the questions about them.
    """
    kept = [a for pos, a in enumerate(evalset.articles) if squad_split(pos) != "heldout"]
    ids = {a.id for a in kept}
    return dataclasses.replace(
        evalset,
        name=f"{evalset.name}-train+dev",
        articles=kept,
        questions=[q for q in evalset.questions if q.article_id in ids],
    )


def bbc_distractors(
    bbc: Sequence[EvalArticle], exclude: Sequence[EvalArticle], n: int, seed: int
) -> list[EvalArticle]:
    """A seeded sample of ``n`` BBC News articles that are none of ``exclude``.

    An article is left out when its id, its text or its headline is one of an excluded
    article's, or when it tells the same story (:func:`eval.datasets.same_story`): the
    corpus holds some articles twice under different file names and headlines, and a copy
    would take the citations of its original (the news-qa rules count only a citation of
    the question's own article).

    Args:
        bbc: The BBC News corpus (:func:`eval.datasets.load_bbc`).
        exclude: The articles to keep out (every bbc-qa article).
        n: How many to take.
        seed: Seed of the sample.

    Returns:
        The articles, in corpus order.

    Raises:
        ValueError: ``n`` is negative or more than there are to take.
    """
    ids = {a.id for a in exclude}
    texts = {a.text for a in exclude}
    titles = {a.title for a in exclude}
    stories = [story(a.text) for a in exclude]
    having: dict[str, list[int]] = {}  # paragraph -> the excluded stories that have it
    for i, told in enumerate(stories):
        for par in told:
            having.setdefault(par, []).append(i)

    def copy(a: EvalArticle) -> bool:
        told = story(a.text)
        near = {i for par in told for i in having.get(par, ())}
        return any(same_story(told, stories[i]) for i in near)

    pool = [
        a
        for a in bbc
        if a.id not in ids and a.text not in texts and a.title not in titles and not copy(a)
    ]
    if not 0 <= n <= len(pool):
        raise ValueError(
            f"--distractors must be between 0 and {len(pool)} (BBC News articles not in "
            f"bbc-qa), got {n}"
        )
    return sample_questions(pool, n, seed)


def sample_keeping_share(
    questions: Sequence[EvalQuestion], limit: int, seed: int
) -> list[EvalQuestion]:
    """A seeded sample of ``limit`` questions with the set's share of unanswerable ones.

    Returns:
        The chosen questions in file order; all of them when ``limit`` is at least their
        number.
    """
    if limit >= len(questions):
        return list(questions)
    unanswerable = [q for q in questions if not q.answerable]
    n_un = round(limit * len(unanswerable) / len(questions)) if questions else 0
    chosen = {
        q.id
        for q in sample_questions([q for q in questions if q.answerable], limit - n_un, seed)
        + sample_questions(unanswerable, n_un, seed + 1)
    }
    return [q for q in questions if q.id in chosen]


def split_squad(
    evalset: EvalSet, per_side: int, seed: int
) -> tuple[list[str], list[EvalQuestion], list[EvalQuestion]]:
    """Split SQuAD's articles in two halves (seeded) and sample questions from each.

    Returns:
        The ids of the articles to index, ``per_side`` answerable questions about them and
        ``per_side`` questions about the other half, marked unanswerable.
    """
    ids = [a.id for a in evalset.articles]
    random.Random(seed).shuffle(ids)
    indexed = set(ids[: len(ids) // 2])
    inside = [q for q in evalset.questions if q.article_id in indexed]
    outside = [
        dataclasses.replace(q, answerable=False)
        for q in evalset.questions
        if q.article_id not in indexed
    ]
    return (
        [i for i in ids if i in indexed],
        sample_questions(inside, per_side, seed + 1),
        sample_questions(outside, per_side, seed + 2),
    )


def select_sources(
    squad: EvalSet | None,
    bbcqa: EvalSet | None,
    bbcqa_all: Sequence[EvalArticle] = (),
    bbc: Sequence[EvalArticle] = (),
    *,
    limit: int = 150,
    seed: int = 0,
    distractors: int = DEFAULT_DISTRACTORS,
    seed_set: EvalSet | None = None,
) -> CalibrationSet:
    """The questions and articles of a calibration, from loaded data sets.

    Args:
        squad: The SQuAD even split (:func:`eval.datasets.load_squad`); only its train and
            dev articles are used (:func:`calibration_squad`). ``None``: no SQuAD source.
        bbcqa: The bbc-qa dev set (:func:`eval.datasets.load_bbcqa`). ``None``: no bbc-qa
            source and no distractors.
        bbcqa_all: Every bbc-qa article (any split), kept out of the distractors.
        bbc: The BBC News corpus the distractors are drawn from.
        limit: SQuAD questions per side (answerable, unanswerable); at most ``2 * limit``
            bbc-qa questions, with the set's share of unanswerable ones.
        seed: Seed of the SQuAD article split and every sample.
        distractors: How many BBC News distractors to index.
        seed_set: A JSONL question set to add (a measuring set), or ``None``.

    Returns:
        The sources (bbcqa, squad, seed, those present) and what to index.
    """
    sources: list[Source] = []
    articles: list[EvalArticle] = []
    extra: list[EvalArticle] = []
    files: list[Path] = []
    if bbcqa is not None:
        qs = sample_keeping_share(bbcqa.questions, 2 * limit, seed + 4)
        extra = bbc_distractors(bbc, list(bbcqa_all) or bbcqa.articles, distractors, seed + 3)
        articles += bbcqa.articles
        sources.append(
            Source(
                "bbcqa",
                "bbcqa",
                qs,
                f"{bbcqa.name}: {len(qs)} of the {len(bbcqa.questions)} questions about the "
                f"{len(bbcqa.articles)} articles whose eval.splits.bbc_split is dev "
                "(unanswerable: the type is unanswerable), asked among those articles and "
                f"{len(extra)} BBC News distractors not in bbc-qa; judged by the news-qa rules",
                str(bbcqa.source_path),
                bbcqa.sha256,
            )
        )
    if squad is not None:
        fit = calibration_squad(squad)
        keep_ids, answerable, unanswerable = split_squad(fit, limit, seed)
        keep = set(keep_ids)
        articles += [a for a in fit.articles if a.id in keep]
        sources.append(
            Source(
                "squad",
                "squad",
                answerable + unanswerable,
                f"{squad.name}, the {len(fit.articles)} train and dev articles "
                f"(eval.splits.squad_split; the {len(squad.articles) - len(fit.articles)} "
                f"held-out ones left out): {len(keep)} indexed, {len(answerable)} questions "
                f"about them; {len(unanswerable)} about the other "
                f"{len(fit.articles) - len(keep)}, unanswerable (their article not indexed)",
                str(squad.source_path),
                squad.sha256,
            )
        )
    if seed_set is not None:
        files = list(seed_set.article_files)
        sources.append(
            Source(
                "seed",
                "jsonl",
                list(seed_set.questions),
                f"{seed_set.name}: every question, its articles indexed; a MEASURING set, "
                "added with --seed-set: a threshold chosen with it is tuned on the measure",
                str(seed_set.source_path),
                seed_set.sha256,
                measuring=True,
            )
        )
    return CalibrationSet(sources, articles, extra, files)


def observe(engine: Any, judge: Judge, q: EvalQuestion, source: str) -> Observation:
    """Ask one question (the engine's threshold must be 0) and record the outcome."""
    a = engine.ask(q.question, list(q.history) or None)
    right = q.answerable and not a.abstained and judge.judge(q, a).correct
    return Observation(
        q.id, source, q.question, q.answerable, float(a.confidence), a.abstained, bool(right)
    )


def sweep(
    obs: Sequence[Observation], thresholds: Sequence[float] = THRESHOLDS
) -> list[dict[str, float]]:
    """Abstention precision/recall/F1, accuracy and coverage at every threshold."""
    rows = []
    for t in thresholds:
        abstain = [o.forced or o.confidence < t for o in obs]
        s = abstention_scores(abstain, [o.answerable for o in obs])
        good = [
            (o.answerable and not ab and o.right) or (not o.answerable and ab)
            for o, ab in zip(obs, abstain, strict=True)
        ]
        answered = [o for o, ab in zip(obs, abstain, strict=True) if not ab]
        rows.append(
            {
                "threshold": t,
                "precision": s.precision,
                "recall": s.recall,
                "f1": s.f1,
                "accuracy": sum(good) / len(obs) if obs else math.nan,
                "coverage": len(answered) / len(obs) if obs else math.nan,
                "answered_right": (
                    sum(o.right for o in answered) / len(answered) if answered else math.nan
                ),
            }
        )
    return rows


def best_threshold(rows: Sequence[dict[str, float]], key: str) -> float:
    """The threshold maximising ``key``: the middle of the widest run of best values."""
    vals = [r[key] if not math.isnan(r[key]) else -1.0 for r in rows]
    top = max(vals)
    runs: list[list[float]] = []
    current: list[float] = []
    for r, v in zip(rows, vals, strict=True):
        if abs(v - top) < 1e-12:
            current.append(r["threshold"])
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    widest = max(runs, key=len)  # the first (lowest) of equally wide runs
    return round(widest[(len(widest) - 1) // 2], 2)


def _row_at(rows: Sequence[dict[str, float]], t: float) -> dict[str, float]:
    return min(rows, key=lambda r: abs(r["threshold"] - t))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m eval.calibrate``."""
    p = argparse.ArgumentParser(
        prog="python -m eval.calibrate",
        description="Find the abstain_threshold for qa/settings.py: ask answerable and "
        "unanswerable questions at threshold 0 and sweep the threshold. Default sources, "
        "data meant for fitting only: bbc-qa's dev articles (with BBC News distractors) and "
        "SQuAD's train and dev articles (half of them held out of the index). SQuAD's "
        "held-out articles, news-qa and the seed set measure, and are never used unless "
        "--seed-set adds the seed set.",
    )
    p.add_argument(
        "--bbcqa",
        default=str(DEFAULT_BBCQA),
        metavar="PATH",
        help=f"the bbc-qa folder; its articles are read from the bbc-news folder beside it "
        f"(default {DEFAULT_BBCQA})",
    )
    p.add_argument(
        "--bbcqa-extra",
        default=str(BBC_QUESTION_FILES[1]),
        metavar="FILE",
        help="the team's own BBC reader questions, whose dev articles join bbc-qa's "
        f"('' for none; default {BBC_QUESTION_FILES[1]})",
    )
    p.add_argument(
        "--squad",
        default=str(DEFAULT_SQUAD),
        metavar="PATH",
        help=f"SQuAD v1.1 even-split JSON file (default {DEFAULT_SQUAD})",
    )
    p.add_argument(
        "--distractors",
        type=int,
        default=DEFAULT_DISTRACTORS,
        metavar="N",
        help="BBC News articles not in bbc-qa to index beside the bbc-qa dev articles, a "
        f"seeded sample (default {DEFAULT_DISTRACTORS})",
    )
    p.add_argument(
        "--seed-set",
        default=None,
        metavar="PATH",
        help="also ask this JSONL question set, its articles indexed (e.g. "
        "eval/data/seed_questions.jsonl). It is a MEASURING set: a threshold chosen with it "
        "is tuned on the measure; it is reported as its own source",
    )
    p.add_argument(
        "--limit",
        type=int,
        default=150,
        metavar="N",
        help="SQuAD questions per side, answerable and unanswerable, and at most 2N bbc-qa "
        "questions (a seeded sample keeping its share of unanswerable ones); default 150 "
        "(every bbc-qa dev question)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="S",
        help="seed of the SQuAD article split, the distractors and the question samples "
        "(default 0)",
    )
    p.add_argument(
        "--recommend-from",
        choices=["bbcqa", "squad", "all"],
        default="bbcqa",
        help="the questions the recommendation is computed on (default bbcqa: the product "
        "reads news, and SQuAD's questions, which share their passage's words, score higher "
        "and would set the threshold too high for news); every source is reported either way",
    )
    p.add_argument(
        "--criterion",
        choices=["f1", "accuracy"],
        default="accuracy",
        help="what the recommended threshold maximises: accuracy (default: answered right "
        "or abstained right, what a reader gets) or abstention F1 (which ignores whether "
        "the answers given are right)",
    )
    p.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="output folder (default runs/calibrate-<timestamp>)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.add_argument("-v", "--verbose", action="store_true", help="log details")
    return p


_HEADER = [
    "criterion",
    "questions",
    "threshold",
    "abstain precision",
    "abstain recall",
    "abstain F1",
    "accuracy",
    "coverage",
    "answers right",
]


def _cells(r: dict[str, Any]) -> list[str]:
    from eval.report import pct

    return [
        f"{r['threshold']:.2f}",
        *(
            pct(r[k])
            for k in ("precision", "recall", "f1", "accuracy", "coverage", "answered_right")
        ),
    ]


def _render(result: dict[str, Any]) -> str:
    from eval.report import cell, table

    rows = result["sweep"]
    idx = result["index"]
    lines = [
        "# Abstention threshold calibration",
        "",
        "## Sources",
        "",
        table(
            ["source", "answerable", "unanswerable", "where from", "judged by", "data sha256"],
            [
                [
                    f"`{s['name']}`" + (" (measuring set)" if s["measuring"] else ""),
                    s["answerable"],
                    s["unanswerable"],
                    cell(s["origin"], 600),
                    s["judge"],
                    f"`{s['sha256'][:12]}`",
                ]
                for s in result["sources"]
            ],
        ),
        "",
        f"- Index: {idx['articles']} articles: {idx['squad']} SQuAD, {idx['bbcqa']} bbc-qa dev, "
        f"{idx['distractors']} BBC News distractors, {idx['files']} article file(s) of the "
        "seed set",
        f"- Model `{result['model_id']}`, commit `{result['git_commit'][:12]}`, "
        f"seed {result['seed']}, limit {result['limit']}",
        f"- Forced abstentions at threshold 0: {result['forced_abstentions']}",
        f"- Current setting: {result['current_threshold']}",
        "",
        f"**Recommended abstain_threshold = {result['recommended']:.2f}** "
        f"(criterion: {result['criterion']}, over {result['recommended_from']}).",
        "",
        "## Best thresholds",
        "",
        "*questions*: the sources whose questions the row's figures are computed on.",
        "",
    ]
    cur = {"threshold": result["current_threshold"], **_row_at(rows, result["current_threshold"])}
    best_rows = [
        [label, r["questions"], *_cells(r)]
        for label, r in [
            *result["best"].items(),
            ("current setting", {**cur, "questions": result["recommended_from"]}),
        ]
    ]
    lines += [table(_HEADER, best_rows), ""]
    by_source = result["by_source"]
    if len(by_source) > 1:
        lines += [
            "## By source, at the recommended and the current threshold",
            "",
            table(
                ["source", *_HEADER[2:]],
                [
                    [f"`{name}`", *_cells(r)]
                    for name, at in by_source.items()
                    for r in (at["recommended"], at["current"])
                ],
            ),
            "",
        ]
    lines += [
        "## Sweep",
        "",
        "Every source together.",
        "",
        table(
            _HEADER[2:],
            [_cells(r) for r in rows if round(r["threshold"] * 100) % 5 == 0],
        ),
        "",
        "![Threshold sweep](calibration.png)",
        "",
        "![Confidence of answerable and unanswerable questions](calibration_confidence.png)",
        "",
    ]
    return "\n".join(lines)


def load_sources(args: argparse.Namespace) -> CalibrationSet:
    """Read the data the arguments name and select the calibration's sources.

    Raises:
        ValueError: Bad data, or more distractors than there are.
        OSError: A data file cannot be read.
    """
    bbcqa_path = Path(args.bbcqa)
    if not bbcqa_path.exists():
        raise FileNotFoundError(f"bbc-qa folder not found: {bbcqa_path} (give --bbcqa PATH)")
    bbcqa = load_bbcqa(bbcqa_path, "dev")
    folder = bbcqa_path if bbcqa_path.is_dir() else bbcqa_path.parent
    every = load_bbcqa(bbcqa_path, "all").articles
    if args.bbcqa_extra and Path(args.bbcqa_extra).is_file():
        # the same recipe over other BBC articles: its dev articles calibrate too
        kw = {"articles_dir": folder.parent / "bbc-news"}
        extra = load_bbcqa(args.bbcqa_extra, "dev", **kw)
        every = every + load_bbcqa(args.bbcqa_extra, "all", **kw).articles
        bbcqa = dataclasses.replace(
            bbcqa,
            name=f"{bbcqa.name}+extra",
            articles=bbcqa.articles + extra.articles,
            questions=bbcqa.questions + extra.questions,
            sha256=f"{bbcqa.sha256}+{extra.sha256}",
        )
    seed_set = None
    if args.seed_set:
        log.warning(
            "%s is a measuring set: a threshold chosen with it is tuned on the measure",
            args.seed_set,
        )
        seed_set = load_jsonl(args.seed_set)
    return select_sources(
        load_squad(args.squad),
        bbcqa,
        every,
        load_bbc(folder.parent / "bbc-news"),
        limit=args.limit,
        seed=args.seed,
        distractors=args.distractors,
        seed_set=seed_set,
    )


def calibrate(args: argparse.Namespace) -> dict[str, Any]:
    """Run the calibration and write its outputs; returns the result dict."""
    from eval import plots
    from eval.report import write_json
    from eval.runner import Corpus, build_engine, eval_settings, git_commit, load_corpus
    from qa.settings import Settings

    show = not args.quiet
    cal = load_sources(args)
    own = load_corpus(
        EvalSet("calibration", cal.articles, [], Path(args.bbcqa), "", cal.article_files)
    )
    extra = (
        load_corpus(EvalSet("distractors", cal.distractors, [], Path(args.bbcqa), "")).articles
        if cal.distractors
        else []
    )
    corpus = Corpus(own.articles, extra)
    base = Settings.from_env()
    t0 = time.perf_counter()
    from tqdm import tqdm

    with eval_settings(base.replace(abstain_threshold=0.0)) as settings:
        engine = build_engine(settings, corpus, show_progress=show)
        model_id = engine.model.model_id
        jobs = [(q, src.name, make_judge(src.judge)) for src in cal.sources for q in src.questions]
        obs = [
            observe(engine, judge, q, src)
            for q, src, judge in tqdm(
                jobs, desc="questions", unit="q", disable=not show, dynamic_ncols=True
            )
        ]
    fitting = [s.name for s in cal.sources if not s.measuring]
    if args.recommend_from == "all":
        rows = sweep(obs)
        everything = "all sources (" + ", ".join(s.name for s in cal.sources) + ")"
    else:
        rows = sweep([o for o in obs if o.source == args.recommend_from])
        everything = f"{args.recommend_from} only"
    best: dict[str, dict[str, Any]] = {}
    for label, key in (("abstention F1", "f1"), ("accuracy", "accuracy")):
        t = best_threshold(rows, key)
        best[label] = {"threshold": t, "questions": everything, **_row_at(rows, t)}
    recommended = best["abstention F1" if args.criterion == "f1" else "accuracy"]["threshold"]
    by_source: dict[str, dict[str, Any]] = {}
    for src in cal.sources:
        sub = [o for o in obs if o.source == src.name]
        if not sub:
            continue
        sub_rows = sweep(sub)
        if any(not o.answerable for o in sub) and any(o.answerable for o in sub):
            t = best_threshold(sub_rows, "f1")
            best[f"abstention F1, {src.name} only"] = {
                "threshold": t,
                "questions": src.name,
                **_row_at(sub_rows, t),
            }
        by_source[src.name] = {
            "recommended": _row_at(sub_rows, recommended),
            "current": _row_at(sub_rows, base.abstain_threshold),
        }
    out = (
        Path(args.out)
        if args.out
        else Path("runs") / ("calibrate-" + dt.datetime.now().strftime("%Y%m%d-%H%M%S"))
    )
    out.mkdir(parents=True, exist_ok=True)
    n_squad = sum(1 for a in cal.articles if a.id.startswith("squad-"))
    result: dict[str, Any] = {
        "recommended": recommended,
        "recommended_from": everything,
        "fitting_sources": fitting,
        "criterion": args.criterion,
        "best": best,
        "by_source": by_source,
        "current_threshold": base.abstain_threshold,
        "seed": args.seed,
        "limit": args.limit,
        "sources": [
            {
                "name": s.name,
                "judge": s.judge,
                "origin": s.origin,
                "path": s.path,
                "sha256": s.sha256,
                "measuring": s.measuring,
                **s.counts(),
            }
            for s in cal.sources
        ],
        "index": {
            "articles": len(corpus.articles) + len(corpus.distractors),
            "squad": n_squad,
            "bbcqa": len(cal.articles) - n_squad,
            "distractors": len(corpus.distractors),
            "files": len(cal.article_files),
            "distractor_ids": [a.id for a in cal.distractors],
        },
        "forced_abstentions": sum(o.forced for o in obs),
        "model_id": model_id,
        "git_commit": git_commit(),
        "settings": settings.to_dict(),
        "seconds": time.perf_counter() - t0,
        "sweep": rows,
        "observations": [dataclasses.asdict(o) for o in obs],
    }
    plots.threshold_plot(
        [r["threshold"] for r in rows],
        {k: [r[k] for r in rows] for k in ("precision", "recall", "f1", "accuracy", "coverage")},
        out / "calibration.png",
        best=recommended,
    )
    plots.distribution_plot(
        {
            "answerable": [o.confidence for o in obs if o.answerable and not o.forced],
            "unanswerable": [o.confidence for o in obs if not o.answerable and not o.forced],
        },
        out / "calibration_confidence.png",
        threshold=recommended,
        title="Confidence at threshold 0 (forced abstentions left out)",
    )
    write_json(out / "calibration.json", result)
    (out / "calibration.md").write_text(_render(result), encoding="utf-8")
    result["out"] = str(out)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Run the calibration; returns the exit code."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.limit < 1:
        parser.error(f"--limit must be >= 1, got {args.limit}")
    if args.distractors < 0:
        parser.error(f"--distractors must be >= 0, got {args.distractors}")
    from eval.__main__ import configure_logging
    from qa.errors import QAError

    configure_logging(args.verbose)
    try:
        result = calibrate(args)
    except (QAError, OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.json:
        from eval.report import clean_json

        print(
            json.dumps(
                clean_json({k: v for k, v in result.items() if k not in ("observations",)}),
                indent=2,
            )
        )
        return 0
    print(
        (Path(result["out"]) / "calibration.md")
        .read_text(encoding="utf-8")
        .split("## Sweep")[0]
        .rstrip()
    )
    print(f"\nPut into qa/settings.py:  abstain_threshold: float = {result['recommended']:.2f}")
    print(f"report: {Path(result['out']) / 'calibration.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
