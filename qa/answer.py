"""Stage 6, answer: the extractive answerer (offline, deterministic, no LLM).

From the retrieved passages it picks the sentence that best answers the question and, when
it can, the short answer inside it ("between two and three months"). A sentence is scored
on three things:

* meaning: cosine similarity of the (acronym-expanded) question and the sentence, with the
  bundled embedding model (sentence vectors are computed at index time);
* words: the share of the question's content words (stemmed, with acronym expansions) the
  sentence, or the sentence before it when it opens with a pronoun, contains;
* answer kind: whether it holds a span of the kind the question wants (a duration for "how
  long", a date for "when", a name for "who") that is not part of the question itself;
* neighbours, a little: the words of the sentences on either side and the meaning of the one
  before (an answer often sits beside the sentence that repeats the question's words).

It abstains ("The articles don't say ...") when the best sentence's support is below a
threshold calibrated on data (``python -m eval.calibrate``), or when a question wanting a
specific kind of answer finds no span of that kind in the relevant sentences. Questions about
the article itself (author, outlet, date, headline) are answered from its metadata and
cited to the header line.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache

from qa.answer_types import Answer
from qa.articles import Article
from qa.cite import Citation, make_citation
from qa.index import ArticleIndex
from qa.lexical import query_terms, terms
from qa.questions import QuestionInfo, analyse, find_spans
from qa.retrieval import SearchResult

log = logging.getLogger(__name__)

TYPED_KINDS = {"duration", "date", "number", "money", "percent"}
NAME_KINDS = {"person", "place", "organisation"}
_PRONOUN_START = re.compile(r"^\W*(he|she|it|they|this|that|these|those|its|his|her|their|"
                            r"the group|the militia|the company)\b", re.I)
# Weights of a sentence's score (see score_sentences). Chosen on seeded samples of SQuAD
# (``qa eval squad``) and the seed question set, not on the reported samples.
W_DENSE, W_COVER, W_BM25, W_KIND, W_RANK = 0.55, 0.25, 0.15, 0.10, 0.05
W_WINDOW, W_PREV = 0.10, 0.05  # the sentence's neighbours (see score_sentences)
TYPED_PENALTY = 0.15
IDF_FLOOR = 1.0
CONTEXT_SHARE = 0.25  # most of the word cover that chat-history words can give
# Confidence, the figure the abstention threshold applies to: absolute evidence only (no
# share of the best candidate), so that a question no sentence answers scores low.
C_DENSE, C_COVER = 0.6, 0.4
# A sentence holding the wanted kind of answer may leave the question's words to its
# neighbour ("... preparing for a slog: between two and three months." "We expect a long
# and hard fight"): the neighbours' cover counts for up to this share of its own.
C_WINDOW = 0.5
# For a question wanting a duration, date or number whose best sentence holds one, the lead
# of that sentence's score over the next candidate's adds to the confidence at this weight,
# when its cosine with the question is at least C_MARGIN_DENSE (a lone "the past four years"
# in an article about something else is not an answer to "How long could this campaign last?")
C_MARGIN, C_MARGIN_DENSE = 1.0, 0.25
_TITLES = re.compile(r"\b(Mr|Mrs|Ms|Dr|Col|Gen|Lt|Sgt|Capt|Sen|Rep|Gov|Pres|Prof|Cpl|Maj|Adm)"
                     r"\.?\s*$")
# a span that opens with a title ("Col. Sean Ryan")
_TITLE_START = re.compile(r"^(?:Mr|Mrs|Ms|Dr|Col|Gen|Lt|Sgt|Capt|Sen|Rep|Gov|Prof)\.?\s")
# before a name, what makes it a place rather than a person ("in Baghdad"; "to" and "from"
# precede people too: "a memo to Vice President Lyndon B. Johnson")
_AT_PLACE = re.compile(r"\b(in|at|near|into|outside|inside|across|around)\s+(the\s+)?$", re.I)
_PLACE_PREP = re.compile(r"\b(in|at|from|near|to|into|outside|inside|across|around)\s+(the\s+)?$",
                         re.I)


@dataclass(frozen=True)
class ScoredSentence:
    """A candidate sentence and the evidence behind its score.

    Attributes:
        row: Sentence row in the index.
        article_row: Article row in the index.
        start: Offset of the sentence in the article text.
        end: Offset just past it.
        text: ``article_text[start:end]``.
        dense: Cosine similarity of the searched query and the sentence.
        cover: IDF-weighted share of the question's words the sentence (or, for a sentence
            opening with a pronoun, it and the sentence before) contains.
        lexical: BM25 of the sentence relative to the best candidate or to a sentence holding
            every known query word once, whichever scores higher.
        kind_match: Whether it holds a span of the kind the question wants.
        score: The ranking score.
        confidence: The sentence's absolute support; the answer's confidence, which the
            abstention threshold applies to, adds the lead of a lone typed answer
            (``C_MARGIN``) and subtracts ``UNKNOWN_NAME_PENALTY`` per name no article has.
        passage_rank: Rank of the passage it came from.
    """

    row: int
    article_row: int
    start: int
    end: int
    text: str
    dense: float
    cover: float
    lexical: float
    kind_match: bool
    score: float
    confidence: float
    passage_rank: int


@dataclass(frozen=True)
class _Focus:
    """The words a sentence should share with the question, with their weights."""

    weights: dict[str, float]
    question: set[str]
    bridged: set[str]  # words that only an acronym expansion or the chat history added
    topic: re.Pattern[str] | None  # the question's most distinctive name (_rarest_name)
    unknown_names: list[str]  # the question's names that no article contains
    context: frozenset[str] = frozenset()  # words carried over from earlier chat turns

    def cover(self, have: set[str]) -> float:
        """IDF-weighted share of the focus words in ``have``. Words carried over from
        earlier turns count for at most ``CONTEXT_SHARE`` of it when the question has words
        of its own: they say whom it is about, not what it asks (after "What have the
        militants done?", "Where did they hide their weapons?" must not be answered by the
        sentence that answered the first question)."""
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
        return min(1.0, (1 - CONTEXT_SHARE) * own_got / own_total
                   + CONTEXT_SHARE * ctx_got / ctx_total)


def _focus(question: str, result: SearchResult, index: ArticleIndex) -> _Focus:
    """IDF weights of the question's words; an acronym's expansion shares its weight, and
    words carried over from the chat history weigh half."""
    bm = index.bm25_sentences
    q_terms = list(dict.fromkeys(query_terms(question)))
    # (sentences are indexed with their headline, so a headline word has a low idf even in
    # the sentences that do not write it: a floor keeps it from counting for nothing)
    # A word no article contains cannot tell one sentence from another: it weighs the floor
    # too (a missing name is judged by the unknown-name penalty instead).
    weights = {t: max(IDF_FLOOR, bm.idf(t)) if bm.knows(t) else IDF_FLOOR for t in q_terms}
    expanded = {t for e in result.expansions for t in terms(e.added)}
    for e in result.expansions:
        short = set(terms(e.found))
        long = [t for t in terms(e.added) if t not in weights]
        # the acronym's weight moves to its expansion's words, so either form counts
        moved = sum(weights.pop(t, 0.0) for t in short if t not in terms(e.added))
        for t in long:
            weights[t] = max(weights.get(t, 0.0), moved / max(1, len(long)))
    extra = [t for t in dict.fromkeys(query_terms(result.query)) if t not in weights and
             t not in expanded and t not in q_terms]
    for t in extra:  # follow-up context
        weights[t] = 0.5 * (max(IDF_FLOOR, bm.idf(t)) if bm.knows(t) else IDF_FLOOR)
    return _Focus(weights, set(q_terms), expanded | set(extra), _rarest_name(question, index),
                  _unknown_names(question, result, index), frozenset(extra))


_TIME_UNITS = re.compile(r"\b(seconds?|minutes?|hours?|days?|weeks?|months?|years?|"
                         r"decades?|centur(y|ies))\b", re.I)
# the thing counted: "how many career sacks did ..." -> "career sacks"
_COUNTED = re.compile(r"\bhow many (?:more |other |of the )?((?:[a-z][\w.-]*\s+){0,2}?[a-z][\w-]*)"
                      r"(?=\s+(?:are|is|was|were|did|do|does|have|has|had|will|would|can|"
                      r"could|in|of|on|at|to|for|per|that|who)\b|\s*\?|\s*$)", re.I)
_COUNTED_WORD = re.compile(r"\bhow many (?:more |other |of the )?([a-z]+)", re.I)


@dataclass(frozen=True)
class _QuestionParts:
    """What :func:`_kind_spans` reads off the question, worked out once per question."""

    terms: frozenset[str]
    wants_time: bool  # it names a unit of time ("how many years")
    counted: frozenset[str]  # the thing counted, for "how many ..."
    asks_report: bool  # it asks about a statement ("when did they say ...")
    # "which country ...?" is answered by a country's name wherever it stands ("Japan forced
    # Thailand into an alliance"); "where ...?" by a place after "in", "at", "from" ...
    place_named: bool


@lru_cache(maxsize=256)
def _question_parts(question: str, kind: str) -> _QuestionParts:
    counted = _COUNTED.search(question) or _COUNTED_WORD.search(question)
    noun = frozenset(terms(counted.group(1))) if counted and counted.group(1).split()[
        0].lower() not in ("people", "times", "persons") else frozenset()
    return _QuestionParts(frozenset(terms(question)), bool(_TIME_UNITS.search(question)), noun,
                          bool(_REPORT_VERBS.search(question)),
                          kind == "place" and bool(_PLACE_NAME_WANTED.search(question)))


def _kind_spans(info: QuestionInfo, sentence: str, question: str,
                exclude: set[str] | None = None) -> list[tuple[int, int]]:
    """Spans of the wanted kind that are not just words of the question (or of an acronym
    expansion or earlier turn, ``exclude``)."""
    if info.kind not in TYPED_KINDS | NAME_KINDS | {"reason"}:
        return []
    parts = _question_parts(question, info.kind)
    qterms = parts.terms | (exclude or set())
    qlower = question.lower()
    noun = parts.counted
    out = []
    for s, e in find_spans(info.kind, sentence):
        name = sentence[s:e]
        compound = re.match(r"[-‐](\w+)(\s+[a-z][\w-]*)?", sentence[e:]) \
            if info.kind in NAME_KINDS else None
        if compound and not set(terms(compound.group(1))) & parts.terms:
            # "U.S.-backed coalition": "U.S." answers "who backs it?"; anything else, the
            # whole phrase does ("who is attacking?")
            e += compound.end()
        span = sentence[s:e]
        if info.kind == "duration" and re.match(r"\s+ago\b", sentence[e:], re.I) and not \
                re.search(r"\bago\b", question, re.I):
            continue  # "four years ago" says when, not how long
        if info.kind == "number" and not parts.wants_time and _TIME_UNITS.search(span):
            continue  # "how many fighters" is not answered by "four years"
        if noun and not noun & set(terms(" ".join(sentence[:s].split()[-4:] + [span]
                                                   + sentence[e:].split()[:4]))):
            following = re.match(r"\s+([A-Za-z][\w-]*)", sentence[e:])
            if following and terms(following.group(1)):
                # "how many fighters" is not answered by "four sides" ("four" counts
                # something else), but may be by "(118)" or "136," near no noun at all
                continue
        st = set(terms(span))
        if st and st <= qterms:
            continue
        if span.lower() in qlower:
            continue
        before = sentence[:s]
        if info.kind == "date" and _REPORTED.search(before) and not parts.asks_report:
            continue  # "said Tuesday that they had begun": the day of the statement
        if info.kind == "place" and (_TITLES.search(before) or _TITLE_START.match(span)):
            continue  # "Col. Sean Ryan" is a person, not a place
        if info.kind == "place" and not parts.place_named and not _PLACE_PREP.search(before):
            continue  # places follow "in", "at", "from" ...
        if info.kind == "person" and (not _looks_like_name(name) or _AT_PLACE.search(before)
                                      or re.search(r"\bthe\s+$", before, re.I)):
            continue  # "Kurdish-led" is no one's name, "in Baghdad" or "the United States"
            # no one at all
        out.append((s, e))
    if info.kind == "person" and _WHO_REPORTS.search(question):
        for s, e in _attributions(sentence):
            st = set(terms(sentence[s:e]))
            if st and not st <= qterms and not any(s < oe and os < e for os, oe in out):
                out.append((s, e))
        out.sort()
    return out


# News reports date their statements ("the militia said Tuesday that ..."); that date
# answers "when did they say so", not "when did it happen".
_REPORT_VERBS = re.compile(r"\b(say|says|said|saying|announc\w*|report\w*|told|tell|state[sd]?|"
                           r"add(?:s|ed)?|confirm\w*|declar\w*|claim\w*)\b", re.I)
_REPORTED = re.compile(r"\b(says|said|announced|reported|told reporters|stated|added|"
                       r"confirmed|declared|claimed)\s+(?:on\s+|late\s+|early\s+)?$", re.I)


# "who says ...?" asks for the source of a claim, which news reports often give without a
# name ("..., analysts say", "aerial surveillance indicates", "according to one official")
_WHO_REPORTS = re.compile(
    r"^\s*(?:according to whom\b|who\b(?:\s+(?:has|have|had|does|did|is|are|was|were))?"
    r"\s*(?:says?|said|saying|claim(?:s|ed)?|report(?:s|ed)?|told|tells|estimat(?:es|ed)|"
    r"believ(?:es|ed)|thinks?|warn(?:s|ed)|indicat(?:es|ed)|announced|stated|confirm(?:s|ed)|"
    r"suggest(?:s|ed)|predict(?:s|ed)|expect(?:s|ed)|accord\w*)\b)", re.I)
_SOURCES = (r"officials?|analysts?|experts?|diplomats?|sources?|witnesses|residents|observers|"
            r"researchers|scientists|police|investigators|activists|monitors|commanders|"
            r"surveillance|intelligence|reports|studies|documents|data|estimates")
_ATTRIBUTION = re.compile(
    r"\baccording to\s+(?P<acc>[^,.;:“”\"()]{3,80}?)\s*(?=[,.;:“”\"()]|$)"
    rf"|(?P<src>(?:[a-z][\w-]*\s+and\s+)?(?:[a-z][\w-]*\s+)?(?:{_SOURCES}))\s+"
    r"(?:say|says|said|told|tell|reported|report|indicates?|indicated|believe|believed|"
    r"estimate|estimated|warn|warned|suggest|suggests|suggested|show|shows|showed)\b", re.I)


def _attributions(sentence: str) -> list[tuple[int, int]]:
    """Spans naming who a claim comes from without a name ("officials and analysts")."""
    out = []
    for m in _ATTRIBUTION.finditer(sentence):
        g = "acc" if m.group("acc") else "src"
        out.append((m.start(g), m.end(g)))
    return out


_NOT_NAME = re.compile(r"(-\w+|ish|ian|ese|ean|an|i)$")


def _looks_like_name(span: str) -> bool:
    """A person's name: two or more capitalised words, a title and a name, or one
    capitalised word that is not an adjective of nationality or a hyphenated compound."""
    words = [w for w in span.split() if w[:1].isupper()]
    if len(words) >= 2 or _TITLES.search(span.split()[0] + " ") or _TITLE_START.match(span):
        return True
    return len(words) == 1 and not _NOT_NAME.search(words[0].lower())


def _restates(text: str, focus: _Focus) -> bool:
    """Whether a sentence only repeats the question's words (a headline, say)."""
    st = set(terms(text))
    return bool(st) and st <= focus.question | focus.bridged


