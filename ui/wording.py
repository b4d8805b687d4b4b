"""Reader-facing wording for the chat UI: abstentions, notes, the searched query, match strength.

The answer stage and the engine write their notes for the command line and the logs
("Best support 0.07 is below the threshold 0.25", "(or pass --article)"). The web page says
the same things in a reader's words; the raw text stays available behind the passages
panel's details toggle (:func:`ui.render.details_html`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from qa.answer_types import Answer
from qa.retrieval import Passage

# Notes that only make sense on the command line or to the person tuning the answerer:
# the pattern, and the reader's version ("" drops the note from the chat).
_NOTE_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"below the threshold", re.I), ""),
    (re.compile(r"^The index holds no articles", re.I), ""),
    (
        re.compile(r"metadata has no such field", re.I),
        "The best-matching article's header does not give that.",
    ),
    (
        re.compile(r"several articles match", re.I),
        "Several articles match. To ask about one of them, pick it in “Ask about” under "
        "the question box.",
    ),
    (
        re.compile(r"^No LLM is configured", re.I),
        "No LLM answerer is set up on this server; this is the extractive answer.",
    ),
)
_FLAG = re.compile(r"\s*\((?:or )?(?:pass|use) --[\w-]+\)")
_ENV_VAR = re.compile(r"\s*\((?:set )?QA_[A-Z_]+[^)]*\)")

# How the first line of an abstention starts: the chat history drops these replies, since
# they hold no answer for a follow-up question to lean on.
ABSTAIN_PREFIXES = (
    "The articles don't say",
    "The article you picked doesn't say",
    "No article matches the filters",
)


def reader_notes(notes: Sequence[str]) -> list[str]:
    """The answer's notes as the chat shows them: internal ones dropped, the rest reworded."""
    out = []
    for note in notes:
        for pattern, replacement in _NOTE_REWRITES:
            if pattern.search(note):
                note = replacement
                break
        note = _ENV_VAR.sub("", _FLAG.sub("", note)).strip()
        if note and note not in out:
            out.append(note)
    return out


@dataclass(frozen=True)
class Scope:
    """The filters a question was asked under, in the reader's terms.

    Attributes:
        article_title: The headline of the one article asked about, or "" for all.
        outlets: Only these outlets.
        date_from: Only articles dated on or after this date.
        date_to: Only articles dated on or before this date.
    """

    article_title: str = ""
    outlets: tuple[str, ...] = ()
    date_from: str = ""
    date_to: str = ""

    def active(self) -> bool:
        """Whether any filter is set."""
        return bool(self.article_title or self.outlets or self.date_from or self.date_to)

    def describe(self) -> str:
        """The filters in words: 'from National Post, dated 2018-09-01 or later'."""
        parts = []
        if self.article_title:
            parts.append(f"“{self.article_title}”")
        if self.outlets:
            parts.append("from " + " or ".join(self.outlets))
        if self.date_from and self.date_to:
            parts.append(f"dated {self.date_from} to {self.date_to}")
        elif self.date_from:
            parts.append(f"dated {self.date_from} or later")
        elif self.date_to:
            parts.append(f"dated {self.date_to} or earlier")
        return ", ".join(parts)


def abstention_text(answer: Answer, scope: Scope) -> str:
    """What the chat says when the articles do not hold the answer (plain text).

    It names the filters that limited the search, and points at the closest passages, which
    the UI opens under *Retrieved passages*.
    """
    q = answer.question.strip().rstrip("?")
    if not answer.passages:
        if scope.active():
            return (
                f"No article matches the filters ({scope.describe()}). Remove a filter "
                "to search every article."
            )
        return "The articles don't say: nothing was found for this question."
    where = "The closest passages are open under Retrieved passages."
    if scope.article_title:
        return (
            f"The article you picked doesn't say. Nothing in “{scope.article_title}” "
            f"answers “{q}?” {where}"
        )
    if scope.active():
        return (
            f"The articles don't say. Nothing in the articles {scope.describe()} answers "
            f"“{q}?” {where}"
        )
    return f"The articles don't say. Nothing in them answers “{q}?” {where}"


@dataclass(frozen=True)
class Searched:
    """What was searched beyond the question itself.

    Attributes:
        context: Phrases taken from earlier turns of the chat (a follow-up question).
        bridges: ``(written, also searched)`` pairs: an acronym and its long form.
    """

    context: tuple[str, ...] = ()
    bridges: tuple[tuple[str, str], ...] = ()


def searched(answer: Answer) -> Searched:
    """Split the searched query into the question, the conversation's words and the bridges."""
    query = answer.query or answer.question
    for e in answer.expansions:
        query = query.replace(f"{e.found} ({e.added})", e.found)
    question = " ".join(answer.question.split())
    context: tuple[str, ...] = ()
    if query.startswith(question) and len(query) > len(question):
        rest = query[len(question) :]
        context = tuple(p.strip() for p in rest.split(";") if p.strip())
    bridges = tuple((e.found, e.added) for e in answer.expansions)
    return Searched(context, bridges)


def short(text: str, limit: int = 60) -> str:
    """``text`` cut at a word to about ``limit`` characters, with an ellipsis when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut + "…"


# Cosine similarity of the query and a passage (all-MiniLM-L6-v2): on the seed questions
# passages that hold the answer score about 0.55-0.70, unrelated ones under 0.40.
_STRONG, _PARTIAL = 0.55, 0.40


def match_strength(p: Passage, passages: Sequence[Passage]) -> tuple[str, float]:
    """A passage's match as a word and a 0..1 bar length.

    The word comes from the passage's dense similarity to the query when the retriever
    reports it; otherwise from its fused score relative to the other passages.
    """
    dense = p.signals.get("dense")
    if dense is not None:
        bar = min(1.0, max(0.0, (dense - 0.2) / 0.6))
        word = "strong" if dense >= _STRONG else "partial" if dense >= _PARTIAL else "weak"
        return f"{word} match", bar
    scores = [x.score for x in passages]
    lo, hi = min(scores), max(scores)
    bar = 1.0 if hi == lo else (p.score - lo) / (hi - lo)
    word = "strong" if bar >= 0.66 else "partial" if bar >= 0.33 else "weak"
    return f"{word} match", bar
