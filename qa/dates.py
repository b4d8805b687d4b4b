"""Dates: article dates as ISO 8601, and date bounds a person writes ("last week").

:func:`iso_date` turns the dates pages, feeds and clippings write ("Tuesday, 5 March 2024",
"Mar 5, 2024", "2024-03-05T08:15:00Z") into ``YYYY-MM-DD``; ingest stores that, so date
filters compare like with like. :func:`date_bound` reads what ``qa ask --since/--until``
take: an ISO date, or a phrase relative to today ("last week", "since Monday", "3 days
ago", "yesterday", "this month"), through dateparser.

Example:
    >>> iso_date("Wednesday, December 12, 2018")
    '2018-12-12'
    >>> date_bound("since Monday", today=datetime.date(2026, 12, 3))
    '2026-11-30'
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

from qa.errors import BadInputError

_ISO = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ][\d:.+\-Z]*)?\s*$")
_LEAD = re.compile(r"^\s*(?:since|from|after|starting|until|till|til|up\s+to|before|to)\s+", re.I)
_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
#: A full date written in words inside a longer line ("NATIONAL POST, WEDNESDAY, DECEMBER
#: 12, 2018").
DATE_IN_TEXT = re.compile(
    rf"\b(?:\d{{1,2}}\s+{_MONTHS}\s+\d{{4}}|{_MONTHS}\s+\d{{1,2}},?\s+\d{{4}})\b", re.I
)
_NUMERIC = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-]\d{2,4}$")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_EXAMPLES = "YYYY-MM-DD or a phrase such as 'last week', 'since Monday', '3 days ago'"


def _parse(text: str, settings: dict[str, Any]) -> datetime.datetime | None:
    import dateparser

    try:
        return dateparser.parse(text, languages=["en"], settings=settings)
    except (ValueError, OverflowError, TypeError):
        return None


def iso_date(raw: str) -> str:
    """The date ``raw`` names as ``YYYY-MM-DD``, or "" when it names no whole day.

    ISO dates (with or without a time) are taken as they are; anything else is read by
    dateparser, which must find a day, a month and a year.
    """
    raw = " ".join(str(raw).split())
    if not raw:
        return ""
    m = _ISO.match(raw)
    if m:
        try:
            return datetime.date(int(m[1]), int(m[2]), int(m[3])).isoformat()
        except ValueError:
            return ""
    if not re.search(r"\d", raw) or len(raw) > 80:
        return ""
    got = _parse(
        raw,
        {
            "REQUIRE_PARTS": ["day", "month", "year"],
            "RETURN_AS_TIMEZONE_AWARE": False,
            "PREFER_DATES_FROM": "past",
        },
    )
    return got.date().isoformat() if got else ""


def date_bound(
    text: str, *, end: bool = False, today: datetime.date | None = None, name: str = "date"
) -> str:
    """Read a date bound as ``YYYY-MM-DD``: an ISO date, or a phrase relative to ``today``.

    "last week" is seven days before today, "since Monday" the last Monday (today when it
    is one), "this week" / "this month" / "this year" their first day; "today" and
    "yesterday" as written; a month without a day ("January 2024") its first day, or its
    last for an ``end`` bound. A leading "since", "from", "until", "before" is ignored.

    Args:
        text: What the person wrote ("" gives "").
        end: The bound ends a range (``--until``) rather than starting one.
        today: The day phrases are relative to (default: today, local time).
        name: The option or field, for the message (``--since``).

    Raises:
        BadInputError: The text names no date; the message quotes it and shows the forms.
    """
    text = " ".join(str(text).split())
    if not text:
        return ""
    day = today or datetime.date.today()
    m = _ISO.match(text)
    if m:
        got = iso_date(text)
        if not got:
            raise BadInputError(f"{name} {text!r} is not a real date; write {_EXAMPLES}")
        return got
    phrase = _LEAD.sub("", text).lower().strip(" .")
    n = _NUMERIC.match(phrase)
    if n and int(n[1]) <= 12 and int(n[2]) <= 12 and n[1] != n[2]:
        raise BadInputError(
            f"{name} {text!r} is ambiguous (day/month or month/day?); write {_EXAMPLES}"
        )
    if phrase in ("this week", "the start of the week"):
        return (day - datetime.timedelta(days=day.weekday())).isoformat()
    if phrase == "this month":
        return day.replace(day=1).isoformat()
    if phrase == "this year":
        return day.replace(month=1, day=1).isoformat()
    if phrase in ("last week", "the last week", "past week", "the past week"):
        return (day - datetime.timedelta(days=7)).isoformat()
    if phrase in _WEEKDAYS:  # the last one, today included ("since Monday" on a Monday)
        back = (day.weekday() - _WEEKDAYS.index(phrase)) % 7
        return (day - datetime.timedelta(days=back)).isoformat()
    base = datetime.datetime.combine(day, datetime.time(12, 0))
    when = _parse(
        phrase,
        {
            "RELATIVE_BASE": base,
            "PREFER_DATES_FROM": "past",
            "PREFER_DAY_OF_MONTH": "last" if end else "first",
            "RETURN_AS_TIMEZONE_AWARE": False,
        },
    )
    if when is None:
        raise BadInputError(f"{name} {text!r} is not a date; write {_EXAMPLES}")
    return when.date().isoformat()


@dataclass(frozen=True)
class NamedDates:
    """The dates a question names ("What happened in Idlib last week?").

    Attributes:
        phrase: The words that name them, as written ("last week").
        date_from: First day, ISO ``YYYY-MM-DD``.
        date_to: Last day, ISO ``YYYY-MM-DD``.
    """

    phrase: str
    date_from: str
    date_to: str

    def span(self) -> str:
        """The days as a reader sees them: "2026-11-24 to 2026-12-01", or one day."""
        if self.date_from == self.date_to:
            return self.date_from
        return f"{self.date_from} to {self.date_to}"


_NAMED = re.compile(
    r"\b(?:(?P<rel>(?:in\s+|over\s+|during\s+)?(?:the\s+)?(?:last|past|this)\s+(?:week|month|year))"
    r"|(?P<day>yesterday|today)"
    r"|(?P<since>since\s+(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"yesterday|last\s+week|last\s+month|\d{4}-\d{2}-\d{2}))"
    r"|(?P<on>on\s+(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)))\b",
    re.I,
)


def question_dates(question: str, *, today: datetime.date | None = None) -> NamedDates | None:
    """The days a question's own words limit it to, relative to ``today``; None when it names
    none. Only phrases relative to today count ("last week", "this month", "yesterday",
    "since Monday", "on Tuesday"; a named day reaches to today, since its news is dated
    then or after): a year or a month named in a question is usually the time of the event
    asked about, not of the article.

    Example:
        >>> question_dates("What happened in Idlib last week?", today=datetime.date(2026, 12, 1))
        NamedDates(phrase='last week', date_from='2026-11-24', date_to='2026-12-01')
    """
    m = _NAMED.search(question)
    if m is None:
        return None
    day = today or datetime.date.today()
    phrase = " ".join(m.group().split())
    words = phrase.lower().split()
    end = day.isoformat()
    if m["rel"]:
        unit, the = words[-1], "the" in words
        which = words[-2]
        if which == "this":
            start = date_bound(f"this {unit}", today=day)
        elif unit == "week" or the or which == "past":
            days = {"week": 7, "month": 30, "year": 365}[unit]
            start = (day - datetime.timedelta(days=days)).isoformat()
        elif unit == "month":  # "last month": the calendar month before this one
            last = day.replace(day=1) - datetime.timedelta(days=1)
            start, end = last.replace(day=1).isoformat(), last.isoformat()
        else:  # "last year"
            start, end = f"{day.year - 1}-01-01", f"{day.year - 1}-12-31"
        return NamedDates(phrase, start, end)
    # the news of a day is dated that day or after: "yesterday" reaches to today
    if m["day"]:
        return NamedDates(phrase, date_bound(words[0], today=day), end)
    if m["on"]:
        return NamedDates(phrase, date_bound(words[1], today=day), end)
    return NamedDates(phrase, date_bound(phrase, today=day), end)
