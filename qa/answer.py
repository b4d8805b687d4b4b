"""Stage 6, answer: the extractive answerer (offline, deterministic, no LLM).

From the retrieved passages it picks the sentence that best answers the question and, when
it can, the short answer inside it ("between two and three months"). A sentence is scored
on three things:

* meaning: cosine similarity of the (acronym-expanded) question and the sentence, with the
  bundled embedding model (sentence vectors are computed at index time);
* words: the share of the question's content words (stemmed, with acronym expansions) the
  sentence, or the sentence before it when it opens with a pronoun, contains;
* answer kind: whether it holds a span of the kind the question wants (a duration for "how
  long", a date for "when", a name for "who") that is not part of the question itself.

It abstains ("The articles don't say ...") when the best sentence's support is below a
threshold calibrated on data (``python -m eval.calibrate``), or when a question wanting a
specific kind of answer finds no span of that kind in the relevant sentences. Questions about
the article itself (author, outlet, date, headline) are answered from its metadata and
cited to the header line.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from qa.answer_types import Answer
from qa.articles import Article
from qa.cite import Citation, make_citation
from qa.index import ArticleIndex
from qa.lexical import terms
from qa.questions import QuestionInfo, analyse, find_spans
from qa.retrieval import SearchResult

log = logging.getLogger(__name__)

TYPED_KINDS = {"duration", "date", "number", "money", "percent"}
NAME_KINDS = {"person", "place", "organisation"}
_PRONOUN_START = re.compile(r"^\W*(he|she|it|they|this|that|these|those|its|his|her|their|"
                            r"the group|the militia|the company)\b", re.I)
W_DENSE, W_WORDS, W_KIND = 0.5, 0.35, 0.15


@dataclass(frozen=True)
class ScoredSentence:
    """A candidate sentence and the evidence behind its score."""

    row: int
    article_row: int
    start: int
    end: int
    text: str
    dense: float
    words: float
    kind_match: bool
    score: float
    passage_rank: int


def _focus_terms(question: str, query: str) -> tuple[set[str], set[str]]:
    """Content terms of the question, and of the expanded query (acronym bridges added)."""
    q = set(terms(question))
    return q, q | set(terms(query))


def _word_score(focus: set[str], expanded: set[str], text: str) -> float:
    if not focus:
        return 0.0
    have = set(terms(text))
    # an acronym counts as found when its expansion is there
    hits = len(focus & have) + 0.0
    extra = expanded - focus
    if extra and len(extra & have) >= max(1, len(extra) // 2):
        hits += sum(1 for t in focus if t not in have and t not in extra and _is_acronym_term(
            t, extra))
    return min(1.0, hits / len(focus))


def _is_acronym_term(term: str, expansion_terms: set[str]) -> bool:
    return len(term) <= 6 and len(expansion_terms) >= 2


def _kind_spans(info: QuestionInfo, sentence: str, question: str) -> list[tuple[int, int]]:
    """Spans of the wanted kind that are not just words of the question."""
    if info.kind not in TYPED_KINDS | NAME_KINDS | {"reason"}:
        return []
    qterms = set(terms(question))
    qlower = question.lower()
    out = []
    time_units = re.compile(r"\b(seconds?|minutes?|hours?|days?|weeks?|months?|years?|"
                            r"decades?|centur(y|ies))\b", re.I)
    wants_time = bool(time_units.search(question))
    counted = re.search(r"\bhow many (?:more |other |of the )?([a-z]+)", question, re.I)
    noun = set(terms(counted.group(1))) if counted and counted.group(1).lower() not in (
        "people", "times", "persons") else set()
    for s, e in find_spans(info.kind, sentence):
        span = sentence[s:e]
        if info.kind == "number" and not wants_time and time_units.search(span):
            continue  # "how many fighters" is not answered by "four years"
        if noun and not (noun & set(terms(" ".join(sentence[e:].split()[:4])))) and not (
                noun & set(terms(span))):
            continue  # "how many fighters" is not answered by "four sides"
        st = set(terms(span))
        if st and st <= qterms:
            continue
        if span.lower() in qlower:
            continue
        out.append((s, e))
    return out


def score_sentences(
    question: str, result: SearchResult, index: ArticleIndex, info: QuestionInfo
) -> list[ScoredSentence]:
    """Score every sentence of the retrieved passages, best first."""
    focus, expanded = _focus_terms(question, result.query)
    seen: set[int] = set()
    out: list[ScoredSentence] = []
    chunk_row = {c.id: i for i, c in enumerate(index.chunks)} if result.passages else {}
    for p in result.passages:
        row = chunk_row.get(p.chunk_id)
        if row is None:
            continue
        for srow in index.sentences_of_chunk(row):
            srow = int(srow)
            if srow in seen:
                continue
            seen.add(srow)
            arow, s, e = (int(x) for x in index.sentences[srow])
            art = index.articles[arow]
            if any(s < fe and fs < e for name, (fs, fe) in art.fields.items() if name != "title"):
                continue  # byline, outlet and date lines answer only questions about them
            text = art.text[s:e]
            dense = result.sentence_scores.get(srow)
            if dense is None and result.query_vector is not None:
                dense = float(index.sentence_vectors[srow] @ result.query_vector)
            words = _word_score(focus, expanded, text)
            if _PRONOUN_START.search(text) and srow > 0 and int(index.sentences[srow - 1][0]) \
                    == arow:
                prev = index.sentence_text(srow - 1)
                words = max(words, 0.8 * _word_score(focus, expanded, prev + " " + text))
            spans = _kind_spans(info, text, question)
            kind_match = bool(spans)
            typed = info.kind in TYPED_KINDS or info.kind in NAME_KINDS
            score = W_DENSE * float(dense or 0.0) + W_WORDS * words + (
                W_KIND * (1.0 if kind_match else 0.0) if typed else W_KIND * 0.5)
            if info.kind in TYPED_KINDS and not kind_match:
                score -= 0.15  # a "how long" question is not answered by a sentence without one
            out.append(ScoredSentence(srow, arow, s, e, text, float(dense or 0.0), words,
                                      kind_match, score, p.rank))
    out.sort(key=lambda x: (-x.score, x.passage_rank, x.row))
    return out


def pick_short_answer(
    info: QuestionInfo, sentence: str, question: str
) -> tuple[int, int] | None:
    """The span of ``sentence`` that answers the question, or None.

    Among spans of the wanted kind, prefers the one nearest to the question's words in the
    sentence (answers sit next to what the question mentions).
    """
    spans = _kind_spans(info, sentence, question)
    if not spans:
        return None
    qterms = set(terms(question))
    anchors = [m.start() for m in re.finditer(r"\w+", sentence)
               if set(terms(m.group())) & qterms]
    if not anchors:
        return spans[0]

    def distance(span: tuple[int, int]) -> float:
        s, e = span
        return min(min(abs(a - s), abs(a - e)) for a in anchors)

    return min(spans, key=lambda sp: (distance(sp), -(sp[1] - sp[0])))


def _metadata_answer(
    question: str, info: QuestionInfo, result: SearchResult, index: ArticleIndex
) -> Answer | None:
    if not result.passages:
        return None
    article = index.article(result.passages[0].article_id)
    field = info.kind.split("_", 1)[1]
    value = {"author": article.author, "source": article.source, "date": article.date,
             "title": article.title}[field]
    if not value:
        return None
    span = article.fields.get(field)
    if span:
        cite = make_citation(article, span[0], span[1], 1, kind="metadata",
                             highlight=_find_in(article, value, span))
    else:
        cite = Citation(n=1, article_id=article.id, title=article.title, source=article.source,
                        quote="", start=0, end=0, author=article.author, date=article.date,
                        url=article.url, kind="metadata")
    label = {"author": "The article is by", "source": "The article ran in",
             "date": "The article is dated", "title": "The headline is"}[field]
    where = "the byline" if field == "author" else "the article's header" if span else \
        "the article's metadata"
    text = f"{label} {value} [1]." + (f"\n\n{cite.quote} [1]" if cite.quote else "")
    return Answer(question=question, text=text, citations=[cite], passages=result.passages,
                  abstained=False, short=value, confidence=1.0, query=result.query,
                  expansions=result.expansions, mode="metadata", question_type=info.kind,
                  notes=[f"Answered from {where}."])


def _find_in(article: Article, value: str, span: tuple[int, int]) -> tuple[int, int] | None:
    i = article.text.find(value, span[0], span[1])
    return (i, i + len(value)) if i >= 0 else None


def abstain(question: str, result: SearchResult, info: QuestionInfo | None = None,
            confidence: float = 0.0, reason: str = "") -> Answer:
    """An answer that says the articles do not hold the answer, with the closest passages."""
    q = question.strip().rstrip("?")
    text = (f"The articles don't say. Nothing in them answers “{q}?”"
            + (" The closest passages are listed below." if result.passages else
               " The index holds no articles."))
    notes = [reason] if reason else []
    return Answer(question=question, text=text, citations=[], passages=result.passages,
                  abstained=True, confidence=confidence, query=result.query,
                  expansions=result.expansions, mode="extractive",
                  question_type=info.kind if info else "", notes=notes)


def answer_extractive(
    question: str, result: SearchResult, index: ArticleIndex, *, threshold: float = 0.36
) -> Answer:
    """Answer a question from retrieved passages without an LLM.

    Args:
        question: The question.
        result: What retrieval found (passages, expanded query, sentence similarities).
        index: The index the passages came from.
        threshold: Confidence below which it abstains.

    Returns:
        An :class:`Answer` whose citations quote the chosen sentences verbatim.
    """
    info = analyse(question)
    if info.kind.startswith("metadata_"):
        meta = _metadata_answer(question, info, result, index)
        if meta is not None:
            return meta
        return abstain(question, result, info, reason="The article's metadata has no such "
                                                      "field.")
    if not result.passages:
        return abstain(question, result, info)
    scored = score_sentences(question, result, index, info)
    if not scored:
        return abstain(question, result, info)
    best = scored[0]
    confidence = max(0.0, min(1.0, best.score))
    if info.kind in TYPED_KINDS and not best.kind_match:
        return abstain(question, result, info, confidence,
                       f"No sentence in the closest passages gives a {info.kind}.")
    if confidence < threshold:
        return abstain(question, result, info, confidence,
                       f"Best support {confidence:.2f} is below the threshold {threshold:.2f}.")
    article = index.articles[best.article_row]
    span = pick_short_answer(info, best.text, question)
    highlight = (best.start + span[0], best.start + span[1]) if span else None
    citations = []
    if _PRONOUN_START.search(best.text) and best.row > 0 and \
            int(index.sentences[best.row - 1][0]) == best.article_row:
        _, ps, pe = (int(x) for x in index.sentences[best.row - 1])
        if ps < best.start:
            citations.append(make_citation(article, ps, pe, 1))
    citations.append(make_citation(article, best.start, best.end, len(citations) + 1,
                                   highlight=highlight))
    short = best.text[span[0]:span[1]] if span else ""
    markers = "".join(f"[{c.n}]" for c in citations)
    body = "\n\n".join(f"{c.quote} [{c.n}]" for c in citations)
    text = f"{_capitalise(short)} {markers}\n\n{body}" if short else body
    return Answer(question=question, text=text, citations=citations, passages=result.passages,
                  abstained=False, short=short, confidence=confidence, query=result.query,
                  expansions=result.expansions, mode="extractive", question_type=info.kind)


def _capitalise(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s