def score_sentences(
    question: str, result: SearchResult, index: ArticleIndex, info: QuestionInfo,
    focus: _Focus | None = None,
) -> list[ScoredSentence]:
    """Score every sentence of the retrieved passages, best first.

    ``score = W_DENSE * dense + W_COVER * cover + W_BM25 * lexical + W_KIND * kind
    + W_RANK / passage_rank + W_WINDOW * window_cover + W_PREV * dense_before``, less
    ``TYPED_PENALTY`` when a question wanting a duration, date or number meets a sentence
    without one and ``OFF_TOPIC_PENALTY`` when its article never names the question's most
    distinctive name. ``window_cover`` is the word cover of the sentence with its neighbours
    and ``dense_before`` the dense similarity of the sentence before it: answers often sit
    beside the sentence that repeats the question's words ("... Luther's writings. They were
    ignored in the 18th and 19th centuries").
    """
    focus = focus or _focus(question, result, index)
    seen: set[int] = set()
    rows: list[tuple[int, int]] = []  # (sentence row, passage rank)
    chunk_row = index.chunk_rows([p.chunk_id for p in result.passages])
    for p, row in zip(result.passages, chunk_row):
        if row is None:
            continue
        for srow in index.sentences_of_chunk(row):
            if int(srow) not in seen:
                seen.add(int(srow))
                rows.append((int(srow), p.rank))
    # BM25 relative to the best candidate, or to what a sentence holding every known query
    # word once would score, whichever is higher: a weak best match stays weak
    full = sum(index.bm25_sentences.idf(t) for t in set(query_terms(result.query))
               if index.bm25_sentences.knows(t))
    top_lex = max([result.sentence_lexical.get(r, 0.0) for r, _ in rows] + [full])
    typed = info.kind in TYPED_KINDS or info.kind in NAME_KINDS
    off_topic: dict[int, bool] = {}
    n_sent = len(index.sentences)

    def same_article(row: int, arow: int) -> bool:
        return 0 <= row < n_sent and int(index.sentences[row][0]) == arow

    def dense_of(row: int) -> float:
        d = result.sentence_scores.get(row)
        if d is None and result.query_vector is not None:
            d = float(index.sentence_vectors[row] @ result.query_vector)
        return float(d or 0.0)

    out: list[ScoredSentence] = []
    for srow, prank in rows:
        arow, s, e = (int(x) for x in index.sentences[srow])
        art = index.articles[arow]
        if arow not in off_topic:
            # an article that never names what the question names ("Hajin") is about
            # something else, however well one of its sentences matches ("Islamic banking")
            off_topic[arow] = focus.topic is not None and not focus.topic.search(art.text)
        if any(s < fe and fs < e for fs, fe in art.fields.values()):
            continue  # headline, byline, outlet and date lines answer only questions about them
        text = art.text[s:e]
        if _restates(text, focus):
            continue
        dense = dense_of(srow)
        have = set(terms(text))
        cover = focus.cover(have)
        has_prev = same_article(srow - 1, arow)
        prev = set(terms(index.sentence_text(srow - 1))) if has_prev else set()
        after = set(terms(index.sentence_text(srow + 1))) if same_article(srow + 1, arow) \
            else set()
        if has_prev and _PRONOUN_START.search(text):
            cover = max(cover, 0.8 * focus.cover(have | prev))
        lexical = result.sentence_lexical.get(srow, 0.0) / top_lex if top_lex > 0 else 0.0
        kind_match = bool(_kind_spans(info, text, question, focus.bridged))
        # a capitalised place is only one kind of answer to "where" ("in berms of sand")
        kind_weight = 1.0 if typed and info.kind != "place" else 0.5
        window = focus.cover(have | prev | after)
        score = (W_DENSE * dense + W_COVER * cover + W_BM25 * lexical + W_RANK / prank
                 + (W_KIND * kind_weight if kind_match else 0.0)
                 + W_WINDOW * window
                 + W_PREV * (dense_of(srow - 1) if has_prev else 0.0))
        if info.kind in TYPED_KINDS and not kind_match:
            score -= TYPED_PENALTY
        confidence = C_DENSE * dense + C_COVER * max(
            cover, C_WINDOW * window if kind_match else 0.0)
        if off_topic[arow]:
            score -= OFF_TOPIC_PENALTY
            confidence -= OFF_TOPIC_PENALTY
        out.append(ScoredSentence(srow, arow, s, e, text, dense, cover, lexical, kind_match,
                                  score, confidence, prank))
    out.sort(key=lambda x: (-x.score, x.passage_rank, x.row))
    return out


