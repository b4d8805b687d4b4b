"""HTML and Markdown for the chat UI, built from answers with every article string escaped.

Article text is data: it goes through :func:`html.escape` (HTML panels) or
:func:`escape_markdown` (chat messages) before it reaches the page, so a headline holding
``<script>`` shows as text and a ``[link](javascript:...)`` stays inert.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from urllib.parse import urlparse

from qa.answer_types import Answer
from qa.cite import Citation
from qa.retrieve import Passage

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~<&$])")


def escape_markdown(text: str) -> str:
    """Backslash-escape Markdown punctuation and HTML characters in article text."""
    escaped = _MD_SPECIAL.sub(r"\\\1", text)
    return escaped.replace("<", "&lt;").replace(">", "&gt;")


def safe_url(url: str) -> str:
    """The URL if it is http(s), else "" (no ``javascript:`` or ``data:`` links)."""
    try:
        scheme = urlparse(url.strip()).scheme.lower()
    except ValueError:
        return ""
    return url.strip() if scheme in ("http", "https") else ""


def answer_markdown(answer: Answer) -> str:
    """The chat message for an answer: escaped text, citation markers as superscripts."""
    parts = re.split(r"(\[\d{1,3}\])", answer.text)
    out = []
    for part in parts:
        m = re.fullmatch(r"\[(\d{1,3})\]", part)
        out.append(f"<sup>[{m.group(1)}]</sup>" if m else escape_markdown(part))
    body = "".join(out)
    if answer.short and not answer.abstained:
        short = escape_markdown(answer.short[:1].upper() + answer.short[1:])
        body = body.replace(short, f"**{short}**", 1)
    for note in answer.notes:
        body += f"\n\n_{escape_markdown(note)}_"
    return body


def _quote_html(c: Citation) -> str:
    """The quote with the short answer highlighted (offsets are article offsets)."""
    if c.highlight_start >= 0 and c.highlight_end > c.highlight_start:
        a = c.highlight_start - c.start
        b = c.highlight_end - c.start
        return (html.escape(c.quote[:a]) + "<mark>" + html.escape(c.quote[a:b]) + "</mark>"
                + html.escape(c.quote[b:]))
    return html.escape(c.quote)


def sources_html(answer: Answer | None, context: dict[str, str] | None = None) -> str:
    """The sources panel: each cited article with the quoted sentence and its paragraph.

    Args:
        answer: The answer, or None for an empty panel.
        context: The paragraph around each citation, by ``f"{article_id}:{start}"``.
    """
    if answer is None:
        return "<div class='qa-sources qa-empty'>Sources appear here after a question.</div>"
    if not answer.citations:
        return ("<div class='qa-sources qa-empty'>No sources cited"
                + (": the articles don't hold the answer." if answer.abstained else ".")
                + "</div>")
    items = []
    for c in answer.citations:
        meta = " · ".join(html.escape(x) for x in (c.source, c.author, c.date) if x)
        url = safe_url(c.url)
        link = (f" <a href='{html.escape(url, quote=True)}' target='_blank' "
                f"rel='noopener noreferrer'>link</a>" if url else "")
        quote = _quote_html(c) if c.quote else "<i>(from the article's metadata)</i>"
        para = (context or {}).get(f"{c.article_id}:{c.start}", "")
        more = (f"<details><summary>Show the paragraph</summary><p class='qa-para'>"
                f"{html.escape(para)}</p></details>" if para and para != c.quote else "")
        items.append(
            f"<div class='qa-source' id='source-{c.n}'><div class='qa-source-head'>"
            f"<span class='qa-n'>[{c.n}]</span> <b>{html.escape(c.title or c.article_id)}</b>"
            f"{' — ' + meta if meta else ''}{link}</div>"
            f"<blockquote class='qa-quote'>{quote}</blockquote>{more}</div>")
    return "<div class='qa-sources'>" + "".join(items) + "</div>"


def passages_html(passages: Sequence[Passage], cited: set[str] | None = None) -> str:
    """The retrieved passages (for the "show retrieved passages" toggle)."""
    if not passages:
        return "<div class='qa-passages qa-empty'>No passages retrieved.</div>"
    rows = []
    for p in passages:
        tag = " <span class='qa-cited'>cited</span>" if cited and p.article_id in cited else ""
        rows.append(
            f"<div class='qa-passage'><div><b>#{p.rank}</b> {html.escape(p.title or p.article_id)}"
            f" <small>({html.escape(p.source)}; score {p.score:.2f})</small>{tag}</div>"
            f"<p>{html.escape(p.text)}</p></div>")
    return "<div class='qa-passages'>" + "".join(rows) + "</div>"


def query_markdown(answer: Answer) -> str:
    """The query actually searched, and the acronym bridges it used."""
    line = f"**Searched:** {escape_markdown(answer.query or answer.question)}"
    if answer.expansions:
        bridges = ", ".join(f"{escape_markdown(e.found)} → {escape_markdown(e.added)}"
                            for e in answer.expansions)
        line += f"  \n**Bridges:** {bridges}"
    return line
