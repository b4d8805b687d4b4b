"""Ingest by URL: a real HTTP server on 127.0.0.1 serving saved pages and bad answers."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from news_server import NewsServer, Route  # noqa: E402

from qa.fetch import FetchError, fetch, load_sources, read_url_list  # noqa: E402

WEB = Path(__file__).resolve().parent / "data" / "web"
AIRLINE_CANONICAL = "https://portland-daily.example/news/2024/01/06/jet-panel-blowout"


def _routes() -> dict[str, Route]:
    return {
        "/news/airline.html": Route(body=(WEB / "airline.html").read_bytes()),
        "/news/bakery.html": Route(body=(WEB / "bakery.html").read_bytes()),
        "/news/empty.html": Route(body=(WEB / "empty.html").read_bytes()),
        "/old/bakery": Route(status=301, headers={"Location": "/news/bakery.html"}),
        "/loop": Route(status=302, headers={"Location": "/loop"}),
        "/to-ftp": Route(status=302, headers={"Location": "ftp://127.0.0.1/story"}),
        "/logo.png": Route(body=b"\x89PNG\r\n\x1a\n" + bytes(200), content_type="image/png"),
        "/huge.html": Route(body=b"<p>" + b"word " * 20_000 + b"</p>", repeat=30),
        "/slow.html": Route(body=(WEB / "bakery.html").read_bytes(), delay=3.0),
        "/drip.html": Route(body=(WEB / "bakery.html").read_bytes(), delay=0.3, trickle=40),
        "/gone.html": Route(body=b"gone", status=410, content_type="text/plain"),
    }


@pytest.fixture()
def server():
    with NewsServer(_routes()) as srv:
        yield srv


def test_fetched_page_is_read_like_local_html(server: NewsServer):
    page = fetch(server.url("/news/airline.html"))
    assert page.status == 200 and page.content_type == "text/html" and page.charset == "utf-8"
    got = load_sources([server.url("/news/airline.html")])
    assert got.errors == [] and got.files == 1
    (a,) = got.articles
    assert a.title == "Jet lands safely after cabin panel blows out"
    assert a.source == "Portland Daily"
    assert a.author == "Dana Whitfield"
    assert a.date == "2024-01-06"
    # the canonical URL names the article (and so its id), wherever it was fetched from
    assert a.url == AIRLINE_CANONICAL
    assert a.path == server.url("/news/airline.html")
    assert "16,300 feet" in a.text and "Subscribe" not in a.text and "Privacy" not in a.text


def test_redirect_followed_and_final_url_kept(server: NewsServer):
    page = fetch(server.url("/old/bakery"))
    assert page.redirects == 1 and page.final_url == server.url("/news/bakery.html")
    (a,) = load_sources([server.url("/old/bakery")]).articles
    assert a.url == server.url("/news/bakery.html")  # no canonical link: the URL reached
    assert a.source == "Dales Gazette" and "£5,000" in a.text


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/loop", "more than 2 redirects"),
        ("/to-ftp", "redirected to ftp://127.0.0.1/story: only http:// and https://"),
        ("/logo.png", "not an HTML page or a PDF (the server says image/png)"),
        ("/huge.html", "over the 1 MB limit"),
        ("/slow.html", "no complete answer within 1.5 s"),
        ("/drip.html", "no complete answer within 1.5 s"),
        ("/gone.html", "the server answered 410 Gone"),
        ("/missing.html", "the server answered 404 Not Found"),
        ("/news/empty.html", "no article text found in the page"),
    ],
)
def test_each_bad_url_has_its_own_clear_error(server: NewsServer, path: str, message: str):
    url = server.url(path)
    t0 = time.monotonic()
    got = load_sources([url], timeout=1.5, max_bytes=1_000_000, max_redirects=2)
    assert time.monotonic() - t0 < 6  # the deadline holds even for a trickling server
    assert got.articles == []
    (err,) = got.errors
    assert isinstance(err, FetchError)
    assert str(err).startswith(url + ": ") and message in str(err), str(err)


def test_scheme_and_unreachable_host():
    got = load_sources(["ftp://127.0.0.1/a.html", "file:///etc/passwd", "http://127.0.0.1:9/x"])
    msgs = [str(e) for e in got.errors]
    assert (
        msgs[0] == "ftp://127.0.0.1/a.html: only http:// and https:// URLs can be fetched, not ftp:"
    )
    assert msgs[1].startswith("file:///etc/passwd: only http:// and https://")
    assert msgs[2].startswith("http://127.0.0.1:9/x: cannot reach the server")


def test_batch_keeps_going_past_bad_urls(server: NewsServer, tmp_path: Path):
    local = tmp_path / "note.txt"
    local.write_text("Council notes\n\nThe council met on Monday and agreed the budget.\n")
    got = load_sources(
        [
            server.url("/news/airline.html"),
            server.url("/missing.html"),
            str(local),
            server.url("/logo.png"),
            server.url("/news/bakery.html"),
        ]
    )
    assert [a.title for a in got.articles] == [
        "Council notes",
        "Jet lands safely after cabin panel blows out",
        "Village bakery wins national bread prize",
    ]
    assert [e.path for e in got.errors] == [server.url("/missing.html"), server.url("/logo.png")]
    assert got.files == 5


def test_file_of_urls(server: NewsServer, tmp_path: Path):
    listing = tmp_path / "reading.txt"
    listing.write_text(
        "# saved for later\n"
        f"{server.url('/news/airline.html')}\n\n"
        f"{server.url('/gone.html')}\n"
        f"{server.url('/old/bakery')}\n"
    )
    assert [n for n, _ in read_url_list(listing) or []] == [2, 4, 5]
    got = load_sources([listing])
    assert len(got.articles) == 2 and len(got.errors) == 1
    assert got.errors[0].path == server.url("/gone.html")
    # a .txt file with prose in it is an article, not a list
    prose = tmp_path / "story.txt"
    prose.write_text(f"Links\n\nSee {server.url('/news/airline.html')} for more.\n")
    assert read_url_list(prose) is None


def test_cli_ingests_urls_and_reports_each_failure(server: NewsServer, tmp_path: Path, capsys):
    from qa.cli import main

    index = tmp_path / "index"
    urls = [
        server.url("/news/airline.html"),
        server.url("/missing.html"),
        server.url("/old/bakery"),
    ]
    assert main(["ingest", *urls, "--index", str(index)]) == 0
    out, err = capsys.readouterr()
    assert f"skipped: {server.url('/missing.html')}: the server answered 404 Not Found" in err
    assert out.startswith("2 added, 0 updated, 0 unchanged")
    # the same URLs again: nothing new, and the page behind the redirect is the same article
    assert main(["ingest", *urls, "--index", str(index), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["unchanged"]) == 2 and report["added"] == [] and len(report["errors"]) == 1
    assert main(["ask", "How many passengers were on the jet?", "--index", str(index)]) == 0
    out = capsys.readouterr().out
    assert "171 passengers" in out and "Portland Daily" in out
    assert main(["ingest", server.url("/missing.html"), "--index", str(index)]) == 1


def test_python_api_ingests_a_url(server: NewsServer, tmp_path: Path):
    from qa.engine import QA
    from qa.settings import Settings

    engine = QA(Settings(data_dir=tmp_path, index_dir=tmp_path / "index", fetch_timeout=5))
    result = engine.ingest([server.url("/news/bakery.html"), "gopher://127.0.0.1/x"])
    assert len(result.report.added) == 1
    assert result.errors == [
        "gopher://127.0.0.1/x: only http:// and https:// URLs can be fetched, not gopher:"
    ]
    answer = engine.ask("How much was the prize money?")
    assert "£5,000" in answer.text and answer.citations[0].source == "Dales Gazette"
