"""Tests for qa.markers: the one parser of citation markers in generated text, in every
spelling models use, and the sentence splitter for generated text."""

from __future__ import annotations

import pytest

from qa.cite import numbers_agree, numbers_in
from qa.markers import find_markers, generated_sentences, normalize_markers

CLAIM = "The fight may last two to three months"


@pytest.mark.parametrize(
    ("reply", "numbers", "form"),
    [
        (f"{CLAIM} [1][2].", [(1,), (2,)], "bracket"),
        (f"{CLAIM} [1, 3].", [(1, 3)], "bracket"),
        (f"{CLAIM} [1; 3].", [(1, 3)], "bracket"),
        (f"{CLAIM} [1 and 3].", [(1, 3)], "bracket"),
        (f"{CLAIM} [1-3].", [(1, 2, 3)], "bracket"),
        (f"{CLAIM} [Source 2].", [(2,)], "bracket"),
        (f"{CLAIM} [Passage 2, Passage 4].", [(2, 4)], "bracket"),
        (f"{CLAIM} [^2].", [(2,)], "bracket"),
        (f"{CLAIM} (1).", [(1,)], "paren"),
        (f"{CLAIM} (1, 2).", [(1, 2)], "paren"),
        (f"{CLAIM} (see passage 3).", [(3,)], "paren"),
        (f"{CLAIM} 【1】.", [(1,)], "cjk"),
        (f"{CLAIM} 【2†source】.", [(2,)], "cjk"),
        (f"{CLAIM}, according to Source 1.", [(1,)], "word"),
        (f"Passages 1 and 3 say so: {CLAIM}.", [(1, 3)], "word"),
        (f"{CLAIM}.", [], None),
    ],
)
def test_find_markers_reads_every_form(reply, numbers, form) -> None:  # type: ignore[no-untyped-def]
    found = find_markers(reply)
    assert [m.numbers for m in found] == numbers
    assert all(m.form == form for m in found)
    for m in found:  # offsets point at the marker as written
        assert reply[m.start : m.end].strip()
        assert any(str(n) in reply[m.start : m.end] for n in m.numbers)


def test_years_and_ranges_too_wide_are_not_passage_lists() -> None:
    assert find_markers("It began in (2018) and ended [12-40].")[0].numbers == (12, 40)
    assert all(m.numbers != (2018,) for m in find_markers("It began in (2018)."))


@pytest.mark.parametrize(
    ("reply", "normal"),
    [
        (f"{CLAIM} [1][2].", f"{CLAIM} [1][2]."),
        (f"{CLAIM} [1, 3].", f"{CLAIM} [1][3]."),
        (f"{CLAIM} (1).", f"{CLAIM} [1]."),
        (f"{CLAIM} 【1】【2】.", f"{CLAIM} [1][2]."),
        (f"{CLAIM} 【1†source】.", f"{CLAIM} [1]."),
        (f"{CLAIM}, according to Source 1.", f"{CLAIM} [1]."),
        ("According to source 2, the fight may last months.", "The fight may last months [2]."),
        ("Source 2 says that the fight may last months.", "The fight may last months [2]."),
        ("As passage 2 shows, the fight may last months.", "The fight may last months [2]."),
        ("Source 1: The fight may last months.", "The fight may last months [1]."),
        # a marker at the start of a line belongs to the sentence after it
        ("[1] The fight may last months.\n[2] It began Monday.",
         "The fight may last months [1].\nIt began Monday [2]."),
        ("- [3] It began Monday.", "- It began Monday [3]."),
        # after the full stop, the marker stays with the sentence before it
        ("It may last months. [1] It began Monday [2].",
         "It may last months. [1] It began Monday [2]."),
        ("<think>passage 1 looks right</think>It may last months [1].",
         "It may last months [1]."),
        (f"{CLAIM}.", f"{CLAIM}."),
    ],
)
def test_normalize_markers(reply, normal) -> None:  # type: ignore[no-untyped-def]
    assert normalize_markers(reply) == normal
    assert normalize_markers(normal) == normal  # idempotent


def test_generated_sentences_split_lists_lines_and_cut_off_text() -> None:
    text = ("Answer:\n- The fight may last months [1].\n2. It began Monday. [2] The SDF "
            "leads it\n\nThe offensive was launched from four")
    got = [text[a:b] for a, b in generated_sentences(text)]
    assert got == ["Answer:", "The fight may last months [1].", "It began Monday. [2]",
                   "The SDF leads it", "The offensive was launched from four"]


def test_numbers_must_agree() -> None:
    assert numbers_in("Two to 3 months, 200,000 fighters in 2018.") == {"2", "3", "200000",
                                                                       "2018"}
    assert numbers_agree("It may last two to three months.",
                         "between two and three months, according to one official")
    assert not numbers_agree("It may last five months.", "between two and three months")
    assert numbers_agree("It may last months.", "between two and three months")
