"""article-qa: chat-style question answering over news articles, every claim cited.

The public API is small::

    import qa
    passages = qa.retrieve("How long does the SDF expect the fight to last?", k=5)
    answer = qa.ask("How long does the SDF expect the fight to last?")
    print(answer.text)            # short answer, then the cited sentence with [1]
    answer.citations[0].quote     # the exact sentence; article.text[start:end] == quote

Settings come from ``QA_*`` environment variables (see :class:`Settings`); without an index,
the seed articles are indexed on first use.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from qa.errors import QAError  # noqa: E402
from qa.settings import Settings  # noqa: E402

if TYPE_CHECKING:
    from qa.answer_types import Answer
    from qa.cite import Citation
    from qa.engine import QA, IngestResult
    from qa.retrieval import Filters, Passage

__all__ = [
    "QA",
    "Answer",
    "Citation",
    "Filters",
    "IngestResult",
    "Passage",
    "QAError",
    "Settings",
    "ask",
    "ingest",
    "retrieve",
]
__version__ = "0.1.0"


def retrieve(
    question: str,
    k: int = 5,
    *,
    history: list[dict[str, str]] | None = None,
    filters: Filters | None = None,
    settings: Settings | None = None,
) -> list[Passage]:
    """Find the passages that best answer a question.

    Args:
        question: The question.
        k: How many passages, 1 to 100.
        history: Earlier chat messages ``[{"role": "user"|"assistant", "content": str}]``,
            so a follow-up ("What did he say?") is searched with its context.
        filters: Restrict to outlets, article ids or a date range.
        settings: Defaults to :meth:`Settings.from_env`.

    Returns:
        Passages best first, each with its text, score, article id, title, source and
        ``start``/``end`` offsets in the article text.

    Raises:
        QAError: An empty question, ``k`` out of range, or an unusable index.

    Example:
        >>> qa.retrieve("Who leads the Syrian Democratic Forces?", k=3)[0].title
        'LAST ISIL OUTPOST IN SYRIA UNDER U.S.-BACKED ATTACK'
    """
    from qa.engine import default_engine

    return default_engine(settings).retrieve(question, k, history=history, filters=filters)


def ask(
    question: str,
    history: list[dict[str, str]] | None = None,
    *,
    k: int | None = None,
    mode: str | None = None,
    filters: Filters | None = None,
    settings: Settings | None = None,
) -> Answer:
    """Answer a question from the indexed articles, with verified citations.

    Args:
        question: The question.
        history: Earlier chat messages in the OpenAI/Gradio format, for follow-ups.
        k: Passages to retrieve (default ``Settings.k``).
        mode: ``extractive`` (default, offline) or ``llm`` (an OpenAI-compatible server;
            falls back to extractive if it fails).
        filters: Restrict retrieval by outlet, article id or date.
        settings: Defaults to :meth:`Settings.from_env`.

    Returns:
        An :class:`Answer`: ``text`` with ``[n]`` markers, ``citations`` quoting the exact
        sentences (``article_text[start:end] == quote``), ``passages``, and ``abstained``
        when the articles do not hold the answer.

    Example:
        >>> qa.ask("How long does the SDF expect the fight to last?").short
        'between two and three months'
    """
    from qa.engine import default_engine

    return default_engine(settings).ask(question, history, k=k, mode=mode, filters=filters)


def ingest(*paths: str, settings: Settings | None = None) -> IngestResult:
    """Add article files or folders to the index; returns what was added and per-file errors."""
    from qa.engine import default_engine

    return default_engine(settings).ingest(list(paths))


def __getattr__(name: str) -> Any:
    # the result types load lazily so `import qa` stays fast
    if name == "QA" or name == "IngestResult":
        from qa import engine

        return getattr(engine, name)
    if name == "Answer":
        from qa.answer_types import Answer

        return Answer
    if name == "Citation":
        from qa.cite import Citation

        return Citation
    if name in ("Passage", "Filters"):
        from qa import retrieval as _r

        return getattr(_r, name)
    raise AttributeError(f"module 'qa' has no attribute {name!r}")
