"""Page furniture inside article text: headings, captions, credits, prompts (work in progress)."""

from __future__ import annotations


def furniture_spans(text: str) -> list[tuple[int, int]]:
    """Return the sorted, non-overlapping ``[start, end)`` spans of ``text`` that are furniture.

    Args:
        text: The article text.

    Returns:
        Character spans; empty for now (the detector is being written).
    """
    return []
