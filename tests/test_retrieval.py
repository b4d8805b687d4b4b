"""Stage 5: hybrid retrieval, acronym bridging, follow-ups, filters, diversity."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from qa.acronyms import AcronymTable
from qa.errors import BadInputError
from qa.followup import rewrite_followup
from qa.index import ArticleIndex
from qa.retrieval import Filters, search
from tests.conftest import SEED_QUESTION, SEED_SENTENCE


@pytest.fixture(scope="module")
def mixed_index(tmp_path_factory, model, seed_article, bbc_articles):
    """The seed article among thirty BBC distractors."""
    path = tmp_path_factory.mktemp("mixed")
    idx = ArticleIndex.create(path, model_id=model.model_id, dimension=model.dimension)
    idx.add([seed_article, *bbc_articles], model)
    return idx


def test_acronym_table_mines_initials_and_definitions():
    t = AcronymTable.from_texts(
        [
            "The Syrian Democratic Forces, the Kurdish-led militia, said so.",
            "The Islamic State of Iraq and the Levant (ISIL) lost ground.",
        ]
    )
    q, used = t.expand("How long does the SDF expect the fight to last?")
    assert "Syrian Democratic Forces" in q and used[0].found == "SDF"
    assert t.expansions_of("ISIL")[0] == "Islamic State of Iraq and the Levant"
    # the corpus writes the long form itself, so a question using it needs no bridge
    q2, used2 = t.expand("Where is the Islamic State of Iraq and the Levant?")
    assert "(ISIL)" not in q2 and not used2


def test_long_names_are_bridged_only_to_acronyms_the_corpus_writes_alone():
    t = AcronymTable.from_texts(
        [
            "ISIL fighters retreated from the town on Monday.",
            "During the Broncos' season, Peyton Manning threw for 4,000 yards (PM says).",
        ]
    )
    q, used = t.expand("Where is the Islamic State of Iraq and the Levant?")
    assert "(ISIL)" in q and used[0].kind == "initials"
    # a name the corpus writes, a possessive of it, or an opening word is not bridged
    q2, used2 = t.expand("During the Broncos' season, what was Peyton Manning's rating?")
    assert not used2 and q2.endswith("rating?")
    # an acronym the corpus writes is searched as it is
    assert t.expand("Where did ISIL retreat?")[1] == []


def test_sdf_finds_the_syrian_democratic_forces_among_distractors(mixed_index, model, seed_article):
    r = search(mixed_index, model, SEED_QUESTION, k=3)
    assert r.expansions and r.expansions[0].added == "Syrian Democratic Forces"
    top = r.passages[0]
    assert top.article_id == seed_article.id
    assert SEED_SENTENCE in top.text
    assert seed_article.text[top.start : top.end] == top.text


def test_modes_and_bad_input(mixed_index, model):
    for mode in ("bm25", "dense", "hybrid"):
        r = search(mixed_index, model, "Kurdish-led militia fighting Islamic State", k=5, mode=mode)
        assert len(r.passages) == 5
        assert r.passages[0].title.startswith("LAST ISIL OUTPOST"), mode
    with pytest.raises(BadInputError, match="empty"):
        search(mixed_index, model, "   ")
    with pytest.raises(BadInputError, match="k must be"):
        search(mixed_index, model, "question", k=0)


def test_filter_by_source_and_article(mixed_index, model, seed_article):
    r = search(mixed_index, model, SEED_QUESTION, k=5, filters=Filters(sources=("bbc",)))
    assert r.passages == [] or all(p.source.lower() == "bbc" for p in r.passages)
    r = search(mixed_index, model, SEED_QUESTION, k=5, filters=Filters(sources=("National Post",)))
    assert r.passages and all(p.source == "National Post" for p in r.passages)
    other = next(a for a in mixed_index.articles if a.id != seed_article.id)
    r = search(mixed_index, model, SEED_QUESTION, k=3, filters=Filters(article_ids=(other.id,)))
    assert r.passages and {p.article_id for p in r.passages} == {other.id}


def test_diversity_cap_lets_comparable_articles_in_but_keeps_clearly_better_passages():
    from types import SimpleNamespace

    from qa.retrieval import DIVERSITY_MARGIN, _diversify

    # rows 0-3 are chunks of article 0, row 4 of article 1, row 5 of article 2
    index = SimpleNamespace(chunk_article=np.array([0, 0, 0, 0, 1, 2]))
    rows = np.arange(6)
    close = np.array([0.90, 0.89, 0.88, 0.87, 0.88 - DIVERSITY_MARGIN / 2, 0.10])
    # after two chunks of article 0, article 1's comparable chunk comes before a third
    assert _diversify(rows, close, index, 4, 2) == [0, 1, 4, 2]
    far = np.array([0.90, 0.89, 0.88, 0.87, 0.88 - 3 * DIVERSITY_MARGIN, 0.10])
    # a much weaker chunk of another article does not push out a better one
    assert _diversify(rows, far, index, 4, 2) == [0, 1, 2, 3]
    assert _diversify(rows, close, index, 4, 0) == [0, 1, 2, 3]  # no cap: score order


def test_per_article_cap_off_keeps_every_chunk_of_the_best_article(
    mixed_index, model, seed_article
):
    r = search(mixed_index, model, "Islamic State Syria Idlib civilians", k=6, max_per_article=0)
    assert sum(p.article_id == seed_article.id for p in r.passages) >= 3


def test_followup_carries_entities():
    history = [
        {"role": "user", "content": "Who is the chairman of Time Warner?"},
        {
            "role": "assistant",
            "content": "Richard Parsons [1]\n\nRichard Parsons, "
            "chairman of Time Warner, said... [1]",
        },
    ]
    q = rewrite_followup("What did he say about 2005?", history)
    assert "Richard Parsons" in q and "Time Warner" in q
    assert (
        rewrite_followup("What did Tony Blair say about Iraq?", history)
        == "What did Tony Blair say about Iraq?"
    )


def test_followup_retrieval_time_warner(tmp_path: Path, model):
    from qa.articles import make_article

    tw = make_article(
        "Time Warner said on Friday that it now owns 100% of AOL Europe. Richard "
        "Parsons, chairman of Time Warner, said 2005 would be a year of solid "
        "growth for the company.",
        title="Time Warner profits",
        source="BBC",
    )
    other = make_article(
        "The chairman of the football club said 2005 was a bad year for the "
        "team, which lost eleven matches.",
        title="Club woes",
        source="BBC",
    )
    idx = ArticleIndex.create(tmp_path, model_id=model.model_id, dimension=model.dimension)
    idx.add([tw, other], model)
    history = [
        {"role": "user", "content": "Who is the chairman of Time Warner?"},
        {"role": "assistant", "content": "Richard Parsons [1]"},
    ]
    r = search(idx, model, "What did he say about 2005?", k=1, history=history)
    assert "Richard Parsons" in r.query
    assert r.passages[0].article_id == tw.id


def test_bm25_and_faiss_stay_in_step_after_ingest_and_delete(
    tmp_path: Path, model, seed_index_dir, bbc_articles
):
    path = tmp_path / "idx"
    shutil.copytree(seed_index_dir, path)
    idx = ArticleIndex.load(path)
    target = bbc_articles[5]
    idx.add([target], model)
    words = " ".join(target.text.split()[5:15])
    for mode in ("bm25", "dense"):
        r = search(idx, model, words, k=1, mode=mode)
        assert r.passages[0].article_id == target.id, mode
    idx.delete([target.id])
    for mode in ("bm25", "dense"):
        r = search(idx, model, words, k=3, mode=mode)
        assert all(p.article_id != target.id for p in r.passages)


def test_dates_in_filters_must_be_iso():
    with pytest.raises(BadInputError, match="date_from must be a date written YYYY-MM-DD"):
        Filters(date_from="11/09/2018")
    assert Filters(date_from="2018-09-11").active()


def test_this_article_with_distractors_names_the_article_or_follows_the_scope(
    mixed_index, model, seed_article
):
    from qa.answer import answer_extractive

    q = "Which newspaper ran this story?"
    scoped = answer_extractive(
        q,
        search(mixed_index, model, q, filters=Filters(article_ids=(seed_article.id,))),
        mixed_index,
    )
    assert scoped.short == "National Post" and scoped.text.startswith("The article ran in")
    q = "What is the headline of this article?"
    open_q = answer_extractive(q, search(mixed_index, model, q), mixed_index)
    assert open_q.text.startswith("The best-matching article, “")
    assert any("Ask about" in n for n in open_q.notes)


def test_a_fact_no_article_gives_is_abstained_on_among_distractors(mixed_index, model):
    """Distractor articles that share some of the question's words ("Islamic banking", "the
    State bank") do not answer a question about Hajin."""
    from qa.answer import answer_extractive

    q = "How many fighters does the Islamic State still have in Hajin?"
    a = answer_extractive(q, search(mixed_index, model, q), mixed_index)
    assert a.abstained and not a.citations


