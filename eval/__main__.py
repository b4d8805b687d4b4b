"""``python -m eval`` / ``qa eval``: evaluate retrieval and answers on a data set.

Usage::

    qa eval jsonl eval/data/seed_questions.jsonl
    qa eval squad ../shared/data/squad/dev-v1.1-even.json --limit 500
    qa eval squad ../shared/data/squad/dev-v1.1-even.json --split heldout
    qa eval newsqa ../shared/data/news-qa [--per-article]
    qa eval bbcqa ../shared/data/bbc-qa [--split dev|train|all]
    qa eval realtimeqa ../shared/data/realtimeqa/20240105_qa.jsonl
    qa eval retrieval squad ../shared/data/squad/dev-v1.1-even.json --limit 1000
    qa eval --compare runs/squad-a runs/squad-b
    qa eval calibrate --help

Exit codes: 0 success; 1 a user error (missing file, bad data, bad setting; the message says
what to do); 2 bad command-line usage.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from eval.datasets import BBCQA_SPLITS, SPLITS, EvalSet
from eval.judge import DATASETS, NEWSQA_SCORED

log = logging.getLogger("eval")


def _env_int(name: str) -> int | None:
    v = os.environ.get(name)
    return int(v) if v and v.strip().lstrip("-").isdigit() else None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m eval``."""
    p = argparse.ArgumentParser(
        prog="qa eval",
        description="Index a data set's articles into a temporary index, retrieve and answer "
        "its questions, and write metrics.json, report.md, predictions.jsonl and "
        "PNG plots. `qa eval retrieval DATASET PATH` compares retrieval methods "
        "instead; `qa eval calibrate` calibrates the abstention threshold.",
        epilog="Example: qa eval jsonl eval/data/seed_questions.jsonl",
    )
    p.add_argument(
        "dataset",
        nargs="?",
        choices=DATASETS,
        metavar="DATASET",
        help=f"data set format: {', '.join(DATASETS)}",
    )
    p.add_argument(
        "path",
        nargs="?",
        metavar="PATH",
        help="the data file: SQuAD JSON, a RealTime QA *_qa.jsonl (its *_gcs.jsonl "
        "beside it), our question JSONL (see eval/README.md), for newsqa the news-qa "
        "folder (articles/ and questions.jsonl), for bbcqa the bbc-qa folder (its articles "
        "read from the bbc-news folder beside it)",
    )
    p.add_argument(
        "--split",
        choices=SPLITS,
        default=None,
        help="squad: index and ask only the train, dev or held-out articles (default all); "
        "bbcqa: only the dev, train or all articles (default dev; bbc-qa has no held-out "
        "part); see eval/splits.py",
    )
    p.add_argument(
        "--per-article",
        action="store_true",
        help="ask each question of its own article only (as if picked under 'Ask about'); "
        "default: every question searches the whole corpus",
    )
    p.add_argument(
        "--limit",
        type=int,
        default=_env_int("QA_EVAL_LIMIT"),
        metavar="N",
        help="evaluate a seeded random sample of N questions (env QA_EVAL_LIMIT; default: all)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=_env_int("QA_EVAL_SEED") or 0,
        metavar="S",
        help="seed of the question sample (env QA_EVAL_SEED; default 0)",
    )
    p.add_argument(
        "--out",
        default=os.environ.get("QA_EVAL_OUT"),
        metavar="DIR",
        help="output folder (env QA_EVAL_OUT; default runs/<dataset>-<timestamp>)",
    )
    p.add_argument(
        "--index",
        default=None,
        metavar="DIR",
        help="keep the index in this folder and reuse it on the next run "
        "(default: a temporary folder, removed afterwards)",
    )
    p.add_argument(
        "--retrieval",
        choices=["hybrid", "dense", "bm25"],
        default=None,
        help="retrieval method (env QA_RETRIEVAL; default hybrid)",
    )
    p.add_argument(
        "--no-acronyms",
        action="store_true",
        help="turn acronym expansion off (env QA_EXPAND_ACRONYMS=0)",
    )
    p.add_argument(
        "-k",
        type=int,
        default=None,
        metavar="N",
        help="passages given to the answerer, 1-100 (env QA_K; default 5); "
        "retrieval metrics always use the top 10",
    )
    p.add_argument(
        "--mode",
        choices=["extractive", "llm"],
        default=None,
        help="answerer (env QA_ANSWER_MODE; default extractive). llm asks the server of "
        "QA_LLM_BASE_URL/QA_LLM_MODEL, or, when QA_LLM_MODEL is unset, starts the bundled "
        "SmolLM2-135M-Instruct on llama.cpp's server for the run (the llm extra); the "
        "report adds the share of generated sentences supported, markers dropped, "
        "fallbacks and sentences shown as supported that are not (must be 0)",
    )
    p.add_argument(
        "--distractors",
        default=None,
        metavar="PATH",
        help="also index BBC News articles from this folder (e.g. "
        "../shared/data/bbc-news) as distractors",
    )
    p.add_argument(
        "--distractor-limit",
        type=int,
        default=300,
        metavar="N",
        help="how many BBC News articles to add, in topic/file order (default 300)",
    )
    p.add_argument(
        "--compare",
        nargs=2,
        metavar=("A", "B"),
        default=None,
        help="print the differences between two runs (folders or metrics.json files) and exit",
    )
    p.add_argument(
        "--changed-only", action="store_true", help="with --compare: list only metrics that changed"
    )
    p.add_argument(
        "--compare-methods",
        action="store_true",
        help="compare retrieval methods (bm25, dense, hybrid without and with "
        "acronyms) on one index instead of a full evaluation; the same as "
        "`qa eval retrieval DATASET PATH`",
    )
    p.add_argument("--json", action="store_true", help="print the figures as JSON on stdout")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress and details")
    return p


