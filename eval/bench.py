"""Throughput, latency, memory and cold-start benchmark of the whole pipeline.

Usage::

    python -m eval.bench --quick                      # about 2-3 minutes on 2 cores
    python -m eval.bench --backend onnx --out bench.json
    python -m eval.bench --sizes 10000,100000 --synthetic 1000000
    python -m eval.bench --skip ingest,latency,ann,coldstart,compare,squad,duplicates,llm \
        --store-sizes 1000,10000,100000,1000000 --store-dir /tmp/qa-bench-store

Sections (``--skip`` leaves some out):

``ingest``     BBC News end to end through ``QA.add_articles`` into a temporary index,
               beside the raw ``model.encode`` of exactly the texts the pipeline embeds
               (chunks with their headline, and every sentence) in the same run.
``latency``    warm ``QA.retrieve`` / ``QA.ask`` p50/p95 over 200 questions at each size in
               ``--sizes`` (chunks), in this process. The corpus is grown from BBC articles
               chunked, embedded and annotated once by ``ArticleIndex.prepare`` (cached,
               ``--cache``) by committing copies under new ids with their vectors re-used
               (perturbed by ``--noise`` and renormalised) instead of re-encoding hours of
               text, then compacted. Also: a per-stage split and a cProfile of one size's
               queries.
``store``      issue #18's figures at each of ``--store-sizes`` (chunks; 1k, 10k, 100k, add
               1M explicitly), one index grown the same way: compaction time; in fresh
               processes, ``ArticleIndex.load`` + ``add`` of one held-out BBC article and
               load + ``delete`` of it (seconds beyond start-up, bytes written from
               ``/proc/self/io``, peak memory), a whole ``qa ingest FILE`` and ``qa delete
               ID``; a serving process (warm ``retrieve``/``ask`` p50/p95, peak RSS after
               load + ``--store-questions``) with recall@10 of the vector search against
               exact search where the main segment is IVF; disk size.
``ann``        approximate search at ``--synthetic`` vectors (1M by default): HNSW over
               8-bit scalar-quantised vectors and IVF+SQ8, recall@10 against exact search,
               p50 latency and index memory.
``coldstart``  ``qa ask`` in a fresh process over a built seed index, and ``qa serve`` until
               its page answers HTTP 200.
``compare``    torch fp32 vs onnx int8: encode throughput, query latency, vector agreement.
``squad``      retrieval Hits@5 on SQuAD questions with torch, onnx, and a torch-built index
               queried with onnx (the quality cost of the onnx backend).
``llm``        the LLM answerer over the seed questions (``eval/data/seed_questions.jsonl``,
               10 with ``--quick``): time to first token and total time per answer, p50/p95,
               through ``QA.ask_stream`` in LLM mode. It uses the server of ``QA_LLM_*`` or,
               when ``QA_LLM_MODEL`` is unset, starts the bundled SmolLM2-135M-Instruct on
               llama.cpp's server (the ``llm`` extra; skipped when it is missing).
``duplicates`` near-duplicate groups among the shared BBC News and RealTime QA articles, as
               ingest finds them (MinHash LSH, ``qa.duplicates``): how many groups and copies,
               and detection time per 1,000 articles (``python -m eval.duplicates``).

Timings are wall-clock on whatever else the machine is doing: each section prints how many
cores other processes kept busy meanwhile (from ``/proc/stat`` less this process's own CPU
time) and the load average, so loaded runs can be recognised.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import dataclasses
import io
import json
import logging
import math
import os
import pstats
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from eval.datasets import DEFAULT_DATA_DIR, load_bbc, load_squad, sample_questions
from eval.metrics import hits_at_k, percentiles, span_covers

if TYPE_CHECKING:
    from embeddings import EmbeddingModel
    from qa.index import ArticleIndex
    from qa.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
SECTIONS = (
    "ingest",
    "latency",
    "store",
    "ann",
    "coldstart",
    "compare",
    "squad",
    "duplicates",
    "llm",
)
ROOT = Path(__file__).resolve().parent.parent
COLD_QUESTION = "How long does the SDF expect the fight to last?"


# ---- small helpers -----------------------------------------------------------------------


def rss_mb() -> dict[str, float]:
    """Resident memory of this process now and at its peak (``/proc/self/status``), MiB."""
    out = {"rss_mb": math.nan, "peak_rss_mb": math.nan}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                out["rss_mb"] = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                out["peak_rss_mb"] = int(line.split()[1]) / 1024
    return out


def dir_mb(path: Path) -> float:
    """Size of a folder's files in MiB."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def _cpu_seconds() -> tuple[float, float]:
    """(busy CPU seconds of the whole machine, CPU seconds of this process and its waited-for
    children), so a section can tell how much of the machine others used meanwhile."""
    busy = math.nan
    with contextlib.suppress(OSError, ValueError, IndexError):
        f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        busy = (sum(f[:8]) - f[3] - f[4]) / os.sysconf("SC_CLK_TCK")
    t = os.times()
    return busy, t.user + t.system + t.children_user + t.children_system


@contextlib.contextmanager
def section(
    name: str, results: dict[str, Any], save: Path | None = None
) -> Iterator[dict[str, Any]]:
    """Time a section, record the load average around it, and save the results so far."""
    out: dict[str, Any] = {}
    results[name] = out
    load0 = os.getloadavg()[0]
    busy0, own0 = _cpu_seconds()
    t0 = time.perf_counter()
    print(f"\n== {name} (load average {load0:.1f} on {os.cpu_count()} cores)", flush=True)
    try:
        yield out
    except Exception as e:  # one broken section must not lose the others
        log.exception("section %s failed", name)
        out["error"] = f"{type(e).__name__}: {e}"
        print(f"   {name} FAILED: {out['error']}", flush=True)
    out["load_avg"] = [round(load0, 2), round(os.getloadavg()[0], 2)]
    out["section_s"] = round(time.perf_counter() - t0, 1)
    busy1, own1 = _cpu_seconds()
    # cores kept busy by other processes on average (the load average counts this one too)
    out["other_cores_busy"] = round(
        max(0.0, (busy1 - busy0) - (own1 - own0)) / max(out["section_s"], 1e-9), 2
    )
    print(
        f"   ({out['section_s']:.0f} s; other processes kept {out['other_cores_busy']:.1f} "
        f"of {os.cpu_count()} cores busy)",
        flush=True,
    )
    if save is not None:  # a long run that dies later keeps what it measured
        save.write_text(json.dumps(results, indent=2, default=str))


def _save(results: dict[str, Any], path: Path | None) -> None:
    """Write the results so far (a long section saves after each step)."""
    if path is not None:
        path.write_text(json.dumps(results, indent=2, default=str))


