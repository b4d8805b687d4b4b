"""Stage 4, index storage: the SQLite database and the vector segments an index folder holds.

Layout of an index folder (format 3)::

    store.sqlite         articles, chunks, entities, the sentence and chunk tables of every
                         segment, the acronym counts, near-duplicate copies and the LSH bands
                         that find them, and two FTS5 tables (the BM25 view of chunks and of
                         sentences); WAL mode, one transaction per ingest, delete or compaction
    .lock                held by the process writing the index
    segments/seg-000012/ one vector segment: chunks.faiss, sentences.faiss (FAISS indexes
                         whose ids are the global chunk and sentence rows) and chunks.npy,
                         sentences.npy (the same vectors in fp16, memory-mapped for exact
                         re-scoring of candidates)

Rows (article, chunk and sentence numbers) are assigned once, in increasing order, and never
reused: a FAISS id, an FTS5 rowid and a row of the in-memory arrays are the same number.
An ingest writes one new *delta* segment beside the others and commits everything else in one
SQLite transaction that also registers the segment; a delete removes rows from SQLite only
(their vectors stay in their segment, filtered out, until a compaction). A compaction folds
all segments into one *main* segment (an approximate IVF index above a size threshold, trained
there and only there) and swaps the segment list in one transaction.

The SQLite commit is the single commit point. A segment folder written by an ingest that died
before its commit is not listed in the database and is removed by the next writer; a segment
replaced by a compaction is removed after the commit. Readers see one consistent snapshot: a
reader holds a read transaction (WAL) from the moment it loads until it is refreshed, so
rows it was loaded with stay readable however writers change the index meanwhile.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from qa.acronyms import AcronymTable as AcronymTableLike

#: The format this version writes and reads.
FORMAT_VERSION = 3
DB_NAME = "store.sqlite"
SEGMENTS = "segments"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    row INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    content_hash TEXT NOT NULL,
    source TEXT NOT NULL,
    date TEXT NOT NULL,
    chunk_lo INTEGER NOT NULL, chunk_hi INTEGER NOT NULL,
    sent_lo INTEGER NOT NULL, sent_hi INTEGER NOT NULL,
    chunk_terms INTEGER NOT NULL, sent_terms INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    row INTEGER PRIMARY KEY, article_row INTEGER NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_id ON chunks(id);
CREATE TABLE IF NOT EXISTS entities (article_row INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS strings (code INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS segments (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, folder TEXT NOT NULL,
    chunk_lo INTEGER NOT NULL, chunk_hi INTEGER NOT NULL,
    sent_lo INTEGER NOT NULL, sent_hi INTEGER NOT NULL,
    article_lo INTEGER NOT NULL, article_hi INTEGER NOT NULL,
    faiss TEXT NOT NULL, arrays BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS acronym_counts (
    article_row INTEGER NOT NULL, kind INTEGER NOT NULL, key TEXT NOT NULL,
    value TEXT NOT NULL, n INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS acronym_counts_by_article ON acronym_counts(article_row);
CREATE TABLE IF NOT EXISTS acronym_totals (
    kind INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (kind, key, value)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS copies (id TEXT PRIMARY KEY, of_id TEXT NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS apart (a TEXT NOT NULL, b TEXT NOT NULL, PRIMARY KEY (a, b));
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_fts USING fts5(
    terms, tokenize="unicode61 remove_diacritics 0 tokenchars '_'"
);
CREATE VIRTUAL TABLE IF NOT EXISTS sentence_fts USING fts5(
    terms, tokenize="unicode61 remove_diacritics 0 tokenchars '_'"
);
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_vocab USING fts5vocab(chunk_fts, 'row');
CREATE VIRTUAL TABLE IF NOT EXISTS sentence_vocab USING fts5vocab(sentence_fts, 'row');
"""

#: Kinds of acronym counts (:class:`qa.acronyms.AcronymTable`'s three counters).
ACRONYM_PAIR, ACRONYM_SEEN, ACRONYM_UNBRIDGED = 0, 1, 2


