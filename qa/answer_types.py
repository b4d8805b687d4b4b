"""The :class:`Answer` value every answerer returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from qa.acronyms import Expansion
from qa.cite import Citation, CitationCheck
from qa.retrieval import Passage

AnswerKind = Literal["extractive", "llm", "metadata", "abstain"]


@dataclass(frozen=True)
class Answer:
    """An answer to one question.

    Attributes:
        question: The question as asked (after truncation of an over-long one).
        text: The answer as shown to a person: the short answer when one was found, then the
            supporting sentence(s), with ``[n]`` markers matching ``citations``.
        short: The short answer alone ("between two and three months"), or "" when none
            could be picked out (then ``text`` holds the supporting sentence). A date written
            relative to the article's date is followed by the day it names ("Friday night
            (5 January 2024)").
        short_start: Offset of the short answer in the text of the article ``citations[0]``
            quotes (inside that quote, which highlights it), or -1 when there is none.
        short_end: One past its end, or -1.
        short_score: The span reader's margin for the short answer over "no span" (above 0:
            the reader holds that the sentence answers the question); 0 when none.
        short_value: The number a count or amount written in words stands for ("five" is
            5, "three million" 3000000; ``text`` shows "Five (5)"), else None.
        citations: Numbered sources; ``article_text[c.start:c.end] == c.quote`` for each.
        passages: The passages retrieved for the question, best first.
        abstained: True when the articles do not hold the answer; ``text`` says so and
            ``passages`` holds the closest ones.
        confidence: 0..1, how well the best sentence supports the answer.
        query: The query actually searched (after follow-up rewriting and acronym expansion).
        expansions: The acronym/alias bridges the query used.
        mode: Which answerer produced it: ``extractive``, ``llm`` or ``metadata``.
        notes: Things the reader should know: a truncated question, an LLM failure and the
            fallback used, sentences of a generated answer no source supports.
        question_type: The question type the extractive answerer recognised (``duration``,
            ``person``, ...).
        generation: For an answer asked of the LLM (``mode="llm"``, or the extractive
            answer shown instead of an unsupported reply), the check of the model's reply:
            its supported and unsupported sentences, markers found and dropped; else None.
    """

    question: str
    text: str
    citations: list[Citation]
    passages: list[Passage]
    abstained: bool
    short: str = ""
    short_start: int = -1
    short_end: int = -1
    short_score: float = 0.0
    short_value: int | None = None
    confidence: float = 0.0
    query: str = ""
    expansions: list[Expansion] = field(default_factory=list)
    mode: str = "extractive"
    notes: list[str] = field(default_factory=list)
    question_type: str = ""
    generation: CitationCheck | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the answer as JSON-serialisable values (what ``qa ask --json`` prints)."""
        return {
            "question": self.question,
            "text": self.text,
            "short": self.short,
            "short_start": self.short_start,
            "short_end": self.short_end,
            "short_score": round(float(self.short_score), 4),
            "short_value": self.short_value,
            "abstained": self.abstained,
            "confidence": round(float(self.confidence), 4),
            "mode": self.mode,
            "question_type": self.question_type,
            "query": self.query,
            "expansions": [e.to_dict() for e in self.expansions],
            "citations": [c.to_dict() for c in self.citations],
            "passages": [p.to_dict() for p in self.passages],
            "notes": list(self.notes),
            "generation": self.generation.to_dict() if self.generation else None,
        }
