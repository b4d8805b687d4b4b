"""Follow-up questions in a chat, without an LLM: carry the previous turns' entities and
topic into the retrieval query.

"What did he say about 2005?" after "Who is the chairman of Time Warner?" (answered
"Richard Parsons") is searched as "What did he say about 2005? Richard Parsons; chairman
Time Warner". A question that already names its subject is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa.acronyms import capitalised_phrases

_ANAPHORA = re.compile(
    r"\b(he|she|him|her|his|hers|they|them|their|theirs|it|its|this|that|these|those|there|"
    r"then|the same|the company|the group|the firm|the man|the woman|the team|the city|"
    r"the country|the article|the report|the story)\b",
    re.I,
)
_ELLIPTIC = re.compile(
    r"^\s*(and|what about|how about|why|when|where|who|how)\b[^?]{0,25}\??\s*$", re.I
)
_WH = {
    "who",
    "what",
    "when",
    "where",
    "why",
    "how",
    "which",
    "whom",
    "whose",
    "is",
    "are",
    "was",
    "were",
    "did",
    "does",
    "do",
    "the",
    "a",
    "an",
}
_CONTENT = re.compile(r"[A-Za-z0-9][\w'’-]*")


def needs_context(question: str) -> bool:
    """Whether a question leans on earlier turns: a pronoun or a very short, elliptic form."""
    has_name = any(True for _ in capitalised_phrases(question)) or bool(
        re.search(r"(?<!^)\b[A-Z][a-z]+", question.strip()[1:] if question else "")
    )
    if _ANAPHORA.search(question):
        return True
    return bool(_ELLIPTIC.match(question)) and not has_name


def _keywords(text: str, limit: int = 12) -> list[str]:
    from qa.lexical import stopwords

    stop = stopwords()
    out: list[str] = []
    for w in _CONTENT.findall(text):
        lw = w.lower()
        if lw in stop or lw in _WH or len(w) < 3 or w in out:
            continue
        out.append(w)
    return out[:limit]


def context_terms(history: Sequence[dict[str, str]], turns: int = 2) -> str:
    """The entities and topic words of the last ``turns`` exchanges, most recent first.

    From the assistant's turns only the first line (the short answer) is used, without
    citation markers; from the user's turns, the names and content words.
    """
    parts: list[str] = []
    users = [m for m in history if m.get("role") == "user"]
    assistants = [m for m in history if m.get("role") == "assistant"]
    for msg in reversed(assistants[-turns:]):
        content = str(msg.get("content") or "")
        first = re.sub(r"\[\d+\]", "", content.strip().split("\n")[0])
        if first and not first.lower().startswith("the articles don"):
            parts.append(first[:200])
    for msg in reversed(users[-turns:]):
        content = str(msg.get("content") or "")
        names = [" ".join(r) for r in capitalised_phrases(content)]
        words = _keywords(content)
        parts.append(" ".join(dict.fromkeys(names + words)))
    return "; ".join(p for p in parts if p)


def rewrite_followup(question: str, history: Sequence[dict[str, str]]) -> str:
    """The retrieval query for a chat turn: the question, plus earlier context if needed."""
    if not history or not needs_context(question):
        return question
    extra = context_terms(history)
    return f"{question.strip()} {extra}".strip() if extra else question
