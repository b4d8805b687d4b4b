"""Page furniture inside article text: headings, captions, credits, bylines, prompts.

Text extracted from a web page keeps more than the article: section headings, photo
captions and credits, a reporter's byline standing alone between live-blog posts,
"Sign up for our newsletter" prompts, video embeds, editors' notes. None of these answers a
question, so the index marks them (:func:`furniture_spans`) and the answer stage never cites
them.

The method judges each line (a line is a paragraph in every format ingest produces) by its
structure and by conventions that web pages share, never by phrases of particular articles:

- **Headings**: a line with no sentence-final punctuation, short, not a list item, that
  stands between body paragraphs (at most one sub-heading under it) and is followed by a body
  paragraph. Lines of up to 8 words qualify alone; longer ones (to 16 words) must be
  title-cased or all capitals, or the article must have at least two such positions (a
  missing full stop in a body sentence happens once, headings come in sets). Runs of three
  or more short lines are lists or tables, and are content.
- **Question headings**: a line that is nothing but a question (not in quotation marks),
  followed by a paragraph that shares a content word with it, in an article that asks no
  question in the narrator's voice elsewhere or that has two or more such lines (a FAQ).
- **Captions and credits**: a line that is a photo credit ("(Image credit: Name/Getty
  Images)", "Credit: AP", "Photo: ..."), a caption ending in a credit fragment ("... in
  Taipei. Name/Reuters"), or a parenthesised credit inside a paragraph.
- **Bylines, datelines, wire credits** standing alone: "– Name", "CNN —", "Contributing: ...",
  "From staff and wire reports", "(Reporting by ...; Editing by ...)"; reporter contact lines
  (an e-mail address or handle with "Follow", "Contact", "reporter" ...).
- **Prompts**: sentences that open with a call to action ("Sign up", "Subscribe", "Read more",
  "Related:", "Click here", "Watch:", "Keep refreshing this page"), newsletter offers, video
  embeds ("02:41 - Source: CNN", "Story continues below video"), editors' notes and
  update stamps, separators ("***"), and related-story links glued to their label without a
  space ("Headline:Linked headline").

The word lists and patterns are in :mod:`qa.furniture_patterns`, each with why it is general.

The leading header block (outlet, headline, byline before the first body paragraph) is left to
:mod:`qa.articles`, which records it in :attr:`~qa.articles.Article.fields`; only datelines,
credits and prompts are flagged there.

Measured with ``python -m eval.furniture`` (see :mod:`eval.furniture`), 2026-12-01:

- BBC News, 2,225 clean articles: 18 of 10,612 lines past the header flagged (0.17%; 18 of
  43,869 sentences), all of them real furniture: reporters' taglines ("Clark Boyd is
  technology correspondent for The World ..."), game-title sub-headings, one "Click on the
  link ..." prompt.
- RealTime QA, 419 raw web extractions: 3,939 of 19,851 lines flagged (19.8%; 4,565 of 35,548
  sentences): headings 2,242 (many are the state names of "news from every state" pages),
  bylines 526, prompts and related links 526, question headings 204, contact lines 105,
  datelines 98, credits 95, captions 85, notes 29, video embeds 15, separators 14.
- Evidence spans (real answer sentences): 0 of 1,000 bbc-qa and 0 of 80 news-qa flagged.
- Hand labels of RealTime QA lines, stratified (30 flagged + 30 not per round, strata weighted
  by size for recall): on the round drawn after the rules were settled (round 3), precision
  29/30 when drawn (the one error, a lone "61%" under a "TODAY'S NUMBER" heading, is now read
  as a figure) and recall about 0.88 (rough bounds 0.57-0.98: one missed line in 30
  unflagged ones); pooled over all 180 labels, precision 0.99 and recall 0.79. The lines
  missed are mostly headings over lists and tables (award categories, "Maryland:" over a
  list of addresses) and bare outlet or author names in the header block of JSON records
  ("USA TODAY", "Detroit Free Press"), which no outlet list names on purpose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from qa import furniture_patterns as pat
from qa.chunking import split_sentences

Kind = Literal[
    "heading",
    "question_heading",
    "caption",
    "credit",
    "byline",
    "dateline",
    "contact",
    "prompt",
    "video",
    "note",
    "separator",
]


@dataclass(frozen=True)
class Furniture:
    """One span of page furniture.

    Attributes:
        start: Offset of its first character in the article text.
        end: Offset just past its last character.
        kind: What it is: ``heading``, ``question_heading``, ``caption``, ``credit``,
            ``byline``, ``dateline``, ``contact``, ``prompt``, ``video``, ``note`` or
            ``separator``.
    """

    start: int
    end: int
    kind: Kind


@dataclass(frozen=True)
class _Line:
    start: int
    end: int
    text: str
    alone: bool = True  # a paragraph of its own (blank lines around it, or none in the text)


def furniture_spans(text: str) -> list[tuple[int, int]]:
    """Return the ``[start, end)`` character spans of ``text`` that are page furniture.

    Furniture is what a web page puts around and between an article's sentences: headings,
    question-shaped section headings, photo captions and credits, standalone bylines and
    datelines, newsletter, share and "Read more" prompts, video embeds, editors' notes. Real
    sentences, however short, and quotations are not furniture. See the module docstring for
    the rules.

    Args:
        text: The article text (:attr:`qa.articles.Article.text`).

    Returns:
        Sorted, non-overlapping spans, usually whole lines (a prompt or a parenthesised
        credit inside a paragraph of real sentences is a span of its own).

    Example:
        >>> text = ("Rain fell all day on Monday, the weather service said.\\n\\n"
        ...         "Sign up for our newsletter.")
        >>> [text[s:e] for s, e in furniture_spans(text)]
        ['Sign up for our newsletter.']
    """
    return _merge([(f.start, f.end) for f in classify_furniture(text)])


def classify_furniture(text: str) -> list[Furniture]:
    """Like :func:`furniture_spans`, with what each span is (for evaluation and debugging).

    Args:
        text: The article text.

    Returns:
        Furniture spans in text order, non-overlapping.
    """
    found = [
        m
        for m in (_strip_span(text, m.start(), m.end()) for m in re.finditer(r"[^\n]+", text))
        if m is not None
    ]
    if not found:
        return []
    # in a text with blank lines between paragraphs, a line without one next to it is part
    # of a paragraph (a hard-wrapped one, say), never a heading on its own
    blank = [text.count("\n", a.end(), b.start()) >= 2 for a, b in zip(found, found[1:])]
    paragraphs = any(blank)
    lines = [
        _Line(
            m.start(),
            m.end(),
            m.group(),
            alone=not paragraphs or ((k == 0 or blank[k - 1]) and (k == len(blank) or blank[k])),
        )
        for k, m in enumerate(found)
    ]
    body = [_is_body(ln.text) for ln in lines]
    first_body = next((i for i, ln in enumerate(lines) if _opens_body(ln.text)), len(lines))
    first_body = min(first_body, 5)  # qa.articles reads at most five header lines
    labels = frozenset(
        m.group(1).strip().lower() for m in (pat.SPACED_LABEL.match(ln.text) for ln in lines) if m
    )
    out: list[Furniture] = []
    decided: dict[int, Kind] = {}
    for i in range(len(lines)):
        kind = _line_kind(lines, i, header=i < first_body, labels=labels)
        if kind is not None:
            decided[i] = kind
    for i in _headings(lines, body, decided, first_body):
        decided[i] = "heading"
    for i in _question_headings(lines, body, decided):
        decided[i] = "question_heading"
    for i, ln in enumerate(lines):
        if i in decided:
            out.append(Furniture(ln.start, ln.end, decided[i]))
        else:
            out.extend(_inline(ln))
    return out


def _strip_span(text: str, start: int, end: int) -> re.Match[str] | None:
    return pat.NONBLANK.search(text, start, end)


def _words(s: str) -> list[str]:
    return pat.WORD.findall(s)


def _terminated(s: str) -> bool:
    return bool(pat.TERMINAL.search(s) or pat.CONTINUES.search(s))


def _is_body(s: str) -> bool:
    """A paragraph of running prose: ends like a sentence (or leads into a list with a colon)
    and is not short."""
    if len(s) > 160:
        return True
    n = len(_words(s))
    if _all_caps(s):
        return False
    return (bool(pat.TERMINAL.search(s)) and n >= 6) or (s.endswith(":") and n >= 8)


def _opens_body(s: str) -> bool:
    """The first line that qa.articles would read as body, not header (its own rule)."""
    letters = [c for c in s if c.isalpha()]
    caps = len(letters) >= 4 and sum(c.isupper() for c in letters) / len(letters) > 0.8
    return len(s) > 160 or (
        len(s.split()) > 8 and s.endswith((".", "”", '"', "?", "!")) and not caps
    )


def _line_kind(
    lines: list[_Line], i: int, *, header: bool, labels: frozenset[str] = frozenset()
) -> Kind | None:
    """Furniture recognised from the line itself (and its immediate neighbours).

    ``labels`` are the article's "Label: text" labels written with a space: the same label
    run into its text elsewhere ("Background:West is ...") is that field, not a link.
    """
    s = lines[i].text
    n_words = len(_words(s))
    if pat.SEPARATOR.match(s):
        return "separator"
    if n_words <= 8 and pat.DATELINE.match(s):
        return "dateline"
    if pat.VIDEO.search(s):
        return "video"
    if pat.NOTE.match(s):
        return "note"
    if len(s) <= 400 and pat.SIGNOFF.match(s):
        return "credit"
    if n_words <= 6 and pat.WIRE_ALONE.match(s):
        return "credit"
    if n_words <= 30 and pat.CREDIT_LINE.match(s):
        return "credit"
    if pat.PAREN_CREDIT.fullmatch(s) or pat.COPYRIGHT.match(s):
        return "credit"
    if n_words <= 10 and "/" in s and pat.CREDIT_TAIL.fullmatch(s) and pat.AGENCY_WORD.search(s):
        return "credit"
    if not header and n_words <= 16 and (pat.DASH_BYLINE.match(s) or pat.BY_BYLINE.match(s)):
        # a run of dashed names is a list, not a byline
        near = [lines[j].text for j in (i - 1, i + 1) if 0 <= j < len(lines)]
        if not any(pat.DASH_BYLINE.match(t) or pat.BULLET.match(t) for t in near):
            return "byline"
    if _is_contact(s) or (pat.ADDRESS_ALONE.match(s) and _only_furniture_after(lines, i)):
        return "contact"
    if not header and pat.BIO.match(s) and _only_furniture_after(lines, i):
        return "byline"
    glued = pat.GLUED_LINK.match(s) if n_words <= 40 else None
    if (
        glued
        and not pat.TERMINAL.search(glued.group("label"))
        and (glued.group("label").strip().lower() not in labels)
    ):
        return "prompt"
    if _is_caption(s) or pat.MID_CREDIT.search(s):
        return "caption"
    if s.startswith("[") and s.endswith("]") and n_words <= 30:
        return "prompt"  # a bracketed link: "[ Related: ... ]"
    if _prompt_line(s):
        return "prompt"
    return None


def _is_contact(s: str) -> bool:
    if len(s) > 400 or not pat.HANDLE.search(s):
        return False
    return bool(pat.CONTACT_OPENER.match(s)) or (
        bool(pat.CONTACT.search(s)) and len(split_sentences(s)) <= 4
    )


def _only_furniture_after(lines: list[_Line], i: int) -> bool:
    """The line is in the article's tail: nothing after it but short non-prose lines."""
    return all(not _is_body(ln.text) for ln in lines[i + 1 :])