def pick_short_answer(
    info: QuestionInfo, sentence: str, question: str, exclude: set[str] | None = None
) -> tuple[int, int] | None:
    """The span of ``sentence`` that answers the question, or None.

    Among spans of the wanted kind, prefers the one nearest to the question's words in the
    sentence (answers sit next to what the question mentions). For "who is X?" it takes
    the description set beside X ("the Kurdish-led militia").
    """
    if info.kind == "person" or info.kind == "description":
        appositive = _appositive(question, sentence, exclude)
        if appositive:
            return appositive
    spans = _kind_spans(info, sentence, question, exclude)
    if not spans:
        return None
    if info.kind in NAME_KINDS and _PLURAL_WANTED.search(question):
        # "which countries ...?" wants the whole list ("Iran, Russia, and Turkey")
        lists = _join_lists(sentence, spans)
        most = max(n for _, n in lists)
        if most > 1:
            spans = [sp for sp, n in lists if n == most]
    qterms = set(terms(question)) | (exclude or set())
    anchors = [m.start() for m in re.finditer(r"\w+", sentence)
               if set(terms(m.group())) & qterms]
    if not anchors:
        return spans[0]

    def distance(span: tuple[int, int]) -> float:
        s, e = span
        return min(min(abs(a - s), abs(a - e)) for a in anchors)

    return min(spans, key=lambda sp: (distance(sp), -(sp[1] - sp[0])))


