"""Stage 1, ingest from PDF: newspaper clippings and e-paper pages as articles (pdfminer.six).

pdfminer's layout analysis groups characters into lines and lines into text boxes, and
orders the boxes as a reader would (a left column before the right one), which is what a
multi-column clipping needs. From the boxes :func:`pdf_text` makes plain text:

* page furniture is dropped: running heads and feet (a line in the top or bottom 8% of a
  page whose text, digits aside, comes back on another page), page numbers and folios
  ("7", "A7", "Page 3 of 4"), and the archive's lines ("Newspapers in English");
* a word hyphenated across a line end is joined ("territo-" + "ry"), keeping the hyphen
  when the document writes the word with one elsewhere ("Kurdish-led");
* each text box is a paragraph, and a paragraph cut by a column or page break (it ends
  without closing punctuation and the next starts in lower case) is joined again.

:func:`parse_pdf` then reads that text as a plain-text clipping is read
(:func:`qa.articles.parse_text`): the header's outlet, headline and byline are recognised as
for the seed article. A PDF with no text layer (a scan) is refused with a message saying so.

Example:
    >>> parse_pdf(Path("clipping.pdf").read_bytes(), "clipping.pdf").title
    'LAST ISIL OUTPOST IN SYRIA UNDER U.S.-BACKED ATTACK'
"""

from __future__ import annotations

import io
import logging
import re
from collections import Counter
from dataclasses import dataclass

from qa.articles import BOILERPLATE_PATTERNS, Article, make_article, parse_text
from qa.dates import DATE_IN_TEXT, iso_date
from qa.errors import ArticleError

log = logging.getLogger(__name__)

#: Share of the page height, at the top and at the bottom, where running heads live.
MARGIN = 0.08
_PAGE_NUMBER = re.compile(
    r"^(?:page\s*)?[-–—(\[]?\s*[A-Z]?\d{1,4}\s*[-–—)\]]?(?:\s*(?:of|/)\s*\d{1,4})?$", re.I
)
_HYPHENATED = re.compile(r"([A-Za-z]+)-$")
_WORD_START = re.compile(r"^([a-z]+)")
_ENDS_PARAGRAPH = re.compile(r"[.!?:;\"”’')\]]$")


@dataclass(frozen=True)
class _Line:
    text: str
    page: int
    top: float  # distance from the top of the page, 0..1
    box: int  # the text box (paragraph) it belongs to, numbered over the whole document


def pdf_lines(data: bytes, path: str) -> list[_Line]:
    """The text lines of a PDF in reading order, each with its page, height and box.

    Raises:
        ArticleError: Not a PDF, encrypted, or no text layer.
    """
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTFigure, LTImage, LTTextBox, LTTextLine
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfparser import PDFSyntaxError
    from pdfminer.psparser import PSException

    if not data.lstrip()[:5].startswith(b"%PDF-"):
        raise ArticleError(path, "not a PDF (it does not start with %PDF-)")
    lines: list[_Line] = []
    pages = images = 0
    box = 0
    try:
        for page_no, page in enumerate(extract_pages(io.BytesIO(data), laparams=LAParams())):
            pages += 1
            height = float(page.height) or 1.0
            for element in page:
                if isinstance(element, (LTFigure, LTImage)):
                    images += 1
                if not isinstance(element, LTTextBox):
                    continue
                box += 1
                for line in element:
                    if isinstance(line, LTTextLine):
                        text = " ".join(line.get_text().split())
                        if text:
                            top = 1.0 - float(line.y1) / height
                            lines.append(_Line(text, page_no, top, box))
    except (PDFPasswordIncorrect, PDFEncryptionError):
        raise ArticleError(path, "the PDF is encrypted; save an unprotected copy") from None
    except (PDFSyntaxError, PSException, ValueError, KeyError, TypeError) as e:
        raise ArticleError(path, f"not a readable PDF ({type(e).__name__}: {e})") from None
    if not lines:
        what = f"its {pages} page{'s' if pages != 1 else ''}"
        scan = f" ({what} hold only images: a scan)" if images else ""
        raise ArticleError(
            path,
            f"the PDF has no text layer{scan}; run OCR on it first "
            "(e.g. `ocrmypdf in.pdf out.pdf`) and ingest the result",
        )
    return lines


