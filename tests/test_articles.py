"""Stage 1: reading articles in every supported format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.articles import article_from_record, load_paths, parse_text, read_file
from qa.errors import ArticleError
from tests.conftest import SEED


def test_seed_clipping_header_and_footer(seed_article):
    a = seed_article
    assert a.title == "LAST ISIL OUTPOST IN SYRIA UNDER U.S.-BACKED ATTACK"
    assert a.source == "National Post"
    assert a.author == "Rukmini CallimaChi"
    assert "Newspapers in English" not in a.text
    assert "Newspapers from Canada" not in a.text
    for name, (s, e) in a.fields.items():
        assert a.text[s:e].strip(), name
    s, e = a.fields["author"]
    assert "Rukmini CallimaChi" in a.text[s:e]


def test_id_is_stable_and_content_based(tmp_path: Path):
    b = read_file(SEED)[0]
    copy = tmp_path / "copy.txt"
    copy.write_bytes(SEED.read_bytes())
    assert read_file(copy)[0].id == b.id
    copy.write_text(SEED.read_text() + "\nOne more sentence.")
    assert read_file(copy)[0].id != b.id


def test_markdown_front_matter(tmp_path: Path):
    f = tmp_path / "a.md"
    f.write_text("---\ntitle: Rates rise\nsource: The Paper\ndate: 2024-01-05\n---\n"
                 "# Rates rise\n\nThe bank raised rates by half a point on Tuesday.\n")
    a = read_file(f)[0]
    assert (a.title, a.source, a.date) == ("Rates rise", "The Paper", "2024-01-05")


def test_html_through_trafilatura(tmp_path: Path):
    f = tmp_path / "page.html"
    body = " ".join(["The council approved the new bridge after a long debate."] * 6)
    f.write_text(f"<html><head><title>Bridge approved</title>"
                 f"<meta name='author' content='Jane Roe'></head><body><nav>Home | News</nav>"
                 f"<article><h1>Bridge approved</h1><p>{body}</p><p>{body}</p></article>"
                 f"<footer>Copyright</footer></body></html>")
    a = read_file(f)[0]
    assert "council approved the new bridge" in a.text
    assert "Home | News" not in a.text
    assert a.title == "Bridge approved"


def test_jsonl_bad_line_named_and_others_kept(tmp_path: Path):
    f = tmp_path / "a.jsonl"
    f.write_text(json.dumps({"title": "One", "text": "First article text here."}) + "\n"
                 + "{not json\n"
                 + json.dumps({"title": "No text"}) + "\n"
                 + json.dumps({"body": "Second article body text.", "url": "http://x/2"}) + "\n")
    r = load_paths([f])
    assert [a.title for a in r.articles] == ["One", ""]
    msgs = [str(e) for e in r.errors]
    assert any(":2:" in m and "invalid JSON" in m for m in msgs), msgs
    assert any(":3:" in m and "'text'" in m for m in msgs), msgs


def test_record_keeps_text_exactly():
    text = "  Leading spaces.\n\nSecond paragraph.  "
    a = article_from_record({"text": text, "title": "T", "authors": ["A", "B"]})
    assert a.text == text
    assert a.author == "A, B"


def test_errors_name_the_file(tmp_path: Path):
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\x00\x01\x02abc")
    odd = tmp_path / "x.docx"
    odd.write_bytes(b"PK\x03\x04")
    for f, words in ((empty, "empty"), (binary, "binary"), (odd, "unsupported")):
        with pytest.raises(ArticleError) as e:
            read_file(f)
        assert str(f) in str(e.value) and words in str(e.value)


def test_latin1_file_decoded(tmp_path: Path):
    f = tmp_path / "latin.txt"
    f.write_bytes("Prices\n\nThe ticket costs £25 in Zürich, said the café owner.".encode("cp1252"))
    assert "£25 in Zürich" in read_file(f)[0].text


def test_plain_headline_first_line():
    a = parse_text("Ink helps drive democracy in Asia\n\nThe Kyrgyz Republic, a small, "
                   "mountainous state, is using invisible ink in its elections to stop fraud.")
    assert a.title == "Ink helps drive democracy in Asia"
    assert a.source == ""
