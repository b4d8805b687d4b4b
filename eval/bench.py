"""Throughput, latency, memory and cold-start benchmark of the whole pipeline.

Usage::

    python -m eval.bench --quick                      # about 2-3 minutes on 2 cores
    python -m eval.bench --backend onnx --out bench.json
    python -m eval.bench --sizes 10000,100000 --synthetic 1000000

Sections (``--skip`` leaves some out):

``ingest``     BBC News end to end through ``QA.add_articles`` into a temporary index,
               beside the raw ``model.encode`` of exactly the texts the pipeline embeds
               (chunks with their headline, and every sentence) in the same run.
``latency``    warm ``QA.retrieve`` / ``QA.ask`` p50/p95 over 200 questions at each size in
               ``--sizes`` (chunks). The corpus is grown from the ingested BBC index by
               replicating articles under new ids with their vectors re-used (slightly
               perturbed and renormalised) instead of re-encoding hours of text; BM25, FAISS
               and the acronym table are rebuilt by ``ArticleIndex._rebuild_search`` as an
               ingest would. Also: a per-stage split and a cProfile of one size's queries.
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

log = logging.getLogger(__name__)
T = TypeVar("T")
SECTIONS = ("ingest", "latency", "ann", "coldstart", "compare", "squad", "duplicates", "llm")
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
    # the same calls and batch sizes as ArticleIndex._append
    t_raw_c, _ = timed(lambda: model.encode_documents(chunk_texts, batch_size=32))
    t_raw_s, _ = timed(lambda: model.encode_documents(sent_texts, batch_size=64))
    t_raw = t_raw_c + t_raw_s
    t_search, _ = timed(idx._rebuild_search)  # what every add pays after encoding
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
        rebuild_search_s=round(t_search, 1),
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
                ["of which BM25+FAISS+acronym rebuild", f"{t_search:.1f} s"],
                ["index on disk", f"{out['index_disk_mb']:.1f} MiB"],
                ["process RSS / peak", f"{out['rss_mb']:.0f} / {out['peak_rss_mb']:.0f} MiB"],
            ],
            ["ingest (" + backend + ")", "value"],
        ),
        flush=True,
    )
    return engine


# ---- latency at scale --------------------------------------------------------------------


def grow_index(base: Any, n_chunks: int, path: Path, noise: float = 0.02, seed: int = 0) -> Any:
    """An index of about ``n_chunks`` chunks made of copies of ``base``'s articles.

    Copy 0 is the original; copy ``k`` renames every article ``{id}~{k}`` (and its chunks)
    and re-uses its vectors plus Gaussian noise of ``noise`` (relative norm), renormalised,
    so copies are near but not exact duplicates. Whole articles are kept: the result has
    at least ``n_chunks`` chunks.
    """
    from qa.index import ArticleIndex

    a_rows = base.chunk_article
    if np.any(np.diff(a_rows) < 0) or np.any(np.diff(base.sentences[:, 0]) < 0):
        raise ValueError("grow_index needs a freshly ingested index (rows in article order)")
    n_a, n_c, n_s = len(base.articles), len(base.chunks), len(base.sentences)
    copies = max(1, math.ceil(n_chunks / max(n_c, 1)))
    in_last = min(n_chunks, n_c * copies) - (copies - 1) * n_c  # chunks needed from the last
    art_cut = int(a_rows[in_last - 1]) + 1  # whole articles covering them
    rng = np.random.default_rng(seed)
    dim = base.chunk_vectors.shape[1]

    def jitter(v: np.ndarray, k: int) -> np.ndarray:
        if k == 0:
            return v
        x = v + rng.standard_normal(v.shape, dtype=np.float32) * (noise / math.sqrt(dim))
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    idx = ArticleIndex(path, dict(base.manifest))
    arts, chunks, cvec, svec, sents, flat, offs = [], [], [], [], [], [], [np.zeros(1, np.int64)]
    ents, ent_offs, furn = [], [np.zeros(1, np.int64)], []  # per-sentence entities, furniture
    for k in range(copies):
        last = k == copies - 1
        na = art_cut if last else n_a
        nc = int(np.searchsorted(a_rows, na)) if last else n_c
        ns = int(np.searchsorted(base.sentences[:, 0], na)) if last else n_s
        for a in base.articles[:na]:
            arts.append(a if k == 0 else dataclasses.replace(a, id=f"{a.id}~{k}"))
        for c in base.chunks[:nc]:
            aid = c.article_id if k == 0 else f"{c.article_id}~{k}"
            chunks.append(
                c if k == 0 else dataclasses.replace(c, id=f"{aid}:{c.n}", article_id=aid)
            )
        cvec.append(jitter(base.chunk_vectors[:nc], k))
        svec.append(jitter(base.sentence_vectors[:ns], k))
        s = base.sentences[:ns].copy()
        s[:, 0] += k * n_a
        sents.append(s)
        end = int(base.chunk_sent_offsets[nc])
        flat.append(base.chunk_sent_flat[:end] + k * n_s)
        offs.append(base.chunk_sent_offsets[1 : nc + 1] + (offs[-1][-1] if k else 0))
        n_e = int(base.entity_offsets[ns])  # entity offsets are in article text: copied as is
        ents.append(base.entity_table[:n_e])
        ent_offs.append(base.entity_offsets[1 : ns + 1] + ent_offs[-1][-1])
        furn.append(base.sentence_furniture[:ns])
    idx.articles, idx.chunks = arts, chunks
    idx.chunk_vectors = np.ascontiguousarray(np.vstack(cvec), dtype=np.float32)
    idx.sentence_vectors = np.ascontiguousarray(np.vstack(svec), dtype=np.float32)
    idx.sentences = np.vstack(sents)
    idx.chunk_sent_flat = np.concatenate(flat)
    idx.chunk_sent_offsets = np.concatenate(offs)
    idx.entity_table = np.vstack(ents)
    idx.entity_offsets = np.concatenate(ent_offs)
    idx.entity_strings = list(base.entity_strings)
    idx.sentence_furniture = np.concatenate(furn)
    idx._derive()
    idx._rebuild_search()
    return idx


def stage_split(idx: Any, model: Any, questions: Sequence[str]) -> dict[str, float]:
    """Median milliseconds of the stages of one hybrid search, called directly."""
    from qa.lexical import terms

    stages: dict[str, list[float]] = {
        k: []
        for k in (
            "encode_query",
            "bm25_chunks_all",
            "bm25_sentences_all",
            "faiss_chunks_top100",
            "faiss_sentences_top200",
            "argsort_bm25_all",
        )
    }
    for q in questions:
        t = time.perf_counter()
        qv = model.encode_queries([q])[0]
        stages["encode_query"].append(time.perf_counter() - t)
        qt = terms(q)
        t = time.perf_counter()
        bc = idx.bm25_chunks.scores(qt)
        stages["bm25_chunks_all"].append(time.perf_counter() - t)
        t = time.perf_counter()
        bs = idx.bm25_sentences.scores(qt)
        stages["bm25_sentences_all"].append(time.perf_counter() - t)
        t = time.perf_counter()
        idx.chunk_faiss.search(qv[None, :], 100)
        stages["faiss_chunks_top100"].append(time.perf_counter() - t)
        t = time.perf_counter()
        idx.sentence_faiss.search(qv[None, :], 200)
        stages["faiss_sentences_top200"].append(time.perf_counter() - t)
        t = time.perf_counter()
        np.argsort(-bc)
        np.argsort(-bs)
        stages["argsort_bm25_all"].append(time.perf_counter() - t)
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


def bench_latency(
    out: dict[str, Any],
    engine: Any,
    sizes: Sequence[int],
    questions: list[str],
    backend: str,
    tmp: Path,
    profile: bool,
) -> None:
    from qa.engine import QA

    base = engine.index
    rows = []
    for n in sizes:
        path = tmp / f"grown-{n}"
        t_build, idx = timed(partial(grow_index, base, n, path))
        t_save, _ = timed(idx.save)
        kinds = f"{type(idx.chunk_faiss).__name__}/{type(idx.sentence_faiss).__name__}"
        counts = (len(idx.articles), len(idx.chunks), len(idx.sentences))
        del idx
        eng = QA(settings_for(tmp, backend, index_dir=path))
        t_load, _ = timed(partial(getattr, eng, "index"))
        for q in ("warm up", "what happened", *questions[:3]):
            eng.ask(q)
        r: dict[str, Any] = {
            "chunks": counts[1],
            "articles": counts[0],
            "sentences": counts[2],
            "faiss": kinds,
            "rebuild_s": round(t_build, 1),
            "save_s": round(t_save, 1),
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
                r["rebuild_s"],
                r["load_s"],
                r["disk_mb"],
                r["rss_mb"],
            ]
        )
        del eng
        shutil.rmtree(path, ignore_errors=True)
    out["method"] = (
        "corpus grown from the ingested BBC index: articles copied under new ids, "
        "vectors re-used with 2% Gaussian noise and renormalised (not re-encoded); "
        "BM25/FAISS/acronyms rebuilt by ArticleIndex._rebuild_search, saved, then "
        "loaded by a fresh QA engine; latencies after 5 warm-up questions"
    )
    print(
        table(
            rows,
            [
                "size",
                "faiss chunk/sent",
                "retrieve p50 ms",
                "p95",
                "ask p50 ms",
                "p95",
                "rebuild s",
                "load s",
                "disk MiB",
                "RSS MiB",
            ],
        )
    )
    for n in sizes:
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
    from qa.settings import Settings

    cache = str(Settings.from_env().data_dir / "models")
    t_torch, torch_m = timed(lambda: load_model("all-MiniLM-L6-v2", "torch"))
    t_onnx, onnx_m = timed(lambda: load_model("all-MiniLM-L6-v2", "onnx", cache_dir=cache))
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
        help="small sizes (60 BBC articles, 60 questions, 5k chunks, 100k "
        "synthetic vectors, 40 SQuAD questions on 3 articles): about 2-3 "
        "minutes on an idle 2-core machine",
    )
    p.add_argument(
        "--backend",
        choices=["torch", "onnx"],
        default=None,
        help="embedding backend for ingest, latency and cold start (env QA_BACKEND; default torch)",
    )
    p.add_argument(
        "--sizes",
        default=None,
        metavar="N,N",
        help="corpus sizes in chunks for the latency section (default 10000,100000; quick 5000)",
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
        help="BBC articles to ingest (default all 2,225; quick 60)",
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
    backend = args.backend or os.environ.get("QA_BACKEND") or "torch"
    sizes = [int(s) for s in (args.sizes or ("5000" if q else "10000,100000")).split(",")]
    n_syn = args.synthetic or (100_000 if q else 1_000_000)
    n_art = args.articles or (60 if q else None)
    n_squad = args.squad_questions or (40 if q else 300)
    n_questions = args.questions or (60 if q else 200)
    has_onnx = onnx_available()
    if backend == "onnx" and not has_onnx:
        build_parser().error("--backend onnx needs the onnx extra: pip install 'article-qa[onnx]'")
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
        if "ingest" not in skip or "latency" not in skip or "ann" not in skip:
            with section("ingest", results, args.out) as out:
                engine = bench_ingest(out, articles, backend, tmp / "bbc")
        if "latency" not in skip and engine is not None and engine.index.chunks:
            with section("latency", results, args.out) as out:
                bench_latency(
                    out, engine, sizes, questions, backend, tmp, profile=not args.no_profile
                )
        if "ann" not in skip:
            with section("ann", results, args.out) as out:
                if engine is not None and engine.index.chunks:
                    idx = engine.index
                    centers = np.vstack([idx.chunk_vectors, idx.sentence_vectors])
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
                    chunks = engine.index.chunks if engine is not None else []
                    texts = (
                        [c.text for c in chunks[:: max(1, len(chunks) // n_texts)]]
                        if chunks
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