def connect(path: Path, *, create: bool = False) -> sqlite3.Connection:
    """Open an index database in WAL mode, in autocommit mode (transactions are explicit).

    The connection may be used from several threads (the UI answers questions on a pool);
    callers serialise their own transactions.
    """
    if not create and not path.is_file():
        raise FileNotFoundError(path)
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=600.0)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=OFF")
    if create:
        from qa.duplicates import create_tables

        conn.executescript(_SCHEMA)
        conn.execute("BEGIN IMMEDIATE")
        create_tables(conn)
        conn.execute("COMMIT")
    return conn


def get_meta(conn: sqlite3.Connection) -> dict[str, Any]:
    """The ``meta`` table as a dict of JSON values."""
    return {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM meta")}


def put_meta(conn: sqlite3.Connection, values: dict[str, Any]) -> None:
    """Write ``meta`` keys (inside the caller's transaction)."""
    conn.executemany(
        "INSERT INTO meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [(k, json.dumps(v)) for k, v in values.items()],
    )


# ---- segment arrays ---------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentArrays:
    """The row structure of one segment, kept in SQLite beside its vectors' folder.

    Attributes:
        chunk_article: Article row of each chunk row ``chunk_lo..chunk_hi``.
        chunk_sent_offsets: Offsets into ``chunk_sent_flat`` (length chunks + 1, from 0).
        chunk_sent_flat: Global sentence rows of each chunk, in order.
        sentences: ``(article row, start, end)`` of each sentence row ``sent_lo..sent_hi``.
        furniture: Whether each sentence overlaps page furniture.
    """

    chunk_article: np.ndarray
    chunk_sent_offsets: np.ndarray
    chunk_sent_flat: np.ndarray
    sentences: np.ndarray
    furniture: np.ndarray

    def to_blob(self) -> bytes:
        """The arrays as one ``.npz`` blob."""
        import io

        buf = io.BytesIO()
        np.savez(buf, **{k: getattr(self, k) for k in self.__dataclass_fields__})
        return buf.getvalue()

    @classmethod
    def from_blob(cls, blob: bytes) -> SegmentArrays:
        """Read :meth:`to_blob` output."""
        import io

        with np.load(io.BytesIO(blob)) as z:
            return cls(**{k: z[k] for k in cls.__dataclass_fields__})

    @classmethod
    def concat(cls, parts: Sequence[SegmentArrays]) -> SegmentArrays:
        """Join the arrays of consecutive segments (rows in order)."""
        if not parts:
            return cls.empty()
        offsets = [np.zeros(1, dtype=np.int64)]
        base = 0
        for p in parts:
            offsets.append(p.chunk_sent_offsets[1:] + base)
            base += int(p.chunk_sent_offsets[-1])
        return cls(
            np.concatenate([p.chunk_article for p in parts]).astype(np.int64),
            np.concatenate(offsets).astype(np.int64),
            np.concatenate([p.chunk_sent_flat for p in parts]).astype(np.int64),
            np.vstack([p.sentences for p in parts]).astype(np.int64).reshape(-1, 3),
            np.concatenate([p.furniture for p in parts]).astype(bool),
        )

    @classmethod
    def empty(cls) -> SegmentArrays:
        """No rows."""
        return cls(
            np.zeros(0, dtype=np.int64),
            np.zeros(1, dtype=np.int64),
            np.zeros(0, dtype=np.int64),
            np.zeros((0, 3), dtype=np.int64),
            np.zeros(0, dtype=bool),
        )


@dataclass(frozen=True)
class Segment:
    """One row of the ``segments`` table.

    Attributes:
        id: Its number (folder ``segments/seg-{id:06d}``).
        kind: ``main`` (made by a compaction) or ``delta`` (made by an ingest).
        folder: The folder name under ``segments/``.
        chunk_lo, chunk_hi: The chunk rows it holds (half-open).
        sent_lo, sent_hi: The sentence rows it holds.
        article_lo, article_hi: The article rows it holds.
        faiss: The FAISS index type of its vectors (``flat`` or ``ivf``).
    """

    id: int
    kind: str
    folder: str
    chunk_lo: int
    chunk_hi: int
    sent_lo: int
    sent_hi: int
    article_lo: int
    article_hi: int
    faiss: str


def list_segments(conn: sqlite3.Connection) -> list[Segment]:
    """Every segment (without its arrays), in row order."""
    rows = conn.execute(
        "SELECT id, kind, folder, chunk_lo, chunk_hi, sent_lo, sent_hi, article_lo, "
        "article_hi, faiss FROM segments ORDER BY chunk_lo, sent_lo, id"
    ).fetchall()
    return [Segment(*r) for r in rows]


def read_segments(conn: sqlite3.Connection) -> list[tuple[Segment, bytes]]:
    """Every segment with its arrays blob, in row order."""
    rows = conn.execute(
        "SELECT id, kind, folder, chunk_lo, chunk_hi, sent_lo, sent_hi, article_lo, "
        "article_hi, faiss, arrays FROM segments ORDER BY chunk_lo, sent_lo, id"
    ).fetchall()
    return [(Segment(*r[:10]), r[10]) for r in rows]


# ---- vectors ----------------------------------------------------------------------------


class RowFile:
    """The rows of a 2-d ``.npy`` file, read on demand with ``os.pread``.

    Not a memory map: rows read that way are counted in the process's memory, and the
    kernel's read-ahead around each page fault pulled in far more than the rows asked for
    (2.9 GB of a 1M-chunk index's vectors after 40 questions). Runs of consecutive rows
    (the sentences of a chunk) are read in one call.

    Raises:
        ValueError: The file is not a whole 2-d array (truncated, or not an .npy file).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        with open(self.path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            self._offset = f.tell()
        if fortran or len(shape) != 2:
            raise ValueError(f"{self.path} is not a 2-d C-order array")
        self.shape: tuple[int, int] = (int(shape[0]), int(shape[1]))
        self.dtype = np.dtype(dtype)
        self._row = self.dtype.itemsize * self.shape[1]
        size = self.path.stat().st_size
        if size < self._offset + self._row * self.shape[0]:
            raise ValueError(f"{self.path} is truncated ({size} bytes for {self.shape[0]} rows)")
        self._fd = os.open(self.path, os.O_RDONLY)

    def __len__(self) -> int:
        return self.shape[0]

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)

    def _read(self, first: int, count: int) -> np.ndarray:
        data = os.pread(self._fd, count * self._row, self._offset + first * self._row)
        if len(data) != count * self._row:
            raise ValueError(f"{self.path} is truncated")
        return np.frombuffer(data, dtype=self.dtype).reshape(count, self.shape[1])

    def __getitem__(self, rows: Any) -> np.ndarray:
        if isinstance(rows, slice):
            start, stop, step = rows.indices(self.shape[0])
            if step != 1:
                raise ValueError("RowFile slices take every row")
            return self._read(start, max(0, stop - start))
        idx = np.atleast_1d(np.asarray(rows, dtype=np.int64))
        out = np.empty((len(idx), self.shape[1]), dtype=self.dtype)
        if not len(idx):
            return out
        if (idx < 0).any() or (idx >= self.shape[0]).any():
            raise IndexError(f"row out of range in {self.path}")
        order = np.argsort(idx, kind="stable")
        srt = idx[order]
        breaks = np.flatnonzero(np.diff(srt) != 1) + 1
        for lo, hi in zip(np.r_[0, breaks], np.r_[breaks, len(srt)]):
            block = self._read(int(srt[lo]), int(srt[hi - 1] - srt[lo] + 1))
            out[order[lo:hi]] = block[srt[lo:hi] - srt[lo]]
        return out


class VectorSet:
    """The vectors of one kind (chunks or sentences) over all segments, by global row.

    Rows are read from the segments' fp16 files (:class:`RowFile`) and returned as
    float32. ``vs[rows]`` accepts an int or an array of rows.
    """

    def __init__(self, parts: Sequence[tuple[int, RowFile | np.ndarray]], dim: int) -> None:
        self._parts = [(lo, arr) for lo, arr in parts if len(arr)]
        self._los = np.array([lo for lo, _ in self._parts], dtype=np.int64)
        self._his = np.array([lo + len(a) for lo, a in self._parts], dtype=np.int64)
        self.dim = dim
        self.shape = (int(self._his.max()) if len(self._his) else 0, dim)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: Any) -> np.ndarray:
        if isinstance(rows, (int, np.integer)):
            return self.take(np.array([int(rows)]))[0]
        return self.take(np.asarray(rows, dtype=np.int64))

    def take(self, rows: np.ndarray) -> np.ndarray:
        """The vectors of ``rows`` as float32, shape (len(rows), dim).

        Raises:
            IndexError: A row is in no segment.
        """
        out = np.empty((len(rows), self.dim), dtype=np.float32)
        if not len(rows):
            return out
        seg = np.searchsorted(self._los, rows, side="right") - 1
        if (seg < 0).any() or (rows >= self._his[np.maximum(seg, 0)]).any():
            raise IndexError("a vector row is in no segment of the index")
        for s in np.unique(seg):
            lo, arr = self._parts[int(s)]
            pick = np.flatnonzero(seg == s)
            out[pick] = arr[rows[pick] - lo]
        return out


def faiss_index(
    vectors: np.ndarray, ids: np.ndarray, kind: str, *, nlist: int = 0, seed: int = 13
) -> Any:
    """A FAISS inner-product index of unit vectors with explicit ids (the global rows).

    ``flat``: exact search over fp16 codes (IndexIDMap2 around an fp16 scalar quantizer:
    half the memory of fp32 for the same ranking). ``ivf``: an inverted file of ``nlist``
    lists over 8-bit scalar-quantised codes, trained here on up to 64 vectors per list.
    """
    import faiss

    dim = vectors.shape[1]
    if kind == "ivf":
        return ivf_index(vectors, np.arange(len(vectors)), 0, ids=ids, nlist=nlist, seed=seed)
    inner = faiss.IndexScalarQuantizer(
        dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
    )
    index = faiss.IndexIDMap2(inner)
    if len(vectors):
        index.add_with_ids(
            np.ascontiguousarray(vectors, dtype=np.float32),
            np.ascontiguousarray(ids, dtype=np.int64),
        )
    return index


#: Above this many vectors an IVF index stores product-quantised codes, not 8-bit ones
#: (8-bit codes measured at 5.1M sentence vectors, a 1M-chunk index: a serving process
#: peaks at 3.4 GB, recall@10 0.97; beyond that, memory rather than recall decides).
PQ_ABOVE = 10_000_000


def ivf_index(
    arr: np.ndarray | RowFile,
    live: np.ndarray,
    lo: int,
    *,
    ids: np.ndarray | None = None,
    nlist: int = 0,
    seed: int = 13,
) -> Any:
    """An IVF index over 8-bit scalar-quantised codes of the rows ``live`` of ``arr`` (fp16
    or fp32, possibly memory-mapped: it is read in batches, never whole as float32), with
    ids ``live + lo`` (or ``ids``). Trained on up to 64 sampled vectors per list; ``nlist``
    defaults to ``4 * sqrt(n)``; searches probe up to 64 lists. Above :data:`PQ_ABOVE`
    vectors the codes are product-quantised (``dim / 8`` bytes each).
    """
    import faiss

    n, dim = len(live), arr.shape[1]
    # 4 sqrt(n) lists, but at least 39 training vectors per list (FAISS's k-means minimum)
    nlist = max(1, nlist or min(int(4 * np.sqrt(n)), n // 39))
    rng = np.random.default_rng(seed)
    n_train = min(n, 64 * nlist)
    sample = np.asarray(arr[np.sort(rng.choice(live, n_train, replace=False))], dtype=np.float32)
    quantizer = faiss.IndexFlatIP(dim)
    index: Any
    if n > PQ_ABOVE and dim % 8 == 0:
        # product quantisation, dim / 8 bytes a vector: a 1M-chunk index has 5M sentence
        # vectors, 1.9 GB as 8-bit codes; candidates are re-scored on the fp16 rows anyway
        index = faiss.IndexIVFPQ(quantizer, dim, nlist, dim // 8, 8, faiss.METRIC_INNER_PRODUCT)
    else:
        index = faiss.IndexIVFScalarQuantizer(
            quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
    index.train(sample)
    index.nprobe = max(1, min(nlist, 64))
    all_ids = (live + lo).astype(np.int64) if ids is None else np.asarray(ids, dtype=np.int64)
    step = 100_000
    for i in range(0, n, step):
        index.add_with_ids(
            np.ascontiguousarray(arr[live[i : i + step]], dtype=np.float32), all_ids[i : i + step]
        )
    return index


def write_vectors(
    folder: Path, chunk_vecs: np.ndarray, sent_vecs: np.ndarray, chunk_index: Any, sent_index: Any
) -> int:
    """Write a segment's files into ``folder`` (which must not exist yet: it is written as
    ``.{name}.tmp``, synced, then renamed). Returns the bytes written."""
    import faiss

    tmp = folder.parent / f".{folder.name}.tmp"
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    np.save(tmp / "chunks.npy", np.ascontiguousarray(chunk_vecs, dtype=np.float16))
    np.save(tmp / "sentences.npy", np.ascontiguousarray(sent_vecs, dtype=np.float16))
    faiss.write_index(chunk_index, str(tmp / "chunks.faiss"))
    faiss.write_index(sent_index, str(tmp / "sentences.faiss"))
    total = 0
    for p in tmp.iterdir():
        total += p.stat().st_size
        with open(p, "rb") as f:
            os.fsync(f.fileno())
    fsync_dir(tmp)
    os.replace(tmp, folder)
    fsync_dir(folder.parent)
    return total


def fsync_dir(folder: Path) -> None:
    """Make a folder's entries durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---- lexical ----------------------------------------------------------------------------


