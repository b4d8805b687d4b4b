"""The pipeline in one object: ingest, retrieve, answer, with the model and index loaded once.

:class:`QA` is what the CLI, the UI and the evaluation scripts use. The module-level
functions in :mod:`qa` (``qa.retrieve``, ``qa.ask``) call a shared instance built from the
environment's settings.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from embeddings import EmbeddingModel, load_model
from qa import duplicates
from qa.answer import abstain, answer_extractive
from qa.answer_types import Answer
from qa.articles import Article, load_paths
from qa.cite import CitationCheck
from qa.errors import BadInputError, IndexNotFoundError, LLMError
from qa.index import ArticleIndex, CompactReport, IngestReport
from qa.retrieval import Filters, Passage, SearchResult, search
from qa.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestResult:
    """What :meth:`QA.ingest` did.

    Attributes:
        report: Articles added, replaced and unchanged, and chunk counts.
        errors: One message per file, record, URL or feed entry that could not be read
            (file and line, URL or entry named); the others were ingested.
        files: Files and URLs looked at.
        skipped: One line per feed entry skipped as already indexed, saying why.
        entries: Feed entries read.
    """

    report: IngestReport
    errors: list[str] = field(default_factory=list)
    files: int = 0
    skipped: list[str] = field(default_factory=list)
    entries: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-serialisable values."""
        return {
            "files": self.files,
            "errors": list(self.errors),
            "entries": self.entries,
            "skipped": list(self.skipped),
            **self.report.to_dict(),
        }


@dataclass(frozen=True)
class DuplicateGroup:
    """An indexed article and the near-duplicate copies kept with it (not indexed).

    Attributes:
        article: The indexed article (the one cited).
        copies: Its copies: other outlets' versions of the same story.
    """

    article: Article
    copies: list[duplicates.Copy]

    def to_dict(self) -> dict[str, Any]:
        """Return the group as JSON-serialisable values (copies without their text)."""
        a = self.article
        return {
            "article": {"id": a.id, "title": a.title, "source": a.source, "url": a.url},
            "copies": [c.ref().to_dict() for c in self.copies],
        }


