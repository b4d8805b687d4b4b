"""The chat UI's callbacks (no browser): ChatApp over a real engine on the seed article,
escaping of hostile article text, the library actions, and the ``/ask`` API through
gradio_client against a launched app.
"""

from __future__ import annotations

import json
import re
import socket
import time
from dataclasses import replace
from pathlib import Path

import pytest

from qa.answer_types import Answer
from qa.articles import make_article
from qa.cite import Citation
from qa.engine import QA
from qa.retrieval import Passage
from ui.app import EMPTY_INDEX, EXAMPLE_QUESTION, THINKING, ChatApp, engine_history
from ui.render import (
    answer_markdown,
    escape_markdown,
    library_html,
    paragraph_context,
    passages_html,
    plain_text,
    sources_html,
)
from ui.wording import match_strength, reader_notes

try:
    from openai_server import FakeOpenAIServer
except ImportError:  # tests/ imported as a package
    from tests.openai_server import FakeOpenAIServer

SLOG = ("The Syrian Democratic Forces is preparing for a slog: between two and three months, "
        "according to one senior official with the militia.")
MARKER_1 = "<sup><a href='#source-1' class='qa-marker'>[1]</a></sup>"
HOSTILE_TITLE = "<script>alert(1)</script>"
HOSTILE_BODY = ("The Harbour bridge reopened on Monday after nine weeks of repairs. "
                "<img src=x onerror=alert(1)> Engineers replaced 40 steel cables, see "
                "[click](javascript:alert(1)) for details.")


def final(views):  # type: ignore[no-untyped-def]
    views = list(views)
    assert views, "respond() yielded nothing"
    return views[-1]


@pytest.fixture()
def app(seed_engine: QA) -> ChatApp:
    return ChatApp(seed_engine)


# ---- the chat ----------------------------------------------------------------------------


def test_example_question_gives_short_answer_marker_and_highlighted_quote(app: ChatApp) -> None:
    views = list(app.respond(EXAMPLE_QUESTION, [], k=5, mode="extractive"))
    # the question is posted at once, with a placeholder reply, and the box is cleared
    assert views[0].history[-1] == {"role": "assistant", "content": THINKING}
    assert views[0].question == ""
    last = views[-1]
    reply = last.history[-1]["content"]
    assert last.history[-2]["role"] == "user"
    assert reply.startswith("**Between two and three months**")
    assert MARKER_1 in reply and "[1]" in plain_text(reply)
    assert "<mark>between two and three months</mark>" in last.sources
    quote = re.search(r"<blockquote class='qa-quote'>(.*?)</blockquote>", last.sources)
    assert quote and re.sub(r"</?mark>", "", quote.group(1)) == SLOG
    assert "National Post" in last.sources and "Rukmini CallimaChi" in last.sources
    assert "Show the surrounding paragraph" in last.sources  # the neighbouring paragraphs
    assert "<span class='qa-cited'>cited</span>" in last.passages
    assert last.passages_label.startswith("Retrieved passages (")
    # the status says in words what was searched beyond the question: the acronym's long form
    assert last.status == "Also searched SDF as “Syrian Democratic Forces”."
    # raw numbers only behind the details toggle
    assert "score" not in last.passages.split("<details")[0]
    assert "strong match" in last.passages and "Scores and search details" in last.passages


def test_follow_up_uses_the_chat_history(app: ChatApp) -> None:
    first = final(app.respond("Who is appealing to protect civilians?", []))
    assert "Guterres" in first.history[-1]["content"]
    second = final(app.respond("What did he say about Idlib?", first.history))
    assert len(second.history) == 4
    # the engine saw plain text: the previous short answer is carried into the query, and
    # the status says so in words
    assert second.status.startswith("Searched for your question with “")
    assert "Guterres" in second.status and second.status.endswith("(from the conversation).")
    quote = re.search(r"<blockquote class='qa-quote'>(.*?)</blockquote>", second.sources)
    assert quote and "Idlib" in re.sub(r"</?mark>", "", quote.group(1))