class Lexical:
    """BM25 over the chunk or sentence FTS5 table, scored as bm25s scores (k1 1.2, b 0.75,
    Lucene idf ``ln(1 + (N - df + 0.5) / (df + 0.5))``) so that fusion weights fitted on
    bm25s keep their meaning.

    FTS5 finds the candidates (its own BM25 ranking, over the query's rarer words when the
    table is large); every score returned is then computed exactly from the stored terms of
    the rows, the document frequencies (FTS5's vocabulary table) and the collection's
    length statistics, which each write keeps in ``meta``.
    """

    K1 = 1.2
    B = 0.75
    #: Above this many rows, words in more than :data:`COMMON_SHARE` of them do not take
    #: part in finding candidates (they still count in every score).
    LARGE = 20_000
    COMMON_SHARE = 0.02
    #: ... and neither do words in more than this many rows (FTS5 scores every row that
    #: holds a word it is given before it keeps the best: at 5M sentence rows, 2% is 100k).
    MAX_MATCHES = 20_000

    def __init__(self, conn: sqlite3.Connection, table: str, n_docs: int, total_len: int) -> None:
        self._conn = conn
        self._table = table
        self._vocab = "chunk_vocab" if table == "chunk_fts" else "sentence_vocab"
        self.size = int(n_docs)
        self._avgdl = total_len / n_docs if n_docs else 1.0
        self._df: dict[str, int] = {}

    def df(self, term: str) -> int:
        """How many rows contain the term."""
        if term not in self._df:
            got = self._conn.execute(
                f"SELECT doc FROM {self._vocab} WHERE term = ?", (fts_form(term),)
            ).fetchone()
            self._df[term] = int(got[0]) if got else 0
        return self._df[term]

    def knows(self, term: str) -> bool:
        """Whether any indexed text contains the term."""
        return self.df(term) > 0

    def idf(self, term: str) -> float:
        """BM25's inverse document frequency of a term; unknown terms get the rarest value."""
        n = self.size
        if n == 0:
            return 0.0
        df = self.df(term)
        return float(np.log(1 + (n - df + 0.5) / (df + 0.5)))

    def top(self, query_terms: Sequence[str], n: int) -> np.ndarray:
        """Rows of the (about) ``n`` best BM25 matches, best first (empty if none match)."""
        known = [t for t in dict.fromkeys(query_terms) if self.knows(t)]
        if not known or n <= 0:
            return np.zeros(0, dtype=np.int64)
        if self.size > self.LARGE:
            most = min(self.COMMON_SHARE * self.size, self.MAX_MATCHES)
            rare = [t for t in known if self.df(t) <= most]
            known = rare or sorted(known, key=self.df)[:2]
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in known)
        rows = self._conn.execute(
            f"SELECT rowid FROM {self._table} WHERE {self._table} MATCH ? ORDER BY rank LIMIT ?",
            (match, int(n)),
        ).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def terms_of(self, rows: Iterable[int]) -> dict[int, list[str]]:
        """The stored terms of rows (rows not in the table are left out)."""
        rows = [int(r) for r in rows]
        out: dict[int, list[str]] = {}
        for i in range(0, len(rows), 500):
            part = rows[i : i + 500]
            marks = ",".join("?" * len(part))
            for row, text in self._conn.execute(
                f"SELECT rowid, terms FROM {self._table} WHERE rowid IN ({marks})", part
            ):
                out[int(row)] = text.split()
        return out

    def score_rows(
        self,
        query_terms: Sequence[str],
        rows: np.ndarray,
        terms: dict[int, list[str]] | None = None,
    ) -> np.ndarray:
        """The BM25 score of each row for the query terms (a repeated term counts again)."""
        out = np.zeros(len(rows), dtype=np.float32)
        known = [t for t in query_terms if self.knows(t)]
        if not known or not len(rows):
            return out
        got = terms if terms is not None else self.terms_of(rows)
        # a query term said twice counts twice: weight each distinct term by its count
        weight = {t: self.idf(t) * n for t, n in Counter(known).items()}
        k1, b, avg = self.K1, self.B, self._avgdl
        for i, r in enumerate(rows.tolist()):
            words = got.get(int(r))
            if not words:
                continue
            norm = k1 * ((1 - b) + b * len(words) / avg)
            s = 0.0
            for t, w in weight.items():
                tf = words.count(t)  # a C loop over the row's ~20 terms
                if tf:
                    s += w * tf / (norm + tf)
            out[i] = s
        return out


