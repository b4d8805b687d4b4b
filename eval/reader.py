"""The shipped span reader's ceiling: its short answers given the gold sentence.

Usage::

    python -m eval.reader [--split heldout] [--newsqa ../shared/data/news-qa]

Reads every question of SQuAD even's articles of the split (default: the held-out ones no
model saw) with the sentence holding its answer and the sentences either side, as the answer
stage reads the sentence it chose, and prints exact match and F1 (SQuAD's official
normalisation) of the span; for ``news-qa`` (never trained on), whether the span holds an
accepted answer, per question type. What ``qa eval`` reports for ``Answer.short`` is this
ceiling times the share of questions whose sentence the answer stage chose right.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from eval.train_reader import DATA, exact, f1, holds, squad_examples


def squad_ceiling(split: str) -> dict[str, Any]:
    """EM / F1 / accepted answer within the span, over the split's SQuAD questions."""
    from embeddings.reader import load_reader

    reader = load_reader()
    examples, _ = squad_examples(split)
    em, fs, held = [], [], []
    for ex in examples:
        s = reader.read(ex.question, ex.window, ex.sent_start, ex.sent_end)
        pred = ex.window[s.start : s.end]
        em.append(exact(pred, ex.answers))
        fs.append(f1(pred, ex.answers))
        held.append(holds(pred, ex.answers))
    return {
        "questions": len(em),
        "exact": round(float(np.mean(em)), 4),
        "f1": round(float(np.mean(fs)), 4),
        "holds_answer": round(float(np.mean(held)), 4),
    }


def newsqa_ceiling(folder: Path) -> dict[str, Any]:
    """Per question type, how often the span read from the evidence holds an answer."""
    from embeddings.reader import load_reader
    from qa.chunking import split_sentences

    reader = load_reader()
    by_type: dict[str, list[float]] = defaultdict(list)
    for line in (folder / "questions.jsonl").open():
        r = json.loads(line)
        if not r["evidence"]:
            continue
        text = json.loads((folder / "articles" / f"{r['article']}.json").read_text())["text"]
        at = text.find(r["evidence"])
        if at < 0:
            continue
        sents = split_sentences(text)
        # the sentences the evidence overlaps, with one either side
        hit = [i for i, s in enumerate(sents) if s.start < at + len(r["evidence"]) and at < s.end]
        lo = sents[max(0, hit[0] - 1)].start
        hi = sents[min(len(sents) - 1, hit[-1] + 1)].end
        ss, se = sents[hit[0]].start - lo, sents[hit[-1]].end - lo
        span = reader.read(r["question"], text[lo:hi], ss, se)
        by_type[r["type"]].append(holds(text[lo + span.start : lo + span.end], tuple(r["answers"])))
    out: dict[str, Any] = {
        t: {"questions": len(v), "holds_answer": round(float(np.mean(v)), 4)}
        for t, v in sorted(by_type.items())
    }
    every = [x for v in by_type.values() for x in v]
    out["all"] = {"questions": len(every), "holds_answer": round(float(np.mean(every)), 4)}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m eval.reader",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--split",
        default="heldout",
        choices=["train", "dev", "heldout"],
        help="SQuAD even articles to read (default heldout: no model saw them)",
    )
    p.add_argument(
        "--newsqa",
        type=Path,
        default=DATA / "news-qa",
        help="news-qa folder (default ../shared/data/news-qa); '' to skip",
    )
    args = p.parse_args(argv)
    print(
        f"SQuAD even, {args.split} articles, gold sentence:", json.dumps(squad_ceiling(args.split))
    )
    if str(args.newsqa) and (args.newsqa / "questions.jsonl").is_file():
        print("news-qa, evidence sentence:", json.dumps(newsqa_ceiling(args.newsqa)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