class QA:
    """article-qa's pipeline over one index folder.

    Cheap to construct; the embedding model and the index load on first use (or
    :meth:`warm_up`). Thread-safe: searches run concurrently, writes are serialised.

    Example:
        >>> engine = QA(Settings.from_env())
        >>> engine.ask("How long does the SDF expect the fight to last?").short
        'between two and three months'
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self._index: ArticleIndex | None = None
        self._lock = threading.RLock()
        self._write_lock = threading.Lock()

    # ---- loading ----------------------------------------------------------------------

    @property
    def model(self) -> EmbeddingModel:
        """The embedding model (loaded once per process)."""
        # the onnx export is kept per user (embeddings.onnx_backend.default_cache_dir), not
        # per data folder: it depends only on the installed model and this CPU
        return load_model(self.settings.model, self.settings.backend)

    @property
    def index(self) -> ArticleIndex:
        """The index, loaded on first use; built from the seed articles when none exists."""
        idx = self._index
        if idx is not None:
            return idx
        with self._lock:
            if self._index is None:
                self._index = self._open_index(create_from_seeds=True)
            return self._index

    def warm_up(self) -> None:
        """Load the model and the index now rather than on the first question."""
        _ = self.index
        self.model.encode_queries(["warm up"])

    def _open_index(self, create_from_seeds: bool) -> ArticleIndex:
        path = self.settings.index_path
        if ArticleIndex.exists(path):
            return ArticleIndex.load(path, model_id=self.model.model_id)
        idx = self._empty_index()
        if create_from_seeds:
            seeds = self.settings.seeds_dir
            if not seeds.is_dir():
                raise IndexNotFoundError(
                    f"no index in {path} and no seed folder at {seeds}; add articles with "
                    "`qa ingest PATH...`"
                )
            log.info("no index in %s: indexing the seed articles in %s", path, seeds)
            loaded = load_paths([seeds], max_bytes=int(self.settings.max_file_mb * 1e6))
            idx.add(loaded.articles, self.model)
        return idx

    def _empty_index(self) -> ArticleIndex:
        m = self.model
        s = self.settings
        return ArticleIndex.create(
            s.index_path,
            model_id=m.model_id,
            dimension=m.dimension,
            chunk_tokens=s.chunk_tokens,
            chunk_overlap=s.chunk_overlap,
            index_type=s.index_type,
            hnsw_threshold=s.hnsw_threshold,
        )

    def reload(self) -> None:
        """Drop the in-memory index so the next call reads the folder again."""
        with self._lock:
            self._index = None

    # ---- ingest -----------------------------------------------------------------------

    def ingest(
        self,
        paths: Sequence[str | os.PathLike[str]] = (),
        *,
        feeds: Sequence[str] = (),
        show_progress: bool = False,
    ) -> IngestResult:
        """Read articles from files, folders, URLs, files of URLs and feeds; add them to the index.

        A ``http(s)://`` URL is fetched (``fetch_timeout``, ``fetch_max_redirects`` and
        ``max_file_mb`` apply) and read as an HTML page; a file named directly that lists
        only URLs, one a line, has each fetched (see :func:`qa.fetch.load_sources`). Each
        feed URL (RSS or Atom) has its new and changed entries read; entries already
        indexed are skipped without being fetched (see :func:`qa.feeds.load_feed`). One bad
        file, URL or entry never stops the others: its error is in ``IngestResult.errors``.

        Example:
            >>> QA().ingest(["notes/story.txt", "https://example.org/news/1.html"]).errors
            []
            >>> QA().ingest(feeds=["https://example.org/rss.xml"]).skipped
            []
        """
        from qa.fetch import load_sources

        s = self.settings
        opts: dict[str, Any] = {
            "timeout": s.fetch_timeout,
            "max_bytes": int(s.max_file_mb * 1e6),
            "max_redirects": s.fetch_max_redirects,
        }
        loaded = load_sources(paths, **opts) if paths else None
        articles = list(loaded.articles) if loaded else []
        errs = list(loaded.errors) if loaded else []
        files = loaded.files if loaded else 0
        skipped: list[str] = []
        entries = 0
        if feeds:
            from qa.feeds import load_feed

            path = s.index_path
            indexed: list[Article] = (
                list(ArticleIndex.load(path, model_id=self.model.model_id).articles)
                if ArticleIndex.exists(path)
                else []
            )
            for url in feeds:
                got = load_feed(url, indexed=[*indexed, *articles], **opts)
                articles.extend(got.articles)
                errs.extend(got.errors)
                skipped.extend(got.skipped)
                entries += got.entries
                files += 1
        errors = [str(e) for e in errs]
        for e in errs:  # the caller reports them (the CLI prints each once)
            log.info("skipped: %s", e)
        report = self.add_articles(articles, show_progress=show_progress)
        return IngestResult(
            report=report, errors=errors, files=files, skipped=skipped, entries=entries
        )

    def add_articles(
        self,
        articles: Sequence[Article],
        *,
        show_progress: bool = False,
        group_copies: bool = True,
    ) -> IngestReport:
        """Add already-parsed articles to the index (saved atomically).

        Args:
            articles: The articles.
            show_progress: Show progress bars.
            group_copies: Keep near-duplicate copies of indexed (or earlier) articles with
                the article they copy instead of indexing them (:mod:`qa.duplicates`);
                their ids are in ``IngestReport.copies``, as are those of copies already
                kept with the same content (nothing is written for them).
        """
        # Writers work on their own copy of the index and swap it in when it is saved, so
        # questions asked meanwhile are answered from the previous, consistent index.
        with self._write_lock:
            path = self.settings.index_path
            work = (
                ArticleIndex.load(path, model_id=self.model.model_id)
                if ArticleIndex.exists(path)
                else self._empty_index()
            )
            work.reuse_loaded(self._index)
            todo, copies, kept_copies = list(articles), [], []
            # copies are found and written under one hold of the folder's lock: two ingests
            # holding copies of each other's articles group them, not index both
            with work.write_lock():
                work.refresh()
                if group_copies and todo:
                    known = {c.article.id: c.article.content_hash for c in work.copies}
                    kept_copies = [a.id for a in todo if known.get(a.id) == a.content_hash]
                    fresh = [a for a in todo if known.get(a.id) != a.content_hash]
                    found = work.find_copies(fresh)
                    todo, copies = found.unique, found.copies
                report = work.add(todo, self.model, show_progress=show_progress, copies=copies)
            self._index = work
            if kept_copies:
                report = replace(report, copies=report.copies + kept_copies)
            return report

    def duplicate_groups(self) -> list[DuplicateGroup]:
        """The indexed articles that have near-duplicate copies, each with its copies.

        Example:
            >>> [(g.article.source, [c.article.source for c in g.copies])
            ...  for g in QA().duplicate_groups()]
            [('Portland Daily', ['Regional Wire'])]
        """
        idx = self.index
        groups: dict[str, list[duplicates.Copy]] = {}
        for c in idx.copies:
            if c.of in idx.article_row:
                groups.setdefault(c.of, []).append(c)
        return [DuplicateGroup(idx.article(k), v) for k, v in groups.items()]

    def separate(self, copy_id: str, *, show_progress: bool = False) -> IngestReport:
        """Undo a grouping: index a kept copy as an article of its own, and never group the
        two again.

        Raises:
            BadInputError: No kept copy has that id.
        """
        with self._write_lock:
            path = self.settings.index_path
            if not ArticleIndex.exists(path):
                raise BadInputError(f"no near-duplicate copy with id {copy_id!r}: no index")
            work = ArticleIndex.load(path, model_id=self.model.model_id)
            work.reuse_loaded(self._index)
            copy = next((c for c in work.copies if c.article.id == copy_id), None)
            if copy is None:
                ids = ", ".join(c.article.id for c in work.copies) or "none"
                raise BadInputError(
                    f"no near-duplicate copy with id {copy_id!r} (copies kept: {ids})"
                )
            report = work.add(
                [copy.article],
                self.model,
                show_progress=show_progress,
                separate=[copy_id],
                apart=[(copy.of, copy_id)],
            )
            self._index = work
            return report

    def _with_copies(self, answer: Answer) -> Answer:
        """List, on each citation, the other outlets that ran the cited story."""
        idx = self.index
        if not idx.copies or not answer.citations:
            return answer
        cites = [
            replace(c, also_in=tuple(x.ref() for x in idx.copies_of(c.article_id)))
            if idx.copies_of(c.article_id)
            else c
            for c in answer.citations
        ]
        return replace(answer, citations=cites)

    def delete(self, article_ids: Sequence[str]) -> list[str]:
        """Remove articles from the index; returns the ids that were there."""
        with self._write_lock:
            path = self.settings.index_path
            if not ArticleIndex.exists(path):
                return []
            work = ArticleIndex.load(path, model_id=self.model.model_id)
            work.reuse_loaded(self._index)
            gone = work.delete(article_ids)
            self._index = work
            return gone

    def compact(self) -> CompactReport:
        """Fold the index's vector segments into one (see :meth:`ArticleIndex.compact`).

        Raises:
            IndexNotFoundError: There is no index.
        """
        with self._write_lock:
            path = self.settings.index_path
            if not ArticleIndex.exists(path):
                raise IndexNotFoundError(f"no index in {path}; nothing to compact")
            work = ArticleIndex.load(path, model_id=self.model.model_id)
            work.reuse_loaded(self._index)
            report = work.compact()
            self._index = work
            return report

    # ---- questions --------------------------------------------------------------------

    def _check_question(self, question: str) -> tuple[str, list[str]]:
        if not isinstance(question, str) or not question.strip():
            raise BadInputError("the question is empty; type a question about the articles")
        notes = []
        limit = self.settings.max_question_chars
        q = " ".join(question.split())
        if len(q) > limit:
            q = q[:limit]
            notes.append(
                f"The question was {len(question)} characters long; only its first "
                f"{limit} were used."
            )
        return q, notes

    def search(
        self,
        question: str,
        *,
        k: int | None = None,
        history: list[dict[str, str]] | None = None,
        filters: Filters | None = None,
    ) -> SearchResult:
        """Retrieve passages with everything :func:`qa.retrieval.search` reports."""
        q, _ = self._check_question(question)
        s = self.settings
        return search(
            self.index,
            self.model,
            q,
            k=k or s.k,
            mode=s.retrieval,
            history=_clean_history(history),
            expand_acronyms=s.expand_acronyms,
            max_per_article=s.max_per_article,
            filters=filters,
        )

    def retrieve(
        self,
        question: str,
        k: int | None = None,
        *,
        history: list[dict[str, str]] | None = None,
        filters: Filters | None = None,
    ) -> list[Passage]:
        """The ``k`` passages that best answer the question, best first."""
        return self.search(question, k=k, history=history, filters=filters).passages

    def ask(
        self,
        question: str,
        history: list[dict[str, str]] | None = None,
        *,
        k: int | None = None,
        mode: str | None = None,
        filters: Filters | None = None,
    ) -> Answer:
        """Answer a question with citations (see :func:`qa.ask`)."""
        answer: Answer | None = None
        for item in self.ask_stream(question, history, k=k, mode=mode, filters=filters):
            if isinstance(item, Answer):
                answer = item
        assert answer is not None
        return answer

    def _search_dated(
        self,
        q: str,
        k: int | None,
        history: list[dict[str, str]] | None,
        filters: Filters | None,
        notes: list[str],
    ) -> SearchResult:
        """Search, limited to the days the question names ("last week", "since Monday")
        unless the caller set dates; the note says which dates were searched. When no
        article is dated then, all dates are searched and the note says so."""
        from qa.dates import question_dates

        f = filters or Filters()
        named = None if (f.date_from or f.date_to) else question_dates(q)
        if named is None:
            return self.search(q, k=k, history=history, filters=filters)
        dated = replace(f, date_from=named.date_from, date_to=named.date_to)
        result = self.search(q, k=k, history=history, filters=dated)
        if result.passages:
            notes.append(f"Searched the articles dated {named.span()} (“{named.phrase}”).")
            return result
        notes.append(f"No article is dated {named.span()} (“{named.phrase}”); searched all dates.")
        return self.search(q, k=k, history=history, filters=filters)

    def ask_stream(
        self,
        question: str,
        history: list[dict[str, str]] | None = None,
        *,
        k: int | None = None,
        mode: str | None = None,
        filters: Filters | None = None,
    ) -> Iterator[str | Answer]:
        """Answer a question, yielding text deltas (LLM mode) and finally the :class:`Answer`."""
        q, notes = self._check_question(question)
        mode = mode or self.settings.answer_mode
        if mode not in ("extractive", "llm"):
            raise BadInputError(f"answer mode must be extractive or llm, got {mode!r}")
        result = self._search_dated(q, k, history, filters, notes)
        answer: Answer | None = None
        generation: CitationCheck | None = None
        if mode == "llm":
            if not self.settings.llm_available:
                notes.append("No LLM is configured (set QA_LLM_MODEL); answered extractively.")
            else:
                try:
                    from qa.llm import LLMAnswerer

                    llm = LLMAnswerer(self.settings)
                    for item in llm.stream(
                        q, result, self.index, history=_clean_history(history), model=self.model
                    ):
                        if isinstance(item, Answer):
                            answer = item
                        else:
                            yield item
                except LLMError as e:
                    # an unsupported reply (qa.llm.UnsupportedAnswerError) says so itself
                    # and keeps its check for the evaluation; it is no failure of the server
                    generation = getattr(e, "check", None)
                    log.log(
                        logging.INFO if generation is not None else logging.WARNING,
                        "LLM answer not used, falling back to the extractive answer: %s",
                        e,
                    )
                    notes.append(
                        str(e)
                        if generation is not None
                        else f"The LLM failed ({e}); this is the extractive answer."
                    )
                    answer = None
        if answer is None:
            if not self.index.chunks:
                answer = abstain(q, result, reason="The index holds no articles; add some.")
            else:
                answer = answer_extractive(
                    q, result, self.index, threshold=self.settings.abstain_threshold
                )
        answer = self._with_copies(answer)
        if notes:
            answer = replace(answer, notes=notes + list(answer.notes))
        if generation is not None and answer.generation is None:
            answer = replace(answer, generation=generation)
        yield answer

    def article(self, article_id: str) -> Article:
        """An indexed article by id.

        Raises:
            BadInputError: No article has that id.
        """
        try:
            return self.index.article(article_id)
        except KeyError:
            raise BadInputError(f"no article with id {article_id!r} in the index") from None


def _clean_history(history: list[dict[str, str]] | None) -> list[dict[str, str]]:
    """Accept Gradio/OpenAI chat messages; keep role and text content only."""
    out: list[dict[str, str]] = []
    for m in history or []:
        if not isinstance(m, dict):
            raise BadInputError(
                f"history entries must be {{'role', 'content'}} dicts, got {type(m).__name__}"
            )
        role = m.get("role")
        content = m.get("content")
        if isinstance(content, list):  # Gradio 5+ may send [{"type": "text", "text": ...}]
            content = " ".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
        if role in ("user", "assistant") and isinstance(content, str):
            out.append({"role": role, "content": content})
    return out


_engines: dict[Path, QA] = {}
_engines_lock = threading.Lock()


def default_engine(settings: Settings | None = None) -> QA:
    """The shared :class:`QA` for these settings' index folder (one per folder)."""
    s = settings or Settings.from_env()
    with _engines_lock:
        eng = _engines.get(s.index_path)
        if eng is None or eng.settings != s:
            eng = QA(s)
            _engines[s.index_path] = eng
        return eng
