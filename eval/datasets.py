"""Loaders for the evaluation data sets in the shared data folder.

Each loader turns one public data set (or our own JSONL question format) into plain, frozen
values: :class:`EvalArticle` (an article whose ``text`` every gold offset indexes into),
:class:`EvalQuestion` and :class:`EvalSet`. Paths are always passed in; only
:data:`DEFAULT_DATA_DIR` names the usual place, ``../shared/data`` from the repository root.

Nothing here imports ``qa``: evaluation scripts ingest :class:`EvalArticle` values (or the
files in :attr:`EvalSet.article_files`) through the public ``qa`` API themselves.

Example:
    >>> squad = load_squad(DEFAULT_DATA_DIR / "squad" / "dev-v1.1-even.json")  # doctest: +SKIP
    >>> len(squad.articles), len(squad.questions)  # doctest: +SKIP
    (24, 5397)
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

__all__ = [
    "BBCQA_SPLITS",
    "DEFAULT_DATA_DIR",
    "EvalArticle",
    "EvalQuestion",
    "EvalSet",
    "load_bbc",
    "load_bbcqa",
    "load_jsonl",
    "load_newsqa",
    "load_realtimeqa",
    "load_squad",
    "sample_questions",
    "select_squad_split",
    "strip_html",
]

log = logging.getLogger(__name__)

#: The shared evaluation data folder: ``../shared/data`` from the repository root.
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"

#: Chat roles accepted in a question's ``history``.
HISTORY_ROLES = ("system", "user", "assistant")

#: Keys accepted on a line of our JSONL question format.
JSONL_KEYS = ("id", "question", "answers", "history", "evidence", "answerable", "articles")

#: Keys of a news-qa question line, and of a news-qa article file.
NEWSQA_KEYS = ("id", "article", "question", "answers", "evidence", "type")
NEWSQA_ARTICLE_KEYS = ("title", "text", "url", "author", "date", "source")

#: The value of ``--split`` that keeps every article.
SPLITS = ("all", "train", "dev", "heldout")

T = TypeVar("T")


# --- values --------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvalArticle:
    """One article of an evaluation corpus.

    Attributes:
        id: Stable id, unique within the set ("squad-...", "rtqa-...", "bbc-...").
        title: The headline or page title.
        text: The article body exactly as the data set gives it; gold answer offsets
            (:attr:`EvalQuestion.answer_starts`) index into this string.
        source: The outlet ("BBC News", a web domain such as "cnn.com"), or "".
        author: The byline, authors joined with ", ", or "".
        date: Publication date as ISO ``YYYY-MM-DD`` where known, else "".
        url: The article's URL, or "".
    """

    id: str
    title: str
    text: str
    source: str = ""
    author: str = ""
    date: str = ""
    url: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict of every field."""
        return asdict(self)


@dataclass(frozen=True)
class EvalQuestion:
    """One evaluation question with its gold answers.

    Attributes:
        id: Question id, unique within the set.
        question: The question text (the last user turn when there is a history).
        answers: Gold answers; empty for an unanswerable question.
        article_id: The :attr:`EvalArticle.id` of the article holding the answer, or ``None``
            when unknown.
        answer_starts: Character offsets of the gold answers in that article's text. Either
            empty (offsets unknown) or parallel to ``answers``, with
            ``text[answer_starts[i]:answer_starts[i] + len(answers[i])] == answers[i]``.
        history: Earlier chat turns, as ``{"role": ..., "content": ...}`` messages.
        evidence: The supporting passage given by the data set (HTML removed), or "".
        answerable: Whether the corpus holds the answer (see each loader for how it is set).
        choices: Multiple-choice options, or empty.
        correct_choice: The correct option's text, or "".
        article_files: The article files the question is about (JSONL sets), resolved.
        category: The data set's own label of the question (news-qa's ``type``:
            "paraphrase", "number", "unanswerable", ...), or "".
    """

    id: str
    question: str
    answers: list[str]
    article_id: str | None = None
    answer_starts: list[int] = field(default_factory=list)
    history: list[dict[str, str]] = field(default_factory=list)
    evidence: str = ""
    answerable: bool = True
    choices: list[str] = field(default_factory=list)
    correct_choice: str = ""
    article_files: list[str] = field(default_factory=list)
    category: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict of every field."""
        return asdict(self)


@dataclass(frozen=True)
class EvalSet:
    """A loaded evaluation set: its corpus, its questions and where they came from.

    Attributes:
        name: Short name for reports, e.g. "squad-dev-v1.1-even" or "realtimeqa-20240105".
        articles: The corpus, in a deterministic order.
        questions: The questions, in file order.
        source_path: The main data file read.
        sha256: SHA-256 of the bytes of every data file read, in order (for a single file,
            the same as ``sha256sum``), so a report can name the exact data it scored.
        article_files: Article files to ingest as the corpus (our JSONL format); empty when
            the corpus is given in ``articles``.
        skipped_answers: Gold answers dropped while loading because their offset did not
            point at their text.
    """

    name: str
    articles: list[EvalArticle]
    questions: list[EvalQuestion]
    source_path: Path
    sha256: str
    article_files: list[Path] = field(default_factory=list)
    skipped_answers: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict of every field (paths as strings)."""
        return {
            "name": self.name,
            "articles": [a.to_dict() for a in self.articles],
            "questions": [q.to_dict() for q in self.questions],
            "source_path": str(self.source_path),
            "sha256": self.sha256,
            "article_files": [str(p) for p in self.article_files],
            "skipped_answers": self.skipped_answers,
        }