def test_empty_question_and_bad_date_explain_themselves(app: ChatApp) -> None:
    views = list(app.respond("   ", [{"role": "user", "content": "hi"}]))
    assert len(views) == 1
    assert views[0].history == [{"role": "user", "content": "hi"}]
    assert "Type a question" in views[0].status

    bad = list(app.respond(EXAMPLE_QUESTION, [], date_from="11/09/2018"))
    assert len(bad) == 1 and bad[0].history == []
    shown = bad[0].status.replace("\\", "")  # as Markdown renders it
    assert "ambiguous" in shown and "YYYY-MM-DD" in shown
    assert bad[0].question == EXAMPLE_QUESTION

    # a date relative to today is read, as on the command line: the seed (2018) is older
    # than last week, so nothing is searched, and the answer says the filters left nothing
    recent = list(app.respond(EXAMPLE_QUESTION, [], date_from="last week"))
    assert not any("⚠️" in v.status for v in recent)
    assert "No article matches the filters" in recent[-1].history[-1]["content"]


def test_ask_about_one_article_scopes_the_chat(app: ChatApp, seed_engine: QA) -> None:
    other = make_article("The Harbour bridge reopened on Monday after nine weeks of repairs.",
                         title="Bridge reopens", source="Harbour Times", author="A. Writer")
    seed_engine.add_articles([other])
    seed = next(a for a in seed_engine.index.articles if a.source == "National Post")
    for article, outlet in ((seed.id, "National Post"), (other.id, "Harbour Times")):
        last = final(app.respond("Which newspaper ran this story?", [], article=article))
        assert outlet in last.history[-1]["content"]
    # the "Ask about" picker offers every indexed article
    assert {seed.id, other.id} <= {value for _, value in app.library_view().articles}


def test_outlet_filter_with_no_match_names_the_filter(app: ChatApp) -> None:
    last = final(app.respond(EXAMPLE_QUESTION, [], outlets=["Nowhere Gazette"]))
    reply = plain_text(last.history[-1]["content"])
    assert reply == ("No article matches the filters (from Nowhere Gazette). Remove a filter "
                     "to search every article.")
    assert "index holds no articles" not in reply
    assert "No sources" in last.sources


def test_stale_article_filter_is_cleared_with_a_note(app: ChatApp, seed_engine: QA) -> None:
    other = make_article("The Harbour bridge reopened on Monday after nine weeks of repairs.",
                         title="Bridge reopens", source="Harbour Times")
    seed_engine.add_articles([other])
    app.delete(other.id)  # deleted in another tab, say: this chat still names it
    last = final(app.respond(EXAMPLE_QUESTION, [], article=other.id))
    content = last.history[-1]["content"]
    assert plain_text(content).startswith("Between two and three months")  # all were searched
    # the note, in italics after the answer
    assert content.endswith("_The article you were asking about, “Bridge reopens”, is no "
                            "longer in the library, so this answer searched every article\\._")
    assert last.article == "" and other.id not in {aid for _, aid in last.articles}
    # an id never seen: cleared too, without a name
    last = final(app.respond(EXAMPLE_QUESTION, [], article="0123abcd"))
    assert "_The article you were asking about is no longer" in last.history[-1]["content"]


def test_abstention_names_the_picked_article_and_opens_the_passages(
        app: ChatApp, seed_engine: QA) -> None:
    seed = seed_engine.index.articles[0]
    last = final(app.respond("What did the mayor of Lyon say about the tram fares?", [],
                             article=seed.id))
    reply = plain_text(last.history[-1]["content"])
    assert reply.startswith("The article you picked doesn't say. Nothing in “LAST ISIL")
    assert "open under Retrieved passages" in reply and "listed below" not in reply
    assert last.open_passages
    assert re.search(r"below the threshold|Best support", last.history[-1]["content"]) is None
    assert "Best support" in last.passages  # the raw note, behind the details toggle
    assert last.sources.count("No sources") == 1 and len(last.sources) < 200
    # an abstention gives a follow-up nothing to lean on
    assert engine_history(last.history) == [
        {"role": "user", "content": "What did the mayor of Lyon say about the tram fares?"}]


