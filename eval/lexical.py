"""Latency of the lexical half of a search: the FTS5 store (qa.store.Lexical) against the
in-memory bm25s index it replaced, on synthetic corpora of a chosen number of chunks.

Each synthetic chunk is a run of up to eight consecutive sentences of one BBC News article
(a random article, a random first sentence, seeded), with the article's headline, as the
index reads it; its sentences are the sentence rows. A corpus of N chunks therefore repeats
the BBC text (2,225 articles) many times over: document frequencies grow with N as they
would in a larger archive of the same kind of text, though no new words appear.

For each question (bbc-qa questions, through :func:`qa.lexical.query_terms`) both engines
compute what :func:`qa.retrieval.search` asks of its lexical index:

- bm25s (commit 34a007f): BM25 of every chunk and every sentence, the top 100 chunks and
  the top 200 sentences, the scores of the candidates and their sentences, and the word
  cover (one bm25s scoring of all sentences per query word, as its ``_word_cover`` did);
- FTS5: ``top`` of 100 chunks and 200 sentences, then ``terms_of`` and ``score_rows`` of the
  candidate chunks and of their sentences, and the word cover from the same stored terms.

Both are given the same 100 extra candidate chunks per question, standing in for the dense
candidates. Times are CPU time of the calling thread (both engines run in it). For FTS5 it
also reports the recall of its candidates: the share of the exact BM25 top 10 chunks (top 20
sentences) that its ``top`` of 100 (200) finds, with the common-word pruning of
``Lexical.LARGE`` as configured, forced on (``fts5-pruned``: what every table above
``LARGE`` rows gets, as both do at 1M chunks) or off (``fts5-unpruned``). Usage::

    python -m eval.lexical --chunks 10000 --engines bm25s fts5 fts5-pruned
    python -m eval.lexical --chunks 100000 --engines bm25s fts5 fts5-pruned fts5-unpruned
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from eval.datasets import DEFAULT_DATA_DIR
from qa import store
from qa.articles import load_paths
from qa.chunking import split_sentences
from qa.lexical import BM25Index, query_terms, terms

DATA = DEFAULT_DATA_DIR
SENTENCES_PER_CHUNK = 8
CHUNK_CANDIDATES = 100
SENTENCE_CANDIDATES = 200


@dataclass(frozen=True)
class Corpus:
    """A synthetic corpus: term lists of chunks and sentences, and which sentences each
    chunk holds (``chunk_sent_flat[offsets[r]:offsets[r + 1]]``)."""

    chunk_terms: list[list[str]]
    sentence_terms: list[list[str]]
    offsets: np.ndarray
    chunk_sent_flat: np.ndarray


@dataclass(frozen=True)
class Timing:
    """CPU milliseconds per question, p50 and p95, of one engine at one corpus size.

    Attributes:
        engine: ``bm25s`` or ``fts5``.
        chunks: Chunk rows in the corpus.
        sentences: Sentence rows.
        find_p50, find_p95: Finding the candidates (bm25s: scoring every row and taking
            the top; FTS5: the two ``top`` queries).
        score_p50, score_p95: The exact scores of the candidates and their sentences and
            the word cover.
        total_p50, total_p95: Both together.
        build_s: CPU seconds to build the index from the term lists.
        size_mb: bm25s: its arrays in memory; FTS5: the SQLite file on disk.
        pruned: FTS5 only: the tables whose candidates the common-word pruning
            (``Lexical.LARGE``) was in force for (``chunks``, ``sentences``, both or "").
        chunk_recall: FTS5 only: the share of the exact BM25 top 10 chunks of a question
            (bm25s over every row) that ``top`` of 100 finds, over the questions.
        sentence_recall: The same for the top 20 sentences within ``top`` of 200.
    """

    engine: str
    chunks: int
    sentences: int
    find_p50: float
    find_p95: float
    score_p50: float
    score_p95: float
    total_p50: float
    total_p95: float
    build_s: float
    size_mb: float
    pruned: str = ""
    chunk_recall: float = float("nan")
    sentence_recall: float = float("nan")


def bbc_sentences(folder: Path) -> list[list[list[str]]]:
    """The sentence term lists of every BBC article (headline included, as
    :func:`qa.index.sentence_terms` makes them), one list per article."""
    files = sorted(folder.glob("*/*.txt"))
    out = []
    for a in load_paths(files).articles:
        out.append([terms(f"{a.title}\n{s.text}") for s in split_sentences(a.text)])
    return [s for s in out if s]


def make_corpus(articles: list[list[list[str]]], n_chunks: int, seed: int = 13) -> Corpus:
    """``n_chunks`` chunks of up to eight consecutive sentences of a random article."""
    rng = np.random.default_rng(seed)
    chunk_terms: list[list[str]] = []
    sent_terms: list[list[str]] = []
    offsets = [0]
    for _ in range(n_chunks):
        sents = articles[int(rng.integers(len(articles)))]
        first = int(rng.integers(len(sents)))
        run = sents[first : first + SENTENCES_PER_CHUNK]
        # a chunk's terms: its sentences' terms (each sentence carries the headline's terms
        # here; the real chunk has them once: close enough for timing)
        chunk_terms.append([t for s in run for t in s])
        sent_terms.extend(run)
        offsets.append(len(sent_terms))
    offs = np.array(offsets, dtype=np.int64)
    return Corpus(chunk_terms, sent_terms, offs, np.arange(offs[-1], dtype=np.int64))


def _clock() -> float:
    """CPU seconds of this thread: both engines run in the calling thread, and on a shared
    machine wall time mostly measures the other processes."""
    return time.thread_time()


def _bm25s(term_lists: list[list[str]]) -> BM25Index:
    import bm25s

    model = bm25s.BM25(k1=1.2, b=0.75)
    model.index([t or ["\x00empty"] for t in term_lists], show_progress=False)
    return BM25Index(model, len(term_lists))


def _fts(conn: sqlite3.Connection, table: str, term_lists: list[list[str]]) -> store.Lexical:
    conn.execute("BEGIN")
    conn.executemany(
        f"INSERT INTO {table}(rowid, terms) VALUES (?, ?)",
        ((i, store.terms_text(t)) for i, t in enumerate(term_lists)),
    )
    conn.execute("COMMIT")
    return store.Lexical(conn, table, len(term_lists), sum(max(1, len(t)) for t in term_lists))


def _flat(c: Corpus, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    starts, ends = c.offsets[rows], c.offsets[rows + 1]
    counts = ends - starts
    flat = np.concatenate([c.chunk_sent_flat[s:e] for s, e in zip(starts, ends)])
    bounds = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    return flat, bounds


def _top(x: np.ndarray, n: int) -> np.ndarray:
    if n >= len(x):
        return np.arange(len(x))
    return np.argpartition(-x, n - 1)[:n]


def _sentence_chunk(c: Corpus) -> np.ndarray:
    return np.repeat(np.arange(len(c.offsets) - 1), np.diff(c.offsets))


def time_bm25s(
    c: Corpus, queries: Sequence[list[str]], extra: Sequence[np.ndarray]
) -> tuple[Timing, tuple[BM25Index, BM25Index]]:
    """Time the lexical half of the old search (34a007f) on a corpus; also return its two
    indexes (chunks, sentences), the reference for :func:`time_fts5`'s recall."""
    import bm25s  # noqa: F401  (imported before the clock starts)

    t0 = _clock()
    bc, bs = _bm25s(c.chunk_terms), _bm25s(c.sentence_terms)
    build = _clock() - t0
    sent_chunk = _sentence_chunk(c)
    find, score = [], []
    for q, ex in zip(queries, extra):
        t0 = _clock()
        bm_c = bc.scores(q)
        bm_s_all = bs.scores(q)
        cands = set(_top(bm_c, CHUNK_CANDIDATES).tolist()) | set(ex.tolist())
        top_s = _top(bm_s_all, SENTENCE_CANDIDATES)
        cands.update(sent_chunk[top_s[bm_s_all[top_s] > 0]].tolist())
        rows = np.array(sorted(cands), dtype=np.int64)
        t1 = _clock()
        flat, bounds = _flat(c, rows)
        np.maximum.reduceat(bm_s_all[flat], bounds)
        bm_c[rows]
        known = [t for t in dict.fromkeys(q) if bs.knows(t)]
        cover = np.zeros(len(flat), dtype=np.float32)
        for t in known:
            cover += bs.idf(t) * (bs.scores([t])[flat] > 0)
        t2 = _clock()
        find.append(t1 - t0)
        score.append(t2 - t1)
    size = sum(
        np.asarray(m._model.scores[k]).nbytes  # type: ignore[union-attr,misc]
        for m in (bc, bs)
        for k in ("data", "indices", "indptr")
    )
    return _timing("bm25s", c, find, score, build, size / 1e6), (bc, bs)