# --- helpers -------------------------------------------------------------------------------


def _sha256_files(paths: Iterable[Path]) -> str:
    h = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def _slug(text: str, max_len: int = 40) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:max_len].rstrip("-")


def _iso_date(value: str) -> str:
    # RealTime QA writes "2022/11/27".
    m = re.fullmatch(r"\s*(\d{4})[/-](\d{1,2})[/-](\d{1,2})\s*", value or "")
    return f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}" if m else ""


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "p", "div", "li"):
            self.parts.append(" ")


def strip_html(text: str) -> str:
    """Remove HTML tags, decode entities and collapse whitespace.

    Args:
        text: Text that may contain HTML markup, such as RealTime QA evidence.

    Returns:
        The visible text on one line.
    """
    parser = _TextExtractor()
    parser.feed(text)
    parser.close()
    return " ".join("".join(parser.parts).split())


# Typographic characters news sites and quiz writers use interchangeably.
_FOLD = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2033": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
    }
)


def _fold_with_map(text: str) -> tuple[str, list[int]]:
    """Lower-case, unify quotes and dashes, collapse whitespace; map back to offsets.

    Returns the folded string and, for each of its characters, the offset in ``text`` of
    the character it came from, so a match in the folded string maps to an exact span.
    """
    out: list[str] = []
    index: list[int] = []
    prev_space = False
    for i, ch in enumerate(text):
        if ch.isspace():
            if not prev_space:
                out.append(" ")
                index.append(i)
            prev_space = True
            continue
        prev_space = False
        for c in ch.translate(_FOLD).lower():
            out.append(c)
            index.append(i)
    return "".join(out), index


def _fold(text: str) -> str:
    return _fold_with_map(text)[0].strip()


# Words whose trailing period does not end a sentence ("Florida Gov. Ron DeSantis").
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sen rep gov gen lt col capt sgt st jr sr no vs etc inc co corp ltd "
    "dept univ jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n e.g i.e".split()
)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)]*\s+")


def _first_sentence(text: str, min_chars: int = 40) -> str:
    """The first sentence of ``text``, extended until it has at least ``min_chars``.

    A period after a known abbreviation or a single initial does not end a sentence; the
    length floor guards against other short fragments matching unrelated articles.
    """
    text = text.strip()
    for m in _SENTENCE_END.finditer(text):
        before = text[: m.start()].rstrip("\"'\u201d\u2019)")
        last_word = before.rsplit(None, 1)[-1].rstrip(".!?").lower() if before.strip() else ""
        if before.endswith(".") and (last_word in _ABBREVIATIONS or len(last_word) == 1):
            continue
        if m.start() >= min_chars:
            return text[: m.start()]
    return text


def _locate(
    needle: str, text: str, folded: tuple[str, list[int]] | None = None
) -> tuple[int, int] | None:
    """Find ``needle`` in ``text`` exactly, else after folding; return the span in ``text``.

    Args:
        needle: The passage to find.
        text: The text to search.
        folded: ``_fold_with_map(text)`` when the caller has it already.
    """
    if not needle:
        return None
    pos = text.find(needle)
    if pos >= 0:
        return pos, pos + len(needle)
    folded_text, index = folded or _fold_with_map(text)
    folded_needle = _fold(needle)
    pos = folded_text.find(folded_needle) if folded_needle else -1
    if pos < 0:
        return None
    return index[pos], index[pos + len(folded_needle) - 1] + 1


def _mentions(folded_text: str, phrase: str) -> bool:
    """Whether ``phrase`` appears as whole words in already-folded text."""
    needle = _fold(phrase).strip("\"' ")
    if not needle:
        return False
    return re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", folded_text) is not None


# --- SQuAD ---------------------------------------------------------------------------------


