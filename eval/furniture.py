"""Measure the page-furniture detector (:mod:`qa.furniture`) on real article texts.

``python -m eval.furniture [--data ../shared/data] [--sample 40] [--seed 0]`` reports:

- **BBC News** (``bbc-news/``, 2,225 clean plain-text articles read as ingest reads them):
  lines and sentences flagged past the header fields that :mod:`qa.articles` records. These
  texts are clean, so nearly nothing should be flagged.
- **RealTime QA** (``realtimeqa/*_gcs.jsonl``, raw web extractions, one copy per URL): lines
  and sentences flagged, by kind, and a seeded sample of flagged lines for a person to judge.
- **Evidence spans** of ``bbc-qa/questions.jsonl`` and ``news-qa/questions.jsonl``: each is a
  real answer sentence, so any span flagged is a false positive (its text is printed).
- **Hand labels** (``eval/data/furniture_labels.jsonl``: url, line number, label; no article
  text): precision and recall estimated from a stratified sample of RealTime QA lines,
  flagged and not flagged (see :func:`label_estimates`).

``--label-sample N --seed S`` prints a fresh stratified sample (N flagged and N unflagged
lines not labelled before) with line ids, for labelling; the labels file holds only the ids,
the judgements and the labelling round. Rounds: 1, seed 0, labelled while the rules were being
fixed (development); 2, seed 1, held out at first, then two rules were fixed on what it showed;
3, seed 2, drawn and labelled after the last change (held out).
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import random
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from eval.datasets import DEFAULT_DATA_DIR
from qa.articles import Article, article_from_record, read_file
from qa.chunking import split_sentences
from qa.furniture import Furniture, classify_furniture

DEFAULT_DATA = DEFAULT_DATA_DIR
LABELS = Path(__file__).resolve().parent / "data" / "furniture_labels.jsonl"


@dataclass(frozen=True)
class LineResult:
    """One line of an article and what the detector made of it.

    Attributes:
        doc: The article's URL or path.
        line: The line's number in the article text, from 1 (blank lines count).
        text: The line, stripped.
        kind: The furniture kind of a span overlapping the line, or "" when none does.
        header: Whether the line is one of the header fields :mod:`qa.articles` recorded.
    """

    doc: str
    line: int
    text: str
    kind: str
    header: bool


def line_results(doc: str, article: Article) -> list[LineResult]:
    """Every non-blank line of an article with the detector's verdict.

    Args:
        doc: A name for the article (its URL or path).
        article: The article as ingest produced it.

    Returns:
        One :class:`LineResult` per non-blank line, in order.
    """
    text = article.text
    found = classify_furniture(text)
    out = []
    pos = 0
    for n, raw in enumerate(text.split("\n"), start=1):
        start, end = pos, pos + len(raw)
        pos = end + 1
        if not raw.strip():
            continue
        kinds = [f.kind for f in found if f.start < end and start < f.end]
        header = any(s < end and start < e for s, e in article.fields.values())
        out.append(LineResult(doc, n, raw.strip(), kinds[0] if kinds else "", header))
    return out


def sentence_counts(text: str, found: Sequence[Furniture]) -> tuple[int, int]:
    """(sentences, sentences overlapping furniture) of a text."""
    sents = split_sentences(text)
    flagged = sum(any(f.start < s.end and s.start < f.end for f in found) for s in sents)
    return len(sents), flagged


def bbc_articles(data: Path) -> Iterator[tuple[str, Article]]:
    """The BBC News articles, read as ``qa ingest`` reads them."""
    for path in sorted((data / "bbc-news").glob("*/*.txt")):
        for article in read_file(path):
            yield f"{path.parent.name}/{path.name}", article


def realtimeqa_articles(data: Path) -> Iterator[tuple[str, Article]]:
    """The RealTime QA search results with text, one per URL, in file order."""
    seen: set[str] = set()
    for path in sorted((data / "realtimeqa").glob("*_gcs.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            for record in json.loads(line).get("search_result") or []:
                url = record.get("url") or ""
                if url in seen or not (record.get("text") or "").strip():
                    continue
                seen.add(url)
                yield url, article_from_record(record, str(path))


def _evidence_article(data: Path, name: str, article: str) -> str:
    """The text of a question's article, read as ingest reads it."""
    if name == "bbc-qa":
        return read_file(data / "bbc-news" / article)[0].text
    path = data / "news-qa" / "articles" / f"{article}.json"
    return article_from_record(json.loads(path.read_text(encoding="utf-8"))).text


def evidence_checks(data: Path) -> Iterator[tuple[str, str, str, str]]:
    """(data set, question id, evidence, kind flagged or "" or "missing") per evidence span."""
    cache: dict[tuple[str, str], tuple[str, list[Furniture]]] = {}
    for name in ("bbc-qa", "news-qa"):
        qpath = data / name / "questions.jsonl"
        for line in qpath.read_text(encoding="utf-8").splitlines():
            q = json.loads(line)
            evidence = q.get("evidence") or ""
            if not evidence:
                continue
            key = (name, q["article"])
            if key not in cache:
                text = _evidence_article(data, name, q["article"])
                cache[key] = (text, classify_furniture(text))
            text, found = cache[key]
            start = text.find(evidence)
            if start < 0:
                yield name, q["id"], evidence, "missing"
                continue
            end = start + len(evidence)
            kinds = [f.kind for f in found if f.start < end and start < f.end]
            yield name, q["id"], evidence, kinds[0] if kinds else ""


