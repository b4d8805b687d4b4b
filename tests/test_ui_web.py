"""The Library tab's URL box and copies view in a real browser (Debian's Chromium through
Playwright), against the app and a news server, both on 127.0.0.1."""

from __future__ import annotations

import shutil
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from news_server import NewsServer, Route  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
WEB = Path(__file__).resolve().parent / "data" / "web"
TIMEOUT = 60_000

pytestmark = pytest.mark.browser
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} not found: apt-get install chromium", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
expect = sync_api.expect
expect.set_options(timeout=TIMEOUT)


def _wire_copy() -> bytes:
    """The airline page as a wire service ran it: another outlet, intro and tail."""
    page = (WEB / "airline.html").read_text(encoding="utf-8")
    page = page.replace("Portland Daily", "Coast Wire").replace(
        '<link rel="canonical" href="https://portland-daily.example/news/2024/01/06/'
        'jet-panel-blowout">',
        "",
    )
    page = page.replace(
        "<p>PORTLAND, Ore. — An Alaska Airlines jet made an emergency landing in Portland on "
        "Friday night after a panel blew out of its side shortly after take-off.</p>",
        "<p>(AP) — Passengers described a roar of wind as a section of the cabin wall tore "
        "away over Oregon on Friday night, forcing the jet to turn back to Portland.</p>",
    )
    return page.replace("</article>", "<p>The Associated Press contributed.</p></article>").encode()


@pytest.fixture(scope="module")
def news() -> Iterator[NewsServer]:
    with NewsServer(
        {
            "/news/airline.html": Route(body=(WEB / "airline.html").read_bytes()),
            "/wire/jet.html": Route(body=_wire_copy()),
            "/news/bakery.html": Route(body=(WEB / "bakery.html").read_bytes()),
        }
    ) as srv:
        rss = (
            "<?xml version='1.0'?><rss version='2.0'><channel><title>Dales Feed</title>"
            f"<item><title>Bakery prize</title><link>{srv.url('/news/bakery.html')}</link>"
            "<guid>dales-1</guid></item></channel></rss>"
        )
        srv.set("/rss.xml", Route(body=rss.encode(), content_type="application/rss+xml"))
        yield srv


@pytest.fixture(scope="module")
def app_url(seed_index_dir: Path, tmp_path_factory: pytest.TempPathFactory, model: Any):
    from qa.engine import QA
    from qa.settings import Settings
    from ui.app import launch

    data = tmp_path_factory.mktemp("web-ui")
    shutil.copytree(seed_index_dir, data / "index")
    engine = QA(Settings(data_dir=data, index_dir=data / "index", fetch_timeout=10))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    demo = launch(engine, host="127.0.0.1", port=port, prevent_thread_lock=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.fixture()
def page(app_url: str) -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        pg = b.new_page(viewport={"width": 1280, "height": 900})
        pg.set_default_timeout(TIMEOUT)
        pg.goto(app_url)
        pg.get_by_role("tab", name="Library").click()
        expect(pg.locator("#qa-library-status")).to_contain_text("indexed")
        yield pg
        b.close()


def _fetch(pg: Any, text: str, feeds: bool = False) -> str:
    before = pg.inner_text("#qa-library-status")
    pg.fill("#qa-urls textarea", text)
    if feeds:
        pg.check("#qa-urls-feed input")
    pg.click("#qa-fetch")
    pg.wait_for_function(
        "old => { const s = document.querySelector('#qa-library-status')?.innerText || '';"
        " return s !== old && /Fetched/.test(s); }",
        arg=before,
    )
    return str(pg.inner_text("#qa-library-status"))


def test_urls_fetched_copies_shown_and_split(page: Any, news: NewsServer) -> None:
    assert "The server fetches them" in page.inner_text("body")
    expect(page.locator("#qa-copies")).to_contain_text("No copies of one story")
    status = _fetch(
        page,
        f"{news.url('/news/airline.html')}\n{news.url('/wire/jet.html')}\n"
        f"{news.url('/missing.html')}",
    )
    assert "Fetched 3 URLs: 1 new, 0 updated, 0 unchanged, 1 kept as copies" in status
    assert f"{news.url('/missing.html')}: the server answered 404" in status
    expect(page.locator("#qa-library")).to_contain_text("Jet lands safely")
    copies = page.locator("#qa-copies")
    expect(copies).to_contain_text("Jet lands safely after cabin panel blows out")
    expect(copies).to_contain_text("Coast Wire")
    assert page.inner_text("#qa-urls textarea") == ""

    page.click("#qa-copy-pick input")
    page.locator("[role=option]", has_text="Coast Wire").first.click()
    page.click("#qa-separate")
    expect(page.locator("#qa-library-status")).to_contain_text("indexed on its own")
    expect(copies).to_contain_text("No copies of one story")


def test_feed_in_the_url_box(page: Any, news: NewsServer) -> None:
    status = _fetch(page, news.url("/rss.xml"), feeds=True)
    assert "Fetched 1 feed:" in status
    expect(page.locator("#qa-library")).to_contain_text("Village bakery wins")
    again = _fetch(page, news.url("/rss.xml"), feeds=True)
    assert "1 feed entries already indexed" in again and "0 new" in again
