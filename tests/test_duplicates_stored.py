"""Near-duplicate copies found through the SQLite-backed finder (qa.duplicates.StoredFinder):
persisted across connections, undone by remove, kept apart on request, in agreement with
the in-memory DuplicateFinder, and inside the caller's transaction."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import DATA, SEED

from qa.articles import Article, make_article, read_file
from qa.duplicates import (
    DuplicateFinder,
    StoredFinder,
    drop_tables,
    find_copies,
)

BBC = DATA / "bbc-news"
LSH_TABLES = ("lsh_bands", "lsh_sizes", "lsh_meta")


class _Store:
    """The part of a store the finder needs: article texts by id, in the same database."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.read: list[str] = []  # ids whose text the finder asked for
        conn.execute("CREATE TABLE IF NOT EXISTS articles (id TEXT PRIMARY KEY, doc TEXT)")

    def put(self, a: Article) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO articles VALUES (?, ?)", (a.id, json.dumps(a.to_dict()))
        )

    def delete(self, article_id: str) -> None:
        self.conn.execute("DELETE FROM articles WHERE id = ?", (article_id,))

    def article_of(self, article_id: str) -> Article | None:
        row = self.conn.execute("SELECT doc FROM articles WHERE id = ?", (article_id,)).fetchone()
        return None if row is None else Article.from_dict(json.loads(row[0]))

    def text_of(self, article_id: str) -> str | None:
        self.read.append(article_id)
        a = self.article_of(article_id)
        return None if a is None else a.text

    def finder(self, apart: list[tuple[str, str]] | None = None) -> StoredFinder:
        return StoredFinder(self.conn, self.text_of, apart=apart or [])

    def index(self, articles: list[Article]) -> None:
        """Ingest as the store would, in one transaction: what find_copies keeps unique."""
        with self.conn:
            found = find_copies(articles, finder=self.finder(), article_of=self.article_of)
            for a in found.unique:
                self.put(a)
            for c in found.copies:
                self.delete(c.article.id)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    return conn


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "store.sqlite"


def _edited(
    a: Article, *, head: float, tail: float, outlet: str, url: str, lead: str = ""
) -> Article:
    """Another outlet's version: its own lead, the share ``head`` of the story's sentences
    cut from the start and ``tail`` from the end."""
    sentences = re.split(r"(?<=[.!?])\s+", a.text.split("\n", 1)[1].strip())
    n = len(sentences)
    body = sentences[round(n * head) : n - round(n * tail)]
    return make_article(
        "\n\n".join([outlet, a.title, *([lead] if lead else []), " ".join(body)]),
        title=a.title,
        source=outlet,
        url=url,
    )


@pytest.fixture(scope="module")
def seed() -> Article:
    return read_file(SEED)[0]


@pytest.fixture(scope="module")
def wire(seed: Article) -> Article:
    """The seed story as a syndicating outlet ran it: its own lead, the tail cut."""
    return _edited(
        seed,
        head=0.1,
        tail=0.2,
        outlet="Ottawa Citizen",
        url="https://citizen.example/hajin",
        lead="BEIRUT — Kurdish-led fighters opened a long-awaited offensive this week on "
        "the last patch of ground the Islamic State holds in eastern Syria.",
    )


@pytest.fixture(scope="module")
def bbc() -> list[Article]:
    """Eight articles from each of the five BBC News sections."""
    return [
        read_file(BBC / section / f"{n:03d}.txt")[0]
        for section in ("business", "entertainment", "politics", "sport", "tech")
        for n in range(1, 9)
    ]


def test_a_wire_copy_is_found_from_another_connection(
    db: Path, seed: Article, wire: Article
) -> None:
    first = _connect(db)
    _Store(first).index([seed])
    first.close()

    conn = _connect(db)
    store = _Store(conn)
    other = read_file(BBC / "business" / "001.txt")[0]
    found = find_copies([wire, other], finder=store.finder(), article_of=store.article_of)
    assert [a.id for a in found.unique] == [other.id]
    (copy,) = found.copies
    assert copy.of == seed.id and copy.article is wire and 0.5 <= copy.similarity < 0.95
    assert store.read == [seed.id]  # only the candidate's text was read


def test_a_removed_article_is_matched_no_more(db: Path, seed: Article, wire: Article) -> None:
    conn = _connect(db)
    store = _Store(conn)
    store.index([seed])
    finder = store.finder()
    assert finder.match(wire) is not None and finder.size(seed.id) > 0
    with conn:
        finder.remove(seed.id)
        store.delete(seed.id)
    fresh = _Store(_connect(db)).finder()  # and as the database holds it
    assert finder.match(wire) is None and fresh.match(wire) is None
    assert finder.size(seed.id) == 0 == fresh.size(seed.id)
    finder.remove(seed.id)  # removing what is not held is a no-op


def test_pairs_kept_apart_are_not_matched(db: Path, seed: Article, wire: Article) -> None:
    conn = _connect(db)
    store = _Store(conn)
    store.index([seed])
    apart = store.finder(apart=[(wire.id, seed.id)])
    found = find_copies([wire], finder=apart, article_of=store.article_of)
    assert found.copies == [] and [a.id for a in found.unique] == [wire.id]
    assert store.finder().match(wire) is not None  # they would be otherwise


