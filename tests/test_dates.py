"""Dates: ISO 8601 at ingest, and --since/--until phrases relative to today."""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path

import pytest

from qa.articles import make_article, parse_text
from qa.dates import date_bound, iso_date
from qa.errors import BadInputError

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("Wednesday, December 12, 2018", "2018-12-12"),
        ("Tuesday, 5 March 2024", "2024-03-05"),
        ("Mar 5, 2024", "2024-03-05"),
        ("2024-03-05T08:15:00Z", "2024-03-05"),
        ("Sat, 06 Jan 2024 08:15:00 GMT", "2024-01-06"),
        ("2024-02-30", ""),  # no such day
        ("March 2024", ""),  # no day: kept as written by make_article
        ("soon", ""),
        ("", ""),
    ],
)
def test_iso_date(raw: str, iso: str):
    assert iso_date(raw) == iso


def test_articles_store_iso_dates():
    assert make_article("Body text here.", date="Tuesday, 5 March 2024").date == "2024-03-05"
    assert make_article("Body text here.", date="March 2024").date == "March 2024"
    a = parse_text(
        "Harbour Times\n\nBRIDGE REOPENS\n\nTuesday, 5 March 2024\n\n"
        "The bridge reopened on Monday after nine weeks of repairs, the council said."
    )
    assert a.date == "2024-03-05" and a.text[slice(*a.fields["date"])] == "Tuesday, 5 March 2024"


THURSDAY = datetime.date(2026, 12, 3)


@pytest.mark.parametrize(
    ("text", "end", "iso"),
    [
        ("2024-01-05", False, "2024-01-05"),
        ("last week", False, "2026-11-26"),
        ("since Monday", False, "2026-11-30"),
        ("Thursday", False, "2026-12-03"),  # today is one
        ("3 days ago", False, "2026-11-30"),
        ("yesterday", True, "2026-12-02"),
        ("this week", False, "2026-11-30"),
        ("this month", False, "2026-12-01"),
        ("January 2024", False, "2024-01-01"),
        ("until January 2024", True, "2024-01-31"),
        ("25/12/2018", False, "2018-12-25"),
        ("", False, ""),
    ],
)
def test_date_bound_relative_to_today(text: str, end: bool, iso: str):
    assert date_bound(text, end=end, today=THURSDAY) == iso


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("whenever", "is not a date"),
        ("2024-13-01", "is not a real date"),
        ("11/09/2018", "is ambiguous"),
    ],
)
def test_bad_bounds_say_why(text: str, why: str):
    with pytest.raises(BadInputError) as e:
        date_bound(text, today=THURSDAY, name="--since")
    assert str(e.value).startswith(f"--since {text!r} {why}") and "YYYY-MM-DD" in str(e.value)


def test_cli_since_last_week(tmp_path: Path, capsys):
    from qa.cli import main

    today = datetime.date.today()
    recent = (today - datetime.timedelta(days=2)).strftime("%A, %d %B %Y")  # as a page writes it
    old = (today - datetime.timedelta(days=40)).isoformat()
    records = tmp_path / "news.jsonl"
    records.write_text(
        "\n".join(
            json.dumps(r)
            for r in (
                {
                    "title": "Ferry fares rise",
                    "source": "Harbour Times",
                    "date": recent,
                    "text": "Ferry fares will rise by ten percent from next month, the operator "
                    "said on Tuesday, blaming the cost of fuel.",
                },
                {
                    "title": "Ferry fares frozen",
                    "source": "Harbour Times",
                    "date": old,
                    "text": "Ferry fares will stay the same for another year, the operator said, "
                    "after a council grant covered the cost of fuel.",
                },
            )
        )
    )
    index = tmp_path / "index"
    assert main(["ingest", str(records), "--index", str(index)]) == 0
    capsys.readouterr()
    assert main(["list", "--json", "--index", str(index)]) == 0
    dates = sorted(r["date"] for r in json.loads(capsys.readouterr().out))
    assert dates == sorted([(today - datetime.timedelta(days=2)).isoformat(), old])
    q = "What will happen to ferry fares?"
    assert main(["ask", q, "--since", "last week", "--index", str(index), "--json"]) == 0
    out, err = capsys.readouterr()
    cited = {c["title"] for c in json.loads(out)["citations"]}
    assert cited == {"Ferry fares rise"}
    week_ago = (today - datetime.timedelta(days=7)).isoformat()
    assert f"dates searched: {week_ago} to any date" in err
    assert main(["ask", q, "--until", "last month", "--index", str(index), "--json"]) == 0
    assert {c["title"] for c in json.loads(capsys.readouterr().out)["citations"]} <= {
        "Ferry fares frozen"
    }
    assert main(["ask", q, "--since", "whenever", "--index", str(index)]) == 1
    assert "--since 'whenever' is not a date" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("question", "phrase", "span"),
    [
        ("What happened in Idlib last week?", "last week", ("2026-11-26", "2026-12-03")),
        ("What has changed since Monday?", "since Monday", ("2026-11-30", "2026-12-03")),
        ("Who won yesterday?", "yesterday", ("2026-12-02", "2026-12-03")),
        ("What happened last month?", "last month", ("2026-11-01", "2026-11-30")),
        ("What did the council decide this month?", "this month", ("2026-12-01", "2026-12-03")),
    ],
)
def test_dates_a_question_names(question: str, phrase: str, span: tuple[str, str]):
    from qa.dates import question_dates

    got = question_dates(question, today=THURSDAY)
    assert got is not None and (got.phrase, got.date_from, got.date_to) == (phrase, *span)


def test_no_dates_in_most_questions():
    from qa.dates import question_dates

    for q in ("How long will the fight last?", "Who won the election in 2023?", "When?"):
        assert question_dates(q, today=THURSDAY) is None


def test_a_question_that_names_a_time_is_searched_then(tmp_path: Path):
    from qa.engine import QA
    from qa.retrieval import Filters
    from qa.settings import Settings

    today = datetime.date.today()
    recent = make_article(
        "Ferry fares will rise by ten percent from next month, the operator said, blaming "
        "the cost of fuel.",
        title="Ferry fares rise",
        date=(today - datetime.timedelta(days=3)).isoformat(),
    )
    old = make_article(
        "Ferry fares will stay the same for another year, the operator said, after a council "
        "grant covered the cost of fuel.",
        title="Ferry fares frozen",
        date=(today - datetime.timedelta(days=40)).isoformat(),
    )
    engine = QA(Settings(data_dir=tmp_path, index_dir=tmp_path / "index"))
    engine.add_articles([recent, old])
    week = f"{(today - datetime.timedelta(days=7)).isoformat()} to {today.isoformat()}"
    answer = engine.ask("What happened to ferry fares last week?")
    assert {c.title for c in answer.citations} == {"Ferry fares rise"}
    assert {p.title for p in answer.passages} == {"Ferry fares rise"}
    assert f"Searched the articles dated {week} (“last week”)." in answer.notes
    # nothing dated yesterday or today: every date is searched, and the answer says so
    answer = engine.ask("What happened to ferry fares yesterday?")
    assert {p.title for p in answer.passages} == {"Ferry fares rise", "Ferry fares frozen"}
    assert any(
        n.startswith("No article is dated") and "searched all dates" in n for n in answer.notes
    )
    # dates the caller sets win over the question's words
    answer = engine.ask(
        "What happened to ferry fares last week?",
        filters=Filters(date_to=(today - datetime.timedelta(days=30)).isoformat()),
    )
    assert {p.title for p in answer.passages} == {"Ferry fares frozen"}
    assert not any("Searched the articles dated" in n for n in answer.notes)
