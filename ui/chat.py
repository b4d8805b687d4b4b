"""The chat UI's callbacks: answer a question in the chat, manage the article library.

:class:`ChatApp` returns plain values (Markdown, HTML, table rows) in :class:`ChatView` and
:class:`LibraryView`, so tests drive it without a browser; :mod:`ui.app` wires it to Gradio.

Example:
    >>> app = ChatApp(QA(Settings.from_env()))  # doctest: +SKIP
    >>> view = list(app.respond("How long does the SDF expect the fight to last?", []))[-1]
    >>> view.history[-1]["content"]  # doctest: +SKIP
    '**Between two and three months** <sup>[1]</sup>\n\nThe Syrian Democratic Forces ...'
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from qa.answer_types import Answer
from qa.articles import SUPPORTED_SUFFIXES, Article, load_paths, make_article, parse_html
from qa.dates import date_bound
from qa.engine import QA
from qa.errors import BadInputError, QAError
from qa.retrieval import Filters
from ui.render import (
    Context,
    answer_markdown,
    context_key,
    details_html,
    escape_markdown,
    library_html,
    markdown_with_markers,
    paragraph_context,
    passages_html,
    passages_label,
    plain_text,
    query_markdown,
    sources_html,
)
from ui.wording import ABSTAIN_PREFIXES, Scope, short

log = logging.getLogger(__name__)

EXAMPLE_QUESTION = "How long does the SDF expect the fight to last?"
UPLOAD_TYPES = sorted(SUPPORTED_SUFFIXES)
EMPTY_INDEX = (
    "No articles are indexed yet. Add some in the **Library** tab: upload files "
    "(.txt .md .html .json .jsonl) or paste an article's text."
)
THINKING = "…"
UNDO_SECONDS = 30.0


class ChatView(NamedTuple):
    """What one step of :meth:`ChatApp.respond` shows.

    Attributes:
        history: The chat messages (``{"role", "content"}``, content as Markdown).
        sources: The sources panel's HTML.
        passages: The retrieved passages' HTML (behind a toggle).
        passages_label: The toggle's label.
        status: What was searched beyond the question, or why nothing was asked (Markdown).
        question: What stays in the question box.
        article: The article filter in effect (its id), "" when none: a filter naming a
            deleted article is cleared.
        articles: ``(label, article id)`` choices for the *Ask about* picker, as the index is
            now; None while an answer streams (the picker is left as it is).
        open_passages: Whether to open the passages panel (an abstention points at it).
    """

    history: list[dict[str, str]]
    sources: str
    passages: str
    passages_label: str
    status: str
    question: str
    article: str = ""
    articles: list[tuple[str, str]] | None = None
    open_passages: bool = False


class FilterChips(NamedTuple):
    """The labels of the removable chips beside the question box ("" hides a chip).

    Attributes:
        article: "About: <headline>" when one article is picked.
        outlets: "Outlet: <names>" when an outlet filter is set.
        date_from: "From <date>".
        date_to: "To <date>".
    """

    article: str
    outlets: str
    date_from: str
    date_to: str


class LibraryView(NamedTuple):
    """What the Library tab shows after an action.

    Attributes:
        status: What the action did, per-file errors included (Markdown).
        rows: One row per article: title, outlet, byline, date, chunks, id.
        outlets: The outlets, for the chat's outlet filter.
        articles: ``(label, article id)`` choices for the delete picker.
        notice: The chat tab's empty-index message, or "" when articles are indexed.
        table: The article list as HTML (:func:`ui.render.library_html`).
    """

    status: str
    rows: list[list[Any]]
    outlets: list[str]
    articles: list[tuple[str, str]]
    notice: str
    table: str = ""


Progress = Callable[[float, str], None]


def engine_history(history: list[Any] | None) -> list[dict[str, str]]:
    """The Chatbot's messages as plain text for the engine (Markdown and error replies dropped)."""
    out = []
    for m in history or []:
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
            continue
        content = m.get("content")
        if isinstance(content, list):  # [{"type": "text", "text": ...}, ...]
            content = " ".join(
                str(c.get("text", "")) if isinstance(c, dict) else str(c) for c in content
            )
        text = str(content or "")
        if m["role"] == "assistant" and (
            text.startswith("⚠️") or text == THINKING or text == EMPTY_INDEX
        ):
            continue
        text = plain_text(text)
        if m["role"] == "assistant" and text.startswith(ABSTAIN_PREFIXES):
            continue  # an abstention holds nothing a follow-up could lean on
        out.append({"role": str(m["role"]), "content": text})
    return out


