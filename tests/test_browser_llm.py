"""The chat UI streaming a generated answer from a real model on a real server: Playwright
drives Debian's Chromium against the app in LLM mode, whose answerer talks to llama.cpp's
OpenAI-compatible server (SmolLM2-135M-Instruct, eval/llm_server.py) on 127.0.0.1.

What the reader must see: the draft growing while tokens arrive (with a cursor), then the
final answer in its place, its citations resolved to quoted sentences in the sources panel
(or, when nothing the model wrote is supported, the extractive answer with a note).

Skipped without Chromium, Playwright or the ``llm`` extra (``./run test`` installs them).
"""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from eval.llm_server import LlamaServer, available

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
QUESTION = "How long does the SDF expect the fight to last?"
CURSOR = "▍"  # ui.chat's mark on a draft still streaming

pytestmark = pytest.mark.browser

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} not found: install Debian's Chromium (apt-get install chromium)",
                allow_module_level=True)
if available():
    pytest.skip(str(available()), allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api",
                               reason="Playwright is not installed (pip install playwright)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def app_url(seed_index_dir: Path, tmp_path_factory: pytest.TempPathFactory,
            model: Any) -> Iterator[str]:
    """The app in LLM mode over a copy of the seed index, its LLM the real server."""
    from qa.engine import QA
    from qa.settings import Settings
    from ui.app import launch

    data = tmp_path_factory.mktemp("browser-llm")
    shutil.copytree(seed_index_dir, data / "index")
    with LlamaServer(n_ctx=2048) as llm:
        engine = QA(Settings(data_dir=data, index_dir=data / "index", answer_mode="llm",
                             llm_base_url=llm.base_url, llm_model=llm.model, k=2,
                             llm_timeout=300.0, llm_retries=0))
        port = _free_port()
        demo = launch(engine, host="127.0.0.1", port=port, prevent_thread_lock=True)
        try:
            yield f"http://127.0.0.1:{port}/"
        finally:
            demo.close()


@contextmanager
def asked(app_url: str, question: str) -> Iterator[Any]:
    """A Chromium page on the app with ``question`` just asked (Enter in the question box)."""
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(app_url)
            page.wait_for_selector("#qa-question textarea", timeout=60_000)
            page.fill("#qa-question textarea", question)
            page.press("#qa-question textarea", "Enter")
            yield page
        finally:
            browser.close()


def test_generated_answer_streams_then_resolves_its_citations(app_url: str) -> None:
    with asked(app_url, QUESTION) as page:
        drafts: list[str] = []
        final = ""
        deadline = time.monotonic() + 240
        bot = page.locator("#qa-chat .bot-row")
        while time.monotonic() < deadline:
            text = bot.last.inner_text() if bot.count() else ""
            if CURSOR in text:
                if not drafts or drafts[-1] != text:
                    drafts.append(text)
            elif drafts and text.strip():
                final = text  # the draft was replaced by the answer
                break
            page.wait_for_timeout(100)
        # tokens were shown as they came: the draft grew over several snapshots
        assert len(drafts) >= 2, drafts
        assert len(drafts[-1]) > len(drafts[0])
        assert final and CURSOR not in final
        # the citations were resolved: markers in the answer, quoted sentences beside it
        quotes = page.locator("#qa-sources .qa-quote")
        sync_api.expect(quotes.first).to_be_visible(timeout=30_000)
        assert page.locator("#qa-chat sup").count() >= 1


def test_stop_cancels_the_answer_being_written(app_url: str) -> None:
    """Stop, pressed while the draft streams, ends it: the text stops growing."""
    with asked(app_url, "What happened in Hajin? Tell me everything.") as page:
        bot = page.locator("#qa-chat .bot-row")
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if bot.count() and CURSOR in bot.last.inner_text():
                break
            page.wait_for_timeout(100)
        assert bot.count() and CURSOR in bot.last.inner_text(), "no draft streamed"
        page.click("#qa-stop")
        page.wait_for_timeout(1500)
        stopped = bot.last.inner_text()
        page.wait_for_timeout(4000)
        assert bot.last.inner_text() == stopped  # nothing more arrived
