"""Check training questions the team writes over BBC News (``eval/data/bbc-qa-extra.jsonl``).

Usage::

    python -m eval.check_questions [eval/data/bbc-qa-extra.jsonl]

The file has bbc-qa's format (``../shared/data/bbc-qa/README.md``): one JSON object a line,
``id``, ``article`` (a path under ``../shared/data/bbc-news/``), ``question``, ``answers``,
``evidence`` (a verbatim span of 20-200 characters inside the answering sentence, ``""`` when
unanswerable) and ``type``. Checked, each error naming the line:

* every field present and of its type, ids unique (also against bbc-qa's);
* the article exists and is not (a copy of: the same story under another name,
  :func:`eval.datasets.same_story`) one of bbc-qa's, one of the first 300 BBC articles that
  ``qa eval ... --distractors`` indexes beside the seed set, or an article asked about
  above;
* the evidence is verbatim in the article and 20-200 characters long; an accepted answer is
  in the evidence or its sentence; an unanswerable question has neither answers nor evidence;
* six questions an article: exactly one unanswerable, at least two paraphrases, and a
  paraphrase shares at most two content words with its sentence (names aside).

Exit status 0 when every check passes.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
from pathlib import Path

from eval.datasets import DEFAULT_DATA_DIR, _decode, load_bbc, same_story, story
from eval.splits import BBC_QUESTION_FILES, bbc_question_rows

DEFAULT_FILE = BBC_QUESTION_FILES[1]
TYPES = frozenset(
    {"factoid", "paraphrase", "number", "date", "duration", "person", "place", "reason"}
    | {"unanswerable"}
)
DISTRACTORS = 300  # qa eval's --distractor-limit default: the first 300 articles in order
WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip().lower()


def _content_words(text: str) -> set[str]:
    """Lower-cased words that are neither stop words nor capitalised (names aside)."""
    from spacy.lang.en.stop_words import STOP_WORDS

    return {
        w.lower()
        for w in WORD.findall(text)
        if not w[0].isupper() and w.lower() not in STOP_WORDS and len(w) > 2
    }


def _sentence(text: str, start: int, end: int) -> str:
    from qa.chunking import split_sentences

    parts = [s.text for s in split_sentences(text) if s.start < end and start < s.end]
    return " ".join(parts) if parts else text[start:end]


def check(path: Path, data: Path = DEFAULT_DATA_DIR) -> list[str]:
    """Every error in the question file ``path`` (empty when it passes)."""
    errors: list[str] = []
    bbc_dir = data / "bbc-news"
    base_rows = bbc_question_rows((data / "bbc-qa" / "questions.jsonl",))
    base_articles = {r["article"] for r in base_rows}

    def body(article: str) -> str:
        p = bbc_dir / article
        return _decode(p.read_bytes(), p)

    base_stories = [story(body(a).partition("\n")[2]) for a in sorted(base_articles)]
    distractors = [story(a.text) for a in load_bbc(bbc_dir, limit=DISTRACTORS)]
    ids = {r["id"] for r in base_rows}
    per_article: dict[str, list[dict]] = collections.defaultdict(list)
    texts: dict[str, str] = {}
    stories: dict[str, frozenset[str]] = {}  # article -> its paragraphs, in order asked
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path.name}:{n}"
        try:
            r = json.loads(line)
        except json.JSONDecodeError as e:
            errors.append(f"{where}: not JSON ({e})")
            continue
        fields = {"id": str, "article": str, "question": str, "answers": list}
        fields |= {"evidence": str, "type": str}
        bad = [k for k, t in fields.items() if not isinstance(r.get(k), t)]
        if bad:
            errors.append(f"{where}: missing or mistyped field(s) {', '.join(bad)}")
            continue
        if r["id"] in ids:
            errors.append(f"{where}: id {r['id']!r} used before")
        ids.add(r["id"])
        if r["type"] not in TYPES:
            errors.append(f"{where}: unknown type {r['type']!r}")
        art = r["article"]
        if art not in texts:
            if not (bbc_dir / art).is_file():
                errors.append(f"{where}: no article {art} under {bbc_dir}")
                continue
            texts[art] = body(art)
            told = story(texts[art].partition("\n")[2])
            if art in base_articles or any(same_story(told, b) for b in base_stories):
                errors.append(f"{where}: {art} is (a copy of) a bbc-qa article")
            copy_of = next((a for a, b in stories.items() if same_story(told, b)), None)
            if copy_of:
                errors.append(f"{where}: {art} is a copy of {copy_of}, asked about above")
            stories[art] = told
            if any(same_story(told, d) for d in distractors):
                errors.append(
                    f"{where}: {art} is (a copy of) one of the {DISTRACTORS} distractor articles"
                )
        per_article[art].append(r)
        text = texts[art]
        if r["type"] == "unanswerable":
            if r["answers"] or r["evidence"]:
                errors.append(f"{where}: unanswerable with answers or evidence")
            continue
        ev = r["evidence"]
        at = text.find(ev) if ev else -1
        if at < 0:
            errors.append(f"{where}: evidence not verbatim in {art}")
            continue
        if not 20 <= len(ev) <= 200:
            errors.append(f"{where}: evidence is {len(ev)} characters (20-200)")
        sentence = _sentence(text, at, at + len(ev))
        around = _norm(sentence + " " + ev)
        if not r["answers"] or not any(_norm(a) in around for a in r["answers"]):
            errors.append(f"{where}: no accepted answer in the evidence or its sentence")
        if r["type"] == "paraphrase":
            shared = _content_words(r["question"]) & _content_words(sentence)
            if len(shared) > 2:
                errors.append(
                    f"{where}: paraphrase shares {len(shared)} content words with its "
                    f"sentence ({', '.join(sorted(shared))}; at most 2)"
                )
    for art, qs in per_article.items():
        kinds = collections.Counter(q["type"] for q in qs)
        if len(qs) != 6 or kinds["unanswerable"] != 1 or kinds["paraphrase"] < 2:
            errors.append(
                f"{art}: {len(qs)} questions, {kinds['unanswerable']} unanswerable, "
                f"{kinds['paraphrase']} paraphrases (want 6, 1, at least 2)"
            )
    return errors


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m eval.check_questions", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("file", nargs="?", default=str(DEFAULT_FILE), help=f"default {DEFAULT_FILE}")
    args = p.parse_args(argv)
    path = Path(args.file)
    errors = check(path)
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    kinds = collections.Counter(r.get("type") for r in rows)
    print(
        f"{path}: {len(rows)} questions, {len({r.get('article') for r in rows})} articles; "
        + ", ".join(f"{k} {n}" for k, n in kinds.most_common())
    )
    for e in errors:
        print("ERROR", e)
    print("PASS" if not errors else f"FAIL ({len(errors)} errors)")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
