"""The FTS5 lexical store scores as bm25s: the same BM25 scores and the same top 10 as a
bm25s index built over the same live rows, after adds, a delete and a compaction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embeddings import EmbeddingModel
from qa.articles import make_article
from qa.index import ArticleIndex, chunk_terms, sentence_terms
from qa.lexical import BM25Index, query_terms

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "bbc-news"

QUERIES = [
    "What did the chancellor say about interest rates and the economy?",
    "Which film won the award at the ceremony?",
    "How many jobs will the company cut?",
    "Who won the match against Wales in the Six Nations?",
    # a repeated word counts twice in bm25s; an unknown word counts nowhere
    "mobile phone mobile phone zzqxunknownword",
    # Python's lower() writes a final sigma that FTS5's unicode61 folds to a plain sigma
    "ΟΞΥΣ debate",
]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, model: EmbeddingModel) -> ArticleIndex:
    """Fifty BBC articles (ten of each topic) and a Greek one, added in three batches."""
    from qa.articles import load_paths

    if not DATA.is_dir():
        pytest.skip(f"{DATA} not available")
    files = [
        f
        for topic in sorted(DATA.iterdir())
        if topic.is_dir()
        for f in sorted(topic.glob("*.txt"))[:10]
    ]
    articles = load_paths(files).articles
    greek = make_article(
        "Ο ΟΞΥΣ ΛΟΓΟΣ του υπουργού. The minister spoke about the ΟΞΥΣ debate on mobile "
        "phone charges.",
        title="Greek test",
    )
    path = tmp_path_factory.mktemp("lexical-index")
    idx = ArticleIndex.create(path, model_id=model.model_id, dimension=model.dimension)
    for part in (articles[:20], articles[20:], [greek]):
        idx.add(part, model)
    return idx


def _reference(idx: ArticleIndex) -> tuple[np.ndarray, BM25Index, np.ndarray, BM25Index]:
    """bm25s over the live chunk rows and the live sentence rows, with their rows."""
    c_rows = idx.alive_chunk_rows()
    c_texts, s_rows, s_texts = [], [], []
    for r in c_rows.tolist():
        a = idx.articles[int(idx.chunk_article[r])]
        c_texts.append(" ".join(chunk_terms(a, idx.chunks[r])))
    for arow in idx.article_rows():
        a = idx.articles[arow]
        for s in idx.article_sentence_rows(arow):
            _, st, en = idx.sentences[s]
            s_rows.append(s)
            s_texts.append(" ".join(sentence_terms(a, int(st), int(en))))
    return (
        c_rows,
        _build(c_texts),
        np.array(s_rows, dtype=np.int64),
        _build(s_texts),
    )


def _build(term_texts: list[str]) -> BM25Index:
    """bm25s as qa.lexical.BM25Index.build configured it (terms given, not re-tokenised)."""
    import bm25s

    model = bm25s.BM25(k1=1.2, b=0.75)
    model.index([t.split() or ["\x00empty"] for t in term_texts], show_progress=False)
    return BM25Index(model, len(term_texts))


def _check(idx: ArticleIndex) -> None:
    c_rows, c_ref, s_rows, s_ref = _reference(idx)
    for lex, rows, ref in ((idx.bm25_chunks, c_rows, c_ref), (idx.bm25_sentences, s_rows, s_ref)):
        assert lex.size == len(rows)
        for q in QUERIES:
            qt = query_terms(q)
            want = ref.scores(qt)
            got = lex.score_rows(qt, rows)
            np.testing.assert_allclose(got, want, atol=1e-4, err_msg=q)
            for t in set(qt):
                assert lex.knows(t) == ref.knows(t), (q, t)
                if ref.knows(t):
                    assert lex.idf(t) == pytest.approx(ref.idf(t), abs=1e-6), (q, t)
            # the same top 10: FTS5 finds the candidates, their exact scores order them
            cands = lex.top(qt, 100)
            assert set(cands.tolist()) <= set(rows.tolist())
            cand_scores = lex.score_rows(qt, cands)
            n = min(10, int((want > 0).sum()))
            if n == 0:
                assert not cand_scores.any(), q
                continue
            order = np.argsort(-want, kind="stable")
            got_order = np.argsort(-cand_scores, kind="stable")
            np.testing.assert_allclose(cand_scores[got_order[:n]], want[order[:n]], atol=1e-4)
            cut = want[order[n - 1]]  # rows tied at the 10th score may come in either order
            assert set(rows[want > cut + 1e-4].tolist()) <= set(cands[got_order[:n]].tolist()), q


def test_scores_match_bm25s_after_adds(index: ArticleIndex) -> None:
    assert index.bm25_chunks.knows("οξυς")  # the final sigma is found (stored as written)
    _check(index)


def test_scores_match_bm25s_after_delete_and_compact(index: ArticleIndex) -> None:
    gone = [index.articles[r].id for r in index.article_rows()[3:9]]
    assert index.delete(gone)
    _check(index)
    index.compact()
    _check(index)
    reopened = ArticleIndex.load(index.path)
    _check(reopened)
    reopened.close()