def configure_logging(verbose: bool) -> None:
    """Log warnings (or info with ``verbose``) and quiet chatty dependencies."""
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    # bm25s sets its own logger to DEBUG when imported, after this runs; a level on the
    # handler keeps its records out too.
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.level < level:
            handler.setLevel(level)
    for noisy in (
        "httpx",
        "urllib3",
        "sentence_transformers",
        "transformers",
        "faiss",
        "bm25s",
        "matplotlib",
        "PIL",
        "charset_normalizer",
        "trafilatura",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose else logging.ERROR)


def default_out(name: str) -> Path:
    """``runs/<name>-<timestamp>``, made unique if that folder exists."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path("runs") / f"{name}-{stamp}"
    n = 2
    while out.exists():
        out = Path("runs") / f"{name}-{stamp}-{n}"
        n += 1
    return out


def _print_summary(m: dict[str, Any], paths: dict[str, Path]) -> None:
    from eval.report import num, pct

    r, a, ab = m["retrieval"], m["answers"], m["abstention"]
    lat = m["latency"]
    print(
        f"{m['name']}: {m['questions_evaluated']} questions, {m['articles']} articles"
        + (f" + {m['distractors']['count']} distractors" if m.get("distractors") else "")
    )
    print(
        f"  retrieval   Hits@1 {pct(r['hits@1'])}  Hits@5 {pct(r['hits@5'])}  "
        f"Hits@10 {pct(r['hits@10'])}  MRR@10 {num(r['mrr@10'])}  (n={r['questions']})"
    )
    print(
        f"  answers     EM {pct(a['exact_match'])}  F1 {pct(a['f1'])}  (short answer alone "
        f"EM {pct(a['short_exact_match'])}  F1 {pct(a['short_f1'])})  supporting sentence "
        f"{pct(a['supporting_sentence_accuracy'])}  correct {pct(a['correct_all'])}  "
        f"citation validity {pct(a['citation_validity'])}"
    )
    if m["dataset"] in NEWSQA_SCORED:
        s = m["scorecard"]
        setting = "each question asked of its own article" if m["per_article"] else "open"
        print(
            f"  news-qa     accuracy {pct(s['accuracy'])}  answerable "
            f"{pct(s['answerable_accuracy'])}  unanswerable {pct(s['unanswerable_accuracy'])}  "
            f"evidence cited {pct(s['evidence_cited'])}  short answer right "
            f"{pct(s['short_answer_right'])}  wrongly abstained {s['wrongly_abstained']} "
            f"({setting})"
        )
    g = m.get("generation") or {}
    if g.get("asked"):
        print(
            f"  llm         {g['sentences']} generated sentences, supported "
            f"{pct(g['supported_share'])}  markers dropped {pct(g['markers_dropped_share'])} "
            f"(of {g['markers']})  fallbacks {g['fallbacks']} of {g['asked']} "
            f"({g['server_failures']} server failures)  shown as supported but not: "
            f"{g['shown_unsupported']}"
        )
    print(
        f"  abstention  precision {pct(ab['precision'])}  recall {pct(ab['recall'])}  "
        f"({ab['abstained']} abstained, {ab['unanswerable']} unanswerable)"
    )
    print(
        f"  latency     retrieve p50 {1000 * lat['retrieve_s']['p50']:.0f} ms  ask p50 "
        f"{1000 * lat['ask_s']['p50']:.0f} ms  p95 {1000 * lat['ask_s']['p95']:.0f} ms"
    )
    print(
        f"  time        index {m['timings']['index_s']:.1f} s  questions "
        f"{m['timings']['questions_s']:.1f} s"
    )
    print(f"report: {paths['report']}")


def default_split(dataset: str) -> str:
    """The ``--split`` a data set gets when none is given: bbc-qa's dev articles (its train
    articles train the models), every article of the others."""
    return "dev" if dataset == "bbcqa" else "all"


def load_selected(dataset: str, path: str | Path, split: str) -> EvalSet:
    """Load a data set and keep one split: SQuAD's by file position, bbc-qa's by article
    (:mod:`eval.splits`); the other sets have no splits (``split`` must be "all").

    Raises:
        ValueError: Unknown kind, a split the set does not have, or bad data.
        OSError: The data cannot be read.
    """
    from eval.datasets import load_bbcqa, select_squad_split
    from eval.runner import load_set

    if dataset == "bbcqa":
        p = Path(path)
        if not p.exists():
            raise FileNotFoundError(f"bbcqa folder (or its questions.jsonl) not found: {p}")
        return load_bbcqa(p, split)
    if split != "all" and dataset != "squad":
        raise ValueError(f"--split applies to squad and bbcqa only, not {dataset}")
    return select_squad_split(load_set(dataset, path), split)


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """Run an evaluation (or a method comparison) as the parsed arguments say."""
    from eval.datasets import sample_questions
    from eval.judge import make_judge
    from eval.runner import (
        breakdown,
        build_engine,
        eval_settings,
        git_commit,
        git_dirty,
        load_corpus,
        run_questions,
        summarise,
    )
    from qa.settings import Settings

    t_start = time.perf_counter()
    show = not args.quiet
    evalset = load_selected(args.dataset, args.path, args.split)
    questions = sample_questions(evalset.questions, args.limit, args.seed)
    corpus = load_corpus(evalset, args.distractors, args.distractor_limit)
    if corpus.distractors:
        # bbc-qa's articles are BBC News articles: index none twice (nor a copy of one
        # under another file name; the corpus has some)
        ids, texts = {a.id for a in corpus.articles}, {a.text for a in corpus.articles}
        corpus = replace(
            corpus,
            distractors=[d for d in corpus.distractors if d.id not in ids and d.text not in texts],
        )
    judge = make_judge(args.dataset)
    base = Settings.from_env(
        retrieval=args.retrieval,
        k=args.k,
        expand_acronyms=False if args.no_acronyms else None,
        answer_mode=args.mode,
    )
    t_loaded = time.perf_counter()
    with eval_settings(base, args.index) as settings:
        engine = build_engine(settings, corpus, show_progress=show)
        model_id = engine.model.model_id
        t_indexed = time.perf_counter()
        meta: dict[str, Any] = {
            "format": 1,
            "dataset": args.dataset,
            "name": evalset.name,
            "data_path": str(Path(args.path).resolve()),
            "data_sha256": evalset.sha256,
            "questions_total": len(evalset.questions),
            "questions_evaluated": len(questions),
            "split": args.split,
            "per_article": args.per_article,
            "limit": args.limit,
            "seed": args.seed,
            "articles": len(corpus.articles),
            "distractors": {
                "path": str(args.distractors),
                "limit": args.distractor_limit,
                "count": len(corpus.distractors),
            }
            if args.distractors
            else None,
            "settings": settings.to_dict(),
            "model_id": model_id,
            "git_commit": git_commit(),
            "git_dirty": git_dirty(),
            "created": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "command": ["qa", "eval", *argv],
            "hit_rule": judge.hit_rule,
            "support_rule": judge.support_rule,
            "correct_rule": judge.correct_rule,
        }
        out = (
            Path(args.out)
            if args.out
            else default_out(("methods-" if args.compare_methods else "") + args.dataset)
        )
        if args.compare_methods:
            from eval.methods import compare_methods, render_methods, write_methods

            results = compare_methods(settings, judge, questions, show_progress=show)
            meta["timings"] = {
                "load_s": t_loaded - t_start,
                "index_s": t_indexed - t_loaded,
                "total_s": time.perf_counter() - t_start,
            }
            path = write_methods(out, meta, results)
            if args.json:
                from eval.report import clean_json

                print(json.dumps(clean_json({**meta, "methods": results}), indent=2))
            else:
                print(render_methods(results, evalset.name))
                print(f"report: {path}")
            return 0
        records = run_questions(
            engine, judge, questions, show_progress=show, per_article=args.per_article
        )
        t_done = time.perf_counter()
    from eval.report import clean_json, write_run

    metrics = {
        **meta,
        **summarise(records),
        "by_category": (
            breakdown(records, "category") if args.dataset in ("jsonl", *NEWSQA_SCORED) else {}
        ),
        "by_question_type": breakdown(records, "question_type"),
        "timings": {
            "load_s": t_loaded - t_start,
            "index_s": t_indexed - t_loaded,
            "questions_s": t_done - t_indexed,
            "per_question_s": (t_done - t_indexed) / max(1, len(records)),
            "total_s": time.perf_counter() - t_start,
        },
    }
    paths = write_run(out, metrics, records, threshold=settings.abstain_threshold)
    if args.json:
        print(json.dumps(clean_json(metrics), indent=2, ensure_ascii=False))
    else:
        _print_summary(metrics, paths)
    return 0


def _serve_bundled_llm(args: argparse.Namespace, stack: contextlib.ExitStack) -> None:
    """For ``--mode llm`` without ``QA_LLM_MODEL``: serve the bundled model for the run
    (:class:`eval.llm_server.LlamaServer`, stopped by ``stack``) and point QA_LLM_* at it."""
    mode = args.mode or os.environ.get("QA_ANSWER_MODE", "")
    if mode != "llm" or os.environ.get("QA_LLM_MODEL") or args.compare_methods:
        return
    from eval.llm_server import LlamaServer, LLMServerError

    try:
        server = stack.enter_context(LlamaServer())
    except LLMServerError as e:
        raise ValueError(f"--mode llm without QA_LLM_MODEL needs the bundled server: {e}") from e
    log.warning(
        "QA_LLM_MODEL is not set: serving the bundled %s at %s for this run",
        server.model,
        server.base_url,
    )
    stack.enter_context(_environ(QA_LLM_BASE_URL=server.base_url, QA_LLM_MODEL=server.model))


@contextlib.contextmanager
def _environ(**values: str) -> Iterator[None]:
    """Set environment variables for the duration of a block."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``qa eval``; returns the exit code."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "calibrate":
        from eval.calibrate import main as calibrate_main

        return calibrate_main(argv[1:])
    methods = bool(argv) and argv[0] == "retrieval"
    parser = build_parser()
    args = parser.parse_args(argv[1:] if methods else argv)
    args.compare_methods = args.compare_methods or methods
    configure_logging(args.verbose)
    if args.compare:
        from eval.compare import compare_files

        try:
            print(compare_files(*args.compare, as_json=args.json, only_changed=args.changed_only))
        except (OSError, ValueError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        return 0
    if not args.dataset or not args.path:
        parser.error("give DATASET and PATH (or --compare A B)")
    if args.per_article and args.compare_methods:
        parser.error("--per-article does not apply to the retrieval method comparison")
    if args.split is None:
        args.split = default_split(args.dataset)
    elif args.dataset == "bbcqa" and args.split not in BBCQA_SPLITS:
        parser.error(
            f"--split for bbcqa must be one of {', '.join(BBCQA_SPLITS)} (bbc-qa has no "
            f"held-out part: measure on newsqa or squad --split heldout); got {args.split}"
        )
    elif args.split != "all" and args.dataset not in ("squad", "bbcqa"):
        parser.error(f"--split applies to squad and bbcqa only, not {args.dataset}")
    if args.limit is not None and args.limit < 1:
        parser.error(f"--limit must be >= 1, got {args.limit}")
    if args.distractor_limit < 0:
        parser.error(f"--distractor-limit must be >= 0, got {args.distractor_limit}")
    from qa.errors import QAError

    try:
        with contextlib.ExitStack() as stack:
            _serve_bundled_llm(args, stack)
            return run(args, argv)
    except (QAError, OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