def terms_text(terms: Sequence[str]) -> str:
    """How a row's terms are stored in its FTS5 table."""
    return " ".join(terms)


def fts_form(term: str) -> str:
    """A term as FTS5's unicode61 tokenizer keeps it in the vocabulary: it case-folds letters
    that Python's ``lower()`` leaves as they are (final sigma to sigma, the micro sign to mu),
    so the vocabulary is looked up with the folded form (the stored text keeps the term)."""
    if term.isascii():
        return term
    return "".join(f if len(f := c.casefold()) == 1 else c for c in term)


# ---- the seam ---------------------------------------------------------------------------


class RowSequence(Protocol):
    """Rows read by number (``index.articles[row]``, ``index.chunks[row]``)."""

    def __getitem__(self, row: int) -> Any: ...

    def __len__(self) -> int: ...


class IndexReader(Protocol):
    """What retrieval (:mod:`qa.retrieval`), the answer stage (:mod:`qa.answer`) and
    citation checks (:mod:`qa.cite`) read from an index: the one interface a second storage
    backend (``docs/scaling.md``) implements. :class:`qa.index.ArticleIndex` is the SQLite
    and FAISS implementation.

    Rows are stable integers; arrays are indexed by row and cover dead rows too
    (``article_alive``, ``chunk_alive`` say which are live).
    """

    @property
    def articles(self) -> RowSequence: ...

    @property
    def chunks(self) -> RowSequence: ...

    @property
    def article_row(self) -> dict[str, int]: ...

    @property
    def acronyms(self) -> AcronymTableLike: ...

    @property
    def bm25_chunks(self) -> Lexical: ...

    @property
    def bm25_sentences(self) -> Lexical: ...

    def __len__(self) -> int: ...

    @property
    def sentences(self) -> np.ndarray: ...

    @property
    def chunk_article(self) -> np.ndarray: ...

    @property
    def chunk_sent_offsets(self) -> np.ndarray: ...

    @property
    def chunk_sent_flat(self) -> np.ndarray: ...

    @property
    def sentence_chunk(self) -> np.ndarray: ...

    @property
    def chunk_vectors(self) -> VectorSet: ...

    @property
    def sentence_vectors(self) -> VectorSet: ...

    @property
    def article_alive(self) -> np.ndarray: ...

    @property
    def chunk_alive(self) -> np.ndarray: ...

    def article(self, article_id: str) -> Any: ...

    def article_rows(self) -> list[int]: ...

    def article_meta(self, row: int) -> tuple[str, str, str]: ...

    def article_sentence_rows(self, row: int) -> range: ...

    def chunk_rows(self, chunk_ids: Sequence[str]) -> list[int | None]: ...

    def sentences_of_chunk(self, row: int) -> np.ndarray: ...

    def sentence_text(self, row: int) -> str: ...

    def sentence_entities(self, row: int) -> list[Any]: ...

    def is_furniture(self, row: int) -> bool: ...

    def search_chunks(self, qvec: np.ndarray, n: int) -> np.ndarray: ...

    def search_sentences(self, qvec: np.ndarray, n: int) -> np.ndarray: ...
