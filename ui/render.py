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
from ui.wording import (
    Scope,
    abstention_text,
    match_strength,
    reader_notes,
    searched,
    short,
)

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


def answer_markdown(answer: Answer, scope: Scope | None = None) -> str:
    """The chat message for an answer: escaped text, citation markers as links to their cards.

    The short answer is set in bold; notes (a truncated question, an LLM failure and the
    fallback used) follow in italics, in the reader's words (:func:`ui.wording.reader_notes`).
    An abstention says so in words that name the filters in ``scope``
    (:func:`ui.wording.abstention_text`). :func:`plain_text` turns the message back into text.
    """
    if answer.abstained:
        body = escape_markdown(abstention_text(answer, scope or Scope()))
    else:
        body = markdown_with_markers(answer.text)
    if answer.short and not answer.abstained:
        short = escape_markdown(answer.short[:1].upper() + answer.short[1:])
        if short in body:
            body = body.replace(short, f"**{short}**", 1)
    for note in reader_notes(answer.notes):
        body += f"\n\n_{escape_markdown(note)}_"
    return body


def marker_html(n: str | int) -> str:
    """A citation marker: ``[n]`` as a superscript link to source card ``n``."""
    return f"<sup><a href='#source-{n}' class='qa-marker'>[{n}]</a></sup>"


def markdown_with_markers(text: str) -> str:
    """Escape text as Markdown, keeping ``[n]`` citation markers as links to their cards."""
    # split() with one group alternates text (even positions) and marker numbers (odd)
    parts = _MARKER_MD.split(text)
    return "".join(
        marker_html(part) if i % 2 else escape_markdown(part) for i, part in enumerate(parts)
    )


_UNESCAPE_MD = re.compile(r"\\(.)")
_NOTE = re.compile(r"\n\n_[^\n]*_$")
_MARKER_HTML = re.compile(r"<sup>(?:<a [^>]*>)?\[(\d{1,3})\](?:</a>)?</sup>")


def plain_text(message: str) -> str:
    """Undo :func:`answer_markdown`: the answer's text with ``[n]`` markers, for the history.

    The follow-up logic reads the first line of earlier answers as the short answer, so the
    chat history must reach the engine as plain text, not as escaped Markdown.
    """
    text = message.strip()
    while _NOTE.search(text):
        text = _NOTE.sub("", text)
    text = _MARKER_HTML.sub(r"[\1]", text)
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


def paragraph_context(
    text: str, start: int, end: int, limit: int = 1200, min_chars: int = 160
) -> Context:
    """The paragraph around ``text[start:end]``, or its neighbours when it is the whole one.

    News articles often set every sentence as its own paragraph; then the paragraphs before
    and after are the useful context. A side shorter than ``min_chars`` takes in the next
    paragraph too (a byline's neighbour is often a dateline such as "New York CNN Business
    —", which says nothing alone). Each side is cut to about ``limit`` characters.
    """
    p_start = text.rfind("\n\n", 0, start)
    p_start = p_start + 2 if p_start >= 0 else 0
    p_end = text.find("\n\n", end)
    p_end = p_end if p_end >= 0 else len(text)
    if not text[p_start:start].strip() and not text[end:p_end].strip():
        p_start, p_end = _previous_break(text, p_start), _next_break(text, p_end)
    while p_start > 0 and len(text[p_start:start].strip()) < min_chars:
        p_start = _previous_break(text, p_start)
    while p_end < len(text) and len(text[end:p_end].strip()) < min_chars:
        p_end = _next_break(text, p_end)
    before = text[max(p_start, start - limit) : start]
    after = text[end : min(p_end, end + limit)]
    if p_start < start - limit:
        before = "…" + before
    if p_end > end + limit:
        after += "…"
    return Context(before=before, after=after)


def _previous_break(text: str, p_start: int) -> int:
    """The start of the paragraph before the one starting at ``p_start`` (0 at the top)."""
    if p_start <= 0:
        return 0
    prev = text.rfind("\n\n", 0, max(p_start - 2, 0))
    return prev + 2 if prev >= 0 else 0