class ChatApp:
    """The UI's callbacks over one :class:`QA` engine (testable without a browser)."""

    def __init__(self, engine: QA) -> None:
        self.engine = engine
        # headlines of deleted articles, so a chat still filtered to one can name it
        self._gone: dict[str, str] = {}
        # deleted articles that can still be restored: id -> (article, time of deletion)
        self._undo: dict[str, tuple[Article, float]] = {}
        self._lock = threading.Lock()

    # ---- filters ----------------------------------------------------------------------

    def _title(self, article_id: str) -> str:
        try:
            a = self.engine.index.article(article_id)
        except (KeyError, QAError):
            return self._gone.get(article_id, "")
        return a.title or _untitled(a)

    def article_choices(self) -> list[tuple[str, str]]:
        """``(label, article id)`` for every indexed article (the pickers' choices)."""
        try:
            return [(_article_label(a), a.id) for a in self.engine.index.articles]
        except QAError:
            return []

    def chips(
        self,
        article: str | None = None,
        outlets: list[str] | None = None,
        date_from: str = "",
        date_to: str = "",
    ) -> FilterChips:
        """The chips for the filters set: what limits the next answer, each removable."""
        title = self._title(article) if article else ""
        return FilterChips(
            f"About: {short(title, 40)} ✕" if article else "",
            f"Outlet: {', '.join(outlets)} ✕" if outlets else "",
            f"From {date_from.strip()} ✕" if (date_from or "").strip() else "",
            f"To {date_to.strip()} ✕" if (date_to or "").strip() else "",
        )

    # ---- chat -------------------------------------------------------------------------

    def respond(
        self,
        message: str,
        history: list[Any] | None,
        k: float = 5,
        mode: str = "extractive",
        outlets: list[str] | None = None,
        date_from: str = "",
        date_to: str = "",
        article: str | None = None,
    ) -> Iterator[ChatView]:
        """Answer ``message`` in the chat, streaming LLM text as it comes.

        Args:
            message: The question typed.
            history: The chat so far (the Chatbot's messages).
            k: Passages to retrieve.
            mode: ``extractive`` or ``llm``.
            outlets: Only search articles from these outlets.
            date_from: Only articles dated on or after this ``YYYY-MM-DD`` date.
            date_to: Only articles dated on or before this date.
            article: Only this article (its id): the one "this article" means. An id no
                longer indexed (deleted since it was picked) is dropped, and the answer
                says so in a note.

        Yields:
            A :class:`ChatView` per step: the question posted, each streamed piece, and the
            final answer with its sources, passages and searched query.
        """
        history = list(history or [])
        message = message or ""
        empty_sources, label = sources_html(None), passages_label(None)
        if not message.strip():
            yield ChatView(
                history,
                empty_sources,
                "",
                label,
                "⚠️ Type a question about the articles first.",
                message,
            )
            return
        try:  # "2018-09-11", or relative to today: "last week", "since Monday", "yesterday"
            date_from = date_bound(date_from or "", name="From date")
            date_to = date_bound(date_to or "", end=True, name="To date")
        except BadInputError as e:
            yield ChatView(
                history, empty_sources, "", label, f"⚠️ {escape_markdown(str(e))}", message
            )
            return
        previous = engine_history(history)
        asked = history + [{"role": "user", "content": escape_markdown(message)}]
        choices = self.article_choices()
        stale = ""
        if article and article not in {aid for _, aid in choices}:
            # picked in this tab, deleted since (here or in another tab): ask every article
            gone = self._gone.get(article, "")
            stale = (
                f"The article you were asking about{f', “{gone}”,' if gone else ''} is no "
                "longer in the library, so this answer searched every article."
            )
            article = ""
        article = article or ""

        def step(reply: str, streaming: bool = False) -> ChatView:
            # a fresh list per step: each view stays as it was yielded; a streamed piece
            # leaves the pickers alone (articles=None)
            return ChatView(
                [*asked, {"role": "assistant", "content": reply}],
                empty_sources,
                "",
                label,
                "",
                "",
                article,
                None if streaming else choices,
            )

        yield step(THINKING)
        try:
            if not self.engine.index.chunks:
                yield step(EMPTY_INDEX)
                return
            filters = Filters(
                sources=tuple(outlets or ()),
                date_from=date_from,
                date_to=date_to,
                article_ids=(article,) if article else (),
            )
            streamed = ""
            answer: Answer | None = None
            for item in self.engine.ask_stream(
                message, previous, k=int(k), mode=mode, filters=filters
            ):
                if isinstance(item, Answer):
                    answer = item
                else:
                    streamed += item
                    yield step(markdown_with_markers(streamed) + " ▍", streaming=True)
            if answer is None:
                raise RuntimeError("the engine returned no answer")
        except QAError as e:
            yield step(f"⚠️ {escape_markdown(str(e))}")
            return
        except Exception as e:  # a bug: keep the traceback in the log, tell the reader
            log.exception("answering %r failed", message)
            yield step(
                f"⚠️ Something went wrong while answering "
                f"({escape_markdown(type(e).__name__)}); the server log has the details."
            )
            return
        scope = Scope(
            article_title=self._title(article) if article else "",
            outlets=tuple(outlets or ()),
            date_from=date_from,
            date_to=date_to,
        )
        reply = answer_markdown(answer, scope)
        if stale:
            reply += f"\n\n_{escape_markdown(stale)}_"
        yield ChatView(
            [*asked, {"role": "assistant", "content": reply}],
            sources_html(answer, self.citation_context(answer)),
            passages_html(answer.passages, answer.citations) + details_html(answer),
            passages_label(answer),
            query_markdown(answer),
            "",
            article,
            choices,
            answer.abstained and bool(answer.passages),
        )

    def citation_context(self, answer: Answer) -> dict[str, Context]:
        """The text around each cited sentence, for "show the surrounding paragraph"."""
        out = {}
        for c in answer.citations:
            try:
                text = self.engine.article(c.article_id).text
            except QAError:
                continue
            out[context_key(c)] = paragraph_context(text, c.start, c.end)
        return out

    def api_ask(self, question: str, history_json: str = "[]") -> dict[str, Any]:
        """The ``/ask`` API: a question and a JSON list of earlier chat messages -> Answer dict.

        Errors come back as ``{"error": message}`` (an empty question, bad history JSON).
        """
        try:
            history = json.loads(history_json or "[]")
        except json.JSONDecodeError as e:
            return {"error": f"history_json is not valid JSON: {e}"}
        if not isinstance(history, list):
            return {"error": "history_json must be a JSON list of {role, content} messages"}
        try:
            return self.engine.ask(question, history).to_dict()
        except QAError as e:
            return {"error": str(e)}

    # ---- library ----------------------------------------------------------------------

    def library_rows(self) -> list[list[Any]]:
        """One row per indexed article: title, outlet, byline, date, chunks, id."""
        idx = self.engine.index
        counts = idx.chunk_counts()
        return [
            [a.title or _untitled(a), a.source, a.author, a.date, counts.get(a.id, 0), a.id]
            for a in idx.articles
        ]

    def library_view(self, status: str = "") -> LibraryView:
        """The Library tab's content (and the chat's empty-index notice) as it is now."""
        try:
            idx = self.engine.index
        except QAError as e:
            msg = f"⚠️ {escape_markdown(str(e))}"
            return LibraryView(status or msg, [], [], [], msg, library_html([]))
        n_articles, n_chunks = len(idx.articles), len(idx.chunks)
        summary = f"**{_plural(n_articles, 'article')}**, {_plural(n_chunks, 'chunk')} indexed."
        outlets = sorted({a.source for a in idx.articles if a.source})
        choices = [(_article_label(a), a.id) for a in idx.articles]
        rows = self.library_rows()
        return LibraryView(
            f"{status}\n\n{summary}" if status else summary,
            rows,
            outlets,
            choices,
            "" if n_chunks else EMPTY_INDEX,
            library_html(rows),
        )

    def upload(
        self,
        files: list[Any] | None,
        progress: Progress | None = None,
        refused: list[str] | None = None,
    ) -> LibraryView:
        """Read and index uploaded files: one line per file says what became of it.

        A file that fails is reported and the rest indexed; the lines stay in the Library's
        status until the next action.

        Args:
            files: Paths of the uploaded files (Gradio's temp copies, named as uploaded).
            progress: Called with (fraction, description) while reading and indexing.
            refused: ``"name: why"`` for files the browser would not send (too large); they
                get a line of their own too.
        """
        paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in files or []]
        refused = [r for r in refused or [] if r.strip()]
        if not paths and not refused:
            return self.library_view("Choose one or more files to upload.")
        per_file: list[tuple[str, list[Article], list[str]]] = []
        max_bytes = int(self.engine.settings.max_file_mb * 1e6)
        for i, p in enumerate(paths):
            if progress:
                progress(i / len(paths) * 0.2, f"Reading {Path(p).name}")
            loaded = load_paths([p], max_bytes=max_bytes)
            errs = [_short_error(str(e)) for e in loaded.errors]
            if not loaded.articles and not loaded.errors:
                errs.append(f"{Path(p).name}: no article found in the file")
            per_file.append((Path(p).name, list(loaded.articles), errs))
        articles = [a for _, arts, _ in per_file for a in arts]
        for e in [*refused, *(e for _, _, errs in per_file for e in errs)]:
            log.warning("upload: %s", e)
        state: dict[str, str] = {}
        lines = []
        if articles:
            if progress:
                progress(0.2, f"Indexing {len(articles)} article(s)")
            try:
                r = self.engine.add_articles(articles, show_progress=progress is not None)
            except QAError as e:
                return self.library_view(f"⚠️ {escape_markdown(str(e))}")
            for ids, what in (
                (r.added, "new"),
                (r.replaced, "updated"),
                (r.unchanged, "already indexed"),
                (r.duplicates, "duplicate"),
            ):
                for aid in ids:
                    state.setdefault(aid, what)
            done = [
                f"{n} {what}"
                for n, what in (
                    (len(r.added), "new"),
                    (len(r.replaced), "updated"),
                    (len(r.unchanged), "unchanged"),
                    (len(r.duplicates), "duplicate"),
                )
                if n > 0
            ]
            n_files = len(paths) + len(refused)
            lines.append(
                f"Indexed {_plural(len(articles), 'article')} from "
                f"{_plural(n_files, 'file')}: {', '.join(done)} "
                f"({_plural(r.chunks, 'chunk')} embedded)."
            )
        else:
            lines.append("Nothing was indexed.")
        for name, arts, errs in per_file:
            lines += [_file_line(name, a, state.get(a.id, "indexed")) for a in arts]
            lines += [f"- ⚠️ {escape_markdown(e)}" for e in errs]
        lines += [f"- ⚠️ {escape_markdown(e)}" for e in refused]
        return self.library_view("\n".join(lines))

    def paste(self, title: str, text: str, source: str = "", url: str = "") -> LibraryView:
        """Index pasted text, or the saved HTML of a page (metadata fields override the page's)."""
        title, source, url = (title or "").strip(), (source or "").strip(), (url or "").strip()
        if not text or not text.strip():
            return self.library_view("Paste the article's text (or its saved HTML) first.")
        try:
            if text.lstrip().startswith("<"):
                article = parse_html(text, "pasted.html")
                if title or source or url:
                    article = make_article(
                        article.text,
                        title=title or article.title,
                        source=source or article.source,
                        author=article.author,
                        date=article.date,
                        url=url or article.url,
                        path="pasted.html",
                    )
            else:
                article = make_article(
                    text, title=title, source=source, url=url, path="pasted text"
                )
            r = self.engine.add_articles([article])
        except QAError as e:
            return self.library_view(f"⚠️ {escape_markdown(str(e))}")
        state = "was already indexed" if r.unchanged else f"indexed ({r.chunks} chunks)"
        return self.library_view(f"“{escape_markdown(article.title or 'Pasted article')}” {state}.")

    def delete_prompt(self, article_id: str | None) -> str:
        """The question asked before deleting (Markdown), or "" when no article is picked."""
        article_id = (article_id or "").strip()
        if not article_id:
            return ""
        title = self._title(article_id) or article_id
        return (
            f"Delete “{escape_markdown(title)}” from the library? Answers will no longer "
            f"cite it. You can undo this for {int(UNDO_SECONDS)} seconds."
        )

    def delete(self, article_id: str | None) -> LibraryView:
        """Remove an article by id; :meth:`undo_delete` restores it for ``UNDO_SECONDS``."""
        article_id = (article_id or "").strip()
        if not article_id:
            return self.library_view("Pick the article to delete first.")
        try:
            article: Article | None = self.engine.article(article_id)
        except QAError:
            article = None
        title = (article.title or _untitled(article)) if article else article_id
        gone = self.engine.delete([article_id])
        if gone and article is not None:
            now = time.monotonic()
            with self._lock:
                self._gone[article_id] = title
                self._undo = {k: v for k, v in self._undo.items() if now - v[1] <= UNDO_SECONDS}
                self._undo[article_id] = (article, now)
        msg = (
            f"Deleted “{escape_markdown(title)}”."
            if gone
            else f"No article with id {escape_markdown(article_id)}."
        )
        return self.library_view(msg)

    def can_undo(self, article_id: str | None) -> bool:
        """Whether the deletion of ``article_id`` can still be undone."""
        with self._lock:
            kept = self._undo.get(article_id or "")
        return kept is not None and time.monotonic() - kept[1] <= UNDO_SECONDS

    def undo_delete(self, article_id: str | None) -> LibraryView:
        """Put a just-deleted article back (its text and metadata as they were)."""
        article_id = article_id or ""
        if not self.can_undo(article_id):
            return self.library_view(
                f"Too late to undo: a deletion can be undone for {int(UNDO_SECONDS)} seconds."
            )
        with self._lock:
            article, _ = self._undo.pop(article_id)
        try:
            self.engine.add_articles([article])
        except QAError as e:
            return self.library_view(f"⚠️ {escape_markdown(str(e))}")
        self._gone.pop(article_id, None)
        title = article.title or _untitled(article)
        return self.library_view(f"Restored “{escape_markdown(title)}”.")


def _file_line(name: str, article: Article, state: str) -> str:
    title = article.title or _untitled(article)
    return f"- ✓ {escape_markdown(name)}: “{escape_markdown(short(title, 80))}” ({state})"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def _untitled(a: Article) -> str:
    words = a.text.split()
    return f"(untitled) {' '.join(words[:8])}{'…' * (len(words) > 8)}"


def _article_label(a: Article) -> str:
    label = a.title or _untitled(a)
    label = label if len(label) <= 70 else label[:69] + "…"
    return f"{label} — {a.source}" if a.source else label


_OPERATOR_HINT = re.compile(r"\s*\((?:raise it with|set) QA_[A-Z_]+\)")


def _short_error(err: str) -> str:
    # "/tmp/gradio/abc/name.txt: message" -> "name.txt: message" (never the server's path);
    # a hint for the server's operator ("raise it with QA_MAX_FILE_MB") is not the reader's
    path, sep, rest = err.partition(": ")
    return _OPERATOR_HINT.sub("", f"{Path(path).name}: {rest}" if sep else err)
