"""Stage 7, cite: citations that quote the article verbatim, and the checks behind them.

A :class:`Citation` always satisfies ``article.text[start:end] == quote``;
:func:`make_citation` refuses to build one that does not. :func:`parse_markers` is the one
function that reads ``[n]`` markers out of generated text, and :func:`supports` decides
whether a sentence is backed by a quoted source sentence.

:func:`verify_generated` puts these together for a generated answer (:mod:`qa.llm`): every
sentence of the reply is checked against the passages it cites; a marker that points at
nothing retrieved, or at a passage with no sentence that supports the claim, is dropped (and
logged); each surviving marker is resolved to the best supporting sentence, quoted verbatim
with its offsets; sentences left without a citation are flagged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.articles import Article
from qa.chunking import split_sentences
from qa.duplicates import CopyRef
from qa.lexical import terms
from qa.markers import generated_sentences, normalize_markers

if TYPE_CHECKING:
    from embeddings import EmbeddingModel
    from qa.retrieval import Passage
    from qa.store import IndexReader

log = logging.getLogger(__name__)

_MARKER = re.compile(r"\[(\d{1,3})\]")
_THINK = re.compile(r"<think>.*?(?:</think>|\Z)\s*", re.S | re.I)
_NOT_FOUND = re.compile(r"^\W*not\s+in\s+(?:the\s+)?articles\b", re.I)
_META = re.compile(
    r"^\W*(?:the\s+)?(?:articles?|passages?|sources?)\s+(?:do|does|did)\s*"
    r"(?:not|n't)\b",
    re.I,
)


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
        also_in: The other outlets that ran the same story (near-duplicate copies kept
            with the cited article instead of being indexed, :mod:`qa.duplicates`).
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
    also_in: tuple[CopyRef, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-serialisable dict."""
        d = asdict(self)
        d["also_in"] = [c.to_dict() for c in self.also_in]
        return d


@dataclass(frozen=True)
class CitationCheck:
    """The result of verifying the citations of a generated answer.

    Attributes:
        text: The answer text with unsupported or dangling markers removed and the rest
            renumbered to match ``citations``.
        citations: The citations that survived, resolved to their best sentence.
        dropped: Markers removed, each with the reason.
        unsupported: Answer sentences no cited passage supports.
        supported: Answer sentences shown with at least one citation (markers removed).
        markers: Passage numbers cited in the reply, after normalisation (``[1, 2]`` is
            two); ``len(dropped)`` of them were removed.
    """

    text: str
    citations: list[Citation]
    dropped: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    supported: list[str] = field(default_factory=list)
    markers: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-serialisable dict."""
        return asdict(self)


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
        raise ValueError(
            f"span [{start}, {end}) is outside article {article.id} "
            f"({len(article.text)} characters)"
        )
    hs, he = highlight if highlight else (-1, -1)
    if highlight and not start <= hs <= he <= end:
        raise ValueError(f"highlight {highlight} is outside the quote [{start}, {end})")
    return Citation(
        n=n,
        article_id=article.id,
        title=article.title,
        source=article.source,
        quote=article.text[start:end],
        start=start,
        end=end,
        author=article.author,
        date=article.date,
        url=article.url,
        highlight_start=hs,
        highlight_end=he,
        kind=kind,
    )


def verify_citation(citation: Citation, article: Article) -> bool:
    """Whether a citation quotes its article verbatim at its offsets."""
    return (
        article.id == citation.article_id
        and article.text[citation.start : citation.end] == citation.quote
    )


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


def is_not_found(text: str) -> bool:
    """Whether a reply is (or starts with) the model's "not in the articles" answer
    (:data:`qa.llm.NOT_FOUND_MARKER`, any case, after any ``<think>`` block)."""
    return bool(_NOT_FOUND.match(strip_markers(_THINK.sub("", text))))


# ---- verifying a generated answer --------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    """A sentence of a cited passage that a claim may be resolved to."""

    start: int
    end: int
    text: str
    row: int  # sentence row in the index, or -1 when it has none


def answer_sentences(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence of a generated answer, markers kept with the
    sentence they follow (``"... months. [1] Next"`` gives ``"... months. [1]"``); see
    :func:`qa.markers.generated_sentences`."""
    return generated_sentences(text)


_NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
}
_NUMBER_WORDS.update(
    {
        w: str(10 * i)
        for i, w in enumerate("thirty forty fifty sixty seventy eighty ninety".split(), 3)
    }
)
_NUMBER_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[a-z]+", re.I)


def numbers_in(text: str) -> set[str]:
    """The numbers a text states, digits or words (``"two"`` and ``"2"`` are both
    ``"2"``; ``"200,000"`` is ``"200000"``); years and counts alike."""
    out: set[str] = set()
    for tok in _NUMBER_TOKEN.findall(text):
        if tok[0].isdigit():
            out.add(tok.replace(",", "").rstrip("."))
        elif tok.lower() in _NUMBER_WORDS:
            out.add(_NUMBER_WORDS[tok.lower()])
    return out