def test_chips_name_each_filter(app: ChatApp, seed_engine: QA) -> None:
    seed = seed_engine.index.articles[0]
    chips = app.chips(seed.id, ["National Post"], "2018-01-01", "")
    assert chips.article.startswith("About: LAST ISIL OUTPOST") and chips.article.endswith("✕")
    assert chips.outlets == "Outlet: National Post ✕"
    assert chips.date_from == "From 2018-01-01 ✕" and chips.date_to == ""
    assert app.chips() == ("", "", "", "")


def test_notes_are_reworded_for_readers() -> None:
    notes = ["Best support 0.07 is below the threshold 0.25.",
             "Several articles match; pick one under “Ask about” (or pass --article) to ask "
             "about a particular one.",
             "No LLM is configured (set QA_LLM_MODEL); answered extractively.",
             "Answered from the byline.",
             "The article's metadata has no such field."]
    out = reader_notes(notes)
    assert out == ["Several articles match. To ask about one of them, pick it in “Ask about” "
                   "under the question box.",
                   "No LLM answerer is set up on this server; this is the extractive answer.",
                   "Answered from the byline.",
                   "The best-matching article's header does not give that."]
    assert not any("--" in n or "QA_" in n or "0.07" in n for n in out)


def test_match_strength_words_instead_of_scores(app: ChatApp) -> None:
    answer = app.engine.ask(EXAMPLE_QUESTION)
    words = [match_strength(p, answer.passages)[0] for p in answer.passages]
    assert words[0] == "strong match" and set(words) <= {"strong match", "partial match",
                                                         "weak match"}
    html_out = passages_html(answer.passages, answer.citations)
    assert not re.search(r"-?\d\.\d\d", html_out.replace(SLOG, ""))  # no raw numbers


def test_byline_context_reaches_past_a_dateline() -> None:
    text = ("CNN Business\n\nStocks slide as rates rise\n\nBy Jane Doe, CNN Business\n\n"
            "New York CNN Business —\n\nStocks fell sharply on Wednesday after the central bank "
            "raised interest rates by half a point, its biggest move in two decades, and "
            "signalled more to come this year.\n\nThe Dow lost 400 points.\n")
    start = text.index("By Jane")
    ctx = paragraph_context(text, start, start + len("By Jane Doe, CNN Business"))
    assert ctx.after.strip().startswith("New York CNN Business —")
    assert "Stocks fell sharply on Wednesday" in ctx.after  # not the dateline alone


def test_empty_index_says_how_to_add_articles(app: ChatApp, seed_engine: QA) -> None:
    seed_engine.delete([a.id for a in seed_engine.index.articles])
    last = final(app.respond(EXAMPLE_QUESTION, []))
    assert last.history[-1]["content"] == EMPTY_INDEX
    view = app.library_view()
    assert view.notice == EMPTY_INDEX and view.rows == []
    assert "0 articles" in view.status


def test_llm_answer_streams_then_shows_verified_citation(seed_engine: QA) -> None:
    with FakeOpenAIServer(reply="The SDF expects the fight to last between two and three "
                                "months [1].") as server:
        engine = QA(replace(seed_engine.settings, llm_model="test-model", llm_retries=0,
                            llm_base_url=server.base_url, llm_timeout=5.0))
        views = list(ChatApp(engine).respond(EXAMPLE_QUESTION, [], mode="llm"))
    drafts = [v.history[-1]["content"] for v in views if v.history[-1]["content"].endswith("▍")]
    assert len(drafts) >= 2, "the LLM's text should appear piece by piece"
    last = views[-1]
    assert MARKER_1 in last.history[-1]["content"]
    assert "between two and three months" in last.sources


