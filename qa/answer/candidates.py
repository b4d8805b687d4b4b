"""Candidate sentences: the sentences of the retrieved passages that could answer.

Page furniture (headings, captions, credits, prompts: :mod:`qa.furniture`, marked at index
time) and the header lines (headline, byline, outlet, date) are left out; so is a sentence
made only of the question's own words. Each candidate carries what the ranker's learned
combination reads (:mod:`.ranking`): meaning (cosine with the question), words (the
IDF-weighted share of the question's words it, its neighbours and its article hold), BM25,
the passage's rank, and whether it holds an entity of the kind the question wants.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from qa.entities import Entity
from qa.lexical import query_terms, terms
from qa.retrieval import SearchResult
from qa.store import IndexReader

from .question import QuestionInfo, counted_noun, wanted_labels

IDF_FLOOR = 1.0
#: Most of the word cover that chat-history words can give (they say whom a follow-up is
#: about, not what it asks).
CONTEXT_SHARE = 0.25


@dataclass(frozen=True)
class Focus:
    """The question's words, weighted by IDF, that an answering sentence tends to share.

    Attributes:
        weights: IDF weight of each word (an acronym's weight moves to its expansion).
        question: The question's own words.
        bridged: Words only an acronym expansion or the chat history added.
        context: Words carried over from earlier chat turns.
    """

    weights: dict[str, float]
    question: frozenset[str]
    bridged: frozenset[str]
    context: frozenset[str] = frozenset()

    def repeats(self, words: Iterable[str]) -> bool:
        """Whether ``words`` are only the question's own (or its bridges'): a sentence or an
        entity that repeats the question does not answer it ("Hajin" for "Where is Hajin?")."""
        have = set(words)
        return bool(have) and have <= self.question | self.bridged

    def cover(self, have: Iterable[str]) -> float:
        """IDF-weighted share of the focus words in ``have``; chat-history words count for
        at most :data:`CONTEXT_SHARE` of it when the question has words of its own."""
        have = set(have)
        own_total = own_got = ctx_total = ctx_got = 0.0
        for t, w in self.weights.items():
            if t in self.context:
                ctx_total += w
                ctx_got += w if t in have else 0.0
            else:
                own_total += w
                own_got += w if t in have else 0.0
        if own_total <= 0:
            return min(1.0, ctx_got / ctx_total) if ctx_total > 0 else 0.0
        if ctx_total <= 0:
            return min(1.0, own_got / own_total)
        return min(
            1.0, (1 - CONTEXT_SHARE) * own_got / own_total + CONTEXT_SHARE * ctx_got / ctx_total
        )


def focus_of(question: str, result: SearchResult, index: IndexReader) -> Focus:
    """IDF weights of the question's words (see :class:`Focus`)."""
    bm = index.bm25_sentences
    q_terms = list(dict.fromkeys(query_terms(question)))
    # sentences are indexed with their headline, so a headline word has a low idf even in the
    # sentences that do not write it: a floor keeps it from counting for nothing
    weights = {t: max(IDF_FLOOR, bm.idf(t)) if bm.knows(t) else IDF_FLOOR for t in q_terms}
    expanded = {t for e in result.expansions for t in terms(e.added)}
    for e in result.expansions:
        short = set(terms(e.found))
        long = [t for t in terms(e.added) if t not in weights]
        moved = sum(weights.pop(t, 0.0) for t in short if t not in terms(e.added))
        for t in long:
            weights[t] = max(weights.get(t, 0.0), moved / max(1, len(long)))
    extra = [
        t
        for t in dict.fromkeys(query_terms(result.query))
        if t not in weights and t not in expanded and t not in q_terms
    ]
    for t in extra:  # follow-up context
        weights[t] = 0.5 * (max(IDF_FLOOR, bm.idf(t)) if bm.knows(t) else IDF_FLOOR)
    return Focus(weights, frozenset(q_terms), frozenset(expanded | set(extra)), frozenset(extra))


