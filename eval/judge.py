"""Per-data-set rules for what counts as a retrieval hit and a right answer.

Each data set says different things about its questions, so each gets a :class:`Judge`:

* ``squad``: gold answers with offsets in a known article. A passage is a hit when it is
  from the gold article and its ``[start, end)`` covers a gold answer offset; an answer's
  supporting sentence is right when its first citation does the same; it is correct when
  that supporting sentence is right.
* ``realtimeqa``: a news quiz whose evidence never appears in the articles. A passage is a
  hit when the correct choice appears in it (whole words, ignoring case, curly quotes and
  spacing); an answer is correct (and its support right) when the correct choice appears in
  ``Answer.text`` or a cited quote. A question whose correct choice is in no article counts
  as unanswerable.
* ``jsonl``: our format, with accepted answers and optionally the evidence sentence. A
  passage is a hit when it contains the evidence (else an accepted answer); an answer is
  correct when an accepted answer appears, normalised, in ``short`` (in ``text`` when
  ``short`` is empty: a wrong short answer is wrong even if its quote holds the answer); its
  support is right when a cited quote contains the evidence sentence (or, where the
  sentence splitter cut it, is at least half of it). An unanswerable question is answered
  correctly by abstaining.
* ``newsqa``: accepted answers and a verbatim evidence span in a known article, scored as the
  set's README says. A passage is a hit when it is from the question's article and contains
  the evidence; the evidence is cited when a citation of the question's own article quotes a
  text containing it; an answer is correct when ``Answer.text`` (the short answer and the
  quoted sentences) contains an accepted answer *and* the evidence is cited. Containment is
  plain substring containment after :func:`fold` (case, whitespace, typographic quotes and
  dashes). An unanswerable question is answered correctly by abstaining.

Everywhere, the predicted answer for exact match and F1 is ``Answer.short``, falling back to
the first cited sentence when ``short`` is empty, and "" when the system abstained. The
"short answer alone" scores (:attr:`Verdict.short_em`, :attr:`Verdict.short_f1`) score
``Answer.short`` with no fallback: an abstention or an empty short answer scores 0.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from eval.datasets import EvalQuestion
from eval.metrics import exact_match, f1, normalize_answer, span_covers

if TYPE_CHECKING:
    from qa.answer_types import Answer
    from qa.retrieval import Passage

DatasetKind = Literal["squad", "realtimeqa", "jsonl", "newsqa", "bbcqa"]
DATASETS: tuple[DatasetKind, ...] = ("squad", "realtimeqa", "jsonl", "newsqa", "bbcqa")
#: The data sets scored by news-qa's rules (:class:`NewsQAJudge`, the news-qa scorecard):
#: bbc-qa was made with news-qa's recipe and has its format.
NEWSQA_SCORED: tuple[DatasetKind, ...] = ("newsqa", "bbcqa")

# Typographic characters that writers and quiz setters use interchangeably.
_FOLD = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u00a0": " ",
    }
)


def fold(text: str) -> str:
    """Lower-case, unify curly quotes and dashes, and collapse whitespace."""
    return " ".join(text.translate(_FOLD).lower().split())


def mentions(text: str, phrase: str) -> bool:
    """Whether ``phrase`` appears in ``text`` as whole words, ignoring case and typography.

    Example:
        >>> mentions("The “Oppenheimer” film won.", '"Oppenheimer"')
        True
        >>> mentions("In 1940 it rained.", "40")
        False
    """
    needle = fold(phrase).strip("\"' ")
    if not needle:
        return False
    return re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", fold(text)) is not None


def contains_answer(text: str, answer: str) -> bool:
    """Whether the SQuAD-normalised ``answer`` occurs as whole words in normalised ``text``."""
    norm = normalize_answer(answer.translate(_FOLD))
    if not norm:
        return False
    return f" {norm} " in f" {normalize_answer(text.translate(_FOLD))} "


def predicted_answer(answer: Answer) -> str:
    """The string scored by exact match and F1: ``short``, else the first cited quote."""
    if answer.abstained:
        return ""
    if answer.short.strip():
        return answer.short
    return answer.citations[0].quote if answer.citations else ""


def first_hit_rank(passages: Sequence[Passage], is_hit: Callable[[Passage], bool]) -> int | None:
    """The 1-based rank of the first passage that is a hit, or None."""
    for i, p in enumerate(passages, start=1):
        if is_hit(p):
            return i
    return None


@dataclass(frozen=True)
class Verdict:
    """How one answer scored.

    Attributes:
        em: Exact match of :func:`predicted_answer` (None for an unanswerable question).
        f1: Token F1 of the same (None for an unanswerable question).
        supporting: Whether the cited sentence holds the answer (None when not applicable:
            unanswerable questions, or a jsonl question with no evidence sentence).
        correct: Whether the answer is right: the data set's rule for answerable questions,
            an abstention for unanswerable ones.
        short_em: Exact match of ``Answer.short`` alone, 0 for an abstention or an empty
            short answer (None for an unanswerable question).
        short_f1: Token F1 of the same.
        answer_in_text: Whether ``Answer.text`` contains an accepted answer (newsqa; None
            where not judged).
        short_right: Whether a non-empty ``Answer.short`` contains an accepted answer
            (newsqa; None where not judged).
    """

    em: float | None
    f1: float | None
    supporting: bool | None
    correct: bool
    short_em: float | None = None
    short_f1: float | None = None
    answer_in_text: bool | None = None
    short_right: bool | None = None


class Judge:
    """Decides hits and correctness for one data set (see the module docstring)."""

    kind: DatasetKind = "jsonl"
    hit_rule = ""
    support_rule = ""
    correct_rule = ""

    def retrieval_scored(self, q: EvalQuestion) -> bool:
        """Whether the question counts towards retrieval metrics (a hit is defined)."""
        return q.answerable and bool(q.answers or q.evidence)

    def is_hit(self, q: EvalQuestion, p: Passage) -> bool:
        """Whether a retrieved passage holds what the question needs."""
        raise NotImplementedError

    def judge(self, q: EvalQuestion, a: Answer) -> Verdict:
        """Score an answer: the data set's rule, plus the short-answer-alone EM/F1."""
        short_em, short_f1 = self.short_scores(q, a)
        return replace(self._verdict(q, a), short_em=short_em, short_f1=short_f1)

    def _verdict(self, q: EvalQuestion, a: Answer) -> Verdict:
        raise NotImplementedError

    def gold_answers(self, q: EvalQuestion) -> list[str]:
        """The answers EM and F1 compare with; empty for an unanswerable question."""
        return list(q.answers) if q.answerable else []

    def short_scores(self, q: EvalQuestion, a: Answer) -> tuple[float | None, float | None]:
        """EM and F1 of ``Answer.short`` alone: no fallback to the cited sentence, so an
        abstention or an empty short answer scores 0; (None, None) when unanswerable."""
        golds = self.gold_answers(q)
        if not golds:
            return None, None
        pred = "" if a.abstained else a.short
        return exact_match(pred, golds), f1(pred, golds)

    def expected(self, q: EvalQuestion) -> str:
        """The expected answer as shown in reports."""
        return " | ".join(q.answers) if q.answers else "(abstain)"

    def _answer_scores(self, q: EvalQuestion, a: Answer) -> tuple[float | None, float | None]:
        if not q.answerable or not q.answers:
            return None, None
        pred = predicted_answer(a)
        return exact_match(pred, q.answers), f1(pred, q.answers)