def _is_caption(s: str) -> bool:
    """A caption ending in a credit: "... in Taipei, August 3. Name/Reuters"."""
    if pat.TERMINAL.search(s) or len(s) > 600 or pat.BULLET.match(s):
        return False
    sents = split_sentences(s)
    if len(sents) < 2:
        return False
    head, tail = s[: sents[-1].start].rstrip(), sents[-1].text
    if not pat.CREDIT_TAIL.fullmatch(tail) or len(_words(head)) < 3:
        return False
    tail_words = _words(tail)
    if "/" in tail or re.search(r"\b(?:" + pat.AGENCY + r")\b", tail):
        return len(tail_words) <= 9
    # an outlet or archive name alone ("The Tampa Tribune", "Life Magazine"); a tail in
    # capitals is a heading run into the paragraph ("KEY MATCH STATS"), not a credit
    return (
        2 <= len(tail_words) <= 4
        and not any(ch.isdigit() for ch in tail)
        and not tail.isupper()
        and len(_words(head)) <= 60
    )


def _prompt_line(s: str) -> bool:
    """A line of calls to action, with at most a short lead-in ("Want more?", "USA TODAY is
    tracking the news.") besides; a line that also holds real sentences keeps them (its
    prompt sentences are flagged one by one)."""
    sents = split_sentences(s)
    prompts = [x for x in sents if _is_prompt_sentence(x.text)]
    if not prompts:
        return False
    return all(x in prompts or x.text.endswith("?") or len(_words(x.text)) <= 5 for x in sents)


