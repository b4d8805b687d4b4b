"""``qa eval ... --mode llm``: the LLM figures (supported-sentence share, markers dropped,
fallbacks, sentences shown as supported that are not) and ``--compare`` of both modes.

The arithmetic is checked against the stand-in server (tests/openai_server.py) with scripted
replies, because only scripted replies give a known mix of supported, unsupported and
dangling citations; the real model runs the same evaluation in test_eval_real_model_llm_mode,
where what must hold is that nothing unsupported is shown as supported.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from eval.__main__ import main
from eval.llm_server import available

try:
    from openai_server import FakeOpenAIServer
except ImportError:  # tests/ imported as a package
    from tests.openai_server import FakeOpenAIServer

ROOT = Path(__file__).resolve().parent.parent
SEED_SET = ROOT / "eval" / "data" / "seed_questions.jsonl"
FOUR_SIDES = "from four sides Monday evening"
LIMIT = 4


def scripted(messages: list[dict[str, Any]]) -> str:
    """Cite the passage holding the four-sides sentence when there is one (a supported
    sentence), then claim a number no passage states (unsupported) and cite passage 9
    (there are 5: points at nothing)."""
    prompt = messages[-1]["content"]
    blocks = re.findall(r'<passage id="(\d+)">\n(.*?)\n</passage>', prompt, re.S)
    hit = next((n for n, body in blocks if FOUR_SIDES in body), None)
    first = (f"The offensive was launched from four sides on Monday evening [{hit}]."
             if hit else "The offensive was launched from four sides on Monday evening [9].")
    return first + " The SDF has 90,000 fighters in Hajin [1]."


def run_eval(out: Path, *extra: str) -> dict[str, Any]:
    rc = main(["jsonl", str(SEED_SET), "--limit", str(LIMIT), "--seed", "5", "-k", "5",
               "--out", str(out), "-q", *extra])
    assert rc == 0
    return json.loads((out / "metrics.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("eval-llm")
    mp = pytest.MonkeyPatch()
    try:
        extractive = run_eval(base / "extractive", "--mode", "extractive")
        with FakeOpenAIServer(scripted) as server:
            mp.setenv("QA_LLM_BASE_URL", server.base_url)
            mp.setenv("QA_LLM_MODEL", "test-model")
            llm = run_eval(base / "llm", "--mode", "llm")
            prompts = [r.messages for r in server.completion_requests]
    finally:
        mp.undo()
    return {"base": base, "extractive": extractive, "llm": llm, "prompts": prompts}


def test_llm_figures_count_what_the_replies_held(runs) -> None:  # type: ignore[no-untyped-def]
    g = runs["llm"]["generation"]
    hits = sum(FOUR_SIDES in m[-1]["content"] for m in runs["prompts"])
    asked = len(runs["prompts"])  # one request a question, follow-ups and metadata too
    assert g["asked"] == asked == runs["llm"]["questions_evaluated"] == LIMIT
    assert g["replies_checked"] == asked and g["server_failures"] == 0
    # two factual sentences a reply; the four-sides one is supported where it was cited
    assert g["sentences"] == 2 * asked
    assert g["supported_share"] == pytest.approx(hits / (2 * asked))
    # every reply cites two numbers; [1] for 90,000 fighters never holds, [9] never exists
    assert g["markers"] == 2 * asked
    assert g["markers_dropped_share"] == pytest.approx((2 * asked - hits) / (2 * asked))
    # no supported sentence: the extractive answer is shown
    assert g["fallbacks"] == asked - hits
    assert g["fallback_share"] == pytest.approx((asked - hits) / asked)
    assert g["shown_unsupported"] == 0
    assert runs["llm"]["settings"]["answer_mode"] == "llm"
    assert runs["llm"]["answers"]["invalid_citations"] == 0


def test_extractive_run_has_no_llm_figures(runs) -> None:  # type: ignore[no-untyped-def]
    g = runs["extractive"]["generation"]
    assert g["asked"] == 0 and g["fallbacks"] == 0 and g["shown_unsupported"] == 0
    assert math.isnan(g["supported_share"]) if isinstance(g["supported_share"], float) \
        else g["supported_share"] is None


def test_report_and_compare_show_both_modes(runs, capsys) -> None:  # type: ignore[no-untyped-def]
    report = (runs["base"] / "llm" / "report.md").read_text(encoding="utf-8")
    assert "## LLM answers" in report and "shown as supported but not" in report
    assert "## LLM answers" not in (runs["base"] / "extractive" / "report.md").read_text(
        encoding="utf-8")
    capsys.readouterr()
    assert main(["--compare", str(runs["base"] / "extractive"), str(runs["base"] / "llm")]) == 0
    table = capsys.readouterr().out
    for metric in ("generation.supported_share", "generation.fallbacks",
                   "generation.shown_unsupported", "answers.correct_all"):
        assert metric in table
    assert "settings.answer_mode" in table  # the two runs differ in the mode


@pytest.mark.skipif(available() is not None, reason=str(available()))
def test_eval_real_model_llm_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bundled model on llama.cpp's server, started by ``qa eval`` itself."""
    monkeypatch.delenv("QA_LLM_MODEL", raising=False)
    m = run_eval(tmp_path / "real", "--mode", "llm", "--limit", "2", "-k", "2")
    g = m["generation"]
    assert g["asked"] == m["questions_evaluated"] == 2
    assert g["replies_checked"] + g["server_failures"] == g["asked"]
    assert g["shown_unsupported"] == 0
    assert m["answers"]["invalid_citations"] == 0
    assert m["settings"]["llm_model"] == "smollm2-135m-instruct"