@dataclass(frozen=True)
class Candidate:
    """A sentence that might answer the question, with the evidence the ranker reads.

    Attributes:
        row: Sentence row in the index.
        article_row: Article row in the index.
        start: Offset of the sentence in the article text.
        end: Offset just past it.
        text: ``article_text[start:end]``.
        passage_rank: Rank (1-based) of the best passage it came from.
        dense: Cosine similarity of the searched query and the sentence.
        cover: IDF-weighted share of the question's words the sentence holds.
        window_cover: The same for the sentence with its neighbours.
        article_cover: The same for its whole article (an article that never names what the
            question names is about something else).
        lexical: BM25 of the sentence relative to the best candidate, or to a sentence
            holding every known query word once, whichever is higher.
        entities: Its named entities (offsets in the article text).
        kind: 1 when it holds an entity of a label the question wants, -1 when the question
            wants a label it does not hold, 0 when the question wants none.
        count_match: For a question that counts something ("how many fans"), 1 when a
            number in the sentence counts that noun and -1 when none does; 0 for other
            questions.
    """

    row: int
    article_row: int
    start: int
    end: int
    text: str
    passage_rank: int
    dense: float
    cover: float
    window_cover: float
    article_cover: float
    lexical: float
    entities: tuple[Entity, ...]
    kind: int
    count_match: int


def gather(
    question: str, info: QuestionInfo, result: SearchResult, index: IndexReader, focus: Focus
) -> list[Candidate]:
    """The candidate sentences of ``result``'s passages, in passage order.

    Args:
        question: The question as asked.
        info: Its analysis.
        result: What retrieval found.
        index: The index the passages came from.
        focus: The question's weighted words (:func:`focus_of`).
    """
    seen: set[int] = set()
    rows: list[tuple[int, int]] = []  # (sentence row, passage rank)
    for p, crow in zip(result.passages, index.chunk_rows([p.chunk_id for p in result.passages])):
        if crow is None:
            continue
        for srow in index.sentences_of_chunk(crow):
            if int(srow) not in seen:
                seen.add(int(srow))
                rows.append((int(srow), p.rank))
    full = sum(
        index.bm25_sentences.idf(t)
        for t in set(query_terms(result.query))
        if index.bm25_sentences.knows(t)
    )
    top_lex = max([result.sentence_lexical.get(r, 0.0) for r, _ in rows] + [full])
    labels = wanted_labels(question, info.kind)
    counted = counted_noun(question, info.kind)
    n_sent = len(index.sentences)
    article_terms: dict[int, set[str]] = {}
    out: list[Candidate] = []
    for srow, prank in rows:
        arow, s, e = (int(x) for x in index.sentences[srow])
        art = index.articles[arow]
        if any(s < fe and fs < e for fs, fe in art.fields.values()):
            continue  # header lines answer only questions about the article
        if index.is_furniture(srow):
            continue
        text = art.text[s:e]
        have = set(terms(text))
        if focus.repeats(have):
            continue  # it only repeats the question (a headline, say)
        window = set(have)
        for nb in (srow - 1, srow + 1):
            if 0 <= nb < n_sent and int(index.sentences[nb][0]) == arow:
                window |= set(terms(index.sentence_text(nb)))
        if arow not in article_terms:
            article_terms[arow] = set(terms(art.title + "\n" + art.text))
        dense = result.sentence_scores.get(srow)
        if dense is None and result.query_vector is not None:
            dense = float(index.sentence_vectors[srow] @ result.query_vector)
        ents = tuple(index.sentence_entities(srow))
        kind = 0
        if labels:
            kind = (
                1
                if any(
                    en.label in labels and not focus.repeats(terms(art.text[en.start : en.end]))
                    for en in ents
                )
                else -1
            )
        count = (1 if any(en.head == counted for en in ents) else -1) if counted else 0
        out.append(
            Candidate(
                row=srow,
                article_row=arow,
                start=s,
                end=e,
                text=text,
                passage_rank=prank,
                dense=float(dense or 0.0),
                cover=focus.cover(have),
                window_cover=focus.cover(window),
                article_cover=focus.cover(article_terms[arow]),
                lexical=result.sentence_lexical.get(srow, 0.0) / top_lex if top_lex > 0 else 0.0,
                entities=ents,
                kind=kind,
                count_match=count,
            )
        )
    return out


def of_wanted_kind(cands: list[Candidate]) -> list[Candidate]:
    """The candidates that can answer: for a question wanting a kind of entity (an amount of
    money for "how much", a date for "when", a person for "who"), those holding one.

    Their passages are ranked again among themselves (1, 2, ... in the old order): a passage
    with no sentence of the wanted kind cannot hold the answer, so it does not push the
    others down.
    """
    kept = [c for c in cands if c.kind >= 0]
    ranks = {r: i for i, r in enumerate(sorted({c.passage_rank for c in kept}), 1)}
    return [replace(c, passage_rank=ranks[c.passage_rank]) for c in kept]