def _is_prompt_sentence(s: str) -> bool:
    return bool(pat.PROMPT.match(s) or pat.NEWSLETTER.search(s) or pat.NOTE.match(s))


def _inline(ln: _Line) -> list[Furniture]:
    """Furniture inside a line of real sentences: prompt sentences, parenthesised credits."""
    out: list[Furniture] = []
    for sent in split_sentences(ln.text):
        # a span that touches a sentence marks the whole sentence for the index, so only
        # whole sentences are flagged here: a credit inside a real sentence is left alone
        if pat.PAREN_CREDIT.fullmatch(sent.text):
            out.append(Furniture(ln.start + sent.start, ln.start + sent.end, "credit"))
        elif _is_prompt_sentence(sent.text):
            out.append(Furniture(ln.start + sent.start, ln.start + sent.end, "prompt"))
    return out


def _all_caps(s: str) -> bool:
    letters = [c for c in s if c.isalpha()]
    return len(letters) >= 4 and sum(c.isupper() for c in letters) / len(letters) > 0.8


def _title_cased(s: str) -> bool:
    words = [w for w in _words(s) if any(c.isalpha() for c in w)]
    if not words:
        return False
    if _all_caps(s):
        return True
    content = [w for w in words[1:] if w.lower() not in pat.TITLE_SMALL_WORDS]
    if not content:
        return words[0][0].isupper()
    return sum(w[0].isupper() or w[0].isdigit() for w in content) / len(content) >= 0.75


