"""The Gradio chat UI: ask questions in a chat, read the cited sentences, manage articles.

Start it with ``qa serve`` (127.0.0.1:7860). From Python, the chat is the named endpoint
``/ask``, which returns the answer as a dict (``Answer.to_dict()``)::

    from gradio_client import Client
    answer = Client("http://127.0.0.1:7860/").predict(
        "How long does the SDF expect the fight to last?", "[]", api_name="/ask")
    answer["short"], answer["citations"][0]["quote"]

The callbacks live in :class:`ChatApp`, which returns plain values (HTML, Markdown, rows) so
tests can drive it without a browser; :func:`build_app` wires them to Gradio components.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa.answer_types import Answer  # noqa: E402
from qa.articles import Article, load_paths, make_article, parse_html  # noqa: E402
from qa.engine import QA  # noqa: E402
from qa.errors import QAError  # noqa: E402
from qa.retrieval import Filters  # noqa: E402
from qa.settings import Settings  # noqa: E402
from ui.render import (  # noqa: E402
    Context,
    answer_markdown,
    context_key,
    escape_markdown,
    markdown_with_markers,
    paragraph_context,
    passages_html,
    passages_label,
    plain_text,
    query_markdown,
    sources_html,
)

log = logging.getLogger(__name__)

EXAMPLE_QUESTION = "How long does the SDF expect the fight to last?"
UPLOAD_TYPES = [".txt", ".md", ".html", ".htm", ".json", ".jsonl"]
EMPTY_INDEX = ("No articles are indexed yet. Add some in the **Library** tab: upload files "
               "(.txt .md .html .json .jsonl) or paste an article's text.")
THINKING = "…"
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")

CSS = """
.qa-header h1 {font-size: 1.6rem; margin: 0 0 2px 0;}
.qa-header p {margin: 0; color: var(--body-text-color-subdued);}
/* the bundled Source Sans Pro has no 700 weight; synthetic bold garbles capitals */
#qa-chat strong, .qa-sources b, .qa-title, .qa-passage b {font-weight: 600;}
#qa-chat sup {color: #2563eb; font-weight: 600; margin-left: 1px;}
#qa-status p {margin: 4px 0; color: var(--body-text-color-subdued); font-size: 0.92em;}
#qa-notice {border: 1px solid #f59e0b; background: #fffbeb; color: #92400e;
            border-radius: 8px; padding: 8px 12px;}
.qa-sources {display: flex; flex-direction: column; gap: 10px;}
.qa-source {border: 1px solid var(--border-color-primary); border-left: 4px solid #2563eb;
            border-radius: 8px; padding: 10px 12px; background: var(--background-fill-primary);}
