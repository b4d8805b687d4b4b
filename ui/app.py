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

import os
from collections.abc import Iterator
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa.engine import QA  # noqa: E402
from qa.settings import Settings  # noqa: E402
from ui.chat import (  # noqa: E402  (re-exported: ui.app is where callers look first)
    EMPTY_INDEX,
    EXAMPLE_QUESTION,
    THINKING,
    UPLOAD_TYPES,
    ChatApp,
    ChatView,
    LibraryView,
    engine_history,
)
from ui.render import passages_label, sources_html  # noqa: E402

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

CSS = """
/* Gradio's bundled Source Sans Pro SemiBold is a few-glyph subset: bold text mixes in
   fallback glyphs. This family maps every weight to the complete Regular and Bold files. */
@font-face {font-family: 'QA Sans'; font-weight: 100 500; font-style: normal;
            src: url('static/fonts/SourceSansPro/SourceSansPro-Regular.woff2') format('woff2');}
@font-face {font-family: 'QA Sans'; font-weight: 600 900; font-style: normal;
            src: url('static/fonts/SourceSansPro/SourceSansPro-Bold.woff2') format('woff2');}
.qa-header h1 {font-size: 1.6rem; margin: 0 0 2px 0;}
.qa-header p {margin: 0; color: var(--body-text-color-subdued);}
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
.qa-passages {max-height: 540px; overflow-y: auto; padding-right: 4px;}
#qa-library, #qa-library * {font-family: var(--font) !important;}
.qa-passage {border-top: 1px solid var(--border-color-primary); padding: 6px 0;}
.qa-passage p {margin: 4px 0; font-size: 0.92em;}
.qa-cited {color: #059669; font-size: 0.8em; border: 1px solid #059669; border-radius: 4px;
           padding: 0 4px;}
.qa-uncited {color: #6b7280; font-size: 0.8em; border: 1px solid #d1d5db; border-radius: 4px;
             padding: 0 4px;}
.qa-empty {color: var(--body-text-color-subdued);}
"""


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
        return (
            view.history,
            view.sources,
            view.passages,
            gr.Accordion(label=view.passages_label),
            view.status,
            view.question,
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

    def library_updates(view: LibraryView, reset_scope: bool = False) -> tuple[Any, ...]:
        scope = [("All articles", ""), *view.articles]
        return (
            view.status,
            view.rows,
            gr.Dropdown(choices=view.outlets),
            gr.Dropdown(choices=view.articles, value=None),
            gr.Dropdown(choices=scope, value="") if reset_scope else gr.Dropdown(choices=scope),
            gr.Markdown(view.notice, visible=bool(view.notice)),
        )

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
        gr.HTML(
            "<div class='qa-header'><h1>article-qa</h1><p>Ask questions about your news "
            "articles. Every answer cites the exact sentence it comes from.</p></div>"
        )
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                notice = gr.Markdown(visible=False, elem_id="qa-notice")
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
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
                            send = gr.Button(
                                "Ask", variant="primary", scale=1, min_width=80, elem_id="qa-send"
                            )
                        with gr.Row():
                            status = gr.Markdown(elem_id="qa-status")
                            new_chat = gr.Button(
                                "New chat", size="sm", scale=0, min_width=110, elem_id="qa-new-chat"
                            )
                    with gr.Column(scale=2):
                        gr.Markdown("### Sources")
                        sources = gr.HTML(sources_html(None), elem_id="qa-sources")
                        with gr.Accordion(
                            passages_label(None), open=False, elem_id="qa-passages"
                        ) as passages_box:
                            passages = gr.HTML("")
                        with gr.Accordion("Settings", open=False, elem_id="qa-settings"):
                            k = gr.Slider(
                                1, 20, value=settings.k, step=1, label="Passages to retrieve"
                            )
                            mode = gr.Radio(
                                modes,
                                label="Answer mode",
                                value=settings.answer_mode
                                if settings.answer_mode in modes
                                else "extractive",
                                info=None
                                if settings.llm_available
                                else "LLM answers need a server: set QA_LLM_MODEL (and "
                                "QA_LLM_BASE_URL).",
                            )
                            scope = gr.Dropdown(
                                choices=[("All articles", "")],
                                value="",
                                label="Ask about",
                                info="One article: the one “this article” means",
                                elem_id="qa-scope",
                            )
                            outlets = gr.Dropdown(
                                choices=[], multiselect=True, label="Only these outlets"
                            )
                            with gr.Row():
                                date_from = gr.Textbox(label="From date", placeholder="YYYY-MM-DD")
                                date_to = gr.Textbox(label="To date", placeholder="YYYY-MM-DD")
            with gr.Tab("Library", id="library"):
                lib_status = gr.Markdown(elem_id="qa-library-status")
                table = gr.Dataframe(
                    headers=["title", "outlet", "byline", "date", "chunks", "id"],
                    datatype=["str", "str", "str", "str", "number", "str"],
                    interactive=False,
                    elem_id="qa-library",
                    wrap=True,
                    column_widths=["38%", "14%", "16%", "10%", "7%", "15%"],
                )
                with gr.Row(equal_height=False):
                    with gr.Column():
                        gr.Markdown(
                            "#### Upload files\nText, Markdown, saved web pages, or "
                            "JSON/JSONL records with `text` and optional `title`, "
                            "`source`, `author`, `date`, `url`. Files are indexed as "
                            "soon as they are uploaded."
                        )
                        files = gr.File(
                            file_count="multiple",
                            file_types=UPLOAD_TYPES,
                            label="Articles (.txt .md .html .json .jsonl)",
                            elem_id="qa-upload",
                            height=150,
                        )
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
                                "Delete", variant="stop", scale=1, min_width=90, elem_id="qa-delete"
                            )
                    with gr.Column():
                        gr.Markdown(
                            "#### Paste an article\nIts text, or the saved HTML of its page."
                        )
                        p_title = gr.Textbox(label="Headline")
                        with gr.Row():
                            p_source = gr.Textbox(label="Outlet")
                            p_url = gr.Textbox(label="URL")
                        p_text = gr.Textbox(
                            label="Text or HTML", lines=6, max_lines=14, elem_id="qa-paste"
                        )
                        paste = gr.Button("Index pasted article", elem_id="qa-index-paste")

        # chat: the question box, the Ask button and the example all answer the same way
        chat_in = [box, chatbot, k, mode, outlets, date_from, date_to, scope]
        chat_out = [chatbot, sources, passages, passages_box, status, box]
        box.submit(respond, chat_in, chat_out, api_visibility="private", concurrency_id="chat")
        send.click(respond, chat_in, chat_out, api_visibility="private", concurrency_id="chat")
        chatbot.example_select(example_text, None, box, api_visibility="private", queue=False).then(
            respond, chat_in, chat_out, api_visibility="private", concurrency_id="chat"
        )

        def reset() -> tuple[Any, ...]:
            return ([], sources_html(None), "", gr.Accordion(label=passages_label(None)), "", "")

        new_chat.click(reset, None, chat_out, api_visibility="private", queue=False)
        chatbot.clear(reset, None, chat_out, api_visibility="private", queue=False)

        # library: one writer at a time, on its own queue so questions are not held up
        lib_out = [lib_status, table, outlets, del_pick, scope, notice]
        writes: dict[str, Any] = {
            "api_visibility": "private",
            "concurrency_id": "ingest",
            "concurrency_limit": 1,
            "show_progress_on": [table],
        }
        files.upload(upload, [files], [*lib_out, files], **writes)
        paste.click(
            lambda *a: library_updates(app.paste(*a)),
            [p_title, p_text, p_source, p_url],
            lib_out,
            **writes,
        )
        delete.click(
            lambda i: library_updates(app.delete(i), reset_scope=True),
            [del_pick],
            lib_out,
            **writes,
        )
        demo.load(
            lambda: library_updates(app.library_view()), None, lib_out, api_visibility="private"
        )

        # the named API endpoint for gradio_client
        api_q = gr.Textbox(visible=False, label="question")
        api_h = gr.Textbox(visible=False, value="[]", label="history_json")
        api_out = gr.JSON(visible=False, label="answer")
        api_btn = gr.Button(visible=False)
        api_btn.click(app.api_ask, [api_q, api_h], api_out, api_name="ask", concurrency_id="chat")
    # Answers are CPU-bound and short: a few at a time; writers have their own limit of 1.
    demo.queue(default_concurrency_limit=4, max_size=64)
    demo.qa_app = app
    return demo


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