def numbers_agree(claim: str, source: str) -> bool:
    """Whether every number the claim states is in the source: a small model's commonest
    unsupported claim is a right sentence with a wrong figure."""
    return numbers_in(claim) <= numbers_in(source)


_NAME = re.compile(r"[A-Z][\w'’-]*")

#: Share of a claim's content words one source sentence must hold (``backs``); below it the
#: sentence backs the claim only with an embedding similarity of ``SUPPORT_SIMILARITY``.
SUPPORT_COVERAGE = 0.6
SUPPORT_SIMILARITY = 0.7


def names_in(text: str) -> set[str]:
    """The stemmed terms of a sentence's capitalised words after its first word (names:
    "Idlib", "Guterres", "United States")."""
    words = _NAME.findall(text)
    if words and text.lstrip(" \"'“‘(").startswith(words[0]):
        words = words[1:]
    return set(terms(" ".join(words)))


def claim_forms(claim: str, index: IndexReader) -> tuple[str, str]:
    """A claim as written and with its acronyms replaced by what they stand for, from the
    index's table ("the SDF" -> "the Syrian Democratic Forces"); a source backs the claim
    when it backs either."""
    text, expansions = index.acronyms.expand(claim)
    for e in expansions:
        text = text.replace(f"{e.found} ({e.added})", e.added)
    return claim, text


def backs(
    claim: str,
    source: str,
    similarity: float | None = None,
    known: Callable[[str], bool] | None = None,
) -> bool:
    """Whether one source sentence backs a generated sentence (stricter than
    :func:`supports`, which the extractive answer uses).

    A small model writes collages of the passages' words ("The Islamic State attacked the
    bridge on Monday", "the SDF, led by the Islamic State, ..."), so shared words are not
    enough. The sentence must hold every number of the claim (:func:`numbers_agree`) and
    every name (:func:`names_in`), and at least :data:`SUPPORT_COVERAGE` of its content words
    (or half of them when their embedding similarity is at least
    :data:`SUPPORT_SIMILARITY`); a content word it lacks must at least occur somewhere in
    the indexed articles (``known``): a word no article holds is new material.

    Args:
        claim: A sentence of an answer, markers removed.
        source: The source sentence (with its acronyms expanded, where they are).
        similarity: Their embedding cosine similarity, when known.
        known: Whether a stemmed term occurs in the index (``qa.store.Lexical.knows``).
    """
    c = set(terms(claim))
    if not c:
        return True
    s = set(terms(source))
    if not numbers_agree(claim, source) or not names_in(claim) <= s:
        return False
    missing = c - s
    if known is not None and not all(known(t) for t in missing):
        return False
    coverage = 1 - len(missing) / len(c)
    if coverage >= SUPPORT_COVERAGE:
        return True
    return similarity is not None and similarity >= SUPPORT_SIMILARITY and coverage >= 0.5


def is_factual(claim: str) -> bool:
    """Whether a sentence states something a source should back (not "Yes." or "The
    articles do not say more.")."""
    if _META.match(claim) or is_not_found(claim):
        return False
    return len(set(terms(claim))) >= 2 or bool(re.search(r"\d", claim))