def _next_break(text: str, p_end: int) -> int:
    """The end of the paragraph after the one ending at ``p_end`` (the text's end at the end)."""
    if p_end >= len(text):
        return len(text)
    nxt = text.find("\n\n", p_end + 2)
    return nxt if nxt >= 0 else len(text)


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
        hint = "No sources: nothing in the articles answers this." if answer.abstained else ""
        return (
            f"<div class='qa-sources qa-empty' data-question='{asked}'>"
            f"{hint or 'No sources cited.'}</div>"
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
    """The retrieved passages (behind the "Retrieved passages" toggle), cited ones tagged.

    Each passage shows how well it matches as a bar and a word ("strong match"); the raw
    scores are in :func:`details_html`.
    """
    if not passages:
        return "<div class='qa-passages qa-empty'>No passages retrieved.</div>"
    rows = []
    for p in passages:
        tag = (
            " <span class='qa-cited'>cited</span>"
            if _is_cited(p, citations)
            else " <span class='qa-uncited'>not cited</span>"
        )
        word, bar = match_strength(p, passages)
        rows.append(
            f"<div class='qa-passage'><div class='qa-passage-head'><b>#{p.rank}</b> "
            f"{html.escape(p.title or 'Untitled article')}"
            f" <small>({html.escape(p.source or 'no outlet')})</small>{tag}</div>"
            f"<div class='qa-match' title='{word}'><span class='qa-bar'>"
            f"<span style='width:{round(bar * 100)}%'></span></span> {word}</div>"
            f"<p>{html.escape(p.text)}</p></div>"
        )
    return "<div class='qa-passages'>" + "".join(rows) + "</div>"


def details_html(answer: Answer) -> str:
    """The numbers behind an answer, behind a toggle: confidence, the full query, raw
    retrieval scores and the answer stage's own notes (for people tuning the answerer)."""
    rows = [
        f"<li>Answered by: {html.escape(answer.mode)}"
        + (f" ({html.escape(answer.question_type)} question)" if answer.question_type else "")
        + "</li>",
        f"<li>Confidence: {answer.confidence:.2f}</li>",
        f"<li>Query searched: {html.escape(answer.query or answer.question)}</li>",
    ]
    rows += [f"<li>Note: {html.escape(n)}</li>" for n in answer.notes]
    for p in answer.passages:
        signals = ", ".join(f"{html.escape(k)} {v:.3f}" for k, v in sorted(p.signals.items()))
        rows.append(
            f"<li>#{p.rank} score {p.score:.3f}" + (f" ({signals})" if signals else "") + "</li>"
        )
    return (
        "<details class='qa-details'><summary>Scores and search details</summary>"
        f"<ul>{''.join(rows)}</ul></details>"
    )


def passages_label(answer: Answer | None) -> str:
    """The toggle's label: how many passages were retrieved and how many went uncited."""
    if answer is None or not answer.passages:
        return "Retrieved passages"
    uncited = sum(not _is_cited(p, answer.citations) for p in answer.passages)
    return f"Retrieved passages ({len(answer.passages)}, {uncited} not cited)"


def query_markdown(answer: Answer) -> str:
    """What was searched beyond the question, in words (Markdown; "" when just the question).

    A follow-up shows the words taken from the conversation ("Searched for: ... (from the
    conversation)"); an acronym shows the long form searched with it.
    """
    what = searched(answer)
    lines = []
    if what.context:
        words = ", ".join(f"“{escape_markdown(short(c))}”" for c in what.context)
        lines.append(f"Searched for your question with {words} (from the conversation).")
    if what.bridges:
        pairs = ", ".join(
            f"{escape_markdown(found)} as “{escape_markdown(short(added))}”"
            for found, added in what.bridges
        )
        lines.append(f"Also searched {pairs}.")
    return "  \n".join(lines)


# ---- the library ------------------------------------------------------------------------

LIBRARY_COLUMNS = ("Title", "Outlet", "Byline", "Date", "Chunks")


def library_html(rows: Sequence[Sequence[object]]) -> str:
    """The Library's article list: a table on wide screens, one card per article on narrow.

    Args:
        rows: ``[title, outlet, byline, date, chunks, article id]`` per article.

    Returns:
        HTML in which every string from an article is escaped; the id is a data attribute,
        not a column (readers find articles by headline).
    """
    if not rows:
        return "<div class='qa-library qa-empty'>No articles yet.</div>"
    head = "".join(f"<th scope='col'>{c}</th>" for c in LIBRARY_COLUMNS)
    body = []
    for row in rows:
        title, outlet, byline, date, chunks, article_id = (str(x) for x in row[:6])
        cells = (
            ("title", title),
            ("outlet", outlet),
            ("byline", byline),
            ("date", date),
            ("chunks", chunks),
        )
        tds = "".join(
            f"<td class='qa-col-{name}' data-label='{label}'>{html.escape(value)}</td>"
            for (name, value), label in zip(cells, LIBRARY_COLUMNS)
        )
        body.append(f"<tr data-article='{html.escape(article_id, quote=True)}'>{tds}</tr>")
    return (
        "<div class='qa-library'><table><thead><tr>"
        f"{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )
