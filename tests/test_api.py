"""The public Python API: qa.retrieve, qa.ask, settings, result types."""

from __future__ import annotations

import json
import shutil

import pytest

import qa
from qa.errors import BadInputError
from tests.conftest import SEED_QUESTION, SEED_SENTENCE


@pytest.fixture()
def env_index(seed_index_dir, tmp_path, monkeypatch):
    path = tmp_path / "index"
    shutil.copytree(seed_index_dir, path)
    monkeypatch.setenv("QA_INDEX", str(path))
    return path


def test_retrieve_returns_passages_with_offsets(env_index, seed_article):
    passages = qa.retrieve(SEED_QUESTION, k=2)
    assert 1 <= len(passages) <= 2
    p = passages[0]
    assert isinstance(p, qa.Passage)
    assert p.article_id == seed_article.id and p.source == "National Post"
    assert seed_article.text[p.start:p.end] == p.text
    assert SEED_SENTENCE in p.text
    assert passages == sorted(passages, key=lambda x: -x.score)


def test_ask_with_history_and_to_dict(env_index, seed_article):
    history = [{"role": "user", "content": "What is the Syrian Democratic Forces doing?"},
               {"role": "assistant", "content": "Launching an offensive on Hajin [1]"}]
    a = qa.ask("How long do they expect it to take?", history=history)
    assert isinstance(a, qa.Answer)
    assert a.short == "between two and three months"
    assert "Syrian Democratic Forces" in a.query
    d = json.loads(json.dumps(a.to_dict()))
    assert set(d) >= {"text", "citations", "passages", "abstained", "query", "short"}
    c = d["citations"][0]
    assert seed_article.text[c["start"]:c["end"]] == c["quote"]


def test_index_built_from_seeds_on_demand(tmp_path, monkeypatch):
    monkeypatch.setenv("QA_INDEX", str(tmp_path / "fresh"))
    a = qa.ask(SEED_QUESTION)
    assert a.short == "between two and three months"
    assert (tmp_path / "fresh" / "store.sqlite").is_file()


def test_bad_questions(env_index):
    with pytest.raises(BadInputError, match="empty"):
        qa.ask("   ")
    with pytest.raises(BadInputError, match="k must be between 1 and 100"):
        qa.retrieve("anything", k=500)
    long_q = "How long does the SDF expect the fight to last? " * 100
    a = qa.ask(long_q)
    assert any("characters long" in n for n in a.notes)


def test_settings_validate_and_read_env(monkeypatch):
    monkeypatch.setenv("QA_K", "7")
    monkeypatch.setenv("QA_RETRIEVAL", "bm25")
    s = qa.Settings.from_env()
    assert (s.k, s.retrieval) == (7, "bm25")
    monkeypatch.setenv("QA_K", "seven")
    with pytest.raises(BadInputError, match="QA_K"):
        qa.Settings.from_env()
    with pytest.raises(BadInputError, match="retrieval must be one of"):
        qa.Settings(retrieval="magic")  # type: ignore[arg-type]
