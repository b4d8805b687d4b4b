"""HTML and Markdown for the chat UI, built from answers with every article string escaped.

Article text is data: it goes through :func:`html.escape` (HTML panels) or
:func:`escape_markdown` (chat messages) before it reaches the page, so a headline holding
``<script>`` shows as text and a ``[link](javascript:...)`` stays inert.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlparse

from qa.answer_types import Answer
from qa.cite import Citation
from qa.retrieval import Passage

# Markdown punctuation that can start a construct; "&", "<" and ">" become entities instead
# (a backslash before "&" would print "&lt;" literally rather than "<").
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$=^:@])")
_MARKER_MD = re.compile(r"\[(\d{1,3})\]")


def escape_markdown(text: str) -> str:
    """Article text as Markdown that renders as exactly that text.

    Markdown punctuation is backslash-escaped and ``& < >`` become entities, so a
    ``<script>`` tag or a ``[link](javascript:...)`` prints as typed and does nothing.
    """
    escaped = _MD_SPECIAL.sub(r"\\\1", text)
    return escaped.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def safe_url(url: str) -> str:
    """The URL if it is http(s), else "" (no ``javascript:`` or ``data:`` links)."""
    try:
        scheme = urlparse(url.strip()).scheme.lower()
    except ValueError:
        return ""
    return url.strip() if scheme in ("http", "https") else ""


def answer_markdown(answer: Answer) -> str:
    """The chat message for an answer: escaped text, citation markers as superscripts.

    The short answer is set in bold; notes (a truncated question, an LLM failure and the
    fallback used) follow in italics. :func:`plain_text` turns the message back into text.
    """
    body = markdown_with_markers(answer.text)
    if answer.short and not answer.abstained:
        short = escape_markdown(answer.short[:1].upper() + answer.short[1:])
        if short in body:
            body = body.replace(short, f"**{short}**", 1)
    for note in answer.notes:
        body += f"\n\n_{escape_markdown(note)}_"
    return body


def markdown_with_markers(text: str) -> str:
    """Escape text as Markdown, keeping ``[n]`` citation markers as superscripts."""
    # split() with one group alternates text (even positions) and marker numbers (odd)
    parts = _MARKER_MD.split(text)
    return "".join(
        f"<sup>[{part}]</sup>" if i % 2 else escape_markdown(part) for i, part in enumerate(parts)
    )


_UNESCAPE_MD = re.compile(r"\\(.)")
_NOTE = re.compile(r"\n\n_[^\n]*_$")


def plain_text(message: str) -> str:
    """Undo :func:`answer_markdown`: the answer's text with ``[n]`` markers, for the history.

    The follow-up logic reads the first line of earlier answers as the short answer, so the
    chat history must reach the engine as plain text, not as escaped Markdown.
    """
    text = message.strip()
    while _NOTE.search(text):
        text = _NOTE.sub("", text)
    text = re.sub(r"<sup>\[(\d{1,3})\]</sup>", r"[\1]", text)
    text = text.replace("**", "")
    text = _UNESCAPE_MD.sub(r"\1", text)
    return html.unescape(text)


def _quote_html(c: Citation) -> str:
    """The quote with the short answer highlighted (offsets are article offsets)."""
    if c.highlight_start >= 0 and c.highlight_end > c.highlight_start:
        a = c.highlight_start - c.start
        b = c.highlight_end - c.start
        return (
            html.escape(c.quote[:a])
            + "<mark>"
            + html.escape(c.quote[a:b])
            + "</mark>"
            + html.escape(c.quote[b:])
        )
    return html.escape(c.quote)


@dataclass(frozen=True)
class Context:
    """The article text around a quoted sentence, for "show the paragraph".

    Attributes:
        before: Text of the paragraph(s) before the quote.
        after: Text after it.
    """

    before: str
    after: str


def context_key(c: Citation) -> str:
    """The key of a citation in the ``context`` mapping of :func:`sources_html`."""
    return f"{c.article_id}:{c.start}"


def paragraph_context(text: str, start: int, end: int, limit: int = 1200) -> Context:
    """The paragraph around ``text[start:end]``, or its neighbours when it is the whole one.

    News articles often set every sentence as its own paragraph; then the paragraphs before
    and after are the useful context. Each side is cut to about ``limit`` characters.
    """
    p_start = text.rfind("\n\n", 0, start)
    p_start = p_start + 2 if p_start >= 0 else 0
    p_end = text.find("\n\n", end)
    p_end = p_end if p_end >= 0 else len(text)
    if not text[p_start:start].strip() and not text[end:p_end].strip():
        prev = text.rfind("\n\n", 0, max(p_start - 2, 0))
        p_start = prev + 2 if prev >= 0 and p_start > 0 else 0
        nxt = text.find("\n\n", p_end + 2) if p_end < len(text) else -1
        p_end = nxt if nxt >= 0 else len(text)
    before = text[max(p_start, start - limit) : start]
    after = text[end : min(p_end, end + limit)]
    if p_start < start - limit:
        before = "…" + before
    if p_end > end + limit:
        after += "…"
    return Context(before=before, after=after)


def _context_html(c: Citation, ctx: Context | None) -> str:
    if ctx is None or not (ctx.before.strip() or ctx.after.strip()):
        return ""

    def paras(s: str) -> str:
        # blank lines between paragraphs become breaks; single newlines stay spaces
        return re.sub(r"\s*\n\s*\n\s*", "<br><br>", html.escape(s))

    return (
        "<details class='qa-context'><summary>Show the surrounding paragraph</summary>"
        f"<p class='qa-para'>{paras(ctx.before.lstrip())}"
        f"<span class='qa-ctx-quote'>{_quote_html(c)}</span>"
        f"{paras(ctx.after.rstrip())}</p></details>"
    )


def sources_html(answer: Answer | None, context: Mapping[str, Context] | None = None) -> str:
    """The sources panel: each cited article with the quoted sentence and its paragraph.

    Args:
        answer: The answer, or None for an empty panel.
        context: The text around each citation, by :func:`context_key`.

    Returns:
        HTML in which every string from an article is escaped.
    """
    if answer is None:
        return (
            "<div class='qa-sources qa-empty'>The articles behind each answer appear "
            "here, with the exact sentence quoted.</div>"
        )
    # data-question tells scripts (and the browser tests) which question the panel is for
    asked = html.escape(answer.question, quote=True)
    if not answer.citations:
        why = (
            " The articles don't hold the answer; the closest passages are under "
            "<i>Retrieved passages</i>."
            if answer.abstained
            else ""
        )
        return (
            f"<div class='qa-sources qa-empty' data-question='{asked}'>No sources cited.{why}</div>"
        )
    items = []
    for c in answer.citations:
        meta = "".join(f"<span>{html.escape(x)}</span>" for x in (c.source, c.author, c.date) if x)
        url = safe_url(c.url)
        link = (
            f"<a href='{html.escape(url, quote=True)}' target='_blank' "
            f"rel='noopener noreferrer nofollow'>open article ↗</a>"
            if url
            else ""
        )
        if c.quote:
            quote = _quote_html(c)
        else:
            quote = "<i>(from the article's metadata)</i>"
        more = _context_html(c, (context or {}).get(context_key(c)))
        items.append(
            f"<div class='qa-source' id='source-{c.n}'>"
            f"<div class='qa-source-head'><span class='qa-n'>[{c.n}]</span> "
            f"<span class='qa-title'>{html.escape(c.title or c.article_id)}</span></div>"
            f"<div class='qa-meta'>{meta}{link}</div>"
            f"<blockquote class='qa-quote'>{quote}</blockquote>{more}</div>"
        )
    return f"<div class='qa-sources' data-question='{asked}'>" + "".join(items) + "</div>"


def _is_cited(p: Passage, citations: Sequence[Citation]) -> bool:
    return any(
        c.article_id == p.article_id and c.start < p.end and c.end > p.start for c in citations
    )


def passages_html(passages: Sequence[Passage], citations: Sequence[Citation] = ()) -> str:
    """The retrieved passages (behind the "Retrieved passages" toggle), cited ones tagged."""
    if not passages:
        return "<div class='qa-passages qa-empty'>No passages retrieved.</div>"
    rows = []
    for p in passages:
        tag = (
            " <span class='qa-cited'>cited</span>"
            if _is_cited(p, citations)
            else " <span class='qa-uncited'>not cited</span>"
        )
        rows.append(
            f"<div class='qa-passage'><div class='qa-passage-head'><b>#{p.rank}</b> "
            f"{html.escape(p.title or p.article_id)}"
            f" <small>({html.escape(p.source or 'no outlet')}; score {p.score:.2f})</small>"
            f"{tag}</div><p>{html.escape(p.text)}</p></div>"
        )
    return "<div class='qa-passages'>" + "".join(rows) + "</div>"


def passages_label(answer: Answer | None) -> str:
    """The toggle's label: how many passages were retrieved and how many went uncited."""
    if answer is None or not answer.passages:
        return "Retrieved passages"
    uncited = sum(not _is_cited(p, answer.citations) for p in answer.passages)
    return f"Retrieved passages ({len(answer.passages)}, {uncited} not cited)"


def query_markdown(answer: Answer) -> str:
    """The query actually searched, and the acronym bridges it used."""
    line = f"**Searched:** {escape_markdown(answer.query or answer.question)}"
    if answer.expansions:
        bridges = ", ".join(
            f"{escape_markdown(e.found)} → {escape_markdown(e.added)}" for e in answer.expansions
        )
        line += f"  \n**Bridges:** {bridges}"
    return line
