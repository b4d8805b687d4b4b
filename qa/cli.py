"""The ``qa`` command line: one subcommand per job.

Exit codes: 0 success; 1 a user error (bad input, no index, nothing could be ingested;
the message says what to do); 2 bad command-line usage.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported lazily at run time: `qa --help` stays fast
    from qa.engine import IngestResult
    from qa.retrieval import Filters
    from qa.settings import Settings

EXAMPLE_QUESTION = "How long does the SDF expect the fight to last?"


def _settings(args: argparse.Namespace) -> Settings:
    from qa.settings import Settings

    return Settings.from_env(
        index_dir=getattr(args, "index", None),
        model=getattr(args, "model", None),
        backend=getattr(args, "backend", None),
        retrieval=getattr(args, "retrieval", None),
        answer_mode=getattr(args, "mode", None),
        # validated up front: `-k 0` must be an error, not a silent fall-back to the default
        k=getattr(args, "k", None),
    )


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--index",
        metavar="DIR",
        default=None,
        help="index folder (env QA_INDEX; default: ~/.local/share/article-qa/index, "
        "or $QA_DATA_DIR/index)",
    )
    p.add_argument(
        "--model",
        default=None,
        help="embedding model: all-MiniLM-L6-v2 (bundled, default), a local folder "
        "or a cached name (env QA_MODEL)",
    )
    p.add_argument(
        "--backend",
        choices=["torch", "onnx"],
        default=None,
        help="embedding backend: onnx (ONNX Runtime int8, the default) or torch (fp32); "
        "an index built with one is searched with the other (env QA_BACKEND)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log progress and details")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``qa`` command."""
    parser = argparse.ArgumentParser(
        prog="qa",
        description="Question answering over news articles, every claim cited to the exact "
        "sentence. Without an index, `ask` and `serve` index the seed articles.",
        epilog=f'Example: qa ask "{EXAMPLE_QUESTION}"',
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "ingest",
        help="add article files, folders or URLs to the index",
        description="Read articles (.txt .md .html .json .jsonl .pdf; folders "
        "recursively; http(s):// URLs of pages or PDFs, fetched; a file listing URLs, "
        "one a line) and add them to the index. Unchanged "
        "articles are skipped. Exits 1 only if nothing could be "
        "ingested; per-file and per-URL errors are printed.",
    )
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="files, folders, http(s):// URLs, or files of URLs (one a line)",
    )
    p.add_argument(
        "--feed",
        action="append",
        default=[],
        metavar="URL",
        help="an RSS or Atom feed: ingest its entries' articles, skipping those already "
        "indexed (repeatable)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    _add_common(p)
    p.set_defaults(subparser=p)  # for a usage error found after parsing

    p = sub.add_parser(
        "watch",
        help="keep ingesting the new entries of RSS or Atom feeds",
        description="Read each feed now and then every MINUTES, adding only the entries "
        "that are new or changed (entries already indexed are not fetched again). Stop "
        "with Ctrl-C. Per-entry errors are printed; the other entries are ingested.",
    )
    p.add_argument("feeds", nargs="+", metavar="URL", help="feed URLs (RSS or Atom)")
    p.add_argument(
        "--every",
        type=float,
        default=30.0,
        metavar="MINUTES",
        help="minutes between reads (default 30)",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=0,
        metavar="N",
        help="stop after N reads (default 0: until stopped)",
    )
    p.add_argument("--json", action="store_true", help="print each round's result as a JSON line")
    _add_common(p)

    p = sub.add_parser(
        "ask",
        help="answer a question with citations",
        description="Answer a question from the indexed articles.",
    )
    p.add_argument("question", help="the question, in quotes")
    p.add_argument(
        "-k",
        type=int,
        default=None,
        metavar="N",
        help="passages to retrieve, 1-100 (env QA_K; default 5)",
    )
    p.add_argument("--json", action="store_true", help="print Answer.to_dict() as JSON")
    p.add_argument(
        "--mode",
        choices=["extractive", "llm"],
        default=None,
        help="answerer (env QA_ANSWER_MODE; default extractive). llm needs "
        "QA_LLM_MODEL and an OpenAI-compatible server at QA_LLM_BASE_URL",
    )
    p.add_argument(
        "--retrieval",
        choices=["hybrid", "dense", "bm25"],
        default=None,
        help="retrieval method (env QA_RETRIEVAL; default hybrid)",
    )
    p.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="OUTLET",
        help="only articles from this outlet (repeatable)",
    )
    p.add_argument(
        "--article",
        action="append",
        default=[],
        metavar="ID",
        help="only this article (repeatable; ids as `qa list` shows them): the one "
        '"this article" means',
    )
    p.add_argument(
        "--since",
        default="",
        metavar="DATE",
        help="only articles from this date on: YYYY-MM-DD, or relative to today, "
        "e.g. 'last week', 'since Monday', '3 days ago'",
    )
    p.add_argument(
        "--until",
        default="",
        metavar="DATE",
        help="only articles up to this date (YYYY-MM-DD, or e.g. 'yesterday')",
    )
    _add_common(p)

    p = sub.add_parser("search", help="show the passages retrieved for a question")
    p.add_argument("question", help="the question, in quotes")
    p.add_argument("-k", type=int, default=None, metavar="N", help="passages, 1-100")
    p.add_argument("--json", action="store_true", help="print passages as JSON")
    p.add_argument(
        "--retrieval",
        choices=["hybrid", "dense", "bm25"],
        default=None,
        help="retrieval method (default hybrid)",
    )
    _add_common(p)

    p = sub.add_parser(
        "duplicates",
        help="list near-duplicate copies grouped at ingest, or undo a grouping",
        description="Near-duplicate copies of a story (the same text with another intro, "
        "tail or outlet boilerplate) are kept with the indexed article they copy instead of "
        "being indexed; its citations list them as 'also in'. --separate indexes a copy as "
        "an article of its own and never groups the two again.",
    )
    p.add_argument(
        "--separate",
        action="append",
        default=[],
        metavar="ID",
        help="index this copy on its own (ids as listed; repeatable)",
    )
    p.add_argument("--json", action="store_true", help="print the groups as JSON")
    _add_common(p)

    p = sub.add_parser("list", help="list the indexed articles")
    p.add_argument("--json", action="store_true", help="print as JSON")
    _add_common(p)

    p = sub.add_parser("delete", help="remove articles from the index by id")
    p.add_argument("ids", nargs="+", metavar="ID", help="article ids (see `qa list`)")
    _add_common(p)

    p = sub.add_parser(
        "compact",
        help="fold the index's vector segments into one",
        description="Merge the delta segments that ingests add (and drop the vectors of "
        "deleted articles) into one main segment; above the size threshold it is an "
        "approximate IVF index, trained here. Ingests run it on their own when the deltas "
        "grow past a quarter of the main segment; questions are answered meanwhile.",
    )
    _add_common(p)

    p = sub.add_parser(
        "serve",
        help="start the chat UI in the browser",
        description="Start the Gradio chat UI. It binds to 127.0.0.1; put "
        "authentication in front before exposing it (README).",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument(
        "--mode", choices=["extractive", "llm"], default=None, help="default answerer in the UI"
    )
    p.add_argument(
        "--auth", default=None, metavar="USER:PASSWORD", help="require this login (env QA_AUTH)"
    )
    _add_common(p)

    p = sub.add_parser(
        "eval",
        help="evaluate retrieval and answers on a data set",
        description="Run `python -m eval --help` for the evaluation options.",
        add_help=False,
    )
    p.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    for noisy in (
        "httpx",
        "urllib3",
        "sentence_transformers",
        "transformers",
        "faiss",
        "bm25s",
        "gradio",
        "trafilatura",
        "charset_normalizer",
        "asyncio",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose else logging.ERROR)
    # bm25s sets its own logger to DEBUG when it is (lazily) imported, after this runs;
    # a threshold on the handler keeps its "Building index" lines off stderr anyway.
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.INFO if verbose else logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``qa`` command; returns the exit code."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "eval":
        from eval.__main__ import main as eval_main

        return eval_main(argv[1:])
    args = build_parser().parse_args(argv)
    _configure_logging(getattr(args, "verbose", False))
    from qa.errors import QAError

    try:
        return _COMMANDS[args.command](args)
    except QAError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _cmd_ingest(args: argparse.Namespace) -> int:
    from qa.engine import QA

    if not args.paths and not args.feed:
        args.subparser.error("name at least one PATH, URL or --feed URL to ingest")
    engine = QA(_settings(args))
    result = engine.ingest(
        args.paths, feeds=args.feed, show_progress=not args.json and sys.stderr.isatty()
    )
    r = result.report
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        _print_ingest(result, str(engine.settings.index_path))
    ingested = (
        len(r.added) + len(r.replaced) + len(r.unchanged) + len(r.copies) + len(result.skipped)
    )
    return 1 if ingested == 0 else 0


def _print_ingest(result: IngestResult, index_path: str, prefix: str = "") -> None:
    r = result.report
    for err in result.errors:
        print(f"skipped: {err}", file=sys.stderr)
    dup = f", {len(r.duplicates)} duplicates skipped" if r.duplicates else ""
    if r.copies:
        dup += (
            f", {_n(len(r.copies), 'near-duplicate copy', 'copies')} kept with the "
            "articles they copy (see `qa duplicates`)"
        )
    feed = (
        f"{result.entries} feed entries, {len(result.skipped)} already indexed; "
        if result.entries or result.skipped
        else ""
    )
    print(
        f"{prefix}{feed}{len(r.added)} added, {len(r.replaced)} updated, "
        f"{len(r.unchanged)} unchanged{dup} ({r.chunks} new chunks); index now holds "
        f"{r.total_articles} articles, {r.total_chunks} chunks in {index_path}",
        flush=True,
    )


def _n(count: int, one: str, many: str) -> str:
    """``1 story``, ``2 stories``; ``many`` replaces the last word of ``one``."""
    if count == 1:
        return f"1 {one}"
    return f"{count} {' '.join([*one.split()[:-1], many])}"


def _cmd_watch(args: argparse.Namespace) -> int:
    import time

    from qa.engine import QA

    if args.every <= 0:
        print(f"error: --every must be more than 0 minutes, got {args.every:g}", file=sys.stderr)
        return 2
    if args.rounds < 0:
        print(f"error: --rounds must be 0 or more, got {args.rounds}", file=sys.stderr)
        return 2
    engine = QA(_settings(args))
    done = 0
    while True:
        result = engine.ingest(feeds=args.feeds)
        done += 1
        if args.json:
            print(json.dumps(result.to_dict()), flush=True)
        else:
            _print_ingest(result, str(engine.settings.index_path), time.strftime("%H:%M:%S "))
        if args.rounds and done >= args.rounds:
            return 0
        time.sleep(args.every * 60)


def _filters(args: argparse.Namespace) -> Filters:
    from qa.dates import date_bound
    from qa.retrieval import Filters

    return Filters(
        sources=tuple(args.source),
        article_ids=tuple(args.article),
        date_from=date_bound(args.since, name="--since"),
        date_to=date_bound(args.until, end=True, name="--until"),
    )


def _cmd_ask(args: argparse.Namespace) -> int:
    from qa.engine import QA

    engine = QA(_settings(args))
    filters = _filters(args)
    answer = engine.ask(args.question, k=args.k, filters=filters)
    if filters.date_from or filters.date_to:
        span = f"{filters.date_from or 'any date'} to {filters.date_to or 'any date'}"
        print(f"dates searched: {span}", file=sys.stderr)
    if args.json:
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
        return 0
    print(answer.text)
    if answer.citations:
        print()
        for c in answer.citations:
            meta = ", ".join(x for x in (c.source, c.author, c.date) if x)
            print(
                f"[{c.n}] {c.title}"
                + (f" ({meta})" if meta else "")
                + f", characters {c.start}-{c.end}"
            )
            if c.also_in:
                also = "; ".join(
                    ", ".join(x for x in (o.source or o.title, o.url or o.path) if x)
                    for o in c.also_in
                )
                print(f"    also in: {also}")
    if answer.abstained and answer.passages:
        print("\nClosest passages:")
        for p in answer.passages[:3]:
            snippet = " ".join(p.text.split())[:200]
            print(f"- {p.title or p.article_id}: {snippet}…")
    for note in answer.notes:
        print(f"note: {note}", file=sys.stderr)
    if answer.expansions:
        print(f"searched: {answer.query}", file=sys.stderr)
    return 0


def _cmd_search(args: argparse.Namespace) -> int:
    from qa.engine import QA

    engine = QA(_settings(args))
    result = engine.search(args.question, k=args.k)
    if args.json:
        print(
            json.dumps(
                {
                    "query": result.query,
                    "expansions": [e.to_dict() for e in result.expansions],
                    "passages": [p.to_dict() for p in result.passages],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return 0
    print(f"searched: {result.query}")
    for p in result.passages:
        print(f"\n#{p.rank} score {p.score:.3f}  {p.title} [{p.chunk_id} {p.start}-{p.end}]")
        print("  " + " ".join(p.text.split())[:400])
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from qa.engine import QA

    engine = QA(_settings(args))
    idx = engine.index
    counts = idx.chunk_counts()
    rows = [
        {
            "id": a.id,
            "title": a.title,
            "source": a.source,
            "author": a.author,
            "date": a.date,
            "chunks": counts.get(a.id, 0),
            "path": a.path,
        }
        for a in idx.articles
    ]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        for r in rows:
            print(
                f"{r['id']}  {r['chunks']:3d} chunks  {r['source'] or '-':20.20s}  "
                f"{r['title'] or r['path']}"
            )
        print(f"{len(rows)} articles, {len(idx.chunks)} chunks in {engine.settings.index_path}")
    return 0


def _cmd_duplicates(args: argparse.Namespace) -> int:
    from qa.engine import QA

    engine = QA(_settings(args))
    for copy_id in args.separate:
        r = engine.separate(copy_id)
        print(f"separated {copy_id}: indexed on its own ({r.chunks} new chunks)")
    groups = engine.duplicate_groups()
    if args.json:
        print(json.dumps([g.to_dict() for g in groups], indent=2, ensure_ascii=False))
        return 0
    for g in groups:
        a = g.article
        print(f"{a.id}  {a.source or '-'}: {a.title or a.path}")
        for c in g.copies:
            o = c.article
            print(
                f"  copy {o.id}  {o.source or '-'}: {o.title or o.path}  "
                f"(similarity {c.similarity:.2f}{', ' + o.url if o.url else ''})"
            )
    n = sum(len(g.copies) for g in groups)
    print(
        f"{_n(len(groups), 'story', 'stories')} with near-duplicate copies, "
        f"{_n(n, 'copy', 'copies')} not indexed"
    )
    return 0


def _cmd_delete(args: argparse.Namespace) -> int:
    from qa.engine import QA

    engine = QA(_settings(args))
    gone = engine.delete(args.ids)
    missing = [i for i in args.ids if i not in gone]
    for i in missing:
        print(f"not in the index: {i}", file=sys.stderr)
    print(f"deleted {len(gone)} article(s)")
    return 0 if gone else 1


def _cmd_compact(args: argparse.Namespace) -> int:
    from qa.engine import QA

    engine = QA(_settings(args))
    r = engine.compact()
    print(
        f"{r.segments_before} segment(s) -> {r.segments_after}: {r.chunks} chunks, "
        f"{r.sentences} sentences ({r.faiss}), {r.bytes_written / 1e6:.1f} MB written in "
        f"{r.seconds:.1f} s"
    )
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from ui.app import serve

    auth = args.auth or os.environ.get("QA_AUTH")
    serve(_settings(args), host=args.host, port=args.port, auth=auth)
    return 0


_COMMANDS = {
    "ingest": _cmd_ingest,
    "watch": _cmd_watch,
    "ask": _cmd_ask,
    "search": _cmd_search,
    "list": _cmd_list,
    "delete": _cmd_delete,
    "compact": _cmd_compact,
    "duplicates": _cmd_duplicates,
    "serve": _cmd_serve,
}


if __name__ == "__main__":
    raise SystemExit(main())