_PLURAL_WANTED = re.compile(r"\b(which|what)\s+(\S+\s+)?(countries|cities|states|towns|"
                            r"provinces|regions|villages|islands|nations|people|players|teams|"
                            r"companies|parties|groups|leaders|officials|members)\b", re.I)
_LIST_GAP = re.compile(r",\s*(?:(?:and|or)\s+)?|\s+(?:and|or)\s+|\s*&\s*")


def _join_lists(sentence: str, spans: list[tuple[int, int]]) -> list[tuple[tuple[int, int], int]]:
    """Runs of spans joined by commas, "and" or "or", as (span, number of members)."""
    out: list[tuple[tuple[int, int], int]] = []
    for s, e in sorted(spans):
        if out and _LIST_GAP.fullmatch(sentence[out[-1][0][1]:s]):
            (ps, _), n = out[-1]
            out[-1] = ((ps, e), n + 1)
        else:
            out.append(((s, e), 1))
    return out


_WHO_IS = re.compile(r"^\s*who\s+(?:is|are|was|were)\s+(?:the\s+)?(.+?)\s*\??\s*$",
                     re.I)


_APPOSITIVE = re.compile(
    r",\s+((?:the|a|an)\s+(?:[^,;:.“”\"]|\.(?=[\w-])){3,80}?)(?=\s+(?:that|which|who)\b|,|;|"
    r"\.(?![\w-]))")  # "U.S.-led" does not end the appositive


