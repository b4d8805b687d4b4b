"""The chat UI in a real browser: Playwright drives Debian's Chromium against the app,
launched once for the module on 127.0.0.1 over a copy of the seed index.

Run with ``pytest -m browser``; skipped when Playwright or /usr/bin/chromium is missing
(``apt-get install chromium``). Screenshots go to a temporary folder; ``./run screenshots``
sets ``QA_SCREENSHOTS_DIR=docs/screenshots`` and runs only the README screenshots test.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parent.parent
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
# a byline followed by a dateline paragraph, as CNN sets its pages
MARKETS_TITLE = "Stocks slide as the central bank raises rates"
MARKETS = (
    f"CNN Business\n\n{MARKETS_TITLE}\n\n"
    "By Jane Doe\n\nNew York CNN Business —\n\n"
    "Stocks fell sharply on Wednesday after the central bank raised interest rates by half a "
    "point, its biggest move in two decades, and signalled more rises to come this year.\n\n"
    "The Dow lost 400 points by the close, and bond yields climbed to a four-year high.\n")
STORM = (
    "Coast Gazette\n\nStorm closes the coast road for a week\n\nBy Sam Lee\n\n"
    "Portree Coast Gazette —\n\n"
    "The coast road will stay closed for a week after Tuesday's storm washed away a stretch "
    "of the sea wall, the council said, and buses will take the hill route meanwhile.\n\n"
    "Repairs are expected to cost about $2 million.\n")
UNANSWERABLE = "What did the mayor of Lyon say about the tram fares?"
UPLOAD_MB = 1.0  # the test server's per-file limit, so a "too large" file stays small
TIMEOUT = 60_000  # ms; answers take a second or two, but the CI machine may be busy
PHONE = {"width": 390, "height": 844}


def _git_status() -> set[str]:
    """``git status`` entries a test could cause: anything under docs/, seeds/ or ui/, and
    untracked media or trace files anywhere (other people may edit the rest meanwhile)."""
    try:
        out = subprocess.run(["git", "status", "--porcelain", "-uall"], cwd=ROOT,
                             capture_output=True, text=True, timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return set()
    media = (".png", ".jpg", ".jpeg", ".webp", ".webm", ".har", ".zip", ".pdf", ".docx")
    keep = set()
    for line in out.splitlines():
        path = line[3:]
        if path.startswith(("docs/", "seeds/", "ui/")) or (
                line.startswith("??") and path.lower().endswith(media)):
            keep.add(line)
    return keep


# taken when the module is imported, i.e. before the session runs any test
GIT_BEFORE = _git_status()

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
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: a temporary folder, or ``QA_SCREENSHOTS_DIR`` when set
    (``./run screenshots`` points it at docs/screenshots)."""
    folder = os.environ.get("QA_SCREENSHOTS_DIR")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def server_url(seed_index_dir: Path, tmp_path_factory: pytest.TempPathFactory,
               model: Any) -> Iterator[str]:
    """The app on a free port over a private copy of the seed index (one per module)."""
    from qa.engine import QA
    from qa.settings import Settings
    from ui.app import launch

    data = tmp_path_factory.mktemp("browser-data")
    shutil.copytree(seed_index_dir, data / "index")
    engine = QA(Settings(data_dir=data, index_dir=data / "index", max_file_mb=UPLOAD_MB))
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


class Tab:
    """A browser tab on the app; any alert/confirm dialog is recorded (and fails the test)."""

    def __init__(self, browser: Any, url: str, viewport: dict[str, int] | None = None) -> None:
        self.context = browser.new_context(viewport=viewport or {"width": 1280, "height": 860})
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT)
        self.dialogs: list[str] = []

        def on_dialog(d: Any) -> None:
            self.dialogs.append(d.message)
            d.dismiss()

        self.page.on("dialog", on_dialog)
        self.page.goto(url)
        self.page.wait_for_selector("#qa-question textarea")

    def close(self) -> None:
        self.context.close()
        assert not self.dialogs, f"a dialog opened (script ran from article text): {self.dialogs}"


@pytest.fixture()
def tabs(browser: Any, server_url: str) -> Iterator[Any]:
    """Open tabs with ``tabs(viewport=None)``; all are closed (and checked) after the test."""
    opened: list[Tab] = []

    def open_tab(viewport: dict[str, int] | None = None) -> Any:
        opened.append(Tab(browser, server_url, viewport))
        return opened[-1].page

    yield open_tab
    for t in opened:
        t.close()


@pytest.fixture()
def page(tabs: Any) -> Any:
    """A fresh page on the app at 1280x860."""
    return tabs()


