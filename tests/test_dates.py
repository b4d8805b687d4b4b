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