def time_fts5(
    c: Corpus,
    queries: Sequence[list[str]],
    extra: Sequence[np.ndarray],
    folder: Path,
    *,
    prune: bool | None = None,
    ref: tuple[BM25Index, BM25Index] | None = None,
) -> Timing:
    """Time the lexical half of the new search (FTS5 candidates, exact re-scoring).

    ``prune``: force the common-word pruning on or off (None: as ``Lexical.LARGE`` says).
    ``ref``: bm25s over the same rows, to measure the recall of the candidates (untimed).
    """
    path = folder / store.DB_NAME
    conn = store.connect(path, create=True)
    t0 = _clock()
    lc, ls = _fts(conn, "chunk_fts", c.chunk_terms), _fts(conn, "sentence_fts", c.sentence_terms)
    build = _clock() - t0
    if prune is not None:
        lc.LARGE = ls.LARGE = 0 if prune else 1 << 62
    pruned = "+".join(n for n, lx in (("chunks", lc), ("sentences", ls)) if lx.size > lx.LARGE)
    sent_chunk = _sentence_chunk(c)
    for q in queries[:20]:  # warm the page cache and the df cache as a serving process has
        lc.top(q, CHUNK_CANDIDATES)
        ls.top(q, SENTENCE_CANDIDATES)
    find, score = [], []
    recall: list[tuple[float, float]] = []
    for q, ex in zip(queries, extra):
        t0 = _clock()
        top_c = lc.top(q, CHUNK_CANDIDATES)
        top_s = ls.top(q, SENTENCE_CANDIDATES)
        cands = set(top_c.tolist()) | set(ex.tolist())
        cands.update(sent_chunk[top_s].tolist())
        rows = np.array(sorted(cands), dtype=np.int64)
        t1 = _clock()
        flat, bounds = _flat(c, rows)
        s_terms = ls.terms_of(np.unique(flat))
        np.maximum.reduceat(ls.score_rows(q, flat, s_terms), bounds)
        lc.score_rows(q, rows)
        known = [t for t in dict.fromkeys(q) if ls.knows(t)]
        sets = {r: set(ts) for r, ts in s_terms.items()}
        cover = np.zeros(len(flat), dtype=np.float32)
        for t in known:
            w = ls.idf(t)
            cover += w * np.array([t in sets.get(int(r), ()) for r in flat.tolist()])
        t2 = _clock()
        find.append(t1 - t0)
        score.append(t2 - t1)
        if ref is not None:
            recall.append((_recall(ref[0], q, top_c, 10), _recall(ref[1], q, top_s, 20)))
    conn.close()
    size = sum(p.stat().st_size for p in folder.iterdir() if p.name.startswith(store.DB_NAME))
    r = np.array(recall) if recall else np.full((1, 2), np.nan)
    timing = _timing("fts5", c, find, score, build, size / 1e6, pruned)
    return replace(
        timing,
        chunk_recall=round(float(np.nanmean(r[:, 0])), 4),
        sentence_recall=round(float(np.nanmean(r[:, 1])), 4),
    )