def _heading_candidate(s: str) -> bool:
    """Short, unpunctuated, not a list item, starting like a title."""
    if _terminated(s) or len(s) > 150 or pat.BULLET.match(s) or _is_data(s):
        return False
    n = len(_words(s))
    if not 1 <= n <= 16 or _name_list(s):
        return False
    if _words(s)[-1].lower() in pat.DANGLING:  # a line cut mid-sentence: "... to discuss the"
        return False
    first = s.lstrip(pat.OPEN_QUOTES)[:1]
    return bool(first) and (first.isupper() or first.isdigit())


def _name_list(s: str) -> bool:
    """ "Barcelona, Bayern Munich, Porto, Real Madrid": names listed, not a title."""
    parts = [p.strip() for p in re.split(r",|\band\b|&", s) if p.strip()]
    return len(parts) >= 3 and all(
        len(_words(p)) <= 3 and all(w[:1].isupper() or w[:1].isdigit() for w in _words(p))
        for p in parts
    )


def _is_data(s: str) -> bool:
    """A date, an address or phone number, a figure, or "Label: 42": facts that head a
    section of a timeline or a table, which a question can be asking for."""
    if pat.DATE_LINE.match(s) or pat.HANDLE.search(s) or ";" in s:
        return True
    if not any(c.isalpha() for c in s):  # "61%", "$1.2bn", "3-1": a figure on its own
        return True
    label, sep, value = s.partition(":")
    return bool(sep) and any(c.isdigit() for c in value) and len(_words(value)) <= 5


def _opens_paragraph(s: str) -> bool:
    first = s.lstrip(pat.OPEN_QUOTES + "(")[:1]
    return bool(first) and (first.isupper() or first.isdigit())


