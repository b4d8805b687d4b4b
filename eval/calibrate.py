"""Calibrate the extractive answerer's abstention threshold (``Settings.abstain_threshold``).

``python -m eval.calibrate`` (or ``qa eval calibrate``) builds answerable and unanswerable
questions and records ``Answer.confidence`` for each with the threshold at 0, then sweeps
the threshold:

* SQuAD: the articles are shuffled (seeded) and split in two halves; only the first half is
  indexed. Questions about the indexed half are answerable; questions about the other half,
  asked against an index without their article, are unanswerable.
* The seed question set (``eval/data/seed_questions.jsonl``), whose article is indexed beside
  the SQuAD half: answerable or not as the file says.

At a threshold ``t`` a question is abstained on when the answerer abstained even at 0 (no
span of the wanted kind, a missing metadata field) or its confidence is below ``t``.

Criteria (both are reported; ``--criterion`` picks the recommendation):

* ``f1`` (default): F1 of abstention, abstaining being the positive class and "unanswerable"
  the truth. It ignores whether the answers given are right.
* ``accuracy``: the share of questions handled well: answered correctly (the data set's rule,
  see :mod:`eval.judge`) or, when unanswerable, abstained on. This also rewards abstaining
  on answerable questions the system would get wrong.

Ties (the curves are step functions) are broken by taking the middle of the widest run of
best thresholds, which keeps the choice away from the edge of a step.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import os
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.datasets import (
    DEFAULT_DATA_DIR,
    EvalQuestion,
    EvalSet,
    load_jsonl,
    load_squad,
    sample_questions,
)
from eval.judge import Judge, make_judge
from eval.metrics import abstention_scores

DEFAULT_SQUAD = DEFAULT_DATA_DIR / "squad" / "dev-v1.1-even.json"
DEFAULT_SEED_SET = Path(__file__).resolve().parent / "data" / "seed_questions.jsonl"
THRESHOLDS = [round(i / 100, 2) for i in range(101)]


@dataclass(frozen=True)
class Observation:
    """One question asked with the threshold at 0.

    Attributes:
        id: The question id.
        source: ``squad`` or ``seed``.
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
        "unanswerable questions (SQuAD with half its articles held out, plus the "
        "seed question set) at threshold 0 and sweep the threshold.",
    )
    p.add_argument(
        "--squad",
        default=str(DEFAULT_SQUAD),
        metavar="PATH",
        help=f"SQuAD v1.1 JSON file (default {DEFAULT_SQUAD})",
    )
    p.add_argument(
        "--seed-set",
        default=str(DEFAULT_SEED_SET),
        metavar="PATH",
        help="our JSONL question set to add (default eval/data/seed_questions.jsonl)",
    )
    p.add_argument("--no-seed-set", action="store_true", help="use SQuAD questions only")
    p.add_argument(
        "--limit",
        type=int,
        default=150,
        metavar="N",
        help="SQuAD questions per side, answerable and unanswerable (default 150)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="S",
        help="seed of the article split and the question sample (default 0)",
    )
    p.add_argument(
        "--criterion",
        choices=["f1", "accuracy"],
        default="f1",
        help="what the recommended threshold maximises: abstention F1 (default) "
        "or accuracy (answered right or abstained right)",
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


def _render(result: dict[str, Any]) -> str:
    from eval.report import pct, table

    rows = result["sweep"]
    lines = [
        "# Abstention threshold calibration",
        "",
        "- Questions: SQuAD {squad_answerable} answerable + {squad_unanswerable} "
        "unanswerable (their article held out of the index); seed set {seed_answerable} "
        "answerable + {seed_unanswerable} unanswerable; {indexed_articles} articles "
        "indexed".format(**result["counts"]),
        f"- Model `{result['model_id']}`, commit `{result['git_commit'][:12]}`, "
        f"seed {result['seed']}",
        f"- Forced abstentions at threshold 0: {result['forced_abstentions']}",
        f"- Current setting: {result['current_threshold']}",
        "",
        f"**Recommended abstain_threshold = {result['recommended']:.2f}** "
        f"(criterion: {result['criterion']}).",
        "",
        "## Best thresholds",
        "",
    ]
    best_rows = []
    cur = {
        "threshold": result["current_threshold"],
        "questions": "all",
        **_row_at(rows, result["current_threshold"]),
    }
    for label, r in [*result["best"].items(), ("current setting", cur)]:
        best_rows.append(
            [
                label,
                r["questions"],
                f"{r['threshold']:.2f}",
                pct(r["precision"]),
                pct(r["recall"]),
                pct(r["f1"]),
                pct(r["accuracy"]),
                pct(r["coverage"]),
                pct(r["answered_right"]),
            ]
        )
    header = [
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
    lines += [
        table(header, best_rows),
        "",
        "## Sweep",
        "",
        table(
            header[2:],
            [
                [
                    f"{r['threshold']:.2f}",
                    pct(r["precision"]),
                    pct(r["recall"]),
                    pct(r["f1"]),
                    pct(r["accuracy"]),
                    pct(r["coverage"]),
                    pct(r["answered_right"]),
                ]
                for r in rows
                if round(r["threshold"] * 100) % 5 == 0
            ],
        ),
        "",
        "![Threshold sweep](calibration.png)",
        "",
        "![Confidence of answerable and unanswerable questions](calibration_confidence.png)",
        "",
    ]
    return "\n".join(lines)


def calibrate(args: argparse.Namespace) -> dict[str, Any]:
    """Run the calibration and write its outputs; returns the result dict."""
    from eval import plots
    from eval.report import write_json
    from eval.runner import Corpus, build_engine, eval_settings, git_commit, load_corpus
    from qa.settings import Settings

    show = not args.quiet
    squad = load_squad(args.squad)
    keep_ids, answerable, unanswerable = split_squad(squad, args.limit, args.seed)
    kept = EvalSet(
        squad.name,
        [a for a in squad.articles if a.id in set(keep_ids)],
        [],
        squad.source_path,
        squad.sha256,
    )
    corpus = load_corpus(kept)
    seed_qs: list[EvalQuestion] = []
    if not args.no_seed_set:
        seed_set = load_jsonl(args.seed_set)
        seed_qs = list(seed_set.questions)
        corpus = Corpus(corpus.articles + load_corpus(seed_set).articles)
    base = Settings.from_env()
    t0 = time.perf_counter()
    from tqdm import tqdm

    with eval_settings(base.replace(abstain_threshold=0.0)) as settings:
        engine = build_engine(settings, corpus, show_progress=show)
        model_id = engine.model.model_id
        jobs = [(q, "squad", make_judge("squad")) for q in answerable + unanswerable] + [
            (q, "seed", make_judge("jsonl")) for q in seed_qs
        ]
        obs = [
            observe(engine, judge, q, src)
            for q, src, judge in tqdm(
                jobs, desc="questions", unit="q", disable=not show, dynamic_ncols=True
            )
        ]
    rows = sweep(obs)
    best: dict[str, dict[str, Any]] = {}
    for label, key in (("abstention F1", "f1"), ("accuracy", "accuracy")):
        t = best_threshold(rows, key)
        best[label] = {"threshold": t, "questions": "all", **_row_at(rows, t)}
    for src in ("squad", "seed"):
        sub = [o for o in obs if o.source == src]
        if sub and any(not o.answerable for o in sub) and any(o.answerable for o in sub):
            sub_rows = sweep(sub)
            t = best_threshold(sub_rows, "f1")
            best[f"abstention F1, {src} only"] = {
                "threshold": t,
                "questions": src,
                **_row_at(sub_rows, t),
            }
    recommended = best["abstention F1" if args.criterion == "f1" else "accuracy"]["threshold"]
    out = (
        Path(args.out)
        if args.out
        else Path("runs") / ("calibrate-" + dt.datetime.now().strftime("%Y%m%d-%H%M%S"))
    )
    out.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "recommended": recommended,
        "criterion": args.criterion,
        "best": best,
        "current_threshold": base.abstain_threshold,
        "seed": args.seed,
        "counts": {
            "squad_answerable": len(answerable),
            "squad_unanswerable": len(unanswerable),
            "seed_answerable": sum(q.answerable for q in seed_qs),
            "seed_unanswerable": sum(not q.answerable for q in seed_qs),
            "indexed_articles": len(corpus.articles),
        },
        "forced_abstentions": sum(o.forced for o in obs),
        "model_id": model_id,
        "git_commit": git_commit(),
        "squad_sha256": squad.sha256,
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
