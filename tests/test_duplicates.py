"""Near-duplicate copies: grouped at ingest (MinHash LSH), cited once with "also in", undone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import SEED, SEED_QUESTION

from qa.articles import make_article, read_file
from qa.duplicates import JACCARD, find_copies, group_copies, shingles
from qa.engine import QA
from qa.settings import Settings

COPY_URL = "https://citizen.example/world/hajin-offensive"


def _body(text: str) -> list[str]:
    return [p for p in text.split("\n\n")][3:-2]  # past the header, before the footer


@pytest.fixture(scope="module")
def seed():
    return read_file(SEED)[0]


@pytest.fixture(scope="module")
def syndicated(seed):
    """The seed story as another outlet ran it: its own intro and tail, the middle the same."""
    paras = _body(seed.text)
    text = "\n\n".join(
        [
            "Ottawa Citizen",
            "U.S.-backed forces launch final push on Islamic State's last Syrian enclave",
            "By Rukmini Callimachi, The New York Times",
            "BEIRUT — Kurdish-led fighters opened a long-awaited offensive this week on the "
            "last patch of ground the Islamic State holds in eastern Syria.",
            *paras[1:-2],
            "The New York Times News Service contributed to this report. Copyright 2018 The "
            "New York Times Company. Distributed by Postmedia Network. All rights reserved.",
        ]
    )
    return make_article(
        text, title="Final push on Islamic State enclave", source="Ottawa Citizen", url=COPY_URL
    )


@pytest.fixture(scope="module")
def other():
    return read_file(Path(__file__).parent / "data" / "airline.txt")[0]


def test_copy_with_other_intro_and_tail_is_found(seed, syndicated, other):
    a, b = shingles(seed.text), shingles(syndicated.text)
    jaccard = len(a & b) / len(a | b)
    assert JACCARD <= jaccard < 0.9  # really a near-duplicate, not an exact one
    found = find_copies([syndicated, other], [seed])
    assert [x.id for x in found.unique] == [other.id]
    (copy,) = found.copies
    assert copy.of == seed.id and copy.article is syndicated
    assert copy.similarity == pytest.approx(jaccard)
    # within one batch the first is kept; an article is never a copy of itself
    assert [c.of for c in find_copies([seed, syndicated], []).copies] == [seed.id]
    assert find_copies([seed], [seed]).copies == []
    # a pair kept apart is not grouped
    assert find_copies([syndicated], [seed], apart=[(seed.id, syndicated.id)]).copies == []
    assert group_copies([seed, other, syndicated]) == {
        seed.id: find_copies([syndicated], [seed]).copies
    }


def test_short_or_different_texts_are_not_grouped():
    a = make_article(
        "Rain is expected on Monday in the north of the county.", url="https://a.example/1"
    )
    b = make_article(
        "Rain is expected on Monday in the north of the county.", url="https://b.example/1"
    )
    assert find_copies([b], [a]).copies == []  # too short to tell
    words = [f"w{i}" for i in range(400)]
    c = make_article(" ".join(words), url="https://c.example/1")
    d = make_article(
        " ".join(words[:150] + [f"x{i}" for i in range(250)]), url="https://d.example/1"
    )
    assert find_copies([d], [c]).copies == []  # a shared opening is not one story


def test_engine_keeps_one_copy_and_cites_the_others(
    tmp_path: Path, seed, syndicated, other, capsys
):
    records = tmp_path / "wire.jsonl"
    records.write_text(
        "\n".join(
            json.dumps({"text": a.text, "title": a.title, "source": a.source, "url": a.url})
            for a in (syndicated,)
        )
    )
    index = tmp_path / "index"
    engine = QA(Settings(data_dir=tmp_path, index_dir=index))
    first = engine.ingest([SEED, Path(__file__).parent / "data" / "airline.txt"])
    assert len(first.report.added) == 2
    second = engine.ingest([records])
    assert second.report.added == [] and len(second.report.copies) == 1
    copy_id = second.report.copies[0]
    assert len(engine.index.articles) == 2  # the copy is not indexed
    answer = engine.ask(SEED_QUESTION)
    assert {c.article_id for c in answer.citations} == {seed.id}
    (ref,) = answer.citations[0].also_in
    assert (ref.article_id, ref.source, ref.url) == (copy_id, "Ottawa Citizen", COPY_URL)
    assert answer.to_dict()["citations"][0]["also_in"][0]["url"] == COPY_URL
    # the same copy again: still the one copy, and nothing is written
    generation = engine.index.manifest["generation"]
    again = engine.ingest([records])
    assert again.report.copies == [copy_id] and again.report.unchanged == []
    assert len(engine.index.copies) == 1 and engine.index.manifest["generation"] == generation
    (group,) = engine.duplicate_groups()
    assert group.article.id == seed.id and [c.article.id for c in group.copies] == [copy_id]

    from qa.cli import main

    assert main(["ask", SEED_QUESTION, "--index", str(index)]) == 0
    assert f"    also in: Ottawa Citizen, {COPY_URL}" in capsys.readouterr().out
    assert main(["ingest", str(SEED), str(records), "--index", str(tmp_path / "two")]) == 0
    assert capsys.readouterr().out.startswith(
        "1 added, 0 updated, 0 unchanged, 1 near-duplicate copy kept with the articles they "
        "copy (see `qa duplicates`)"
    )
    assert main(["duplicates", "--index", str(index)]) == 0
    out = capsys.readouterr().out
    assert f"copy {copy_id}  Ottawa Citizen" in out and "1 story with near-duplicate" in out

    # undo: the copy becomes an article of its own and is never grouped with it again
    assert main(["duplicates", "--separate", copy_id, "--index", str(index)]) == 0
    assert "0 stories with near-duplicate copies" in capsys.readouterr().out
    engine.reload()
    assert copy_id in engine.index.article_row and engine.duplicate_groups() == []
    assert engine.ingest([records]).report.copies == []
    with pytest.raises(Exception, match="no near-duplicate copy with id 'nope'"):
        engine.separate("nope")


def test_deleting_the_cited_article_deletes_its_copies(tmp_path: Path, seed, syndicated):
    engine = QA(Settings(data_dir=tmp_path, index_dir=tmp_path / "index"))
    report = engine.add_articles([seed, syndicated])
    assert report.added == [seed.id] and report.copies == [syndicated.id]
    assert engine.delete([syndicated.id]) == [syndicated.id]  # a copy by its id
    assert engine.duplicate_groups() == []
    engine.add_articles([syndicated])
    assert engine.delete([seed.id]) == [seed.id]
    engine.reload()
    assert engine.index.copies == [] and engine.index.articles == []


def test_index_without_copies_file_still_loads(tmp_path: Path, model):
    """A format-2 index written before copies existed (no copies.json) converts with none."""
    from qa.index import ArticleIndex

    path = tmp_path / "old"
    shutil.copytree(Path(__file__).parent / "data" / "legacy-format2", path)
    gen = path / (path / "CURRENT").read_text().strip()
    (gen / "copies.json").unlink()  # as an index written before copies existed
    manifest = json.loads((gen / "manifest.json").read_text())
    del manifest["files"]["copies.json"]
    (gen / "manifest.json").write_text(json.dumps(manifest))
    idx = ArticleIndex.load(path, model_id=model.model_id)
    assert idx.copies == [] and len(idx.articles) == manifest["counts"]["articles"]


def test_a_fuller_version_takes_the_place_of_a_cut_down_one(tmp_path: Path, seed, syndicated):
    paras = seed.text.split("\n\n")
    short = make_article(
        "\n\n".join(paras[:7]), title="Hajin attack", source="Metro", url="https://metro.example/1"
    )
    found = find_copies([seed], [short])
    assert [a.id for a in found.unique] == [seed.id]
    (demoted,) = found.copies
    assert demoted.article is short and demoted.of == seed.id and demoted.containment >= 0.8

    engine = QA(Settings(data_dir=tmp_path, index_dir=tmp_path / "index"))
    engine.add_articles([short])
    report = engine.add_articles([seed, syndicated])
    assert report.added == [seed.id] and sorted(report.copies) == sorted([short.id, syndicated.id])
    assert [a.id for a in engine.index.articles] == [seed.id]
    (group,) = engine.duplicate_groups()
    assert sorted(c.article.id for c in group.copies) == sorted([short.id, syndicated.id])
    answer = engine.ask(SEED_QUESTION)
    assert {c.article_id for c in answer.citations} == {seed.id}