def _furniture(lines: list[_Line]) -> set[int]:
    """Indexes of running heads and feet, page numbers and archive lines."""

    def shape(text: str) -> str:
        return re.sub(r"\d+", "#", text.lower())

    in_margin = [ln.top < MARGIN or ln.top > 1 - MARGIN for ln in lines]
    pages_of: dict[str, set[int]] = {}
    for ln, margin in zip(lines, in_margin):
        if margin:
            pages_of.setdefault(shape(ln.text), set()).add(ln.page)
    drop = set()
    folios: set[tuple[int, float]] = set()
    for i, (ln, margin) in enumerate(zip(lines, in_margin)):
        text = ln.text.strip()
        if any(p.match(text) for p in BOILERPLATE_PATTERNS):
            drop.add(i)
        elif margin and _PAGE_NUMBER.match(text):
            drop.add(i)
            folios.add((ln.page, ln.top))
        elif margin and len(pages_of[shape(text)]) > 1:
            drop.add(i)
    # on a one-page clipping nothing repeats: a margin line level with the page number or
    # folio ("NATIONAL POST, WEDNESDAY ...   A7") is the running head
    for i, (ln, margin) in enumerate(zip(lines, in_margin)):
        if margin and any(p == ln.page and abs(t - ln.top) < 0.01 for p, t in folios):
            drop.add(i)
    return drop


def _vocabulary(lines: list[_Line]) -> Counter[str]:
    words: Counter[str] = Counter()
    for ln in lines:
        words.update(w.lower() for w in re.findall(r"[A-Za-z]+(?:-[A-Za-z]+)*", ln.text))
    return words


def _join(a: str, b: str, vocab: Counter[str]) -> str:
    """Join two lines of one paragraph, repairing a word hyphenated across them."""
    m, n = _HYPHENATED.search(a), _WORD_START.match(b)
    if m and n:
        head, tail = m.group(1), n.group(1)
        whole, hyphened = (head + tail).lower(), f"{head}-{tail}".lower()
        if vocab[hyphened] and not vocab[whole]:
            return a + b  # the document writes it with a hyphen ("Kurdish-led")
        return a[:-1] + b
    return f"{a} {b}"


def pdf_text(data: bytes, path: str = "<pdf>") -> str:
    """The text of a PDF as paragraphs, furniture dropped and hyphenation repaired.

    Raises:
        ArticleError: Not a PDF, encrypted, no text layer, or nothing left but furniture.
    """
    return _pdf_text(pdf_lines(data, path), path)[0]


def _pdf_text(lines: list[_Line], path: str) -> tuple[str, list[str]]:
    """The text as paragraphs, and the furniture lines dropped from it."""
    drop = _furniture(lines)
    kept = [ln for i, ln in enumerate(lines) if i not in drop]
    if not kept:
        raise ArticleError(path, "the PDF holds only page furniture (running heads, numbers)")
    vocab = _vocabulary(kept)
    paragraphs: list[str] = []
    current = ""
    last_box = None
    for ln in kept:
        if last_box is not None and ln.box != last_box:
            # a paragraph cut by a column or page break goes on in lower case
            if not (_ENDS_PARAGRAPH.search(current) is None and ln.text[:1].islower()):
                paragraphs.append(current)
                current = ""
        current = _join(current, ln.text, vocab) if current else ln.text
        last_box = ln.box
    if current:
        paragraphs.append(current)
    return "\n\n".join(paragraphs), [lines[i].text for i in sorted(drop)]


def parse_pdf(data: bytes, path: str = "<pdf>") -> Article:
    """Read a PDF clipping as an article: its text (see :func:`pdf_text`) read as a
    plain-text clipping, so the outlet, headline and byline at its head are recognised.
    When the text gives no date, the first date a running head writes ("NATIONAL POST,
    WEDNESDAY, DECEMBER 12, 2018") is the article's.

    Raises:
        ArticleError: Not a PDF, encrypted, no text layer (a scan), or no article text;
            the message names the file.
    """
    text, furniture = _pdf_text(pdf_lines(data, path), path)
    a = parse_text(text, path)
    if a.date:
        return a
    for line in furniture:
        m = DATE_IN_TEXT.search(line)
        date = iso_date(m.group()) if m else ""
        if date:
            return make_article(
                a.text,
                title=a.title,
                source=a.source,
                author=a.author,
                date=date,
                url=a.url,
                path=a.path,
                fields=a.fields,
            )
    return a
