"""The Gradio chat UI: ask questions in a chat, read the cited sentences, manage articles.

Start it with ``qa serve`` (127.0.0.1:7860). From Python, the chat is the named endpoint
``/ask``, which returns the answer as a dict (``Answer.to_dict()``)::

    from gradio_client import Client
    answer = Client("http://127.0.0.1:7860/").predict(
        "How long does the SDF expect the fight to last?", "[]", api_name="/ask")
    answer["short"], answer["citations"][0]["quote"]

The callbacks live in :class:`ui.chat.ChatApp`, which returns plain values (HTML, Markdown,
rows) so tests can drive it without a browser; :func:`build_app` wires them to Gradio.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa.engine import QA  # noqa: E402
from qa.settings import Settings  # noqa: E402
from ui.chat import (  # noqa: E402  (re-exported: ui.app is where callers look first)
    EMPTY_INDEX,
    EXAMPLE_QUESTION,
    THINKING,
    UNDO_SECONDS,
    UPLOAD_TYPES,
    ChatApp,
    ChatView,
    LibraryView,
    engine_history,
)
from ui.render import library_html, passages_label, sources_html  # noqa: E402
from ui.style import CSS, page_script  # noqa: E402

__all__ = [
    "CSS",
    "EMPTY_INDEX",
    "EXAMPLE_QUESTION",
    "THINKING",
    "ChatApp",
    "ChatView",
    "LibraryView",
    "build_app",
    "engine_history",
    "launch",
    "serve",
    "theme",
]


def build_app(engine: QA | None = None) -> Any:
    """Build the Gradio Blocks app over an engine (default: settings from the environment).

    Launch it with :func:`launch`, which adds the stylesheet, page script and theme.
    """
    import gradio as gr

    engine = engine or QA(Settings.from_env())
    app = ChatApp(engine)
    with gr.Blocks(title="article-qa") as demo:
        gr.HTML(
            "<div class='qa-header'><h1>article-qa</h1><p>Ask questions about your news "
            "articles. Every answer cites the exact sentence it comes from.</p></div>"
        )
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                chat = _chat_tab(gr, app)
            with gr.Tab("Library", id="library"):
                fill_library, library_out = _library_tab(gr, app, chat)
        demo.load(fill_library, None, library_out, api_visibility="private")
        _api(gr, app)
    # Answers are CPU-bound and short: a few at a time; writers have their own limit of 1.
    demo.queue(default_concurrency_limit=4, max_size=64)
    demo.qa_app = app
    return demo


def _scope_choices(articles: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [("All articles", ""), *articles]


def _chat_tab(gr: Any, app: ChatApp) -> dict[str, Any]:
    """The Chat tab: the chat, the question box with its filter chips, sources, settings.

    Returns the components the Library tab updates (``notice``, ``scope``, ``outlets``).
    """
    settings = app.engine.settings
    modes = ["extractive", "llm"] if settings.llm_available else ["extractive"]
    notice = gr.Markdown(visible=False, elem_id="qa-notice")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=300):
            chatbot = gr.Chatbot(
                show_label=False,
                height=460,
                elem_id="qa-chat",
                sanitize_html=True,
                buttons=["copy"],
                latex_delimiters=[],
                examples=[{"text": EXAMPLE_QUESTION}],
                placeholder="**Ask about the articles in your library.**  \n"
                "Answers quote their sources; try the example:",
            )
            with gr.Row():
                box = gr.Textbox(
                    placeholder="Ask a question about the articles…",
                    show_label=False,
                    scale=5,
                    elem_id="qa-question",
                    autofocus=True,
                    max_lines=4,
                )
                send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="qa-send")
                # cancels the answer being written (a generated one streams for seconds)
                stop = gr.Button(
                    "Stop", variant="secondary", scale=0, min_width=64, elem_id="qa-stop"
                )
            # what limits the next answer, beside the box; a chip's ✕ removes its filter
            with gr.Row(elem_id="qa-chips"):
                chips = [
                    gr.Button(
                        "", visible=False, size="sm", elem_classes="qa-chip", elem_id=f"qa-chip-{n}"
                    )
                    for n in ("article", "outlets", "from", "to")
                ]
            scope = gr.Dropdown(
                choices=[("All articles", "")],
                value="",
                label="Ask about",
                info="Pick one article to limit questions to it (the one “this article” means)",
                elem_id="qa-scope",
            )
            with gr.Accordion("More filters", open=False, elem_id="qa-filters"):
                outlets = gr.Dropdown(choices=[], multiselect=True, label="Only these outlets")
                with gr.Row():
                    date_from = gr.Textbox(
                        label="From date",
                        placeholder="YYYY-MM-DD or “last week”",
                        elem_id="qa-date-from",
                    )
                    date_to = gr.Textbox(
                        label="To date",
                        placeholder="YYYY-MM-DD or “yesterday”",
                        elem_id="qa-date-to",
                    )
            with gr.Row():
                status = gr.Markdown(elem_id="qa-status")
                new_chat = gr.Button(
                    "New chat", size="sm", scale=0, min_width=110, elem_id="qa-new-chat"
                )
        with gr.Column(scale=2, min_width=300):
            gr.Markdown("### Sources")
            sources = gr.HTML(sources_html(None), elem_id="qa-sources")
            with gr.Accordion(
                passages_label(None), open=False, elem_id="qa-passages"
            ) as passages_box:
                passages = gr.HTML("")
            with gr.Accordion("Settings", open=False, elem_id="qa-settings"):
                k = gr.Slider(1, 20, value=settings.k, step=1, label="Passages to retrieve")
                mode = gr.Radio(
                    modes,
                    label="Answer mode",
                    value=settings.answer_mode if settings.answer_mode in modes else "extractive",
                    info=None
                    if settings.llm_available
                    else "LLM answers need a server: set QA_LLM_MODEL (and QA_LLM_BASE_URL).",
                )

    def chat_updates(view: ChatView) -> tuple[Any, ...]:
        box_open = {"open": True} if view.open_passages else {}
        return (
            view.history,
            view.sources,
            view.passages,
            gr.Accordion(label=view.passages_label, **box_open),
            view.status,
            view.question,
            gr.skip()
            if view.articles is None
            else gr.Dropdown(choices=_scope_choices(view.articles), value=view.article),
        )

    def respond(
        message: str,
        history: list[Any],
        k: float,
        mode: str,
        outlets: list[str],
        date_from: str,
        date_to: str,
        article: str | None,
    ) -> Iterator[tuple[Any, ...]]:
        for view in app.respond(message, history, k, mode, outlets, date_from, date_to, article):
            yield chat_updates(view)

    def example_text(evt: gr.SelectData) -> str:
        value = evt.value
        return str(value.get("text", "")) if isinstance(value, dict) else str(value)

    # Gradio finds the event-data parameter by its annotation, which `from __future__ import
    # annotations` leaves as a string it cannot resolve here
    example_text.__annotations__["evt"] = gr.SelectData

    # the question box, the Ask button and the example all answer the same way
    chat_in = [box, chatbot, k, mode, outlets, date_from, date_to, scope]
    chat_out = [chatbot, sources, passages, passages_box, status, box, scope]
    private: dict[str, Any] = {"api_visibility": "private"}
    asks = [
        box.submit(respond, chat_in, chat_out, concurrency_id="chat", **private),
        send.click(respond, chat_in, chat_out, concurrency_id="chat", **private),
        chatbot.example_select(example_text, None, box, queue=False, **private).then(
            respond, chat_in, chat_out, concurrency_id="chat", **private
        ),
    ]
    # Stop cancels the answer in progress: Gradio closes its generator, which closes the
    # stream from the LLM server (llama.cpp stops generating); what was shown stays
    stop.click(None, None, None, cancels=asks, queue=False, **private)

    def reset() -> tuple[Any, ...]:
        return ([], sources_html(None), "", gr.Accordion(label=passages_label(None)), "", "")

    new_chat.click(reset, None, chat_out[:-1], queue=False, **private)
    chatbot.clear(reset, None, chat_out[:-1], queue=False, **private)

    def show_chips(
        article: str | None, outlets: list[str] | None, date_from: str, date_to: str
    ) -> tuple[Any, ...]:
        labels = app.chips(article, outlets, date_from, date_to)
        return tuple(gr.Button(value=label or " ", visible=bool(label)) for label in labels)

    filters = [scope, outlets, date_from, date_to]
    for f in filters:
        f.change(show_chips, filters, chips, queue=False, **private)
    cleared: tuple[Any, ...] = ("", [], "", "")
    for chip, f, empty in zip(chips, filters, cleared):
        chip.click(partial(lambda e: e, empty), None, f, queue=False, **private)
    return {"notice": notice, "scope": scope, "outlets": outlets}


def _library_tab(
    gr: Any, app: ChatApp, chat: dict[str, Any]
) -> tuple[Callable[[], tuple[Any, ...]], list[Any]]:
    """The Library tab: the article list, upload, paste, and delete (asked once, undoable).

    Returns the function that fills the tab and its outputs, for the page's load event.
    """
    lib_status = gr.Markdown(elem_id="qa-library-status")
    table = gr.HTML(library_html([]), elem_id="qa-library")
    with gr.Row(equal_height=False):
        with gr.Column():
            gr.Markdown(
                "#### Upload files\nText, Markdown, saved web pages, or "
                "JSON/JSONL records with `text` and optional `title`, "
                "`source`, `author`, `date`, `url` ("
                + " ".join(UPLOAD_TYPES)
                + "). Files are indexed as soon as they are uploaded; each gets a line in "
                "the results above."
            )
            files = gr.File(
                file_count="multiple",
                label="Articles",
                elem_id="qa-upload",
                height=150,
            )
            # filled by the page script with the files the browser kept back (too large)
            refused = gr.Textbox(elem_id="qa-refused", elem_classes="qa-hidden", show_label=False)
            gr.Markdown("#### Delete an article")
            with gr.Row():
                del_pick = gr.Dropdown(
                    choices=[],
                    show_label=False,
                    scale=3,
                    elem_id="qa-delete-pick",
                    info="Pick the article to remove",
                )
                delete = gr.Button(
                    "Delete…", variant="stop", scale=1, min_width=90, elem_id="qa-delete"
                )
            with gr.Row(visible=False, elem_id="qa-delete-confirm") as confirm_row:
                confirm_text = gr.Markdown()
                confirm = gr.Button(
                    "Delete",
                    variant="stop",
                    size="sm",
                    scale=0,
                    min_width=80,
                    elem_id="qa-delete-yes",
                )
                cancel = gr.Button(
                    "Cancel", size="sm", scale=0, min_width=80, elem_id="qa-delete-no"
                )
            with gr.Row(visible=False, elem_id="qa-undo") as undo_row:
                undo_text = gr.Markdown()
                undo = gr.Button("Undo", size="sm", scale=0, min_width=80, elem_id="qa-undo-btn")
            deleted = gr.State("")
            undo_timer = gr.Timer(UNDO_SECONDS, active=False)
        with gr.Column():
            gr.Markdown("#### Paste an article\nIts text, or the saved HTML of its page.")
            p_title = gr.Textbox(label="Headline")
            with gr.Row():
                p_source = gr.Textbox(label="Outlet")
                p_url = gr.Textbox(label="URL")
            p_text = gr.Textbox(label="Text or HTML", lines=6, max_lines=14, elem_id="qa-paste")
            paste = gr.Button("Index pasted article", elem_id="qa-index-paste")
            web = _web_section(gr)

    def library_updates(view: LibraryView) -> tuple[Any, ...]:
        return (
            view.status,
            view.table,
            gr.Dropdown(choices=view.outlets),
            gr.Dropdown(choices=view.articles, value=None),
            gr.Dropdown(choices=_scope_choices(view.articles)),
            gr.Markdown(view.notice, visible=bool(view.notice)),
        )

    lib_out = [lib_status, table, chat["outlets"], del_pick, chat["scope"], chat["notice"]]
    private: dict[str, Any] = {"api_visibility": "private"}
    # one writer at a time, on its own queue so questions are not held up
    writes: dict[str, Any] = {
        "concurrency_id": "ingest",
        "concurrency_limit": 1,
        "show_progress_on": [table],
        **private,
    }
    tracker = gr.Progress(track_tqdm=True)  # also shows the embedding model's tqdm bar

    def upload(
        paths: list[str] | None, kept_back: str, progress: gr.Progress = tracker
    ) -> tuple[Any, ...]:
        view = app.upload(
            paths,
            progress=lambda frac, desc: progress(frac, desc=desc),
            refused=_refused(kept_back),
        )
        return (*library_updates(view), None, "")

    def refused_only(kept_back: str) -> tuple[Any, ...]:
        # every file was kept back: no upload event comes, so report them here
        report = _refused_report(kept_back)
        if report is None or report[1] > 0:
            return tuple(gr.skip() for _ in range(len(lib_out) + 1))
        return (*library_updates(app.upload(None, refused=report[0])), "")

    files.upload(upload, [files, refused], [*lib_out, files, refused], **writes)
    refused.change(refused_only, [refused], [*lib_out, refused], **writes)
    paste.click(
        lambda *a: library_updates(app.paste(*a)),
        [p_title, p_text, p_source, p_url],
        lib_out,
        **writes,
    )

    _wire_web(gr, app, web, table, library_updates, lib_out, writes)

    def ask_delete(article_id: str | None) -> tuple[Any, ...]:
        prompt = app.delete_prompt(article_id)
        if not prompt:
            return ("Pick the article to delete first.", gr.Row(visible=False), "")
        return (gr.skip(), gr.Row(visible=True), prompt)

    def do_delete(article_id: str | None) -> tuple[Any, ...]:
        view = app.delete(article_id)
        done = app.can_undo(article_id)
        return (
            *library_updates(view),
            gr.Row(visible=False),
            gr.Row(visible=done),
            view.status.split("\n\n")[0],
            article_id or "",
            gr.Timer(active=done),
        )

    def do_undo(article_id: str) -> tuple[Any, ...]:
        return (*library_updates(app.undo_delete(article_id)), gr.Row(visible=False), "")

    def undo_expired() -> tuple[Any, ...]:
        return (gr.Row(visible=False), gr.Timer(active=False))

    delete.click(
        ask_delete, [del_pick], [lib_status, confirm_row, confirm_text], queue=False, **private
    )
    cancel.click(lambda: gr.Row(visible=False), None, confirm_row, queue=False, **private)
    confirm.click(
        do_delete,
        [del_pick],
        [*lib_out, confirm_row, undo_row, undo_text, deleted, undo_timer],
        **writes,
    )
    undo.click(do_undo, [deleted], [*lib_out, undo_row, deleted], **writes)
    undo_timer.tick(undo_expired, None, [undo_row, undo_timer], queue=False, **private)
    return lambda: library_updates(app.library_view()), lib_out


def _web_section(gr: Any) -> dict[str, Any]:
    """The Library's "Add by URL" box and its view of near-duplicate copies (issue 20)."""
    gr.Markdown(
        "#### Add by URL\nWeb pages or PDFs, one URL a line, or RSS/Atom feeds. **The server "
        "fetches them** (http and https only, with a time and size limit); each URL gets a "
        "line in the results above."
    )
    urls = gr.Textbox(
        label="URLs", lines=2, max_lines=8, placeholder="https://…", elem_id="qa-urls"
    )
    feeds = gr.Checkbox(
        label="These are feeds: add their new entries", value=False, elem_id="qa-urls-feed"
    )
    fetch = gr.Button("Fetch and index", elem_id="qa-fetch")
    gr.Markdown(
        "#### Copies of one story\nThe same story from several outlets is indexed once; "
        "its answers list the others as *also in*. Index a copy on its own to undo that."
    )
    copies = gr.HTML(elem_id="qa-copies")
    with gr.Row():
        pick = gr.Dropdown(
            choices=[], show_label=False, scale=3, elem_id="qa-copy-pick", info="Pick a copy"
        )
        split = gr.Button("Index separately", scale=1, min_width=90, elem_id="qa-separate")
    return {
        "urls": urls,
        "feeds": feeds,
        "fetch": fetch,
        "copies": copies,
        "pick": pick,
        "split": split,
    }


