"""Run an evaluation: index a data set's articles into a temporary index, then retrieve and
answer every (sampled) question through the public :class:`qa.engine.QA` API.

The figures are computed by :func:`summarise` from per-question :class:`QuestionRecord`
values, so reports, comparisons and the calibration script all read the same numbers.
"""

from __future__ import annotations

import contextlib
import logging
import math
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eval.datasets import (
    EvalArticle,
    EvalQuestion,
    EvalSet,
    load_bbc,
    load_jsonl,
    load_newsqa,
    load_realtimeqa,
    load_squad,
)
from eval.judge import Judge, first_hit_rank, predicted_answer
from eval.metrics import abstention_scores, hits_curve, mrr_at_k, percentiles
from qa.answer import analyse
from qa.retrieval import Filters

if TYPE_CHECKING:
    from qa.articles import Article
    from qa.engine import QA
    from qa.settings import Settings

log = logging.getLogger(__name__)

#: Passages retrieved per question for the retrieval metrics (Hits@1..10, MRR@10).
RETRIEVE_K = 10
REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class QuestionRecord:
    """Everything measured for one question.

    Attributes:
        id: The question id.
        question: The question text.
        expected: The expected answer as shown in reports.
        answerable: Whether the corpus holds the answer.
        history_turns: Chat messages passed with the question.
        retrieval_scored: Whether the question counts for retrieval metrics.
        rank: 1-based rank of the first relevant passage in the top 10, or None.
        abstained: Whether the system declined to answer.
        confidence: ``Answer.confidence``.
        short: ``Answer.short``.
        text: ``Answer.text``.
        predicted: What exact match and F1 scored (short, else the first cited quote).
        quotes: The cited quotes, in order.
        em: Exact match (None for unanswerable questions).
        f1: Token F1 (None for unanswerable questions).
        supporting: Whether the cited sentence holds the answer (None: not applicable).
        correct: Whether the answer is right (an abstention, for unanswerable questions).
        citations: Number of citations.
        invalid_citations: Citations whose quote is not ``article_text[start:end]``.
        question_type: The answer kind the answerer recognised.
        mode: Which answerer answered (extractive, metadata, ...).
        retrieve_s: Seconds for retrieval of the top 10.
        ask_s: Seconds for the whole ``ask`` call (retrieval included).
        category: The data set's own label of the question (news-qa's ``type``), or "".
        article_id: The article holding the answer, where the data set says.
        scoped: Whether the question was asked of its own article(s) only.
        short_em: Exact match of ``Answer.short`` alone (0 when abstained or empty; None for
            unanswerable questions).
        short_f1: Token F1 of the same.
        answer_in_text: Whether ``Answer.text`` holds an accepted answer (news-qa; else None).
        short_right: Whether a non-empty ``Answer.short`` holds an accepted answer (news-qa;
            else None).
        llm_asked: Whether the question was put to the LLM (``--mode llm``).
        llm_checked: Whether the LLM replied and its reply was checked (``Answer.generation``).
        fell_back: Whether the LLM was asked but the extractive answer is shown (an
            unsupported reply or a failed server).
        gen_sentences: Sentences of the LLM's reply that state something.
        gen_supported: Those shown with a citation that supports them.
        gen_markers: Passage numbers the reply cited.
        gen_dropped: Markers removed (pointing at nothing or at text that does not support).
        shown_violations: Sentences shown as supported whose cited quote does not support
            them, and citations that do not quote their article (:func:`qa.cite.check_shown`);
            must be 0.
    """

    id: str
    question: str
    expected: str
    answerable: bool
    history_turns: int
    retrieval_scored: bool
    rank: int | None
    abstained: bool
    confidence: float
    short: str
    text: str
    predicted: str
    quotes: list[str]
    em: float | None
    f1: float | None
    supporting: bool | None
    correct: bool
    citations: int
    invalid_citations: int
    question_type: str
    mode: str
    retrieve_s: float
    ask_s: float
    category: str = ""
    article_id: str | None = None
    scoped: bool = False
    short_em: float | None = None
    short_f1: float | None = None
    answer_in_text: bool | None = None
    short_right: bool | None = None
    llm_asked: bool = False
    llm_checked: bool = False
    fell_back: bool = False
    gen_sentences: int = 0
    gen_supported: int = 0
    gen_markers: int = 0
    gen_dropped: int = 0
    shown_violations: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict of every field."""
        return asdict(self)


@dataclass(frozen=True)
class Corpus:
    """The articles indexed for an evaluation.

    Attributes:
        articles: The data set's own articles.
        distractors: Extra articles indexed beside them (BBC News), or empty.
    """

    articles: list[Article]
    distractors: list[Article] = field(default_factory=list)


def load_set(dataset: str, path: str | Path) -> EvalSet:
    """Load a data set of the given kind.

    Raises:
        ValueError: Unknown kind, or the file is not in that format.
        OSError: The file cannot be read.
    """
    loaders: dict[str, Callable[[Path], EvalSet]] = {
        "squad": load_squad,
        "realtimeqa": load_realtimeqa,
        "jsonl": load_jsonl,
        "newsqa": load_newsqa,
    }
    if dataset not in loaders:
        raise ValueError(f"data set must be one of {', '.join(loaders)}; got {dataset!r}")
    p = Path(path)
    if not (p.is_file() or (dataset == "newsqa" and p.is_dir())):
        what = "folder (or its questions.jsonl)" if dataset == "newsqa" else "data file"
        raise FileNotFoundError(f"{dataset} {what} not found: {p}")
    return loaders[dataset](p)


def _to_article(a: EvalArticle) -> Article:
    from qa.articles import make_article

    # make_article keeps the text exactly, so the data set's gold offsets stay valid
    return make_article(
        a.text,
        title=a.title,
        source=a.source,
        author=a.author,
        date=a.date,
        url=a.url,
        article_id=a.id,
    )


def load_corpus(
    evalset: EvalSet, distractors: str | Path | None = None, distractor_limit: int | None = 300
) -> Corpus:
    """The articles to index: the set's own (given or read from its article files), plus
    BBC News distractors when a folder is given.

    Raises:
        ValueError: An article file cannot be read, or the set has no articles.
    """
    from qa.articles import load_paths

    articles = [_to_article(a) for a in evalset.articles]
    if evalset.article_files:
        loaded = load_paths(evalset.article_files)
        if loaded.errors:
            raise ValueError(
                "cannot read the data set's articles: " + "; ".join(str(e) for e in loaded.errors)
            )
        articles.extend(loaded.articles)
    if not articles:
        raise ValueError(f"{evalset.source_path}: the data set names no articles to index")
    extra = (
        [_to_article(a) for a in load_bbc(distractors, limit=distractor_limit)]
        if distractors
        else []
    )
    return Corpus(articles, extra)


def git_commit() -> str:
    """The repository's HEAD commit, or "unknown" when git or the repository is missing."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def git_dirty() -> bool | None:
    """Whether the working tree has uncommitted changes (None when unknown)."""
    try:
        out = subprocess.run(
            ["git", "--no-optional-locks", "status", "--porcelain"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        )
        return bool(out.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        return None


@contextlib.contextmanager
def eval_settings(base: Settings, index_dir: str | Path | None = None) -> Iterator[Settings]:
    """Settings whose data folder is a fresh temporary folder, and whose index is there too
    unless ``index_dir`` names one to keep. The folder is removed on exit."""
    with tempfile.TemporaryDirectory(prefix="qa-eval-") as tmp:
        yield base.replace(
            data_dir=Path(tmp), index_dir=Path(index_dir) if index_dir else Path(tmp) / "index"
        )


def build_engine(settings: Settings, corpus: Corpus, *, show_progress: bool = False) -> QA:
    """A :class:`QA` over ``settings.index_path`` holding the corpus (unchanged articles
    already there are skipped)."""
    from qa.engine import QA

    engine = QA(settings)
    engine.add_articles(corpus.articles + corpus.distractors, show_progress=show_progress)
    return engine


def _invalid_citations(engine: QA, answer: Any) -> int:
    from qa.errors import QAError

    bad = 0
    for c in answer.citations:
        try:
            text = engine.article(c.article_id).text
        except QAError:  # an article the index does not hold: the citation is invalid
            bad += 1
            continue
        if text[c.start : c.end] != c.quote:
            bad += 1
    return bad


def question_scope(engine: QA, q: EvalQuestion, *, per_article: bool = False) -> Filters | None:
    """The article a question about "this article" (its author, outlet, date or headline)
    means: with distractors indexed, a reader asks it with that article picked under "Ask
    about" (``--article`` in the CLI). Other questions search every article, unless
    ``per_article`` asks every question of its own article (``qa eval --per-article``); a
    question whose article is unknown then still searches every article."""
    if not per_article and not analyse(q.question).kind.startswith("metadata_"):
        return None
    ids: list[str] = [q.article_id] if q.article_id else []
    if q.article_files:
        files = {str(Path(f).resolve()) for f in q.article_files}
        ids += [
            a.id for a in engine.index.articles if a.path and str(Path(a.path).resolve()) in files
        ]
    return Filters(article_ids=tuple(ids)) if ids else None


def run_question(
    engine: QA, judge: Judge, q: EvalQuestion, *, per_article: bool = False
) -> QuestionRecord:
    """Retrieve the top 10 and answer one question; score both. With ``per_article``, the
    question is asked of its own article only (see :func:`question_scope`)."""
    history = list(q.history) or None
    scope = question_scope(engine, q, per_article=per_article)
    t0 = time.perf_counter()
    result = engine.search(q.question, k=RETRIEVE_K, history=history, filters=scope)
    t1 = time.perf_counter()
    answer = engine.ask(q.question, history, filters=scope)
    t2 = time.perf_counter()
    scored = judge.retrieval_scored(q)
    rank = first_hit_rank(result.passages, lambda p: judge.is_hit(q, p)) if scored else None
    v = judge.judge(q, answer)
    gen = _generation_fields(engine, answer)
    return QuestionRecord(
        id=q.id,
        question=q.question,
        expected=judge.expected(q),
        answerable=q.answerable,
        history_turns=len(q.history),
        retrieval_scored=scored,
        rank=rank,
        abstained=answer.abstained,
        confidence=float(answer.confidence),
        short=answer.short,
        text=answer.text,
        predicted=predicted_answer(answer),
        quotes=[c.quote for c in answer.citations],
        em=v.em,
        f1=v.f1,
        supporting=v.supporting,
        correct=v.correct,
        citations=len(answer.citations),
        invalid_citations=_invalid_citations(engine, answer),
        question_type=answer.question_type,
        mode=answer.mode,
        retrieve_s=t1 - t0,
        ask_s=t2 - t1,
        category=q.category,
        article_id=q.article_id,
        scoped=scope is not None,
        short_em=v.short_em,
        short_f1=v.short_f1,
        answer_in_text=v.answer_in_text,
        short_right=v.short_right,
        **gen,
    )


def _generation_fields(engine: QA, answer: Any) -> dict[str, Any]:
    """The LLM figures of one answer (``--mode llm``): what the check of the model's reply
    found, and an audit of the answer as shown (:func:`qa.cite.check_shown`)."""
    from qa.cite import check_shown

    asked = engine.settings.answer_mode == "llm" and engine.settings.llm_available
    if not asked:
        return {}
    g = answer.generation
    out: dict[str, Any] = {"llm_asked": True, "fell_back": answer.mode != "llm"}
    if g is not None:
        out.update(
            llm_checked=True,
            gen_sentences=len(g.supported) + len(g.unsupported),
            gen_supported=len(g.supported),
            gen_markers=g.markers,
            gen_dropped=len(g.dropped),
        )
    if answer.mode == "llm":
        out["shown_violations"] = len(
            check_shown(answer.text, answer.citations, engine.index, engine.model).violations
        )
    return out


def generation_summary(records: Sequence[QuestionRecord]) -> dict[str, Any]:
    """The LLM answerer's figures over a run (all 0 or ``nan`` for an extractive run).

    Returns:
        ``asked`` (questions put to the LLM), ``replies_checked``, ``sentences`` and
        ``supported_share`` (generated sentences shown with a supporting citation),
        ``markers`` and ``markers_dropped_share``, ``fallbacks`` and ``fallback_share``
        (extractive answer shown: an unsupported reply or a failed server),
        ``server_failures`` (no reply to check) and ``shown_unsupported`` (sentences shown
        as supported whose cited quote does not support them; must be 0).
    """
    asked = [r for r in records if r.llm_asked]
    sentences = sum(r.gen_sentences for r in asked)
    markers = sum(r.gen_markers for r in asked)
    fallbacks = sum(r.fell_back for r in asked)
    return {
        "asked": len(asked),
        "replies_checked": sum(r.llm_checked for r in asked),
        "sentences": sentences,
        "supported_share": sum(r.gen_supported for r in asked) / sentences
        if sentences
        else math.nan,
        "markers": markers,
        "markers_dropped_share": sum(r.gen_dropped for r in asked) / markers
        if markers
        else math.nan,
        "fallbacks": fallbacks,
        "fallback_share": fallbacks / len(asked) if asked else math.nan,
        "server_failures": sum(r.fell_back and not r.llm_checked for r in asked),
        "shown_unsupported": sum(r.shown_violations for r in asked),
    }


def run_questions(
    engine: QA,
    judge: Judge,
    questions: Sequence[EvalQuestion],
    *,
    show_progress: bool = False,
    desc: str = "questions",
    per_article: bool = False,
) -> list[QuestionRecord]:
    """Run :func:`run_question` over every question, with a tqdm bar when asked."""
    from tqdm import tqdm

    return [
        run_question(engine, judge, q, per_article=per_article)
        for q in tqdm(questions, desc=desc, unit="q", disable=not show_progress, dynamic_ncols=True)
    ]


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def _rate(flags: Sequence[bool | None]) -> float:
    scored = [f for f in flags if f is not None]
    return _mean([1.0 if f else 0.0 for f in scored])


def summarise(records: Sequence[QuestionRecord]) -> dict[str, Any]:
    """Every figure of a run, from its per-question records.

    Returns:
        A dict with ``retrieval`` (Hits@1/5/10, MRR@10, the Hits@k curve), ``answers``
        (EM, F1, supporting-sentence accuracy, correctness, citation validity), ``abstention``
        (precision, recall, F1 and counts), ``generation`` (the LLM answerer's figures,
        :func:`generation_summary`) and ``latency`` (percentiles in seconds).
        Undefined rates (nothing to average) are ``nan``.
    """
    ranks = [r.rank for r in records if r.retrieval_scored]
    curve = (
        hits_curve(ranks, range(1, RETRIEVE_K + 1))
        if ranks
        else {k: math.nan for k in range(1, RETRIEVE_K + 1)}
    )
    answerable = [r for r in records if r.answerable]
    answered = [r for r in records if not r.abstained]
    with_cites = [r for r in records if r.citations]
    ab = abstention_scores([r.abstained for r in records], [r.answerable for r in records])
    answered_answerable = [r for r in answerable if not r.abstained]
    return {
        "retrieval": {
            "questions": len(ranks),
            "hits@1": curve[1],
            "hits@5": curve[5],
            "hits@10": curve[10],
            "mrr@10": mrr_at_k(ranks, 10) if ranks else math.nan,
            "hits_curve": {str(k): v for k, v in curve.items()},
        },
        "answers": {
            "questions": len(records),
            "answerable": len(answerable),
            "answered": len(answered),
            "exact_match": _mean([r.em for r in answerable if r.em is not None]),
            "f1": _mean([r.f1 for r in answerable if r.f1 is not None]),
            "short_exact_match": _mean([r.short_em for r in answerable if r.short_em is not None]),
            "short_f1": _mean([r.short_f1 for r in answerable if r.short_f1 is not None]),
            "supporting_sentence_accuracy": _rate([r.supporting for r in answerable]),
            "supporting_sentence_accuracy_answered": _rate(
                [r.supporting for r in answered_answerable]
            ),
            "correct_answerable": _rate([r.correct for r in answerable]),
            "correct_all": _rate([r.correct for r in records]),
            "citation_validity": _rate([r.invalid_citations == 0 for r in with_cites]),
            "invalid_citations": sum(r.invalid_citations for r in records),
            "citations": sum(r.citations for r in records),
        },
        "abstention": ab.to_dict(),
        "scorecard": scorecard(records),
        "generation": generation_summary(records),
        "latency": {
            "retrieve_s": {
                **percentiles([r.retrieve_s for r in records]),
                "mean": _mean([r.retrieve_s for r in records]),
            },
            "ask_s": {
                **percentiles([r.ask_s for r in records]),
                "mean": _mean([r.ask_s for r in records]),
            },
        },
    }


def scorecard(records: Sequence[QuestionRecord]) -> dict[str, Any]:
    """The accuracy figures the news-qa README asks for, over any records.

    Returns:
        ``questions``, ``answerable`` and ``unanswerable`` counts; ``accuracy`` (right
        answers, an abstention being right on an unanswerable question),
        ``answerable_accuracy``, ``unanswerable_accuracy`` (equal to abstention recall),
        ``abstention_precision`` and ``abstention_recall``; over answerable questions,
        ``evidence_cited`` (the supporting-sentence rule alone), ``answer_in_text`` and
        ``short_answer_right`` (the rates where the judge decides them, else ``nan``) and
        ``wrongly_abstained`` (a count). Undefined rates are ``nan``.
    """
    answerable = [r for r in records if r.answerable]
    unanswerable = [r for r in records if not r.answerable]
    ab = abstention_scores([r.abstained for r in records], [r.answerable for r in records])
    return {
        "questions": len(records),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "accuracy": _rate([r.correct for r in records]),
        "answerable_accuracy": _rate([r.correct for r in answerable]),
        "unanswerable_accuracy": _rate([r.correct for r in unanswerable]),
        "abstention_precision": ab.precision,
        "abstention_recall": ab.recall,
        "evidence_cited": _rate([r.supporting for r in answerable]),
        "answer_in_text": _rate([r.answer_in_text for r in answerable]),
        "short_answer_right": _rate([r.short_right for r in answerable]),
        "wrongly_abstained": sum(r.abstained for r in answerable),
    }


def _group(r: QuestionRecord, key: str) -> str:
    if key == "category":
        return r.category or (r.id.rsplit("-", 1)[0] if "-" in r.id else "(none)")
    return r.question_type or "(none)"


def breakdown(records: Sequence[QuestionRecord], key: str) -> dict[str, dict[str, Any]]:
    """Per-group counts and rates: ``key`` is ``category`` (the data set's own label, such
    as news-qa's ``type``, else the id before its last "-") or ``question_type`` (the kind
    the answerer recognised). Each group also carries its :func:`scorecard` figures."""
    groups: dict[str, list[QuestionRecord]] = {}
    for r in records:
        groups.setdefault(_group(r, key), []).append(r)
    out: dict[str, dict[str, Any]] = {}
    for g, rs in sorted(groups.items()):
        ranks = [r.rank for r in rs if r.retrieval_scored]
        out[g] = {
            "questions": len(rs),
            "correct": _rate([r.correct for r in rs]),
            "abstained": sum(r.abstained for r in rs),
            "hits@1": hits_curve(ranks, [1])[1] if ranks else math.nan,
            "f1": _mean([r.f1 for r in rs if r.f1 is not None]),
            "short_f1": _mean([r.short_f1 for r in rs if r.short_f1 is not None]),
            **{k: v for k, v in scorecard(rs).items() if k != "questions"},
        }
    return out