class _Resolver:
    """Finds, for a claim and a passage, the passage sentence that best supports it."""

    def __init__(
        self,
        passages: Sequence[Passage],
        index: IndexReader,
        sentence_scores: Mapping[int, float] | None,
        model: EmbeddingModel | None,
    ) -> None:
        self.passages = passages
        self.index = index
        self.scores = sentence_scores or {}
        self.model = model
        self._cands: dict[int, list[_Candidate] | None] = {}
        self._rows: dict[int, dict[int, int]] = {}
        self._extra_vecs: dict[tuple[str, int], np.ndarray] = {}
        self._expansions: dict[str, str] = {}

    def _sentence_rows(self, article_id: str) -> dict[int, int]:
        """Sentence start offset -> index row, for one article."""
        arow = self.index.article_row.get(article_id)
        if arow is None:
            return {}
        if arow not in self._rows:
            rows = np.asarray(self.index.article_sentence_rows(arow), dtype=np.int64)
            self._rows[arow] = {int(self.index.sentences[r, 1]): int(r) for r in rows}
        return self._rows[arow]

    def candidates(self, n: int) -> list[_Candidate] | None:
        """The sentences of passage ``n`` (1-based) with article offsets; None when its
        article is no longer in the index."""
        if n not in self._cands:
            p = self.passages[n - 1]
            try:
                article = self.index.article(p.article_id)
            except KeyError:
                self._cands[n] = None
                return None
            rows = self._sentence_rows(p.article_id)
            out = []
            for s in split_sentences(p.text):
                start, end = p.start + s.start, p.start + s.end
                if article.text[start:end] != s.text:
                    continue  # the article changed since retrieval: never quote a mismatch
                out.append(_Candidate(start, end, s.text, rows.get(start, -1)))
            self._cands[n] = out
        return self._cands[n]

    def _vector(self, article_id: str, c: _Candidate) -> np.ndarray:
        if 0 <= c.row < len(self.index.sentence_vectors):
            return np.asarray(self.index.sentence_vectors[c.row])
        key = (article_id, c.start)
        if key not in self._extra_vecs:
            assert self.model is not None
            self._extra_vecs[key] = self.model.encode_documents([c.text])[0]
        return self._extra_vecs[key]

    def _expanded(self, c: _Candidate) -> str:
        if c.text not in self._expansions:
            self._expansions[c.text] = self.index.acronyms.expand(c.text)[0]
        return self._expansions[c.text]

    def best(
        self, claims: Sequence[str], claim_vec: np.ndarray | None, n: int
    ) -> _Candidate | None:
        """The sentence of passage ``n`` that best supports a claim, or None.

        Args:
            claims: The claim as written and with its acronyms expanded; a source sentence
                supports it when it backs either form.
            claim_vec: The claim's embedding, when a model is given.
            n: The 1-based passage number.
        """
        cands = self.candidates(n) or []
        article_id = self.passages[n - 1].article_id
        best: tuple[float, _Candidate] | None = None
        for c in cands:
            sim = None
            if claim_vec is not None:
                sim = float(self._vector(article_id, c) @ claim_vec)
            source = f"{c.text} {self._expanded(c)}"
            known = self.index.bm25_sentences.knows
            if not any(backs(cl, source, sim, known) for cl in claims):
                continue
            ov = max(overlap(cl, source) for cl in claims)
            score = ov + (sim or 0.0) + 0.1 * self.scores.get(c.row, 0.0)
            if best is None or score > best[0]:
                best = (score, c)
        return best[1] if best else None


def verify_generated(
    text: str,
    passages: Sequence[Passage],
    index: IndexReader,
    sentence_scores: Mapping[int, float] | None = None,
    model: EmbeddingModel | None = None,
) -> CitationCheck:
    """Check a generated answer's citations and resolve them to exact sentences.

    Every marker spelling is first rewritten to ``[n]`` after its sentence
    (:func:`qa.markers.normalize_markers`) and the reply split into sentences
    (:func:`qa.markers.generated_sentences`). Each ``[n]`` marker is checked against the
    sentence it ends: a marker with no passage ``n`` is dropped ("points at nothing");
    otherwise each sentence of passage ``n`` is compared with the claim by :func:`backs`
    (its numbers, its names and most of its content words in that one sentence, acronyms
    expanded with the index's table, embedding similarity when ``model`` is given). No
    sentence backs it: the marker is dropped. Otherwise it becomes a :class:`Citation` of
    the best one.
    Surviving citations are renumbered ``1..m`` in order of first appearance (the same
    sentence cited twice keeps one number) and the markers in the text are rewritten.

    Args:
        text: The model's reply.
        passages: The passages the prompt numbered ``[1]..[n]``, in that order.
        index: The index they came from (for articles, sentence rows and vectors).
        sentence_scores: Query similarity by sentence row (``SearchResult.sentence_scores``);
            breaks ties between equally supporting sentences.
        model: The embedding model, to compare meaning as well as words.

    Returns:
        The rewritten text, the citations, the dropped markers with reasons and the
        sentences no surviving citation supports.

    Example:
        >>> check = verify_generated(reply, search.passages, index,  # doctest: +SKIP
        ...                          search.sentence_scores, model)
    """
    text = normalize_markers(text).strip()
    spans = answer_sentences(text)
    markers = parse_markers(text)
    resolver = _Resolver(passages, index, sentence_scores, model)

    shown = [strip_markers(text[a:b]).strip() for a, b in spans]
    # "the SDF" in a claim should match "the Syrian Democratic Forces" in a source
    claims = [claim_forms(c, index) for c in shown]
    vecs: np.ndarray | None = None
    if model is not None and markers and shown:
        vecs = model.encode_queries(shown)

    def sentence_of(pos: int) -> int:
        for i, (a, b) in enumerate(spans):
            if a <= pos < b:
                return i
        return len(spans) - 1

    numbers: dict[tuple[str, int, int], int] = {}
    citations: list[Citation] = []
    dropped: list[str] = []
    supported = [False] * len(spans)
    seen_in_sentence: set[tuple[int, int]] = set()
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement) of each marker
    for n, ms, me in markers:
        si = sentence_of(ms)
        claim = shown[si] if si >= 0 else ""
        new = ""
        if not 1 <= n <= len(passages):
            reason = f"[{n}] points at nothing (there are {len(passages)} passages): {claim!r}"
            dropped.append(reason)
            log.warning("dropped citation %s", reason)
        else:
            cands = resolver.candidates(n)
            best = None
            if cands is None:
                reason = f"[{n}] cites an article no longer in the index: {claim!r}"
            else:
                best = resolver.best(claims[si], None if vecs is None else vecs[si], n)
                reason = f"[{n}] does not support {claim!r}"
            if best is None:
                dropped.append(reason)
                log.warning("dropped citation %s", reason)
            else:
                p = passages[n - 1]
                key = (p.article_id, best.start, best.end)
                if key not in numbers:
                    numbers[key] = len(citations) + 1
                    citations.append(
                        make_citation(
                            index.article(p.article_id), best.start, best.end, numbers[key]
                        )
                    )
                m = numbers[key]
                supported[si] = True
                if (si, m) not in seen_in_sentence:  # "[1][1]" after renumbering: keep one
                    seen_in_sentence.add((si, m))
                    new = f"[{m}]"
        edits.append((ms, me, new))

    out: list[str] = []
    pos = 0
    pending_space = ""  # whitespace before a removed marker, owed to a kept one right after
    for ms, me, new in edits:
        keep = text[pos:ms]
        if not new:
            stripped = keep.rstrip()  # "months [9]." -> "months."
            if keep:
                pending_space = keep[len(stripped) :]
            keep = stripped
        elif not keep:
            keep, pending_space = pending_space, ""  # "months [9][1]" -> "months [1]"
        else:
            pending_space = ""
        out.append(keep + new)
        pos = me
    out.append(text[pos:])
    new_text = "".join(out).strip()

    unsupported = [shown[i] for i in range(len(spans)) if not supported[i] and is_factual(shown[i])]
    return CitationCheck(
        text=new_text,
        citations=citations,
        dropped=dropped,
        unsupported=unsupported,
        supported=[shown[i] for i in range(len(spans)) if supported[i]],
        markers=len(markers),
    )


