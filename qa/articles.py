"""Stage 1, ingest: read article files into clean :class:`Article` values.

Formats: plain text (``.txt``, ``.text``), Markdown (``.md``, ``.markdown``), HTML
(``.html``, ``.htm``; main text and metadata through trafilatura), JSON / JSONL
(one article per object: ``text`` or ``body``, plus optional ``title``, ``url``, ``source``,
``author``, ``date``), and PDF (``.pdf``; clippings in columns, see :mod:`qa.pdf`). Pages
and feeds by URL are read in :mod:`qa.fetch` and :mod:`qa.feeds`.

Plain-text newspaper clippings such as the seed article carry their metadata in the first
lines (the outlet, a headline in capitals, a byline starting with "- " or "By") and page
boilerplate at the end ("Newspapers in English"); both are recognised. The header lines stay
in :attr:`Article.text` so that a question about the byline can be cited to it; their spans
are kept in :attr:`Article.fields`.

One bad file never stops the others: :func:`load_paths` returns the articles it could read
and an :class:`~qa.errors.ArticleError` per file (or JSONL line) it could not.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from qa.dates import iso_date
from qa.errors import ArticleError

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".txt", ".text"}
MARKDOWN_SUFFIXES = {".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
JSON_SUFFIXES = {".json"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED_SUFFIXES = (
    TEXT_SUFFIXES
    | MARKDOWN_SUFFIXES
    | HTML_SUFFIXES
    | JSON_SUFFIXES
    | JSONL_SUFFIXES
    | PDF_SUFFIXES
)

#: Trailing lines that newspaper-archive sites append to every page.
BOILERPLATE_PATTERNS = [
    re.compile(r"^newspapers (in|from) [\w .'-]+$", re.I),
    re.compile(r"^printed and distributed by pressreader.*$", re.I),
    re.compile(r"^pressreader\.com.*$", re.I),
    re.compile(r"^copyright and protected by applicable law.*$", re.I),
    re.compile(r"^©.{0,80}$"),
]
_BYLINE = re.compile(
    r"^(?:[-–—•]\s*|by\s+)(?P<name>[A-Z][\w'’.-]*(?:\s+(?:and\s+)?[A-Z][\w'’.-]*){0,5})\s*$",
    re.I,
)
_DATE = re.compile(
    r"^(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s+)?"
    r"(?:\d{4}-\d{2}-\d{2}|\d{1,2}\s+[a-z]{3,9}\.?\s+\d{4}|[a-z]{3,9}\.?\s+\d{1,2},?\s+\d{4})$",
    re.I,
)
_FRONT_MATTER = re.compile(r"\A---\n(?P<body>.*?)\n---\n", re.S)
_JSON_TEXT_KEYS = ("text", "body", "content", "article")
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


@dataclass(frozen=True)
class Article:
    """One article, cleaned, with its metadata.

    Attributes:
        id: Stable id: a hash of the URL when there is one, else of the text.
        text: The cleaned article text. Every offset elsewhere (chunks, citations) is an
            index into this string.
        title: The headline, or "" when none was found.
        source: The outlet (newspaper, site), or "".
        author: The byline, or "".
        date: The publication date as ISO ``YYYY-MM-DD`` when it names a day (from the
            page, the feed or the text), else as written, or "".
        url: The article's URL, or "".
        path: The file the article was read from ("" for text given directly).
        content_hash: SHA-256 of ``text`` and the metadata; re-ingesting an article with the
            same id and hash does nothing.
        fields: Character spans ``[start, end)`` in ``text`` of metadata written in the text
            itself (``title``, ``source``, ``author``, ``date``), so answers about them can be
            cited to the header.
        guid: The id of the feed entry the article came from (RSS ``guid``, Atom ``id``),
            or "".
        entry_hash: A hash of that feed entry as last read (id, dates, title, summary,
            content), so a re-read feed skips an entry that has not changed; or "".
    """

    id: str
    text: str
    title: str = ""
    source: str = ""
    author: str = ""
    date: str = ""
    url: str = ""
    path: str = ""
    content_hash: str = ""
    fields: dict[str, tuple[int, int]] = field(default_factory=dict)
    guid: str = ""
    entry_hash: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict of every field."""
        d = asdict(self)
        d["fields"] = {k: list(v) for k, v in self.fields.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Article:
        """Rebuild an article from :meth:`to_dict` output."""
        d = dict(d)
        d["fields"] = {k: (int(v[0]), int(v[1])) for k, v in (d.get("fields") or {}).items()}
        return cls(**d)


@dataclass(frozen=True)
class LoadResult:
    """What :func:`load_paths` read.

    Attributes:
        articles: Every article read, in path order.
        errors: One error per file or record that could not be read; the message names the
            file (and the line for JSONL).
        files: How many files were looked at.
    """

    articles: list[Article]
    errors: list[ArticleError]
    files: int


def make_article(
    text: str,
    *,
    title: str = "",
    source: str = "",
    author: str = "",
    date: str = "",
    url: str = "",
    path: str = "",
    fields: dict[str, tuple[int, int]] | None = None,
    article_id: str | None = None,
    guid: str = "",
    entry_hash: str = "",
) -> Article:
    """Build an :class:`Article` from text and metadata, computing its id and hash.

    The text is kept as given except that line endings become "\\n", so offsets computed
    by the caller on "\\n" text stay valid. A date that names a day ("Tuesday, 5 March
    2024") is stored as ISO ``YYYY-MM-DD`` (:func:`qa.dates.iso_date`); any other is kept as
    written.

    Raises:
        ArticleError: The text is empty.
    """
    text = _encodable(text.replace("\r\n", "\n").replace("\r", "\n"))
    if not text.strip():
        raise ArticleError(path or "<text>", "the article has no text")
    # a file name that is not UTF-8 arrives with surrogate escapes ("caf\udce9.txt")
    title, source, author, date, url, path = map(
        _encodable, (title, source, author, date, url, path)
    )
    date = iso_date(date) or date
    meta = "\x1f".join([title, source, author, date, url])
    if guid or entry_hash:  # only then: the hashes of articles from files stay as they were
        meta += "\x1f" + _encodable(guid) + "\x1f" + entry_hash
    content_hash = hashlib.sha256((meta + "\x1e" + text).encode("utf-8")).hexdigest()
    if article_id is None:
        key = ("url:" + url.strip()) if url.strip() else ("text:" + text.strip())
        article_id = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    article_id = _encodable(article_id)
    return Article(
        id=article_id,
        text=text,
        title=_one_line(title),
        source=_one_line(source),
        author=_one_line(author),
        date=_one_line(date),
        url=url.strip(),
        path=path,
        content_hash=content_hash,
        fields=dict(fields or {}),
        guid=_encodable(guid.strip()),
        entry_hash=entry_hash,
    )


def parse_text(raw: str, path: str = "", *, markdown: bool = False) -> Article:
    """Parse a plain-text or Markdown article, recognising a clipping's header and footer.

    Args:
        raw: The file's text.
        path: Where it came from, for messages and :attr:`Article.path`.
        markdown: Read YAML front matter and a leading ``# Heading`` as the title.

    Raises:
        ArticleError: Nothing but boilerplate is left.
    """
    text = _clean_text(raw)
    meta: dict[str, str] = {}
    if markdown:
        m = _FRONT_MATTER.match(text)
        if m:
            for line in m.group("body").splitlines():
                key, sep, value = line.partition(":")
                if sep:
                    meta[key.strip().lower()] = value.strip().strip("\"'")
            text = text[m.end() :].lstrip("\n")
    text = _strip_boilerplate(text)
    if not text.strip():
        raise ArticleError(path or "<text>", "the file holds no article text")
    fields = _header_fields(text, markdown=markdown)
    values = {k: _field_value(k, text[s:e]) for k, (s, e) in fields.items()}
    return make_article(
        text,
        title=meta.get("title") or values.get("title", ""),
        source=meta.get("source") or meta.get("outlet") or values.get("source", ""),
        author=meta.get("author") or meta.get("byline") or values.get("author", ""),
        date=str(meta.get("date") or values.get("date", "")),
        url=meta.get("url", ""),
        path=path,
        fields=fields,
    )


def parse_html(raw: str, path: str = "", *, url: str = "") -> Article:
    """Extract an HTML page's main text and metadata with trafilatura.

    Args:
        raw: The page.
        path: Where it came from (a file or the URL asked for), for messages and
            :attr:`Article.path`.
        url: The URL the page was fetched from; the article's URL is the page's canonical
            URL when it declares one, else this.

    Raises:
        ArticleError: trafilatura finds no main text.
    """
    import trafilatura

    doc = trafilatura.bare_extraction(
        raw, with_metadata=True, include_comments=False, include_tables=False, url=url or None
    )
    if doc is None:
        raise ArticleError(path, "no article text found in the HTML page")
    get = doc.get if isinstance(doc, dict) else (lambda k, d=None: getattr(doc, k, d))
    body = _clean_text(get("text") or "")
    if not body.strip():
        raise ArticleError(path, "no article text found in the HTML page")
    return make_article(
        body,
        title=get("title") or "",
        source=get("sitename") or get("hostname") or "",
        author=get("author") or "",
        date=get("date") or "",
        url=get("url") or url,
        path=path,
    )


def article_from_record(record: Any, path: str = "", line: int | None = None) -> Article:
    """Build an article from one JSON object (``text`` or ``body`` plus optional metadata).

    The text is kept exactly as given (offsets into it stay valid).

    Raises:
        ArticleError: The record is not an object or has no text; the message names the
            file, the line and the field.
    """
    where = path or "<record>"
    if not isinstance(record, dict):
        raise ArticleError(where, f"expected a JSON object, got {type(record).__name__}", line)
    text = next((record[k] for k in _JSON_TEXT_KEYS if isinstance(record.get(k), str)), None)
    if text is None or not text.strip():
        raise ArticleError(
            where,
            f"the record has no 'text' or 'body' field with text (keys: {sorted(record)})",
            line,
        )

    def meta(*keys: str) -> str:
        for k in keys:
            v = record.get(k)
            if isinstance(v, list):
                v = ", ".join(str(x) for x in v if x)
            if v:
                return str(v)
        return ""

    return make_article(
        text,
        title=meta("title", "headline"),
        source=meta("source", "outlet", "sitename", "publisher"),
        author=meta("author", "authors", "byline"),
        date=meta("date", "publish_date", "published"),
        url=meta("url", "link"),
        path=f"{path}:{line}" if line is not None else path,
        article_id=str(record["id"]) if record.get("id") not in (None, "") else None,
    )


def read_file(path: str | os.PathLike[str], max_bytes: int = 20_000_000) -> list[Article]:
    """Read every article in one file.

    JSONL records that fail are logged and skipped; use :func:`load_paths` to collect them.

    Raises:
        ArticleError: The file cannot be read, is not text, is too large, or holds no
            article.
    """
    articles, errors = _read_file(Path(path), max_bytes)
    if not articles and errors:
        raise errors[0]
    for e in errors:
        log.warning("%s", e)
    return articles


def load_paths(paths: Iterable[str | os.PathLike[str]], max_bytes: int = 20_000_000) -> LoadResult:
    """Read every article under the given files and folders (folders recursively).

    Hidden files and folders are skipped; symlinked folders are not followed, so a symlink
    loop cannot hang the walk. Files with an unknown extension inside a folder are skipped
    quietly; named directly, they are an error.

    Args:
        paths: Files and folders.
        max_bytes: Files larger than this are refused with a message.

    Returns:
        The articles read and one error per file or record that failed.
    """
    articles: list[Article] = []
    errors: list[ArticleError] = []
    files = 0
    for p in paths:
        root = Path(p)
        if not root.exists() and not root.is_symlink():
            errors.append(ArticleError(str(root), "no such file or folder"))
            continue
        for file, explicit in _walk(root):
            files += 1
            if file.suffix.lower() not in SUPPORTED_SUFFIXES:
                if explicit:
                    errors.append(ArticleError(str(file), _unknown_suffix(file)))
                continue
            got, errs = _read_file(file, max_bytes)
            articles.extend(got)
            errors.extend(errs)
    return LoadResult(articles=articles, errors=errors, files=files)


def _unknown_suffix(file: Path) -> str:
    known = ", ".join(sorted(SUPPORTED_SUFFIXES))
    return f"unsupported file type {file.suffix or '(none)'!r}; supported: {known}"


def _walk(root: Path) -> Iterator[tuple[Path, bool]]:
    if root.is_file():
        yield root, True
        return
    if not root.is_dir():
        yield root, True  # a broken symlink or special file: _read_file reports it
        return
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=None):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith("."):
                yield Path(dirpath) / name, False