class SquadJudge(Judge):
    """SQuAD: gold article and answer offsets."""

    kind: DatasetKind = "squad"
    hit_rule = "a passage of the gold article whose [start, end) covers a gold answer offset"
    support_rule = "the first citation's [start, end) covers a gold answer offset"
    correct_rule = "answered, with the supporting sentence right"

    def retrieval_scored(self, q: EvalQuestion) -> bool:
        return q.article_id is not None and bool(q.answer_starts)

    def is_hit(self, q: EvalQuestion, p: Passage) -> bool:
        return p.article_id == q.article_id and span_covers(p.start, p.end, q.answer_starts)

    def _verdict(self, q: EvalQuestion, a: Answer) -> Verdict:
        em, f = self._answer_scores(q, a)
        c = a.citations[0] if a.citations and not a.abstained else None
        supporting = (
            c is not None
            and c.article_id == q.article_id
            and span_covers(c.start, c.end, q.answer_starts)
        )
        return Verdict(em, f, supporting, supporting)


class RealtimeQAJudge(Judge):
    """RealTime QA: the correct choice's text, searched for in passages and answers."""

    kind: DatasetKind = "realtimeqa"
    hit_rule = "the correct choice appears (whole words, any case) in a passage"
    support_rule = "a cited quote contains the correct choice"
    correct_rule = (
        "the correct choice appears in the answer text or a cited quote; for a "
        "question whose correct choice is in no article, an abstention"
    )

    def retrieval_scored(self, q: EvalQuestion) -> bool:
        return q.answerable and bool(q.correct_choice)

    def is_hit(self, q: EvalQuestion, p: Passage) -> bool:
        return mentions(p.text, q.correct_choice)

    def gold_answers(self, q: EvalQuestion) -> list[str]:
        return [q.correct_choice] if q.answerable and q.correct_choice else []

    def _verdict(self, q: EvalQuestion, a: Answer) -> Verdict:
        em, f = (
            (None, None)
            if not q.answerable
            else (
                exact_match(predicted_answer(a), [q.correct_choice]),
                f1(predicted_answer(a), [q.correct_choice]),
            )
        )
        if not q.answerable:
            return Verdict(em, f, None, a.abstained)
        found = not a.abstained and (
            mentions(a.text, q.correct_choice)
            or any(mentions(c.quote, q.correct_choice) for c in a.citations)
        )
        cited = not a.abstained and any(mentions(c.quote, q.correct_choice) for c in a.citations)
        return Verdict(em, f, cited, found)

    def expected(self, q: EvalQuestion) -> str:
        return q.correct_choice + ("" if q.answerable else " (in no article: abstain)")