@dataclass(frozen=True)
class ShownCheck:
    """An audit of an answer as shown: each sentence with a marker against the quote its
    citation shows.

    Attributes:
        sentences: Sentences of the answer that state something (:func:`is_factual`).
        cited: Those shown with at least one citation marker.
        violations: One line per sentence shown as supported that its cited quote does not
            support, per marker without a citation, and per citation that does not quote
            its article verbatim at its offsets. Empty for a trustworthy answer.
    """

    sentences: int
    cited: int
    violations: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-serialisable dict."""
        return asdict(self)


def check_shown(
    text: str,
    citations: Sequence[Citation],
    index: IndexReader,
    model: EmbeddingModel | None = None,
) -> ShownCheck:
    """Audit a generated answer as a reader sees it, independently of how it was built.

    Every sentence of ``text`` that carries ``[m]`` markers is compared with the quote of
    citation ``m`` alone (not with its passage): the quote must be ``article.text[start:end]``
    and must back the sentence by the rule :func:`verify_generated` applies
    (:func:`backs`: numbers, names and most content words in the quote). The
    evaluation counts the violations (``qa eval --mode llm``); it must be 0.

    Args:
        text: The answer text with its ``[n]`` markers.
        citations: The answer's citations.
        index: The index holding the cited articles.
        model: The embedding model, to compare meaning as :func:`verify_generated` did.
    """
    by_n = {c.n: c for c in citations}
    violations: list[str] = []
    for c in citations:
        try:
            article = index.article(c.article_id)
        except KeyError:
            violations.append(f"[{c.n}] cites article {c.article_id}, which is not indexed")
            continue
        if not verify_citation(c, article):
            violations.append(f"[{c.n}] does not quote its article at {c.start}-{c.end}")
    sentences = cited = 0
    for a, b in answer_sentences(text):
        claim = strip_markers(text[a:b]).strip()
        marks = parse_markers(text[a:b])
        if is_factual(claim):
            sentences += 1
        if not marks:
            continue
        cited += 1
        forms = claim_forms(claim, index)
        claim_vec = model.encode_queries([claim])[0] if model is not None else None
        for n, _, _ in marks:
            cited_by = by_n.get(n)
            if cited_by is None:
                violations.append(f"[{n}] has no citation: {claim!r}")
                continue
            quote = f"{cited_by.quote} {index.acronyms.expand(cited_by.quote)[0]}"
            sim = None
            if claim_vec is not None and model is not None:
                sim = float(model.encode_documents([cited_by.quote])[0] @ claim_vec)
            known = index.bm25_sentences.knows
            if not any(backs(f, quote, sim, known) for f in forms):
                violations.append(f"[{n}] is shown for {claim!r} but its quote does not say it")
    return ShownCheck(sentences=sentences, cited=cited, violations=violations)
