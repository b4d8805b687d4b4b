"""Stage 1, ingest from feeds: RSS and Atom (feedparser), each entry's article fetched.

:func:`load_feed` reads one feed and returns the articles of the entries that are new or
changed. An entry is skipped, without fetching anything, when an indexed article came from
the same entry (same GUID) and the entry has not changed since (same :func:`entry_hash`), or
when an article with the entry's link as its URL is indexed already; after fetching, an
entry whose text is the text of an indexed article (same content hash) is skipped too. An
entry that changed is fetched again and replaces its article (same URL, same id).

An entry that carries its full text (Atom ``content``, RSS ``content:encoded``) is read
from the feed; otherwise its link is fetched with :func:`qa.fetch.fetch` and read as a page.
Every failing entry (a link that 404s, is too large or too slow; an entry with neither a
link nor content) is an error naming the entry and the feed; the other entries are read.

Example:
    >>> got = load_feed("https://example.org/rss.xml", indexed=index.articles)
    >>> [a.title for a in got.articles], got.skipped
"""

from __future__ import annotations

import calendar
import hashlib
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from qa.articles import Article, make_article, parse_html
from qa.errors import ArticleError
from qa.fetch import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_REDIRECTS,
    DEFAULT_TIMEOUT,
    USER_AGENT,
    FetchError,
    article_from_page,
    fetch,
    is_url,
)

log = logging.getLogger(__name__)

#: Feed content shorter than this many words is a teaser: the entry's link is fetched.
FULL_CONTENT_WORDS = 80


@dataclass(frozen=True)
class FeedEntry:
    """One entry of a feed, as the feed gives it.

    Attributes:
        n: Its 1-based position in the feed.
        guid: RSS ``guid`` / Atom ``id``, else the link.
        link: The article's URL, or "".
        title: The entry's title.
        author: The entry's author, or "".
        date: Published (else updated) date, ISO ``YYYY-MM-DD``, or "".
        content: The full text's HTML when the feed carries it, else "".
        entry_hash: :func:`entry_hash` of the entry.
    """

    n: int
    guid: str
    link: str
    title: str
    author: str
    date: str
    content: str
    entry_hash: str

    def label(self) -> str:
        """How messages name the entry: its position and title."""
        return f"entry {self.n} ({self.title!r})" if self.title else f"entry {self.n}"


@dataclass(frozen=True)
class FeedLoad:
    """What :func:`load_feed` read.

    Attributes:
        url: The feed's URL.
        title: The feed's title (used as the outlet when a page names none).
        entries: How many entries the feed holds.
        articles: Articles of the entries that are new or changed.
        errors: One error per entry that failed (or one for the feed itself).
        skipped: One line per entry skipped as already indexed, saying why.
    """

    url: str
    title: str = ""
    entries: int = 0
    articles: list[Article] = field(default_factory=list)
    errors: list[ArticleError] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


class FeedError(FetchError):
    """The feed itself could not be read (not RSS or Atom); names the feed's URL."""


def entry_hash(entry: Any) -> str:
    """A hash of what a feed entry says (id, link, dates, title, summary, content): it
    changes when the publisher changes the entry."""
    parts = [
        str(entry.get(k, "")) for k in ("id", "link", "published", "updated", "title", "summary")
    ]
    parts += [str(c.get("value", "")) for c in entry.get("content", []) or []]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:20]


def _iso(parsed: Any) -> str:
    if not parsed:
        return ""
    return time.strftime("%Y-%m-%d", time.gmtime(calendar.timegm(parsed)))


def parse_feed(data: bytes, url: str, content_type: str = "") -> tuple[str, list[FeedEntry]]:
    """Parse an RSS or Atom document into its title and entries.

    Args:
        data: The document.
        url: Its URL, for messages.
        content_type: The media type the server gave, for messages.

    Raises:
        FeedError: The document is not a feed feedparser can read.
    """
    import feedparser

    doc = feedparser.parse(data)
    if not doc.get("version") and not doc.entries:
        why = doc.get("bozo_exception")
        if "html" in content_type:
            detail = f" (the server sent {content_type}, a web page)"
        else:
            detail = f" ({str(why).splitlines()[0]})" if why else ""
        raise FeedError(url, "not an RSS or Atom feed" + detail)
    entries = []
    for n, e in enumerate(doc.entries, start=1):
        contents = [c.get("value", "") for c in e.get("content", []) or []]
        link = str(e.get("link", "") or "").strip()
        entries.append(
            FeedEntry(
                n=n,
                guid=str(e.get("id", "") or link).strip(),
                link=link,
                title=" ".join(str(e.get("title", "")).split()),
                author=str(e.get("author", "") or ""),
                date=_iso(e.get("published_parsed") or e.get("updated_parsed")),
                content=max(contents, key=len) if contents else "",
                entry_hash=entry_hash(e),
            )
        )
    return str(doc.feed.get("title", "") or ""), entries