def _appositive(question: str, sentence: str,
                exclude: set[str] | None) -> tuple[int, int] | None:
    """For "Who is X?": the phrase after "X," in the sentence ("X, the Kurdish-led militia
    that ..."), or None."""
    m = _WHO_IS.match(question)
    if not m:
        return None
    subject = set(terms(m.group(1)))
    if not subject:
        return None
    for c in _APPOSITIVE.finditer(sentence):
        head = sentence[:c.start()]
        words = set(terms(" ".join(head.split()[-6:])))
        # the subject, or the expansion it was searched with ("SDF" -> Syrian Democratic ...)
        if subject <= words or len((exclude or set()) & words) >= 2:
            return c.start(1), c.end(1)
    return None


def _metadata_answer(
    question: str, info: QuestionInfo, result: SearchResult, index: ArticleIndex
) -> Answer | None:
    if not result.passages:
        return None
    article = index.article(result.passages[0].article_id)
    field = info.kind.split("_", 1)[1]
    value = {"author": article.author, "source": article.source, "date": article.date,
             "title": article.title}[field]
    if not value:
        return None
    span = article.fields.get(field)
    if span:
        cite = make_citation(article, span[0], span[1], 1, kind="metadata",
                             highlight=_find_in(article, value, span))
    else:
        cite = Citation(n=1, article_id=article.id, title=article.title, source=article.source,
                        quote="", start=0, end=0, author=article.author, date=article.date,
                        url=article.url, kind="metadata")
    label = {"author": "is by", "source": "ran in", "date": "is dated",
             "title": "has the headline"}[field]
    where = "the byline" if field == "author" else "the article's header" if span else \
        "the article's metadata"
    notes = [f"Answered from {where}."]
    if len({p.article_id for p in result.passages}) > 1:
        # "this article" with several articles in play: say which one was taken
        subject = f"The best-matching article, “{article.title or article.id}”,"
        notes.append("Several articles match; pick one under “Ask about” (or pass "
                     "--article) to ask about a particular one.")
    else:
        subject = "The article"
    text = f"{subject} {label} {value} [1]." + (f"\n\n{cite.quote} [1]" if cite.quote else "")
    return Answer(question=question, text=text, citations=[cite], passages=result.passages,
                  abstained=False, short=value, confidence=1.0, query=result.query,
                  expansions=result.expansions, mode="metadata", question_type=info.kind,
                  notes=notes)


