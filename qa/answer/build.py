"""Building the :class:`~qa.answer_types.Answer`: the chosen sentence cited verbatim, the
short answer inside it, or an abstention with the closest passages."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from embeddings.reader import Reading
from qa.answer_types import Answer
from qa.cite import make_citation
from qa.lexical import terms
from qa.retrieval import SearchResult
from qa.store import IndexReader

from .candidates import Candidate, Focus
from .question import QuestionInfo, counted_noun, wanted_labels

# A sentence opening with a personal or demonstrative pronoun leans on the one before it,
# which is cited after the answer's own sentence.
_PRONOUN_START = re.compile(r"^\W*(he|she|it|they|this|that|these|those|its|his|her|their)\b", re.I)


@dataclass(frozen=True)
class ShortAnswer:
    """The short answer read out of the chosen sentence.

    Attributes:
        start: Its offset in the article text.
        end: One past its end.
        score: The reader's margin for it over "no span" (above 0: the reader holds that
            the sentence answers the question).
        resolved: For a date written relative to the article's date ("Monday evening"), the
            day it names ("10 September 2018"), else "".
        counts: It is a count or amount (a number-like entity), whose words may be a
            number (:func:`number_in_words`).
    """

    start: int
    end: int
    score: float
    resolved: str = ""
    counts: bool = False


#: Entity labels whose words may spell a number.
NUMBER_LABELS = frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"})


def number_in_words(text: str) -> int | None:
    """The number a count written in words stands for: "five" 5, "twenty-one" 21, "three
    million" 3000000 (text2num); None for digits, vague plurals ("hundreds"), a leading
    article or anything else.

    Example:
        >>> number_in_words("seven thousand"), number_in_words("177"), number_in_words("dozens")
        (7000, None, None)
    """
    from text_to_num import text2num

    t = " ".join(text.lower().split())
    if not t or any(c.isdigit() for c in t) or t.endswith("s"):
        return None
    try:
        return int(text2num(t, "en"))
    except ValueError:
        return None


def window(index: IndexReader, cand: Candidate) -> tuple[str, int, int]:
    """What the span reader reads for a candidate: the sentence with one sentence either
    side (same article), and the sentence's start and end in that window."""
    lo, hi = cand.start, cand.end
    for nb in (cand.row - 1, cand.row + 1):
        if 0 <= nb < len(index.sentences) and int(index.sentences[nb][0]) == cand.article_row:
            _, s, e = (int(x) for x in index.sentences[nb])
            lo, hi = min(lo, s), max(hi, e)
    text = index.articles[cand.article_row].text
    return text[lo:hi], cand.start - lo, cand.end - lo


def short_span(
    question: str,
    info: QuestionInfo,
    cand: Candidate,
    focus: Focus,
    index: IndexReader,
    reading: Reading,
) -> ShortAnswer | None:
    """The short answer inside the chosen sentence, read by the span reader.

    ``reading`` is the span reader's reading of the question with the sentence and its
    neighbours (:func:`window`), which scores every span of the sentence. A question that
    wants a kind of entity (a date for "when", an amount of money for "how much", a person
    or group for "who") is answered by an entity of that kind only: the one the reader
    scores highest, a number counting what a "how many ...?" question counts first. Other
    questions take the reader's best span. A span that only repeats the question's own
    words is no answer: then None.
    """
    article = index.articles[cand.article_row]
    lo = cand.start - reading.sent_start  # the window's offset in the article
    labels = wanted_labels(question, info.kind)
    if labels:
        counted = counted_noun(question, info.kind)
        scored = []
        for e in cand.entities:
            if e.label not in labels or focus.repeats(terms(article.text[e.start : e.end])):
                continue
            span = reading.score(e.start - lo, e.end - lo)
            if span is not None:
                scored.append((0 if counted and e.head == counted else 1, -span.score, e, span))
        if not scored:
            return None
        _, _, ent, span = min(scored, key=lambda x: (x[0], x[1], x[2].start))
        start, end = _whole_words(article.text, ent.start, ent.end)
        if start > 0 and unicodedata.category(article.text[start - 1]) == "Sc":
            start -= 1  # the currency sign the recogniser left out ("£" of "£5,000")
        start, end = max(start, cand.start), min(end, cand.end)
        resolved = (
            resolve_date(article.text[start:end], article.date)
            if ent.label
            in (
                "DATE",
                "TIME",
            )
            else ""
        )
        return ShortAnswer(start, end, span.margin, resolved, ent.label in NUMBER_LABELS)
    span = reading.best()
    if span is None:
        return None
    start, end = _trim(article.text, lo + span.start, lo + span.end)
    start, end = max(start, cand.start), min(end, cand.end)
    if start >= end or focus.repeats(terms(article.text[start:end])):
        return None
    return ShortAnswer(start, end, span.margin)