def test_failed_llm_call_falls_back_with_a_note(seed_engine: QA) -> None:
    with FakeOpenAIServer(mode="error") as server:
        engine = QA(replace(seed_engine.settings, llm_model="test-model", llm_retries=0,
                            llm_base_url=server.base_url, llm_timeout=5.0))
        last = final(ChatApp(engine).respond(EXAMPLE_QUESTION, [], mode="llm"))
    reply = last.history[-1]["content"]
    assert "Between two and three months" in reply
    assert "_The LLM failed" in reply  # the note, in italics
    assert "<mark>between two and three months</mark>" in last.sources


# ---- escaping ------------------------------------------------------------------------------


def _hostile_answer() -> Answer:
    text = f"{HOSTILE_TITLE}\n\n{HOSTILE_BODY}"
    start = text.index("The Harbour")
    end = len(text)
    cite = Citation(n=1, article_id="a1", title=HOSTILE_TITLE, source="<b>Outlet</b>",
                    quote=text[start:end], start=start, end=end, author="<i>me</i>",
                    date="2020-01-01", url="javascript:alert(1)",
                    highlight_start=start + 40, highlight_end=start + 50)
    passage = Passage(text=text, score=1.0, article_id="a1", title=HOSTILE_TITLE,
                      source="<b>Outlet</b>", start=0, end=end, chunk_id="a1:0", rank=1)
    return Answer(question="q", text=f"{HOSTILE_TITLE} says {HOSTILE_BODY} [1]",
                  citations=[cite], passages=[passage], abstained=False,
                  short="<img src=x onerror=alert(1)>", notes=["<script>x</script>"])


def test_render_escapes_hostile_article_text() -> None:
    ans = _hostile_answer()
    html_out = sources_html(ans, {"a1:" + str(ans.citations[0].start):
                                  paragraph_context(HOSTILE_TITLE + "\n\n" + HOSTILE_BODY,
                                                    ans.citations[0].start,
                                                    ans.citations[0].end)})
    html_out += passages_html(ans.passages, ans.citations)
    for raw in ("<script", "<img", "<b>Outlet", "<i>me", "href='javascript"):
        assert raw not in html_out, raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_out
    assert "&lt;img src=x onerror=alert(1)&gt;" in html_out
    assert "[click](javascript:alert(1))" in html_out  # shown as text, not a link

    md = answer_markdown(ans)
    # the only tags are our own markers; every "<" of the article is an entity
    assert md.replace(MARKER_1, "").count("<") == 0
    assert "&lt;script&gt;" in md and "&lt;img src\\=x onerror\\=alert\\(1\\)&gt;" in md
    assert "](javascript" not in md and "\\[click\\]\\(javascript\\:alert\\(1\\)\\)" in md
    # and it reads back as the original text for the follow-up logic
    assert plain_text(md) == ans.text


def test_escape_markdown_round_trips_through_plain_text() -> None:
    s = r"a*b_c `d` [e](f) <g> & h\i #1 $5 | ~x~ 1. - + ! =^:@"
    assert plain_text(escape_markdown(s)) == s
    assert engine_history([{"role": "assistant", "content": escape_markdown(s)},
                           {"role": "assistant", "content": "⚠️ failed"}]) == [
        {"role": "assistant", "content": s}]


def test_hostile_article_is_escaped_end_to_end(app: ChatApp, seed_engine: QA) -> None:
    seed_engine.add_articles([make_article(HOSTILE_BODY, title=HOSTILE_TITLE,
                                           source="Daily <b>Bold</b>", url="javascript:alert(1)")])
    last = final(app.respond("How long were the repairs of the Harbour bridge?", []))
    reply, sources, passages = last.history[-1]["content"], last.sources, last.passages
    assert "Nine weeks" in reply or "nine weeks" in reply
    for out in (sources, passages):
        assert "<script" not in out and "<img" not in out and "<b>Bold" not in out
        assert "javascript:" not in out or "href='javascript" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in sources
    assert "&lt;img src=x onerror=alert(1)&gt;" in passages
    assert reply.replace(MARKER_1, "").count("<") == 0
    assert "](javascript" not in reply
    titles = [row[0] for row in app.library_rows()]
    assert HOSTILE_TITLE in titles
    table = library_html(app.library_rows())
    assert "<script" not in table and "&lt;script&gt;alert(1)&lt;/script&gt;" in table


