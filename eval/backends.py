"""torch fp32 against ONNX int8: retrieval quality and ingest speed, side by side.

Usage::

    python -m eval.backends                                  # SQuAD even, news-qa, 300 BBC
    python -m eval.backends --squad-limit 2000 --bbc-limit 100 --no-cli

For each backend the data set's articles are ingested into a fresh index (``QA.add_articles``,
what ``qa ingest`` runs) and its questions searched with the default retrieval (hybrid with
acronym bridging, the top 10, judged as ``qa eval retrieval`` judges them); a third row
searches the torch-built index with onnx queries, the case of an index built before the
default changed. Speed is the ingest's corpus tokens/s (MiniLM wordpieces of the articles'
headline and text, untruncated, over the ``add_articles`` time) beside the raw
``encode_documents`` rate of exactly what ingest embedded (chunks with their headline and
every sentence, the same batch sizes). ``--cli`` (the default) also times the ``qa ingest``
command in a fresh process on the same articles, start-up included.

Both backends are loaded (and the onnx export made, when it is not cached), and one article
ingested into a throwaway index, before anything is timed. The machine's other load is
printed with each figure (cores other processes kept busy).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval.datasets import DEFAULT_DATA_DIR

ROOT = Path(__file__).resolve().parent.parent
DATA = DEFAULT_DATA_DIR
HYBRID = ("hybrid + acronyms", "hybrid", True)


def wordpieces(texts: Sequence[str]) -> int:
    """MiniLM wordpieces of the texts, without truncation or special tokens."""
    from tokenizers import Tokenizer

    from embeddings import resolve_model_path

    tok = Tokenizer.from_file(str(Path(resolve_model_path("all-MiniLM-L6-v2")) / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    return sum(len(e.ids) for e in tok.encode_batch(list(texts), add_special_tokens=False))


def busy_cores(t0: float, cpu0: tuple[float, float], t1: float) -> float:
    """Cores other processes kept busy between two readings (``/proc/stat`` less our CPU)."""
    total, ours = cpu_now()
    return round(max(0.0, (total - cpu0[0]) - (ours - cpu0[1])) / max(t1 - t0, 1e-9), 2)


def cpu_now() -> tuple[float, float]:
    """(all processes' busy CPU seconds, this process's and its children's CPU seconds)."""
    hz = os.sysconf("SC_CLK_TCK")
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    busy = (sum(fields) - fields[3] - fields[4]) / hz  # all but idle and iowait
    t = os.times()
    return busy, t.user + t.system + t.children_user + t.children_system


def settings_for(data_dir: Path, index_dir: Path, backend: str) -> Any:
    from qa.settings import Settings

    return Settings.from_env(data_dir=data_dir, index_dir=index_dir, backend=backend)


def ingest(articles: Sequence[Any], backend: str, work: Path, name: str) -> dict[str, Any]:
    """Ingest into a fresh index with one backend; corpus and raw encode rates."""
    from qa.engine import QA
    from qa.index import embed_text

    # the first ingest of a process loads what ingest needs besides the encoder (spaCy's
    # pipeline, the tokenizers): done on a throwaway index, so that neither backend pays it
    QA(settings_for(work, work / f"warm-{backend}", backend)).add_articles(list(articles[:1]))
    engine = QA(settings_for(work, work / f"{name}-{backend}", backend))
    t0, c0 = time.perf_counter(), cpu_now()
    report = engine.add_articles(list(articles))
    t_ingest = time.perf_counter() - t0
    other = busy_cores(t0, c0, time.perf_counter())
    idx = engine.index
    chunk_texts = [embed_text(idx.article(c.article_id), c.text) for c in idx.chunks]
    sent_texts = [idx.sentence_text(r) for r in range(len(idx.sentences))]
    indexed = {c.article_id for c in idx.chunks}
    corpus = wordpieces([f"{a.title}\n{a.text}" for a in articles if a.id in indexed])
    embedded = wordpieces(chunk_texts) + wordpieces(sent_texts)
    t1, c1 = time.perf_counter(), cpu_now()
    engine.model.encode_documents(chunk_texts, batch_size=32)
    engine.model.encode_documents(sent_texts, batch_size=64)
    t_raw = time.perf_counter() - t1
    return {
        "backend": backend,
        "articles": report.total_articles,
        "chunks": len(chunk_texts),
        "sentences": len(sent_texts),
        "corpus_tokens": corpus,
        "embedded_tokens": embedded,
        "ingest_s": round(t_ingest, 1),
        "corpus_tokens_per_s": round(corpus / t_ingest),
        "embedded_tokens_per_s": round(embedded / t_ingest),
        "raw_encode_s": round(t_raw, 1),
        "raw_embedded_tokens_per_s": round(embedded / t_raw),
        "raw_corpus_tokens_per_s": round(corpus / t_raw),
        "other_cores_busy": other,
        "raw_other_cores_busy": busy_cores(t1, c1, time.perf_counter()),
        "index": str(engine.settings.index_path),
    }


def cli_ingest(articles: Sequence[Any], backend: str, work: Path, name: str) -> dict[str, Any]:
    """``qa ingest FILE.jsonl`` in a fresh process on the same articles, start-up included."""
    src = work / f"{name}.jsonl"
    if not src.is_file():
        with src.open("w") as f:
            for a in articles:
                f.write(json.dumps({"id": a.id, "title": a.title, "text": a.text}) + "\n")
    index = work / f"{name}-{backend}-cli"
    env = {**os.environ, "QA_BACKEND": backend, "QA_DATA_DIR": str(work / "cli-data")}
    qa = Path(sys.executable).with_name("qa")
    t0, c0 = time.perf_counter(), cpu_now()
    out = subprocess.run(
        [str(qa), "ingest", str(src), "--index", str(index)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - t0
    corpus = wordpieces([f"{a.title}\n{a.text}" for a in articles])
    return {
        "backend": backend,
        "wall_s": round(wall, 1),
        "corpus_tokens_per_s": round(corpus / wall),
        "other_cores_busy": busy_cores(t0, c0, time.perf_counter()),
        "report": out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "",
    }


def retrieval(
    index_dir: Path, query_backend: str, work: Path, dataset: str, questions: Sequence[Any]
) -> dict[str, Any]:
    """Hits@1/5/10 and MRR@10 of the default retrieval over a built index."""
    from eval.judge import make_judge
    from eval.methods import Method, evaluate_method

    s = settings_for(work, index_dir, query_backend)
    r = evaluate_method(s, Method(*HYBRID), make_judge(dataset), questions)
    return {
        k: (round(v, 4) if isinstance(v, float) else v)
        for k, v in r.items()
        if k in ("questions", "hits@1", "hits@5", "hits@10", "mrr@10")
    } | {"p50_ms": round(1000 * r["latency_s"]["p50"], 1)}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m eval.backends",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--squad", default=str(DATA / "squad" / "dev-v1.1-even.json"))
    p.add_argument("--squad-limit", type=int, default=None, help="seeded question sample")
    p.add_argument("--newsqa", default=str(DATA / "news-qa"))
    p.add_argument("--bbc", default=str(DATA / "bbc-news"))
    p.add_argument("--bbc-limit", type=int, default=300, help="BBC articles in topic order")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backends", default="torch,onnx")
    p.add_argument("--cli", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--only", default="squad,newsqa,bbc", help="data sets to run")
    p.add_argument(
        "--retrieval",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="search the questions after ingesting (--no-retrieval: speed only)",
    )
    p.add_argument("--out", default=None, help="write the figures as JSON here")
    args = p.parse_args(argv)

    from embeddings import load_model
    from eval.datasets import load_bbc, sample_questions
    from eval.runner import _to_article, load_corpus, load_set

    backends = args.backends.split(",")
    for b in backends:  # load (and export) before anything is timed
        load_model("all-MiniLM-L6-v2", b).encode_documents(["warm up"])
    only = set(args.only.split(","))
    results: dict[str, Any] = {"load_average": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="qa-backends-") as tmp:
        work = Path(tmp)
        sets: list[tuple[str, list[Any], list[Any]]] = []
        if "squad" in only:
            es = load_set("squad", args.squad)
            qs = sample_questions(es.questions, args.squad_limit, args.seed)
            sets.append(("squad", load_corpus(es).articles, qs))
        if "newsqa" in only:
            es = load_set("newsqa", args.newsqa)
            sets.append(("newsqa", load_corpus(es).articles, list(es.questions)))
        if "bbc" in only:
            bbc = [_to_article(a) for a in load_bbc(args.bbc, limit=args.bbc_limit)]
            sets.append(("bbc", bbc, []))
        for name, articles, questions in sets:
            res: dict[str, Any] = {"ingest": {}, "cli": {}, "retrieval": {}}
            for b in backends:
                res["ingest"][b] = r = ingest(articles, b, work, name)
                print(name, "ingest", json.dumps(r), flush=True)
                if args.cli:
                    res["cli"][b] = c = cli_ingest(articles, b, work, name)
                    print(name, "qa ingest", json.dumps(c), flush=True)
            if questions and args.retrieval:
                configs = [(b, b) for b in backends]
                if "torch" in backends and "onnx" in backends:
                    configs.append(("torch", "onnx"))
                for doc_b, query_b in configs:
                    key = f"index {doc_b}, queries {query_b}"
                    index_dir = Path(res["ingest"][doc_b]["index"])
                    res["retrieval"][key] = q = retrieval(index_dir, query_b, work, name, questions)
                    print(name, key, json.dumps(q), flush=True)
            results[name] = res
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
