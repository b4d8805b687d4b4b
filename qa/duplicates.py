"""Stage 1, ingest: syndicated and near-duplicate copies of one story (MinHash LSH).

A wire story that ran in twenty outlets would be twenty articles whose copies crowd each
other out of the answers. At ingest, each new article is compared with the articles already
indexed: its word 5-shingles (lower-cased words, five at a time) are summarised by a MinHash
signature (datasketch, 128 permutations), an LSH index finds the articles likely to share
many shingles, and each candidate is checked on the exact shingle sets. An article is a
*copy* of an indexed one when their shingle sets overlap by Jaccard >= :data:`JACCARD` (the
same story with a different intro, tail or outlet boilerplate: changing a fifth of a story at
each end still leaves about 0.6), or when at least :data:`CONTAINMENT` of the shorter one's
shingles are in the other (a cut-down version). A copy is not indexed; it is kept with the
article it copies (:class:`Copy`) so citations can say where else the story ran
(:class:`CopyRef`, "also in: ...") and a person can undo the grouping. Which one is indexed:
the first to arrive, unless a later one holds it and is fuller (:data:`FULLER` times its
shingles: the whole story where the first was cut down), which then takes its place.

Identical articles with the same id are not copies: they are the same article, skipped as
unchanged as before. Texts shorter than :data:`MIN_SHINGLES` shingles are never grouped.

Two finders hold the indexed articles' signatures: :class:`DuplicateFinder` in memory, built
from every indexed article's text, and :class:`StoredFinder` in SQLite tables (the same LSH
bands, read per query), which reads a candidate's text only when it verifies it, so that one
ingest costs the size of the change, not of the index. Both find the same copies.

Example:
    >>> found = find_copies(new_articles, indexed_articles)
    >>> [(c.article.source, c.of, round(c.similarity, 2)) for c in found.copies]
    [('Daily Herald', '3f1c0a9b2d4e5f60', 0.71)]
"""

from __future__ import annotations

import functools
import hashlib
import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from qa.articles import Article

#: Words per shingle.
SHINGLE_WORDS = 5
#: MinHash permutations (the estimate's standard error is about 1 / sqrt(128) = 0.09).
NUM_PERM = 128
#: LSH threshold: below the verification thresholds, so that true copies are candidates.
LSH_THRESHOLD = 0.3
#: Jaccard overlap of the shingle sets at which two articles are one story.
JACCARD = 0.5
#: Share of the shorter article's shingles found in the other at which it is a copy.
CONTAINMENT = 0.8
#: Articles with fewer shingles than this are never grouped (too short to tell).
MIN_SHINGLES = 20
#: A new article with this many times the shingles of the one it contains is the fuller
#: version: it is indexed and the shorter one becomes its copy.
FULLER = 1.25

_WORD = re.compile(r"\w+(?:['’]\w+)*")


