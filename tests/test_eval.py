"""Tests for the evaluation harness (``python -m eval``): an end-to-end run on the seed
question set with the real model, the outputs it writes, ``--compare``, the method
comparison, the per-data-set judges and the calibration sweep."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pytest

from eval.__main__ import main
from eval.datasets import EvalArticle, EvalQuestion, EvalSet, load_jsonl

ROOT = Path(__file__).resolve().parent.parent
SEED_SET = ROOT / "eval" / "data" / "seed_questions.jsonl"
SEED_ARTICLE = ROOT / "seeds" / "national-post-hajin.txt"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
LIMIT = 10


# --- the seed question set -----------------------------------------------------------------


def test_seed_set_is_well_formed() -> None:
    evalset = load_jsonl(SEED_SET)
    qs = evalset.questions
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    assert len(qs) >= 24
    assert evalset.article_files == [SEED_ARTICLE.resolve()]
    assert sum(not q.answerable for q in qs) >= 5
    categories = {q.id.rsplit("-", 1)[0] for q in qs}
    assert {
        "factoid",
        "paraphrase",
        "acronym",
        "metadata",
        "followup",
        "unanswerable",
    } <= categories
    for q in qs:
        if q.answerable:
            assert q.answers, q.id
            assert q.evidence and q.evidence in text, q.id  # the exact sentence
        else:
            assert q.answers == [] and q.evidence == "", q.id
    assert all(q.history for q in qs if q.id.startswith("followup"))


# --- one end-to-end run, shared by the tests below ------------------------------------------


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("eval-run")
    out = base / "run"
    rc = main(
        [
            "jsonl",
            str(SEED_SET),
            "--limit",
            str(LIMIT),
            "--seed",
            "3",
            "--out",
            str(out),
            "--index",
            str(base / "index"),
            "-q",
        ]
    )
    assert rc == 0
    return out


@pytest.fixture(scope="module")
def metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))


def test_metrics_json_fields(metrics: dict) -> None:
    h = hashlib.sha256(SEED_SET.read_bytes() + SEED_ARTICLE.read_bytes()).hexdigest()
    assert metrics["dataset"] == "jsonl"
    assert metrics["data_sha256"] == h
    assert metrics["limit"] == LIMIT and metrics["seed"] == 3
    assert metrics["questions_evaluated"] == LIMIT
    assert metrics["questions_total"] == len(load_jsonl(SEED_SET).questions)
    assert metrics["articles"] == 1 and metrics["distractors"] is None
    assert metrics["model_id"]
    assert isinstance(metrics["git_commit"], str) and metrics["git_commit"]
    assert metrics["settings"]["retrieval"] == "hybrid"
    assert "abstain_threshold" in metrics["settings"]
    assert metrics["settings"]["llm_api_key"] in ("", "***")
    for key in ("load_s", "index_s", "questions_s", "total_s"):
        assert metrics["timings"][key] >= 0
    r = metrics["retrieval"]
    assert 0 <= r["hits@1"] <= r["hits@5"] <= r["hits@10"] <= 1
    assert 0 <= r["mrr@10"] <= 1
    assert set(r["hits_curve"]) == {str(k) for k in range(1, 11)}
    a = metrics["answers"]
    for key in ("exact_match", "f1", "supporting_sentence_accuracy", "correct_all"):
        assert a[key] is None or 0 <= a[key] <= 1, key
    assert a["citation_validity"] in (None, 1.0)  # quotes are never invented
    assert a["invalid_citations"] == 0
    assert {"precision", "recall", "f1", "abstained", "unanswerable"} <= set(metrics["abstention"])
    for stage in ("retrieve_s", "ask_s"):
        assert metrics["latency"][stage]["p50"] > 0
    assert metrics["by_category"]


def test_predictions_written(run_dir: Path) -> None:
    lines = (run_dir / "predictions.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == LIMIT
    rec = json.loads(lines[0])
    assert {"id", "question", "rank", "abstained", "confidence", "correct", "quotes"} <= set(rec)


def test_report_has_tables_and_valid_plots(run_dir: Path) -> None:
    report = (run_dir / "report.md").read_text(encoding="utf-8")
    for heading in (
        "## Retrieval",
        "## Answers",
        "## Abstention",
        "## Latency",
        "## Worst failures",
    ):
        assert heading in report
    assert "| Hits@1 | Hits@5 | Hits@10 | MRR@10 |" in report
    assert "| precision | recall |" in report
    for png in ("hits_at_k.png", "confidence.png", "latency.png"):
        assert f"]({png})" in report  # relative links
        data = (run_dir / png).read_bytes()
        assert data.startswith(PNG_MAGIC), png
        from PIL import Image

        with Image.open(run_dir / png) as im:
            im.verify()
            assert im.size[0] > 100 and im.size[1] > 100


# --- --compare ---------------------------------------------------------------------------


def test_compare_prints_differences(
    run_dir: Path, metrics: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = json.loads(json.dumps(metrics))
    other["retrieval"]["hits@1"] = (metrics["retrieval"]["hits@1"] or 0) + 0.25
    other["latency"]["ask_s"]["p50"] = metrics["latency"]["ask_s"]["p50"] + 0.5
    other["settings"]["retrieval"] = "bm25"
    b = tmp_path / "b.json"
    b.write_text(json.dumps(other), encoding="utf-8")
    assert main(["--compare", str(run_dir), str(b)]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("| retrieval.hits@1 "))
    assert "+0.2500" in line and "better" in line
    lat = next(x for x in out.splitlines() if x.startswith("| latency.ask_s.p50 "))
    assert "+500.0 ms" in lat and "worse" in lat
    assert "settings.retrieval: 'hybrid' -> 'bm25'" in out

    assert main(["--compare", str(run_dir / "metrics.json"), str(b), "--json"]) == 0
    rows = {r["metric"]: r for r in json.loads(capsys.readouterr().out)["metrics"]}
    assert rows["retrieval.hits@1"]["delta"] == pytest.approx(0.25)


def test_compare_missing_file_is_a_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--compare", str(tmp_path / "nope"), str(tmp_path / "nope2")]) == 1
    assert "no metrics file" in capsys.readouterr().err


def test_usage_errors() -> None:
    with pytest.raises(SystemExit) as e:
        main([])
    assert e.value.code == 2
    with pytest.raises(SystemExit):
        main(["nosuchset", "x"])


def test_missing_data_file_is_a_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["jsonl", str(tmp_path / "missing.jsonl"), "-q"]) == 1
    assert "not found" in capsys.readouterr().err


# --- retrieval method comparison (reuses the run's index) -----------------------------------


def test_method_comparison(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "methods"
    rc = main(
        [
            "retrieval",
            "jsonl",
            str(SEED_SET),
            "--limit",
            "4",
            "--out",
            str(out),
            "--index",
            str(run_dir.parent / "index"),
            "-q",
        ]
    )
    assert rc == 0
    data = json.loads((out / "methods.json").read_text(encoding="utf-8"))
    assert list(data["methods"]) == ["bm25", "dense", "hybrid, no acronyms", "hybrid + acronyms"]
    for m in data["methods"].values():
        assert {"hits@1", "hits@5", "mrr@10"} <= set(m)
    assert data["methods"]["bm25"]["retrieval"] == "bm25"
    assert data["methods"]["hybrid + acronyms"]["expand_acronyms"] is True
    assert "| method | Hits@1 |" in (out / "methods.md").read_text(encoding="utf-8")
    assert (out / "methods_hits.png").read_bytes().startswith(PNG_MAGIC)


# --- judges (no model) -------------------------------------------------------------------


def _passage(text: str, start: int = 0, article_id: str = "a"):
    from qa import Passage

    return Passage(
        text=text,
        score=1.0,
        article_id=article_id,
        title="",
        source="",
        start=start,
        end=start + len(text),
        chunk_id=f"{article_id}:0",
        rank=1,
    )


def _answer(
    short: str = "",
    quotes: tuple[tuple[str, int], ...] = (),
    abstained: bool = False,
    article_id: str = "a",
):
    from qa import Answer, Citation

    cites = [
        Citation(
            n=i + 1, article_id=article_id, title="", source="", quote=q, start=s, end=s + len(q)
        )
        for i, (q, s) in enumerate(quotes)
    ]
    text = "\n\n".join(
        [short] * bool(short) + [f"{q} [{i + 1}]" for i, (q, _) in enumerate(quotes)]
    )
    return Answer(
        question="q", text=text, citations=cites, passages=[], abstained=abstained, short=short
    )


def test_squad_judge_uses_offsets() -> None:
    from eval.judge import make_judge

    j = make_judge("squad")
    q = EvalQuestion(id="1", question="?", answers=["Denver"], article_id="a", answer_starts=[120])
    assert j.is_hit(q, _passage("x" * 50, start=100))
    assert not j.is_hit(q, _passage("x" * 10, start=100))
    assert not j.is_hit(q, _passage("x" * 50, start=100, article_id="b"))
    v = j.judge(q, _answer("the Denver", quotes=(("y" * 40, 110),)))
    assert (v.em, v.supporting, v.correct) == (1.0, True, True)
    v = j.judge(q, _answer("", quotes=(("Denver won it.", 10),)))
    assert v.supporting is False and v.f1 == pytest.approx(0.5)  # scored on the quote
    assert j.judge(q, _answer(abstained=True)).em == 0.0


def test_jsonl_judge_short_answer_decides() -> None:
    from eval.judge import make_judge

    j = make_judge("jsonl")
    ev = "“We expect a long fight,” said Col. Sean Ryan, in Baghdad."
    q = EvalQuestion(id="1", question="Where?", answers=["Baghdad"], evidence=ev)
    assert j.is_hit(q, _passage("Before. " + ev.replace("“", '"').replace("”", '"')))
    right = j.judge(q, _answer("Baghdad", quotes=((ev, 0),)))
    assert right.correct and right.supporting
    wrong = j.judge(q, _answer("Col. Sean Ryan", quotes=((ev, 0),)))
    assert not wrong.correct and wrong.supporting  # right sentence, wrong short answer
    assert j.judge(q, _answer("", quotes=((ev, 0),))).correct  # no short: the text counts
    unanswerable = EvalQuestion(id="2", question="Who?", answers=[], answerable=False)
    assert j.judge(unanswerable, _answer(abstained=True)).correct
    assert not j.judge(unanswerable, _answer("Macron", quotes=(("Macron.", 0),))).correct


def test_realtimeqa_judge_whole_words() -> None:
    from eval.judge import make_judge, mentions

    j = make_judge("realtimeqa")
    q = EvalQuestion(id="1", question="?", answers=["40"], correct_choice="40")
    assert j.is_hit(q, _passage("He turned 40 on Monday."))
    assert not j.is_hit(q, _passage("In 1940 it rained."))
    assert j.judge(q, _answer("", quotes=(("He turned 40.", 0),))).correct
    assert mentions("The “Oppenheimer” film", '"Oppenheimer"')


# --- calibration sweep (no model) --------------------------------------------------------


def test_calibration_sweep_and_best_threshold() -> None:
    from eval.calibrate import Observation, best_threshold, sweep

    obs = [
        Observation(str(i), "squad", "?", True, c, False, True)
        for i, c in enumerate([0.6, 0.7, 0.8])
    ]
    obs += [
        Observation(f"u{i}", "squad", "?", False, c, False, False)
        for i, c in enumerate([0.2, 0.3, 0.45])
    ]
    rows = sweep(obs, [0.1, 0.3, 0.4, 0.5, 0.55, 0.6, 0.9])
    at = {r["threshold"]: r for r in rows}
    assert math.isnan(at[0.1]["precision"]) and at[0.1]["recall"] == 0
    assert at[0.5]["f1"] == 1.0 and at[0.5]["accuracy"] == 1.0 and at[0.5]["coverage"] == 0.5
    assert at[0.9]["recall"] == 1.0 and at[0.9]["precision"] == 0.5
    # F1 is 1 on [0.5, 0.6]: the middle of that run
    assert best_threshold(rows, "f1") == 0.55


def test_calibration_split_holds_out_half_the_articles() -> None:
    from eval.calibrate import split_squad
    from eval.datasets import EvalArticle, EvalSet

    arts = [EvalArticle(id=f"a{i}", title="", text="t") for i in range(6)]
    qs = [
        EvalQuestion(
            id=f"q{i}", question="?", answers=["t"], article_id=f"a{i % 6}", answer_starts=[0]
        )
        for i in range(60)
    ]
    evalset = EvalSet("s", arts, qs, Path("s.json"), "0")
    kept, answerable, unanswerable = split_squad(evalset, 5, seed=1)
    assert len(kept) == 3 and len(answerable) == 5 and len(unanswerable) == 5
    assert all(q.article_id in kept and q.answerable for q in answerable)
    assert all(q.article_id not in kept and not q.answerable for q in unanswerable)
    assert split_squad(evalset, 5, seed=1) == (kept, answerable, unanswerable)


def _squad_like(n: int = 24) -> EvalSet:
    arts = [EvalArticle(id=f"squad-a{i}", title="", text="t") for i in range(n)]
    qs = [
        EvalQuestion(
            id=f"q{i}", question="?", answers=["t"], article_id=f"squad-a{i % n}", answer_starts=[0]
        )
        for i in range(10 * n)
    ]
    return EvalSet("squad-x", arts, qs, Path("x.json"), "0")


def test_calibration_squad_leaves_the_heldout_articles_out() -> None:
    from eval.calibrate import calibration_squad

    squad = _squad_like()
    fit = calibration_squad(squad)
    held = {f"squad-a{i}" for i in range(3, 24, 4)}
    assert len(fit.articles) == 18 and held.isdisjoint(a.id for a in fit.articles)
    assert {"squad-a1", "squad-a9", "squad-a17"} <= {a.id for a in fit.articles}  # dev kept
    assert fit.questions and all(q.article_id not in held for q in fit.questions)
    assert len(fit.questions) == 10 * 18


def test_calibration_default_sources_are_fitting_data_only() -> None:
    from eval.calibrate import build_parser, select_sources

    squad = _squad_like()
    held = {f"squad-a{i}" for i in range(3, 24, 4)}
    bbc = [EvalArticle(id=f"bbc-tech-{i:03d}", title=f"T{i}", text=f"text {i}") for i in range(10)]
    bbc.append(EvalArticle(id="bbc-tech-copy", title="other", text="text 0"))  # a copy of 000
    bbcqa = EvalSet(
        "bbc-qa-dev",
        bbc[:2],
        [
            EvalQuestion(id="b1", question="?", answers=["x"], article_id="bbc-tech-000"),
            EvalQuestion(
                id="b2", question="?", answers=[], article_id="bbc-tech-001", answerable=False
            ),
        ],
        Path("questions.jsonl"),
        "0",
    )
    cal = select_sources(squad, bbcqa, bbc[:3], bbc, limit=30, seed=2, distractors=5)
    assert [s.name for s in cal.sources] == ["bbcqa", "squad"]  # no seed set
    assert not any(s.measuring for s in cal.sources)
    bbcqa_src, squad_src = cal.sources
    assert [q.id for q in bbcqa_src.questions] == ["b1", "b2"] and bbcqa_src.judge == "bbcqa"
    assert squad_src.judge == "squad" and len(squad_src.questions) == 60
    assert all(q.article_id not in held for q in squad_src.questions)
    assert held.isdisjoint(a.id for a in cal.articles)
    # distractors: none of bbc-qa's (any split), nor a copy of one
    assert len(cal.distractors) == 5
    assert {a.id for a in cal.distractors}.isdisjoint(
        {"bbc-tech-000", "bbc-tech-001", "bbc-tech-002", "bbc-tech-copy"}
    )
    assert cal.article_files == []
    assert select_sources(squad, bbcqa, bbc[:3], bbc, limit=30, seed=2, distractors=5) == cal
    with pytest.raises(ValueError, match="between 0 and 7"):
        select_sources(squad, bbcqa, bbc[:3], bbc, distractors=8)
    # the seed set only when asked for, and marked as a measuring set
    seed_set = load_jsonl(SEED_SET)
    with_seed = select_sources(squad, bbcqa, bbc[:3], bbc, distractors=0, seed_set=seed_set)
    assert with_seed.sources[-1].name == "seed" and with_seed.sources[-1].measuring
    assert with_seed.article_files == [SEED_ARTICLE.resolve()]
    assert build_parser().parse_args([]).seed_set is None


def test_calibration_limit_keeps_the_share_of_unanswerable_questions() -> None:
    from eval.calibrate import sample_keeping_share

    qs = [
        EvalQuestion(id=f"q{i}", question="?", answers=[] if u else ["a"], answerable=not u)
        for i, u in ((i, i % 6 == 5) for i in range(60))
    ]
    got = sample_keeping_share(qs, 30, seed=1)
    assert len(got) == 30 and sum(not q.answerable for q in got) == 5
    assert [q.id for q in got] == sorted((q.id for q in got), key=lambda i: int(i[1:]))
    assert sample_keeping_share(qs, 100, seed=1) == qs


def test_calibration_real_default_sources() -> None:
    from eval.calibrate import build_parser, load_sources
    from eval.datasets import DEFAULT_DATA_DIR, load_squad
    from eval.splits import bbc_question_rows, bbc_split, squad_split

    for name in ("squad", "bbc-qa", "bbc-news"):
        if not (DEFAULT_DATA_DIR / name).exists():
            pytest.skip(f"shared data not available: {DEFAULT_DATA_DIR / name}")
    cal = load_sources(build_parser().parse_args(["--limit", "20"]))
    squad = load_squad(DEFAULT_DATA_DIR / "squad" / "dev-v1.1-even.json")
    held = {a.id for pos, a in enumerate(squad.articles) if squad_split(pos) == "heldout"}
    assert [s.name for s in cal.sources] == ["bbcqa", "squad"]
    asked = [q for s in cal.sources for q in s.questions]
    assert len(asked) == 80 and all(q.article_id not in held for q in asked)
    assert held.isdisjoint(a.id for a in cal.articles)
    # the BBC questions: the dev articles of bbc-qa and of our own (eval/data/bbc-qa-extra.jsonl)
    rows = bbc_question_rows()
    dev = {r["id"] for r in rows if bbc_split(r["article"]) == "dev"}
    asked_bbc = {q.id for q in cal.sources[0].questions}
    assert asked_bbc <= dev and any(i.startswith("x") for i in asked_bbc)
    assert sum(not q.answerable for q in cal.sources[0].questions) > 0
    # no article with reader questions (either file, any split) is a distractor
    in_bbcqa = {"bbc-" + r["article"].replace("/", "-").removesuffix(".txt") for r in rows}
    assert len(cal.distractors) == 150 and in_bbcqa.isdisjoint(a.id for a in cal.distractors)


def test_questions_about_this_article_are_asked_of_their_article(seed_engine) -> None:
    from eval.runner import question_scope
    from qa.articles import make_article

    seed_engine.add_articles(
        [
            make_article(
                "The Harbour bridge reopened on Monday.",
                title="Bridge reopens",
                source="Harbour Times",
            )
        ]
    )
    qs = {q.id: q for q in load_jsonl(SEED_SET).questions}
    meta = next(q for q in qs.values() if q.id.startswith("metadata"))
    scope = question_scope(seed_engine, meta)
    seed = next(a for a in seed_engine.index.articles if a.source == "National Post")
    assert scope is not None and scope.article_ids == (seed.id,)
    # content questions search every article, distractors included
    assert question_scope(seed_engine, qs["factoid-01"]) is None


# --- news-qa scoring (no model) ----------------------------------------------------------

NEWSQA_EVIDENCE = "Tsai’s party, by comparison, is expected to win only five"


def _newsqa_question(**kw) -> EvalQuestion:
    fields = {
        "id": "d002",
        "question": "How many mayoral races was Tsai's party expected to win?",
        "answers": ["five", "5"],
        "article_id": "newsqa-01",
        "evidence": NEWSQA_EVIDENCE,
        "category": "number",
    }
    return EvalQuestion(**{**fields, **kw})


def test_newsqa_judge_counts_a_right_answer_right() -> None:
    from eval.judge import make_judge

    j = make_judge("newsqa")
    q = _newsqa_question()
    # straight quote and a line break where the article has a curly quote and a space
    quote = "Tsai's party, by comparison,\nis expected to win only five of the 21 races."
    v = j.judge(q, _answer("Five", quotes=((quote, 100),), article_id="newsqa-01"))
    assert (v.correct, v.supporting, v.answer_in_text, v.short_right) == (True, True, True, True)
    assert (v.short_em, v.short_f1) == (1.0, 1.0)
    # no short answer: the quoted sentence in the text holds "five", so it is still right,
    # but the short answer is not
    v = j.judge(q, _answer("", quotes=((quote, 100),), article_id="newsqa-01"))
    assert v.correct and v.short_right is False and v.short_em == 0.0


def test_newsqa_judge_counts_a_wrong_citation_wrong() -> None:
    from eval.judge import make_judge

    j = make_judge("newsqa")
    q = _newsqa_question()
    quote = "Tsai’s party, by comparison, is expected to win only five of the 21 races."
    # the same words quoted from another article do not cite the question's article
    other = j.judge(q, _answer("five", quotes=((quote, 0),), article_id="newsqa-02"))
    assert other.answer_in_text and not other.supporting and not other.correct
    # the right article, but a sentence that does not hold the evidence span
    elsewhere = j.judge(
        q, _answer("five", quotes=(("Five candidates ran in Taipei.", 0),), article_id="newsqa-01")
    )
    assert elsewhere.answer_in_text and not elsewhere.supporting and not elsewhere.correct
    # the evidence cited, but no accepted answer anywhere in the text
    q7 = _newsqa_question(answers=["seven"], evidence="Tsai’s party, by comparison")
    v = j.judge(q7, _answer("", quotes=((quote, 0),), article_id="newsqa-01"))
    assert v.supporting and not v.answer_in_text and not v.correct
    # a half of the evidence is not the evidence
    half = j.judge(
        q, _answer("five", quotes=(("Tsai’s party, by comparison,", 0),), article_id="newsqa-01")
    )
    assert not half.supporting and not half.correct
    abstained = j.judge(q, _answer(abstained=True))
    assert not abstained.correct and abstained.short_em == 0.0


def test_newsqa_judge_unanswerable_is_right_only_when_abstained() -> None:
    from eval.judge import make_judge

    j = make_judge("newsqa")
    q = _newsqa_question(answers=[], evidence="", answerable=False, category="unanswerable")
    assert j.judge(q, _answer(abstained=True)).correct
    assert not j.judge(q, _answer("six", quotes=(("Six won.", 0),), article_id="newsqa-01")).correct
    assert not j.retrieval_scored(q)
    assert j.is_hit(_newsqa_question(), _passage("x " + NEWSQA_EVIDENCE, article_id="newsqa-01"))
    assert not j.is_hit(_newsqa_question(), _passage(NEWSQA_EVIDENCE, article_id="newsqa-02"))


def test_short_answer_alone_has_no_fallback() -> None:
    from eval.judge import make_judge

    j = make_judge("squad")
    q = EvalQuestion(id="1", question="?", answers=["Denver"], article_id="a", answer_starts=[0])
    v = j.judge(q, _answer("", quotes=(("Denver won it.", 0),)))
    assert v.f1 == pytest.approx(0.5) and v.short_f1 == 0.0 and v.short_em == 0.0
    v = j.judge(q, _answer("Denver", quotes=(("Denver won it.", 0),)))
    assert v.short_em == 1.0 and v.short_f1 == 1.0


def _record(id: str, category: str, answerable: bool, abstained: bool, correct: bool, **kw):
    from eval.runner import QuestionRecord

    fields = dict(
        id=id,
        question="?",
        expected="",
        answerable=answerable,
        history_turns=0,
        retrieval_scored=answerable,
        rank=1 if answerable else None,
        abstained=abstained,
        confidence=0.5,
        short="",
        text="",
        predicted="",
        quotes=[],
        em=None,
        f1=None,
        supporting=None,
        correct=correct,
        citations=0,
        invalid_citations=0,
        question_type="",
        mode="extractive",
        retrieve_s=0.01,
        ask_s=0.02,
        category=category,
    )
    return QuestionRecord(**{**fields, **kw})


def test_scorecard_and_breakdown_by_type() -> None:
    from eval.runner import breakdown, scorecard, summarise

    records = [
        _record(
            "d1",
            "number",
            True,
            False,
            True,
            supporting=True,
            answer_in_text=True,
            short_right=True,
            short_em=1.0,
            short_f1=1.0,
        ),
        _record(
            "d2",
            "number",
            True,
            True,
            False,
            supporting=False,
            answer_in_text=False,
            short_right=False,
            short_em=0.0,
            short_f1=0.0,
        ),
        _record(
            "d3",
            "paraphrase",
            True,
            False,
            False,
            supporting=True,
            answer_in_text=False,
            short_right=False,
            short_em=0.0,
            short_f1=0.5,
        ),
        _record("d4", "unanswerable", False, True, True),
        _record("d5", "unanswerable", False, False, False),
    ]
    s = scorecard(records)
    assert (s["questions"], s["answerable"], s["unanswerable"]) == (5, 3, 2)
    assert s["accuracy"] == pytest.approx(2 / 5)
    assert s["answerable_accuracy"] == pytest.approx(1 / 3)
    assert s["unanswerable_accuracy"] == s["abstention_recall"] == 0.5
    assert s["abstention_precision"] == 0.5  # d2 and d4 abstained, d4 rightly
    assert s["evidence_cited"] == pytest.approx(2 / 3)
    assert s["short_answer_right"] == pytest.approx(1 / 3)
    assert s["wrongly_abstained"] == 1
    by_type = breakdown(records, "category")
    assert list(by_type) == ["number", "paraphrase", "unanswerable"]
    assert by_type["number"]["accuracy"] == 0.5 and by_type["number"]["wrongly_abstained"] == 1
    assert by_type["unanswerable"]["unanswerable_accuracy"] == 0.5
    assert math.isnan(by_type["unanswerable"]["evidence_cited"])
    answers = summarise(records)["answers"]
    assert answers["short_exact_match"] == pytest.approx(1 / 3)
    assert answers["short_f1"] == pytest.approx(1.5 / 3)


def test_per_article_asks_each_question_of_its_own_article() -> None:
    from types import SimpleNamespace

    from eval.runner import question_scope

    engine = SimpleNamespace(index=SimpleNamespace(articles=[]))
    q = _newsqa_question(question="How many mayoral races was Tsai's party expected to win?")
    assert question_scope(engine, q) is None  # open: the whole corpus
    scope = question_scope(engine, q, per_article=True)
    assert scope is not None and scope.article_ids == ("newsqa-01",)
    assert question_scope(engine, _newsqa_question(article_id=None), per_article=True) is None


def test_bbcqa_is_scored_by_the_newsqa_rules_and_split_by_bbc_split() -> None:
    from eval.__main__ import default_split
    from eval.judge import NewsQAJudge, make_judge

    assert isinstance(make_judge("bbcqa"), NewsQAJudge)
    assert default_split("bbcqa") == "dev" and default_split("squad") == "all"
    with pytest.raises(SystemExit) as e:
        main(["bbcqa", "x", "--split", "heldout"])  # bbc-qa has no held-out part
    assert e.value.code == 2


def test_split_and_per_article_usage_errors() -> None:
    with pytest.raises(SystemExit) as e:
        main(["jsonl", str(SEED_SET), "--split", "heldout"])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main(["squad", "x.json", "--split", "test"])
    assert e.value.code == 2