class JsonlJudge(Judge):
    """Our JSONL format: accepted answers and an optional evidence sentence."""

    kind: DatasetKind = "jsonl"
    hit_rule = "a passage contains the evidence sentence (else an accepted answer)"
    support_rule = (
        "a cited quote contains the evidence sentence (or is at least half of it, "
        "where the sentence splitter cut it)"
    )
    correct_rule = (
        "an accepted answer appears, normalised, in the short answer (in the answer "
        "text when there is no short answer); for an unanswerable question, an "
        "abstention"
    )

    def is_hit(self, q: EvalQuestion, p: Passage) -> bool:
        if q.evidence.strip():
            return fold(q.evidence) in fold(p.text)
        return any(contains_answer(p.text, ans) for ans in q.answers)

    def _verdict(self, q: EvalQuestion, a: Answer) -> Verdict:
        em, f = self._answer_scores(q, a)
        if not q.answerable:
            return Verdict(em, f, None, a.abstained)
        # the short answer is what a reader takes away: when there is one it alone is
        # judged ("Col. Sean Ryan" for "where ..." is wrong even if the quote says Baghdad)
        shown = a.short if a.short.strip() else a.text
        correct = not a.abstained and any(contains_answer(shown, ans) for ans in q.answers)
        supporting: bool | None = None
        if q.evidence.strip():
            ev = fold(q.evidence)
            supporting = not a.abstained and any(
                ev in fold(c.quote) or (len(fold(c.quote)) >= 0.5 * len(ev) and fold(c.quote) in ev)
                for c in a.citations
                if c.quote.strip()
            )
        return Verdict(em, f, supporting, correct)


class NewsQAJudge(Judge):
    """news-qa: accepted answers plus a verbatim evidence span in the question's article,
    scored exactly as the set's README says (see the module docstring)."""

    kind: DatasetKind = "newsqa"
    hit_rule = "a passage of the question's article contains the evidence span"
    support_rule = (
        "evidence cited: a citation of the question's own article quotes a text containing "
        "the evidence span"
    )
    correct_rule = (
        "the answer text (short answer and quoted sentences) contains an accepted answer "
        "and the evidence is cited (case, spacing, quotes and dashes unified); for an "
        "unanswerable question, an abstention"
    )

    def retrieval_scored(self, q: EvalQuestion) -> bool:
        return q.answerable and bool(q.evidence.strip()) and q.article_id is not None

    def is_hit(self, q: EvalQuestion, p: Passage) -> bool:
        return p.article_id == q.article_id and fold(q.evidence) in fold(p.text)

    @staticmethod
    def _contains_answer(text: str, answers: Sequence[str]) -> bool:
        folded = fold(text)
        return any(fold(ans) and fold(ans) in folded for ans in answers)

    def _verdict(self, q: EvalQuestion, a: Answer) -> Verdict:
        em, f = self._answer_scores(q, a)
        if not q.answerable:
            return Verdict(em, f, None, a.abstained)
        if a.abstained:
            return Verdict(em, f, False, False, answer_in_text=False, short_right=False)
        ev = fold(q.evidence)
        cited = bool(ev) and any(
            c.article_id == q.article_id and ev in fold(c.quote) for c in a.citations
        )
        in_text = self._contains_answer(a.text, q.answers)
        short_right = bool(a.short.strip()) and self._contains_answer(a.short, q.answers)
        return Verdict(
            em, f, cited, in_text and cited, answer_in_text=in_text, short_right=short_right
        )


def make_judge(kind: str) -> Judge:
    """The judge for a data set kind.

    Raises:
        ValueError: ``kind`` is not one of squad, realtimeqa, jsonl, newsqa, bbcqa.
    """
    judges: dict[str, type[Judge]] = {
        "squad": SquadJudge,
        "realtimeqa": RealtimeQAJudge,
        "jsonl": JsonlJudge,
        "newsqa": NewsQAJudge,
        "bbcqa": NewsQAJudge,
    }
    if kind not in judges:
        raise ValueError(f"data set must be one of {', '.join(DATASETS)}; got {kind!r}")
    return judges[kind]()
