"""Named entities of sentences (real spaCy pipeline): labels, head nouns, article offsets."""

from __future__ import annotations

from qa import entities
from qa.entities import Entity, article_entities, span_entities


def _one(sentence: str) -> list[tuple[str, str, str]]:
    """(text, label, head) of each entity of one sentence."""
    return [(sentence[e.start:e.end], e.label, e.head)
            for e in article_entities(sentence, [(0, len(sentence))])[0]]


def test_numbers_get_the_noun_they_count_or_measure():
    assert ("177", "CARDINAL", "passenger") in _one("The plane carried 177 passengers.")
    assert ("34", "CARDINAL", "line") in _one("He ran back to the 34-yard line.")
    assert ("Two", "CARDINAL", "passenger") in _one("Two of the passengers were hurt.")
    assert ("20 miles", "QUANTITY", "mile") in _one("She ran 20 miles.")
    assert ("About 30%", "PERCENT", "voter") in _one("About 30% of voters backed him.")
    # a number with no noun to count: no head, rather than a wrong one
    assert ("101", "CARDINAL", "") in _one("At 101, he chuckles that he feels fine.")


def test_names_and_dates_have_labels_and_no_head():
    got = _one("Alaska Airlines said on Friday that Tony Blair flew to Paris.")
    assert ("Alaska Airlines", "ORG", "") in got
    assert ("Friday", "DATE", "") in got
    assert ("Tony Blair", "PERSON", "") in got
    assert ("Paris", "GPE", "") in got
    assert {label for _, label, _ in got} <= set(entities.LABELS)


def test_offsets_are_in_the_article_and_grouped_by_sentence():
    text = "Headline\n\nShares rose 5% on Monday. The firm employs 2,000 staff."
    first = text.index("Shares")
    second = text.index("The firm")
    got = article_entities(text, [(first, second - 1), (second, len(text))])
    assert [[(text[e.start:e.end], e.label) for e in ents] for ents in got] == [
        [("5%", "PERCENT"), ("Monday", "DATE")], [("2,000", "CARDINAL")]]
    assert got[1][0].head == "staff"


def test_an_overlong_sentence_is_read_in_pieces_with_right_offsets():
    filler = "and the talks went on " * 400  # 8,800 characters, no full stop
    text = f"Talks began {filler}until 500 delegates left."
    got = span_entities([(text, 0, len(text))])[0]
    assert ("500", "CARDINAL", "delegate") in [(text[e.start:e.end], e.label, e.head)
                                               for e in got]


def test_entity_round_trips_through_a_dict():
    e = Entity(3, 6, "MONEY", "fine")
    assert Entity.from_dict(e.to_dict()) == e
    assert span_entities([]) == []