def _copies_view(app: ChatApp) -> tuple[str, list[tuple[str, str]]]:
    """The near-duplicate groups as escaped HTML, and the copies as picker choices."""
    import html

    try:
        groups = app.engine.duplicate_groups()
    except Exception:  # no index yet: nothing grouped
        groups = []
    if not groups:
        return "<p class='qa-copies-none'>No copies of one story are indexed.</p>", []
    items, choices = [], []
    for g in groups:
        a = g.article
        others = []
        for c in g.copies:
            o = c.article
            where = o.url or o.path.rsplit("/", 1)[-1]
            others.append(
                f"<li>{html.escape(o.source or '(no outlet)')}: {html.escape(o.title or where)}"
                f" <span class='qa-copy-where'>{html.escape(where)}</span>"
                f" ({c.similarity:.0%} the same)</li>"
            )
            choices.append((f"{o.source or '(no outlet)'}: {o.title or where}"[:90], o.id))
        items.append(
            f"<li><b>{html.escape(a.title or a.id)}</b> ({html.escape(a.source or 'no outlet')})"
            f", also in:<ul>{''.join(others)}</ul></li>"
        )
    return f"<ul class='qa-copies'>{''.join(items)}</ul>", choices


def _wire_web(
    gr: Any,
    app: ChatApp,
    web: dict[str, Any],
    table: Any,
    library_updates: Callable[[Any], tuple[Any, ...]],
    lib_out: list[Any],
    writes: dict[str, Any],
) -> None:
    """Events of :func:`_web_section`: fetch URLs or feeds, show and split copies."""
    from qa.errors import QAError
    from ui.render import escape_markdown

    def copies_updates() -> tuple[Any, ...]:
        view, choices = _copies_view(app)
        return (view, gr.Dropdown(choices=choices, value=None))

    def fetch(text: str, as_feeds: bool) -> tuple[Any, ...]:
        urls = [u.strip() for u in (text or "").splitlines() if u.strip()]
        if not urls:
            view = app.library_view("Type a URL first.")
            return (*library_updates(view), gr.skip(), *copies_updates())
        try:
            r = app.engine.ingest(feeds=urls) if as_feeds else app.engine.ingest(urls)
        except QAError as e:
            view = app.library_view(f"⚠️ {escape_markdown(str(e))}")
            return (*library_updates(view), text, *copies_updates())
        rep = r.report
        lines = [
            f"Fetched {len(urls)} {'feed' if as_feeds else 'URL'}{'s' if len(urls) != 1 else ''}: "
            f"{len(rep.added)} new, {len(rep.replaced)} updated, {len(rep.unchanged)} unchanged"
            + (f", {len(rep.copies)} kept as copies of indexed stories" if rep.copies else "")
            + (f", {len(r.skipped)} feed entries already indexed" if r.skipped else "")
            + "."
        ]
        lines += [f"⚠️ {escape_markdown(e)}" for e in r.errors]
        return (*library_updates(app.library_view("\n\n".join(lines))), "", *copies_updates())

    def split(copy_id: str | None) -> tuple[Any, ...]:
        if not copy_id:
            view = app.library_view("Pick the copy to index on its own first.")
            return (*library_updates(view), *copies_updates())
        try:
            app.engine.separate(copy_id)
            status = "The copy is indexed on its own now."
        except QAError as e:
            status = f"⚠️ {escape_markdown(str(e))}"
        return (*library_updates(app.library_view(status)), *copies_updates())

    shown = [web["copies"], web["pick"]]
    web["fetch"].click(
        fetch, [web["urls"], web["feeds"]], [*lib_out, web["urls"], *shown], **writes
    )
    web["split"].click(split, [web["pick"]], [*lib_out, *shown], **writes)
    # the library table changes on page load and after every write: the copies follow it
    table.change(
        copies_updates, None, [web["copies"], web["pick"]], queue=False, api_visibility="private"
    )