def _whole_words(text: str, start: int, end: int) -> tuple[int, int]:
    """The span widened to whole words: the reader reads word pieces, and the recogniser
    can leave a unit off a number ("3" of "$3m")."""
    while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < len(text) and text[end - 1].isalnum() and text[end].isalnum():
        end += 1
    return start, end


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """The span widened to whole words and stripped of the spaces and punctuation around
    it, but for an opening bracket, quote or currency sign."""
    start, end = _whole_words(text, start, end)
    while start < end and not text[start].isalnum() and text[start] not in "$£€(\"'“":
        start += 1
    while end > start and text[end - 1] in " ,;:.!?\n":
        end -= 1
    return start, end


def resolve_date(phrase: str, article_date: str) -> str:
    """The day a date phrase names when it is written relative to the article's date.

    "Monday evening" in an article dated Tuesday 11 September 2018 is "10 September 2018";
    "yesterday" likewise. It is "" for a phrase that names its own date ("5 January 2024"),
    one that names no single day ("last week", "two months"), one dateparser cannot read, or
    an article with no readable date. A phrase counts as relative when dateparser reads it
    to different days against two bases a week apart (the article's date and a week later);
    a weekday is the one of the article's week up to its date ("Tuesday" in a Tuesday's
    article is that day).
    """
    if not article_date.strip():
        return ""
    import datetime as dt

    import dateparser

    base = dateparser.parse(article_date, settings={"RETURN_AS_TIMEZONE_AWARE": False})
    if base is None:
        return ""
    days = []
    for b in (base, base + dt.timedelta(days=7)):
        parser = dateparser.DateDataParser(
            languages=["en"],
            settings={
                "PREFER_DATES_FROM": "current_period",
                "RELATIVE_BASE": b,
                "RETURN_AS_TIMEZONE_AWARE": False,
            },
        )
        try:
            got = parser.get_date_data(phrase)
        except Exception:  # dateparser raises a variety of errors on odd input
            return ""
        if got.date_obj is None or got.period != "day":
            return ""
        days.append(got.date_obj.date())
    if days[0] == days[1]:
        return ""  # an absolute date: it says what it means
    return f"{days[0].day} {days[0]:%B %Y}"


def abstain(
    question: str,
    result: SearchResult,
    info: QuestionInfo | None = None,
    confidence: float = 0.0,
    reason: str = "",
    searched_nothing: str = "The index holds no articles.",
) -> Answer:
    """An answer that says the articles do not hold the answer, with the closest passages
    (``searched_nothing`` says why when there are none)."""
    q = question.strip().rstrip("?")
    text = f"The articles don't say. Nothing in them answers “{q}?”" + (
        " The closest passages are listed below." if result.passages else " " + searched_nothing
    )
    notes = [reason] if reason else []
    return Answer(
        question=question,
        text=text,
        citations=[],
        passages=result.passages,
        abstained=True,
        confidence=confidence,
        query=result.query,
        expansions=result.expansions,
        mode="extractive",
        question_type=info.kind if info else "",
        notes=notes,
    )


def sentence_answer(
    question: str,
    info: QuestionInfo,
    result: SearchResult,
    index: IndexReader,
    best: Candidate,
    focus: Focus,
    confidence: float,
    reading: Reading,
) -> Answer:
    """The answer citing ``best`` (and the sentence before it when it opens with a pronoun),
    led by the short answer the span reader reads out of it when there is one (``reading``:
    the reader's reading of ``best``, :func:`window`)."""
    article = index.articles[best.article_row]
    short_answer = short_span(question, info, best, focus, index, reading)
    span = (short_answer.start, short_answer.end) if short_answer else None
    citations = [make_citation(article, best.start, best.end, 1, highlight=span)]
    if (
        _PRONOUN_START.search(best.text)
        and best.row > 0
        and int(index.sentences[best.row - 1][0]) == best.article_row
    ):
        _, ps, pe = (int(x) for x in index.sentences[best.row - 1])
        if ps < best.start:
            citations.append(make_citation(article, ps, pe, 2))
    short = article.text[span[0] : span[1]] if span else ""
    if short_answer and short_answer.resolved:
        short = f"{short} ({short_answer.resolved})"
    value = number_in_words(short) if short_answer and short_answer.counts else None
    body = citations[0].quote + " [1]"
    if len(citations) > 1:
        body = f"{citations[1].quote} [2] {body}"
    shown = f"{short} ({value:,})" if value is not None else short
    text = f"{shown[:1].upper() + shown[1:]} [1]\n\n{body}" if short else body
    return Answer(
        question=question,
        text=text,
        citations=citations,
        passages=result.passages,
        abstained=False,
        short=short,
        short_start=span[0] if span else -1,
        short_end=span[1] if span else -1,
        short_score=short_answer.score if short_answer else 0.0,
        short_value=value,
        confidence=confidence,
        query=result.query,
        expansions=result.expansions,
        mode="extractive",
        question_type=info.kind,
    )