def ask(pg: Any, question: str) -> None:
    """Type a question, press Enter, and wait until the answer and its query are shown."""
    pg.fill("#qa-question textarea", question)
    pg.press("#qa-question textarea", "Enter")
    wait_answered(pg, question)


def wait_answered(pg: Any, question: str) -> None:
    # the sources panel of the final answer names its question (an over-long one cut short)
    pg.wait_for_function(
        "q => { const d = document.querySelector('#qa-sources [data-question]')?.dataset"
        ".question; return d === q || (!!d && q.length > 1000 && q.startsWith(d)); }",
        arg=" ".join(question.split()))


def last_reply(pg: Any) -> str:
    return str(pg.locator("#qa-chat .bot-row").last.inner_text())


def library(pg: Any) -> None:
    """Open the Library tab, once the page's load event has filled it in."""
    pg.get_by_role("tab", name="Library").click()
    pg.wait_for_selector("#qa-upload input[type=file]", state="attached")
    expect(pg.locator("#qa-library-status")).to_contain_text("indexed")


def upload(pg: Any, *files: Path) -> str:
    """Upload files in the Library tab; returns the results shown."""
    library(pg)
    before = pg.inner_text("#qa-library-status")
    pg.set_input_files("#qa-upload input[type=file]", [str(f) for f in files])
    pg.wait_for_function(
        "old => { const s = document.querySelector('#qa-library-status')?.innerText || '';"
        " return s !== old && /Indexed|Nothing was indexed/.test(s); }", arg=before)
    return str(pg.inner_text("#qa-library-status"))


def pick(pg: Any, dropdown: str, label: str) -> None:
    """Choose the option starting with ``label`` in a Gradio dropdown."""
    pg.click(f"{dropdown} input")
    pg.locator("[role=option]", has_text=label).first.click()


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_example_question_shows_answer_marker_and_quoted_sentence(page: Any,
                                                                  tmp_path: Path) -> None:
    example = page.locator("#qa-chat").get_by_text(EXAMPLE)
    example.wait_for()
    page.screenshot(path=str(tmp_path / "first-open.png"))

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
    # the acronym's long form, said in words
    assert "Also searched SDF as “Syrian Democratic Forces”" in page.inner_text("#qa-status")
    page.screenshot(path=str(tmp_path / "answer.png"), full_page=True)


def test_uploaded_article_with_script_payloads_shows_as_text(page: Any,
                                                             tmp_path: Path) -> None:
    hostile = tmp_path / "harbour-bridge.txt"
    hostile.write_text(HOSTILE, encoding="utf-8")
    ferry = tmp_path / "ferry.txt"
    ferry.write_text(FERRY, encoding="utf-8")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "A good record about a harbour festival."}\n{oops\n',
                      encoding="utf-8")

    status = upload(page, hostile, ferry, broken)
    assert "broken.jsonl:2" in status  # the bad record is reported by file and line
    table = page.inner_text("#qa-library")
    assert PAYLOAD_TITLE in table and "Ferry service resumes after storm" in table
    assert "National Post" in table
    page.screenshot(path=str(tmp_path / "library.png"), full_page=True)

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
    # the follow-up was searched with the earlier answer's subject, and the page says so
    status = page.inner_text("#qa-status")
    assert "Guterres" in status and "(from the conversation)" in status
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


# ---- issue 21: the chat speaks to readers -----------------------------------------------


def test_1_filter_naming_a_deleted_article_is_cleared_with_a_note(tabs: Any,
                                                                  tmp_path: Path) -> None:
    asking, deleting = tabs(), tabs()
    upload(deleting, write(tmp_path, "tram.txt", "Metro Herald\n\nTram line opens\n\n"
                                                 "The new tram line opened on Friday, a year "
                                                 "late, the city said.\n"))
    # the first tab picks the article (its list was filled before the upload: reload it)
    asking.reload()
    asking.wait_for_selector("#qa-question textarea")
    pick(asking, "#qa-scope", "Tram line opens")
    expect(asking.locator("#qa-chip-article")).to_contain_text("About: Tram line opens")
    # ...and the second tab deletes it
    pick(deleting, "#qa-delete-pick", "Tram line opens")
    deleting.click("#qa-delete")
    deleting.click("#qa-delete-yes")
    expect(deleting.locator("#qa-library-status")).to_contain_text("Deleted “Tram line opens”")

    ask(asking, EXAMPLE)
    reply = last_reply(asking)
    assert "Between two and three months" in reply  # every remaining article was searched
    assert ("The article you were asking about, “Tram line opens”, is no longer in the library"
            in reply)
    assert "holds no articles" not in reply
    expect(asking.locator("#qa-chip-article")).to_be_hidden()
    assert asking.input_value("#qa-scope input") == "All articles"