def _find_in(article: Article, value: str, span: tuple[int, int]) -> tuple[int, int] | None:
    i = article.text.find(value, span[0], span[1])
    return (i, i + len(value)) if i >= 0 else None


def abstain(question: str, result: SearchResult, info: QuestionInfo | None = None,
            confidence: float = 0.0, reason: str = "") -> Answer:
    """An answer that says the articles do not hold the answer, with the closest passages."""
    q = question.strip().rstrip("?")
    text = (f"The articles don't say. Nothing in them answers “{q}?”"
            + (" The closest passages are listed below." if result.passages else
               " The index holds no articles."))
    notes = [reason] if reason else []
    return Answer(question=question, text=text, citations=[], passages=result.passages,
                  abstained=True, confidence=confidence, query=result.query,
                  expansions=result.expansions, mode="extractive",
                  question_type=info.kind if info else "", notes=notes)


def answer_extractive(
    question: str, result: SearchResult, index: ArticleIndex, *, threshold: float = 0.25
) -> Answer:
    """Answer a question from retrieved passages without an LLM.

    Args:
        question: The question.
        result: What retrieval found (passages, expanded query, sentence similarities).
        index: The index the passages came from.
        threshold: Confidence below which it abstains.

    Returns:
        An :class:`Answer` whose citations quote the chosen sentences verbatim.
    """
    info = analyse(question)
    if info.kind.startswith("metadata_"):
        meta = _metadata_answer(question, info, result, index)
        if meta is not None:
            return meta
        return abstain(question, result, info, reason="The article's metadata has no such "
                                                      "field.")
    if not result.passages:
        return abstain(question, result, info)
    focus = _focus(question, result, index)
    scored = score_sentences(question, result, index, info, focus)
    if not scored:
        return abstain(question, result, info)
    best = scored[0]
    needs_span = info.kind in TYPED_KINDS or (info.kind in NAME_KINDS and _needs_name(
        question, info.kind))
    earlier: tuple[int, tuple[int, int]] | None = None  # see _named_earlier
    if needs_span and not _answers_kind(info, best, question, focus, index):
        # a sentence holding the wanted kind of answer, close behind the best, is better
        alt = next((x for x in scored[1:KIND_LOOKAHEAD] if _answers_kind(info, x, question,
                                                                          focus, index)
                    and x.score >= best.score - KIND_MARGIN), None)
        earlier = None if alt is not None else _named_earlier(info, best, question, focus,
                                                               index)
        if alt is None and earlier is None:
            want = {"person": "name", "place": "place", "organisation": "name"}.get(
                info.kind, info.kind)
            return abstain(question, result, info, best.confidence,
                           f"No sentence in the closest passages gives a {want}.")
        best = alt or best
    unknown = focus.unknown_names
    # a name the articles never mention ("France") is strong evidence they do not answer
    support = best.confidence
    if info.kind in TYPED_KINDS and best.kind_match and best.dense >= C_MARGIN_DENSE:
        # the one sentence with a duration, date or number that stands clearly above the
        # rest is evidence even when it shares no word with the question ("How long will the
        # offensive take?" -> "... preparing for a slog: between two and three months")
        runner_up = max((x.score for x in scored if x is not best), default=best.score)
        support += C_MARGIN * max(0.0, best.score - runner_up)
    confidence = max(0.0, min(1.0, support - UNKNOWN_NAME_PENALTY * len(unknown)))
    if confidence < threshold:
        why = f"Best support {confidence:.2f} is below the threshold {threshold:.2f}."
        if unknown:
            why += " The articles never mention " + ", ".join(unknown) + "."
        return abstain(question, result, info, confidence, why)
    article = index.articles[best.article_row]
    if earlier is not None:
        # the name, cited first, then the sentence that gives the role
        row, (a, b) = earlier
        _, es, ee = (int(x) for x in index.sentences[row])
        citations = [make_citation(article, es, ee, 1, highlight=(es + a, es + b)),
                     make_citation(article, best.start, best.end, 2)]
        short = article.text[es + a:es + b]
        body = f"{citations[0].quote} [1] {citations[1].quote} [2]"
    else:
        span = pick_short_answer(info, best.text, question, focus.bridged)
        highlight = (best.start + span[0], best.start + span[1]) if span else None
        citations = [make_citation(article, best.start, best.end, 1, highlight=highlight)]
        if _PRONOUN_START.search(best.text) and best.row > 0 and \
                int(index.sentences[best.row - 1][0]) == best.article_row:
            # the sentence the pronoun points back to, cited after the answer's own
            _, ps, pe = (int(x) for x in index.sentences[best.row - 1])
            if ps < best.start:
                citations.append(make_citation(article, ps, pe, 2))
        short = best.text[span[0]:span[1]] if span else ""
        body = citations[0].quote + " [1]"
        if len(citations) > 1:
            body = f"{citations[1].quote} [2] {body}"
    text = f"{_capitalise(short)} [1]\n\n{body}" if short else body
    return Answer(question=question, text=text, citations=citations, passages=result.passages,
                  abstained=False, short=short, confidence=confidence, query=result.query,
                  expansions=result.expansions, mode="extractive", question_type=info.kind)


