"""Building the :class:`~qa.answer_types.Answer`: the chosen sentence cited verbatim, the
short answer inside it, or an abstention with the closest passages."""

from __future__ import annotations

import re

from qa.answer_types import Answer
from qa.cite import make_citation
from qa.index import ArticleIndex
from qa.lexical import terms
from qa.retrieval import SearchResult

from .candidates import Candidate, Focus
from .question import QuestionInfo, counted_noun, wanted_labels

# A sentence opening with a personal or demonstrative pronoun leans on the one before it,
# which is cited after the answer's own sentence.
_PRONOUN_START = re.compile(r"^\W*(he|she|it|they|this|that|these|those|its|his|her|their)\b", re.I)
# For "who" questions a person's name is the best answer, then a group's.
_LABEL_ORDER = {"PERSON": 0, "ORG": 1, "NORP": 2}


def short_span(
    question: str, info: QuestionInfo, cand: Candidate, focus: Focus, article_text: str
) -> tuple[int, int] | None:
    """The entity of the wanted kind in the chosen sentence (offsets in the article).

    Among entities of a label the question wants that do not merely repeat the question,
    prefers a number counting what a "how many ...?" question counts, a person's name for
    "who", then the entity nearest the question's words in the sentence (answers sit next to
    what the question mentions). None when the question wants no typed entity.
    """
    labels = wanted_labels(question, info.kind)
    if not labels:
        return None
    counted = counted_noun(question, info.kind)
    own = focus.question | focus.bridged
    ents = [
        e
        for e in cand.entities
        if e.label in labels and not focus.repeats(terms(article_text[e.start : e.end]))
    ]
    if not ents:
        return None
    anchors = [
        m.start() + cand.start
        for m in re.finditer(r"\w+", cand.text)
        if set(terms(m.group())) & own
    ]

    def distance(start: int, end: int) -> int:
        return min((abs(a - start) if a < start else abs(a - end) for a in anchors), default=0)

    best = min(
        ents,
        key=lambda e: (
            0 if counted and e.head == counted else 1,
            _LABEL_ORDER.get(e.label, 3) if info.kind == "person" else 0,
            distance(e.start, e.end),
            e.start,
        ),
    )
    return best.start, best.end


def abstain(
    question: str,
    result: SearchResult,
    info: QuestionInfo | None = None,
    confidence: float = 0.0,
    reason: str = "",
) -> Answer:
    """An answer that says the articles do not hold the answer, with the closest passages."""
    q = question.strip().rstrip("?")
    text = f"The articles don't say. Nothing in them answers “{q}?”" + (
        " The closest passages are listed below."
        if result.passages
        else " The index holds no articles."
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
    index: ArticleIndex,
    best: Candidate,
    focus: Focus,
    confidence: float,
) -> Answer:
    """The answer citing ``best`` (and the sentence before it when it opens with a pronoun),
    led by the short answer when there is one."""
    article = index.articles[best.article_row]
    span = short_span(question, info, best, focus, article.text)
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
    body = citations[0].quote + " [1]"
    if len(citations) > 1:
        body = f"{citations[1].quote} [2] {body}"
    text = f"{short[:1].upper() + short[1:]} [1]\n\n{body}" if short else body
    return Answer(
        question=question,
        text=text,
        citations=citations,
        passages=result.passages,
        abstained=False,
        short=short,
        confidence=confidence,
        query=result.query,
        expansions=result.expansions,
        mode="extractive",
        question_type=info.kind,
    )
