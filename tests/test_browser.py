"""The chat UI in a real browser: Playwright drives Debian's Chromium against the app,
launched once for the module on 127.0.0.1 over a copy of the seed index.

Run with ``pytest -m browser``; skipped when Playwright or /usr/bin/chromium is missing
(``apt-get install chromium``). Screenshots go to docs/screenshots/.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
EXAMPLE = "How long does the SDF expect the fight to last?"
SLOG = ("The Syrian Democratic Forces is preparing for a slog: between two and three months, "
        "according to one senior official with the militia.")
PAYLOAD_TITLE = "<script>window.__pwned=1</script> Harbour bridge reopens"
PAYLOAD_IMG = '<img src=x onerror="window.__pwned=1">'
HOSTILE = (
    f"The Daily <b>Bold</b>\n\n{PAYLOAD_TITLE}\n\n"
    "The Harbour bridge reopened on Monday after nine weeks of repairs, the city's transport "
    f"office said. {PAYLOAD_IMG} Engineers replaced 40 steel cables. More at "
    "[click](javascript:window.__pwned=1).\n\n"
    "The repairs cost about $4 million, officials said.\n")
FERRY = (
    "Island Courier\n\nFerry service resumes after storm\n\n"
    "The island ferry resumed service on Sunday after a storm damaged the pier last month, "
    "the operator said.\n\n"
    "Repairs to the pier took three weeks, and two extra sailings a day will clear the "
    "backlog of freight.\n")
TIMEOUT = 60_000  # ms; answers take a second or two, but the CI machine may be busy

pytestmark = pytest.mark.browser

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} not found: install Debian's Chromium (apt-get install chromium)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api",
                               reason="Playwright is not installed (pip install playwright)")
expect = sync_api.expect
expect.set_options(timeout=TIMEOUT)  # a loaded CI machine renders slowly


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server_url(seed_index_dir: Path, tmp_path_factory: pytest.TempPathFactory,
               model: Any) -> Iterator[str]:
    """The app on a free port over a private copy of the seed index (one per module)."""
    from qa.engine import QA
    from qa.settings import Settings
    from ui.app import launch

    data = tmp_path_factory.mktemp("browser-data")
    shutil.copytree(seed_index_dir, data / "index")
    engine = QA(Settings(data_dir=data, index_dir=data / "index"))
    port = _free_port()
    demo = launch(engine, host="127.0.0.1", port=port, prevent_thread_lock=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def page(browser: Any, server_url: str) -> Iterator[Any]:
    """A fresh page on the app; any alert/confirm dialog fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT)
    dialogs: list[str] = []

    def on_dialog(d: Any) -> None:
        dialogs.append(d.message)
        d.dismiss()

    pg.on("dialog", on_dialog)
    pg.goto(server_url)
    pg.wait_for_selector("#qa-question textarea")
    yield pg
    context.close()
    assert not dialogs, f"a dialog opened (script ran from article text): {dialogs}"


def ask(pg: Any, question: str) -> None:
    """Type a question, press Enter, and wait until the answer and its query are shown."""
    pg.fill("#qa-question textarea", question)
    pg.press("#qa-question textarea", "Enter")
    wait_answered(pg, question)


def wait_answered(pg: Any, question: str) -> None:
    # the sources panel of the final answer names its question
    pg.wait_for_function(
        "q => document.querySelector('#qa-sources [data-question]')?.dataset.question === q",
        arg=question)


def test_example_question_shows_answer_marker_and_quoted_sentence(page: Any) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    example = page.locator("#qa-chat").get_by_text(EXAMPLE)
    example.wait_for()
    page.screenshot(path=str(SHOTS / "first-open.png"))

    example.click()  # the example is asked at once
    wait_answered(page, EXAMPLE)
    chat = page.inner_text("#qa-chat")
    assert "Between two and three months" in chat
    assert page.locator("#qa-chat sup", has_text="[1]").count() >= 1
    sources = page.locator("#qa-sources")
    assert SLOG in sources.inner_text()
    assert sources.locator("mark").first.inner_text() == "between two and three months"
    assert "National Post" in sources.inner_text()

    sources.get_by_text("Show the surrounding paragraph").click()
    expect(sources).to_contain_text("We expect a long and hard fight")
    page.click("#qa-passages .label-wrap")
    page.locator("#qa-passages .qa-passage").first.wait_for()
    assert "Searched:" in page.inner_text("#qa-status")
    page.screenshot(path=str(SHOTS / "answer.png"), full_page=True)


def test_uploaded_article_with_script_payloads_shows_as_text(page: Any,
                                                             tmp_path: Path) -> None:
    hostile = tmp_path / "harbour-bridge.txt"
    hostile.write_text(HOSTILE, encoding="utf-8")
    ferry = tmp_path / "ferry.txt"
    ferry.write_text(FERRY, encoding="utf-8")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "A good record about a harbour festival."}\n{oops\n',
                      encoding="utf-8")

    page.get_by_role("tab", name="Library").click()
    page.set_input_files("#qa-upload input[type=file]", [str(hostile), str(ferry), str(broken)])
    page.wait_for_function(
        "() => (document.querySelector('#qa-library-status')?.innerText || '')"
        ".includes('Indexed')")
    status = page.inner_text("#qa-library-status")
    assert "broken.jsonl:2" in status  # the bad record is reported by file and line
    table = page.inner_text("#qa-library")
    assert PAYLOAD_TITLE in table and "Ferry service resumes after storm" in table
    assert "National Post" in table
    page.screenshot(path=str(SHOTS / "library.png"), full_page=True)

    page.get_by_role("tab", name="Chat").click()
    ask(page, "How long were the repairs of the Harbour bridge?")
    assert "Nine weeks" in page.inner_text("#qa-chat")
    sources = page.inner_text("#qa-sources")
    assert PAYLOAD_TITLE in sources  # the headline, printed as typed
    assert PAYLOAD_IMG in sources
    page.get_by_text("Show the surrounding paragraph").click()
    expect(page.locator("#qa-sources")).to_contain_text("[click](javascript:window.__pwned=1)")
    page.click("#qa-passages .label-wrap")
    # the toggle renders its passages after the click: wait for them
    expect(page.locator("#qa-passages")).to_contain_text(PAYLOAD_TITLE)
    # nothing from the article became markup
    assert page.locator("#qa-sources img, #qa-passages img, #qa-chat img[src=x]").count() == 0
    assert page.locator("#qa-sources a[href^=javascript], #qa-chat a[href^=javascript]"
                        ).count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"


def test_follow_up_question_uses_the_chat_history(page: Any) -> None:
    ask(page, "Who is appealing to protect civilians?")
    assert "Guterres" in page.inner_text("#qa-chat")
    ask(page, "What did he say about Idlib?")
    # the follow-up was searched with the earlier answer's subject...
    assert "Guterres" in page.inner_text("#qa-status")
    # ...and its answer cites a sentence about Idlib
    quote = page.locator("#qa-sources .qa-quote").first.inner_text()
    assert "Idlib" in quote

    page.click("#qa-new-chat")
    page.wait_for_function(
        "() => !(document.querySelector('#qa-chat')?.innerText || '').includes('Guterres')")
    assert "appear here" in page.inner_text("#qa-sources")


def test_empty_question_is_refused_with_a_message(page: Any) -> None:
    page.click("#qa-send")
    page.wait_for_function(
        "() => (document.querySelector('#qa-status')?.innerText || '').includes('Type a')")
    assert "Type a question" in page.inner_text("#qa-status")