@dataclass(frozen=True)
class CopyRef:
    """Where else a story ran: one copy of a cited article, as a citation lists it.

    Attributes:
        article_id: The copy's id.
        title: Its headline.
        source: Its outlet.
        url: Its URL, or "".
        date: Its date, or "".
        similarity: Jaccard overlap of its shingles with the indexed article's.
        path: The file (or URL asked for) it was read from, or "".
    """

    article_id: str
    title: str
    source: str
    url: str = ""
    date: str = ""
    similarity: float = 0.0
    path: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a dict."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class Copy:
    """A near-duplicate that was not indexed, kept with the article it copies.

    Attributes:
        article: The copy itself (text and metadata), so the grouping can be undone.
        of: The id of the indexed article it copies.
        similarity: Jaccard overlap of their shingle sets.
        containment: Share of the shorter one's shingles found in the other.
    """

    article: Article
    of: str
    similarity: float
    containment: float

    def ref(self) -> CopyRef:
        """The copy as a citation lists it."""
        a = self.article
        return CopyRef(
            a.id, a.title, a.source, a.url, a.date, round(self.similarity, 3), path=a.path
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict (the index stores copies so)."""
        return {
            "of": self.of,
            "similarity": self.similarity,
            "containment": self.containment,
            "article": self.article.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Copy:
        """Rebuild a copy from :meth:`to_dict` output."""
        return cls(
            article=Article.from_dict(d["article"]),
            of=str(d["of"]),
            similarity=float(d["similarity"]),
            containment=float(d.get("containment", 0.0)),
        )


@dataclass(frozen=True)
class DuplicateCheck:
    """What :func:`find_copies` decided about a batch of new articles.

    Attributes:
        unique: The articles to index (not a copy of anything indexed or earlier in the
            batch), in batch order.
        copies: The others, each with the indexed (or earlier) article it copies.
    """

    unique: list[Article]
    copies: list[Copy] = field(default_factory=list)


def shingles(text: str, k: int = SHINGLE_WORDS) -> set[bytes]:
    """The set of ``k``-word shingles of a text (lower-cased words), as UTF-8 bytes."""
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < k:
        return {" ".join(words).encode("utf-8")} if words else set()
    return {" ".join(words[i : i + k]).encode("utf-8") for i in range(len(words) - k + 1)}


def _signature(sh: set[bytes]) -> Any:
    from datasketch import MinHash

    m = MinHash(num_perm=NUM_PERM, seed=1)
    m.update_batch(sorted(sh))
    return m


def _overlap(sh: set[bytes], other: set[bytes]) -> tuple[float, float]:
    """Jaccard overlap and containment (in the shorter) of two non-empty shingle sets."""
    inter = len(sh & other)
    return inter / len(sh | other), inter / min(len(sh), len(other))


def _better(
    best: tuple[str, float, float] | None, cand: str, jaccard: float, contain: float
) -> tuple[str, float, float] | None:
    """The better of the best match so far and a verified candidate (ties: the first)."""
    if (jaccard >= JACCARD or contain >= CONTAINMENT) and (
        best is None or (jaccard, contain) > best[1:]
    ):
        return (cand, jaccard, contain)
    return best


class Finder(Protocol):
    """What :func:`find_copies` needs of a finder (:class:`DuplicateFinder`,
    :class:`StoredFinder`)."""

    def add(self, article: Article) -> None:
        """Index an article as one a later article may copy (a no-op if it is held)."""

    def remove(self, article_id: str) -> None:
        """Forget an article (a no-op if it is not held)."""

    def size(self, article_id: str) -> int:
        """How many shingles a held article has (0 if it is not held)."""

    def match(self, article: Article) -> tuple[str, float, float] | None:
        """The held article this one copies, with Jaccard overlap and containment."""


class DuplicateFinder:
    """An LSH index of articles' shingle signatures that finds the copies of a new one.

    Example:
        >>> finder = DuplicateFinder(indexed)
        >>> finder.match(article)  # (id of the article it copies, jaccard, containment)
    """

    def __init__(
        self, articles: Iterable[Article] = (), apart: Iterable[tuple[str, str]] = ()
    ) -> None:
        from datasketch import MinHashLSH

        self._lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
        self._shingles: dict[str, set[bytes]] = {}
        self._apart = {frozenset(p) for p in apart}
        for a in articles:
            self.add(a)

    def add(self, article: Article) -> None:
        """Index an article as one a later article may copy."""
        if article.id in self._shingles:
            return
        sh = shingles(article.text)
        self._shingles[article.id] = sh
        if len(sh) >= MIN_SHINGLES:
            self._lsh.insert(article.id, _signature(sh))

    def remove(self, article_id: str) -> None:
        """Forget an article (deleted, replaced, or found to be a copy)."""
        sh = self._shingles.pop(article_id, None)
        if sh is not None and len(sh) >= MIN_SHINGLES:
            self._lsh.remove(article_id)

    def size(self, article_id: str) -> int:
        """How many shingles an added article has."""
        return len(self._shingles.get(article_id, ()))

    def match(self, article: Article) -> tuple[str, float, float] | None:
        """The indexed article this one copies, with the Jaccard overlap and containment of
        their shingle sets; None when it copies none (or it is the same article)."""
        sh = shingles(article.text)
        if len(sh) < MIN_SHINGLES:
            return None
        best: tuple[str, float, float] | None = None
        for cand in sorted(self._lsh.query(_signature(sh))):  # sorted: ties go the same way
            if cand == article.id or frozenset((cand, article.id)) in self._apart:
                continue
            best = _better(best, str(cand), *_overlap(sh, self._shingles[cand]))
        return best


@functools.lru_cache(maxsize=1)
def _bands() -> tuple[tuple[tuple[int, int], ...], str]:
    """The LSH band ranges datasketch picks for :data:`LSH_THRESHOLD` and :data:`NUM_PERM`,
    and a fingerprint of the signatures: what stored band keys depend on."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
    probe = _signature({b"near duplicate probe"}).hashvalues
    digest = hashlib.sha1(probe.tobytes()).hexdigest()[:16]
    scheme = f"{SHINGLE_WORDS} words, {NUM_PERM} perm, {lsh.b}x{lsh.r} bands, {digest}"
    return tuple((int(a), int(b)) for a, b in lsh.hashranges), scheme


def _band_keys(sh: set[bytes]) -> list[bytes]:
    """One key per LSH band: the band's signature values as bytes, the values MinHashLSH
    hashes its buckets on (so two articles share a key exactly when they share a bucket)."""
    values = _signature(sh).hashvalues
    return [values[a:b].tobytes() for a, b in _bands()[0]]


def create_tables(conn: sqlite3.Connection) -> None:
    """Create the tables of :class:`StoredFinder` where they are missing (idempotent).

    ``lsh_bands(band, key, article_id)`` (keyed on all three, so looking a band key up is
    one index search), ``lsh_sizes(article_id, shingles, keys)`` (every held article's
    shingle count, and its band keys for removal) and ``lsh_meta(name, value)`` (the LSH
    scheme the keys were made with). Executes ``CREATE ... IF NOT EXISTS`` and one
    ``INSERT OR IGNORE``; commits nothing, so run it in the caller's transaction (outside
    one, SQLite applies each statement on its own, and in the ``sqlite3`` module's default
    mode the insert opens a transaction the caller then commits).
    """
    conn.execute(
        "CREATE TABLE IF NOT EXISTS lsh_bands (band INTEGER NOT NULL, key BLOB NOT NULL, "
        "article_id TEXT NOT NULL, PRIMARY KEY (band, key, article_id)) WITHOUT ROWID"
    )
    conn.execute(
        "CREATE TABLE IF NOT EXISTS lsh_sizes (article_id TEXT PRIMARY KEY, "
        "shingles INTEGER NOT NULL, keys BLOB)"
    )
    conn.execute("CREATE TABLE IF NOT EXISTS lsh_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("INSERT OR IGNORE INTO lsh_meta VALUES ('scheme', ?)", (_bands()[1],))


def drop_tables(conn: sqlite3.Connection) -> None:
    """Drop the tables of :class:`StoredFinder` (to rebuild them: :func:`create_tables`, then
    :meth:`StoredFinder.add` each indexed article). Commits nothing, as
    :func:`create_tables`."""
    for table in ("lsh_bands", "lsh_sizes", "lsh_meta"):
        conn.execute(f"DROP TABLE IF EXISTS {table}")


class StoredFinder:
    """The LSH index of :class:`DuplicateFinder` kept in SQLite tables, for an index that
    lives in a database: nothing is loaded up front, and a match costs its candidates.

    Each held article has one row per LSH band in ``lsh_bands`` (the bands datasketch's
    ``MinHashLSH`` uses for :data:`LSH_THRESHOLD`, so the candidates are the ones it would
    find) and its shingle count in ``lsh_sizes`` (:func:`create_tables`). A match looks its
    band keys up (one statement) and verifies each candidate on the exact shingle sets,
    reading the candidate's text with ``text_of``; the same thresholds as
    :class:`DuplicateFinder` decide, and the two find the same copies.

    Transactions are the caller's: the finder executes statements on ``conn`` and never
    begins, commits or rolls back, so the store wraps each ingest or delete, finder writes
    included, in its one transaction, and a rollback undoes them with the rest. (With the
    ``sqlite3`` module's default ``isolation_level`` the first write opens a transaction
    implicitly; with ``isolation_level=None`` the caller must ``BEGIN`` first, or each
    statement is applied on its own.)

    Articles added through this object keep their shingles in memory until removed, since
    their text may not be in the store yet when a later article of the same batch is
    compared with them: use one finder per ingest.

    Args:
        conn: The database; the tables are created there if missing.
        text_of: The text of a held article by id, or None when it has none (a candidate
            without text is skipped).
        apart: Pairs of ids a person said are not one story (never matched).

    Raises:
        ValueError: The tables hold band keys made with another LSH scheme (another
            datasketch or other parameters); :func:`drop_tables` and add the articles again.

    Example:
        >>> finder = StoredFinder(conn, store.text_of, apart=store.apart_pairs())
        >>> finder.match(article)  # (id of the article it copies, jaccard, containment)
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        text_of: Callable[[str], str | None],
        apart: Iterable[tuple[str, str]] = (),
    ) -> None:
        self._conn = conn
        self._text_of = text_of
        self._apart = {frozenset(p) for p in apart}
        self._held: dict[str, set[bytes]] = {}
        create_tables(conn)
        (stored,) = conn.execute("SELECT value FROM lsh_meta WHERE name = 'scheme'").fetchone()
        if stored != _bands()[1]:
            raise ValueError(
                f"the near-duplicate tables were made with LSH scheme {stored!r}, this "
                f"datasketch makes {_bands()[1]!r}: drop them (qa.duplicates.drop_tables) "
                "and add the indexed articles again"
            )
        n = len(_bands()[0])
        self._lookup = (
            f"WITH q(band, key) AS (VALUES {', '.join(['(?, ?)'] * n)}) "
            "SELECT DISTINCT b.article_id FROM q CROSS JOIN lsh_bands AS b "
            "ON b.band = q.band AND b.key = q.key"
        )

    def add(self, article: Article) -> None:
        """Index an article as one a later article may copy (a no-op if it is held)."""
        if article.id in self._held or self._row(article.id) is not None:
            return
        sh = shingles(article.text)
        keys = _band_keys(sh) if len(sh) >= MIN_SHINGLES else []
        self._conn.execute(
            "INSERT INTO lsh_sizes VALUES (?, ?, ?)",
            (article.id, len(sh), b"".join(keys) if keys else None),
        )
        self._conn.executemany(
            "INSERT INTO lsh_bands VALUES (?, ?, ?)",
            [(band, key, article.id) for band, key in enumerate(keys)],
        )
        self._held[article.id] = sh

    def remove(self, article_id: str) -> None:
        """Forget an article (deleted, replaced, or found to be a copy); a no-op if it is
        not held."""
        self._held.pop(article_id, None)
        row = self._row(article_id)
        if row is None:
            return
        joined: bytes | None = row[1]
        if joined:
            n = len(_bands()[0])
            width = len(joined) // n
            self._conn.executemany(
                "DELETE FROM lsh_bands WHERE band = ? AND key = ? AND article_id = ?",
                [(i, joined[i * width : (i + 1) * width], article_id) for i in range(n)],
            )
        self._conn.execute("DELETE FROM lsh_sizes WHERE article_id = ?", (article_id,))

    def size(self, article_id: str) -> int:
        """How many shingles a held article has (0 if it is not held)."""
        if article_id in self._held:
            return len(self._held[article_id])
        row = self._row(article_id)
        return int(row[0]) if row is not None else 0

    def match(self, article: Article) -> tuple[str, float, float] | None:
        """The held article this one copies, with the Jaccard overlap and containment of
        their shingle sets; None when it copies none (or it is the same article)."""
        sh = shingles(article.text)
        if len(sh) < MIN_SHINGLES:
            return None
        params = [v for band, key in enumerate(_band_keys(sh)) for v in (band, key)]
        cands = sorted(str(r[0]) for r in self._conn.execute(self._lookup, params))
        best: tuple[str, float, float] | None = None
        for cand in cands:
            if cand == article.id or frozenset((cand, article.id)) in self._apart:
                continue
            other = self._held.get(cand)
            if other is None:
                text = self._text_of(cand)
                if text is None:
                    continue
                other = shingles(text)
            if other:
                best = _better(best, cand, *_overlap(sh, other))
        return best

    def _row(self, article_id: str) -> tuple[int, bytes | None] | None:
        row = self._conn.execute(
            "SELECT shingles, keys FROM lsh_sizes WHERE article_id = ?", (article_id,)
        ).fetchone()
        return None if row is None else (int(row[0]), row[1])


def find_copies(
    new: Sequence[Article],
    indexed: Sequence[Article] = (),
    *,
    apart: Iterable[tuple[str, str]] = (),
    finder: Finder | None = None,
    article_of: Callable[[str], Article | None] | None = None,
) -> DuplicateCheck:
    """Split a batch into articles to index and copies of indexed (or earlier) ones.

    Args:
        new: The batch, in order (the first of two copies in it is the one indexed).
        indexed: The articles already in the index (none with ``article_of``).
        apart: Pairs of ids a person said are not one story (never grouped), when no
            ``finder`` is given (a finder is given its own).
        finder: A :class:`DuplicateFinder` or :class:`StoredFinder` already holding the
            indexed articles (saves rebuilding); it then holds the articles to index
            instead of the copies.
        article_of: An indexed article by id, or None when the id is not indexed, instead
            of ``indexed`` (an index in a store: only the articles asked for are read, the
            batch's ids and the indexed articles a fuller new one replaces); needs
            ``finder``.

    Returns:
        The articles to index and the copies found. An article whose id is indexed already
        (an update of it) is never a copy. When a new article is the fuller version of an
        indexed one, the new one is in ``unique`` and the indexed one in ``copies`` (the
        index then drops it from its articles and moves its copies to the new one).

    Raises:
        ValueError: ``article_of`` without ``finder``, or with ``indexed``.
    """
    lookup: Callable[[str], Article | None]
    if article_of is None:
        f = finder or DuplicateFinder(indexed, apart)
        lookup = {a.id: a for a in indexed}.get
    elif finder is None or indexed:
        raise ValueError(
            "find_copies(article_of=...) needs finder= (the finder holding the indexed "
            "articles) and no indexed articles"
        )
    else:
        f, lookup = finder, article_of
    unique: dict[str, Article] = {}
    copies: dict[str, Copy] = {}
    moved: dict[str, str] = {}  # article demoted to a copy -> the fuller one it now copies
    for a in new:
        hit = None if lookup(a.id) is not None else f.match(a)
        if hit is None:
            unique[a.id] = a
            f.add(a)
            continue
        of, jaccard, contain = hit
        while of in moved:
            of = moved[of]
        f.add(a)
        if contain >= CONTAINMENT and len(shingles(a.text)) >= FULLER * f.size(of):
            older = unique.pop(of, None) or lookup(of)
            if older is None:
                raise LookupError(f"the finder holds {of!r}, which is not indexed")
            unique[a.id] = a
            copies[of] = Copy(article=older, of=a.id, similarity=jaccard, containment=contain)
            for k, c in list(copies.items()):
                if c.of == of:
                    copies[k] = Copy(c.article, a.id, c.similarity, c.containment)
            moved[of] = a.id
        else:
            copies[a.id] = Copy(article=a, of=of, similarity=jaccard, containment=contain)
            moved[a.id] = of
    for c in copies.values():  # the finder holds what is indexed, as it was given
        f.remove(c.article.id)
    return DuplicateCheck(unique=list(unique.values()), copies=list(copies.values()))


def group_copies(articles: Sequence[Article]) -> dict[str, list[Copy]]:
    """Group a whole collection: each article that others copy, with its copies (first in
    order kept). What ``python -m eval.bench`` reports on the shared articles."""
    found = find_copies(articles, [])
    groups: dict[str, list[Copy]] = {}
    for c in found.copies:
        groups.setdefault(c.of, []).append(c)
    return groups