def time_tantivy(
    c: Corpus,
    queries: Sequence[list[str]],
    folder: Path,
    *,
    ref: tuple[BM25Index, BM25Index] | None = None,
) -> Timing:
    """Time finding the candidates with Tantivy (``tantivy`` on PyPI, not a dependency of
    this project: install it in a scratch environment to run this), the terms indexed as
    they are (whitespace tokenizer), a should-query of the distinct query words, rows read
    from a stored field. Its exact re-scoring would be FTS5's (terms read from SQLite), so
    only finding is timed (``score_*`` are nan); ``build_s`` is wall time, since Tantivy
    indexes in threads of its own."""
    import tantivy  # type: ignore[import-not-found]

    t0 = time.perf_counter()  # wall: Tantivy indexes in its own threads
    idx = []
    for name, lists in (("chunks", c.chunk_terms), ("sentences", c.sentence_terms)):
        sb = tantivy.SchemaBuilder()
        sb.add_text_field("terms", stored=False, tokenizer_name="whitespace", index_option="freq")
        sb.add_integer_field("row", stored=True, fast=True)
        schema = sb.build()
        (folder / name).mkdir()
        ix = tantivy.Index(schema, path=str(folder / name))
        w = ix.writer(heap_size=200_000_000, num_threads=1)
        for i, t in enumerate(lists):
            w.add_document(tantivy.Document(terms=store.terms_text(t), row=i))
        w.commit()
        w.wait_merging_threads()
        ix.reload()
        idx.append((schema, ix.searcher()))
    build = time.perf_counter() - t0

    def top(k: int, q: list[str], n: int) -> np.ndarray:
        schema, se = idx[k]
        words = list(dict.fromkeys(q))
        query = tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(schema, "terms", t)) for t in words]
        )
        hits = se.search(query, n).hits
        return np.array([se.doc(addr)["row"][0] for _, addr in hits], dtype=np.int64)

    for q in queries[:20]:
        top(0, q, CHUNK_CANDIDATES)
        top(1, q, SENTENCE_CANDIDATES)
    find = []
    recall: list[tuple[float, float]] = []
    for q in queries:
        t0 = _clock()
        top_c = top(0, q, CHUNK_CANDIDATES)
        top_s = top(1, q, SENTENCE_CANDIDATES)
        find.append(_clock() - t0)
        if ref is not None:
            recall.append((_recall(ref[0], q, top_c, 10), _recall(ref[1], q, top_s, 20)))
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    r = np.array(recall) if recall else np.full((1, 2), np.nan)
    timing = _timing("tantivy", c, find, [float("nan")] * len(find), build, size / 1e6)
    return replace(
        timing,
        chunk_recall=round(float(np.nanmean(r[:, 0])), 4),
        sentence_recall=round(float(np.nanmean(r[:, 1])), 4),
    )