def load_squad(path: str | Path) -> EvalSet:
    """Load an official-format SQuAD v1.1 JSON file, one article per Wikipedia page.

    Each article's text is its paragraphs' contexts, unchanged, joined with "\\n\\n" in file
    order, so an answer's offset is its paragraph's offset in the joined text plus the
    official ``answer_start``. Answers whose offset does not point at their text are
    dropped, logged and counted in :attr:`EvalSet.skipped_answers` (the even-split dev file
    has none); a question left with no answer is dropped. SQuAD v1.1 has no unanswerable
    questions, so every question is answerable and ``evidence`` is "": score supporting
    sentences with :func:`eval.metrics.span_covers` and ``answer_starts``.

    Args:
        path: The SQuAD JSON file.

    Returns:
        The set: ids "squad-<title slug>-<hash>", titles with underscores as spaces.

    Raises:
        ValueError: The file is not in the official SQuAD format.
        OSError: The file cannot be read.

    Example:
        >>> s = load_squad(DEFAULT_DATA_DIR / "squad" / "dev-v1.1-even.json")  # doctest: +SKIP
        >>> q = s.questions[0]; a = s.articles[0]  # doctest: +SKIP
        >>> a.text[q.answer_starts[0]:][: len(q.answers[0])] == q.answers[0]  # doctest: +SKIP
        True
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise ValueError(
            f"{path}: not an official SQuAD JSON file (expected an object with 'data'): {e}"
        ) from e
    articles: list[EvalArticle] = []
    questions: list[EvalQuestion] = []
    skipped = 0
    try:
        for page in data:
            raw_title = str(page["title"])
            title = raw_title.replace("_", " ")
            digest = hashlib.sha256(raw_title.encode("utf-8")).hexdigest()[:6]
            article_id = f"squad-{_slug(title)}-{digest}"
            contexts: list[str] = []
            offset = 0
            for paragraph in page["paragraphs"]:
                context = paragraph["context"]
                if contexts:
                    offset += 2  # the "\n\n" separator
                for qa in paragraph["qas"]:
                    answers: list[str] = []
                    starts: list[int] = []
                    for ans in qa["answers"]:
                        text, start = ans["text"], int(ans["answer_start"])
                        if context[start : start + len(text)] != text:
                            skipped += 1
                            log.warning(
                                "%s: question %s: answer %r is not at offset %d; skipped",
                                path,
                                qa["id"],
                                text,
                                start,
                            )
                            continue
                        answers.append(text)
                        starts.append(offset + start)
                    if not answers:
                        log.warning("%s: question %s has no usable answer; skipped", path, qa["id"])
                        continue
                    questions.append(
                        EvalQuestion(
                            id=str(qa["id"]),
                            question=qa["question"],
                            answers=answers,
                            article_id=article_id,
                            answer_starts=starts,
                        )
                    )
                contexts.append(context)
                offset += len(context)
            articles.append(EvalArticle(id=article_id, title=title, text="\n\n".join(contexts)))
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path}: not an official SQuAD JSON file: {e!r}") from e
    return EvalSet(
        name=f"squad-{path.stem}",
        articles=articles,
        questions=questions,
        source_path=path,
        sha256=_sha256_files([path]),
        skipped_answers=skipped,
    )


def select_squad_split(evalset: EvalSet, split: str) -> EvalSet:
    """Keep one split of a SQuAD set: its articles and the questions about them.

    An article's split is :func:`eval.splits.squad_split` of its position in the SQuAD file's
    ``data`` list, which is its index in :attr:`EvalSet.articles` (:func:`load_squad` keeps
    one article per page, in file order).

    Args:
        evalset: A set returned by :func:`load_squad`.
        split: "heldout", "dev", "train", or "all" (the set unchanged).

    Returns:
        The set named "<name>-<split>" with only that split's articles and questions.

    Raises:
        ValueError: ``split`` is not one of :data:`SPLITS`.

    Example:
        >>> s = load_squad(DEFAULT_DATA_DIR / "squad" / "dev-v1.1-even.json")  # doctest: +SKIP
        >>> [a.title for a in select_squad_split(s, "heldout").articles][:2]  # doctest: +SKIP
        ['Martin Luther', 'Apollo program']
    """
    from eval.splits import squad_split

    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}; got {split!r}")
    if split == "all":
        return evalset
    kept = [a for pos, a in enumerate(evalset.articles) if squad_split(pos) == split]
    ids = {a.id for a in kept}
    return replace(
        evalset,
        name=f"{evalset.name}-{split}",
        articles=kept,
        questions=[q for q in evalset.questions if q.article_id in ids],
    )


# --- RealTime QA ---------------------------------------------------------------------------


def _read_jsonl_objects(path: Path) -> list[tuple[int, dict[str, Any]]]:
    rows: list[tuple[int, dict[str, Any]]] = []
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}, line {line_no}: invalid JSON: {e.msg}") from e
            if not isinstance(obj, dict):
                raise ValueError(
                    f"{path}, line {line_no}: expected a JSON object, got {type(obj).__name__}"
                )
            rows.append((line_no, obj))
    return rows


def _authors(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    names = [str(n).strip() for n in value or [] if str(n).strip()]
    # The scraper sometimes lists "A B C D" before "A B" and "C D"; drop such run-ons.
    kept = [n for n in names if not any(o != n and o in n for o in names)]
    return ", ".join(dict.fromkeys(kept))


def _rtqa_article(result: dict[str, Any]) -> EvalArticle:
    url = str(result["url"])
    host = urlparse(url).netloc.lower()
    return EvalArticle(
        id="rtqa-" + hashlib.sha256(url.encode("utf-8")).hexdigest()[:12],
        title=str(result.get("title") or ""),
        text=str(result["text"]),
        source=host.removeprefix("www."),
        author=_authors(result.get("authors")),
        date=_iso_date(str(result.get("publish_date") or "")),
        url=url,
    )


def load_realtimeqa(qa_path: str | Path, gcs_path: str | Path | None = None) -> EvalSet:
    """Load one RealTime QA week: the quiz questions and the news articles found for them.

    The corpus is every distinct search-result article of the week (deduplicated by URL,
    first occurrence kept, in file order), with id "rtqa-" + the first 12 hex digits of
    the URL's SHA-256. Each question becomes a multiple-choice question whose gold answer
    is the text of the correct choice.

    How the fields that the data set does not give are derived (best effort):

    - ``evidence``: the data set's evidence passage with HTML removed; "" for the third of
      questions without one.
    - ``article_id``: the first article containing the evidence's first sentence (periods
      after abbreviations such as "Gov." do not end it, and it is extended to at least 40
      characters), compared exactly and then ignoring case, curly quotes, dashes and
      spacing; ``None`` when no article contains it. The evidence comes from the quiz's own
      source, which is usually not among the search results: in the weeks 2024-01-05 and
      2024-01-12 no evidence passage is found, so ``article_id`` is always ``None`` there.
    - ``answer_starts``: where the correct choice appears, exactly, inside the located
      evidence in that article; else empty.
    - ``answerable``: True when the correct choice appears as whole words, ignoring case,
      curly quotes and surrounding quote marks, in any article of the week. This is a
      heuristic: it misses paraphrases ("Tigger" vs "the bouncy tiger") and accepts chance
      mentions of short answers such as numbers.

    Args:
        qa_path: The week's ``*_qa.jsonl`` file.
        gcs_path: The matching ``*_gcs.jsonl`` search results; derived from ``qa_path`` by
            replacing ``_qa.jsonl`` with ``_gcs.jsonl`` when ``None``.

    Returns:
        The set, named "realtimeqa-<week>"; ``sha256`` covers both files.

    Raises:
        ValueError: A line is not valid JSON or lacks a required field (the message names
            the file and line), or ``gcs_path`` cannot be derived.
        OSError: A file cannot be read.

    Example:
        >>> qa_file = DEFAULT_DATA_DIR / "realtimeqa" / "20240105_qa.jsonl"
        >>> week = load_realtimeqa(qa_file)  # doctest: +SKIP
        >>> week.questions[0].choices  # doctest: +SKIP
        ['Tsai Ing-wen', 'Hou Yu-ih', 'Lai Ching-te', 'Ko Wen-je']
    """
    qa_path = Path(qa_path)
    if gcs_path is None:
        if not qa_path.name.endswith("_qa.jsonl"):
            raise ValueError(
                f"cannot derive the search-results file from {qa_path}: the name does not end "
                f"in '_qa.jsonl'; pass gcs_path explicitly"
            )
        gcs_path = qa_path.with_name(qa_path.name.removesuffix("_qa.jsonl") + "_gcs.jsonl")
    gcs_path = Path(gcs_path)

    articles: dict[str, EvalArticle] = {}
    for line_no, row in _read_jsonl_objects(gcs_path):
        results = row.get("search_result")
        if not isinstance(results, list):
            raise ValueError(f"{gcs_path}, line {line_no}: 'search_result' must be a list")
        for result in results:
            try:
                article = _rtqa_article(result)
            except (KeyError, TypeError, AttributeError) as e:
                raise ValueError(
                    f"{gcs_path}, line {line_no}: a search result lacks 'url' or 'text': {e!r}"
                ) from e
            if article.text.strip() and article.url not in articles:
                articles[article.url] = article
    corpus = list(articles.values())
    folded = [_fold_with_map(a.text) for a in corpus]

    questions: list[EvalQuestion] = []
    for line_no, row in _read_jsonl_objects(qa_path):
        try:
            choices = [str(c) for c in row["choices"]]
            indexes = [int(i) for i in row["answer"]]
            if any(not 0 <= i < len(choices) for i in indexes):
                raise IndexError(f"answer {row['answer']!r} is outside choices {choices!r}")
            answers = [choices[i] for i in indexes]
            qid, sentence = str(row["question_id"]), str(row["question_sentence"])
        except (KeyError, TypeError, ValueError, IndexError) as e:
            raise ValueError(
                f"{qa_path}, line {line_no}: needs question_id, question_sentence, choices "
                f"and answer (indexes into choices as strings): {e!r}"
            ) from e
        if not answers:
            raise ValueError(f"{qa_path}, line {line_no}: 'answer' is empty")
        evidence = strip_html(str(row.get("evidence") or ""))
        article_id: str | None = None
        starts: list[int] = []
        first = _first_sentence(evidence)
        for article, article_folded in zip(corpus, folded, strict=True) if first else []:
            span = _locate(first, article.text, article_folded)
            if span is None:
                continue
            article_id = article.id
            region = _locate(evidence, article.text, article_folded) or span
            pos = article.text.find(answers[0], region[0], region[1])
            if pos >= 0:
                starts = [pos]
                answers = answers[:1]
            break
        answerable = any(_mentions(text, answers[0]) for text, _ in folded)
        questions.append(
            EvalQuestion(
                id=qid,
                question=sentence,
                answers=answers,
                article_id=article_id,
                answer_starts=starts,
                evidence=evidence,
                answerable=answerable,
                choices=choices,
                correct_choice=answers[0],
            )
        )
    week = qa_path.name.removesuffix(".jsonl").removesuffix("_qa")
    return EvalSet(
        name=f"realtimeqa-{week}",
        articles=corpus,
        questions=questions,
        source_path=qa_path,
        sha256=_sha256_files([qa_path, gcs_path]),
    )


# --- news-qa -------------------------------------------------------------------------------


def _newsqa_article(path: Path) -> EvalArticle:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: invalid JSON: {e.msg}") from e
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(obj).__name__}")
    missing = [k for k in NEWSQA_ARTICLE_KEYS if not isinstance(obj.get(k), str)]
    if missing or not obj["text"].strip():
        raise ValueError(
            f"{path}: an article needs the string fields {list(NEWSQA_ARTICLE_KEYS)} and a "
            f"non-empty text; missing or not a string: {missing or ['text (empty)']}"
        )
    return EvalArticle(
        id=f"newsqa-{path.stem}",
        title=obj["title"],
        text=obj["text"],
        source=obj["source"],
        author=obj["author"],
        date=obj["date"],
        url=obj["url"],
    )


def _read_newsqa_questions(
    qa_path: Path,
    article_of: Callable[[str], EvalArticle | None],
    looked_for: Callable[[str], str],
    keep: Callable[[str], bool] | None = None,
) -> list[EvalQuestion]:
    """Read and check a news-qa style ``questions.jsonl`` (news-qa, bbc-qa).

    Every line is checked (keys, field types, unique ids, answers agreeing with ``type``),
    whether or not it is kept.

    Args:
        qa_path: The questions file.
        article_of: The article a line's ``article`` value names, or ``None`` when there is
            no such article.
        looked_for: Where ``article_of`` looked, for the error message ("looked for ...").
        keep: Which ``article`` values to keep questions of; every one when ``None``.
            Articles of lines not kept are not looked up.

    Returns:
        The kept questions, in file order: ``article_id`` their article's id, ``category``
        their ``type``, ``answerable`` whether ``answers`` is non-empty.

    Raises:
        ValueError: A line is not valid JSON, has a missing, mistyped or unknown field,
            repeats an id, has answers that disagree with its type, or (kept) names an
            article that is not there; the message names the file and line.
    """
    questions: list[EvalQuestion] = []
    seen: dict[str, int] = {}
    for line_no, obj in _read_jsonl_objects(qa_path):
        where = f"{qa_path}, line {line_no}"
        unknown = sorted(set(obj) - set(NEWSQA_KEYS))
        if unknown:
            raise ValueError(f"{where}: unknown keys {unknown}; valid keys are {list(NEWSQA_KEYS)}")
        answers = obj.get("answers")
        strings = {k: obj.get(k) for k in NEWSQA_KEYS if k != "answers"}
        bad = [k for k, v in strings.items() if not isinstance(v, str)]
        if bad or not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
            raise ValueError(
                f"{where}: needs string fields {[k for k in NEWSQA_KEYS if k != 'answers']} "
                f"and 'answers' as a list of strings; wrong or missing: "
                f"{bad + ([] if isinstance(answers, list) else ['answers'])}"
            )
        qid, name, qtype = obj["id"], obj["article"], obj["type"]
        if qid in seen:
            raise ValueError(f"{where}: duplicate id {qid!r} (first used on line {seen[qid]})")
        seen[qid] = line_no
        answerable = bool(answers)
        if answerable == (qtype == "unanswerable"):
            raise ValueError(
                f"{where}: type {qtype!r} with answers {answers!r}: an unanswerable question "
                f"has answers [] and every other type at least one"
            )
        if keep is not None and not keep(name):
            continue
        article = article_of(name)
        if article is None:
            raise ValueError(f"{where}: article {name!r} not found ({looked_for(name)})")
        evidence = obj["evidence"]
        if answerable and _locate(evidence, article.text) is None:
            log.warning("%s: evidence %r is not in article %s", where, evidence, name)
        questions.append(
            EvalQuestion(
                id=qid,
                question=obj["question"],
                answers=list(answers),
                article_id=article.id,
                evidence=evidence,
                answerable=answerable,
                category=qtype,
            )
        )
    return questions


def load_newsqa(path: str | Path) -> EvalSet:
    """Load the news-qa set: ``articles/NN-slug.json`` and ``questions.jsonl`` (see its README).

    Each article file ``{"title", "text", "url", "author", "date", "source"}`` becomes an
    :class:`EvalArticle` with id "newsqa-<file stem>", its text unchanged. Each question line
    ``{"id", "article", "question", "answers", "evidence", "type"}`` becomes an
    :class:`EvalQuestion` whose ``article_id`` is its article's id, ``category`` its ``type``,
    and ``answerable`` whether ``answers`` is non-empty (which must agree with ``type``
    being "unanswerable" or not). An evidence span that is not in its article, even after
    unifying case, quotes, dashes and spacing, is logged: that question cannot be right.

    Args:
        path: The ``news-qa`` folder, or its ``questions.jsonl`` (the articles are then
            read from the ``articles`` folder beside it).

    Returns:
        The set, named "news-qa"; ``sha256`` covers ``questions.jsonl`` and then each
        article file in name order.

    Raises:
        ValueError: A file is not valid JSON, a field is missing or mistyped, a question
            names an article that is not there, repeats an id, or has answers that disagree
            with its type; the message names the file and line.
        FileNotFoundError: The folder, its ``questions.jsonl`` or its articles are missing.

    Example:
        >>> s = load_newsqa(DEFAULT_DATA_DIR / "news-qa")  # doctest: +SKIP
        >>> len(s.articles), len(s.questions), s.questions[0].category  # doctest: +SKIP
        (16, 96, 'paraphrase')
    """
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    qa_path = path if path.is_file() else folder / "questions.jsonl"
    if not qa_path.is_file():
        raise FileNotFoundError(f"news-qa questions file not found: {qa_path}")
    files = sorted((folder / "articles").glob("*.json"))
    if not files:
        raise FileNotFoundError(
            f"no news-qa articles found: expected {folder / 'articles'}/NN-slug.json files"
        )
    articles = [_newsqa_article(f) for f in files]
    by_stem = {f.stem: a for f, a in zip(files, articles, strict=True)}
    questions = _read_newsqa_questions(
        qa_path,
        by_stem.get,
        lambda stem: f"looked for {folder / 'articles'}/{stem}.json",
    )
    return EvalSet(
        name="news-qa",
        articles=articles,
        questions=questions,
        source_path=qa_path,
        sha256=_sha256_files([qa_path, *files]),
    )


# --- BBC News ------------------------------------------------------------------------------


def _decode(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # One BBC file has a bare 0xA3 ("£" in cp1252 and Latin-1).
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    log.debug("%s is not valid UTF-8; decoded as cp1252/latin-1", path)
    return text


def _bbc_article(topic: str, path: Path) -> EvalArticle:
    """One BBC News file as :func:`load_bbc` reads it: the first line is the headline."""
    raw = _decode(path.read_bytes(), path)
    headline, _, body = raw.partition("\n")
    return EvalArticle(
        id=f"bbc-{topic}-{path.stem}",
        title=headline.strip(),
        text=body.strip(),
        source="BBC News",
    )


def story(body: str) -> frozenset[str]:
    """An article's paragraphs (its body, without the headline line), whitespace and case
    folded and the short ones left out: what two copies of one story share (see
    :func:`same_story`)."""
    folded = (re.sub(r"\s+", " ", x).strip().lower() for x in body.split("\n"))
    return frozenset(p for p in folded if len(p) >= 40)


def same_story(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether two articles (their :func:`story`) are one story: at least half the
    paragraphs of the shorter are in the other. BBC News holds some stories twice, under
    other names and headlines, or one story rewritten around a long shared passage; a
    copy of an article asked about takes its citations, and one in two splits leaks."""
    return bool(a and b) and len(a & b) * 2 >= min(len(a), len(b))


