"""Stage 7, cite: citations that quote the article verbatim, and the checks behind them.

A :class:`Citation` always satisfies ``article.text[start:end] == quote``;
:func:`make_citation` refuses to build one that does not. :func:`parse_markers` is the one
function that reads ``[n]`` markers out of generated text, and :func:`supports` decides
whether a sentence is backed by a quoted source sentence.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from qa.articles import Article
from qa.lexical import terms

log = logging.getLogger(__name__)

_MARKER = re.compile(r"\[(\d{1,3})\]")


@dataclass(frozen=True)
class Citation:
    """One numbered source of an answer: an exact sentence of an article.

    Attributes:
        n: The marker number used in the answer text (``[n]``).
        article_id: The cited article.
        title: Its headline.
        source: Its outlet.
        quote: The quoted sentence, verbatim from the article.
        start: Offset of the quote in the article text.
        end: Offset just past it: ``article_text[start:end] == quote``.
        author: The article's byline.
        date: The article's date.
        url: The article's URL.
        highlight_start: Offset (in the article text) of the short answer inside the quote,
            or -1 when none.
        highlight_end: Offset just past the short answer, or -1.
        kind: ``"sentence"`` for a body sentence, ``"metadata"`` for a header line (byline,
            outlet, headline, date).
    """

    n: int
    article_id: str
    title: str
    source: str
    quote: str
    start: int
    end: int
    author: str = ""
    date: str = ""
    url: str = ""
    highlight_start: int = -1
    highlight_end: int = -1
    kind: str = "sentence"

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-serialisable dict."""
        return asdict(self)


@dataclass(frozen=True)
class CitationCheck:
    """The result of verifying the citations of a generated answer.

    Attributes:
        text: The answer text with unsupported or dangling markers removed and the rest
            renumbered to match ``citations``.
        citations: The citations that survived, resolved to their best sentence.
        dropped: Markers removed, each with the reason.
        unsupported: Answer sentences no cited passage supports.
    """

    text: str
    citations: list[Citation]
    dropped: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)


def make_citation(
    article: Article,
    start: int,
    end: int,
    n: int,
    *,
    highlight: tuple[int, int] | None = None,
    kind: str = "sentence",
) -> Citation:
    """Cite ``article.text[start:end]``.

    Raises:
        ValueError: The span is outside the article or the highlight is outside the span.
    """
    if not 0 <= start <= end <= len(article.text):
        raise ValueError(f"span [{start}, {end}) is outside article {article.id} "
                         f"({len(article.text)} characters)")
    hs, he = highlight if highlight else (-1, -1)
    if highlight and not start <= hs <= he <= end:
        raise ValueError(f"highlight {highlight} is outside the quote [{start}, {end})")
    return Citation(
        n=n, article_id=article.id, title=article.title, source=article.source,
        quote=article.text[start:end], start=start, end=end, author=article.author,
        date=article.date, url=article.url, highlight_start=hs, highlight_end=he, kind=kind,
    )


def verify_citation(citation: Citation, article: Article) -> bool:
    """Whether a citation quotes its article verbatim at its offsets."""
    return article.id == citation.article_id and \
        article.text[citation.start:citation.end] == citation.quote


def parse_markers(text: str) -> list[tuple[int, int, int]]:
    """Every ``[n]`` marker in a text as ``(n, start, end)``, in order."""
    return [(int(m.group(1)), m.start(), m.end()) for m in _MARKER.finditer(text)]


def strip_markers(text: str) -> str:
    """The text without ``[n]`` markers (and the space before them)."""
    return re.sub(r"\s*\[\d{1,3}\]", "", text)


def overlap(claim: str, source: str) -> float:
    """Share of the claim's content words (stemmed) that the source contains."""
    c = set(terms(claim))
    if not c:
        return 1.0
    return len(c & set(terms(source))) / len(c)


def supports(claim: str, source: str, similarity: float | None = None) -> bool:
    """Whether ``source`` backs ``claim``: enough shared content words, or close meaning.

    Args:
        claim: A sentence of an answer (markers removed).
        source: A sentence or passage.
        similarity: Their embedding cosine similarity, when known.
    """
    ov = overlap(claim, source)
    if ov >= 0.5:
        return True
    return similarity is not None and similarity >= 0.6 and ov >= 0.2