def _read_file(file: Path, max_bytes: int) -> tuple[list[Article], list[ArticleError]]:
    name = str(file)
    suffix = file.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        return [], [ArticleError(name, _unknown_suffix(file))]
    try:
        if not file.is_file():
            return [], [ArticleError(name, "not a regular file (broken link or special file)")]
        size = file.stat().st_size
        if size > max_bytes:
            return [], [
                ArticleError(
                    name,
                    f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit "
                    "(raise it with QA_MAX_FILE_MB)",
                )
            ]
        data = file.read_bytes()
    except PermissionError:
        return [], [ArticleError(name, "permission denied")]
    except OSError as e:
        return [], [ArticleError(name, f"cannot read: {e.strerror or e}")]
    try:
        if suffix in PDF_SUFFIXES:
            from qa.pdf import parse_pdf

            return [parse_pdf(data, name)], []
        raw = decode_bytes(data, name)
        if suffix in JSONL_SUFFIXES:
            return _read_jsonl(raw, name)
        if suffix in JSON_SUFFIXES:
            return _read_json(raw, name)
        if suffix in HTML_SUFFIXES:
            return [parse_html(raw, name)], []
        return [parse_text(raw, name, markdown=suffix in MARKDOWN_SUFFIXES)], []
    except ArticleError as e:
        return [], [e]


