"""Stage 1, ingest from the web: fetch article pages (and PDFs) by URL.

:func:`fetch` downloads one URL with the limits a server that fetches on a user's behalf
needs: ``http``/``https`` only (every redirect checked too), a redirect limit, one deadline
for the whole download (a server that trickles bytes cannot hold a worker), and a size limit
checked while reading. :func:`load_sources` reads a mix of files, folders, URLs and files of
URLs (one a line) into articles; one URL that fails never stops the others: its error is
in :attr:`~qa.articles.LoadResult.errors` and names the URL.

A page becomes an article as a local HTML file does (trafilatura: text, headline, outlet,
byline, date, canonical URL), a PDF as a local ``.pdf`` file is (:mod:`qa.pdf`). The article's
URL, and so its id, is the page's canonical URL when it declares one, else the URL reached
after redirects.

Example:
    >>> page = fetch("https://example.org/news/story.html", timeout=10)
    >>> page.final_url, page.content_type
    ('https://example.org/news/story.html', 'text/html')
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from qa.articles import Article, LoadResult, decode_bytes, load_paths, make_article, parse_html
from qa.errors import ArticleError

log = logging.getLogger(__name__)

#: Defaults of :class:`qa.settings.Settings` (``fetch_timeout``, ``fetch_max_redirects``).
DEFAULT_TIMEOUT = 20.0
DEFAULT_MAX_REDIRECTS = 5
DEFAULT_MAX_BYTES = 20_000_000
#: Suffixes of a file that lists URLs, one a line (a ``.txt`` file holding only URLs is one too).
URL_LIST_SUFFIXES = {".urls", ".txt", ".list"}
#: A fetched page whose main text is shorter than this many words holds no article.
MIN_WORDS = 12
USER_AGENT = "article-qa/0.1 (+https://pypi.org/project/article-qa/)"

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_PDF_TYPES = ("application/pdf", "application/x-pdf")


class FetchError(ArticleError):
    """One URL could not be fetched or read; the message names the URL and says why."""


@dataclass(frozen=True)
class Page:
    """One downloaded URL.

    Attributes:
        url: The URL asked for.
        final_url: The URL the body came from, after redirects.
        status: The HTTP status of the final response.
        content_type: The media type, lower case, without parameters ("text/html").
        charset: The charset the ``Content-Type`` header names, or "".
        body: The response body (at most the size limit).
        redirects: How many redirects were followed.
    """

    url: str
    final_url: str
    status: int
    content_type: str
    charset: str
    body: bytes
    redirects: int = 0

    def text(self) -> str:
        """The body as text: the header's charset, else detected as for files.

        Raises:
            FetchError: The body is empty or not text.
        """
        if self.charset:
            try:
                return self.body.decode(self.charset, errors="replace")
            except LookupError:
                pass
        try:
            return decode_bytes(self.body, self.url)
        except ArticleError as e:
            raise FetchError(self.url, str(e).removeprefix(f"{self.url}: ")) from None


def is_url(s: str | os.PathLike[str]) -> bool:
    """Whether ``s`` is written as a URL (``scheme://...``) rather than a file path."""
    return isinstance(s, str) and bool(_SCHEME.match(s.strip()))


def check_url(url: str) -> str:
    """Return the URL stripped, if it is an ``http``/``https`` URL with a host.

    Raises:
        FetchError: Another scheme, or no host.
    """
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchError(
            url, f"only http:// and https:// URLs can be fetched, not {parts.scheme or '(none)'}:"
        )
    if not parts.hostname:
        raise FetchError(url, "the URL has no host name")
    return url


def fetch(
    url: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_redirects: int = DEFAULT_MAX_REDIRECTS,
    client: Any = None,
) -> Page:
    """Download one URL.

    Args:
        url: An ``http`` or ``https`` URL.
        timeout: Seconds for the whole download, redirects included.
        max_bytes: Bodies larger than this are refused (``Content-Length`` first, then
            while reading).
        max_redirects: Redirects followed before giving up; each target must be
            ``http``/``https`` too.
        client: An ``httpx.Client`` to reuse (connection pooling across a batch).

    Returns:
        The final response's body and what it says about itself.

    Raises:
        FetchError: Not http/https, unreachable, no answer in time, an HTTP error status,
            too many redirects, or too large; the message names the URL.
    """
    import httpx

    asked = check_url(url)
    deadline = time.monotonic() + timeout
    own = client is None
    http = client or httpx.Client(headers={"User-Agent": USER_AGENT})
    try:
        current = asked
        for hop in range(max_redirects + 1):
            left = deadline - time.monotonic()
            if left <= 0:
                raise FetchError(asked, f"no complete answer within {timeout:g} s")
            try:
                with http.stream(
                    "GET", current, timeout=httpx.Timeout(left), follow_redirects=False
                ) as r:
                    if r.is_redirect:
                        target = r.headers.get("location", "")
                        if not target:
                            raise FetchError(asked, f"redirect {r.status_code} without a target")
                        nxt = urljoin(current, target)
                        try:
                            current = check_url(nxt)
                        except FetchError as e:
                            reason = str(e).removeprefix(f"{nxt}: ")
                            raise FetchError(asked, f"redirected to {nxt}: {reason}") from None
                        continue
                    if r.status_code >= 400:
                        raise FetchError(
                            asked, f"the server answered {r.status_code} {r.reason_phrase}"
                        )
                    body = _read_limited(r, asked, max_bytes, deadline, timeout)
                    media, charset = _content_type(r.headers.get("content-type", ""))
                    return Page(
                        url=asked,
                        final_url=str(r.url),
                        status=r.status_code,
                        content_type=media,
                        charset=charset,
                        body=body,
                        redirects=hop,
                    )
            except httpx.TimeoutException:
                raise FetchError(asked, f"no complete answer within {timeout:g} s") from None
            except httpx.ConnectError as e:
                raise FetchError(asked, f"cannot reach the server ({_reason(e)})") from None
            except httpx.HTTPError as e:
                raise FetchError(asked, f"the download failed ({_reason(e)})") from None
        raise FetchError(asked, f"more than {max_redirects} redirects")
    finally:
        if own:
            http.close()


def _read_limited(r: Any, url: str, max_bytes: int, deadline: float, timeout: float) -> bytes:
    limit = f"over the {max_bytes / 1e6:g} MB limit (raise it with QA_MAX_FILE_MB)"
    declared = r.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(url, f"the page is {int(declared) / 1e6:.1f} MB, {limit}")
    parts: list[bytes] = []
    size = 0
    for chunk in r.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(url, f"the page is {limit}")
        parts.append(chunk)
        if time.monotonic() > deadline:
            raise FetchError(url, f"no complete answer within {timeout:g} s")
    return b"".join(parts)


def _content_type(header: str) -> tuple[str, str]:
    media, _, params = header.partition(";")
    charset = ""
    for p in params.split(";"):
        key, _, value = p.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip("\"'")
    return media.strip().lower(), charset


def _reason(e: Exception) -> str:
    text = str(e) or type(e).__name__
    return text.splitlines()[0][:200]


def article_from_page(page: Page) -> Article:
    """Turn a downloaded page into an article: HTML through trafilatura, PDF through
    :mod:`qa.pdf` (its URL is the URL reached).

    Raises:
        FetchError: Neither HTML nor PDF, or nothing extractable.
    """
    media = page.content_type
    try:
        if media in _PDF_TYPES or (
            media in ("", "application/octet-stream") and page.body.startswith(b"%PDF-")
        ):
            from qa.pdf import parse_pdf

            a = parse_pdf(page.body, page.url)
            return make_article(
                a.text,
                title=a.title,
                source=a.source,
                author=a.author,
                date=a.date,
                url=page.final_url,
                path=a.path,
                fields=a.fields,
            )
        if media in _HTML_TYPES or (not media and b"<html" in page.body[:2048].lower()):
            article = parse_html(page.text(), page.url, url=page.final_url)
            words = len(article.text.split())
            if words < MIN_WORDS:
                # what is left of a page with no article is its menu ("Home | News")
                raise FetchError(
                    page.url,
                    f"no article text found in the page (its main text is {words} "
                    f"word{'' if words == 1 else 's'})",
                )
            return article
    except FetchError:
        raise
    except ArticleError as e:
        raise FetchError(page.url, str(e).removeprefix(f"{page.url}: ")) from None
    raise FetchError(
        page.url, f"not an HTML page or a PDF (the server says {media or 'no content type'})"
    )


def read_url_list(path: Path) -> list[tuple[int, str]] | None:
    """The URLs a file lists, one a line (blank lines and ``#`` comments skipped), with their
    line numbers; None when the file is not a list of URLs (some line is not a URL) or is
    not a ``.urls``/``.txt``/``.list`` file.

    A ``.urls`` file is always a list: a line in it that is not a URL is still returned, so
    that fetching it reports the bad line.
    """
    suffix = path.suffix.lower()
    if suffix not in URL_LIST_SUFFIXES or not path.is_file():
        return None
    try:
        if path.stat().st_size > 5_000_000:
            return None
        text = decode_bytes(path.read_bytes(), str(path))
    except (OSError, ArticleError):
        return None
    lines = [
        (n, line.strip())
        for n, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        return None
    if suffix == ".urls" or all(is_url(u) and " " not in u for _, u in lines):
        return lines
    return None


def load_urls(
    urls: Iterable[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_redirects: int = DEFAULT_MAX_REDIRECTS,
    workers: int = 4,
) -> LoadResult:
    """Fetch each URL and read its article; a URL that fails is an error in the result and
    the others are still read.

    Returns:
        The articles in URL order, one :class:`FetchError` per URL that failed, and
        ``files`` = the number of URLs.
    """
    import httpx

    todo = list(urls)
    with httpx.Client(headers={"User-Agent": USER_AGENT}) as client:

        def one(url: str) -> Article | ArticleError:
            try:
                page = fetch(
                    url,
                    timeout=timeout,
                    max_bytes=max_bytes,
                    max_redirects=max_redirects,
                    client=client,
                )
                return article_from_page(page)
            except ArticleError as e:
                return e

        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(todo) or 1))) as pool:
            got = list(pool.map(one, todo))
    articles = [g for g in got if isinstance(g, Article)]
    errors = [g for g in got if isinstance(g, ArticleError)]
    return LoadResult(articles=articles, errors=errors, files=len(todo))