def stratified_sample(results: Sequence[LineResult], n: int, seed: int) -> list[LineResult]:
    """``n`` flagged and ``n`` unflagged lines, drawn with a fixed seed, in a mixed order."""
    rng = random.Random(seed)
    flagged = [r for r in results if r.kind]
    clean = [r for r in results if not r.kind]
    picked = rng.sample(flagged, min(n, len(flagged))) + rng.sample(clean, min(n, len(clean)))
    rng.shuffle(picked)
    return picked


def label_estimates(
    results: Sequence[LineResult], labels: dict[tuple[str, int], bool]
) -> dict[str, float] | None:
    """Precision and recall over all lines, from labels of a stratified sample.

    Precision is the share of labelled flagged lines that are furniture. Recall weights the
    two strata by their sizes: with ``F`` flagged and ``U`` unflagged lines in the corpus and
    ``m`` the share of labelled unflagged lines that are furniture (missed),
    ``recall = P*F / (P*F + m*U)``.

    Returns:
        ``precision``, ``missed_share``, ``recall``, rough 95% bounds (Wilson intervals of the
        two shares; the recall bounds combine their ends) and the sample sizes, or None when
        no labelled line is in ``results``.
    """
    by_id = {(r.doc, r.line): r for r in results}
    got = [(by_id[k], v) for k, v in labels.items() if k in by_id]
    if not got:
        return None
    flagged = [v for r, v in got if r.kind]
    clean = [v for r, v in got if not r.kind]
    n_flag = sum(1 for r in results if r.kind)
    n_clean = len(results) - n_flag
    precision = sum(flagged) / len(flagged) if flagged else float("nan")
    missed = sum(clean) / len(clean) if clean else float("nan")
    tp = precision * n_flag
    fn = missed * n_clean
    recall = tp / (tp + fn) if tp + fn else float("nan")
    p_lo, p_hi = wilson(sum(flagged), len(flagged))
    m_lo, m_hi = wilson(sum(clean), len(clean))
    return {
        "precision_low": p_lo,
        "precision_high": p_hi,
        "recall_low": p_lo * n_flag / (p_lo * n_flag + m_hi * n_clean),
        "recall_high": p_hi * n_flag / (p_hi * n_flag + m_lo * n_clean),
        "precision": precision,
        "missed_share": missed,
        "recall": recall,
        "labelled_flagged": len(flagged),
        "labelled_unflagged": len(clean),
        "furniture_in_flagged": sum(flagged),
        "furniture_in_unflagged": sum(clean),
    }