KIND_LOOKAHEAD = 8
UNKNOWN_NAME_PENALTY = 0.15
OFF_TOPIC_PENALTY = 0.30
_NAME_WORD = re.compile(r"(?<!^)(?<![.?!]\s)\b[A-Z][a-z][\w'’-]*")


def _unknown_names(question: str, result: SearchResult, index: ArticleIndex) -> list[str]:
    """Capitalised words of the question (not its first) that no article contains (an
    acronym counts as contained when it was bridged to its expansion); at most two."""
    bridged = {e.found for e in result.expansions}
    unknown: list[str] = []
    for m in _NAME_WORD.finditer(question.strip()):
        word = m.group()
        t = terms(word)
        if t and word not in bridged and not any(index.bm25_sentences.knows(x) for x in t):
            unknown.append(word)
    return unknown[:2]


def _rarest_name(question: str, index: ArticleIndex) -> re.Pattern[str] | None:
    """A pattern for the question's most distinctive name that some article contains
    ("Hajin" rather than "Islamic State"; "United Nations" also as "UN"), or None."""
    runs: list[list[str]] = []
    last_end = -2
    for m in _NAME_WORD.finditer(question.strip()):
        word = re.sub(r"['’]s$", "", m.group())
        if runs and m.start() == last_end + 1:
            runs[-1].append(word)
        else:
            runs.append([word])
        last_end = m.end()
    bm = index.bm25_sentences
    best, best_idf = None, 0.0
    for run in runs:
        known = [bm.idf(t) for t in terms(" ".join(run)) if bm.knows(t)]
        if known and max(known) > best_idf:
            best, best_idf = run, max(known)
    if best is None:
        return None
    forms = [r"(?i:" + r"\s+".join(map(re.escape, best)) + r")"]
    if len(best) > 1:  # its initials, as the article may write them
        forms.append(r"(?-i:" + "".join(w[0] for w in best).upper() + r")")
    return re.compile(r"\b(?:" + "|".join(forms) + r")\b")


KIND_MARGIN = 0.15
_PLACE_NAME_WANTED = re.compile(r"\b(which|what)\s+(\S+\s+)?(country|countries|city|cities|"
                                r"town|state|province|region|capital|village)\b|\bname\b", re.I)