# ---- the library ---------------------------------------------------------------------------


def test_upload_indexes_good_files_and_reports_bad_ones(app: ChatApp, tmp_path: Path) -> None:
    good = tmp_path / "bridge.txt"
    good.write_text("Harbour bridge reopens\n\n" + HOSTILE_BODY, encoding="utf-8")
    bad = tmp_path / "broken.jsonl"
    bad.write_text('{"text": "fine record about ports and ships opening"}\n{not json\n',
                   encoding="utf-8")
    other = tmp_path / "notes.docx"
    other.write_bytes(b"PK\x03\x04")
    steps: list[tuple[float, str]] = []
    view = app.upload([str(good), str(bad), str(other)],
                      progress=lambda f, d: steps.append((f, d)))
    status = plain_text(view.status)  # the status is escaped Markdown
    assert "Indexed 2 articles from 3 files: 2 new" in status
    assert "broken.jsonl:2: invalid JSON" in status and "notes.docx: unsupported" in status
    # each file gets a line of its own, the good ones too
    assert "✓ bridge.txt: “Harbour bridge reopens” (new)" in status
    assert "✓ broken.jsonl: “(untitled) fine record about ports" in status
    assert str(tmp_path) not in status  # only file names, never server paths
    assert any(d.startswith("Reading bridge.txt") for _, d in steps)
    assert any(d.startswith("Indexing 2 article") for _, d in steps)
    assert "Harbour bridge reopens" in [r[0] for r in view.rows]
    assert len(view.rows) == 3 and all(r[4] >= 1 for r in view.rows)
    assert "3 articles" in status and not view.notice
    assert "National Post" in view.outlets
    assert app.upload([]).status.startswith("Choose one or more files")
    # files the browser kept back (too large) are reported beside the ones it sent
    refused = app.upload([], refused=["huge.txt: file is 30.0 MB, over the 20 MB limit"])
    assert "⚠️ huge.txt: file is 30.0 MB" in plain_text(refused.status)
    assert "Nothing was indexed" in refused.status


def test_paste_text_and_html_then_delete(app: ChatApp) -> None:
    view = app.paste("Port strike ends", "Dock workers returned on Friday after a "
                     "two-week strike, the union said.", source="Harbour Times")
    assert "“Port strike ends” indexed" in plain_text(view.status)
    assert "Harbour Times" in view.outlets
    again = app.paste("Port strike ends", "Dock workers returned on Friday after a "
                      "two-week strike, the union said.", source="Harbour Times")
    assert "already indexed" in again.status

    page = ("<html><head><title>Ferry service resumes</title></head><body><article>"
            "<h1>Ferry service resumes</h1><p>The island ferry resumed service on Sunday "
            "after a storm damaged the pier last month, operators said.</p><p>Repairs to the "
            "pier took three weeks and cost the operator a large sum of money.</p>"
            "</article></body></html>")
    html_view = app.paste("", page)
    assert "indexed" in html_view.status and len(html_view.rows) == 3
    assert app.paste("x", "  ").status.startswith("Paste the article")

    port_id = next(aid for label, aid in view.articles if label.startswith("Port strike"))
    assert "Delete “Port strike ends” from the library?" in plain_text(app.delete_prompt(port_id))
    assert app.delete_prompt("") == ""
    after = app.delete(port_id)
    assert "Deleted “Port strike ends”" in plain_text(after.status)
    assert port_id not in [r[5] for r in after.rows]
    # undo puts it back, text and metadata as they were
    assert app.can_undo(port_id)
    back = app.undo_delete(port_id)
    assert "Restored “Port strike ends”" in plain_text(back.status)
    row = next(r for r in back.rows if r[5] == port_id)
    assert row[:2] == ["Port strike ends", "Harbour Times"]
    assert not app.can_undo(port_id)  # once
    assert "Too late to undo" in app.undo_delete(port_id).status
    assert "No article with id" in app.delete("nope").status
    assert app.delete("").status.startswith("Pick the article")