def decode_bytes(data: bytes, path: str = "<bytes>") -> str:
    """Decode a file's bytes: a UTF-16/32 byte-order mark, else UTF-8, else cp1252 for
    mostly-ASCII text, else the encoding charset-normalizer detects.

    Raises:
        ArticleError: The data is empty or looks binary.
    """
    if not data.strip():
        raise ArticleError(path, "the file is empty")
    # UTF-16/32 text (Windows "Unicode" files) is full of NUL bytes: trust its BOM first.
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom) :].decode(encoding)
            except UnicodeDecodeError:
                raise ArticleError(
                    path,
                    f"the file starts with a {encoding} byte-order mark "
                    f"but is not valid {encoding}",
                ) from None
            if not text.strip():
                raise ArticleError(path, "the file is empty")
            return text
    if b"\x00" in data[:8192]:
        raise ArticleError(path, "the file looks binary (it contains NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    sample = data[:8192]
    if sum(1 for b in sample if b < 32 and b not in b"\n\r\t\f") > 0.05 * len(sample):
        raise ArticleError(path, "the file looks binary, not text")
    if sum(1 for b in sample if b >= 0x80) <= 0.1 * len(sample):
        # Mostly ASCII with a few accented letters or symbols ("\xa315.8m"): the Western
        # Windows code page is by far the likeliest, and charset-normalizer guesses wrongly
        # on such short texts (cp1257 or cp1250, turning "\u00a3" into "\u017b").
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:  # the five bytes cp1252 leaves undefined
            text = data.decode("latin-1")
        log.info("%s: not UTF-8, decoded as cp1252", path)
        return text
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise ArticleError(path, "the file is not text in any encoding that could be detected")
    text = str(best)
    control = sum(1 for ch in text[:4096] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if control > 0.05 * min(len(text), 4096):
        raise ArticleError(path, "the file looks binary, not text")
    log.info("%s: not UTF-8, decoded as %s", path, best.encoding)
    return text


def _read_json(raw: str, path: str) -> tuple[list[Article], list[ArticleError]]:
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as e:
        return [], [ArticleError(path, f"invalid JSON: {e.msg} (column {e.colno})", e.lineno)]
    except RecursionError:
        return [], [ArticleError(path, "invalid JSON: nested too deeply")]
    if isinstance(doc, dict) and isinstance(doc.get("articles"), list):
        doc = doc["articles"]
    records = doc if isinstance(doc, list) else [doc]
    articles, errors = [], []
    for i, record in enumerate(records):
        try:
            articles.append(
                article_from_record(record, path if len(records) == 1 else f"{path}[{i}]")
            )
        except ArticleError as e:
            errors.append(e)
    return articles, errors


def _read_jsonl(raw: str, path: str) -> tuple[list[Article], list[ArticleError]]:
    articles, errors = [], []
    for lineno, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            errors.append(ArticleError(path, f"invalid JSON: {e.msg} (column {e.colno})", lineno))
            continue
        except RecursionError:
            errors.append(ArticleError(path, "invalid JSON: nested too deeply", lineno))
            continue
        try:
            articles.append(article_from_record(record, path, lineno))
        except ArticleError as e:
            errors.append(e)
    if not articles and not errors:
        errors.append(ArticleError(path, "the file holds no JSON records"))
    return articles, errors


def _clean_text(raw: str) -> str:
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    text = text.replace("\u00a0", " ")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n")


def _strip_boilerplate(text: str) -> str:
    lines = text.split("\n")
    while lines and (
        not lines[-1].strip() or any(p.match(lines[-1].strip()) for p in BOILERPLATE_PATTERNS)
    ):
        lines.pop()
    return "\n".join(lines)


def _paragraphs(text: str) -> Iterator[tuple[int, int]]:
    for m in re.finditer(r"[^\n]+(?:\n[^\n]+)*", text):
        yield m.start(), m.end()


def _is_caps(s: str) -> bool:
    letters = [c for c in s if c.isalpha()]
    return len(letters) >= 4 and sum(c.isupper() for c in letters) / len(letters) > 0.8


def _looks_like_body(s: str) -> bool:
    if "\n" in s or len(s) > 160:
        return True
    words = s.split()
    return len(words) > 8 and s.rstrip().endswith((".", "”", '"', "?", "!")) and not _is_caps(s)


def _header_fields(text: str, *, markdown: bool) -> dict[str, tuple[int, int]]:
    """Find the header lines of a clipping: outlet, headline, byline, date."""
    fields: dict[str, tuple[int, int]] = {}
    header: list[tuple[int, int]] = []
    for start, end in _paragraphs(text):
        para = text[start:end]
        if len(header) >= 5 or _looks_like_body(para):
            break
        header.append((start, end))
    if not header and text.strip():
        return fields
    plain: list[tuple[int, int]] = []
    for start, end in header:
        line = text[start:end].strip()
        if markdown and line.startswith("#") and "title" not in fields:
            fields["title"] = (start, end)
        elif _BYLINE.match(line) and "author" not in fields:
            fields["author"] = (start, end)
        elif _DATE.match(line) and "date" not in fields:
            fields["date"] = (start, end)
        else:
            plain.append((start, end))
    if "title" not in fields and plain:
        caps = [p for p in plain if _is_caps(text[p[0] : p[1]])]
        title = caps[0] if caps else (plain[1] if len(plain) >= 2 else plain[0])
        fields["title"] = title
        before = [p for p in plain if p[0] < title[0]]
        if before:
            fields["source"] = before[0]
    elif plain and "source" not in fields:
        before = [p for p in plain if p[0] < fields["title"][0]]
        if before:
            fields["source"] = before[0]
    return fields


def _field_value(kind: str, raw: str) -> str:
    value = raw.strip()
    if kind == "author":
        m = _BYLINE.match(value)
        return m.group("name").strip() if m else value
    if kind == "title":
        value = value.lstrip("#").strip()
        return value[:-1] if value.endswith(".") and not value.endswith("..") else value
    return value


def _encodable(s: str) -> str:
    """Replace lone surrogates (JSON "\\ud800") with "?" one for one, so offsets stay valid
    and the text can be hashed and saved as UTF-8."""
    return s.encode("utf-8", "replace").decode("utf-8")


def _one_line(s: str) -> str:
    return " ".join(str(s).split())