def _needs_name(question: str, kind: str = "person") -> bool:
    """Whether only a name answers the question ("who said ...", "which town ...", "what
    is the name of ..."), as against "who are the SDF?", which a description answers, or
    "where did they hide it?", which "in caves" answers."""
    if kind == "person":  # "who is X?" with X a name asks for a description of X
        m = _WHO_IS.match(question)
        # ... but "who is the UN chief?" asks for the name that goes with a role
        return not (m and re.match(r"[A-Z0-9]", m.group(1))
                    and not re.search(r"\s[a-z][\w-]*$", m.group(1)))
    return bool(_PLACE_NAME_WANTED.search(question))


_ROLES = frozenset(terms(
    "general commander chief minister secretary president spokesman spokeswoman spokesperson "
    "official officer leader director chairman chairwoman governor mayor senator ambassador "
    "coach captain manager founder owner editor judge king queen prince prime envoy head"))


_COMPOUND_GENERAL = re.compile(r"(?i)(secretary|attorney|governor|director|surgeon|inspector|"
                               r"postmaster|solicitor|consul)[\s-]?general")


def _answers_kind(info: QuestionInfo, s: ScoredSentence, question: str,
                  focus: _Focus, index: ArticleIndex | None = None) -> bool:
    if s.kind_match and info.kind == "person":
        # "which general ...?" is answered by a sentence naming a general, not a colonel
        roles = set(terms(question)) & _ROLES
        if roles:
            asked = _role_asked(question)
            near = _near_role(info, s.text, question, focus, asked) if asked else None
            if near is not None:
                return near
            text = s.text
            if index is not None and s.row > 0:
                text = index.sentence_text(s.row - 1) + " " + text
            # "secretary-general" names no general
            have = set(terms(_COMPOUND_GENERAL.sub(r"\1", text)))
            return bool(roles & have)
        return True
    if s.kind_match:
        return True
    return info.kind == "person" and not _needs_name(question) and _appositive(
        question, s.text, focus.bridged) is not None


ROLE_REACH = 4  # words between a role ("spokesman", "chief") and the name it goes with
_ROLE_WORD = r"([a-z]+(?:-general)?)"
_ROLE_ASKED = re.compile(
    rf"^\s*who\s+(?:is|was|are|were)\s+(?:the\s+)?(?:[\w.'’-]+\s+){{0,3}}?{_ROLE_WORD}\s*"
    rf"(?:\?|$|of\b|for\b|at\b|in\b)|\bname of (?:the\s+)?(?:[\w.'’-]+\s+){{0,3}}?"
    rf"{_ROLE_WORD}\s*(?:\?|$|of\b|for\b|at\b|in\b)"
    rf"|\b{_ROLE_WORD}(?:'s|’s)\s+(?:full\s+)?name\b", re.I)


def _role_asked(question: str) -> set[str]:
    """The role whose holder the question asks for ("Who is the UN chief?", "the
    spokesman's name"), as terms; empty when a role is only context ("Who can question
    the First Minister?")."""
    m = _ROLE_ASKED.search(question)
    word = next((g for g in m.groups() if g), "") if m else ""
    return set(terms(word)) & _ROLES


def _near_role(info: QuestionInfo, text: str, question: str, focus: _Focus,
               roles: set[str]) -> bool | None:
    """Whether a name stands within ``ROLE_REACH`` words of the role the question asks
    about ("said Col. Sean Ryan, a spokesman"); None when the sentence does not name the
    role. "But the UN chief said that Iran, Russia and Syria ..." names no chief."""
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    at = [i for i, (a, b) in enumerate(words)
          if set(terms(_COMPOUND_GENERAL.sub(r"\1", text[a:b]))) & roles]
    if not at:
        return None

    def index_of(pos: int) -> int:
        return sum(1 for _, b in words if b <= pos)

    for a, b in _kind_spans(info, text, question, focus.bridged):
        first, last = index_of(a), index_of(b - 1)
        if any(first - ROLE_REACH <= r <= last + ROLE_REACH for r in at):
            return True
    return False


def _named_earlier(info: QuestionInfo, best: ScoredSentence, question: str, focus: _Focus,
                   index: ArticleIndex) -> tuple[int, tuple[int, int]] | None:
    """For a sentence that names the role asked about but no one beside it ("But the UN chief
    said ..."), the first person named in the nearest of the two sentences before it
    ("Guterres said he understands ..."): news reports name someone, then refer back to them
    by their role. Returns (sentence row, span in that sentence) or None."""
    roles = _role_asked(question)
    if info.kind != "person" or not roles or _near_role(
            info, best.text, question, focus, roles) is not False:
        return None
    for row in (best.row - 1, best.row - 2):
        if row < 0 or int(index.sentences[row][0]) != best.article_row:
            break
        spans = _kind_spans(info, index.sentence_text(row), question, focus.bridged)
        if spans:
            return row, spans[0]
    return None


def _capitalise(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s
