"""The Gradio chat UI: ask questions in a chat, read the cited sentences, manage articles.

Start it with ``qa serve`` (127.0.0.1:7860). From Python, the chat is the named endpoint
``/ask``::

    from gradio_client import Client
    Client("http://127.0.0.1:7860/").predict("How long does the SDF expect the fight to last?",
                                             "[]", api_name="/ask")
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa.answer_types import Answer  # noqa: E402
from qa.articles import make_article, parse_html  # noqa: E402
from qa.engine import QA  # noqa: E402
from qa.errors import QAError  # noqa: E402
from qa.retrieve import Filters  # noqa: E402
from qa.settings import Settings  # noqa: E402
from ui.render import answer_markdown, passages_html, query_markdown, sources_html  # noqa: E402

log = logging.getLogger(__name__)

EXAMPLE_QUESTION = "How long does the SDF expect the fight to last?"
CSS = """
.qa-source {border-left: 3px solid #6b7280; padding: 4px 10px; margin: 8px 0;}
.qa-quote {margin: 6px 0; font-style: italic;}
.qa-quote mark {background: #fde68a; font-style: normal; padding: 0 2px;}
.qa-n {font-weight: bold; color: #2563eb;}
.qa-passage {border-top: 1px solid #e5e7eb; padding: 6px 0;}
.qa-cited {color: #059669; font-size: 0.8em;}
.qa-empty {color: #6b7280;}
"""


def _paragraph_context(engine: QA, answer: Answer) -> dict[str, str]:
    """The paragraph (text between blank lines) around each citation."""
    out = {}
    for c in answer.citations:
        try:
            text = engine.article(c.article_id).text
        except QAError:
            continue
        start = text.rfind("\n\n", 0, c.start)
        end = text.find("\n\n", c.end)
        out[f"{c.article_id}:{c.start}"] = text[start + 2 if start >= 0 else 0:
                                                end if end >= 0 else len(text)].strip()
    return out


def _history_for_engine(history: list[Any]) -> list[dict[str, str]]:
    """Chat messages from the Chatbot, as plain role/content text."""
    out = []
    for m in history or []:
        if isinstance(m, dict):
            content = m.get("content")
            if isinstance(content, list):
                content = " ".join(str(c.get("text", "")) if isinstance(c, dict) else str(c)
                                   for c in content)
            out.append({"role": str(m.get("role")), "content": str(content or "")})
    return out


class ChatApp:
    """The UI's callbacks over one :class:`QA` engine (testable without a browser)."""

    def __init__(self, engine: QA) -> None:
        self.engine = engine
        self.raw_history: dict[int, str] = {}

    # ---- chat -------------------------------------------------------------------------

    def respond(
        self, message: str, history: list[Any], k: float = 5, mode: str = "extractive",
        sources: list[str] | None = None, date_from: str = "", date_to: str = "",
    ) -> Iterator[tuple[list[dict[str, str]], str, str, str, str]]:
        """Answer ``message`` in the chat; yields (history, sources, passages, query, box)."""
        history = list(history or [])
        previous = _history_for_engine(history)
        if not message or not message.strip():
            yield (history, sources_html(None), "", "Type a question about the articles.", "")
            return
        history = history + [{"role": "user", "content": message},
                             {"role": "assistant", "content": "…"}]
        yield history, sources_html(None), "", "", ""
        filters = Filters(sources=tuple(sources or ()), date_from=(date_from or "").strip(),
                          date_to=(date_to or "").strip())
        try:
            streamed = ""
            answer: Answer | None = None
            for item in self.engine.ask_stream(message, previous, k=int(k), mode=mode,
                                               filters=filters):
                if isinstance(item, Answer):
                    answer = item
                else:
                    streamed += item
                    history[-1] = {"role": "assistant", "content": streamed}
                    yield history, sources_html(None), "", "", ""
            assert answer is not None
        except QAError as e:
            history[-1] = {"role": "assistant", "content": f"⚠️ {e}"}
            yield history, sources_html(None), "", "", ""
            return
        history[-1] = {"role": "assistant", "content": answer_markdown(answer)}
        cited = {c.article_id for c in answer.citations}
        yield (history, sources_html(answer, _paragraph_context(self.engine, answer)),
               passages_html(answer.passages, cited), query_markdown(answer), "")

    def api_ask(self, question: str, history_json: str = "[]") -> dict[str, Any]:
        """The ``/ask`` API: a question and a JSON list of earlier chat messages -> Answer dict."""
        try:
            history = json.loads(history_json or "[]")
        except json.JSONDecodeError as e:
            return {"error": f"history_json is not valid JSON: {e}"}
        try:
            return self.engine.ask(question, history).to_dict()
        except QAError as e:
            return {"error": str(e)}

    # ---- library ----------------------------------------------------------------------

    def library_rows(self) -> list[list[Any]]:
        """One row per indexed article: id, title, outlet, byline, date, chunks."""
        idx = self.engine.index
        counts: dict[str, int] = {}
        for c in idx.chunks:
            counts[c.article_id] = counts.get(c.article_id, 0) + 1
        return [[a.id, a.title, a.source, a.author, a.date, counts.get(a.id, 0)]
                for a in idx.articles]

    def library_summary(self) -> str:
        """A one-line count of articles and chunks."""
        idx = self.engine.index
        return f"{len(idx.articles)} articles, {len(idx.chunks)} chunks indexed."

    def upload(self, files: list[Any] | None) -> tuple[str, list[list[Any]], Any]:
        """Index uploaded files; returns (status markdown, library rows, source choices)."""
        import gradio as gr

        paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in files or []]
        if not paths:
            return "Choose one or more files first.", self.library_rows(), gr.update()
        try:
            result = self.engine.ingest(paths)
        except QAError as e:
            return f"⚠️ {e}", self.library_rows(), gr.update()
        r = result.report
        lines = [f"Indexed {len(r.added)} new, {len(r.replaced)} updated, {len(r.unchanged)} "
                 f"unchanged article(s) ({r.chunks} chunks)."]
        for err in result.errors:
            # show the file's own name, never the server's temp path
            lines.append(f"- ⚠️ {_short_error(err)}")
        return "\n".join(_md(x) for x in lines), self.library_rows(), self.source_choices()

    def paste(self, title: str, text: str, source: str = "", url: str = ""
              ) -> tuple[str, list[list[Any]], Any]:
        """Index pasted text, or the saved HTML of a page."""
        import gradio as gr

        if not text or not text.strip():
            return "Paste the article's text (or its saved HTML) first.", self.library_rows(), \
                gr.update()
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
            return f"⚠️ {_md(str(e))}", self.library_rows(), gr.update()
        state = "already indexed" if r.unchanged else "indexed"
        return (f"{_md(article.title or 'Pasted article')} {state} ({r.chunks} chunks).",
                self.library_rows(), self.source_choices())

    def delete(self, article_id: str) -> tuple[str, list[list[Any]], Any]:
        """Remove an article by id."""
        import gradio as gr

        article_id = (article_id or "").strip()
        if not article_id:
            return "Enter the id of the article to delete.", self.library_rows(), gr.update()
        gone = self.engine.delete([article_id])
        msg = f"Deleted {_md(article_id)}." if gone else f"No article with id {_md(article_id)}."
        return msg, self.library_rows(), self.source_choices()

    def source_choices(self) -> Any:
        """The outlet filter's choices."""
        import gradio as gr

        outlets = sorted({a.source for a in self.engine.index.articles if a.source})
        return gr.update(choices=outlets)


def _md(s: str) -> str:
    from ui.render import escape_markdown

    return escape_markdown(s)


def _short_error(err: str) -> str:
    # "/tmp/gradio/abc/name.txt: message" -> "name.txt: message"
    path, sep, rest = err.partition(": ")
    return f"{Path(path).name}: {rest}" if sep else err


def build_app(engine: QA | None = None) -> Any:
    """Build the Gradio Blocks app over an engine (default: settings from the environment)."""
    import gradio as gr

    engine = engine or QA(Settings.from_env())
    app = ChatApp(engine)
    settings = engine.settings
    modes = ["extractive", "llm"] if settings.llm_available else ["extractive"]

    with gr.Blocks(title="article-qa") as demo:
        gr.Markdown("## article-qa\nAsk about your news articles. Every answer cites the exact "
                    "sentence it comes from.")
        with gr.Tab("Chat"):
            with gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(label="Chat", height=420, elem_id="qa-chat",
                                         sanitize_html=True, buttons=["copy"])
                    with gr.Row():
                        box = gr.Textbox(placeholder="Ask a question about the articles…",
                                         show_label=False, scale=5, elem_id="qa-question",
                                         autofocus=True)
                        send = gr.Button("Ask", variant="primary", scale=1, elem_id="qa-send")
                    new_chat = gr.Button("New chat", size="sm", elem_id="qa-new-chat")
                    gr.Examples(examples=[[EXAMPLE_QUESTION]], inputs=[box],
                                label="Try an example")
                    query_md = gr.Markdown(elem_id="qa-query")
                with gr.Column(scale=2):
                    gr.Markdown("### Sources")
                    sources = gr.HTML(sources_html(None), elem_id="qa-sources")
                    with gr.Accordion("Retrieved passages", open=False, elem_id="qa-passages"):
                        passages = gr.HTML("")
                    with gr.Accordion("Settings", open=False):
                        k = gr.Slider(1, 20, value=settings.k, step=1,
                                      label="Passages to retrieve")
                        mode = gr.Radio(modes, value=settings.answer_mode if settings.answer_mode
                                        in modes else "extractive", label="Answer mode")
                        outlets = gr.Dropdown(choices=[], multiselect=True,
                                              label="Only these outlets")
                        date_from = gr.Textbox(label="From date (YYYY-MM-DD)")
                        date_to = gr.Textbox(label="To date (YYYY-MM-DD)")
            inputs = [box, chatbot, k, mode, outlets, date_from, date_to]
            outputs = [chatbot, sources, passages, query_md, box]
            box.submit(app.respond, inputs, outputs, api_visibility="private",
                       concurrency_id="chat")
            send.click(app.respond, inputs, outputs, api_visibility="private",
                       concurrency_id="chat")
            new_chat.click(lambda: ([], sources_html(None), "", "", ""), None, outputs,
                           api_visibility="private")
        with gr.Tab("Library"):
            status = gr.Markdown(elem_id="qa-library-status")
            table = gr.Dataframe(headers=["id", "title", "outlet", "byline", "date", "chunks"],
                                 interactive=False, elem_id="qa-library", wrap=True)
            with gr.Row():
                with gr.Column():
                    files = gr.File(file_count="multiple", label="Upload articles (.txt .md "
                                    ".html .json .jsonl)", file_types=[".txt", ".md", ".html",
                                                                       ".htm", ".json", ".jsonl"],
                                    elem_id="qa-upload")
                    upload = gr.Button("Index uploaded files", elem_id="qa-index-files")
                with gr.Column():
                    p_title = gr.Textbox(label="Title")
                    p_source = gr.Textbox(label="Outlet")
                    p_url = gr.Textbox(label="URL")
                    p_text = gr.Textbox(label="Article text, or a page's saved HTML", lines=6,
                                        elem_id="qa-paste")
                    paste = gr.Button("Index pasted text", elem_id="qa-index-paste")
            with gr.Row():
                del_id = gr.Textbox(label="Article id to delete", scale=3)
                delete = gr.Button("Delete", variant="stop", scale=1)
            lib_out = [status, table, outlets]
            upload.click(app.upload, [files], lib_out, api_visibility="private",
                         concurrency_id="ingest", concurrency_limit=1)
            paste.click(app.paste, [p_title, p_text, p_source, p_url], lib_out,
                        api_visibility="private", concurrency_id="ingest", concurrency_limit=1)
            delete.click(app.delete, [del_id], lib_out, api_visibility="private",
                         concurrency_id="ingest", concurrency_limit=1)
        # the named API endpoint for gradio_client
        api_q = gr.Textbox(visible=False)
        api_h = gr.Textbox(visible=False, value="[]")
        api_out = gr.JSON(visible=False)
        api_btn = gr.Button(visible=False)
        api_btn.click(app.api_ask, [api_q, api_h], api_out, api_name="ask",
                      concurrency_id="chat")
        demo.load(lambda: (app.library_summary(), app.library_rows(), app.source_choices()),
                  None, lib_out, api_visibility="private")
    demo.queue(default_concurrency_limit=4)
    demo.qa_app = app  # type: ignore[attr-defined]
    return demo


def serve(settings: Settings | None = None, host: str = "127.0.0.1", port: int = 7860,
          auth: str | None = None) -> None:
    """Start the UI (blocking). ``auth`` is ``"user:password"`` to require a login."""
    engine = QA(settings or Settings.from_env())
    engine.warm_up()
    demo = build_app(engine)
    login = None
    if auth:
        user, _, password = auth.partition(":")
        login = (user, password)
    print(f"article-qa: {len(engine.index.articles)} articles indexed in "
          f"{engine.settings.index_path}; open http://{host}:{port}/", flush=True)
    demo.launch(server_name=host, server_port=port, auth=login, show_error=False,
                css=CSS, footer_links=["api"], quiet=True)


if __name__ == "__main__":
    serve()