def load_bbc(folder: str | Path, limit: int | None = None) -> list[EvalArticle]:
    """Load the BBC News corpus: one folder per topic, one ``NNN.txt`` file per article.

    The first line of a file is the headline; the rest, without surrounding blank lines,
    is the text. Files that are not valid UTF-8 are decoded as cp1252 (Latin-1 as a last
    resort). Articles come sorted by topic, then file name. The corpus contains some
    articles twice under different file names; they are kept, as the data set has them.

    Args:
        folder: The ``bbc-news`` folder (its top-level files, such as README.TXT, are
            ignored).
        limit: Keep only the first ``limit`` articles in that order; all when ``None``.

    Returns:
        The articles, with ids "bbc-<topic>-<NNN>" and source "BBC News".

    Raises:
        ValueError: ``limit`` is negative, or the folder has no topic folders with ``.txt``
            files.
        FileNotFoundError: The folder does not exist.

    Example:
        >>> arts = load_bbc(DEFAULT_DATA_DIR / "bbc-news", limit=2)  # doctest: +SKIP
        >>> arts[0].id, arts[0].title  # doctest: +SKIP
        ('bbc-business-001', 'Ad sales boost Time Warner profit')
    """
    folder = Path(folder)
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0 or None, got {limit}")
    if not folder.is_dir():
        raise FileNotFoundError(f"BBC News folder not found: {folder}")
    files = [
        (topic.name, path)
        for topic in sorted(p for p in folder.iterdir() if p.is_dir())
        for path in sorted(topic.iterdir())
        if path.is_file() and path.suffix.lower() == ".txt"
    ]
    if not files:
        raise ValueError(
            f"{folder}: no topic folders with .txt files (expected e.g. business/001.txt)"
        )
    if limit is not None:
        files = files[:limit]
    return [_bbc_article(topic, path) for topic, path in files]