def test_stored_and_in_memory_finders_agree_on_bbc(db: Path, bbc: list[Article]) -> None:
    indexed = bbc[:30]
    # a cut-down version indexed in place of one story, whose full version arrives later
    cut = _edited(bbc[7], head=0, tail=0.4, outlet="Metro", url="https://metro.example/7")
    indexed = [*indexed[:7], cut, *indexed[8:]]
    edits = [
        _edited(a, head=h, tail=t, outlet=f"Outlet {i}", url=f"https://o{i}.example/x")
        for i, (a, h, t) in enumerate(
            [(bbc[i], 0.05 * (i % 4), 0.1 * (i % 3)) for i in range(0, 30, 3) if i != 6]
            + [(bbc[i], 0.15, 0.15) for i in range(30, 34)]  # copies of batch-mates
        )
    ]
    new = [bbc[7], *bbc[30:], *edits]
    conn = _connect(db)
    store = _Store(conn)
    store.index(indexed)
    assert conn.execute("SELECT COUNT(*) FROM lsh_sizes").fetchone() == (len(indexed),)

    memory = DuplicateFinder(indexed)
    stored = store.finder()
    assert [memory.match(a) for a in new] == [stored.match(a) for a in new]
    expected = find_copies(new, indexed)
    with conn:
        got = find_copies(new, finder=stored, article_of=store.article_of)
    assert [a.id for a in got.unique] == [a.id for a in expected.unique]
    assert [(c.article.id, c.of, c.similarity, c.containment) for c in got.copies] == [
        (c.article.id, c.of, c.similarity, c.containment) for c in expected.copies
    ]
    # the check is not empty: every edit is a copy, and the full version replaced the cut one
    assert {c.article.id for c in got.copies} == {cut.id} | {e.id for e in edits}
    assert next(c for c in got.copies if c.article.id == cut.id).of == bbc[7].id
    # the finder now holds what is to be indexed, as the in-memory one does
    held = {r[0] for r in conn.execute("SELECT article_id FROM lsh_sizes")}
    assert held == {a.id for a in indexed if a.id != cut.id} | {a.id for a in got.unique}


def test_a_match_reads_only_its_candidates(db: Path, bbc: list[Article]) -> None:
    conn = _connect(db)
    store = _Store(conn)
    store.index(bbc)
    copy = _edited(bbc[12], head=0.2, tail=0.1, outlet="Wire", url="https://wire.example/12")
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    store.read.clear()
    assert store.finder().match(copy) == pytest.approx(DuplicateFinder(bbc).match(copy))
    lsh_reads = [s for s in statements if "lsh_bands" in s and s.startswith("WITH")]
    assert len(lsh_reads) == 1  # one lookup of the band keys
    assert bbc[12].id in store.read and len(store.read) < len(bbc) // 4


def test_no_statement_commits(db: Path, seed: Article, wire: Article, bbc: list[Article]) -> None:
    conn = sqlite3.connect(db, isolation_level=None)  # nothing implicit: the caller begins
    conn.execute("PRAGMA journal_mode=WAL")
    store = _Store(conn)
    conn.execute("BEGIN")
    finder = store.finder()  # creates its tables, in the transaction
    for a in [seed, *bbc[:5]]:
        finder.add(a)
        store.put(a)
    found = find_copies([wire, bbc[5]], finder=finder, article_of=store.article_of)
    assert len(found.copies) == 1
    finder.remove(bbc[0].id)
    assert conn.in_transaction
    reader = _connect(db)  # another connection sees nothing of it meanwhile
    assert not reader.execute("SELECT name FROM sqlite_master WHERE name LIKE 'lsh_%'").fetchall()
    conn.execute("ROLLBACK")
    assert not conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'lsh_%'").fetchall()

    # with the module's default mode, the caller's rollback undoes the finder's rows too
    legacy = _connect(db)
    legacy_store = _Store(legacy)
    legacy.commit()
    finder = legacy_store.finder()
    legacy.commit()  # the tables, committed by the caller
    finder.add(seed)
    assert legacy.in_transaction
    legacy.rollback()
    for table in LSH_TABLES[:2]:
        assert legacy.execute(f"SELECT COUNT(*) FROM {table}").fetchone() == (0,)
    assert legacy_store.finder().match(wire) is None


def test_tables_of_another_lsh_scheme_are_refused(db: Path, seed: Article, wire: Article) -> None:
    conn = _connect(db)
    store = _Store(conn)
    store.index([seed])
    with conn:
        conn.execute("UPDATE lsh_meta SET value = 'other' WHERE name = 'scheme'")
    with pytest.raises(ValueError, match="made with LSH scheme 'other'.*drop them"):
        store.finder()
    with conn:
        drop_tables(conn)
        finder = store.finder()
        assert finder.match(wire) is None
        finder.add(seed)
    assert store.finder().match(wire) is not None


def test_find_copies_with_article_of_needs_a_finder(seed: Article) -> None:
    with pytest.raises(ValueError, match="needs finder="):
        find_copies([seed], article_of=lambda _id: None)
