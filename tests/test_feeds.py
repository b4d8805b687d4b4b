"""Feeds: RSS and Atom served by a real HTTP server on 127.0.0.1, read again and again."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from news_server import NewsServer, Route  # noqa: E402

from qa.engine import QA  # noqa: E402
from qa.feeds import load_feed  # noqa: E402
from qa.settings import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "tests" / "data" / "web"

FERRY_V1 = (
    "<p>The harbour ferry will run every forty minutes instead of every twenty from "
    "Monday, the operator said, because two of its four boats need new engines.</p>"
    "<p>Commuters who cross to the business park each morning said the change would add "
    "half an hour to their day. The operator said the boats would be back in service by "
    "the end of March and that season tickets would be cut by a fifth until then.</p>"
    "<p>The council, which pays for part of the service, said it had asked the operator to "
    "hire a spare boat from a neighbouring harbour while the repairs are done.</p>"
)
FERRY_V2 = FERRY_V1.replace("by the end of March", "by the middle of April").replace(
    "by a fifth", "by a quarter"
)
LIBRARY = (
    "<p>The town library reopened on Tuesday, eleven months after flood water filled its "
    "ground floor and destroyed more than 6,000 books.</p>"
    "<p>Volunteers spent the summer drying and sorting what could be saved, and a public "
    "appeal raised £48,000 towards new shelves, carpets and a children's corner.</p>"
    "<p>The head librarian, Ruth Carver, said the building now had flood doors and that "
    "the rarest local history books had been moved upstairs, where the water could not "
    "reach them again. Opening hours are the same as before the flood.</p>"
)


def _feed(name: str, base: str, **parts: str) -> bytes:
    text = (WEB / name).read_text(encoding="utf-8")
    for k, v in {"base": base, "ferry": FERRY_V1, "library": LIBRARY, **parts}.items():
        text = text.replace("{" + k + "}", v)
    return text.encode("utf-8")


@pytest.fixture()
def server():
    with NewsServer() as srv:
        base = srv.base_url
        srv.set("/news/airline.html", Route(body=(WEB / "airline.html").read_bytes()))
        srv.set("/news/bakery.html", Route(body=(WEB / "bakery.html").read_bytes()))
        srv.set("/old/bakery", Route(status=301, headers={"Location": "/news/bakery.html"}))
        srv.set("/news/budget-full.html", Route(body=b"<p>line item</p>" * 5000, repeat=20))
        srv.set("/rss.xml", Route(body=_feed("news.rss", base), content_type="application/rss+xml"))
        srv.set(
            "/atom.xml", Route(body=_feed("news.atom", base), content_type="application/atom+xml")
        )
        srv.set("/page.html", Route(body=(WEB / "airline.html").read_bytes()))
        yield srv


def _engine(tmp_path: Path) -> QA:
    # a 1 MB limit: the budget page (1.7 MB) is too large
    return QA(Settings(data_dir=tmp_path, index_dir=tmp_path / "index", max_file_mb=1.0))


def test_rss_entries_ingested_with_per_entry_errors(server: NewsServer, tmp_path: Path):
    engine = _engine(tmp_path)
    rss = server.url("/rss.xml")
    result = engine.ingest(feeds=[rss])
    assert result.entries == 6
    # airline (fetched), bakery (through a redirect), ferry (the feed's full text)
    assert len(result.report.added) == 3, result.errors
    errors = result.errors  # in entry order
    assert len(errors) == 3
    assert errors[0].startswith(f"{server.url('/news/withdrawn.html')}: the server answered 404")
    assert errors[1] == (
        f"{server.url('/news/budget-full.html')}: the page is over the 1 MB limit (raise it "
        f"with QA_MAX_FILE_MB) (entry 5 ('Full text of the budget') of feed {rss})"
    )
    assert errors[2] == (
        f"{rss}: the entry has neither a link nor its text "
        f"(entry 6 ('An entry with nothing in it') of feed {rss})"
    )
    by_title = {a.title: a for a in engine.index.articles}
    ferry = by_title["Harbour ferry timetable changes"]
    assert ferry.source == "Regional Wire" and ferry.author == "Priya Natarajan"
    assert ferry.date == "2024-01-11" and ferry.guid == "wire-2024-0111-ferry"
    assert "end of March" in ferry.text
    assert server.fetched("/news/ferry.html") == 0  # the feed had the full text
    bakery = by_title["Village bakery wins national bread prize"]
    assert bakery.source == "Dales Gazette" and bakery.url == server.url("/news/bakery.html")
    assert by_title["Jet lands safely after cabin panel blows out"].source == "Portland Daily"


def test_reread_adds_nothing_then_only_what_changed(server: NewsServer, tmp_path: Path):
    engine = _engine(tmp_path)
    rss = server.url("/rss.xml")
    first = engine.ingest(feeds=[rss])
    assert len(first.report.added) == 3
    fetched = list(server.requests)

    again = engine.ingest(feeds=[rss])
    assert again.report.added == [] and again.report.replaced == [] and again.report.chunks == 0
    assert len(again.skipped) == 3 and all("already indexed" in s for s in again.skipped)
    # the three indexed entries were not fetched again; the failing ones were retried
    new_requests = server.requests[len(fetched) :]
    assert "/news/airline.html" not in new_requests and "/old/bakery" not in new_requests
    assert "/news/withdrawn.html" in new_requests

    # the publisher corrects the ferry story and adds a new one
    body = _feed("news.rss", server.base_url, ferry=FERRY_V2).replace(
        b"<item>",
        b"<item><title>Airport reopens</title>"
        b"<link>" + server.url("/page.html").encode() + b"</link>"
        b"<guid>wire-new</guid></item><item>",
        1,
    )
    body = body.replace(b"Thu, 11 Jan 2024 07:00:00 GMT", b"Thu, 11 Jan 2024 18:00:00 GMT")
    server.set("/rss.xml", Route(body=body, content_type="application/rss+xml"))
    third = engine.ingest(feeds=[rss])
    assert len(third.report.replaced) == 1 and third.report.added == []
    # the new entry's page is the airline story already indexed (same text): skipped
    assert any("same text as article" in s for s in third.skipped)
    ferry = next(a for a in engine.index.articles if a.guid == "wire-2024-0111-ferry")
    assert "middle of April" in ferry.text and "end of March" not in ferry.text
    answer = engine.ask("When will the ferry boats be back in service?")
    assert "middle of April" in answer.text


def test_atom_feed_and_entries_already_indexed_from_another_feed(
    server: NewsServer, tmp_path: Path
):
    engine = _engine(tmp_path)
    engine.ingest(feeds=[server.url("/rss.xml")])
    atom = server.url("/atom.xml")
    got = engine.ingest(feeds=[atom])
    assert got.entries == 3 and len(got.report.added) == 1
    (library,) = [a for a in engine.index.articles if a.guid == "urn:uuid:dales-library-2024"]
    assert library.title == "Library reopens after flood repairs"
    assert library.author == "Tom Ashworth" and library.date == "2024-01-09"
    assert library.source == "Dales Gazette"
    # the bakery entry links the page the RSS feed's redirect led to: not fetched again
    assert any("bakery" in s and "has its URL" in s for s in got.skipped)
    assert got.errors == [
        f"{server.url('/gazette/missing.html')}: the server answered 404 Not Found "
        f"(entry 3 ('Missing page') of feed {atom})"
    ]


def test_bad_feeds_are_named(server: NewsServer):
    page = load_feed(server.url("/page.html"))
    (err,) = page.errors
    assert str(err) == (
        f"{server.url('/page.html')}: not an RSS or Atom feed "
        "(the server sent text/html, a web page)"
    )
    gone = load_feed(server.url("/nowhere.xml"))
    assert str(gone.errors[0]).endswith("the server answered 404 Not Found")
    assert load_feed("file:///etc/hosts").errors[0].args[0].startswith("file:///etc/hosts: only")


def test_cli_feed_and_watch(server: NewsServer, tmp_path: Path):
    from qa.cli import main

    index = tmp_path / "index"
    atom = server.url("/atom.xml")
    assert main(["ingest", "--feed", atom, "--index", str(index)]) == 0
    # watch reads twice: the second read adds nothing and fetches no article
    before = len(server.requests)
    env = {"QA_DATA_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "qa.cli",
            "watch",
            atom,
            "--every",
            "0.01",
            "--rounds",
            "2",
            "--json",
            "--index",
            str(index),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    rounds = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(rounds) == 2
    for r in rounds:
        assert r["added"] == [] and r["entries"] == 3 and len(r["skipped"]) == 2
    assert server.requests[before:].count("/gazette/missing.html") == 2
    assert server.requests[before:].count("/atom.xml") == 2
    assert "/news/bakery.html" not in server.requests[before:]
    assert main(["watch", atom, "--every", "0", "--index", str(index)]) == 2