# --- bbc-qa --------------------------------------------------------------------------------

#: The values of ``split`` that :func:`load_bbcqa` accepts (bbc-qa has no held-out part).
BBCQA_SPLITS = ("dev", "train", "all")


def load_bbcqa(
    path: str | Path, split: str = "dev", articles_dir: str | Path | None = None
) -> EvalSet:
    """Load bbc-qa: reader questions over BBC News articles (``questions.jsonl``, see its
    README), keeping the articles of one split of :func:`eval.splits.bbc_split`.

    The question lines have news-qa's format (``id``, ``article``, ``question``, ``answers``,
    ``evidence``, ``type``) and are checked and read the same way (see :func:`load_newsqa`):
    ``category`` is the ``type``, ``answerable`` whether ``answers`` is non-empty. A line's
    ``article`` is the file's path under the BBC News folder ("business/004.txt"); the
    articles are read exactly as :func:`load_bbc` reads them, so their ids
    ("bbc-<topic>-<NNN>") and texts are the same as in the BBC News corpus.

    bbc-qa is training data: its ``train`` articles train the answer stage's models and its
    ``dev`` articles validate them. It has no held-out part; measure on news-qa, SQuAD's
    held-out articles and the seed set.

    Args:
        path: The ``bbc-qa`` folder, or its ``questions.jsonl``.
        split: "dev" (the default), "train" or "all": keep only the questions, and the
            articles, whose ``bbc_split(article)`` is that split.
        articles_dir: The BBC News folder; default the ``bbc-news`` folder beside the
            ``bbc-qa`` folder.

    Returns:
        The set, named "bbc-qa-<split>" ("bbc-qa" for all), articles in :func:`load_bbc`'s
        order (topic, then file name); ``sha256`` covers ``questions.jsonl`` and then each
        kept article file in that order.

    Raises:
        ValueError: ``split`` is not one of :data:`BBCQA_SPLITS`; a line is not valid JSON,
            has a missing, mistyped or unknown field, repeats an id, has answers that
            disagree with its type, or names an article that is not a ``topic/NNN.txt``
            file of the BBC News folder; the message names the file and line.
        FileNotFoundError: ``questions.jsonl`` or the BBC News folder is missing.

    Example:
        >>> s = load_bbcqa(DEFAULT_DATA_DIR / "bbc-qa")  # doctest: +SKIP
        >>> len(s.articles), len(s.questions), s.articles[0].id  # doctest: +SKIP
        (34, 204, 'bbc-business-037')
    """
    from eval.splits import bbc_split

    if split not in BBCQA_SPLITS:
        raise ValueError(
            f"bbc-qa split must be one of {', '.join(BBCQA_SPLITS)} (it has no held-out part); "
            f"got {split!r}"
        )
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    qa_path = path if path.is_file() else folder / "questions.jsonl"
    if not qa_path.is_file():
        raise FileNotFoundError(f"bbc-qa questions file not found: {qa_path}")
    bbc_dir = Path(articles_dir) if articles_dir is not None else folder.parent / "bbc-news"
    if not bbc_dir.is_dir():
        raise FileNotFoundError(
            f"BBC News folder not found: {bbc_dir} (bbc-qa reads its articles from there)"
        )
    loaded: dict[str, tuple[Path, EvalArticle]] = {}

    def article_of(name: str) -> EvalArticle | None:
        if name not in loaded:
            parts = Path(name).parts
            file = bbc_dir / name
            if len(parts) != 2 or ".." in parts or file.suffix != ".txt" or not file.is_file():
                return None
            loaded[name] = (file, _bbc_article(parts[0], file))
        return loaded[name][1]

    questions = _read_newsqa_questions(
        qa_path,
        article_of,
        lambda name: f"expected a topic/NNN.txt file under {bbc_dir}",
        None if split == "all" else (lambda name: bbc_split(name) == split),
    )
    kept = [loaded[name] for name in sorted(loaded, key=lambda n: Path(n).parts)]
    return EvalSet(
        name="bbc-qa" if split == "all" else f"bbc-qa-{split}",
        articles=[a for _, a in kept],
        questions=questions,
        source_path=qa_path,
        sha256=_sha256_files([qa_path, *(f for f, _ in kept)]),
    )


