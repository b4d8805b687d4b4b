"""Stage 2: sentences and token-sized chunks with exact offsets."""

from __future__ import annotations

from qa.chunking import chunk_article, get_tokenizer, split_sentences


def test_sentences_respect_abbreviations_and_quotes():
    text = ("“We expect a long and hard fight,” said Col. Sean Ryan, a spokesman in Baghdad. "
            "“These are the diehard fighters.” The U.S. Army agreed. J. K. Rowling wrote.")
    got = [s.text for s in split_sentences(text)]
    assert got == [
        "“We expect a long and hard fight,” said Col. Sean Ryan, a spokesman in Baghdad.",
        "“These are the diehard fighters.”",
        "The U.S. Army agreed.",
        "J. K. Rowling wrote.",
    ]


def test_offsets_reproduce_text(seed_article):
    text = seed_article.text
    for s in split_sentences(text):
        assert text[s.start:s.end] == s.text
    for c in chunk_article(seed_article.id, text):
        assert text[c.start:c.end] == c.text
        for a, b in c.sentences:
            assert c.start <= a < b <= c.end


def test_chunks_fit_budget_and_overlap(seed_article):
    tok = get_tokenizer()
    chunks = chunk_article(seed_article.id, seed_article.text, max_tokens=60, overlap=1)
    assert len(chunks) > 3
    for c in chunks:
        assert len(tok.encode(c.text)) <= 60 + 2 * len(c.sentences)
    shared = sum(a.sentences[-1] == b.sentences[0] for a, b in zip(chunks, chunks[1:]))
    assert shared >= 3  # neighbours share a sentence where it fits
    for a, b in zip(chunks, chunks[1:]):
        assert b.sentences[0] != a.sentences[0] and b.start >= a.start
    assert [c.id for c in chunks][:2] == [f"{seed_article.id}:0", f"{seed_article.id}:1"]


def test_overlong_sentence_is_cut_at_words():
    text = " ".join(f"word{i}" for i in range(2000))
    chunks = chunk_article("x", text, max_tokens=50, overlap=0)
    assert len(chunks) > 10
    assert all(c.tokens <= 50 for c in chunks)
    assert " ".join(c.text for c in chunks) == text
