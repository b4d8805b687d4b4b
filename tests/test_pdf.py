"""PDF clippings made by the tests (fpdf2): columns, running heads, hyphenation, scans."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from news_server import NewsServer, Route  # noqa: E402
from pdf_fixtures import (  # noqa: E402
    BYLINE,
    HEADLINE,
    OUTLET,
    PARAGRAPHS,
    RUNNING_HEAD,
    clipping_pdf,
    scanned_pdf,
)

from qa.articles import load_paths, read_file  # noqa: E402
from qa.errors import ArticleError  # noqa: E402
from qa.pdf import pdf_text  # noqa: E402


@pytest.mark.parametrize("columns", [1, 2])
def test_clipping_read_in_order_with_header_and_without_furniture(tmp_path: Path, columns: int):
    f = tmp_path / f"clip-{columns}.pdf"
    laid_out = clipping_pdf(f, columns=columns)
    assert any(line.endswith("-") and line[-2].isalpha() for line in laid_out)  # hyphenated
    (a,) = read_file(f)
    assert a.title == HEADLINE and a.source == OUTLET and a.author == BYLINE[2:]
    assert a.text[slice(*a.fields["author"])] == BYLINE
    # every paragraph comes back whole, in order: columns read left then right, the
    # paragraph cut by the column and page breaks joined, the hyphenated words repaired
    body = a.text.split("\n\n")[3:]
    assert body == PARAGRAPHS
    for furniture in (RUNNING_HEAD, "A7", "A8", "Newspapers in English", "Newspapers from"):
        assert furniture not in a.text
    assert "Kurdish-led" in a.text and "U.S.-backed" in a.text  # real hyphens kept


def test_cited_answer_from_a_two_column_clipping(tmp_path: Path):
    from qa.engine import QA
    from qa.settings import Settings

    f = tmp_path / "clip.pdf"
    clipping_pdf(f, columns=2)
    engine = QA(Settings(data_dir=tmp_path, index_dir=tmp_path / "index"))
    assert len(engine.ingest([f]).report.added) == 1
    answer = engine.ask("How long does the SDF expect the fight to last?")
    assert "between two and three months" in answer.text
    c = answer.citations[0]
    assert c.source == OUTLET and engine.article(c.article_id).text[c.start : c.end] == c.quote


def test_scanned_pdf_is_refused_with_the_reason(tmp_path: Path):
    f = tmp_path / "scan.pdf"
    scanned_pdf(f)
    with pytest.raises(ArticleError) as e:
        read_file(f)
    assert str(e.value).startswith(f"{f}: the PDF has no text layer (its 2 pages hold only images")
    assert "OCR" in str(e.value)


def test_broken_and_fake_pdfs_name_the_file(tmp_path: Path):
    truncated = tmp_path / "truncated.pdf"
    good = tmp_path / "good.pdf"
    clipping_pdf(good)
    truncated.write_bytes(good.read_bytes()[:300])
    fake = tmp_path / "fake.pdf"
    fake.write_text("just some text, not a PDF")
    got = load_paths([truncated, fake, good])
    assert [a.title for a in got.articles] == [HEADLINE]  # the bad ones do not stop it
    msgs = [str(e) for e in got.errors]
    assert msgs[0].startswith(f"{truncated}: not a readable PDF ("), msgs[0]
    assert msgs[1] == f"{fake}: not a PDF (it does not start with %PDF-)"
    with pytest.raises(ArticleError, match="No /Root object"):
        pdf_text(b"%PDF-1.4\n%%EOF\n", "empty.pdf")
    from fpdf import FPDF

    blank = FPDF()
    blank.add_page()
    with pytest.raises(ArticleError) as e:
        pdf_text(bytes(blank.output()), "blank.pdf")
    assert str(e.value).startswith("blank.pdf: the PDF has no text layer; run OCR")


def test_pdf_by_url(tmp_path: Path):
    from qa.fetch import load_sources

    f = tmp_path / "clip.pdf"
    clipping_pdf(f)
    with NewsServer(
        {"/e-paper/a7.pdf": Route(body=f.read_bytes(), content_type="application/pdf")}
    ) as srv:
        got = load_sources([srv.url("/e-paper/a7.pdf")])
    (a,) = got.articles
    assert a.title == HEADLINE and a.url == srv.url("/e-paper/a7.pdf")


def test_date_from_the_running_head(tmp_path: Path):
    f = tmp_path / "clip.pdf"
    clipping_pdf(f)
    assert read_file(f)[0].date == "2018-12-12"  # "NATIONAL POST, WEDNESDAY, DECEMBER 12, 2018"