# --- our JSONL format ----------------------------------------------------------------------


def _parse_history(value: Any, where: str) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise ValueError(f"{where}: 'history' must be a list of chat messages")
    history: list[dict[str, str]] = []
    for i, msg in enumerate(value):
        if (
            not isinstance(msg, dict)
            or set(msg) != {"role", "content"}
            or msg["role"] not in HISTORY_ROLES
            or not isinstance(msg["content"], str)
        ):
            raise ValueError(
                f"{where}: history[{i}] must be {{'role': one of {list(HISTORY_ROLES)}, "
                f"'content': str}}, got {msg!r}"
            )
        history.append({"role": msg["role"], "content": msg["content"]})
    return history


def _parse_jsonl_question(
    obj: dict[str, Any], where: str, default_id: str, base: Path
) -> tuple[EvalQuestion, list[Path]]:
    unknown = sorted(set(obj) - set(JSONL_KEYS))
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}; valid keys are {list(JSONL_KEYS)}")
    question = obj.get("question")
    if not isinstance(question, str) or not question.strip():
        raise ValueError(f"{where}: 'question' must be a non-empty string, got {question!r}")
    answers = obj.get("answers")
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise ValueError(f"{where}: 'answers' must be a list of strings, got {answers!r}")
    qid = obj.get("id", default_id)
    if not isinstance(qid, str) or not qid:
        raise ValueError(f"{where}: 'id' must be a non-empty string, got {qid!r}")
    evidence = obj.get("evidence", "")
    if not isinstance(evidence, str):
        raise ValueError(f"{where}: 'evidence' must be a string, got {evidence!r}")
    answerable = obj.get("answerable", bool(answers))
    if not isinstance(answerable, bool):
        raise ValueError(f"{where}: 'answerable' must be true or false, got {answerable!r}")
    paths = obj.get("articles", [])
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise ValueError(f"{where}: 'articles' must be a list of paths, got {paths!r}")
    files: list[Path] = []
    for p in paths:
        resolved = (base / p).resolve()
        if not resolved.is_file():
            raise ValueError(f"{where}: article file {p!r} not found (looked for {resolved})")
        files.append(resolved)
    history = _parse_history(obj.get("history", []), where)
    return (
        EvalQuestion(
            id=qid,
            question=question,
            answers=list(answers),
            history=history,
            evidence=evidence,
            answerable=answerable,
            article_files=[str(f) for f in files],
        ),
        files,
    )


