"""Tests for eval.datasets: the real shared data sets and small synthetic files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from eval.datasets import (
    DEFAULT_DATA_DIR,
    EvalArticle,
    EvalQuestion,
    EvalSet,
    load_bbc,
    load_bbcqa,
    load_jsonl,
    load_newsqa,
    load_realtimeqa,
    load_squad,
    sample_questions,
    select_squad_split,
    strip_html,
)

SQUAD = DEFAULT_DATA_DIR / "squad" / "dev-v1.1-even.json"
RTQA = DEFAULT_DATA_DIR / "realtimeqa"
BBC = DEFAULT_DATA_DIR / "bbc-news"
NEWSQA = DEFAULT_DATA_DIR / "news-qa"
BBCQA = DEFAULT_DATA_DIR / "bbc-qa"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


def _check_offsets(evalset: EvalSet) -> int:
    """Assert every gold offset points at its answer; return how many were checked."""
    texts = {a.id: a.text for a in evalset.articles}
    checked = 0
    for q in evalset.questions:
        if not q.answer_starts:
            continue
        assert len(q.answer_starts) == len(q.answers), q.id
        text = texts[q.article_id]  # type: ignore[index]
        for answer, start in zip(q.answers, q.answer_starts, strict=True):
            assert text[start : start + len(answer)] == answer, (q.id, answer, start)
            checked += 1
    return checked


# --- SQuAD ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def squad() -> EvalSet:
    return load_squad(_need(SQUAD))


def test_squad_counts(squad: EvalSet) -> None:
    assert len(squad.articles) == 24
    assert len(squad.questions) == 5397
    assert sum(len(q.answers) for q in squad.questions) == 18368
    assert squad.skipped_answers == 0
    assert all(q.answerable and q.answers for q in squad.questions)


def test_squad_every_answer_offset_points_at_the_answer(squad: EvalSet) -> None:
    assert _check_offsets(squad) == 18368


def test_squad_articles_join_paragraphs(squad: EvalSet) -> None:
    raw = json.loads(SQUAD.read_text(encoding="utf-8"))["data"]
    for page, article in zip(raw, squad.articles, strict=True):
        assert article.text == "\n\n".join(p["context"] for p in page["paragraphs"])
        assert article.title == page["title"].replace("_", " ")
        assert article.id.startswith("squad-")
    assert squad.articles[0].title == "Super Bowl 50"
    assert len({a.id for a in squad.articles}) == 24
    assert len({q.id for q in squad.questions}) == 5397


def test_squad_metadata(squad: EvalSet) -> None:
    assert squad.name == "squad-dev-v1.1-even"
    assert squad.sha256 == hashlib.sha256(SQUAD.read_bytes()).hexdigest()
    json.dumps(squad.to_dict())  # serialisable


def test_squad_skips_answers_whose_offset_is_wrong(tmp_path: Path) -> None:
    data = {
        "version": "1.1",
        "data": [
            {
                "title": "Some_Page",
                "paragraphs": [
                    {
                        "context": "Alpha beta.",
                        "qas": [
                            {
                                "id": "q1",
                                "question": "First?",
                                "answers": [{"text": "beta", "answer_start": 6}],
                            },
                        ],
                    },
                    {
                        "context": "Gamma delta.",
                        "qas": [
                            {
                                "id": "q2",
                                "question": "Second?",
                                "answers": [
                                    {"text": "delta", "answer_start": 6},
                                    {"text": "delta", "answer_start": 0},
                                ],
                            },
                            {
                                "id": "q3",
                                "question": "Third?",
                                "answers": [{"text": "zeta", "answer_start": 0}],
                            },
                        ],
                    },
                ],
            }
        ],
    }
    path = tmp_path / "mini.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    s = load_squad(path)
    (article,) = s.articles
    assert article.text == "Alpha beta.\n\nGamma delta."
    assert article.title == "Some Page"
    assert [q.id for q in s.questions] == ["q1", "q2"]  # q3 lost its only answer
    assert s.questions[1].answer_starts == [len("Alpha beta.\n\n") + 6]
    assert s.skipped_answers == 2
    assert _check_offsets(s) == 2


def test_squad_rejects_other_json(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"rows": []}', encoding="utf-8")
    with pytest.raises(ValueError, match="not an official SQuAD JSON file"):
        load_squad(path)


# --- RealTime QA ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("week", "n_articles", "n_answerable"),
    [("20240105", 205, 17), ("20240112", 214, 21)],
)
def test_realtimeqa_weeks(week: str, n_articles: int, n_answerable: int) -> None:
    s = load_realtimeqa(_need(RTQA / f"{week}_qa.jsonl"))
    assert s.name == f"realtimeqa-{week}"
    assert len(s.questions) == 30
    assert len(s.articles) == n_articles
    assert sum(q.answerable for q in s.questions) == n_answerable
    assert sum(bool(q.evidence) for q in s.questions) == 20
    assert len({a.url for a in s.articles}) == n_articles
    for a in s.articles:
        assert a.id == "rtqa-" + hashlib.sha256(a.url.encode()).hexdigest()[:12]
        assert a.text.strip()
    for q in s.questions:
        assert len(q.choices) == 4
        assert q.answers == [q.correct_choice]
        assert q.correct_choice in q.choices
        assert "<" not in q.evidence and "&quot;" not in q.evidence
    _check_offsets(s)
    gcs = RTQA / f"{week}_gcs.jsonl"
    qa = RTQA / f"{week}_qa.jsonl"
    expected = hashlib.sha256(qa.read_bytes() + gcs.read_bytes()).hexdigest()
    assert s.sha256 == expected


def test_realtimeqa_first_question() -> None:
    s = load_realtimeqa(_need(RTQA / "20240105_qa.jsonl"))
    q = s.questions[0]
    assert q.id == "20240105_0"
    assert q.question.startswith("Which of the following politicians")
    assert q.correct_choice == "Tsai Ing-wen"
    tigger = s.questions[1]
    assert tigger.evidence.startswith("The bouncy tiger jumped into the public domain")
    assert "copyright protection of the characters" in tigger.evidence  # link text kept
    assert not tigger.answerable  # "Tigger" is in no search result
    first = s.articles[0]
    assert first.source == "cnn.com"
    assert first.author == "Eric Cheung"
    assert first.date == "2022-11-27"


def _write_jsonl(path: Path, rows: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_realtimeqa_synthetic_week(tmp_path: Path) -> None:
    story = (
        "Intro line.\n\nThe mayor of Springfield, Jane Doe, said on Monday that "
        "the “new bridge” will open in May. Other news follows."
    )
    result = {
        "url": "https://www.example.com/a",
        "title": "Bridge",
        "text": story,
        "authors": ["Ann Lee Bo Ray", "Ann Lee", "Bo Ray"],
        "publish_date": "2024/01/02",
    }
    other = {
        "url": "https://news.example.org/b",
        "title": "Other",
        "text": "Nothing here.",
        "authors": [],
        "publish_date": "",
    }
    _write_jsonl(
        tmp_path / "20990101_gcs.jsonl",
        [
            {"question_id": "w_0", "search_time": "", "search_result": [result, other]},
            {"question_id": "w_1", "search_time": "", "search_result": [result]},  # same URL again
        ],
    )
    _write_jsonl(
        tmp_path / "20990101_qa.jsonl",
        [
            {
                "question_id": "w_0",
                "question_sentence": "Who is the mayor?",
                "choices": ["John Roe", "Jane Doe"],
                "answer": ["1"],
                "evidence": 'The mayor of <a href="x">Springfield</a>, Jane&nbsp;Doe, '
                'said on Monday that the "new bridge" will open in May.',
            },
            {
                "question_id": "w_1",
                "question_sentence": "Which city?",
                "choices": ["Shelbyville", "Ogdenville"],
                "answer": ["0"],
                "evidence": "",
            },
        ],
    )
    s = load_realtimeqa(tmp_path / "20990101_qa.jsonl")
    assert [a.url for a in s.articles] == [
        "https://www.example.com/a",
        "https://news.example.org/b",
    ]
    bridge = s.articles[0]
    assert (bridge.source, bridge.author) == ("example.com", "Ann Lee, Bo Ray")
    assert bridge.date == "2024-01-02"
    q0, q1 = s.questions
    # Found despite the HTML, the entity and the curly quotes in the article.
    assert q0.article_id == bridge.id
    assert q0.evidence.startswith("The mayor of Springfield, Jane Doe, said")
    assert q0.answer_starts == [story.index("Jane Doe")]
    assert q0.answerable
    assert q1.article_id is None and q1.answer_starts == [] and not q1.answerable
    _check_offsets(s)


def test_realtimeqa_bad_line_names_file_and_line(tmp_path: Path) -> None:
    _write_jsonl(tmp_path / "x_gcs.jsonl", [{"question_id": "a", "search_result": []}])
    (tmp_path / "x_qa.jsonl").write_text(
        json.dumps(
            {"question_id": "a", "question_sentence": "Q?", "choices": ["A"], "answer": ["0"]}
        )
        + "\n"
        + json.dumps(
            {"question_id": "b", "question_sentence": "Q?", "choices": ["A"], "answer": ["-1"]}
        )
        + "\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"x_qa\.jsonl, line 2"):
        load_realtimeqa(tmp_path / "x_qa.jsonl")


def test_realtimeqa_needs_gcs_path_for_other_names(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="pass gcs_path"):
        load_realtimeqa(tmp_path / "questions.jsonl")


def test_strip_html() -> None:
    assert strip_html('a <a href="u"><u>link</u></a> &amp; b\n  c<br>d') == "a link & b c d"
    assert strip_html("plain") == "plain"


# --- BBC -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bbc() -> list[EvalArticle]:
    return load_bbc(_need(BBC))


def test_bbc_counts_and_ids(bbc: list[EvalArticle]) -> None:
    assert len(bbc) == 2225
    assert len({a.id for a in bbc}) == 2225
    topics = {a.id.split("-")[1] for a in bbc}
    assert topics == {"business", "entertainment", "politics", "sport", "tech"}
    assert [a.id for a in bbc] == sorted(a.id for a in bbc)
    assert all(a.source == "BBC News" and a.title and a.text for a in bbc)
    first = bbc[0]
    assert (first.id, first.title) == ("bbc-business-001", "Ad sales boost Time Warner profit")
    assert first.text.startswith("Quarterly profits at US media giant TimeWarner")


def test_bbc_decodes_the_non_utf8_file(bbc: list[EvalArticle]) -> None:
    mutu = next(a for a in bbc if a.id == "bbc-sport-199")
    assert mutu.title == "Chelsea sack Mutu"
    assert "£15.8m" in mutu.text


def test_bbc_limit() -> None:
    arts = load_bbc(_need(BBC), limit=3)
    assert [a.id for a in arts] == ["bbc-business-001", "bbc-business-002", "bbc-business-003"]
    assert load_bbc(BBC, limit=0) == []
    with pytest.raises(ValueError, match="limit must be >= 0"):
        load_bbc(BBC, limit=-1)


def test_bbc_synthetic_folder(tmp_path: Path) -> None:
    (tmp_path / "README.TXT").write_text("not an article", encoding="utf-8")
    (tmp_path / "tech").mkdir()
    (tmp_path / "tech" / "002.txt").write_bytes("Second\n\nCosts \xa310.\n".encode("latin-1"))
    (tmp_path / "tech" / "001.txt").write_text("First\n\nBody one.\n\nMore.\n", encoding="utf-8")
    arts = load_bbc(tmp_path)
    assert [(a.id, a.title, a.text) for a in arts] == [
        ("bbc-tech-001", "First", "Body one.\n\nMore."),
        ("bbc-tech-002", "Second", "Costs £10."),
    ]


def test_bbc_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_bbc(tmp_path / "nope")


# --- our JSONL format ----------------------------------------------------------------------


def test_load_jsonl_reads_fields_and_defaults(tmp_path: Path) -> None:
    (tmp_path / "articles").mkdir()
    story = tmp_path / "articles" / "story.txt"
    story.write_text("Jane Doe wrote it.", encoding="utf-8")
    other = tmp_path / "other.txt"
    other.write_text("Other.", encoding="utf-8")
    path = tmp_path / "qs.jsonl"
    _write_jsonl(
        path,
        [
            {
                "id": "a",
                "question": "Who wrote it?",
                "answers": ["Jane Doe"],
                "evidence": "Jane Doe wrote it.",
                "articles": ["articles/story.txt"],
            },
            {
                "question": "And when?",
                "answers": [],
                "history": [
                    {"role": "user", "content": "Who wrote it?"},
                    {"role": "assistant", "content": "Jane Doe [1]."},
                ],
                "articles": ["articles/story.txt", "other.txt"],
            },
            {"question": "Really?", "answers": [], "answerable": True},
        ],
    )
    with open(path, "a", encoding="utf-8") as f:
        f.write("\n")  # blank lines are ignored
    s = load_jsonl(path)
    assert s.name == "qs"
    assert s.articles == []
    assert s.article_files == [story.resolve(), other.resolve()]
    a, b, c = s.questions
    assert (a.id, a.answers, a.answerable) == ("a", ["Jane Doe"], True)
    assert a.evidence == "Jane Doe wrote it."
    assert (b.id, b.answerable, len(b.history)) == ("qs-2", False, 2)
    assert b.history[1] == {"role": "assistant", "content": "Jane Doe [1]."}
    assert c.answerable is True  # explicit value wins over the default
    assert a.article_id is None
    expected = hashlib.sha256(path.read_bytes() + story.read_bytes() + other.read_bytes())
    assert s.sha256 == expected.hexdigest()
    json.dumps(s.to_dict())


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("{not json", "invalid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"answers": ["x"]}', "'question' must be a non-empty string"),
        ('{"question": "Q?"}', "'answers' must be a list of strings"),
        ('{"question": "Q?", "answers": "x"}', "'answers' must be a list of strings"),
        ('{"question": "Q?", "answers": [], "answerable": "no"}', "'answerable' must be"),
        (
            '{"question": "Q?", "answers": [], "history": [{"role": "bot", "content": "x"}]}',
            r"history\[0\] must be",
        ),
        (
            '{"question": "Q?", "answers": [], "articles": ["missing.txt"]}',
            "article file 'missing.txt' not found",
        ),
        ('{"question": "Q?", "answer": ["x"]}', r"unknown keys \['answer'\]; valid keys are"),
        ('{"id": "one", "question": "Q?", "answers": []}', "duplicate id 'one'"),
    ],
)
def test_load_jsonl_bad_line_names_file_and_line(
    tmp_path: Path, bad_line: str, message: str
) -> None:
    path = tmp_path / "qs.jsonl"
    good = json.dumps({"id": "one", "question": "Fine?", "answers": ["yes"]})
    path.write_text(f"{good}\n\n{bad_line}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=message) as info:
        load_jsonl(path)
    assert f"{path}, line 3" in str(info.value)


# --- news-qa -------------------------------------------------------------------------------


def test_newsqa_reads_the_shared_files() -> None:
    folder = _need(NEWSQA)
    s = load_newsqa(folder)
    raw = [json.loads(x) for x in (folder / "questions.jsonl").read_text("utf-8").splitlines()]
    files = sorted((folder / "articles").glob("*.json"))
    assert s.name == "news-qa" and len(s.articles) == 16 and len(s.questions) == len(raw) == 96
    h = hashlib.sha256(b"".join(p.read_bytes() for p in [folder / "questions.jsonl", *files]))
    assert s.sha256 == h.hexdigest()
    first = json.loads(files[0].read_text("utf-8"))
    a = s.articles[0]
    assert a.id == f"newsqa-{files[0].stem}"
    assert (a.title, a.text, a.source, a.author, a.date, a.url) == tuple(
        first[k] for k in ("title", "text", "source", "author", "date", "url")
    )
    texts = {x.id: x.text for x in s.articles}
    for q, row in zip(s.questions, raw, strict=True):
        assert (q.id, q.question, q.answers, q.category) == (
            row["id"],
            row["question"],
            row["answers"],
            row["type"],
        )
        assert q.article_id == f"newsqa-{row['article']}"
        assert q.answerable == (row["type"] != "unanswerable")
        if q.answerable:
            assert q.evidence and q.evidence in texts[q.article_id], q.id  # verbatim
    assert sum(not q.answerable for q in s.questions) == 16
    per_article = {aid: [q for q in s.questions if q.article_id == aid] for aid in texts}
    assert all(
        len(qs) == 6 and sum(not q.answerable for q in qs) == 1 for qs in per_article.values()
    )
    assert load_newsqa(folder / "questions.jsonl").questions == s.questions  # the file works too


def _newsqa_folder(tmp_path: Path, rows: list[dict[str, object]]) -> Path:
    (tmp_path / "articles").mkdir()
    article = {
        "title": "T",
        "text": "Her term ends in 2024. It rained.",
        "url": "u",
        "author": "",
        "date": "2024-01-01",
        "source": "CNN",
    }
    (tmp_path / "articles" / "01-a.json").write_text(json.dumps(article), encoding="utf-8")
    _write_jsonl(tmp_path / "questions.jsonl", rows)
    return tmp_path


def test_newsqa_synthetic_folder(tmp_path: Path) -> None:
    rows = [
        {
            "id": "q1",
            "article": "01-a",
            "question": "When?",
            "answers": ["2024"],
            "evidence": "ends in 2024",
            "type": "date",
        },
        {
            "id": "q2",
            "article": "01-a",
            "question": "Who?",
            "answers": [],
            "evidence": "",
            "type": "unanswerable",
        },
    ]
    s = load_newsqa(_newsqa_folder(tmp_path, rows))
    assert [a.id for a in s.articles] == ["newsqa-01-a"]
    q1, q2 = s.questions
    assert q1.answerable and q1.category == "date" and q1.article_id == "newsqa-01-a"
    assert not q2.answerable and q2.category == "unanswerable" and q2.article_id == "newsqa-01-a"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"article": "02-missing"}, "article '02-missing' not found"),
        ({"answers": []}, "type 'date' with answers []"),
        ({"answers": "2024"}, "'answers' as a list of strings"),
        ({"colour": "red"}, "unknown keys ['colour']"),
    ],
)
def test_newsqa_bad_line_names_file_and_line(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    good = {
        "id": "q1",
        "article": "01-a",
        "question": "When?",
        "answers": ["2024"],
        "evidence": "ends in 2024",
        "type": "date",
    }
    folder = _newsqa_folder(tmp_path, [good, {**good, "id": "q2", **change}])
    with pytest.raises(ValueError, match="line 2") as e:
        load_newsqa(folder)
    assert message in str(e.value)


def test_newsqa_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="questions.jsonl"):
        load_newsqa(tmp_path)


# --- bbc-qa --------------------------------------------------------------------------------


def test_bbcqa_reads_only_the_dev_articles_as_load_bbc_does() -> None:
    from eval.splits import bbc_split

    folder = _need(BBCQA)
    bbc = {a.id: a for a in load_bbc(_need(BBC))}
    raw = [json.loads(x) for x in (folder / "questions.jsonl").read_text("utf-8").splitlines()]
    dev = load_bbcqa(folder)
    assert dev.name == "bbc-qa-dev" and dev.articles and dev.questions
    dev_paths = sorted({r["article"] for r in raw if bbc_split(r["article"]) == "dev"})
    # only dev articles, every one of them, named and read exactly as load_bbc names and
    # reads them (same id, headline and text), in load_bbc's order
    assert [a.id for a in dev.articles] == [
        "bbc-" + p.replace("/", "-").removesuffix(".txt") for p in dev_paths
    ]
    assert all(a == bbc[a.id] for a in dev.articles)
    assert [a.id for a in dev.articles] == [i for i in bbc if i in {a.id for a in dev.articles}]
    dev_rows = [r for r in raw if bbc_split(r["article"]) == "dev"]
    texts = {a.id: a.text for a in dev.articles}
    for q, row in zip(dev.questions, dev_rows, strict=True):
        assert (q.id, q.question, q.answers, q.evidence, q.category) == (
            row["id"],
            row["question"],
            row["answers"],
            row["evidence"],
            row["type"],
        )
        assert q.article_id == "bbc-" + row["article"].replace("/", "-").removesuffix(".txt")
        assert q.answerable == bool(row["answers"]) == (row["type"] != "unanswerable")
        if q.answerable:
            assert q.evidence and q.evidence in texts[q.article_id], q.id  # verbatim
    assert sum(not q.answerable for q in dev.questions) == len(dev.articles)  # 1 per article
    h = hashlib.sha256(
        b"".join(
            p.read_bytes() for p in [folder / "questions.jsonl", *(BBC / d for d in dev_paths)]
        )
    )
    assert dev.sha256 == h.hexdigest()
    train, every = load_bbcqa(folder, "train"), load_bbcqa(folder / "questions.jsonl", "all")
    assert {a.id for a in train.articles}.isdisjoint(texts)
    assert len(every.questions) == len(raw) == len(dev.questions) + len(train.questions)
    assert {a.id for a in every.articles} == {a.id for a in dev.articles + train.articles}
    assert every.name == "bbc-qa"


def _bbcqa_folder(tmp_path: Path, rows: list[dict[str, object]]) -> Path:
    for name in ("business/005.txt", "business/006.txt"):  # bbc_split: dev, train
        (tmp_path / "bbc-news" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "bbc-news" / name).write_text(
            f"Headline {name}\n\nHer term ends in 2024. It rained.\n", encoding="utf-8"
        )
    (tmp_path / "bbc-qa").mkdir()
    _write_jsonl(tmp_path / "bbc-qa" / "questions.jsonl", rows)
    return tmp_path / "bbc-qa"


_BBCQA_ROW = {
    "id": "q1",
    "article": "business/005.txt",
    "question": "When?",
    "answers": ["2024"],
    "evidence": "ends in 2024",
    "type": "date",
}


def test_bbcqa_synthetic_folder_keeps_one_split(tmp_path: Path) -> None:
    rows = [
        _BBCQA_ROW,
        {**_BBCQA_ROW, "id": "q2", "answers": [], "evidence": "", "type": "unanswerable"},
        {**_BBCQA_ROW, "id": "q3", "article": "business/006.txt"},
    ]
    folder = _bbcqa_folder(tmp_path, rows)
    dev = load_bbcqa(folder)
    assert [a.id for a in dev.articles] == ["bbc-business-005"]
    assert dev.articles[0] == load_bbc(tmp_path / "bbc-news")[0]
    assert dev.articles[0].title == "Headline business/005.txt"
    q1, q2 = dev.questions
    assert q1.answerable and q1.category == "date" and q1.article_id == "bbc-business-005"
    assert not q2.answerable and q2.category == "unanswerable"
    assert [q.id for q in load_bbcqa(folder, "train").questions] == ["q3"]
    assert [a.id for a in load_bbcqa(folder, "all").articles] == [
        "bbc-business-005",
        "bbc-business-006",
    ]
    with pytest.raises(ValueError, match="dev, train, all"):
        load_bbcqa(folder, "heldout")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"article": "business/099.txt"}, "article 'business/099.txt' not found"),
        ({"article": "../bbc-news/business/005.txt"}, "not found"),
        ({"answers": []}, "type 'date' with answers []"),
        ({"colour": "red"}, "unknown keys ['colour']"),
        ({"id": "q1"}, "duplicate id 'q1'"),
    ],
)
def test_bbcqa_bad_line_names_file_and_line(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    folder = _bbcqa_folder(tmp_path, [_BBCQA_ROW, {**_BBCQA_ROW, "id": "q2", **change}])
    with pytest.raises(ValueError, match="line 2") as e:
        load_bbcqa(folder, "all")
    assert message in str(e.value)


def test_bbcqa_missing_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="questions.jsonl"):
        load_bbcqa(tmp_path)
    _write_jsonl(tmp_path / "questions.jsonl", [_BBCQA_ROW])
    with pytest.raises(FileNotFoundError, match="bbc-news"):
        load_bbcqa(tmp_path)


# --- the SQuAD splits ----------------------------------------------------------------------


def test_squad_split_selects_articles_by_file_position() -> None:
    arts = [EvalArticle(id=f"a{i}", title="", text="t") for i in range(24)]
    qs = [
        EvalQuestion(id=f"q{i}", question="?", answers=["t"], article_id=f"a{i % 24}")
        for i in range(48)
    ]
    s = EvalSet("squad-x", arts, qs, Path("x.json"), "0")
    held = select_squad_split(s, "heldout")
    assert [a.id for a in held.articles] == ["a3", "a7", "a11", "a15", "a19", "a23"]
    assert held.name == "squad-x-heldout"
    assert sorted(q.id for q in held.questions) == sorted(
        f"q{i}" for i in range(48) if i % 24 in (3, 7, 11, 15, 19, 23)
    )
    assert [a.id for a in select_squad_split(s, "dev").articles] == ["a1", "a9", "a17"]
    train = select_squad_split(s, "train")
    assert len(train.articles) == 15
    assert {a.id for a in train.articles}.isdisjoint({"a1", "a3", "a9", "a17", "a23"})
    assert select_squad_split(s, "all") is s
    with pytest.raises(ValueError, match="heldout"):
        select_squad_split(s, "test")


def test_squad_heldout_split_of_the_real_file(squad: EvalSet) -> None:
    held = select_squad_split(squad, "heldout")
    assert [a.title for a in held.articles] == [squad.articles[i].title for i in range(3, 24, 4)]
    assert held.questions and all(
        q.article_id in {a.id for a in held.articles} for q in held.questions
    )


# --- values and sampling -------------------------------------------------------------------


def test_values_are_frozen_with_to_dict() -> None:
    q = EvalQuestion(id="q", question="Q?", answers=["a"])
    assert q.to_dict()["answer_starts"] == []
    with pytest.raises(AttributeError):
        q.id = "other"  # type: ignore[misc]
    a = EvalArticle(id="x", title="T", text="body")
    assert a.to_dict() == {
        "id": "x",
        "title": "T",
        "text": "body",
        "source": "",
        "author": "",
        "date": "",
        "url": "",
    }


def test_sample_questions_is_seeded_and_keeps_order() -> None:
    items = list(range(100))
    first = sample_questions(items, 10, seed=3)
    assert first == sample_questions(items, 10, seed=3)
    assert first == sorted(first) and len(set(first)) == 10
    assert first != sample_questions(items, 10, seed=4)
    assert sample_questions(items, None, seed=3) == items
    assert sample_questions(items, 500, seed=3) == items
    assert sample_questions(items, 0, seed=3) == []
    with pytest.raises(ValueError, match="limit must be >= 0"):
        sample_questions(items, -1, seed=0)


# --- the team's own BBC training questions (eval/data/bbc-qa-extra.jsonl) ----------------


def test_bbc_training_questions_we_wrote_pass_their_checks() -> None:
    """Every evidence span verbatim in its article, an accepted answer in its sentence, six
    questions an article (one unanswerable, two paraphrases), no bbc-qa or distractor
    article: the checks ``python -m eval.check_questions`` runs."""
    from eval.check_questions import DEFAULT_FILE, check

    _need(BBC)
    rows = [json.loads(x) for x in DEFAULT_FILE.read_text("utf-8").splitlines() if x.strip()]
    assert len(rows) >= 600 and len(rows) % 6 == 0
    assert check(DEFAULT_FILE) == []


def test_question_checker_names_the_line_of_each_fault(tmp_path: Path) -> None:
    from eval.check_questions import DEFAULT_FILE, check

    _need(BBC)
    rows = [json.loads(x) for x in DEFAULT_FILE.read_text("utf-8").splitlines()[:6]]
    article = rows[0]["article"]
    answerable = [i for i, r in enumerate(rows) if r["evidence"]]
    bad = [dict(r) for r in rows]
    bad[answerable[0]]["evidence"] = bad[answerable[0]]["evidence"] + " not in the text"
    bad[answerable[1]]["answers"] = ["an answer the article never gives"]
    bad.append({**bad[0], "id": "dup"} | {"article": "business/004.txt"})  # a bbc-qa article
    path = tmp_path / "q.jsonl"
    _write_jsonl(path, bad)
    errors = check(path)
    assert f"q.jsonl:{answerable[0] + 1}: evidence not verbatim in {article}" in errors
    assert any(e.startswith(f"q.jsonl:{answerable[1] + 1}: no accepted answer") for e in errors)
    assert any("q.jsonl:7: business/004.txt is (a copy of) a bbc-qa article" in e for e in errors)
    assert any(e.startswith(f"{article}: ") for e in errors) is False  # still 6 for this one
    assert any(e.startswith("business/004.txt: 1 questions") for e in errors)


def test_question_checker_finds_a_copy_of_an_article_asked_about_above(tmp_path: Path) -> None:
    """BBC News holds some articles twice under two names: questions over both would put
    one article in both splits."""
    from eval.check_questions import DEFAULT_FILE, check

    _need(BBC)
    rows = [json.loads(x) for x in DEFAULT_FILE.read_text("utf-8").splitlines()]
    asked = {r["article"] for r in rows}
    by_text: dict[bytes, list[str]] = {}
    for p in sorted(BBC.rglob("*.txt")):
        by_text.setdefault(p.read_bytes(), []).append(p.relative_to(BBC).as_posix())
    original, copy = next(
        names[:2] for names in by_text.values() if len(names) > 1 and names[0] in asked
    )
    six = [r for r in rows if r["article"] == original]
    again = [dict(r, id=f"copy-{i}", article=copy) for i, r in enumerate(six)]
    path = tmp_path / "q.jsonl"
    _write_jsonl(path, six + again)
    assert check(path) == [f"q.jsonl:7: {copy} is a copy of {original}, asked about above"]


def test_distractors_leave_out_a_story_told_twice_under_another_headline(
    bbc: list[EvalArticle],
) -> None:
    """A distractor that retells an article asked about (most of its paragraphs, another
    headline, a paragraph more) would take that article's citations: it is never drawn."""
    from eval.calibrate import bbc_distractors

    asked = [a for a in bbc[:20] if a.text.count("\n\n") >= 3]
    retold = [
        EvalArticle(
            id=f"retold-{a.id}",
            title=f"Another headline for {a.title}",
            text=a.text + "\n\nA paragraph that only the second telling of the story has.",
        )
        for a in asked
    ]
    others = bbc[100:160]
    drawn = {a.id for a in bbc_distractors(others + retold, asked, len(others), seed=1)}
    assert drawn == {a.id for a in others}


def test_question_checker_finds_a_copy_of_a_distractor_article(tmp_path: Path) -> None:
    """An article asked about that is a copy, under another name, of one of the articles
    the seed set is measured among would be a training question over a measuring corpus."""
    from eval.check_questions import DEFAULT_FILE, DISTRACTORS, check

    _need(BBC)
    files = sorted(BBC.rglob("*.txt"))  # load_bbc's order: topic, then file name
    by_text: dict[bytes, list[str]] = {}
    for p in files:
        by_text.setdefault(p.read_bytes(), []).append(p.relative_to(BBC).as_posix())
    in_first = {p.relative_to(BBC).as_posix() for p in files[:DISTRACTORS]}
    copy = next(n[1] for n in by_text.values() if len(n) > 1 and n[0] in in_first)
    rows = [json.loads(x) for x in DEFAULT_FILE.read_text("utf-8").splitlines()[:6]]
    path = tmp_path / "q.jsonl"
    _write_jsonl(path, [dict(r, article=copy) for r in rows])
    errors = check(path)
    assert f"q.jsonl:1: {copy} is (a copy of) one of the {DISTRACTORS} distractor articles" in (
        errors
    )