def _recall(ref: BM25Index, q: list[str], found: np.ndarray, k: int) -> float:
    """The share of the exact top ``k`` (rows scoring above zero; rows tied with the k-th
    all count as found if one is) that ``found`` holds; nan when no row scores."""
    want = ref.scores(q)
    n = min(k, int((want > 0).sum()))
    if n == 0:
        return float("nan")
    order = np.argsort(-want, kind="stable")
    cut = want[order[n - 1]]
    sure = np.flatnonzero(want > cut + 1e-4)  # above the k-th score
    tied = np.flatnonzero(np.abs(want - cut) <= 1e-4)
    got = set(found.tolist())
    hit = sum(int(r) in got for r in sure) + min(n - len(sure), sum(int(r) in got for r in tied))
    return hit / n


def _timing(
    engine: str,
    c: Corpus,
    find: list[float],
    score: list[float],
    build: float,
    size_mb: float,
    pruned: str = "",
) -> Timing:
    f, s = np.array(find) * 1000, np.array(score) * 1000
    t = f + s

    def ms(x: np.ndarray, p: int) -> float:
        return round(float(np.percentile(x, p)), 2)

    return Timing(
        engine,
        len(c.chunk_terms),
        len(c.sentence_terms),
        ms(f, 50),
        ms(f, 95),
        ms(s, 50),
        ms(s, 95),
        ms(t, 50),
        ms(t, 95),
        round(build, 1),
        round(size_mb, 1),
        pruned,
    )


def bbcqa_queries(path: Path, n: int, seed: int = 0) -> list[list[str]]:
    """Query terms of ``n`` seeded bbc-qa questions (those with at least one term)."""
    qs = [json.loads(line)["question"] for line in path.read_text().splitlines() if line]
    rng = np.random.default_rng(seed)
    picked = [qs[i] for i in rng.permutation(len(qs))]
    out = [t for t in (query_terms(q) for q in picked) if t]
    return out[:n]


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: time both engines at each size and print one JSON line per result."""
    ap = argparse.ArgumentParser(prog="python -m eval.lexical", description=__doc__.split("\n")[0])
    ap.add_argument("--chunks", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument(
        "--engines",
        nargs="+",
        default=["bm25s", "fts5"],
        choices=["bm25s", "fts5", "fts5-pruned", "fts5-unpruned", "tantivy"],
    )
    ap.add_argument("--out", type=Path, help="also write the results to this JSON file")
    args = ap.parse_args(argv)
    articles = bbc_sentences(args.data / "bbc-news")
    queries = bbcqa_queries(args.data / "bbc-qa" / "questions.jsonl", args.queries)
    results = []
    for n in args.chunks:
        c = make_corpus(articles, n)
        rng = np.random.default_rng(n)
        extra = [rng.choice(n, min(n, CHUNK_CANDIDATES), replace=False) for _ in queries]
        ref = None
        for engine in args.engines:
            if engine == "bm25s":
                r, ref = time_bm25s(c, queries, extra)
            elif engine == "tantivy":
                with tempfile.TemporaryDirectory(prefix="lexical-") as tmp:
                    r = time_tantivy(c, queries, Path(tmp), ref=ref)
            else:
                prune = {"fts5": None, "fts5-pruned": True, "fts5-unpruned": False}[engine]
                with tempfile.TemporaryDirectory(prefix="lexical-") as tmp:
                    r = time_fts5(c, queries, extra, Path(tmp), prune=prune, ref=ref)
            results.append(asdict(r))
            print(json.dumps(asdict(r)), flush=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