def _refused_report(value: str) -> tuple[list[str], int] | None:
    """The page script's note of files kept back: ``(["name: why", ...], files still sent)``."""
    try:
        data = json.loads(value or "null")
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    return [str(r) for r in data.get("refused") or []], int(data.get("pending") or 0)


def _refused(value: str) -> list[str]:
    report = _refused_report(value)
    return report[0] if report else []


def _api(gr: Any, app: ChatApp) -> None:
    """The named ``/ask`` endpoint for gradio_client (hidden components)."""
    api_q = gr.Textbox(visible=False, label="question")
    api_h = gr.Textbox(visible=False, value="[]", label="history_json")
    api_out = gr.JSON(visible=False, label="answer")
    api_btn = gr.Button(visible=False)
    api_btn.click(app.api_ask, [api_q, api_h], api_out, api_name="ask", concurrency_id="chat")


def theme() -> Any:
    """The UI's theme (local fonts only: the server may be offline)."""
    import gradio as gr

    return gr.themes.Default(
        primary_hue="blue",
        secondary_hue="slate",
        neutral_hue="slate",
        font=["QA Sans", "ui-sans-serif", "system-ui", "sans-serif"],
    )


def launch(
    engine: QA | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: tuple[str, str] | None = None,
    prevent_thread_lock: bool = False,
    quiet: bool = True,
) -> Any:
    """Build the app over ``engine`` and start its server; returns the Blocks (close() it).

    Blocks unless ``prevent_thread_lock`` (tests and notebooks pass True).
    """
    engine = engine or QA(Settings.from_env())
    demo = build_app(engine)
    # Gradio refuses bigger uploads outright; smaller ones over max_file_mb get the
    # engine's per-file message instead.
    max_mb = max(1, int(engine.settings.max_file_mb * 2))
    demo.launch(
        server_name=host,
        server_port=port,
        auth=auth,
        show_error=False,
        css=CSS,
        head=page_script(engine.settings.max_file_mb),
        theme=theme(),
        footer_links=["api"],
        quiet=quiet,
        prevent_thread_lock=prevent_thread_lock,
        max_file_size=f"{max_mb}mb",
    )
    return demo


def serve(
    settings: Settings | None = None,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: str | None = None,
) -> None:
    """Start the UI (blocking). ``auth`` is ``"user:password"`` to require a login."""
    engine = QA(settings or Settings.from_env())
    engine.warm_up()
    login = None
    if auth:
        user, _, password = auth.partition(":")
        login = (user, password)
    print(
        f"article-qa: {len(engine.index.articles)} articles indexed in "
        f"{engine.settings.index_path}; open http://{host}:{port}/",
        flush=True,
    )
    launch(engine, host=host, port=port, auth=login)


if __name__ == "__main__":
    serve()