def _text_hash(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()


def load_feed(
    url: str,
    *,
    indexed: Sequence[Article] = (),
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_redirects: int = DEFAULT_MAX_REDIRECTS,
    workers: int = 4,
) -> FeedLoad:
    """Read a feed and the articles of its new and changed entries.

    Args:
        url: The feed's ``http(s)`` URL.
        indexed: The articles already indexed (skipped by GUID, URL or content hash).
        timeout: Seconds for each download (the feed, each article).
        max_bytes: Size limit of each download.
        max_redirects: Redirects followed per download.
        workers: Articles fetched at once.

    Returns:
        The articles, per-entry errors and skipped entries; a feed that cannot be fetched or
        parsed gives one error and nothing else.
    """
    import httpx

    try:
        page = fetch(url, timeout=timeout, max_bytes=max_bytes, max_redirects=max_redirects)
        title, entries = parse_feed(page.body, url, page.content_type)
    except ArticleError as err:
        return FeedLoad(url=url, errors=[err])
    by_guid = {a.guid: a for a in indexed if a.guid}
    # an article's URL (canonical) and the URL it was fetched from (its path) both count
    by_url = {u: a for a in indexed for u in (a.path, a.url) if is_url(u)}
    texts = {_text_hash(a.text): a for a in indexed}
    todo: list[FeedEntry] = []
    skipped: list[str] = []
    for e in entries:
        known = by_guid.get(e.guid)
        if known is not None and known.entry_hash == e.entry_hash:
            skipped.append(f"{url}: {e.label()}: already indexed (same entry, article {known.id})")
        elif known is None and e.link in by_url:
            skipped.append(
                f"{url}: {e.label()}: already indexed (article {by_url[e.link].id} has its URL)"
            )
        else:
            todo.append(e)
    with httpx.Client(headers={"User-Agent": USER_AGENT}) as client:

        def one(e: FeedEntry) -> Article | ArticleError:
            try:
                return _entry_article(e, url, title, timeout, max_bytes, max_redirects, client)
            except ArticleError as err:
                where = f"{err.path}:{err.line}" if err.line is not None else err.path
                reason = str(err).removeprefix(f"{where}: ")
                return FetchError(e.link or url, f"{reason} ({e.label()} of feed {url})")

        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(todo) or 1))) as pool:
            got = list(pool.map(one, todo))
    articles: list[Article] = []
    errors: list[ArticleError] = []
    for e, g in zip(todo, got):
        if isinstance(g, ArticleError):
            errors.append(g)
            continue
        same = texts.get(_text_hash(g.text))
        if same is not None and same.guid != g.guid:
            skipped.append(f"{url}: {e.label()}: already indexed (same text as article {same.id})")
            continue
        texts[_text_hash(g.text)] = g
        articles.append(g)
    return FeedLoad(
        url=url,
        title=title,
        entries=len(entries),
        articles=articles,
        errors=errors,
        skipped=skipped,
    )


def _entry_article(
    e: FeedEntry,
    feed_url: str,
    feed_title: str,
    timeout: float,
    max_bytes: int,
    max_redirects: int,
    client: Any,
) -> Article:
    article: Article | None = None
    from_feed = False
    if e.content and len(e.content.split()) >= FULL_CONTENT_WORDS:
        page = (
            f"<html><head><title></title></head><body><article>{e.content}</article></body></html>"
        )
        try:
            article = parse_html(page, f"{feed_url}#{e.guid}", url=e.link)
            from_feed = True
        except ArticleError:
            article = None  # fall back to the link
    if article is None:
        if not e.link:
            raise ArticleError(feed_url, "the entry has neither a link nor its text")
        page_ = fetch(
            e.link,
            timeout=timeout,
            max_bytes=max_bytes,
            max_redirects=max_redirects,
            client=client,
        )
        article = article_from_page(page_)
    # the page's own metadata first, the feed's where the page has none
    host = urlsplit(e.link).netloc
    # trafilatura names the host when a page names no outlet: the feed's title is better
    named = article.source and article.source not in (host, urlsplit(e.link).hostname)
    return make_article(
        article.text,
        title=(e.title or article.title) if from_feed else (article.title or e.title),
        source=article.source if named else (feed_title or article.source),
        author=article.author or e.author,
        date=article.date or e.date,
        url=article.url or e.link,
        path=article.path or e.link,
        fields=article.fields,
        guid=e.guid,
        entry_hash=e.entry_hash,
    )