def test_2_filters_show_beside_the_question_as_removable_chips(page: Any,
                                                               tmp_path: Path) -> None:
    upload(page, write(tmp_path, "markets.txt", MARKETS))
    page.get_by_role("tab", name="Chat").click()
    # the picker sits under the question box, not in a collapsed panel
    expect(page.locator("#qa-scope")).to_be_visible()
    pick(page, "#qa-scope", "LAST ISIL OUTPOST")
    chip = page.locator("#qa-chip-article")
    expect(chip).to_contain_text("About: LAST ISIL OUTPOST")
    ask(page, UNANSWERABLE)
    reply = last_reply(page)
    assert reply.startswith("The article you picked doesn't say. Nothing in “LAST ISIL")
    page.locator("#qa-filters .label-wrap").click()
    page.fill("#qa-date-from textarea", "2018-01-01")
    expect(page.locator("#qa-chip-from")).to_have_text("From 2018-01-01 ✕")
    page.click("#qa-chip-from")
    expect(page.locator("#qa-chip-from")).to_be_hidden()
    chip.click()  # the chip's ✕ clears the article filter
    expect(chip).to_be_hidden()
    assert page.input_value("#qa-scope input") == "All articles"

    # with none picked and several articles, the note points at the picker, not a CLI flag
    ask(page, "Who wrote the article about the central bank raising rates?")
    reply = last_reply(page)
    assert "The best-matching article, “" in reply
    assert "pick it in “Ask about” under the question box" in reply
    assert "--article" not in reply


def test_3_every_uploaded_file_gets_a_line_that_stays(page: Any, tmp_path: Path) -> None:
    ferry = write(tmp_path, "ferry-2.txt", FERRY.replace("Sunday", "Saturday"))
    pdf = tmp_path / "clipping.pdf"
    pdf.write_bytes(b"%PDF-1.4\n% not really a PDF\n")
    docx = tmp_path / "letter.docx"
    docx.write_bytes(b"PK\x03\x04 not really a docx")
    big = write(tmp_path, "huge.txt", "x" * int(UPLOAD_MB * 1.2e6))  # over the limit
    status = upload(page, ferry, pdf, docx, big)
    assert "✓ ferry-2.txt: “Ferry service resumes after storm”" in status
    # a damaged PDF (or, before PDF support, any PDF) gets its reason on a line of its own
    assert re.search(r"⚠️ clipping\.pdf: \w", status)
    assert "letter.docx: unsupported file type '.docx'" in status
    # the browser kept the big one back, and the results say so
    assert "huge.txt: file is 1.2 MB, over the 1 MB limit; it was not uploaded" in status
    # no toast, no upload box stuck on an error
    assert page.locator(".toast-body").count() == 0
    assert "Error" not in page.inner_text("#qa-upload")
    # the lines stay: after a while and a trip to the chat and back they are still there
    page.get_by_role("tab", name="Chat").click()
    time.sleep(1)
    library(page)
    assert "letter.docx: unsupported" in page.inner_text("#qa-library-status")
    # a batch the browser refuses entirely is reported too
    status = upload(page, big)
    assert status.startswith("Nothing was indexed.") and "huge.txt: file is 1.2 MB" in status
    assert "letter.docx" not in status  # replaced by the next upload's results


def test_3_dropped_files_get_their_lines_too(page: Any) -> None:
    """Drag and drop: the browser's own way in, with a file it refuses (too large)."""
    library(page)
    before = page.inner_text("#qa-library-status")
    files = [("tide.txt", "Tide Times\n\nSpring tide floods the quay\n\nThe spring tide "
              "flooded the quay on Thursday morning, the harbour master said.\n"),
             ("memo.docx", "not really a docx"),
             ("atlas.txt", "y" * int(UPLOAD_MB * 1.5e6))]
    transfer = page.evaluate_handle(
        "files => { const dt = new DataTransfer();"
        " for (const [name, text] of files) dt.items.add(new File([text], name));"
        " return dt; }", files)
    page.locator("#qa-upload button").first.dispatch_event("drop", {"dataTransfer": transfer})
    page.wait_for_function(
        "old => { const s = document.querySelector('#qa-library-status')?.innerText || '';"
        " return s !== old && /Indexed|Nothing was indexed/.test(s); }", arg=before)
    status = page.inner_text("#qa-library-status")
    assert "✓ tide.txt: “Spring tide floods the quay” (new)" in status
    assert "memo.docx: unsupported file type '.docx'" in status
    assert "atlas.txt: file is 1.5 MB, over the 1 MB limit; it was not uploaded" in status
    assert page.locator(".toast-body").count() == 0