def wilson(k: float, n: float, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval (95% by default) of a proportion ``k`` of ``n``."""
    if n <= 0:
        return float("nan"), float("nan")
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def read_labels(path: Path) -> dict[int, dict[tuple[str, int], bool]]:
    """The hand labels by labelling round: ``{round: {(url, line): is_furniture}}``.

    Round 1 was labelled while the rules were still being fixed (a development sample);
    round 2 was drawn and labelled afterwards, with another seed (held out).
    """
    out: dict[int, dict[tuple[str, int], bool]] = collections.defaultdict(dict)
    if not path.exists():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            out[int(d.get("round", 1))][(d["url"], int(d["line"]))] = bool(d["furniture"])
    return out


def _share(a: int, b: int) -> str:
    return f"{a:,} of {b:,} ({100 * a / b:.2f}%)" if b else f"{a} of 0"


def _clip(s: str, n: int = 150) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the measurement and print the report.

    Args:
        argv: Command-line arguments (``sys.argv[1:]`` when None).

    Returns:
        The exit code: 0, or 1 when the data folder is missing.
    """
    p = argparse.ArgumentParser(prog="python -m eval.furniture", description=__doc__.split("\n")[0])
    p.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help=f"the shared data folder (default {DEFAULT_DATA})",
    )
    p.add_argument(
        "--sample",
        type=int,
        default=40,
        help="how many flagged RealTime QA lines to print (default 40)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the samples (default 0)")
    p.add_argument(
        "--labels",
        type=Path,
        default=LABELS,
        help=f"hand labels, JSONL of url, line, furniture (default {LABELS})",
    )
    p.add_argument(
        "--label-sample",
        type=int,
        default=0,
        metavar="N",
        help="print N flagged and N unflagged RealTime QA lines to label, and stop",
    )
    p.add_argument("--show-bbc", action="store_true", help="print every BBC line flagged")
    args = p.parse_args(argv)
    if not (args.data / "bbc-news").is_dir():
        print(f"error: no bbc-news folder in {args.data}; pass --data", file=sys.stderr)
        return 1

    rt_results: list[LineResult] = []
    rt_sents = [0, 0]
    for url, article in realtimeqa_articles(args.data):
        rt_results.extend(line_results(url, article))
        n, f = sentence_counts(article.text, classify_furniture(article.text))
        rt_sents[0] += n
        rt_sents[1] += f

    if args.label_sample:
        seen = {k for labels in read_labels(args.labels).values() for k in labels}
        fresh = [r for r in rt_results if (r.doc, r.line) not in seen]
        for r in stratified_sample(fresh, args.label_sample, args.seed):
            print(
                json.dumps(
                    {
                        "url": r.doc,
                        "line": r.line,
                        "flagged": r.kind or None,
                        "text": _clip(r.text, 300),
                    },
                    ensure_ascii=False,
                )
            )
        return 0

    bbc_results: list[LineResult] = []
    bbc_sents = [0, 0]
    for name, article in bbc_articles(args.data):
        bbc_results.extend(line_results(name, article))
        found = [
            f
            for f in classify_furniture(article.text)
            if not any(s < f.end and f.start < e for s, e in article.fields.values())
        ]
        n, f = sentence_counts(article.text, found)
        bbc_sents[0] += n
        bbc_sents[1] += f

    print("== BBC News (clean texts; header fields from qa.articles excluded)")
    body = [r for r in bbc_results if not r.header]
    flagged = [r for r in body if r.kind]
    print(f"articles: {len({r.doc for r in bbc_results}):,}")
    print(f"lines flagged: {_share(len(flagged), len(body))}")
    print(f"sentences flagged: {_share(bbc_sents[1], bbc_sents[0])}")
    print(f"header lines flagged: {sum(1 for r in bbc_results if r.header and r.kind)}")
    print("by kind:", dict(collections.Counter(r.kind for r in flagged).most_common()))
    shown = (
        flagged
        if args.show_bbc
        else random.Random(args.seed).sample(flagged, min(15, len(flagged)))
    )
    for r in shown:
        print(f"  [{r.kind}] {r.doc}:{r.line}: {_clip(r.text)}")

    print("\n== RealTime QA (raw web extractions, one copy per URL)")
    flagged = [r for r in rt_results if r.kind]
    print(f"articles: {len({r.doc for r in rt_results}):,}")
    print(f"lines flagged: {_share(len(flagged), len(rt_results))}")
    print(f"sentences flagged: {_share(rt_sents[1], rt_sents[0])}")
    print("by kind:", dict(collections.Counter(r.kind for r in flagged).most_common()))
    print(f"sample of {min(args.sample, len(flagged))} flagged lines (seed {args.seed}):")
    for r in random.Random(args.seed).sample(flagged, min(args.sample, len(flagged))):
        print(f"  [{r.kind}] {_clip(r.text)}")

    print("\n== Evidence spans (real answer sentences: any flagged is a false positive)")
    per_set: dict[str, list[str]] = collections.defaultdict(list)
    for name, qid, evidence, kind in evidence_checks(args.data):
        per_set[name].append(kind)
        if kind:
            print(f"  {name} {qid} [{kind}]: {_clip(evidence)}")
    for name, kinds in per_set.items():
        bad = sum(1 for k in kinds if k and k != "missing")
        missing = sum(1 for k in kinds if k == "missing")
        note = f" ({missing} not found in the article text)" if missing else ""
        print(f"{name}: evidence spans flagged {_share(bad, len(kinds))}{note}")

    print("\n== Hand labels (stratified samples of RealTime QA lines, 30 flagged + 30 not)")
    rounds = read_labels(args.labels)
    if not rounds:
        print(f"no labels in {args.labels}")
    pooled = {k: v for labels in rounds.values() for k, v in labels.items()}
    named = [(f"round {rnd}", labels) for rnd, labels in sorted(rounds.items())]
    for name, labels in named + ([("all rounds pooled", pooled)] if len(rounds) > 1 else []):
        est = label_estimates(rt_results, labels)
        if est is None:
            continue
        rnd = int(name.split()[1]) if name.startswith("round") else 0
        what = {
            0: "rounds 1-2 informed the rules",
            1: "development",
            2: "held out, then used for two fixes",
        }.get(rnd, "held out")
        print(f"{name} ({what}):")
        print(
            f"  labelled: {est['labelled_flagged']:.0f} flagged, "
            f"{est['labelled_unflagged']:.0f} unflagged"
        )
        print(
            f"  precision: {est['precision']:.3f} ({est['furniture_in_flagged']:.0f} of "
            f"{est['labelled_flagged']:.0f} flagged lines are furniture; 95% "
            f"{est['precision_low']:.2f}-{est['precision_high']:.2f})"
        )
        print(
            f"  missed: {est['furniture_in_unflagged']:.0f} of {est['labelled_unflagged']:.0f} "
            f"unflagged lines are furniture"
        )
        print(
            f"  recall (strata weighted by size): {est['recall']:.3f} (roughly "
            f"{est['recall_low']:.2f}-{est['recall_high']:.2f})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