def test_word_cover_counts_the_share_of_the_question_a_sentence_holds(mixed_index, model):
    from qa.lexical import query_terms
    from qa.retrieval import _word_cover

    q = "Which militia is Kurdish-led and fights the Islamic State in Syria?"
    texts = [mixed_index.sentence_text(i) for i in range(len(mixed_index.sentences))]
    rows = np.arange(len(texts))
    cover = _word_cover(mixed_index, query_terms(q), rows)
    best = texts[int(np.argmax(cover))]
    assert "Kurdish-led militia" in best
    assert cover.max() == pytest.approx(1.0)  # every word of the question is there
    # sentences holding no word of the question (nor their headline, indexed with them)
    # cover none of it, the others some
    from qa.lexical import terms

    qt = set(query_terms(q))
    heads = [mixed_index.articles[int(a)].title for a, _, _ in mixed_index.sentences]
    none = [i for i, t in enumerate(texts) if not qt & set(terms(f"{heads[i]} {t}"))]
    assert none and not cover[none].any()
    assert (cover[[i for i in rows if i not in set(none)]] > 0).all()
    # a word said twice counts once: cover is a share of the question, not a sum
    twice = _word_cover(mixed_index, query_terms(q) + query_terms(q), rows)
    assert np.allclose(twice, cover)
    r = search(mixed_index, model, q, k=3)
    assert r.passages[0].signals["cover_sentence"] == pytest.approx(1.0)
