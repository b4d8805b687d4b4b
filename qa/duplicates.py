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

Example:
    >>> found = find_copies(new_articles, indexed_articles)
    >>> [(c.article.source, c.of, round(c.similarity, 2)) for c in found.copies]
    [('Daily Herald', '3f1c0a9b2d4e5f60', 0.71)]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

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
        for cand in self._lsh.query(_signature(sh)):
            if cand == article.id or frozenset((cand, article.id)) in self._apart:
                continue
            other = self._shingles[cand]
            inter = len(sh & other)
            jaccard = inter / len(sh | other)
            contain = inter / min(len(sh), len(other))
            if (jaccard >= JACCARD or contain >= CONTAINMENT) and (
                best is None or (jaccard, contain) > best[1:]
            ):
                best = (str(cand), jaccard, contain)
        return best


def find_copies(
    new: Sequence[Article],
    indexed: Sequence[Article],
    *,
    apart: Iterable[tuple[str, str]] = (),
    finder: DuplicateFinder | None = None,
) -> DuplicateCheck:
    """Split a batch into articles to index and copies of indexed (or earlier) ones.

    Args:
        new: The batch, in order (the first of two copies in it is the one indexed).
        indexed: The articles already in the index.
        apart: Pairs of ids a person said are not one story (never grouped).
        finder: A :class:`DuplicateFinder` already holding ``indexed`` (saves rebuilding);
            it then holds the articles to index instead of the copies.

    Returns:
        The articles to index and the copies found. An article whose id is indexed already
        (an update of it) is never a copy. When a new article is the fuller version of an
        indexed one, the new one is in ``unique`` and the indexed one in ``copies`` (the
        index then drops it from its articles and moves its copies to the new one).
    """
    f = finder or DuplicateFinder(indexed, apart)
    by_id = {a.id: a for a in indexed}
    unique: dict[str, Article] = {}
    copies: dict[str, Copy] = {}
    moved: dict[str, str] = {}  # article demoted to a copy -> the fuller one it now copies
    for a in new:
        hit = None if a.id in by_id else f.match(a)
        if hit is None:
            unique[a.id] = a
            f.add(a)
            continue
        of, jaccard, contain = hit
        while of in moved:
            of = moved[of]
        f.add(a)
        if contain >= CONTAINMENT and len(shingles(a.text)) >= FULLER * f.size(of):
            older = unique.pop(of, None) or by_id[of]
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
