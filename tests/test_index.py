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