def _headings(
    lines: list[_Line], body: list[bool], decided: dict[int, Kind], first_body: int
) -> list[int]:
    """Indices of heading lines: short unpunctuated lines between body paragraphs."""
    positions: list[list[int]] = []
    i = first_body
    while i < len(lines):
        if i in decided or body[i] or not lines[i].alone or not _heading_candidate(lines[i].text):
            i += 1
            continue
        j = i
        while (
            j < len(lines) and j not in decided and not body[j] and not _terminated(lines[j].text)
        ):
            j += 1
        run = list(range(i, j))
        # a body paragraph opens with a capital, a digit or a quotation mark; one that opens
        # with a lower-case word or a comma continues a sentence the line began (a link
        # dropped in extraction), so the line is no heading
        follows_body = (
            j < len(lines)
            and body[j]
            and _opens_paragraph(lines[j].text)
            and not _is_question_line(lines[j].text)
        )
        prev = lines[i - 1].text if i > 0 else ""
        if (
            follows_body
            and len(run) <= 2
            and all(_heading_candidate(lines[k].text) and lines[k].alone for k in run)
            and not (len(run) == 2 and prev.endswith(":"))
        ):
            positions.append(run)
        i = max(j, i + 1)
    several = len(positions) >= 2
    out: list[int] = []
    for run in positions:
        for k in run:
            s = lines[k].text
            if len(_words(s)) <= 8 or _title_cased(s) or several:
                out.append(k)
    return out


def _is_question_line(s: str) -> bool:
    if not s.endswith("?") or s[:1] in pat.OPEN_QUOTES or len(_words(s)) > 18:
        return False
    return all(x.text.endswith("?") for x in split_sentences(s))


def _narrator_questions(s: str) -> int:
    """Questions asked outside quotation marks in a line of prose."""
    count = 0
    depth = 0
    straight = False
    for ch in s:
        if ch in "“‘":
            depth += 1
        elif ch in "”’" and depth:
            depth -= 1
        elif ch == '"':
            straight = not straight
        elif ch == "?" and not depth and not straight:
            count += 1
    return count


def _content_words(s: str) -> set[str]:
    return {
        w.lower().strip(".'’")
        for w in _words(s)
        if len(w) >= 4 and w.lower().strip(".'’") not in pat.STOPWORDS
    }


def _answers(question: str, paragraph: str) -> bool:
    """Whether a paragraph reads as the answer to a question: it shares a content word with
    it, or holds the kind of thing the question word asks for (a number for "how much", a
    date for "when", a name for "who" and "where")."""
    if _content_words(question) & _content_words(paragraph):
        return True
    q = question.lower()
    if re.search(r"\bhow\s+(?:much|many|long|old|far|big)\b", q):
        return bool(
            re.search(
                r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|"
                r"dozens?|hundreds?|thousands?|millions?|billions?)\b",
                paragraph,
                re.I,
            )
        )
    if re.search(r"\bwhen\b|\bwhat\s+(?:time|day|date|year)\b", q):
        return bool(re.search(r"\d|\b" + pat.MONTH + r"|day\b", paragraph, re.I))
    if re.search(r"\bwho\b|\bwhere\b|\bwhich\b", q):
        return bool(re.search(r"(?<=\s)[A-Z][a-z]+", paragraph))
    return False


def _question_headings(lines: list[_Line], body: list[bool], decided: dict[int, Kind]) -> list[int]:
    """Indices of question-shaped section headings (see the module docstring)."""
    candidates: list[int] = []
    narrator = 0
    seen_body = False
    for i, ln in enumerate(lines):
        if i in decided:
            continue
        # a section heading follows some body text: a question that opens the article is its
        # lede (or its headline, which qa.articles keeps)
        if seen_body and ln.alone and _is_question_line(ln.text):
            nxt = next((j for j in range(i + 1, len(lines)) if j not in decided), None)
            if nxt is not None and body[nxt] and not lines[nxt].text.endswith("?"):
                answer = " ".join(lines[k].text for k in range(nxt, min(nxt + 2, len(lines))))
                if _answers(ln.text, answer):
                    candidates.append(i)
                    continue
        narrator += _narrator_questions(ln.text)
        seen_body = seen_body or body[i]
    # two or more make a FAQ; a lone one is a heading only in an article that has headings
    # and asks no other question in its own voice (else it is a rhetorical question)
    headed = any(k == "heading" for k in decided.values())
    if len(candidates) >= 2 or (candidates and narrator == 0 and headed):
        return candidates
    return []


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out
