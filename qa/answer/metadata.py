"""Questions about the article itself (author, outlet, date, headline), answered from its
metadata and cited to the header line that gives it."""

from __future__ import annotations

from qa.answer_types import Answer
from qa.articles import Article
from qa.cite import Citation, make_citation
from qa.retrieval import SearchResult
from qa.store import IndexReader

from .question import QuestionInfo


def metadata_answer(
    question: str, info: QuestionInfo, result: SearchResult, index: IndexReader
) -> Answer | None:
    """The answer from the best-matching article's metadata field, or None when it has no
    such field."""
    if not result.passages:
        return None
    article = index.article(result.passages[0].article_id)
    field = info.kind.split("_", 1)[1]
    value = {
        "author": article.author,
        "source": article.source,
        "date": article.date,
        "title": article.title,
    }[field]
    if not value:
        return None
    span = article.fields.get(field)
    if span:
        cite = make_citation(
            article, span[0], span[1], 1, kind="metadata", highlight=_find_in(article, value, span)
        )
    else:
        cite = Citation(
            n=1,
            article_id=article.id,
            title=article.title,
            source=article.source,
            quote="",
            start=0,
            end=0,
            author=article.author,
            date=article.date,
            url=article.url,
            kind="metadata",
        )
    label = {
        "author": "is by",
        "source": "ran in",
        "date": "is dated",
        "title": "has the headline",
    }[field]
    where = (
        "the byline"
        if field == "author"
        else "the article's header"
        if span
        else "the article's metadata"
    )
    notes = [f"Answered from {where}."]
    if len({p.article_id for p in result.passages}) > 1:
        # "this article" with several articles in play: say which one was taken
        subject = f"The best-matching article, “{article.title or article.id}”,"
        notes.append(
            "Several articles match; pick one under “Ask about” (or pass "
            "--article) to ask about a particular one."
        )
    else:
        subject = "The article"
    text = f"{subject} {label} {value} [1]." + (f"\n\n{cite.quote} [1]" if cite.quote else "")
    return Answer(
        question=question,
        text=text,
        citations=[cite],
        passages=result.passages,
        abstained=False,
        short=value,
        confidence=1.0,
        query=result.query,
        expansions=result.expansions,
        mode="metadata",
        question_type=info.kind,
        notes=notes,
    )


def _find_in(article: Article, value: str, span: tuple[int, int]) -> tuple[int, int] | None:
    i = article.text.find(value, span[0], span[1])
    return (i, i + len(value)) if i >= 0 else None