def table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    """A plain-text table (Markdown pipe syntax)."""
    cells = [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
    lines = [
        "| " + " | ".join(str(h).ljust(w) for h, w in zip(header, widths)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in cells]
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "-"
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}" if abs(v) < 1 else f"{v:.1f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def count_tokens(texts: Sequence[str], max_tokens: int = 256) -> int:
    """Wordpiece tokens the model actually reads (with [CLS]/[SEP], truncated)."""
    from tokenizers import Tokenizer

    from embeddings import resolve_model_path

    tok = Tokenizer.from_file(str(Path(resolve_model_path("all-MiniLM-L6-v2")) / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=max_tokens)
    return sum(len(e.ids) for e in tok.encode_batch(list(texts)))


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    t = time.perf_counter()
    r = fn()
    return time.perf_counter() - t, r


def latencies_ms(fn: Callable[[str], Any], questions: Sequence[str]) -> dict[str, float]:
    ts = []
    for q in questions:
        t = time.perf_counter()
        fn(q)
        ts.append((time.perf_counter() - t) * 1000)
    return {k: round(v, 2) for k, v in percentiles(ts, (50, 95)).items()}


def _encode_one(model: EmbeddingModel, question: str) -> np.ndarray:
    """Encode one query (what a search does), for :func:`latencies_ms`."""
    return model.encode_queries([question])


def settings_for(data_dir: Path, backend: str, index_dir: Path | None = None) -> Any:
    from qa.settings import Settings

    return Settings.from_env(
        data_dir=data_dir, index_dir=index_dir or data_dir / "index", backend=backend
    )


def bbc_articles(data: Path, limit: int | None) -> list[Any]:
    from qa.articles import make_article

    return [
        make_article(a.text, title=a.title, source=a.source, article_id=a.id)
        for a in load_bbc(data / "bbc-news", limit=limit)
    ]


def bbc_questions(articles: Sequence[Any], n: int, seed: int = 0) -> list[str]:
    """Questions about the articles: half headlines, half the start of a random sentence."""
    from qa.chunking import split_sentences

    rng = random.Random(seed)
    out = []
    for i in range(n):
        a = articles[rng.randrange(len(articles))]
        if i % 2 == 0:
            out.append(f"What happened: {a.title}?")
        else:
            sents = [s.text for s in split_sentences(a.text) if len(s.text.split()) >= 8]
            words = (rng.choice(sents) if sents else a.text).split()[:12]
            out.append("What about " + " ".join(words).rstrip(".,;:") + "?")
    return out


# ---- ingest ------------------------------------------------------------------------------


def bench_ingest(out: dict[str, Any], articles: list[Any], backend: str, tmp: Path) -> Any:
    """Ingest end to end, then encode the same texts raw; returns the engine."""
    from qa.engine import QA
    from qa.index import embed_text

    engine = QA(settings_for(tmp, backend))
    t_load, model = timed(lambda: engine.model)
    model.encode(["warm up"])
    t_ingest, report = timed(lambda: engine.add_articles(articles))
    idx = engine.index
    chunk_texts = [embed_text(idx.article(c.article_id), c.text) for c in idx.chunks]
    sent_texts = [idx.sentence_text(r) for r in range(len(idx.sentences))]
    tok_c, tok_s = count_tokens(chunk_texts), count_tokens(sent_texts)
    # the same calls and batch sizes as ArticleIndex.prepare
    t_raw_c, _ = timed(lambda: model.encode_documents(chunk_texts, batch_size=32))
    t_raw_s, _ = timed(lambda: model.encode_documents(sent_texts, batch_size=64))
    t_raw = t_raw_c + t_raw_s
    out.update(
        backend=backend,
        model_load_s=round(t_load, 2),
        articles=report.total_articles,
        chunks=report.total_chunks,
        sentences=len(idx.sentences),
        tokens_chunks=tok_c,
        tokens_sentences=tok_s,
        ingest_s=round(t_ingest, 1),
        articles_per_s=round(len(articles) / t_ingest, 2),
        tokens_per_s=round((tok_c + tok_s) / t_ingest),
        raw_encode_chunks_s=round(t_raw_c, 1),
        raw_encode_sentences_s=round(t_raw_s, 1),
        raw_tokens_per_s=round((tok_c + tok_s) / t_raw),
        raw_chunk_tokens_per_s=round(tok_c / t_raw_c),
        overhead_vs_all_encoded=round(t_ingest / t_raw, 2),
        overhead_vs_chunks_only=round(t_ingest / t_raw_c, 2),
        index_disk_mb=round(dir_mb(idx.path), 1),
        **rss_mb(),
    )
    print(
        table(
            [
                ["articles", out["articles"]],
                ["chunks / sentences", f"{out['chunks']:,} / {out['sentences']:,}"],
                ["tokens embedded (chunks + sentences)", f"{tok_c:,} + {tok_s:,}"],
                ["ingest via QA.add_articles", f"{t_ingest:.1f} s"],
                ["  articles/s", out["articles_per_s"]],
                ["  tokens/s (all embedded)", out["tokens_per_s"]],
                [
                    "raw encode: chunks",
                    f"{t_raw_c:.1f} s ({out['raw_chunk_tokens_per_s']:,} tok/s)",
                ],
                ["raw encode: sentences", f"{t_raw_s:.1f} s"],
                ["raw encode tokens/s (all)", out["raw_tokens_per_s"]],
                ["ingest / raw encode of everything embedded", out["overhead_vs_all_encoded"]],
                ["ingest / raw encode of chunk texts only", out["overhead_vs_chunks_only"]],
                ["index on disk", f"{out['index_disk_mb']:.1f} MiB"],
                ["process RSS / peak", f"{out['rss_mb']:.0f} / {out['peak_rss_mb']:.0f} MiB"],
            ],
            ["ingest (" + backend + ")", "value"],
        ),
        flush=True,
    )
    return engine


# ---- latency at scale --------------------------------------------------------------------


def stage_split(idx: Any, model: Any, questions: Sequence[str]) -> dict[str, float]:
    """Median milliseconds of the stages of one hybrid search, called directly (FAISS on
    one thread, as :func:`qa.retrieval.search` runs it)."""
    from qa.lexical import terms
    from qa.retrieval import _faiss_one_thread

    stages: dict[str, list[float]] = {
        k: []
        for k in (
            "encode_query",
            "bm25_chunks_top100",
            "bm25_sentences_top200",
            "faiss_chunks_top100",
            "faiss_sentences_top200",
            "bm25_score_100_chunks",
        )
    }
    for q in questions:
        t = time.perf_counter()
        qv = model.encode_queries([q])[0]
        stages["encode_query"].append(time.perf_counter() - t)
        qt = terms(q)
        t = time.perf_counter()
        idx.bm25_chunks.top(qt, 100)
        stages["bm25_chunks_top100"].append(time.perf_counter() - t)
        t = time.perf_counter()
        idx.bm25_sentences.top(qt, 200)
        stages["bm25_sentences_top200"].append(time.perf_counter() - t)
        with _faiss_one_thread():
            t = time.perf_counter()
            rows = idx.search_chunks(qv, 100)
            stages["faiss_chunks_top100"].append(time.perf_counter() - t)
            t = time.perf_counter()
            idx.search_sentences(qv, 200)
            stages["faiss_sentences_top200"].append(time.perf_counter() - t)
        t = time.perf_counter()
        idx.bm25_chunks.score_rows(qt, rows)
        stages["bm25_score_100_chunks"].append(time.perf_counter() - t)
    return {k: round(float(np.median(v)) * 1000, 2) for k, v in stages.items()}


def reader_latency(engine: Any, questions: Sequence[str]) -> dict[str, float]:
    """Milliseconds one reading by the span reader takes (p50/p95): each question read with
    the sentence its answer cites (the answer stage reads its three best candidates, each
    with its neighbours)."""
    from embeddings.reader import load_reader

    reader = load_reader()
    times = []
    for q in questions:
        a = engine.ask(q)
        if a.abstained or not a.citations or a.mode != "extractive":
            continue
        c = a.citations[0]
        t = time.perf_counter()
        reader.reading(q, c.quote, 0, len(c.quote))
        times.append(time.perf_counter() - t)
    if not times:
        return {}
    ms = np.array(times) * 1000
    return {
        "p50": round(float(np.percentile(ms, 50)), 1),
        "p95": round(float(np.percentile(ms, 95)), 1),
        "answers": len(times),
    }


def profile_queries(engine: Any, questions: Sequence[str], top: int = 18) -> str:
    """cProfile of ``engine.retrieve`` over the questions: top entries by own time."""
    prof = cProfile.Profile()
    prof.enable()
    for q in questions:
        engine.retrieve(q)
    prof.disable()
    buf = io.StringIO()
    st = pstats.Stats(prof, stream=buf)
    st.sort_stats("tottime").print_stats(top)
    buf.write("\n--- by cumulative time ---\n")
    st.sort_stats("cumulative").print_stats(top)
    lines = [ln for ln in buf.getvalue().splitlines() if ln.strip()]
    return "\n".join(ln.replace(str(ROOT) + "/", "").replace(sys.prefix + "/", "") for ln in lines)


def empty_index(path: Path, s: Settings, model: EmbeddingModel) -> ArticleIndex:
    """An empty index in ``path`` for the model, with the settings' chunking and FAISS
    choice (as the engine makes one)."""
    from qa.index import ArticleIndex

    return ArticleIndex.create(
        path,
        model_id=model.model_id,
        dimension=model.dimension,
        chunk_tokens=s.chunk_tokens,
        chunk_overlap=s.chunk_overlap,
        index_type=s.index_type,
        hnsw_threshold=s.hnsw_threshold,
    )


def bench_latency(
    out: dict[str, Any],
    base: list[Any],
    sizes: Sequence[int],
    questions: list[str],
    backend: str,
    tmp: Path,
    profile: bool,
    noise: float = 0.3,
) -> None:
    """Warm latency in this process at each size: one index grown from the prepared base
    (:class:`Grower`), compacted at each size and opened by a fresh QA engine."""
    from embeddings import load_model
    from qa.engine import QA

    s = settings_for(tmp, backend)
    model = load_model(s.model, backend)
    path = tmp / "grown"
    shutil.rmtree(path, ignore_errors=True)
    idx = empty_index(path, s, model)
    grower = Grower(idx, base, noise=noise)
    rows = []
    for n in sorted(sizes):
        grown = grower.grow(n)
        t_compact, rep = timed(idx.compact)
        kinds = rep.faiss
        counts = (idx.count("articles"), idx.count("chunks"), idx.count("sentences"))
        eng = QA(settings_for(tmp, backend, index_dir=path))
        t_load, _ = timed(partial(getattr, eng, "index"))
        for q in ("warm up", "what happened", *questions[:3]):
            eng.ask(q)
        r: dict[str, Any] = {
            "chunks": counts[1],
            "articles": counts[0],
            "sentences": counts[2],
            "faiss": kinds,
            "build_s": grown["commit_s"],
            "compact_s": round(t_compact, 1),
            "load_s": round(t_load, 1),
            "disk_mb": round(dir_mb(path), 0),
            "retrieve_ms": latencies_ms(eng.retrieve, questions),
            "ask_ms": latencies_ms(eng.ask, questions),
            "stages_ms": stage_split(eng.index, eng.model, questions[:40]),
            "reader_ms": reader_latency(eng, questions[:40]),
            **rss_mb(),
        }
        if profile and n == max(sizes):
            r["cprofile_20_queries"] = profile_queries(eng, questions[:20])
        out[str(n)] = r
        rows.append(
            [
                f"{counts[1]:,} chunks / {counts[2]:,} sent.",
                kinds,
                r["retrieve_ms"]["p50"],
                r["retrieve_ms"]["p95"],
                r["ask_ms"]["p50"],
                r["ask_ms"]["p95"],
                r["build_s"],
                r["compact_s"],
                r["load_s"],
                r["disk_mb"],
                r["rss_mb"],
            ]
        )
        eng.index.close()
        del eng
    idx.close()
    shutil.rmtree(path, ignore_errors=True)
    out["method"] = (
        f"one index grown from {len(base):,} prepared BBC articles: copies committed under "
        f"new ids, vectors re-used with {noise} relative Gaussian noise and renormalised "
        "(not re-encoded), compacted at each size, then opened by a fresh QA engine in this "
        "process; latencies after 5 warm-up questions"
    )
    print(
        table(
            rows,
            [
                "size",
                "faiss",
                "retrieve p50 ms",
                "p95",
                "ask p50 ms",
                "p95",
                "commit s",
                "compact s",
                "load s",
                "disk MiB",
                "RSS MiB",
            ],
        )
    )
    for n in sorted(sizes):
        r = out[str(n)]
        print(
            f"   stages at {n:,} (median ms): "
            + ", ".join(f"{k} {v}" for k, v in r["stages_ms"].items())
        )
        if r["reader_ms"]:
            print(
                f"   span reader at {n:,} (ms per answer): p50 {r['reader_ms']['p50']}, "
                f"p95 {r['reader_ms']['p95']} over {r['reader_ms']['answers']} answers"
            )
        if "cprofile_20_queries" in r:
            print(
                f"\n   cProfile, 20 x QA.retrieve at {n:,} chunks:\n"
                + "\n".join("   " + ln for ln in r["cprofile_20_queries"].splitlines()[:50])
            )
    print("   " + out["method"], flush=True)


# ---- store: add/delete, serving and compaction at 1k..1M chunks (issue #18) ---------------

#: BBC articles held out of the base corpus: each size adds one of them (new text, so
#: ``qa ingest`` finds no near-duplicate among the clones).
STORE_HELD_OUT = 12


def prepared_base(
    data: Path, cache: Path, backend: str, limit: int | None = None, part: int = 200
) -> tuple[list[Any], list[Any]]:
    """The base corpus of the store section: BBC articles chunked, embedded and annotated by
    :meth:`qa.index.ArticleIndex.prepare`, cached in ``cache`` (one pickle per ``part``
    articles, so an interrupted run keeps what it encoded), and the held-out articles.

    Returns:
        (prepared base articles, held-out articles).
    """
    import pickle

    from embeddings import load_model
    from qa.settings import Settings

    arts = bbc_articles(data, None)
    held, arts = arts[-STORE_HELD_OUT:], arts[: len(arts) - STORE_HELD_OUT]
    cache.mkdir(parents=True, exist_ok=True)
    s = Settings.from_env(backend=backend)
    model = None
    out: list[Any] = []
    for i in range(0, len(arts), part):
        if limit is not None and i >= limit:
            break
        f = cache / f"bbc-{s.chunk_tokens}-{s.chunk_overlap}-{i:05d}-{part}.pkl"
        batch = arts[i : i + part]
        if f.is_file():
            got = pickle.loads(f.read_bytes())
            if [p.article.id for p in got] == [a.id for a in batch]:
                out.extend(got)
                continue
        keep = limit is None or i + part <= limit
        if limit is not None and not keep:  # a part cut short by the limit is not cached
            batch = batch[: limit - i]
        if model is None:
            model = load_model(s.model, backend)
        # nothing is written: prepare only reads the settings
        tmp_idx = empty_index(cache / "unused", s, model)
        t, got = timed(partial(tmp_idx.prepare, batch, model))
        if keep:
            tmp = f.with_suffix(".tmp")
            tmp.write_bytes(pickle.dumps(got, protocol=pickle.HIGHEST_PROTOCOL))
            os.replace(tmp, f)
        print(f"   prepared articles {i}-{i + len(batch)} in {t:.0f} s", flush=True)
        out.extend(got)
    return (out[:limit] if limit is not None else out), held


def clone_prepared(p: Any, k: int, rng: np.random.Generator, noise: float) -> Any:
    """Copy ``k`` of a prepared article: id ``{id}~{k}`` (chunk ids ``{id}~{k}:{n}``), the
    same text and annotations, and its vectors plus Gaussian noise of relative norm
    ``noise``, renormalised (copy 0 is the article itself)."""
    if k == 0:
        return p
    aid = f"{p.article.id}~{k}"
    dim = p.chunk_vectors.shape[1]

    def jitter(v: np.ndarray) -> np.ndarray:
        x = v + rng.standard_normal(v.shape, dtype=np.float32) * (noise / math.sqrt(dim))
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)

    return dataclasses.replace(
        p,
        article=dataclasses.replace(p.article, id=aid),
        chunks=[dataclasses.replace(c, id=f"{aid}:{c.n}", article_id=aid) for c in p.chunks],
        chunk_vectors=jitter(p.chunk_vectors),
        sentence_vectors=jitter(p.sentence_vectors),
    )


@contextlib.contextmanager
def _memoised_text_work(memo: dict[Any, Any]) -> Iterator[None]:
    """While growing: remember the pure functions of an article's text that a commit
    computes (BM25 terms, acronym counts, shingles and LSH band keys), since the copies
    repeat the base texts. The rows written are the same; only the growth is faster."""
    import qa.duplicates as dup
    import qa.index as qi
    from qa.acronyms import AcronymTable

    saved = (qi.chunk_terms, qi.sentence_terms, qi.AcronymTable, dup.shingles, dup._band_keys)
    c_terms, s_terms, shingle_sets = saved[0], saved[1], saved[3]
    band_keys = saved[4]

    def chunk_terms(article: Any, chunk: Any) -> list[str]:
        key = ("c", article.title, chunk.text)
        if key not in memo:
            memo[key] = c_terms(article, chunk)
        return list(memo[key])

    def sentence_terms(article: Any, start: int, end: int) -> list[str]:
        key = ("s", article.title, article.text[start:end])
        if key not in memo:
            memo[key] = s_terms(article, start, end)
        return list(memo[key])

    class Acronyms(AcronymTable):
        @classmethod
        def from_texts(cls, texts: Any) -> AcronymTable:
            key = ("a", *texts)
            if key not in memo:
                memo[key] = AcronymTable.from_texts(key[1:])
            return memo[key]

    def shingles(text: str, k: int = dup.SHINGLE_WORDS) -> set[bytes]:
        key = ("h", text, k)
        if key not in memo:
            memo[key] = shingle_sets(text, k)
        return memo[key]

    def keys_of(sh: set[bytes]) -> list[bytes]:
        key = ("k", id(sh))  # the memoised shingle sets stay alive in memo
        if key not in memo:
            memo[key] = band_keys(sh)
        return list(memo[key])

    patched = (
        (qi, "chunk_terms", chunk_terms),
        (qi, "sentence_terms", sentence_terms),
        (qi, "AcronymTable", Acronyms),
        (dup, "shingles", shingles),
        (dup, "_band_keys", keys_of),
    )
    for (module, name, fn), _ in zip(patched, saved):
        setattr(module, name, fn)
    try:
        yield
    finally:
        for (module, name, _), old in zip(patched, saved):
            setattr(module, name, old)


@dataclasses.dataclass
class Grower:
    """Grows an index from a prepared base corpus by committing clones of its articles
    (see :func:`clone_prepared`) in batches, one delta segment per batch, without
    compacting; :meth:`grow` resumes where the last call stopped."""

    index: Any
    base: list[Any]
    noise: float = 0.3
    batch: int = 3000
    done: int = 0
    seed: int = 0
    memo: dict[Any, Any] = dataclasses.field(default_factory=dict)

    def article_id(self, g: int) -> str:
        """The id of the ``g``-th article committed."""
        k, j = divmod(g, len(self.base))
        aid = self.base[j].article.id
        return f"{aid}~{k}" if k else str(aid)

    def grow(self, n_chunks: int, log_every: float = 60.0) -> dict[str, Any]:
        """Commit clones until the index holds at least ``n_chunks`` chunks; returns
        timings (commit seconds, articles and chunks committed)."""
        rng = np.random.default_rng(self.seed + self.done)
        t0 = last = time.perf_counter()
        n0 = self.index.count("chunks")
        added = 0
        while self.index.count("chunks") < n_chunks:
            todo: list[Any] = []
            chunks = self.index.count("chunks")
            while len(todo) < self.batch and chunks < n_chunks:
                k, j = divmod(self.done, len(self.base))
                p = clone_prepared(self.base[j], k, rng, self.noise)
                todo.append(p)
                chunks += len(p.chunks)
                self.done += 1
            with self.index.write_lock(), _memoised_text_work(self.memo):
                self.index.commit(todo)
            added += len(todo)
            if time.perf_counter() - last > log_every:
                last = time.perf_counter()
                print(
                    f"   ... {self.index.count('chunks'):,} chunks, {added:,} articles "
                    f"committed in {last - t0:.0f} s",
                    flush=True,
                )
        dt = time.perf_counter() - t0
        return {
            "commit_s": round(dt, 1),
            "articles_committed": added,
            "chunks_committed": self.index.count("chunks") - n0,
        }


def _proc_io() -> dict[str, int]:
    out: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/io").read_text().splitlines():
            k, _, v = line.partition(":")
            out[k.strip()] = int(v)
    return out


def _files(path: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for p in path.rglob("*"):
        with contextlib.suppress(OSError):
            if p.is_file():
                st = p.stat()
                out[str(p.relative_to(path))] = (st.st_size, st.st_mtime_ns)
    return out


def _written(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> int:
    """Bytes of files created, plus the growth of files changed (a changed database file is
    counted by what it grew, not by its whole size)."""
    total = 0
    for name, (size, mtime) in after.items():
        old = before.get(name)
        if old is None:
            total += size
        elif old != (size, mtime):
            total += max(0, size - old[0])
    return total


def store_probe(spec: dict[str, Any]) -> dict[str, Any]:
    """One measurement in this (fresh) process; ``spec["op"]`` is ``add`` (one article
    with :meth:`ArticleIndex.add`), ``delete`` (one article id) or ``serve`` (warm
    ``retrieve``/``ask`` latency, peak memory, then recall@10 of the vector search).

    Start-up (imports, the model, and for ``add`` one warm :meth:`ArticleIndex.prepare` of
    the article on a scratch index, timed as ``prepare_s``: what the add spends before
    writing) is timed apart from ``ArticleIndex.load`` and from the operation; bytes
    written come from ``/proc/self/io`` (``write_bytes``: page-cache bytes
    this process dirtied; ``wchar``: bytes passed to ``write``) and from the folder's files.
    """
    t_start = time.perf_counter()
    path = Path(spec["path"])
    op = spec["op"]
    out: dict[str, Any] = {"op": op}
    from qa.articles import Article
    from qa.index import ArticleIndex

    if op == "serve":
        return _serve_probe(spec, t_start)
    # imported on first use by a write (qa.duplicates, qa.store): start-up, not the write
    import datasketch  # noqa: F401
    import faiss  # noqa: F401

    model = None
    if op == "add":
        import tempfile as tf

        from embeddings import load_model

        model = load_model(spec["model"], spec["backend"])
        with tf.TemporaryDirectory() as d:  # loads the tokenizer and entity model; times
            # the chunking, embedding and annotation of the article alone (nothing written)
            meta = ArticleIndex.load(path).manifest
            scratch = ArticleIndex.create(
                d,
                model_id=meta["model_id"],
                dimension=meta["dimension"],
                chunk_tokens=meta["chunk_tokens"],
                chunk_overlap=meta["chunk_overlap"],
            )
            scratch.prepare([Article.from_dict(spec["article"])], model)
            t_prep, _ = timed(partial(scratch.prepare, [Article.from_dict(spec["article"])], model))
            out["prepare_s"] = round(t_prep, 3)
    out["startup_s"] = round(time.perf_counter() - t_start, 2)
    out["startup_peak_rss_mb"] = rss_mb()["peak_rss_mb"]
    files0, io0 = _files(path), _proc_io()
    t_load, idx = timed(partial(ArticleIndex.load, path))
    out["load_s"] = round(t_load, 3)
    out["load_peak_rss_mb"] = rss_mb()["peak_rss_mb"]
    io1 = _proc_io()
    if op == "add":
        article = Article.from_dict(spec["article"])
        assert model is not None
        t_op, rep = timed(partial(idx.add, [article], model))
        out["chunks_added"] = rep.chunks
    else:
        t_op, gone = timed(partial(idx.delete, [spec["article_id"]]))
        out["deleted"] = gone
    io2 = _proc_io()
    files2 = _files(path)
    out.update(
        op_s=round(t_op, 3),
        load_write_bytes=io1.get("write_bytes", 0) - io0.get("write_bytes", 0),
        op_write_bytes=io2.get("write_bytes", 0) - io1.get("write_bytes", 0),
        op_wchar=io2.get("wchar", 0) - io1.get("wchar", 0),
        files_bytes=_written(files0, files2),
        peak_rss_mb=rss_mb()["peak_rss_mb"],
        chunks=idx.count("chunks"),
        segments=len(store_segments(idx)),
    )
    return out


def store_segments(idx: Any) -> list[Any]:
    """The index's vector segments, read from the database (no FAISS loaded)."""
    from qa import store

    with idx._db_lock:
        return store.list_segments(idx._db())


def _serve_probe(spec: dict[str, Any], t_start: float) -> dict[str, Any]:
    from qa.engine import QA

    questions: list[str] = spec["questions"]
    eng = QA(settings_for(Path(spec["path"]).parent, spec["backend"], Path(spec["path"])))
    t_model, _ = timed(lambda: eng.model.encode_queries(["warm up"]))
    t_load, idx = timed(lambda: eng.index)
    t_first, _ = timed(partial(eng.ask, questions[0]))
    for q in ("warm up", "what happened", *questions[1:4]):
        eng.ask(q)
    out: dict[str, Any] = {
        "op": "serve",
        "startup_s": round(time.perf_counter() - t_start - t_load - t_first, 2),
        "model_s": round(t_model, 2),
        "load_s": round(t_load, 3),
        "first_ask_s": round(t_first, 2),
        "retrieve_ms": latencies_ms(eng.retrieve, questions),
        "ask_ms": latencies_ms(eng.ask, questions),
        "questions": len(questions),
        "chunks": idx.count("chunks"),
        "sentences": idx.count("sentences"),
        "faiss": [f"{s.kind}:{s.faiss}:{s.chunk_hi - s.chunk_lo}" for s in idx.segments],
    }
    out.update(rss_mb())  # peak after load + warm-up + every question, before recall
    if spec.get("recall"):
        qv = np.ascontiguousarray(eng.model.encode_queries(questions), dtype=np.float32)
        out["recall_at_10"] = {
            "chunks": _recall(idx, qv, chunks=True),
            "sentences": _recall(idx, qv, chunks=False),
        }
    return out


def _recall(idx: Any, qv: np.ndarray, *, chunks: bool, k: int = 10) -> dict[str, Any]:
    """Recall@k of the index's vector search (every segment, IVF where it is) against
    exact inner-product search over the same live fp16 vectors."""
    vs = idx.chunk_vectors if chunks else idx.sentence_vectors
    alive = idx.chunk_alive if chunks else idx._ready().sentence_alive
    best_s = np.full((len(qv), k), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(qv), k), dtype=np.int64)
    t0 = time.perf_counter()
    step = 200_000
    for lo in range(0, len(vs), step):
        rows = np.arange(lo, min(len(vs), lo + step))
        rows = rows[alive[rows]]
        if not len(rows):
            continue
        sc = qv @ vs.take(rows).T
        s_all = np.concatenate([best_s, sc], axis=1)
        i_all = np.concatenate([best_i, np.broadcast_to(rows, sc.shape)], axis=1)
        top = np.argpartition(-s_all, k - 1, axis=1)[:, :k]
        best_s = np.take_along_axis(s_all, top, axis=1)
        best_i = np.take_along_axis(i_all, top, axis=1)
    t_exact = time.perf_counter() - t0
    from qa.retrieval import _faiss_one_thread

    search = idx.search_chunks if chunks else idx.search_sentences
    got, ts = [], []
    with _faiss_one_thread():
        for q in qv:
            t = time.perf_counter()
            got.append(search(q, k))
            ts.append(time.perf_counter() - t)
    recall = float(
        np.mean([len(set(g.tolist()) & set(e.tolist())) / k for g, e in zip(got, best_i)])
    )
    return {
        "recall": round(recall, 4),
        "search_p50_ms": round(float(np.median(ts)) * 1000, 2),
        "exact_s": round(t_exact, 1),
        "vectors": int(alive.sum()),
    }


def _run_probe(spec: dict[str, Any], timeout: float = 3600) -> dict[str, Any]:
    """Run :func:`store_probe` in a fresh Python process; returns its figures plus the
    process's wall time."""
    code = (
        "import json, sys; from eval.bench import store_probe; "
        "print('PROBE ' + json.dumps(store_probe(json.loads(sys.stdin.read()))))"
    )
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    t = time.perf_counter()
    p = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )
    wall = time.perf_counter() - t
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("PROBE ")]
    if p.returncode != 0 or not lines:
        raise RuntimeError(f"probe {spec['op']} exited {p.returncode}: {p.stderr[-800:]}")
    out: dict[str, Any] = json.loads(lines[-1][6:])
    out["process_s"] = round(wall, 2)
    return out


_HWM_QA = (
    "import atexit, sys\n"
    "def hwm():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            sys.stderr.write('\\nQA_HWM_KB ' + line.split()[1] + '\\n')\n"
    "atexit.register(hwm)\n"
    "from qa.cli import main\n"
    "sys.argv[0] = 'qa'\n"
    "sys.exit(main())\n"
)


def _qa_process(args: list[str], index: Path, backend: str) -> dict[str, Any]:
    """A whole fresh ``qa`` process on the index: wall seconds and its own peak memory
    (``VmHWM`` read by the process as it exits: the ``ru_maxrss`` of a child forked from a
    large parent counts the parent's pages too)."""
    env = dict(os.environ, QA_INDEX=str(index), QA_BACKEND=backend, HF_HUB_OFFLINE="1")
    t = time.perf_counter()
    p = subprocess.run(
        [sys.executable, "-c", _HWM_QA, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
        cwd=ROOT,
    )
    wall = time.perf_counter() - t
    if p.returncode != 0:
        raise RuntimeError(f"qa {' '.join(args)} exited {p.returncode}: {p.stderr[-600:]}")
    hwm = [ln.split()[1] for ln in p.stderr.splitlines() if ln.startswith("QA_HWM_KB ")]
    return {
        "process_s": round(wall, 2),
        "peak_rss_mb": round(int(hwm[-1]) / 1024) if hwm else math.nan,
        "stdout_tail": p.stdout.strip().splitlines()[-1:],
    }


def bench_store(
    out: dict[str, Any],
    data: Path,
    sizes: Sequence[int],
    backend: str,
    tmp: Path,
    cache: Path,
    n_questions: int,
    base_articles: int | None,
    keep: Path | None = None,
    noise: float = 0.3,
    save: Callable[[], None] | None = None,
) -> None:
    """Issue #18's figures at each size (chunks): grow one index by committing clones of the
    prepared BBC base, compact it, then in fresh processes add one article, delete one,
    ``qa ingest`` a file and ``qa delete`` an id, and serve questions (warm ``retrieve``
    and ``ask`` p50/p95, peak memory, recall@10 of the vector search against exact)."""
    from embeddings import load_model
    from qa.articles import load_paths

    t_base, (base, held) = timed(partial(prepared_base, data, cache, backend, base_articles))
    out["base"] = {
        "articles": len(base),
        "chunks": sum(len(p.chunks) for p in base),
        "sentences": sum(len(p.sentences) for p in base),
        "prepare_or_cache_s": round(t_base, 1),
    }
    print(
        f"   base: {out['base']['articles']:,} BBC articles, {out['base']['chunks']:,} chunks, "
        f"{out['base']['sentences']:,} sentences ({t_base:.0f} s, cache {cache})",
        flush=True,
    )
    s = settings_for(tmp, backend)
    path = keep or tmp / "store"
    if path.exists():
        shutil.rmtree(path)
    model = load_model(s.model, backend)
    idx = empty_index(path, s, model)
    grower = Grower(idx, base, noise=noise)
    questions = bbc_questions([p.article for p in base], n_questions)
    # held-out articles of about the median length: one added by ArticleIndex.add, one
    # by `qa ingest FILE`
    median = float(np.median([len(p.article.text) for p in base]))
    article, other = sorted(held, key=lambda a: abs(len(a.text) - median))[:2]
    txt = tmp / "held-out.txt"
    txt.write_text(f"{other.title}\n\n{other.text}\n", encoding="utf-8")
    txt_id = load_paths([txt]).articles[0].id
    out["articles_added"] = {
        "add": {"id": article.id, "bytes": len(article.text.encode())},
        "qa_ingest": {"id": txt_id, "bytes": len(other.text.encode())},
    }
    rows = []
    for n in sorted(sizes):
        r: dict[str, Any] = {}
        out[str(n)] = r
        r["grow"] = grower.grow(n)
        t_c, rep = timed(idx.compact)
        r["compact"] = {
            "seconds": round(t_c, 1),
            "faiss": rep.faiss,
            "bytes_written": rep.bytes_written,
            "segments_before": rep.segments_before,
        }
        r["disk_mb"] = round(dir_mb(path), 1)
        r["articles"], r["chunks"] = idx.count("articles"), idx.count("chunks")
        r["sentences"] = idx.count("sentences")
        print(
            f"   {r['chunks']:,} chunks ({r['articles']:,} articles, {r['sentences']:,} "
            f"sentences): grown in {r['grow']['commit_s']:.0f} s, compacted ({rep.faiss}) in "
            f"{t_c:.0f} s, {r['disk_mb']:,.0f} MiB on disk",
            flush=True,
        )
        # the same two articles at every size: added, then deleted again
        common = {"path": str(path), "backend": backend, "model": s.model}
        r["add"] = _run_probe({**common, "op": "add", "article": article.to_dict()})
        r["delete"] = _run_probe({**common, "op": "delete", "article_id": article.id})
        r["qa_ingest"] = _qa_process(["ingest", str(txt)], path, backend)
        r["qa_delete"] = _qa_process(["delete", txt_id], path, backend)
        r["serve"] = _run_probe(
            {**common, "op": "serve", "questions": questions, "recall": rep.faiss == "ivf"}
        )
        r["disk_mb_after"] = round(dir_mb(path), 1)
        idx.refresh()
        sv = r["serve"]
        rec = sv.get("recall_at_10", {})
        rows.append(
            [
                f"{r['chunks']:,}",
                f"{r['add']['op_s']:.2f} ({r['add']['op_s'] - r['add']['prepare_s']:.2f}) / "
                f"{r['add']['load_s']:.2f}",
                f"{r['delete']['op_s']:.2f} / {r['delete']['load_s']:.2f}",
                f"{r['add']['op_write_bytes'] / 1e6:.2f} / "
                f"{r['delete']['op_write_bytes'] / 1e6:.2f}",
                f"{r['add']['peak_rss_mb']:,.0f} / {r['delete']['peak_rss_mb']:,.0f}",
                f"{r['qa_ingest']['process_s']:.1f} / {r['qa_delete']['process_s']:.1f}",
                f"{sv['retrieve_ms']['p50']:.1f} / {sv['retrieve_ms']['p95']:.1f}",
                f"{sv['ask_ms']['p50']:.0f} / {sv['ask_ms']['p95']:.0f}",
                f"{sv['peak_rss_mb']:,.0f}",
                f"{r['compact']['seconds']:.1f} ({rep.faiss})",
                (
                    f"{rec['chunks']['recall']:.3f} / {rec['sentences']['recall']:.3f}"
                    if rec
                    else "-"
                ),
                f"{r['disk_mb_after']:,.0f}",
            ]
        )
        if save is not None:
            save()
    idx.close()
    out["method"] = (
        "one index grown from the prepared BBC base by committing copies of its articles "
        f"(new ids, vectors plus {noise} relative Gaussian noise, renormalised) in batches of "
        f"{grower.batch:,} articles, compacted at each size; then, each in a fresh process: "
        f"ArticleIndex.load + add of one held-out BBC article ({article.id}, "
        f"{len(article.text.encode()):,} bytes of text; encoding included, load timed apart, "
        "start-up excluded) and load + delete of the same article; a whole `qa ingest FILE` "
        f"of another ({other.id}, {len(other.text.encode()):,} bytes) and `qa delete ID` of "
        "it; serving: QA engine, 5 warm-up questions, then "
        f"{len(questions)} retrieve and {len(questions)} ask; peak RSS = VmHWM after them; "
        "recall@10 of the index's vector search (IVF main segment + flat deltas) against "
        "exact search over the same live fp16 vectors"
    )
    print(
        table(
            rows,
            [
                "chunks",
                "add s (of it writing) / load s",
                "delete s / load s",
                "MB written add / del",
                "peak MiB add / del",
                "qa ingest / qa delete s",
                "retrieve p50/p95 ms",
                "ask p50/p95 ms",
                "serve peak MiB",
                "compact s",
                "recall@10 chunk/sent",
                "disk MiB",
            ],
        )
    )
    print("   " + out["method"], flush=True)


# ---- approximate search at 1M ------------------------------------------------------------


def synthetic_vectors(
    n: int, centers: np.ndarray, seed: int = 0, cos_to_center: float = 0.8
) -> np.ndarray:
    """``n`` unit vectors scattered around real embedding vectors (a Gaussian mixture).

    Each point is a real vector plus isotropic noise scaled so that its expected cosine to
    that vector is ``cos_to_center``: clustered like real text, unlike uniform noise (on
    which every ANN index looks bad and which no corpus resembles).
    """
    rng = np.random.default_rng(seed)
    dim = centers.shape[1]
    sigma = math.sqrt((1 / cos_to_center**2 - 1) / dim)
    out = np.empty((n, dim), dtype=np.float32)
    for s in range(0, n, 100_000):
        e = min(n, s + 100_000)
        x = centers[rng.integers(0, len(centers), e - s)]
        x = x + rng.standard_normal((e - s, dim), dtype=np.float32) * sigma
        out[s:e] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def bench_ann(out: dict[str, Any], n: int, centers: np.ndarray, queries: np.ndarray) -> None:
    import faiss

    dim = centers.shape[1]
    t_gen, xb = timed(lambda: synthetic_vectors(n, centers))
    exact = faiss.IndexFlatIP(dim)
    exact.add(xb)
    _, gt = exact.search(queries, 10)
    t_exact = [timed(partial(exact.search, q[None, :], 10))[0] * 1000 for q in queries[:50]]
    exact.reset()  # frees its copy of the vectors
    rows = [
        [
            "exact (IndexFlatIP)",
            "-",
            round(xb.nbytes / 2**20),
            "-",
            round(float(np.median(t_exact)), 2),
            1.0,
        ]
    ]
    res: dict[str, Any] = {
        "vectors": n,
        "generate_s": round(t_gen, 1),
        "exact": {
            "p50_ms": round(float(np.median(t_exact)), 2),
            "memory_mb": round(xb.nbytes / 2**20),
        },
    }
    rng = np.random.default_rng(1)
    train = xb[rng.choice(n, size=min(n, 100_000), replace=False)]

    def measure(name: str, index: Any, params: dict[str, list[int]]) -> None:
        t_train, _ = timed(lambda: index.train(train))
        t_add, _ = timed(lambda: index.add(xb))
        mem = len(faiss.serialize_index(index)) / 2**20
        entry: dict[str, Any] = {
            "train_s": round(t_train, 1),
            "add_s": round(t_add, 1),
            "memory_mb": round(mem, 1),
        }
        for knob, values in params.items():
            for v in values:
                faiss.ParameterSpace().set_index_parameter(index, knob, v)
                _, got = index.search(queries, 10)
                recall = float(np.mean([len(set(g) & set(t)) / 10 for g, t in zip(got, gt)]))
                ts = [timed(partial(index.search, q[None, :], 10))[0] * 1000 for q in queries]
                p50 = round(float(np.median(ts)), 3)
                entry[f"{knob}={v}"] = {"recall_at_10": round(recall, 4), "p50_ms": p50}
                rows.append(
                    [name, f"{knob}={v}", round(mem), round(t_train + t_add), p50, round(recall, 3)]
                )
        res[name] = entry

    measure("HNSW32 over SQ8", _hnsw_sq8(dim), {"efSearch": [32, 64, 128]})
    nlist = int(4 * math.sqrt(n))
    measure(f"IVF{nlist} + SQ8", _ivf_sq8(dim, nlist), {"nprobe": [8, 32, 64]})
    out.update(res)
    out["method"] = (
        f"{n:,} synthetic 384-d unit vectors around {len(centers):,} real "
        "MiniLM vectors (cosine 0.8 to their centre); queries: the benchmark's "
        "questions encoded by the model; recall@10 against exact inner-product "
        "search; memory = serialized index size"
    )
    print(table(rows, ["index", "search knob", "memory MiB", "build s", "p50 ms", "recall@10"]))
    print("   " + out["method"], flush=True)


def _hnsw_sq8(dim: int) -> Any:
    import faiss

    # faiss-cpu's stub types argument 2 as a ScalarQuantizer, but the constructor takes the
    # quantizer type (ScalarQuantizer::QuantizerType, an int) and rejects a ScalarQuantizer
    index = faiss.IndexHNSWSQ(
        dim,
        faiss.ScalarQuantizer.QT_8bit,  # type: ignore[arg-type]
        32,
        faiss.METRIC_INNER_PRODUCT,
    )
    index.hnsw.efConstruction = 40
    return index


def _ivf_sq8(dim: int, nlist: int) -> Any:
    import faiss

    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFScalarQuantizer(
        quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
    )
    return index  # faiss's Python wrapper keeps the quantizer alive with the index


# ---- cold start --------------------------------------------------------------------------


def _qa_command() -> list[str]:
    exe = Path(sys.executable).parent / "qa"
    if exe.is_file():
        return [str(exe)]
    return [sys.executable, "-c", "import sys; from qa.cli import main; sys.exit(main())"]


def bench_coldstart(out: dict[str, Any], backend: str, tmp: Path, runs: int) -> None:
    env = dict(
        os.environ,
        QA_DATA_DIR=str(tmp),
        QA_BACKEND=backend,
        HF_HUB_OFFLINE="1",
        GRADIO_ANALYTICS_ENABLED="False",
    )
    env.pop("QA_INDEX", None)
    qa = _qa_command()

    def run(args: list[str]) -> float:
        t = time.perf_counter()
        p = subprocess.run(qa + args, env=env, capture_output=True, text=True, timeout=900)
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} exited {p.returncode}: {p.stderr[-400:]}")
        return time.perf_counter() - t

    def py(code: str) -> float:
        return min(
            timed(lambda: subprocess.run([sys.executable, "-c", code], env=env, check=True))[0]
            for _ in range(runs)
        )

    t_import = py("import qa")
    encoder = "onnxruntime, tokenizers" if backend == "onnx" else "sentence_transformers"
    t_enc = py(f"import faiss, bm25s, {encoder}")
    t_help = min(run(["--help"]) for _ in range(runs))
    t_first = run(["ask", COLD_QUESTION])
    t_ask = sorted(run(["ask", COLD_QUESTION]) for _ in range(runs))
    out.update(
        import_qa_s=round(t_import, 2),
        import_deps_s=round(t_enc, 2),
        help_s=round(t_help, 2),
        first_ask_builds_seed_index_s=round(t_first, 1),
        ask_s_min=round(t_ask[0], 2),
        ask_s_median=round(t_ask[len(t_ask) // 2], 2),
    )
    rows = [
        ["python -c 'import qa'", out["import_qa_s"]],
        [f"python -c 'import faiss, bm25s, {encoder}'", out["import_deps_s"]],
        ["qa --help", out["help_s"]],
        [
            "qa ask (first run: indexes the seeds"
            + (", exports onnx" if backend == "onnx" else "")
            + ")",
            out["first_ask_builds_seed_index_s"],
        ],
        [f"qa ask (seed index built), min of {runs}", out["ask_s_min"]],
        [f"qa ask (seed index built), median of {runs}", out["ask_s_median"]],
    ]
    ui = ROOT / "ui" / "app.py"
    if not ui.is_file():
        out["serve"] = "skipped: ui/app.py does not exist"
    else:
        try:
            out["serve_until_http_200_s"] = round(_serve_time(qa, env), 1)
            rows.append(["qa serve until GET / is 200", out["serve_until_http_200_s"]])
        except Exception as e:  # the UI is optional for this benchmark
            out["serve"] = f"skipped: {type(e).__name__}: {e}"
    if "serve" in out:
        rows.append(["qa serve", out["serve"]])
    print(table(rows, [f"cold start ({backend})", "seconds"]), flush=True)


def _serve_time(qa: list[str], env: dict[str, str], timeout: float = 240.0) -> float:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        qa + ["serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while time.perf_counter() - t0 < timeout:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"qa serve exited {proc.returncode}: "
                    f"{(proc.stderr.read() if proc.stderr else '')[-300:]}"
                )
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                    if r.status == 200:
                        return time.perf_counter() - t0
            time.sleep(0.2)
        raise TimeoutError(f"no HTTP 200 within {timeout:.0f}s")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---- torch vs onnx -----------------------------------------------------------------------


def onnx_available() -> bool:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def bench_compare(out: dict[str, Any], texts: list[str], questions: list[str], rounds: int) -> None:
    from embeddings import load_model
    from embeddings.onnx_backend import OnnxModel

    t_torch, torch_m = timed(lambda: load_model("all-MiniLM-L6-v2", "torch"))
    t_onnx, onnx_m = timed(lambda: load_model("all-MiniLM-L6-v2", "onnx"))
    assert isinstance(onnx_m, OnnxModel)  # for its quantization and file, reported below
    models = {"torch fp32": torch_m, f"onnx int8 ({onnx_m.quantization})": onnx_m}
    tokens = count_tokens(texts)
    for m in models.values():
        m.encode(texts[:16])
    best: dict[str, list[float]] = {k: [] for k in models}
    for _ in range(rounds):  # interleaved, so load changes hit both alike
        for name, m in models.items():
            best[name].append(timed(partial(m.encode, texts, batch_size=32))[0])
    vt, vo = torch_m.encode(texts), onnx_m.encode(texts)
    qt, qo = (
        torch_m.encode_queries(questions[:50]),
        np.vstack([onnx_m.encode_queries([q]) for q in questions[:50]]),
    )
    cos_d, cos_q = (vt * vo).sum(1), (qt * qo).sum(1)
    rows = []
    for name, m in models.items():
        lat = latencies_ms(partial(_encode_one, m), questions)
        ts = sorted(best[name])
        out[name] = {
            "tokens_per_s_best": round(tokens / ts[0]),
            "tokens_per_s_median": round(tokens / ts[len(ts) // 2]),
            "query_ms": lat,
        }
        rows.append(
            [
                name,
                out[name]["tokens_per_s_best"],
                out[name]["tokens_per_s_median"],
                lat["p50"],
                lat["p95"],
            ]
        )
    out.update(
        texts=len(texts),
        tokens=tokens,
        rounds=rounds,
        load_s={"torch": round(t_torch, 2), "onnx": round(t_onnx, 2)},
        cosine_documents={
            "min": round(float(cos_d.min()), 4),
            "mean": round(float(cos_d.mean()), 4),
        },
        cosine_queries={"min": round(float(cos_q.min()), 4), "mean": round(float(cos_q.mean()), 4)},
        onnx_file=str(onnx_m.file),
    )
    print(table(rows, ["encoder", "tok/s best", "tok/s median", "query p50 ms", "p95"]))
    print(
        f"   {len(texts)} chunk texts, {tokens:,} tokens, {rounds} interleaved rounds; "
        f"model load torch {t_torch:.1f}s, onnx {t_onnx:.1f}s (0 if already loaded; "
        "includes the export on first use)"
        f"\n   cosine torch vs onnx: documents min {cos_d.min():.4f} mean "
        f"{cos_d.mean():.4f}; queries min {cos_q.min():.4f} mean {cos_q.mean():.4f}",
        flush=True,
    )


def bench_squad(
    out: dict[str, Any], data: Path, n_questions: int, n_articles: int | None, tmp: Path
) -> None:
    from qa.articles import make_article
    from qa.engine import QA

    evalset = load_squad(data / "squad" / "dev-v1.1-even.json")
    arts = evalset.articles[:n_articles] if n_articles else evalset.articles
    ids = {a.id for a in arts}
    questions = sample_questions(
        [q for q in evalset.questions if q.article_id in ids], n_questions, seed=0
    )
    articles = [make_article(a.text, title=a.title, article_id=a.id) for a in arts]
    configs = [("torch", "torch"), ("onnx", "onnx"), ("torch", "onnx")]
    rows = []
    built: dict[str, float] = {}
    for doc_b, query_b in configs:
        index_dir = tmp / f"squad-{doc_b}"
        if doc_b not in built:
            eng = QA(settings_for(tmp / f"squad-data-{doc_b}", doc_b, index_dir=index_dir))
            _ = eng.model
            built[doc_b], _ = timed(partial(eng.add_articles, articles))
        eng = QA(settings_for(tmp / f"squad-data-{doc_b}", query_b, index_dir=index_dir))
        ranks: list[int | None] = []
        for q in questions:
            rank = None
            for p in eng.retrieve(q.question, k=5):
                if p.article_id == q.article_id and span_covers(p.start, p.end, q.answer_starts):
                    rank = p.rank
                    break
            ranks.append(rank)
        name = f"index {doc_b}, queries {query_b}"
        out[name] = {
            "hits_at_1": round(hits_at_k(ranks, 1), 4),
            "hits_at_5": round(hits_at_k(ranks, 5), 4),
            "ingest_s": round(built[doc_b], 1),
        }
        rows.append([name, out[name]["hits_at_1"], out[name]["hits_at_5"], out[name]["ingest_s"]])
    out.update(
        questions=len(questions),
        articles=len(articles),
        definition="a hit: a retrieved passage of the gold article contains a gold "
        "answer offset (hybrid retrieval, k=5)",
    )
    print(table(rows, ["SQuAD dev (even) retrieval", "Hits@1", "Hits@5", "ingest s"]))
    print(
        f"   {len(questions)} questions over {len(articles)} articles; {out['definition']}",
        flush=True,
    )


# ---- main --------------------------------------------------------------------------------


def bench_llm(out: dict[str, Any], tmp: Path, limit: int | None) -> None:
    """Time to first token and total seconds per LLM answer over the seed questions."""
    from eval.llm_server import LlamaServer, available
    from eval.runner import build_engine, load_corpus, load_set
    from qa.answer_types import Answer
    from qa.settings import Settings

    base = Settings.from_env(data_dir=tmp, index_dir=tmp / "index")
    with contextlib.ExitStack() as stack:
        if not base.llm_available:
            missing = available()
            if missing:
                out["skipped"] = missing
                print(f"   skipped: {missing}")
                return
            server = stack.enter_context(LlamaServer())
            base = base.replace(llm_base_url=server.base_url, llm_model=server.model)
        evalset = load_set("jsonl", ROOT / "eval" / "data" / "seed_questions.jsonl")
        engine = build_engine(base, load_corpus(evalset))
        engine.warm_up()
        questions = [q for q in evalset.questions if not q.history][:limit]
        first: list[float] = []
        total: list[float] = []
        fallbacks = 0
        for q in questions:
            t0 = time.perf_counter()
            t_first = math.nan
            answer: Answer | None = None
            for item in engine.ask_stream(q.question, mode="llm"):
                if isinstance(item, Answer):
                    answer = item
                elif math.isnan(t_first):
                    t_first = time.perf_counter() - t0
            total.append(time.perf_counter() - t0)
            first.append(t_first)
            fallbacks += answer is None or answer.mode != "llm"
        streamed = [t for t in first if not math.isnan(t)]
        out.update(
            model=base.llm_model,
            base_url=base.llm_base_url,
            questions=len(questions),
            streamed=len(streamed),
            fallbacks=fallbacks,
            first_token_s=percentiles(streamed) if streamed else {},
            total_s=percentiles(total),
        )
    ft, tt = out["first_token_s"], out["total_s"]
    print(
        table(
            [
                [
                    f"{base.llm_model}",
                    len(questions),
                    f"{ft.get('p50', math.nan):.2f} / {ft.get('p95', math.nan):.2f}",
                    f"{tt['p50']:.2f} / {tt['p95']:.2f}",
                    fallbacks,
                ]
            ],
            ["model", "questions", "first token p50 / p95 (s)", "total p50 / p95 (s)", "fallbacks"],
        )
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m eval.bench",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="small sizes (60 BBC articles, 60 questions, 5k chunks, store sizes 1k and "
        "3k, 100k synthetic vectors, 40 SQuAD questions on 3 articles): several minutes on "
        "an idle 2-core machine (the store section alone takes about 3 minutes)",
    )
    p.add_argument(
        "--backend",
        choices=["torch", "onnx"],
        default=None,
        help="embedding backend for ingest, latency and cold start (env QA_BACKEND; default onnx)",
    )
    p.add_argument(
        "--sizes",
        default=None,
        metavar="N,N",
        help="corpus sizes in chunks for the latency section (default 10000,100000; quick 5000)",
    )
    p.add_argument(
        "--store-sizes",
        default=None,
        metavar="N,N",
        help="index sizes in chunks for the store section (default 1000,10000,100000; quick "
        "1000,3000; add 1000000 for the issue's largest size: hours on 2 cores)",
    )
    p.add_argument(
        "--store-questions",
        type=int,
        default=None,
        metavar="N",
        help="questions the store section's serving process times per size (default 100; quick 20)",
    )
    p.add_argument(
        "--store-articles",
        type=int,
        default=None,
        metavar="N",
        help="BBC articles in the store section's base corpus (default all but 12 held out)",
    )
    p.add_argument(
        "--store-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="build the store section's index here and keep it (default: a temporary folder)",
    )
    p.add_argument(
        "--cache",
        type=Path,
        default=None,
        metavar="DIR",
        help="where the prepared (chunked, embedded) BBC base of the latency and store "
        "sections is cached (default $TMPDIR/qa-bench-cache)",
    )
    p.add_argument(
        "--noise",
        type=float,
        default=0.3,
        metavar="X",
        help="relative norm of the Gaussian noise added to the vectors of copied articles "
        "in the latency and store sections (default 0.3: cosine about 0.96 to the original)",
    )
    p.add_argument(
        "--synthetic",
        type=int,
        default=None,
        metavar="N",
        help="vectors for the approximate-search section (default 1000000; quick 100000)",
    )
    p.add_argument(
        "--articles",
        type=int,
        default=None,
        metavar="N",
        help="BBC articles to ingest, and the base the latency section grows from "
        "(default all 2,225; quick 60)",
    )
    p.add_argument(
        "--questions",
        type=int,
        default=None,
        metavar="N",
        help="questions timed per size (default 200; quick 60)",
    )
    p.add_argument(
        "--squad-questions",
        type=int,
        default=None,
        metavar="N",
        help="SQuAD questions for the quality check (default 300; quick 40)",
    )
    p.add_argument(
        "--skip",
        default="",
        metavar="SECTION,...",
        help=f"sections to leave out: {', '.join(SECTIONS)}",
    )
    p.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA_DIR,
        metavar="DIR",
        help=f"the shared data folder (default {DEFAULT_DATA_DIR})",
    )
    p.add_argument(
        "--no-profile", action="store_true", help="skip the cProfile of queries at the largest size"
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE.json",
        help="also write every figure as JSON",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; returns the exit code (1 if a section failed)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for h in logging.root.handlers:  # some libraries set their own loggers to DEBUG
        h.setLevel(logging.WARNING)
    for noisy in ("sentence_transformers", "transformers", "httpx", "faiss", "bm25s"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if skip - set(SECTIONS):
        build_parser().error(f"--skip takes {', '.join(SECTIONS)}; got {args.skip!r}")
    q = args.quick
    backend = args.backend or os.environ.get("QA_BACKEND") or "onnx"
    sizes = [int(s) for s in (args.sizes or ("5000" if q else "10000,100000")).split(",")]
    store_sizes = [
        int(s) for s in (args.store_sizes or ("1000,3000" if q else "1000,10000,100000")).split(",")
    ]
    n_store_q = args.store_questions or (20 if q else 100)
    cache = args.cache or Path(tempfile.gettempdir()) / "qa-bench-cache"
    n_syn = args.synthetic or (100_000 if q else 1_000_000)
    n_art = args.articles or (60 if q else None)
    n_squad = args.squad_questions or (40 if q else 300)
    n_questions = args.questions or (60 if q else 200)
    has_onnx = onnx_available()
    if backend == "onnx" and not has_onnx:
        build_parser().error("--backend onnx needs onnxruntime and onnx: run ./run setup")
    results: dict[str, Any] = {
        "meta": {
            "argv": list(argv if argv is not None else sys.argv[1:]),
            "backend": backend,
            "quick": q,
            "cpu_count": os.cpu_count(),
            "load_avg_start": os.getloadavg(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "python": sys.version.split()[0],
        }
    }
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="qa-bench-") as tmp_s:
        tmp = Path(tmp_s)
        articles = bbc_articles(args.data, n_art)
        questions = bbc_questions(articles, n_questions)
        engine = None
        if "ingest" not in skip or "ann" not in skip:
            with section("ingest", results, args.out) as out:
                engine = bench_ingest(out, articles, backend, tmp / "bbc")
        if "latency" not in skip:
            with section("latency", results, args.out) as out:
                base, _ = prepared_base(args.data, cache, backend, n_art)
                bench_latency(
                    out,
                    base,
                    sizes,
                    questions,
                    backend,
                    tmp,
                    profile=not args.no_profile,
                    noise=args.noise,
                )
        if "store" not in skip:
            with section("store", results, args.out) as out:
                bench_store(
                    out,
                    args.data,
                    store_sizes,
                    backend,
                    tmp,
                    cache,
                    n_store_q,
                    args.store_articles,
                    keep=args.store_dir,
                    noise=args.noise,
                    save=partial(_save, results, args.out),
                )
        if "ann" not in skip:
            with section("ann", results, args.out) as out:
                if engine is not None and engine.index.chunks:
                    idx = engine.index
                    centers = np.vstack(
                        [
                            vs.take(np.arange(len(vs)))
                            for vs in (idx.chunk_vectors, idx.sentence_vectors)
                        ]
                    )
                    qv = engine.model.encode_queries(questions)
                else:
                    rng = np.random.default_rng(0)
                    centers = rng.standard_normal((10_000, 384)).astype(np.float32)
                    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
                    qv = centers[:200]
                bench_ann(out, n_syn, centers, np.ascontiguousarray(qv, dtype=np.float32))
        if "coldstart" not in skip:
            with section("coldstart", results, args.out) as out:
                bench_coldstart(out, backend, tmp / "cold", runs=1 if q else 3)
        if "compare" not in skip:
            with section("compare", results, args.out) as out:
                if not has_onnx:
                    out["skipped"] = "onnxruntime/onnx not installed"
                    print("   skipped: onnxruntime/onnx not installed")
                else:
                    n_texts = 60 if q else 500
                    rows = engine.index.alive_chunk_rows() if engine is not None else []
                    texts = (
                        [
                            engine.index.chunk_at(int(r)).text
                            for r in rows[:: max(1, len(rows) // n_texts)]
                        ]
                        if engine is not None and len(rows)
                        else questions
                    )
                    bench_compare(out, texts[:n_texts], questions, rounds=2)
        if "squad" not in skip:
            with section("squad", results, args.out) as out:
                if not has_onnx:
                    out["skipped"] = "onnxruntime/onnx not installed"
                    print("   skipped: onnxruntime/onnx not installed")
                else:
                    bench_squad(out, args.data, n_squad, 3 if q else None, tmp)
        if "llm" not in skip:
            with section("llm", results, args.out) as out:
                bench_llm(out, tmp / "llm", 10 if q else None)
        if "duplicates" not in skip:
            with section("duplicates", results, args.out) as out:
                from eval.duplicates import measure

                out.update(measure(args.data, show=3 if q else 5))
    results["meta"].update(
        load_avg_end=os.getloadavg(), total_s=round(time.perf_counter() - t_all, 1), **rss_mb()
    )
    others = [
        r["other_cores_busy"]
        for r in results.values()
        if isinstance(r, dict) and "other_cores_busy" in r
    ]
    busy = max(others, default=0.0) > 0.25
    results["meta"]["under_load"] = busy
    print(
        f"\ntotal {results['meta']['total_s']:.0f} s; other processes kept "
        f"{min(others, default=0):.1f}-{max(others, default=0):.1f} of {os.cpu_count()} "
        "cores busy during the sections" + (" (timings are noisy)" if busy else "")
    )
    if args.out:
        args.out.write_text(json.dumps(results, indent=2, default=str))
        print(f"wrote {args.out}")
    return 1 if any(isinstance(r, dict) and "error" in r for r in results.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
