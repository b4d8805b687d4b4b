"""Acronym and alias bridging: mine acronym <-> expansion pairs from the corpus and expand
queries with them.

Two sources of pairs:

* explicit definitions: "Syrian Democratic Forces (SDF)" and "SDF (Syrian Democratic Forces)";
* initials of capitalised phrases: "Syrian Democratic Forces" -> SDF, "Islamic State of Iraq
  and the Levant" -> ISIL (function words skipped) or ISOIATL-style variants (kept too).

A question that writes "SDF" is then searched as "SDF (Syrian Democratic Forces)", and one that
writes a long name whose initials are an acronym of the corpus gets the acronym added. The
table is stored in the index folder (``acronyms.json``).
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_CONNECTORS = {"of", "the", "and", "for", "de", "on", "in", "to", "&"}
_WORD = re.compile(r"[A-Za-z][A-Za-z'’.-]*|&")
_ACRONYM = re.compile(r"\b(?:[A-Z]\.){2,}|\b[A-Z][A-Z0-9&]{1,7}s?\b")
_EXPLICIT_LONG_SHORT = re.compile(
    r"((?:[A-Z][\w'’-]*\s+)(?:(?:of|the|and|for|de|on|in|to|&)\s+|[A-Z][\w'’-]*\s+){0,8}"
    r"[A-Z][\w'’-]*)\s*\(\s*((?:[A-Z]\.?){2,8}s?)\s*\)"
)
_EXPLICIT_SHORT_LONG = re.compile(
    r"\b([A-Z]{2,8})\s*\(\s*([A-Z][\w'’-]*(?:\s+[\w'’&-]+){1,8})\s*\)"
)
MAX_EXPANSIONS = 3
# Capitalised only because they open a sentence: "During the Broncos' season" is no name.
_QUESTION_OPENERS = {
    "during",
    "after",
    "before",
    "prior",
    "since",
    "in",
    "on",
    "at",
    "what",
    "which",
    "who",
    "when",
    "where",
    "why",
    "how",
    "did",
    "does",
    "do",
    "is",
    "are",
    "was",
    "were",
    "the",
    "a",
    "an",
    "according",
    "besides",
    "other",
}


@dataclass(frozen=True)
class Expansion:
    """One bridge a query used: the text in the question and what was added for it."""

    found: str
    added: str
    kind: str  # "acronym" (short form in the question) or "initials" (long form)

    def to_dict(self) -> dict[str, str]:
        """Return the fields as a dict."""
        return {"found": self.found, "added": self.added, "kind": self.kind}


def normalize_acronym(token: str) -> str:
    """``U.S.`` -> ``US``; a plural ``s`` is kept only when lower case (``NGOs`` -> ``NGO``)."""
    t = token.replace(".", "")
    if len(t) > 2 and t.endswith("s") and t[:-1].isupper():
        t = t[:-1]
    return t.upper()


def _is_caps_sentence(s: str) -> bool:
    letters = [c for c in s if c.isalpha()]
    return len(letters) > 8 and sum(c.isupper() for c in letters) / len(letters) > 0.7


def _initials(words: list[str], *, with_connectors: bool) -> str:
    out = []
    for w in words:
        if w.lower() in _CONNECTORS:
            if with_connectors and w != "&":
                out.append(w[0].upper())
            continue
        for part in re.split(r"[-’']", w):  # "Kurdish-led" counts once, "Al-Qaeda" twice
            if part and part[0].isupper():
                out.append(part[0])
                break
    return "".join(out)


def capitalised_phrases(text: str) -> Iterable[list[str]]:
    """Yield runs of capitalised words (with connector words inside) of two or more words."""
    run: list[str] = []
    for m in _WORD.finditer(text):
        w = m.group()
        gap = text[m.start() - 1] if m.start() > 0 else " "
        if run and gap not in " \u00a0":
            # punctuation between words breaks a name ("Syria, Iraq")
            yield from _finish(run)
            run = []
        if w[0].isupper() and not w.isupper() or (w.isupper() and len(w) == 1 and w != "&"):
            run.append(w)
        elif run and w.lower() in _CONNECTORS:
            run.append(w)
        else:
            yield from _finish(run)
            run = []
    yield from _finish(run)


def _finish(run: list[str]) -> Iterable[list[str]]:
    while run and run[-1].lower() in _CONNECTORS:
        run = run[:-1]
    while run and run[0].lower() in _CONNECTORS | {"a", "an"}:
        run = run[1:]
    caps = [w for w in run if w.lower() not in _CONNECTORS]
    if len(caps) >= 2:
        yield list(run)


class AcronymTable:
    """Acronym -> expansions mined from a corpus, and the corpus's set of acronyms."""

    def __init__(
        self,
        pairs: dict[str, Counter[str]] | None = None,
        acronyms: Counter[str] | None = None,
        unbridged: Counter[str] | None = None,
    ) -> None:
        self.pairs: dict[str, Counter[str]] = defaultdict(Counter, pairs or {})
        self.acronyms: Counter[str] = acronyms or Counter()
        # articles that write an acronym's long form but never the acronym itself
        self.unbridged: Counter[str] = unbridged or Counter()

    def add_text(self, text: str) -> None:
        """Mine one article's text (call once per article)."""
        written: set[str] = set()
        long_forms: set[str] = set()
        for line in text.split("\n"):
            if _is_caps_sentence(line):
                continue
            for m in _EXPLICIT_LONG_SHORT.finditer(line):
                long, short = m.group(1), normalize_acronym(m.group(2))
                words = re.sub(r"^(?:the|a|an)\s+", "", long, flags=re.I).split()
                # keep the shortest tail of the phrase whose initials match the acronym
                for i in range(len(words)):
                    tail = words[i:]
                    if (
                        _initials(tail, with_connectors=False) == short
                        or _initials(tail, with_connectors=True) == short
                    ):
                        long = " ".join(tail)
                        break
                self.pairs[short][long] += 5  # an explicit definition outweighs initials
            for m in _EXPLICIT_SHORT_LONG.finditer(line):
                self.pairs[normalize_acronym(m.group(1))][m.group(2)] += 5
            for m in _ACRONYM.finditer(line):
                self.acronyms[normalize_acronym(m.group())] += 1
                written.add(normalize_acronym(m.group()))
            for run in capitalised_phrases(line):
                for phrase in _subphrases(run):
                    for conn in (False, True):
                        key = _initials(phrase, with_connectors=conn)
                        if 2 <= len(key) <= 8:
                            self.pairs[key][" ".join(phrase)] += 1
                            long_forms.add(key)
        for key in long_forms - written:
            self.unbridged[key] += 1

    def expansions_of(self, acronym: str) -> list[str]:
        """The most frequent expansions of an acronym, best first."""
        got = self.pairs.get(normalize_acronym(acronym))
        if not got:
            return []
        ranked = sorted(got.items(), key=lambda kv: (-kv[1], kv[0]))
        return [p for p, _ in ranked[:MAX_EXPANSIONS]]

    def _needs_long_form(self, key: str) -> bool:
        """Whether an acronym in a question should be bridged to its long form.

        When some article writes the long form without the acronym: a question using the
        acronym could not match that article's words otherwise ("SDF" -> the Syrian
        Democratic Forces of an article that never writes "SDF"). When every article that
        names it also writes the acronym, the acronym matches by itself, and adding the long
        form (or, worse, a name that merely shares its initials) only adds noise: on SQuAD,
        bridging every acronym cost 0.01 Hits@1.
        """
        return bool(self.pairs.get(key)) and (
            self.acronyms.get(key, 0) == 0 or self.unbridged.get(key, 0) > 0
        )

    def expand(self, query: str) -> tuple[str, list[Expansion]]:
        """Add expansions to a query.

        Returns:
            The expanded query (the original with each bridge added in brackets after the
            text it bridges) and the list of bridges used.

        Example:
            "How long does the SDF expect the fight to last?" ->
            "How long does the SDF (Syrian Democratic Forces) expect the fight to last?"
        """
        used: list[Expansion] = []
        out = query
        if _is_caps_sentence(query):
            return query, used
        for m in reversed(list(_ACRONYM.finditer(query))):
            key = normalize_acronym(m.group())
            if not self._needs_long_form(key):
                continue
            longs = self.expansions_of(key)
            # A long form already in the question needs no bridge.
            longs = [x for x in longs if x.lower() not in query.lower()][:1]
            if longs:
                used.insert(0, Expansion(m.group(), longs[0], "acronym"))
                out = out[: m.end()] + f" ({longs[0]})" + out[m.end() :]
        for run in capitalised_phrases(query):
            for phrase in _subphrases(run):
                for conn in (False, True):
                    key = _initials(phrase, with_connectors=conn)
                    text = " ".join(phrase)
                    name = re.sub(r"['’]s?$", "", text)
                    # Bridge a long name only to an acronym the corpus writes, and only when
                    # the corpus never writes the name itself (else the words already match).
                    if (
                        len(key) >= 2
                        and self.acronyms.get(key, 0) > 0
                        and name not in self.pairs.get(key, {})
                        and phrase[0].lower() not in _QUESTION_OPENERS
                        and not re.search(rf"\b{re.escape(key)}\b", out)
                    ):
                        used.append(Expansion(text, key, "initials"))
                        out = out.replace(text, f"{text} ({key})", 1)
        return out, used

    def to_dict(self) -> dict[str, object]:
        """Keep the useful part: acronyms with their top expansions."""
        pairs = {
            k: dict(Counter(v).most_common(MAX_EXPANSIONS * 2))
            for k, v in self.pairs.items()
            if sum(v.values()) >= 1
        }
        return {"pairs": pairs, "acronyms": dict(self.acronyms), "unbridged": dict(self.unbridged)}

    def save(self, path: Path) -> None:
        """Write the table as JSON."""
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True))

    @classmethod
    def load(cls, path: Path) -> AcronymTable:
        """Read a table written by :meth:`save`."""
        d = json.loads(path.read_text())
        return cls(
            {k: Counter(v) for k, v in d["pairs"].items()},
            Counter(d["acronyms"]),
            Counter(d.get("unbridged", {})),
        )

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> AcronymTable:
        """Mine a table from article texts."""
        table = cls()
        for t in texts:
            table.add_text(t)
        return table


def _subphrases(run: list[str]) -> Iterable[list[str]]:
    """Every contiguous sub-run of two to eight words that starts and ends with a name word."""
    n = len(run)
    for i in range(n):
        if run[i].lower() in _CONNECTORS:
            continue
        for j in range(i + 2, min(n, i + 8) + 1):
            if run[j - 1].lower() in _CONNECTORS:
                continue
            yield run[i:j]
