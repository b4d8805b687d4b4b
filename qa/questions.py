"""Question analysis for the extractive answerer: what kind of answer a question wants, and
where spans of that kind are in a sentence.

Rule-based and deterministic: question words decide the type ("how long" -> duration,
"when" -> date, "who" -> person, ...), and regular expressions find candidate spans of that
type (numbers with units, durations, dates, capitalised names).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

AnswerKind = Literal[
    "duration", "date", "number", "money", "percent", "person", "place", "organisation",
    "entity", "reason", "yesno", "description", "metadata_author", "metadata_source",
    "metadata_date", "metadata_title",
]

_NUMWORD = (r"(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
            r"thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|"
            r"forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|million|billion|"
            r"dozen|dozens|hundreds|thousands|millions|a|an|several|a few|few|many|half)")
_NUM = rf"(?:\d[\d,]*(?:\.\d+)?|{_NUMWORD}(?:[\s-]+{_NUMWORD})*)"
_UNIT_TIME = (r"(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?|centuries|"
              r"century|nights?|seasons?|terms?)")
_MONTH = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
          r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"

PATTERNS: dict[str, re.Pattern[str]] = {
    "duration": re.compile(
        rf"\b(?:(?:between|for|about|around|nearly|almost|roughly|some|over|under|up to|"
        rf"more than|less than|at least|at most|another|the next|the past|the last)\s+)?"
        rf"{_NUM}(?:\s*(?:and|or|to|-|–)\s*{_NUM})?\s+(?:more\s+|full\s+)?{_UNIT_TIME}\b"
        rf"(?:\s+(?:long|old))?"
        # "a 30-second commercial", "the two-year war"; "since 1951" for "how long has ..."
        rf"|\b(?:\d+|{_NUMWORD})-(?:second|minute|hour|day|week|month|year|decade)\b"
        rf"|\bsince\s+(?:(?:early|mid|late)\s+)?(?:{_MONTH}\s+)?\d{{4}}\b", re.I),
    "date": re.compile(
        rf"\b(?:(?:early|mid|late|in|on|since|by|until)\s+)?(?:"
        rf"{_WEEKDAY}(?:\s+(?:morning|afternoon|evening|night))?(?:,?\s+{_MONTH}\s+\d{{1,2}})?"
        rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}|\d{{1,2}}\s+{_MONTH},?\s+\d{{4}}"
        rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?|{_MONTH},?\s+\d{{4}}|\d{{1,2}}\s+{_MONTH}"
        rf"|(?:the\s+)?\d{{4}}s|\d{{4}}(?:[–-]\d{{2,4}})?|{_MONTH}"
        rf"|(?:last|next|this)\s+(?:week|month|year|weekend|{_WEEKDAY})|yesterday|today|tomorrow"
        rf"|(?:the\s+)?(?:\d{{1,2}}(?:st|nd|rd|th)|[a-z]+(?:teenth|tieth))"
        rf"(?:\s+(?:and|or|to)\s+(?:the\s+)?(?:\d{{1,2}}(?:st|nd|rd|th)|[a-z]+(?:teenth|tieth)))?"
        rf"\s+centur(?:y|ies)"
        rf"|\d{{1,4}}\s?(?:BCE|BC|CE|AD)|(?:AD|CE)\s?\d{{1,4}}"
        rf"|(?:(?:more than|less than|about|around|nearly|almost|some|over|just)\s+)?"
        rf"{_NUM}\s+{_UNIT_TIME}\s+ago)\b"),
    "money": re.compile(
        rf"(?:[$£€¥]\s?\d[\d,]*(?:\.\d+)?(?:\s*(?:million|billion|trillion|m|bn|k))?"
        rf"|\b{_NUM}\s+(?:million|billion|trillion)?\s*(?:dollars|pounds|euros|yen|yuan|"
        rf"rupees|francs|pesos))\b", re.I),
    "percent": re.compile(rf"\b{_NUM}\s*(?:%|per\s?cent|percent)", re.I),
    "number": re.compile(
        r"(?:[$£€]\s?)?\b(?:about|around|nearly|almost|more than|over|some|at least)?\s*"
        r"\d[\d,]*(?:\.\d+)?(?:\s*(?:million|billion|thousand|%|per\s?cent))?\b"
        r"|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|"
        r"thirty|forty|fifty|hundred|thousand|dozens?|hundreds|thousands|millions)"
        r"(?:[\s-]+(?:one|two|three|four|five|six|seven|eight|nine|hundred|thousand|million))*\b",
        re.I),
    "name": re.compile(
        r"\b(?:(?:Mr|Mrs|Ms|Dr|Col|Gen|Lt|Sgt|Capt|Sen|Rep|Gov|Pres|Prof|St)\.\s+)?"
        r"(?:(?:[A-Z]\.){2,}|[A-Z][\w'’-]*)"  # "U.S." too
        r"(?:\s+(?:(?:of|the|de|von|van|al|bin|and|for|la|le|du)\s+)*"
        r"[A-Z][\w'’.-]*)*"),
    "reason": re.compile(
        r"\b(?:because(?: of)?|since|due to|as a result of|owing to|thanks to|in order to|so that|"
        r"to facilitate|to help|in an effort to|after|amid)\b[^.;]*", re.I),
}

_METADATA = [
    ("metadata_author", re.compile(
        r"\b(who (wrote|authored|penned|reported)|author|byline|writer|reporter|journalist)\b"
        r"(?!.*\b(said|say|says)\b)", re.I)),
    ("metadata_source", re.compile(
        r"\b(which|what) (newspaper|paper|outlet|publication|news ?paper|site|website|"
        r"media|magazine)\b|\b(published|printed|ran|run) (by|in)\b.*\b(article|story|piece)\b"
        r"|\b(newspaper|outlet|publication) (ran|published|printed)", re.I)),
    ("metadata_date", re.compile(
        r"\bwhen (was|did) (the|this|it)\b( (article|story|piece|report))?.*\b(publish|"
        r"written|print|run|come out)|\b(publication|publish(ed)?) date\b|\bdate of (the|this) "
        r"(article|story|piece)\b|\bwhat (date|day) (is|was) (on )?(the|this) (article|story|"
        r"piece)\b", re.I)),
    ("metadata_title", re.compile(
        r"\b(headline|title|name) of (the|this) (article|story|piece)\b|\bwhat(?: is|'s|’s|"
        r" was) the (headline|title)\b|\b(article|story|piece) (called|titled|headlined)\b",
        re.I)),
]
# a question made only of these words and a metadata pattern ("What is the headline?", "Who
# is the author?") is about the article even without saying "article"
_BARE = frozenset({"what", "who", "which", "when", "whose", "s"})
# what makes "which newspaper ..." a question about the article ("ran this story", "is this
# from", "published it") rather than about its subject ("what magazine criticized ABC?")
_ABOUT_ARTICLE = re.compile(r"\b(article|story|piece|report|it)\b|\bthis\s*(\?|$|from\b)",
                            re.I)
# a subordinate clause before the question proper: "When using X, how is ...?"
_WH_WORDS = r"(what|which|who|whom|whose|when|where|why|how)\b"
_LEADING_CLAUSE = re.compile(rf"^[^,?]*,\s*(?={_WH_WORDS})", re.I)
_WH = re.compile(rf"\b{_WH_WORDS}", re.I)

_PLACE_NOUN = (r"(countr(y|ies)|cit(y|ies)|states?|towns?|regions?|area|provinces?|places?|"
               r"continents?|rivers?|islands?|locations?|count(y|ies)|villages?|stadiums?|"
               r"venues?)")
_PLACE_HINT = re.compile(rf"\b(where|(what|which) {_PLACE_NOUN})\b", re.I)
_ORG_HINT = re.compile(
    r"\b(what|which) (company|team|organi[sz]ation|group|party|militia|agency|firm|"
    r"network|club|university|school|band|newspaper|government|coalition|league|army|force)",
    re.I)
_PERSON_ROLE = (r"(person|man|woman|official|player|leader|president|spokes\w+|general|"
                r"commander|chief|minister|secretary|officer|author|writer|actor|singer|king|"
                r"queen|politician|scientist|coach|quarterback|senator|governor|mayor|judge)")
_PERSON_HINT = re.compile(r"^\s*(who|whom|whose)\b|\b(who|whom)\b|\b(what|which) "
                          rf"((\w+\.)+\s+|[A-Z]\w+\s+)?{_PERSON_ROLE}\b"
                          # "what is the name of the UN chief?", "the UN chief's name"
                          rf"|\bname of (the |this |that )?(\S+\s+)?{_PERSON_ROLE}\b"
                          rf"|\b{_PERSON_ROLE}(?:'s|’s) (full )?name\b", re.I)


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
        if pat.search(q) and (_ABOUT_ARTICLE.search(q) or (
                kind == "metadata_source" and len(q.split()) <= 3) or _bare(pat, q)):
            return QuestionInfo(kind.split("_")[1], kind, _focus(q))  # type: ignore[arg-type]
    # the question proper: "When using a probabilistic algorithm, how is ...?" asks "how"
    ql = _LEADING_CLAUSE.sub("", q).lower()
    first = _WH.search(ql)
    # "when" and "why" ask for a date or a reason only as the question's own word, not in a
    # clause after another one ("What is it called when ...?", "Who was king when ...?")
    lead = first.group(1) if first else ""
    rules: list[tuple[str, str, AnswerKind]] = [
        (r"\bhow long\b|\bfor how (long|many (days|weeks|months|years))\b|\bhow many "
         r"(days|weeks|months|years|hours|minutes|decades)\b|\bwhat (period|duration)\b",
         "how long", "duration"),
        (r"\bhow much (money|did|does|do|will|would|was|is|are|were)\b.*\b(cost|pay|paid|spend|"
         r"spent|worth|raise|raised|earn|price|fund|budget)", "how much", "money"),
        (r"\bwhat percent(age)?\b|\bhow many percent\b", "what percentage", "percent"),
        (r"\bhow (many|much|old|far|big|large|tall|high|fast|often)\b|\bwhat (is |was |are "
         r"|were )?(the )?(number|amount|size|age|population|total|height|length|width|"
         r"weight|score|count)\b", "how many", "number"),
        (r"\bwhen\b|\bwhat (year|date|day|month|time|century|decade|season)\b|\bwhich (year|"
         r"date|day|month|century|decade)\b|\bin what year\b|\bsince when\b", "when", "date"),
        (r"\bwhy\b|\bwhat (caused|was the reason|is the reason|reason)\b|\bfor what reason\b",
         "why", "reason"),
    ]
    for pat, wh, kind in rules:
        m = re.search(pat, ql)
        if m and (kind not in ("date", "reason") or lead in ("when", "why", "")
                  or not re.match(r"when|why", m.group())):
            return QuestionInfo(wh, kind, _focus(q))
    if _PLACE_HINT.search(q):
        return QuestionInfo("where", "place", _focus(q))
    if _ORG_HINT.search(q):
        return QuestionInfo("which", "organisation", _focus(q))
    if _PERSON_HINT.search(q):
        return QuestionInfo("who", "person", _focus(q))
    if re.match(r"^\s*(is|are|was|were|do|does|did|can|could|will|would|has|have|had|should)"
                r"\b", ql):
        return QuestionInfo("yes/no", "yesno", _focus(q))
    if re.search(r"\b(what|which)\b", ql):
        if re.search(r"\bwhat (is|are|was|were) (a|an|the)?\s*\w+\??$", ql) or re.search(
                r"\bwhat (does|did) .* (do|mean)\b", ql):
            return QuestionInfo("what", "description", _focus(q))
        return QuestionInfo("what", "entity", _focus(q))
    return QuestionInfo("", "description", _focus(q))


def _bare(pat: re.Pattern[str], q: str) -> bool:
    from qa.lexical import terms

    return not [t for t in terms(pat.sub(" ", q)) if t not in _BARE]


def _focus(q: str) -> tuple[str, ...]:
    from qa.lexical import terms

    return tuple(dict.fromkeys(terms(q)))


def find_spans(kind: AnswerKind, sentence: str) -> list[tuple[int, int]]:
    """Spans ``(start, end)`` of ``sentence`` that could answer a question of ``kind``.

    Returns an empty list for kinds without a pattern (description, yes/no).
    """
    if kind == "duration":
        pats = [PATTERNS["duration"]]
    elif kind == "date":
        pats = [PATTERNS["date"]]
    elif kind == "money":
        pats = [PATTERNS["money"], PATTERNS["number"]]
    elif kind == "percent":
        pats = [PATTERNS["percent"]]
    elif kind == "number":
        pats = [PATTERNS["percent"], PATTERNS["money"], PATTERNS["duration"],
                PATTERNS["number"]]
    elif kind in ("person", "place", "organisation", "entity"):
        pats = [PATTERNS["name"]]
    elif kind == "reason":
        pats = [PATTERNS["reason"]]
    else:
        return []
    spans: list[tuple[int, int]] = []
    for pat in pats:
        for m in pat.finditer(sentence):
            s, e = m.start(), m.end()
            while s < e and sentence[s].isspace():
                s += 1
            while e > s and sentence[e - 1] in " ,.;:" and not _ABBREVIATION.search(
                    sentence[s:e]):
                e -= 1
            if e - s < 1:
                continue
            if kind in ("person", "place", "organisation", "entity") and s == 0:
                if sentence[s:e].lower() in _SENTENCE_STARTERS:
                    continue
                first = re.match(r"(\w+)\s+", sentence[s:e])
                if first and first.group(1).lower() in _SENTENCE_STARTERS:
                    s += first.end()  # "On April", "In Syria": the name is what follows
            if not any(s < pe and ps < e for ps, pe in spans):
                spans.append((s, e))
    if kind in ("person", "place", "organisation", "entity"):
        # "Monday" and "September" are dates, not anyone's or anywhere's name
        spans = [(s, e) for s, e in spans if sentence[s:e].lower() not in _SENTENCE_STARTERS
                 and not _CALENDAR.fullmatch(sentence[s:e])]
    if kind == "money":
        # a bare number word ("four sides") is no sum of money; "5", "two million" may be
        spans = [(s, e) for s, e in spans if PATTERNS["money"].search(sentence[s:e])
                 or re.search(r"\d|illion", sentence[s:e])]
    return sorted(spans)


_ABBREVIATION = re.compile(r"(?:^|[\s(])(?:[A-Z]\.){2,}$")  # keep the last dot of "U.S."
_CALENDAR = re.compile(rf"{_WEEKDAY}(?:\s+(?:morning|afternoon|evening|night))?|{_MONTH}")


_SENTENCE_STARTERS = {
    "the", "a", "an", "in", "on", "at", "but", "and", "he", "she", "it", "they", "we", "i",
    "this", "that", "these", "those", "its", "his", "her", "their", "meanwhile", "even",
    "however", "after", "before", "when", "while", "as", "if", "for", "driving", "there",
    "to", "of", "by", "with", "from", "during", "since", "although", "though", "so", "yet",
    "or", "nor", "our", "my", "your", "what", "who", "which", "where", "why", "how", "some",
    "many", "most", "all", "both", "each", "one", "other", "another", "such", "no", "not",
}