HEX_ID = re.compile(r"\b[0-9a-f]{12,}\b")
INTERNAL = re.compile(r"threshold|Best support|--\w|QA_[A-Z]|score -?\d|-?\d\.\d\d\b")


def test_4_no_internal_wording_reaches_the_reader(page: Any) -> None:
    ask(page, UNANSWERABLE)
    assert not INTERNAL.search(page.inner_text("#qa-chat"))
    panel = page.locator("#qa-passages")  # an abstention opens it
    expect(panel.locator(".qa-passage").first).to_be_visible()
    shown = panel.inner_text()
    assert "match" in shown and not INTERNAL.search(shown)  # words and bars, no numbers
    # the raw numbers are there for whoever wants them, behind a toggle
    panel.get_by_text("Scores and search details").click()
    expect(panel).to_contain_text("Confidence:")
    ask(page, EXAMPLE)
    ask(page, "Who is their spokesman?")
    status = page.inner_text("#qa-status")
    assert status.startswith("Searched for your question with “")
    assert "(from the conversation)" in status and ";" not in status
    library(page)
    assert not HEX_ID.search(page.inner_text("#qa-library"))


def test_5_abstention_points_at_passages_that_are_open(page: Any) -> None:
    ask(page, UNANSWERABLE)
    reply = last_reply(page)
    assert "open under Retrieved passages" in reply and "listed below" not in reply
    # ...and they are open, without a click
    expect(page.locator("#qa-passages .qa-passage").first).to_be_visible()
    hint = page.locator("#qa-sources .qa-empty")
    line = page.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)",
                         hint.element_handle())
    assert hint.bounding_box()["height"] < 1.6 * line, "the Sources hint wraps"


# whether any visible element reaches past the right edge of the page, and which
OVERFLOW_JS = """() => {
  const w = document.documentElement.clientWidth, bad = [];
  if (document.documentElement.scrollWidth > w + 1) bad.push('page scrolls sideways');
  for (const el of document.querySelectorAll('#qa-chat .message, #qa-chat .message *,'
      + ' #qa-status, #qa-status *, #qa-sources *, #qa-library *, #qa-chips *,'
      + ' #qa-library-status *')) {
    const r = el.getBoundingClientRect(), name = el.id || el.className || el.tagName;
    if (!r.width) continue;
    if (r.right > w + 1) bad.push(name + ' ends at ' + Math.round(r.right));
    // text running out of its box (a box that clips, as a chip's ellipsis does, is fine)
    else if (getComputedStyle(el).overflowX === 'visible' && el.clientWidth
             && el.scrollWidth > el.clientWidth + 1)
      bad.push(name + ' overflows by ' + (el.scrollWidth - el.clientWidth));
  }
  return bad;
}"""

# table headers whose text breaks inside a word (a word on two lines has two rects)
HEADER_WRAP_JS = """() => [...document.querySelectorAll('th')].filter(th => th.offsetParent)
  .flatMap(th => { const out = [], t = th.firstChild; if (!t || t.nodeType !== 3) return out;
    for (const m of t.textContent.matchAll(/\\S+/g)) {
      const r = document.createRange(); r.setStart(t, m.index);
      r.setEnd(t, m.index + m[0].length);
      const lines = new Set([...r.getClientRects()].map(x => Math.round(x.top)));
      if (lines.size > 1) out.push(m[0]); }
    return out; })"""


def test_6_phone_layout_wraps_nothing_inside_a_word_and_nothing_runs_off(
        tabs: Any, tmp_path: Path) -> None:
    upload(tabs(), write(tmp_path, "harbour-festival.txt",
                         "Harbour News\n\nHarbour festival draws record crowds\n\nThe harbour "
                         "festival drew 40,000 visitors over the weekend, organisers said.\n"))
    page = tabs(PHONE)
    # a 5,000-character question, with a 400-character "word" (a pasted link) in it
    ask(page, "Where did the fighting happen? " * 148 + "https://example.com/" + "a" * 400)
    assert page.evaluate(OVERFLOW_JS) == []
    pick(page, "#qa-scope", "LAST ISIL OUTPOST")
    # the picked headline ends before the dropdown's arrow
    gap = page.evaluate("""() => { const i = document.querySelector('#qa-scope input');
        const a = document.querySelector('#qa-scope .icon-wrap');
        return a.getBoundingClientRect().left - (i.getBoundingClientRect().right
               - parseFloat(getComputedStyle(i).paddingRight)); }""")
    assert gap >= 0, f"the headline runs {-gap:.0f}px under the arrow"
    library(page)
    # narrow: one card per article, no header row; every value on its own labelled line
    cards = page.locator("#qa-library tbody tr")
    assert cards.count() >= 2
    assert page.locator("#qa-library thead").is_hidden()
    assert page.evaluate(OVERFLOW_JS) == []
    dates = page.locator("#qa-library td.qa-col-date:not(:empty)")
    for i in range(dates.count()):
        box = dates.nth(i).bounding_box()
        assert box["height"] < 30, "a date wraps"
    # a middle width shows the table: its headers do not break inside a word
    page.set_viewport_size({"width": 700, "height": 844})
    expect(page.locator("#qa-library thead")).to_be_visible()
    assert page.evaluate(HEADER_WRAP_JS) == []
    assert page.evaluate(OVERFLOW_JS) == []


