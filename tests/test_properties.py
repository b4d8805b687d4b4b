"""Property tests (hypothesis): offsets, verbatim citations and idempotent ingest.

* Sentences and chunks: for any text (unicode, quotes, abbreviations, very long words, odd
  whitespace) ``text[start:end]`` reproduces every sentence and chunk, and the chunks cover
  every non-space character.
* Citations: many random questions against a real index of the seed and a few BBC articles;
  every citation quotes its article exactly and its highlight lies inside the quote.
* Ingest: ingesting the same files twice leaves the index as it was (same ids and chunks,
  the generation not advanced, no file rewritten).
* Delete and add again: deleting any articles and adding them back gives the index it was
  (same articles, chunks, sentences, entities, each chunk's vector its own nearest), on new
  rows, never the old ones.
* Compaction: after any sequence of ingests and deletes, folding the exact (flat) segments
  into one changes no search result, vector or BM25.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from qa.chunking import chunk_article, get_tokenizer, split_sentences

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "national-post-hajin.txt"
BBC = ROOT.parent / "shared" / "data" / "bbc-news"
BBC_FILES = ["sport/199.txt", "business/001.txt", "tech/001.txt"]

FIGURES: Counter[str] = Counter()
# no example database in the repository; no deadline (the machine is shared and slow)
# (the autouse data-folder fixture in conftest.py is function-scoped; no test here uses it)
PROPS = settings(
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)

# ---- text strategies ------------------------------------------------------------------------

WORDS = [
    "the",
    "council",
    "said",
    "Tuesday",
    "militia",
    "forces",
    "Hajin",
    "café",
    "Zürich",
    "naïve",
    "東京",
    "Москва",
    "عربي",
    "🙂",
    "e\u0301",
    "\u200b",
    "x\u0000y",
    "ﬁnal",
]
ABBREVIATIONS = [
    "Col.",
    "Mr.",
    "Mrs.",
    "Dr.",
    "U.S.",
    "U.K.",
    "Sept.",
    "Jan.",
    "e.g.",
    "i.e.",
    "J.",
    "K.",
    "No.",
    "St.",
    "a.m.",
    "Inc.",
    "vs.",
    "etc.",
    "Ph.D.",
    "3.5",
    "1,000",
]
PUNCT = [".", "!", "?", "...", "…", ",", ";", ":", "—", "-", "(", ")", "[", "]"]
QUOTES = ['"', "'", "“", "”", "‘", "’", "«", "»"]
SPACES = [" ", " ", " ", "  ", "\n", "\n\n", "\n\n\n", "\t", "\r\n", "\u00a0", "\u2028", " \n "]

token = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(ABBREVIATIONS),
    st.sampled_from(PUNCT),
    st.sampled_from(QUOTES),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=12),
    st.from_regex(r"[A-Z][a-z]{0,12}", fullmatch=True),
    st.text(alphabet="abcdefghij", min_size=60, max_size=600),  # a very long "word"
)
texts = st.one_of(
    st.lists(st.tuples(token, st.sampled_from(SPACES)), max_size=120).map(
        lambda parts: "".join(t + s for t, s in parts)
    ),
    st.text(max_size=400),
)


def check_sentences(text: str) -> list:
    sents = split_sentences(text)
    prev_end = 0
    for s in sents:
        assert text[s.start : s.end] == s.text
        assert s.text and not s.text[0].isspace() and not s.text[-1].isspace()
        assert "\n" not in s.text
        assert s.start >= prev_end  # in order, no overlap
        assert text[prev_end : s.start].strip() == ""  # only whitespace between sentences
        prev_end = s.end
    assert text[prev_end:].strip() == ""
    return sents


@settings(PROPS, max_examples=200)
@given(text=texts)
def test_sentence_offsets_reproduce_the_text(text: str) -> None:
    FIGURES["sentence texts"] += 1
    FIGURES["sentences"] += len(check_sentences(text))


@settings(PROPS, max_examples=200)
@given(text=texts, max_tokens=st.integers(8, 80), overlap=st.integers(0, 3))
def test_chunk_offsets_reproduce_the_text(text: str, max_tokens: int, overlap: int) -> None:
    tok = get_tokenizer()
    chunks = chunk_article("art", text, max_tokens=max_tokens, overlap=overlap, tokenizer=tok)
    covered = [False] * len(text)
    for n, c in enumerate(chunks):
        assert c.id == f"art:{n}" and c.n == n and c.article_id == "art"
        assert text[c.start : c.end] == c.text and c.text
        assert c.sentences[0][0] == c.start and c.sentences[-1][1] == c.end
        for s, e in c.sentences:
            assert c.start <= s < e <= c.end
        # over budget only when one piece is a single word too long to cut
        assert c.tokens <= max_tokens or (len(c.sentences) == 1 and not re.search(r"\s", c.text))
        for i in range(c.start, c.end):
            covered[i] = True
    assert all(covered[i] or ch.isspace() for i, ch in enumerate(text))
    if chunks:
        assert [c.start for c in chunks] == sorted(c.start for c in chunks)
    FIGURES["chunk texts"] += 1
    FIGURES["chunks"] += len(chunks)


def test_sentence_splitting_knows_the_usual_traps() -> None:
    text = (
        'Col. Ryan met Mr. J. K. Smith of the U.S. Army at 9 a.m. on Sept. 3. "We will win," '
        "he said. Really?! Yes… The end"
    )
    got = [s.text for s in check_sentences(text)]
    assert got[0].startswith("Col. Ryan met Mr. J. K. Smith of the U.S. Army")
    assert got[-1] == "The end"


# ---- citations against a real index ------------------------------------------------------


@pytest.fixture(scope="module")
def qa_engine(tmp_path_factory: pytest.TempPathFactory):
    """A real index (bundled model, real FAISS and BM25) of the seed and three BBC articles."""
    from embeddings import load_model
    from qa.articles import load_paths, make_article, read_file
    from qa.engine import QA
    from qa.settings import Settings

    model = load_model()
    articles = read_file(SEED)
    if BBC.is_dir():
        articles += load_paths([BBC / f for f in BBC_FILES]).articles
    else:
        articles.append(
            make_article(
                "Ferry news\n\nThe ferry to Islay was cancelled on Monday "
                "because of gales. It will sail again on Wednesday."
            )
        )
    work = tmp_path_factory.mktemp("props")
    engine = QA(Settings(data_dir=work / "data", index_dir=work / "index"))
    engine.add_articles(articles)
    assert engine.model is model
    return engine


def _corpus(engine) -> tuple[list[str], list[str]]:
    words, sentences = set(), []
    for a in engine.index.articles:
        words.update(re.findall(r"[\w'’-]+", a.text))
        sentences += [s.text for s in split_sentences(a.text)]
    return sorted(words), sentences


@pytest.fixture(scope="module")
def corpus(qa_engine) -> tuple[list[str], list[str]]:
    return _corpus(qa_engine)


QUESTION_WORDS = [
    "",
    "Who",
    "What",
    "When",
    "Where",
    "Why",
    "How many",
    "How long",
    "How much",
    "Which",
    "Did",
    "Is it true that",
]


@st.composite
def questions(draw, corpus: tuple[list[str], list[str]]) -> str:
    words, sentences = corpus
    # mostly answerable (a sentence of an article), some noise that should abstain
    kind = draw(st.sampled_from(["words", "sentence", "sentence", "mixed", "noise"]))
    if kind == "words":
        body = " ".join(draw(st.lists(st.sampled_from(words), min_size=1, max_size=12)))
    elif kind == "sentence":
        body = draw(st.sampled_from(sentences))
    elif kind == "mixed":
        body = draw(st.sampled_from(sentences)) + " " + draw(st.text(max_size=40))
    else:
        body = draw(st.text(min_size=1, max_size=120))
    q = f"{draw(st.sampled_from(QUESTION_WORDS))} {body}{draw(st.sampled_from(['?', '', '!?']))}"
    return q if q.strip() else "What?"


def test_citations_quote_the_article_verbatim(qa_engine, corpus) -> None:
    engine = qa_engine

    @settings(PROPS, max_examples=40)
    @given(q=questions(corpus), k=st.integers(1, 8))
    def check(q: str, k: int) -> None:
        answer = engine.ask(q, k=k)
        FIGURES["questions"] += 1
        FIGURES["abstained"] += answer.abstained
        numbers = [c.n for c in answer.citations]
        assert len(numbers) == len(set(numbers))
        for n in re.findall(r"\[(\d+)\]", answer.text):
            assert int(n) in numbers, f"marker [{n}] cites nothing: {answer.text!r}"
        for c in answer.citations:
            text = engine.index.article(c.article_id).text
            assert text[c.start : c.end] == c.quote, (q, c)
            assert c.quote.strip()
            if c.highlight_start != -1 or c.highlight_end != -1:
                assert c.start <= c.highlight_start < c.highlight_end <= c.end, (q, c)
                FIGURES["highlights"] += 1
            FIGURES["citations"] += 1
        for p in answer.passages:
            assert engine.index.article(p.article_id).text[p.start : p.end] == p.text

    check()
    print(
        f"\ncitation property: {FIGURES['questions']} random questions, "
        f"{FIGURES['citations']} citations ({FIGURES['highlights']} with highlights) all "
        f"verbatim; {FIGURES['abstained']} abstained"
    )


# ---- idempotent ingest -------------------------------------------------------------------

sentence_words = st.lists(st.from_regex(r"[a-z]{2,9}", fullmatch=True), min_size=3, max_size=12)
article_texts = st.tuples(
    st.from_regex(r"[A-Z][a-z]{3,9}( [a-z]{3,9}){1,4}", fullmatch=True),  # headline
    st.lists(sentence_words.map(lambda w: " ".join(w).capitalize() + "."), min_size=1, max_size=6),
)


def _write(folder: Path, i: int, fmt: str, title: str, body: str) -> list[Path]:
    f = folder / f"a{i}.{fmt}"
    if fmt in ("txt", "md"):
        f.write_text(f"{'# ' if fmt == 'md' else ''}{title}\n\n{body}\n")
    elif fmt == "json":
        f.write_text(json.dumps({"title": title, "text": body}))
    else:
        f.write_text(
            json.dumps({"title": title, "text": body})
            + "\n"
            + json.dumps({"title": title + " two", "text": body + " Second."})
            + "\n"
        )
    return [f]


def _state(index: Path) -> dict:
    """What an index folder holds: its articles, chunks, generation and segments, and the
    size and time of every file but the lock and SQLite's shared-memory index (rewritten on
    any open)."""
    from qa.index import ArticleIndex

    idx = ArticleIndex.load(index)
    files = {
        str(p.relative_to(index)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(index.rglob("*"))
        if p.is_file() and p.name not in (".lock", "store.sqlite-shm")
    }
    state = {
        "ids": [a.id for a in idx.articles],
        "chunks": [c.id for c in idx.chunks],
        "generation": idx.manifest["generation"],
        "segments": [s.folder for s in idx.segments],
        "files": files,
    }
    idx.close()
    return state


@settings(PROPS, max_examples=4)
@given(
    arts=st.lists(
        st.tuples(article_texts, st.sampled_from(["txt", "md", "json", "jsonl"])),
        min_size=1,
        max_size=4,
        unique_by=lambda a: a[0][0],
    ),
    reverse=st.booleans(),
)
def test_ingest_twice_changes_nothing(arts, reverse: bool) -> None:
    from qa.engine import QA
    from qa.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="qa-idem-"))
    try:
        src = work / "src"
        src.mkdir()
        files = []
        for i, ((title, sentences), fmt) in enumerate(arts):
            files += _write(src, i, fmt, title, f"{title} story {i}. " + " ".join(sentences))
        s = Settings(data_dir=work / "data", index_dir=work / "index")
        first = QA(s).ingest([str(src)])
        assert not first.errors and first.report.added
        before = _state(work / "index")
        # again, in a new engine (as a new process would), folder and files, maybe reversed
        again = [str(src), *map(str, files)]
        second = QA(s).ingest(again[::-1] if reverse else again)
        assert second.report.added == [] and second.report.replaced == []
        assert sorted(second.report.unchanged) == sorted(before["ids"])
        assert second.report.chunks == 0
        assert _state(work / "index") == before
        FIGURES["idempotent ingests"] += 1
        FIGURES["idempotent articles"] += len(before["ids"])
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---- delete, add again, compact ---------------------------------------------------------


def _articles(texts: list[tuple[str, list[str]]]) -> list:
    from qa.articles import make_article

    return [
        make_article(f"{title} story {i}. " + " ".join(body), title=title)
        for i, (title, body) in enumerate(texts)
    ]


def _content(idx) -> dict[str, tuple]:
    """Each live article's text, chunks, sentences (offsets and named entities) and
    furniture flags, by id: what an index holds, whatever its rows."""
    out = {}
    for arow in idx.article_rows():
        art = idx.article_at(arow)
        chunks = [
            idx.chunk_at(r)
            for r in np.flatnonzero((idx.chunk_article == arow) & idx.chunk_alive).tolist()
        ]
        sents = [
            (
                int(idx.sentences[r][1]),
                int(idx.sentences[r][2]),
                tuple((e.start, e.end, e.label, e.head) for e in idx.sentence_entities(r)),
                idx.is_furniture(r),
            )
            for r in idx.article_sentence_rows(arow)
        ]
        out[art.id] = (
            art.text,
            tuple((c.id, c.start, c.end, c.text) for c in chunks),
            tuple(sents),
        )
    return out


def _searches(idx, queries: np.ndarray) -> list:
    from qa.lexical import terms

    return (
        [idx.search_chunks(q, 8).tolist() for q in queries]
        + [idx.search_sentences(q, 8).tolist() for q in queries]
        + [idx.bm25_chunks.top(terms(w), 8).tolist() for w in QUERY_WORDS]
    )


QUERY_WORDS = ["story", "the council said", "forces Tuesday", "final market", "zzz"]


@settings(PROPS, max_examples=4)
@given(
    texts=st.lists(article_texts, min_size=2, max_size=5, unique_by=lambda a: a[0]), data=st.data()
)
def test_delete_and_add_again_gives_the_same_index(texts, data) -> None:
    from embeddings import load_model
    from qa.index import ArticleIndex

    model = load_model()
    articles = _articles(texts)
    gone = data.draw(
        st.lists(st.sampled_from(articles), min_size=1, unique_by=lambda a: a.id), label="deleted"
    )
    gone_ids = sorted(a.id for a in gone)
    work = Path(tempfile.mkdtemp(prefix="qa-readd-"))
    try:
        idx = ArticleIndex.create(
            work / "index", model_id=model.model_id, dimension=model.dimension
        )
        idx.add(articles, model)
        before = _content(idx)
        nxt = dict(idx.manifest["next"])
        assert sorted(idx.delete(gone_ids)) == gone_ids
        mid = ArticleIndex.load(work / "index")
        assert _content(mid) == {k: v for k, v in before.items() if k not in gone_ids}
        assert mid.count("chunks") == len(mid.chunks) == int(mid.chunk_alive.sum())
        mid.close()
        report = idx.add(gone, model)
        assert sorted(report.added) == gone_ids and report.replaced == []
        again = ArticleIndex.load(work / "index")
        assert _content(again) == before
        # on new rows: an article's rows are never reused
        for i in gone_ids:
            assert again.article_row[i] >= nxt["article"]
        new_rows = np.flatnonzero(again.chunk_alive[nxt["chunk"] :]) + nxt["chunk"]
        assert len(new_rows) == sum(len(before[i][1]) for i in gone_ids)
        for r in again.alive_chunk_rows().tolist():  # each vector is its own nearest
            assert again.search_chunks(again.chunk_vectors[r], 1).tolist() == [r]
        again.close()
        FIGURES["deleted and added again"] += len(gone_ids)
    finally:
        shutil.rmtree(work, ignore_errors=True)


@settings(PROPS, max_examples=4)
@given(
    batches=st.lists(st.lists(article_texts, min_size=1, max_size=3), min_size=2, max_size=4),
    data=st.data(),
)
def test_compaction_changes_no_search_result(batches, data) -> None:
    from embeddings import load_model
    from qa.index import ArticleIndex

    model = load_model()
    flat = [t for b in batches for t in b]
    titles = [t[0] for t in flat]
    assume(len(set(titles)) == len(titles))  # one title per article: no two equal vectors
    articles = _articles(flat)
    work = Path(tempfile.mkdtemp(prefix="qa-compact-"))
    try:
        idx = ArticleIndex.create(
            work / "index", model_id=model.model_id, dimension=model.dimension, index_type="flat"
        )
        pos = 0
        for b in batches:  # one delta segment per ingest, some articles deleted between
            idx.add(articles[pos : pos + len(b)], model)
            pos += len(b)
            held = [a.id for a in articles[:pos] if a.id in idx.article_row]
            drop = data.draw(
                st.lists(st.sampled_from(held), max_size=len(held) - 1, unique=True),
                label="deleted",
            )
            idx.delete(drop)
        questions = data.draw(
            st.lists(st.sampled_from(QUESTION_WORDS + titles), min_size=1, max_size=4),
            label="questions",
        )
        queries = model.encode_queries(questions)
        idx = ArticleIndex.load(work / "index")
        content, hits = _content(idx), _searches(idx, queries)
        assert len(idx.segments) == len(batches)
        report = idx.compact()
        assert report.segments_after == 1 and report.faiss == "flat"
        assert report.chunks == idx.count("chunks")
        for got in (idx, ArticleIndex.load(work / "index")):
            assert [s.kind for s in got.segments] == ["main"]
            assert _content(got) == content
            assert _searches(got, queries) == hits
        FIGURES["compactions"] += 1
        FIGURES["searches unchanged by compaction"] += len(hits)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_print_property_figures() -> None:
    print(f"\nproperty figures: {dict(sorted(FIGURES.items()))}")