.qa-source-head {line-height: 1.3;}
.qa-n {font-weight: 600; color: #2563eb; margin-right: 4px;}
.qa-meta {font-size: 0.85em; color: var(--body-text-color-subdued); margin-top: 2px;}
.qa-meta span + span::before, .qa-meta span + a::before, .qa-meta a::before {content: " · ";}
.qa-meta a {color: #2563eb;}
.qa-quote {margin: 8px 0 4px 0; padding: 2px 0 2px 10px; border-left: 3px solid #d1d5db;
           font-style: italic;}
.qa-quote mark, .qa-ctx-quote mark {background: #fde68a; color: inherit; font-style: normal;
           padding: 0 2px; border-radius: 3px;}
.qa-context summary {cursor: pointer; font-size: 0.85em; color: #2563eb;}
.qa-para {font-size: 0.92em; margin: 6px 0 0 0;}
.qa-ctx-quote {background: #eff6ff; border-radius: 3px;}
.qa-passage {border-top: 1px solid var(--border-color-primary); padding: 6px 0;}
.qa-passage p {margin: 4px 0; font-size: 0.92em;}
.qa-cited {color: #059669; font-size: 0.8em; border: 1px solid #059669; border-radius: 4px;
           padding: 0 4px;}
.qa-uncited {color: #6b7280; font-size: 0.8em; border: 1px solid #d1d5db; border-radius: 4px;
             padding: 0 4px;}
.qa-empty {color: var(--body-text-color-subdued);}
"""


class ChatView(NamedTuple):
    """What one step of :meth:`ChatApp.respond` shows.

    Attributes:
        history: The chat messages (``{"role", "content"}``, content as Markdown).
        sources: The sources panel's HTML.
        passages: The retrieved passages' HTML (behind a toggle).
        passages_label: The toggle's label.
        status: The searched query, or why nothing was asked (Markdown).
        question: What stays in the question box.
    """

    history: list[dict[str, str]]
    sources: str
    passages: str
    passages_label: str
    status: str
    question: str


class LibraryView(NamedTuple):
    """What the Library tab shows after an action.

    Attributes:
        status: What the action did, per-file errors included (Markdown).
        rows: One row per article: title, outlet, byline, date, chunks, id.
        outlets: The outlets, for the chat's outlet filter.
        articles: ``(label, article id)`` choices for the delete picker.
        notice: The chat tab's empty-index message, or "" when articles are indexed.
    """

    status: str
    rows: list[list[Any]]
    outlets: list[str]
    articles: list[tuple[str, str]]
    notice: str


Progress = Callable[[float, str], None]


def engine_history(history: list[Any] | None) -> list[dict[str, str]]:
    """The Chatbot's messages as plain text for the engine (Markdown and error replies dropped)."""
    out = []
    for m in history or []:
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
            continue
        content = m.get("content")
        if isinstance(content, list):  # [{"type": "text", "text": ...}, ...]
            content = " ".join(str(c.get("text", "")) if isinstance(c, dict) else str(c)
                               for c in content)
        text = str(content or "")
        if m["role"] == "assistant" and (text.startswith("⚠️") or text == THINKING
                                         or text == EMPTY_INDEX):
            continue
        text = plain_text(text)
        out.append({"role": str(m["role"]), "content": text})
    return out


class ChatApp:
    """The UI's callbacks over one :class:`QA` engine (testable without a browser)."""

    def __init__(self, engine: QA) -> None:
        self.engine = engine

    # ---- chat -------------------------------------------------------------------------

    def respond(
        self, message: str, history: list[Any] | None, k: float = 5, mode: str = "extractive",
        outlets: list[str] | None = None, date_from: str = "", date_to: str = "",
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

        Yields:
            A :class:`ChatView` per step: the question posted, each streamed piece, and the
            final answer with its sources, passages and searched query.
        """
        history = list(history or [])
        message = message or ""
        empty_sources, label = sources_html(None), passages_label(None)
        if not message.strip():
            yield ChatView(history, empty_sources, "", label,
                           "⚠️ Type a question about the articles first.", message)
            return
        date_from, date_to = (date_from or "").strip(), (date_to or "").strip()
        for name, value in (("From date", date_from), ("To date", date_to)):
            if value and not _DATE.match(value):
                yield ChatView(history, empty_sources, "", label,
                               f"⚠️ {name} must be written YYYY-MM-DD (e.g. 2018-09-11), "
                               f"got {escape_markdown(value)!s}.", message)
                return
        previous = engine_history(history)
        history = history + [{"role": "user", "content": escape_markdown(message)},
                             {"role": "assistant", "content": THINKING}]
        yield ChatView(history, empty_sources, "", label, "", "")

        def fail(text: str) -> ChatView:
            history[-1] = {"role": "assistant", "content": text}
            return ChatView(history, empty_sources, "", label, "", "")

        try:
            if not self.engine.index.chunks:
                yield fail(EMPTY_INDEX)
                return
            filters = Filters(sources=tuple(outlets or ()), date_from=date_from,
                              date_to=date_to)
            streamed = ""
            answer: Answer | None = None
            for item in self.engine.ask_stream(message, previous, k=int(k), mode=mode,
                                               filters=filters):
                if isinstance(item, Answer):
                    answer = item
                else:
                    streamed += item
                    history[-1] = {"role": "assistant",
                                   "content": markdown_with_markers(streamed) + " ▍"}
                    yield ChatView(history, empty_sources, "", label, "", "")
            if answer is None:
                raise RuntimeError("the engine returned no answer")
        except QAError as e:
            yield fail(f"⚠️ {escape_markdown(str(e))}")
            return
        except Exception as e:  # a bug: keep the traceback in the log, tell the reader
            log.exception("answering %r failed", message)
            yield fail(f"⚠️ Something went wrong while answering "
                       f"({escape_markdown(type(e).__name__)}); the server log has the details.")
            return
        history[-1] = {"role": "assistant", "content": answer_markdown(answer)}
        yield ChatView(history, sources_html(answer, self.citation_context(answer)),
                       passages_html(answer.passages, answer.citations),
                       passages_label(answer), query_markdown(answer), "")

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
        counts: dict[str, int] = {}
        for c in idx.chunks:
            counts[c.article_id] = counts.get(c.article_id, 0) + 1
        return [[a.title, a.source, a.author, a.date, counts.get(a.id, 0), a.id]
                for a in idx.articles]

    def library_view(self, status: str = "") -> LibraryView:
        """The Library tab's content (and the chat's empty-index notice) as it is now."""
        try:
            idx = self.engine.index
        except QAError as e:
            msg = f"⚠️ {escape_markdown(str(e))}"
            return LibraryView(status or msg, [], [], [], msg)
        n_articles, n_chunks = len(idx.articles), len(idx.chunks)
        summary = (f"**{n_articles}** article{'s' * (n_articles != 1)}, **{n_chunks}** "
                   f"chunk{'s' * (n_chunks != 1)} indexed.")
        outlets = sorted({a.source for a in idx.articles if a.source})
        choices = [(_article_label(a), a.id) for a in idx.articles]
        return LibraryView(f"{status}\n\n{summary}" if status else summary,
                           self.library_rows(), outlets, choices,
                           "" if n_chunks else EMPTY_INDEX)

    def upload(self, files: list[Any] | None, progress: Progress | None = None) -> LibraryView:
        """Read and index uploaded files; a file that fails is reported, the rest indexed.

        Args:
            files: Paths of the uploaded files (Gradio's temp copies, named as uploaded).
            progress: Called with (fraction, description) while reading and indexing.
        """
        paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in files or []]
        if not paths:
            return self.library_view("Choose one or more files to upload.")
        articles: list[Article] = []
        errors: list[str] = []
        max_bytes = int(self.engine.settings.max_file_mb * 1e6)
        for i, p in enumerate(paths):
            if progress:
                progress(i / len(paths) * 0.2, f"Reading {Path(p).name}")
            loaded = load_paths([p], max_bytes=max_bytes)
            articles.extend(loaded.articles)
            errors.extend(_short_error(str(e)) for e in loaded.errors)
            if not loaded.articles and not loaded.errors:
                errors.append(f"{Path(p).name}: no article found in the file")
        for e in errors:
            log.warning("upload: %s", e)
        lines = []
        if articles:
            if progress:
                progress(0.2, f"Indexing {len(articles)} article(s)")
            try:
                r = self.engine.add_articles(articles, show_progress=progress is not None)
            except QAError as e:
                return self.library_view(f"⚠️ {escape_markdown(str(e))}")
            lines.append(f"Indexed {len(r.added)} new, {len(r.replaced)} updated, "
                         f"{len(r.unchanged)} unchanged article(s) ({r.chunks} chunks) from "
                         f"{len(paths)} file(s).")
        else:
            lines.append("Nothing was indexed.")
        lines += [f"- ⚠️ {escape_markdown(e)}" for e in errors]
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
                    article = make_article(article.text, title=title or article.title,
                                           source=source or article.source,
                                           author=article.author, date=article.date,
                                           url=url or article.url, path="pasted.html")
            else:
                article = make_article(text, title=title, source=source, url=url,
                                       path="pasted text")
            r = self.engine.add_articles([article])
        except QAError as e:
            return self.library_view(f"⚠️ {escape_markdown(str(e))}")
        state = "was already indexed" if r.unchanged else f"indexed ({r.chunks} chunks)"
        return self.library_view(
            f"“{escape_markdown(article.title or 'Pasted article')}” {state}.")

    def delete(self, article_id: str | None) -> LibraryView:
        """Remove an article by id."""
        article_id = (article_id or "").strip()
        if not article_id:
            return self.library_view("Pick the article to delete first.")
        try:
            title = self.engine.article(article_id).title
        except QAError:
            title = article_id
        gone = self.engine.delete([article_id])
        msg = (f"Deleted “{escape_markdown(title)}”." if gone
               else f"No article with id {escape_markdown(article_id)}.")
        return self.library_view(msg)


def _article_label(a: Article) -> str:
    label = a.title or a.id
    label = label if len(label) <= 70 else label[:69] + "…"
    return f"{label} — {a.source}" if a.source else label


def _short_error(err: str) -> str:
    # "/tmp/gradio/abc/name.txt: message" -> "name.txt: message" (never the server's path)
    path, sep, rest = err.partition(": ")
    return f"{Path(path).name}: {rest}" if sep else err


def build_app(engine: QA | None = None) -> Any:
    """Build the Gradio Blocks app over an engine (default: settings from the environment).

    Launch it with :func:`launch`, which adds the stylesheet and theme.
    """
    import gradio as gr

    engine = engine or QA(Settings.from_env())
    app = ChatApp(engine)
    settings = engine.settings
    modes = ["extractive", "llm"] if settings.llm_available else ["extractive"]

    def chat_updates(view: ChatView) -> tuple[Any, ...]:
        return (view.history, view.sources, view.passages, gr.Accordion(label=view.passages_label),
                view.status, view.question)

    def respond(message: str, history: list[Any], k: float, mode: str, outlets: list[str],
                date_from: str, date_to: str) -> Iterator[tuple[Any, ...]]:
        for view in app.respond(message, history, k, mode, outlets, date_from, date_to):
            yield chat_updates(view)

    def library_updates(view: LibraryView) -> tuple[Any, ...]:
        return (view.status, view.rows, gr.Dropdown(choices=view.outlets),
                gr.Dropdown(choices=view.articles, value=None),
                gr.Markdown(view.notice, visible=bool(view.notice)))

    tracker = gr.Progress(track_tqdm=True)  # also shows the embedding model's tqdm bar

    def upload(files: list[str] | None, progress: gr.Progress = tracker) -> tuple[Any, ...]:
        view = app.upload(files, progress=lambda frac, desc: progress(frac, desc=desc))
        return (*library_updates(view), None)

    def example_text(evt: gr.SelectData) -> str:
        value = evt.value
        return str(value.get("text", "")) if isinstance(value, dict) else str(value)

    # Gradio finds the event-data parameter by its annotation, which `from __future__ import
    # annotations` leaves as a string it cannot resolve here
    example_text.__annotations__["evt"] = gr.SelectData

    with gr.Blocks(title="article-qa") as demo:
        gr.HTML("<div class='qa-header'><h1>article-qa</h1><p>Ask questions about your news "
                "articles. Every answer cites the exact sentence it comes from.</p></div>")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                notice = gr.Markdown(visible=False, elem_id="qa-notice")
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(
                            show_label=False, height=460, elem_id="qa-chat",
                            sanitize_html=True, buttons=["copy"], latex_delimiters=[],
                            examples=[{"text": EXAMPLE_QUESTION}],
                            placeholder="**Ask about the articles in your library.**  \n"
                                        "Answers quote their sources; try the example:")
                        with gr.Row():
                            box = gr.Textbox(placeholder="Ask a question about the articles…",
                                             show_label=False, scale=5, elem_id="qa-question",
                                             autofocus=True, max_lines=4)
                            send = gr.Button("Ask", variant="primary", scale=1, min_width=80,
                                             elem_id="qa-send")
                        with gr.Row():
                            status = gr.Markdown(elem_id="qa-status")
                            new_chat = gr.Button("New chat", size="sm", scale=0, min_width=110,
                                                 elem_id="qa-new-chat")
                    with gr.Column(scale=2):
                        gr.Markdown("### Sources")
                        sources = gr.HTML(sources_html(None), elem_id="qa-sources")
                        with gr.Accordion(passages_label(None), open=False,
                                          elem_id="qa-passages") as passages_box:
                            passages = gr.HTML("")
                        with gr.Accordion("Settings", open=False, elem_id="qa-settings"):
                            k = gr.Slider(1, 20, value=settings.k, step=1,
                                          label="Passages to retrieve")
                            mode = gr.Radio(
                                modes, label="Answer mode",
                                value=settings.answer_mode if settings.answer_mode in modes
                                else "extractive",
                                info=None if settings.llm_available else
                                "LLM answers need a server: set QA_LLM_MODEL (and "
                                "QA_LLM_BASE_URL).")
                            outlets = gr.Dropdown(choices=[], multiselect=True,
                                                  label="Only these outlets")
                            with gr.Row():
                                date_from = gr.Textbox(label="From date", placeholder="YYYY-MM-DD")
                                date_to = gr.Textbox(label="To date", placeholder="YYYY-MM-DD")
            with gr.Tab("Library", id="library"):
                lib_status = gr.Markdown(elem_id="qa-library-status")
                table = gr.Dataframe(headers=["title", "outlet", "byline", "date", "chunks", "id"],
                                     datatype=["str", "str", "str", "str", "number", "str"],
                                     interactive=False, elem_id="qa-library", wrap=True,
                                     column_widths=["38%", "14%", "16%", "10%", "7%", "15%"])
                with gr.Row(equal_height=False):
                    with gr.Column():
                        gr.Markdown("#### Upload files\nText, Markdown, saved web pages, or "
                                    "JSON/JSONL records with `text` and optional `title`, "
                                    "`source`, `author`, `date`, `url`. Files are indexed as "
                                    "soon as they are uploaded.")
                        files = gr.File(file_count="multiple", file_types=UPLOAD_TYPES,
                                        label="Articles (.txt .md .html .json .jsonl)",
                                        elem_id="qa-upload", height=150)
                        gr.Markdown("#### Delete an article")
                        with gr.Row():
                            del_pick = gr.Dropdown(choices=[], show_label=False, scale=3,
                                                   elem_id="qa-delete-pick",
                                                   info="Pick the article to remove")
                            delete = gr.Button("Delete", variant="stop", scale=1, min_width=90,
                                               elem_id="qa-delete")
                    with gr.Column():
                        gr.Markdown("#### Paste an article\nIts text, or the saved HTML of "
                                    "its page.")
                        p_title = gr.Textbox(label="Headline")
                        with gr.Row():
                            p_source = gr.Textbox(label="Outlet")
                            p_url = gr.Textbox(label="URL")
                        p_text = gr.Textbox(label="Text or HTML", lines=6, max_lines=14,
                                            elem_id="qa-paste")
                        paste = gr.Button("Index pasted article", elem_id="qa-index-paste")

        # chat: the question box, the Ask button and the example all answer the same way
        chat_in = [box, chatbot, k, mode, outlets, date_from, date_to]
        chat_out = [chatbot, sources, passages, passages_box, status, box]
        box.submit(respond, chat_in, chat_out, api_visibility="private", concurrency_id="chat")
        send.click(respond, chat_in, chat_out, api_visibility="private", concurrency_id="chat")
        chatbot.example_select(example_text, None, box, api_visibility="private",
                               queue=False).then(respond, chat_in, chat_out,
                                                 api_visibility="private",
                                                 concurrency_id="chat")
        new_chat.click(lambda: ([], sources_html(None), "", gr.Accordion(label=passages_label(
            None)), "", ""), None, chat_out, api_visibility="private", queue=False)

        # library: one writer at a time, on its own queue so questions are not held up
        lib_out = [lib_status, table, outlets, del_pick, notice]
        files.upload(upload, [files], [*lib_out, files], api_visibility="private",
                     concurrency_id="ingest", concurrency_limit=1)
        paste.click(lambda *a: library_updates(app.paste(*a)), [p_title, p_text, p_source, p_url],
                    lib_out, api_visibility="private", concurrency_id="ingest",
                    concurrency_limit=1)
        delete.click(lambda i: library_updates(app.delete(i)), [del_pick], lib_out,
                     api_visibility="private", concurrency_id="ingest", concurrency_limit=1)
        demo.load(lambda: library_updates(app.library_view()), None, lib_out,
                  api_visibility="private")

        # the named API endpoint for gradio_client
        api_q = gr.Textbox(visible=False, label="question")
        api_h = gr.Textbox(visible=False, value="[]", label="history_json")
        api_out = gr.JSON(visible=False, label="answer")
        api_btn = gr.Button(visible=False)
        api_btn.click(app.api_ask, [api_q, api_h], api_out, api_name="ask",
                      concurrency_id="chat")
    # Answers are CPU-bound and short: a few at a time; writers have their own limit of 1.
    demo.queue(default_concurrency_limit=4, max_size=64)
    demo.qa_app = app  # type: ignore[attr-defined]
    return demo


def theme() -> Any:
    """The UI's theme (local fonts only: the server may be offline)."""
    import gradio as gr

    return gr.themes.Default(primary_hue="blue", secondary_hue="slate", neutral_hue="slate")


def launch(engine: QA | None = None, *, host: str = "127.0.0.1", port: int = 7860,
           auth: tuple[str, str] | None = None, prevent_thread_lock: bool = False,
           quiet: bool = True) -> Any:
    """Build the app over ``engine`` and start its server; returns the Blocks (close() it).

    Blocks unless ``prevent_thread_lock`` (tests and notebooks pass True).
    """
    engine = engine or QA(Settings.from_env())
    demo = build_app(engine)
    # Gradio refuses bigger uploads outright; smaller ones over max_file_mb get the
    # engine's per-file message instead.
    max_mb = max(1, int(engine.settings.max_file_mb * 2))
    demo.launch(server_name=host, server_port=port, auth=auth, show_error=False, css=CSS,
                theme=theme(), footer_links=["api"], quiet=quiet,
                prevent_thread_lock=prevent_thread_lock, max_file_size=f"{max_mb}mb")
    return demo


def serve(settings: Settings | None = None, host: str = "127.0.0.1", port: int = 7860,
          auth: str | None = None) -> None:
    """Start the UI (blocking). ``auth`` is ``"user:password"`` to require a login."""
    engine = QA(settings or Settings.from_env())
    engine.warm_up()
    login = None
    if auth:
        user, _, password = auth.partition(":")
        login = (user, password)
    print(f"article-qa: {len(engine.index.articles)} articles indexed in "
          f"{engine.settings.index_path}; open http://{host}:{port}/", flush=True)
    launch(engine, host=host, port=port, auth=login)


if __name__ == "__main__":
    serve()