def test_7_markers_link_delete_asks_and_undoes_byline_context(page: Any,
                                                              tmp_path: Path) -> None:
    ask(page, EXAMPLE)
    marker = page.locator("#qa-chat .bot-row").last.locator("a.qa-marker").first
    expect(marker).to_have_attribute("href", "#source-1")
    marker.click()
    card = page.locator("#source-1")
    expect(card).to_have_class(re.compile(r"\bqa-flash\b"))
    expect(card).to_be_in_viewport()

    # the byline's "surrounding paragraph" reaches past the dateline to the story
    title = "Storm closes the coast road for a week"
    upload(page, write(tmp_path, "storm.txt", STORM))
    page.get_by_role("tab", name="Chat").click()
    pick(page, "#qa-scope", title)
    ask(page, "Who wrote this article?")
    assert "Sam Lee" in last_reply(page)
    page.locator("#qa-sources").get_by_text("Show the surrounding paragraph").click()
    expect(page.locator("#qa-sources .qa-para")).to_contain_text("The coast road will stay")

    # delete asks once; Cancel keeps the article, Delete removes it, Undo brings it back
    library(page)
    pick(page, "#qa-delete-pick", title)
    page.click("#qa-delete")
    confirm = page.locator("#qa-delete-confirm")
    expect(confirm).to_contain_text(f"Delete “{title}” from the library?")
    page.click("#qa-delete-no")
    expect(confirm).to_be_hidden()
    assert title in page.inner_text("#qa-library")
    page.click("#qa-delete")
    page.click("#qa-delete-yes")
    expect(page.locator("#qa-undo")).to_be_visible()
    expect(page.locator("#qa-library")).not_to_contain_text(title)
    rows = page.locator("#qa-library tbody tr").count()
    page.click("#qa-undo-btn")
    expect(page.locator("#qa-library-status")).to_contain_text(f"Restored “{title}”")
    expect(page.locator("#qa-library tbody tr")).to_have_count(rows + 1)
    expect(page.locator("#qa-undo")).to_be_hidden()


def test_readme_screenshots(tabs: Any, tmp_path: Path, shots: Path) -> None:
    """The README's screenshots: first open, an answer, the Library, a phone (to a temp
    folder, or docs/screenshots under ``./run screenshots``)."""
    page = tabs()
    page.locator("#qa-chat").get_by_text(EXAMPLE).wait_for()
    page.screenshot(path=str(shots / "first-open.png"))
    ask(page, EXAMPLE)
    page.click("#qa-passages .label-wrap")
    page.locator("#qa-passages .qa-passage").first.wait_for()
    page.screenshot(path=str(shots / "answer.png"), full_page=True)
    upload(page, write(tmp_path, "ferry.txt", FERRY),
           write(tmp_path, "markets.txt", MARKETS))
    page.screenshot(path=str(shots / "library.png"), full_page=True)
    phone = tabs(PHONE)
    pick(phone, "#qa-scope", "LAST ISIL OUTPOST")  # the filter shows as a chip
    ask(phone, EXAMPLE)
    assert phone.evaluate(OVERFLOW_JS) == []
    phone.screenshot(path=str(shots / "phone.png"), full_page=True)
    for name in ("first-open", "answer", "library", "phone"):
        assert (shots / f"{name}.png").stat().st_size > 10_000, name


def test_zz_the_test_run_leaves_git_status_unchanged() -> None:
    """Run last in the module: nothing the tests write lands in the working tree."""
    if os.environ.get("QA_SCREENSHOTS_DIR"):
        pytest.skip("./run screenshots writes docs/screenshots on purpose")
    assert _git_status() == GIT_BEFORE
