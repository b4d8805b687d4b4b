"""What a question asks for: its kind, the entity labels that can answer it, its words.

Question words decide the kind ("how long" -> duration, "when" -> date, "who" -> person,
...): the wh-word rules any English QA system has, written once here. Questions about the
article itself (author, outlet, date, headline) are recognised so that they are answered
from its metadata. :data:`WANTED` maps each kind to the spaCy entity labels that can answer
it (:mod:`qa.entities`, stored per sentence at index time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

AnswerKind = Literal[
    "duration",
    "date",
    "number",
    "money",
    "percent",
    "person",
    "place",
    "organisation",
    "entity",
    "reason",
    "yesno",
    "description",
    "metadata_author",
    "metadata_source",
    "metadata_date",
    "metadata_title",
]

#: The entity labels (spaCy's OntoNotes set) that can answer a question of each kind; a
#: kind not listed ("what", "why", yes/no) is answered by a sentence without a typed span.
WANTED: dict[str, frozenset[str]] = {
    "duration": frozenset({"DATE", "TIME"}),  # OntoNotes labels durations DATE/TIME
    "date": frozenset({"DATE", "TIME"}),
    "money": frozenset({"MONEY"}),
    "percent": frozenset({"PERCENT"}),
    "number": frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"}),
    "person": frozenset({"PERSON", "ORG", "NORP"}),  # "who" is answered by groups too
    "place": frozenset({"GPE", "LOC", "FAC", "ORG"}),  # "where" can be an institution
    "organisation": frozenset({"ORG", "NORP", "GPE", "PERSON"}),
}
#: "how old" is answered by an age, which OntoNotes labels DATE ("73 years old").
_AGE = re.compile(r"\bhow old\b|\bwhat age\b|\bage of\b", re.I)

_METADATA = [
    (
        "metadata_author",
        re.compile(
            r"\b(who (wrote|authored|penned|reported)|author|byline|writer|reporter|journalist)\b"
            r"(?!.*\b(said|say|says)\b)",
            re.I,
        ),
    ),
    (
        "metadata_source",
        re.compile(
            r"\b(which|what) (newspaper|paper|outlet|publication|news ?paper|site|website|"
            r"media|magazine)\b|\b(published|printed|ran|run) (by|in)\b.*\b(article|story|piece)\b"
            r"|\b(newspaper|outlet|publication) (ran|published|printed)",
            re.I,
        ),
    ),
    (
        "metadata_date",
        re.compile(
            r"\bwhen (was|did) (the|this|it)\b( (article|story|piece|report))?.*\b(publish|"
            r"written|print|run|come out)|\b(publication|publish(ed)?) date\b|\bdate of (the|this) "
            r"(article|story|piece)\b|\bwhat (date|day) (is|was) (on )?(the|this) (article|story|"
            r"piece)\b",
            re.I,
        ),
    ),
    (
        "metadata_title",
        re.compile(
            r"\b(headline|title|name) of (the|this) (article|story|piece)\b|\bwhat(?: is|'s|’s|"
            r" was) the (headline|title)\b|\b(article|story|piece) (called|titled|headlined)\b",
            re.I,
        ),
    ),
]
# a question made only of these words and a metadata pattern ("What is the headline?", "Who
# is the author?") is about the article even without saying "article"
_BARE = frozenset({"what", "who", "which", "when", "whose", "s"})
# what makes "which newspaper ..." a question about the article ("ran this story", "is this
# from", "published it") rather than about its subject ("what magazine criticized ABC?")
_ABOUT_ARTICLE = re.compile(r"\b(article|story|piece|report|it)\b|\bthis\s*(\?|$|from\b)", re.I)
# a subordinate clause before the question proper: "When using X, how is ...?"
_WH_WORDS = r"(what|which|who|whom|whose|when|where|why|how)\b"
_LEADING_CLAUSE = re.compile(rf"^[^,?]*,\s*(?={_WH_WORDS})", re.I)
_WH = re.compile(rf"\b{_WH_WORDS}", re.I)

_PLACE_NOUN = (
    r"(countr(y|ies)|cit(y|ies)|states?|towns?|regions?|area|provinces?|places?|"
    r"continents?|rivers?|islands?|locations?|count(y|ies)|villages?|stadiums?|"
    r"venues?)"
)
_PLACE_HINT = re.compile(rf"\b(where|(what|which) {_PLACE_NOUN})\b", re.I)
_ORG_HINT = re.compile(
    r"\b(what|which) (company|team|organi[sz]ation|group|party|militia|agency|firm|"
    r"network|club|university|school|band|newspaper|government|coalition|league|army|force)",
    re.I,
)
_PERSON_ROLE = (
    r"(person|man|woman|official|player|leader|president|spokes\w+|general|"
    r"commander|chief|minister|secretary|officer|author|writer|actor|singer|king|"
    r"queen|politician|scientist|coach|quarterback|senator|governor|mayor|judge)"
)
_PERSON_HINT = re.compile(
    r"^\s*(who|whom|whose)\b|\b(who|whom)\b|\b(what|which) "
    rf"((\w+\.)+\s+|[A-Z]\w+\s+)?{_PERSON_ROLE}\b"
    # "what is the name of the UN chief?", "the UN chief's name"
    rf"|\bname of (the |this |that )?(\S+\s+)?{_PERSON_ROLE}\b"
    rf"|\b{_PERSON_ROLE}(?:'s|’s) (full )?name\b",
    re.I,
)


@dataclass(frozen=True)
class QuestionInfo:
    """What a question asks for.

    Attributes:
        wh: The question word ("how long", "who", "when", ... or "" when none).
        kind: The kind of answer wanted.
        focus: Content words of the question (lower case) that the answer sentence should
            share.
    """

    wh: str
    kind: AnswerKind
    focus: tuple[str, ...]


def analyse(question: str) -> QuestionInfo:
    """Classify a question by the kind of answer it wants.

    Example:
        >>> analyse("How long does the SDF expect the fight to last?").kind
        'duration'
    """
    q = " ".join(question.strip().split())
    for kind, pat in _METADATA:
        # "which newspaper?" alone is about the article too
        if pat.search(q) and (
            _ABOUT_ARTICLE.search(q)
            or (kind == "metadata_source" and len(q.split()) <= 3)
            or _bare(pat, q)
        ):
            return QuestionInfo(kind.split("_")[1], kind, _focus(q))  # type: ignore[arg-type]
    # the question proper: "When using a probabilistic algorithm, how is ...?" asks "how"
    ql = _LEADING_CLAUSE.sub("", q).lower()
    first = _WH.search(ql)
    # "when" and "why" ask for a date or a reason only as the question's own word, not in a
    # clause after another one ("What is it called when ...?", "Who was king when ...?")
    lead = first.group(1) if first else ""
    rules: list[tuple[str, str, AnswerKind]] = [
        (
            r"\bhow long\b|\bfor how (long|many (days|weeks|months|years))\b|\bhow many "
            r"(days|weeks|months|years|hours|minutes|decades)\b|\bwhat (period|duration)\b",
            "how long",
            "duration",
        ),
        (
            r"\bhow much (money|did|does|do|will|would|was|is|are|were)\b.*\b(cost|pay|paid|spend|"
            r"spent|worth|raise|raised|earn|price|fund|budget)",
            "how much",
            "money",
        ),
        (r"\bwhat percent(age)?\b|\bhow many percent\b", "what percentage", "percent"),
        (
            r"\bhow (many|much|old|far|big|large|tall|high|fast|often)\b|\bwhat (is |was |are "
            r"|were )?(the )?(number|amount|size|age|population|total|height|length|width|"
            r"weight|score|count)\b",
            "how many",
            "number",
        ),
        (
            r"\bwhen\b|\bwhat (year|date|day|month|time|century|decade|season)\b|\bwhich (year|"
            r"date|day|month|century|decade)\b|\bin what year\b|\bsince when\b",
            "when",
            "date",
        ),
        (
            r"\bwhy\b|\bwhat (caused|was the reason|is the reason|reason)\b|\bfor what reason\b",
            "why",
            "reason",
        ),
    ]
    for rule, wh, kind in rules:
        m = re.search(rule, ql)
        if m and (
            kind not in ("date", "reason")
            or lead in ("when", "why", "")
            or not re.match(r"when|why", m.group())
        ):
            return QuestionInfo(wh, kind, _focus(q))
    if _PLACE_HINT.search(q):
        return QuestionInfo("where", "place", _focus(q))
    if _ORG_HINT.search(q):
        return QuestionInfo("which", "organisation", _focus(q))
    if _PERSON_HINT.search(q):
        # "Who are the SDF?" asks what a named group is; "Who is the UN chief?" for a name
        return QuestionInfo("who", "description" if _names_subject(q) else "person", _focus(q))
    if re.match(
        r"^\s*(is|are|was|were|do|does|did|can|could|will|would|has|have|had|should)"
        r"\b",
        ql,
    ):
        return QuestionInfo("yes/no", "yesno", _focus(q))
    if re.search(r"\b(what|which)\b", ql):
        if re.search(r"\bwhat (is|are|was|were) (a|an|the)?\s*\w+\??$", ql) or re.search(
            r"\bwhat (does|did) .* (do|mean)\b", ql
        ):
            return QuestionInfo("what", "description", _focus(q))
        return QuestionInfo("what", "entity", _focus(q))
    return QuestionInfo("", "description", _focus(q))


def _bare(pat: re.Pattern[str], q: str) -> bool:
    from qa.lexical import terms

    return not [t for t in terms(pat.sub(" ", q)) if t not in _BARE]


def _focus(q: str) -> tuple[str, ...]:
    from qa.lexical import terms

    return tuple(dict.fromkeys(terms(q)))


_WHO_IS = re.compile(r"^\s*who\s+(?:is|are|was|were)\s+(?:the\s+)?(.+?)\s*\??\s*$", re.I)


def _names_subject(q: str) -> bool:
    """Whether ``q`` is "Who is/are X?" with X a proper name (by spaCy's tagger)."""
    m = _WHO_IS.match(q)
    if not m:
        return False
    from qa.entities import get_pipeline

    doc = get_pipeline()(m.group(1))
    return (
        len(doc) > 0
        and all(t.pos_ in ("PROPN", "PUNCT") or t.is_stop for t in doc)
        and doc[-1].pos_ == "PROPN"
    )


def wanted_labels(question: str, kind: str) -> frozenset[str]:
    """The entity labels that can answer ``question`` of ``kind`` (empty: any sentence)."""
    labels = WANTED.get(kind, frozenset())
    if kind == "number" and _AGE.search(question):
        labels = labels | {"DATE"}
    return labels


_COUNTED = re.compile(r"\bhow many\s+(?:more\s+|other\s+|of\s+the\s+)?([a-z][\w-]*)", re.I)


@lru_cache(maxsize=512)
def counted_noun(question: str, kind: str) -> str:
    """The lemma of what a "how many ...?" question of ``kind`` (a number or a duration)
    counts ("How many fans ...?" -> "fan"), or "" (then any count answers)."""
    m = _COUNTED.search(question) if kind in ("number", "duration") else None
    if not m:
        return ""
    from qa.entities import get_pipeline

    nlp = get_pipeline()
    doc = nlp(m.group(1).lower())
    return doc[0].lemma_.lower() if len(doc) else m.group(1).lower()