def test_api_ask_returns_the_answer_dict_or_an_error(app: ChatApp) -> None:
    ans = app.api_ask(EXAMPLE_QUESTION, "[]")
    assert ans["short"] == "between two and three months"
    assert ans["citations"][0]["quote"] == SLOG
    assert "not valid JSON" in app.api_ask(EXAMPLE_QUESTION, "[oops")["error"]
    assert "empty" in app.api_ask("  ", "[]")["error"]
    hist = json.dumps([
        {"role": "user", "content": "Who is appealing to protect civilians?"},
        {"role": "assistant", "content": "UN SecretaryGeneral Antonio Guterres [1]"}])
    assert "Guterres" in app.api_ask("What did he say about Idlib?", hist)["query"]


# ---- gradio_client against a launched app --------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_gradio_client_calls_ask(seed_engine: QA) -> None:
    from gradio_client import Client

    from ui.app import launch

    port = _free_port()
    demo = launch(seed_engine, host="127.0.0.1", port=port, prevent_thread_lock=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        api = client.view_api(print_info=False, return_format="dict")
        assert "/ask" in api["named_endpoints"]
        assert list(api["named_endpoints"]) == ["/ask"]  # the UI's own events stay private
        answer = client.predict(EXAMPLE_QUESTION, "[]", api_name="/ask")
        assert answer["short"] == "between two and three months"
        assert answer["text"].startswith("Between two and three months [1]")
        assert answer["citations"][0]["quote"] == SLOG
        # the queue answers a few questions at a time
        assert demo._queue.default_concurrency_limit == 4
    finally:
        demo.close()


CONCURRENT_QUESTIONS = [
    EXAMPLE_QUESTION,
    "Who is the spokesman for the U.S.-led military coalition?",
    "From how many sides was the area attacked?",
    "Who is appealing to protect civilians?",
    "What has the Islamic State dug in its remaining territory?",
]


def test_twenty_users_at_once_get_the_single_user_answers(seed_engine: QA) -> None:
    """20 gradio_client users ask at the same moment: no errors, and each gets exactly the
    answer a lone user gets (the queue serialises nothing it should not)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client

    from ui.app import launch

    port = _free_port()
    demo = launch(seed_engine, host="127.0.0.1", port=port, prevent_thread_lock=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        alone = {q: Client(url, verbose=False).predict(q, "[]", api_name="/ask")
                 for q in CONCURRENT_QUESTIONS}
        clients = [Client(url, verbose=False) for _ in range(20)]
        start = threading.Barrier(20)

        def user(i: int) -> dict:
            q = CONCURRENT_QUESTIONS[i % len(CONCURRENT_QUESTIONS)]
            start.wait()  # everyone asks at once
            t0 = time.perf_counter()
            answer = clients[i].predict(q, "[]", api_name="/ask")
            return {"question": q, "answer": answer, "seconds": time.perf_counter() - t0}

        with ThreadPoolExecutor(max_workers=20) as pool:
            results = list(pool.map(user, range(20)))
        same = sum(r["answer"] == alone[r["question"]] for r in results)
        waits = sorted(r["seconds"] for r in results)
        print(f"\n20 concurrent gradio_client users: 0 errors, {same}/20 answers identical to "
              f"the single-user answers; latency p50 {waits[10]:.2f} s, max {waits[-1]:.2f} s")
        assert len(results) == 20
        for r in results:
            got, want = r["answer"], alone[r["question"]]
            assert got["text"] == want["text"], r["question"]
            assert got["citations"] == want["citations"]
            assert got["abstained"] == want["abstained"]
    finally:
        demo.close()