def load_jsonl(path: str | Path) -> EvalSet:
    """Load questions in our own JSONL format, one JSON object per line.

    Each line holds ``question`` and ``answers`` (a list, empty for an unanswerable
    question) and optionally ``id`` (default "<file stem>-<line>"), ``history`` (earlier
    chat messages ``{"role", "content"}``), ``evidence`` (the supporting sentence),
    ``answerable`` (default: whether ``answers`` is non-empty) and ``articles`` (article
    files, relative to the JSONL file, that form the corpus). Blank lines are ignored.

    The corpus is returned as :attr:`EvalSet.article_files` (every listed file, once, in
    order of first mention) for the caller to ingest; ``articles`` is empty and questions
    have no ``article_id``.

    Args:
        path: The JSONL file.

    Returns:
        The set, named after the file stem; ``sha256`` covers the JSONL file and then each
        article file.

    Raises:
        ValueError: A line is invalid JSON, has a missing, mistyped or unknown field, names
            an article file that does not exist, or repeats an id; the message names the
            file and line number.
        OSError: The file cannot be read.

    Example:
        A line: ``{"question": "Who wrote it?", "answers": ["Jane Doe"],
        "articles": ["articles/story.txt"]}``
    """
    path = Path(path)
    questions: list[EvalQuestion] = []
    files: dict[Path, None] = {}
    seen: dict[str, int] = {}
    for line_no, obj in _read_jsonl_objects(path):
        where = f"{path}, line {line_no}"
        question, article_files = _parse_jsonl_question(
            obj, where, f"{path.stem}-{line_no}", path.parent
        )
        if question.id in seen:
            raise ValueError(
                f"{where}: duplicate id {question.id!r} (first used on line {seen[question.id]})"
            )
        seen[question.id] = line_no
        questions.append(question)
        files.update(dict.fromkeys(article_files))
    article_files = list(files)
    return EvalSet(
        name=path.stem,
        articles=[],
        questions=questions,
        source_path=path,
        sha256=_sha256_files([path, *article_files]),
        article_files=article_files,
    )


# --- sampling ------------------------------------------------------------------------------


def sample_questions(questions: Sequence[T], limit: int | None, seed: int = 0) -> list[T]:
    """A deterministic random subset, kept in the original order.

    Args:
        questions: The items to sample from (any sequence).
        limit: How many to keep; all of them when ``None`` or at least ``len(questions)``.
        seed: Seed for :class:`random.Random`; the same seed gives the same subset.

    Returns:
        The chosen items, in their original order.

    Raises:
        ValueError: ``limit`` is negative.

    Example:
        >>> sample_questions(list("abcdef"), 3, seed=1)
        ['a', 'b', 'e']
    """
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0 or None, got {limit}")
    if limit is None or limit >= len(questions):
        return list(questions)
    chosen = sorted(random.Random(seed).sample(range(len(questions)), limit))
    return [questions[i] for i in chosen]