def load_sources(
    sources: Sequence[str | os.PathLike[str]],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_redirects: int = DEFAULT_MAX_REDIRECTS,
) -> LoadResult:
    """Read files, folders, URLs and files of URLs into articles.

    A URL (``scheme://...``) is fetched; a file named directly that lists only URLs, one a
    line (or any ``.urls`` file), has each of them fetched; everything else is read as
    :func:`qa.articles.load_paths` reads it.

    Returns:
        Articles from the files first, then from the URLs; one error per file, record or URL
        that failed; ``files`` counts files and URLs.
    """
    paths: list[str | os.PathLike[str]] = []
    urls: list[str] = []
    for s in sources:
        if is_url(s):
            urls.append(str(s).strip())
            continue
        listed = read_url_list(Path(s))
        if listed is None:
            paths.append(s)
        else:
            log.info("%s: a list of %d URLs", s, len(listed))
            urls.extend(u for _, u in listed)
    files = load_paths(paths, max_bytes=max_bytes) if paths else LoadResult([], [], 0)
    if not urls:
        return files
    web = load_urls(urls, timeout=timeout, max_bytes=max_bytes, max_redirects=max_redirects)
    return LoadResult(
        articles=files.articles + web.articles,
        errors=files.errors + web.errors,
        files=files.files + web.files,
    )
