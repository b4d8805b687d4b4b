"""The errors article-qa raises at its boundaries.

Every error a user can cause derives from :class:`QAError`; its message quotes the bad
value and says what to do. The CLI and the UI show these messages as they are; any other
exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class QAError(Exception):
    """Base class of every error article-qa raises on purpose."""


class BadInputError(QAError, ValueError):
    """An article, question or option that cannot be used as given."""


class ArticleError(BadInputError):
    """One article file (or one record of it) could not be read.

    Attributes:
        path: The file the article came from.
        line: The 1-based line of a JSONL record, when the error is in one record.
    """

    def __init__(self, path: str, message: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")


class IndexNotFoundError(QAError):
    """The index folder holds no index."""


class IndexCorruptError(QAError):
    """The index folder holds files that do not load (a half-written or damaged index)."""


class ModelMismatchError(QAError):
    """The index was built with another embedding model or dimension than the one asked for."""


class IndexLockedError(QAError):
    """Another process is writing to the same index."""


class LLMError(QAError):
    """The OpenAI-compatible server could not be reached or gave an unusable reply."""
