"""Citation markers in generated text, in every spelling models use, and its sentences.

Models asked to cite ``[n]`` write ``[1][2]``, ``[1, 3]``, ``[Passage 2]``, ``(1)``,
``【1】`` or ``【1†source】``, "Source 1", "according to passage 2, ...", a marker at the
start of a line, or none at all. :func:`find_markers` is the one parser of all of them;
:func:`normalize_markers` rewrites a reply so that every marker is a plain ``[n]`` after the
sentence it cites for, which is the only form :func:`qa.cite.verify_generated` reads; and
:func:`generated_sentences` splits generated text into sentences (list items and lines cut
at the token limit included), keeping markers with the sentence they follow.

Example:
    >>> normalize_markers("[2] The fight may last months. According to source 1, it began Monday.")
    'The fight may last months [2]. It began Monday [1].'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from qa.chunking import split_sentences

MarkerForm = Literal["bracket", "paren", "cjk", "word"]

#: Longest run of passage numbers a range such as ``[1-4]`` may stand for.
MAX_RANGE = 10

_NUM = r"(?:(?:sources?|passages?|docs?|documents?|refs?|references?)\s*#?\s*)?\d{1,3}"
_SEP = r"\s*(?:,|;|&|\band\b|-|–|\bto\b)\s*"
_LIST = rf"{_NUM}(?:{_SEP}{_NUM})*"
_FORMS = re.compile(
    rf"(?P<cjk>【\s*(?P<cjk_list>{_LIST})\s*(?:†[^】]*)?】)"
    rf"|(?P<bracket>\[\^?\s*#?\s*(?P<bracket_list>{_LIST})\s*\])"
    rf"|(?P<paren>\(\s*(?:see\s+)?#?\s*(?P<paren_list>{_LIST})\s*\))"
    rf"|(?P<word>\b(?:sources?|passages?)\s+#?\s*(?P<word_list>\d{{1,3}}(?:{_SEP}"
    rf"(?:(?:sources?|passages?)\s*)?\d{{1,3}})*)\b)",
    re.I,
)
# "According to source 1, X" and "Source 1 says that X": the attribution goes, the marker
# moves to the end of X.
_ATTRIBUTION_BEFORE = re.compile(
    r"(?:\b(?:according\s+to|as\s+(?:stated|reported|noted|mentioned|said)\s+in|per|"
    r"based\s+on|from|in|see|as)\s+(?:the\s+)?)$",
    re.I,
)
_ATTRIBUTION_AFTER = re.compile(
    r"(?:\s*(?:says|said|states|stated|reports|reported|notes|noted|mentions|mentioned|"
    r"explains|shows|indicates)(?:\s+that)?)?\s*[,:]?\s*",
    re.I,
)
_THINK = re.compile(r"<think>.*?(?:</think>|\Z)\s*", re.S | re.I)
_PLAIN = re.compile(r"\[(\d{1,3})\]")
_LEADING = re.compile(r"(?:\s*\[\d{1,3}\])+")
_BULLET = re.compile(r"[ \t]*(?:[-*•·]|\d{1,2}[.)])[ \t]+")
_SENTENCE_END = re.compile(r"[.!?…](?=[\"'”’)\]]*(?:\s|$))|\n|$")
_MOVE = "\x00"
_DANGLING_COMMA = re.compile(r"\s*[,;:]\s*((?:\[\d{1,3}\])+)(?=\s*[.!?]|\s*$)")


@dataclass(frozen=True)
class Marker:
    """One citation marker found in generated text.

    Attributes:
        numbers: The passage numbers it cites, in the order written (``[1-3]`` gives
            ``(1, 2, 3)``).
        start: Offset of the marker in the text.
        end: Offset just past it.
        form: How it was written: ``bracket`` (``[1]``, ``[1, 3]``, ``[Source 2]``,
            ``[^1]``), ``paren`` (``(1)``, ``(Passage 2)``), ``cjk`` (``【1】``,
            ``【1†source】``) or ``word`` ("Source 1", "passages 2 and 3").
    """

    numbers: tuple[int, ...]
    start: int
    end: int
    form: MarkerForm


def _numbers(spec: str) -> tuple[int, ...]:
    """The passage numbers of a list such as ``1, 3``, ``2 and 4``, ``1-3`` or
    ``Source 1, Source 2``."""
    out: list[int] = []
    parts = re.split(r"(\d{1,3})", spec)
    # parts alternate: separator text, number, separator text, number, ...
    prev: int | None = None
    for i in range(1, len(parts), 2):
        n = int(parts[i])
        between = parts[i - 1]
        is_range = prev is not None and re.search(r"-|–|\bto\b", between, re.I)
        if is_range and prev is not None and prev < n <= prev + MAX_RANGE:
            out.extend(range(prev + 1, n + 1))
        else:
            out.append(n)
        prev = n
    return tuple(dict.fromkeys(out))


def find_markers(text: str) -> list[Marker]:
    """Every citation marker in generated text, in order, whatever its spelling.

    A marker is a passage number (or list of them) in square brackets, parentheses or
    ``【】``, optionally named ("Source 2", "Passage 3", "doc 1"), or a bare "Source N" /
    "Passage N" in the prose. Four-digit numbers in parentheses (years) are not markers.

    Args:
        text: A model's reply.

    Returns:
        The markers, each with its numbers, offsets and form.

    Example:
        >>> [(m.numbers, m.form) for m in find_markers("A [1, 3]. B (2). C 【4†source】.")]
        [((1, 3), 'bracket'), ((2,), 'paren'), ((4,), 'cjk')]
    """
    out: list[Marker] = []
    for m in _FORMS.finditer(text):
        form: MarkerForm
        for form in ("cjk", "bracket", "paren", "word"):
            if m.group(form):
                break
        nums = _numbers(m.group(f"{form}_list"))
        if nums:
            out.append(Marker(nums, m.start(), m.end(), form))
    return out


def _canonical(numbers: tuple[int, ...]) -> str:
    return "".join(f"[{n}]" for n in numbers)


def _sentence_end(text: str, pos: int) -> int:
    """Where the sentence holding ``pos`` ends: its final punctuation, line end or text end
    (markers already written before the punctuation stay before it)."""
    m = _SENTENCE_END.search(text, pos)
    end = m.start() if m else len(text)
    while end > pos and text[end - 1] in " \t":
        end -= 1
    return end


def normalize_markers(text: str) -> str:
    """Rewrite every marker spelling (see :func:`find_markers`) into plain ``[n]`` markers
    placed after the claim they cite for.

    ``[1, 2]`` and ``【1】【2】`` become ``[1][2]``, ``(Passage 3)`` becomes ``[3]``; a marker
    at the start of a line ("[2] The fight ...") and an attribution ("According to source 1,
    X." or "Source 1 says X.") move to the end of the sentence they introduce ("X [1].").
    Model "thinking" blocks (``<think>...</think>``) are removed.

    Example:
        >>> normalize_markers("a [Passage 2] b [3; 4] (1).")
        'a [2] b [3][4] [1].'
    """
    text = _THINK.sub("", text)
    out: list[str] = []
    moved: list[str] = []
    pos = 0
    for mk in find_markers(text):
        if mk.start < pos:
            continue
        before = text[pos : mk.start]
        line_start = text.rfind("\n", 0, mk.start) + 1
        lead = text[line_start : mk.start]
        at_line_start = not lead.strip() or bool(_BULLET.fullmatch(lead))
        attribution = _ATTRIBUTION_BEFORE.search(before) if mk.form == "word" else None
        end = mk.end
        if attribution:
            before = before[: attribution.start()]
        if mk.form == "word" or at_line_start:
            tail = _ATTRIBUTION_AFTER.match(text, end)
            if tail and (mk.form == "word" or text[end : tail.end()].strip(" \t") in ("", ":")):
                end = tail.end() if "\n" not in text[end : tail.end()] else end
        if mk.form == "word":
            # a named source moves to the end of its sentence; its words go when they only
            # attribute ("According to source 1, X", "Source 1 says X", "X, per source 1")
            drop = (
                attribution
                or at_line_start
                or _ends_sentence(text, mk.start)
                or _ends_clause(text, end)
            )
            keep = "" if drop else text[mk.start : mk.end]
            out.append(before + keep + _MOVE)
            moved.append(_canonical(mk.numbers))
            pos = end if drop else mk.end
            continue
        if at_line_start and end < len(text) and text[end] != "\n":
            out.append(before + _MOVE)  # "[2] The fight ...": moves after the sentence
            moved.append(_canonical(mk.numbers))
            pos = end
            continue
        sep = "" if not before or before[-1].isspace() or before.endswith("]") else " "
        out.append(before + sep + _canonical(mk.numbers))
        pos = mk.end
    out.append(text[pos:])
    result = "".join(out)
    for canon in moved:
        i = result.index(_MOVE)
        result = result[:i] + result[i + 1 :]
        # capitalise what now starts the sentence ("according to source 1, the SDF" ...)
        j = i
        while j < len(result) and result[j] in " \t,:":
            j += 1
        if j < len(result) and (i == 0 or result[i - 1] in "\n" or _ends_sentence(result, i)):
            result = result[:i] + result[j].upper() + result[j + 1 :]
        elif j > i:
            result = result[:i] + result[j:]
        end = _sentence_end(result, i)
        sep = "" if end == 0 or result[end - 1].isspace() else " "
        result = result[:end] + sep + canon + result[end:]
    # "months, [1]." (an attribution removed after a comma) -> "months [1]."
    result = _DANGLING_COMMA.sub(r" \1", result)
    return re.sub(r"[ \t]+\n", "\n", result)


def _ends_clause(text: str, pos: int) -> bool:
    """Whether ``pos`` is at the end of a sentence or clause ("... in passage 2.")."""
    rest = text[pos:].lstrip(" \t")
    return not rest or rest[0] in ".!?;,\n)"


def _ends_sentence(text: str, pos: int) -> bool:
    before = text[:pos].rstrip(" \t")
    return not before or before[-1] in ".!?\n"


def generated_sentences(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence of generated text.

    Lines and paragraphs always end a sentence (a list item is a sentence of its own, its
    bullet or number left out); inside a line, sentences end as in articles
    (:func:`qa.chunking.split_sentences`). A marker written after a sentence's full stop
    stays with it (``"... months. [1] Next"`` gives ``"... months. [1]"``), and a last
    sentence cut off by the token limit is a sentence too.

    Example:
        >>> t = "- Two months [1].\\n- It began Monday. [2] Then"
        >>> [t[a:b] for a, b in generated_sentences(t)]
        ['Two months [1].', 'It began Monday. [2]', 'Then']
    """
    spans: list[list[int]] = []
    for line in re.finditer(r"[^\n]+", text):
        base = line.start()
        body = line.group()
        bullet = _BULLET.match(body)
        skip = bullet.end() if bullet else 0
        line_spans = [
            [base + skip + s.start, base + skip + s.end] for s in split_sentences(body[skip:])
        ]
        for i in range(1, len(line_spans)):
            m = _LEADING.match(text, line_spans[i][0], line_spans[i][1])
            if m and m.end() > line_spans[i][0]:
                line_spans[i - 1][1] = m.end()
                rest = m.end()
                while rest < line_spans[i][1] and text[rest].isspace():
                    rest += 1
                line_spans[i][0] = rest
        spans.extend(line_spans)
    return [(a, b) for a, b in spans if b > a and text[a:b].strip()]


def plain_markers(text: str) -> list[tuple[int, int, int]]:
    """Every plain ``[n]`` marker (the normalised form) as ``(n, start, end)``, in order."""
    return [(int(m.group(1)), m.start(), m.end()) for m in _PLAIN.finditer(text)]
