"""Train the answer stage's span reader: start/end logits over the chosen sentence, read with
its neighbours and the question, fine-tuned from the bundled all-MiniLM-L6-v2 on these CPUs.

Usage::

    python -m eval.train_reader [--epochs 3] [--seed 13] [--out embeddings/models/reader]

Data (read from ``../shared/data``, never copied; the ranker's splits, :mod:`eval.splits`):

* bbc-qa and the team's own BBC questions (``eval/data/bbc-qa-extra.jsonl``), train
  articles: each answerable question with the sentence holding its evidence
  and the sentences either side; the target is the first accepted answer found verbatim in
  that sentence (questions whose answers are all rewordings are skipped);
* SQuAD v1.1 dev even split, train articles: each question with the sentence holding its
  answer and the sentences either side of it in its paragraph;
* negatives (target: no span, the ``[CLS]`` token): each unanswerable BBC question and a
  share of the answerable ones of both sets, read against the article's sentence closest to
  the question by the bi-encoder that does not hold the answer.

Validation on the dev articles of both sets, given the gold sentence (the reader's ceiling):
SQuAD exact match / F1 with the official normalisation, and for bbc-qa whether the span
holds an accepted answer; also how often the reader's no-span score beats its best span on
the negatives. Printed after every epoch; the final model is exported to ONNX, quantised to
int8, validated again as exported and written with ``manifest.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from eval.splits import bbc_question_rows, bbc_split, squad_split
from eval.train_ranker import (
    DATA,
    _encode,
    _sentences,
    add_common_options,
    common_manifest,
    length_batches,
    quantize_to_int8,
    ship,
)

log = logging.getLogger(__name__)

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "embeddings" / "models" / "reader"
MAX_LENGTH = 192  # question + the sentence and its neighbours
NEGATIVE_SHARE = 0.25  # answerable questions also read against a wrong sentence


@dataclass(frozen=True)
class Example:
    """A question read against a window of text: ``window[sent_start:sent_end]`` is the
    sentence the span must come from; ``answer`` is its ``(start, end)`` in ``window``, or
    None when the sentence does not answer the question."""

    question: str
    window: str
    sent_start: int
    sent_end: int
    answer: tuple[int, int] | None
    answers: tuple[str, ...]
    source: str


def _window(text: str, sents: list[tuple[int, int, str]], i: int, j: int | None = None) -> Any:
    """Sentences ``i..j`` with one either side, as (window, sentence start, end, window base)."""
    j = i if j is None else j
    lo = sents[max(0, i - 1)][0]
    hi = sents[min(len(sents) - 1, j + 1)][1]
    return text[lo:hi], sents[i][0] - lo, sents[j][1] - lo, lo


def bbc_examples(split: str) -> tuple[list[Example], list[tuple[str, str, int, int]]]:
    """bbc-qa examples of the split, and (question, article body, sentence start, end) for
    every question whose negative is to be found by the bi-encoder."""
    from eval.datasets import _decode

    rows = bbc_question_rows()
    bodies: dict[str, str] = {}
    out: list[Example] = []
    need_negative: list[tuple[str, str, int, int]] = []
    for r in rows:
        if bbc_split(r["article"]) != split:
            continue
        if r["article"] not in bodies:
            path = DATA / "bbc-news" / r["article"]
            bodies[r["article"]] = _decode(path.read_bytes(), path).partition("\n")[2].strip()
        body = bodies[r["article"]]
        if not r["evidence"]:
            need_negative.append((r["question"], body, -1, -1))
            continue
        at = body.find(r["evidence"])
        if at < 0:
            continue
        sents = _sentences(body)
        hit = [k for k, (s, e, _) in enumerate(sents) if s < at + len(r["evidence"]) and at < e]
        if not hit:
            continue
        window, ss, se, lo = _window(body, sents, hit[0], hit[-1])
        low = window.lower()
        span = None
        for a in r["answers"]:
            k = low.find(a.lower(), ss, se)
            if k >= 0:
                span = (k, k + len(a))
                break
        if span is None:
            continue
        out.append(Example(r["question"], window, ss, se, span, tuple(r["answers"]), "bbc"))
        need_negative.append((r["question"], body, lo + ss, lo + se))
    return out, need_negative


def squad_examples(split: str) -> tuple[list[Example], list[tuple[str, str, int, int]]]:
    """SQuAD even-split examples of the split's articles (answer within one sentence)."""
    data = json.loads((DATA / "squad" / "dev-v1.1-even.json").read_text())["data"]
    out: list[Example] = []
    need_negative: list[tuple[str, str, int, int]] = []
    for pos, art in enumerate(data):
        if squad_split(pos) != split:
            continue
        for para in art["paragraphs"]:
            text = para["context"]
            sents = _sentences(text)
            for q in para["qas"]:
                a = q["answers"][0]
                at, end = a["answer_start"], a["answer_start"] + len(a["text"])
                k = next((k for k, (s, e, _) in enumerate(sents) if s <= at < e), None)
                if k is None or end > sents[k][1]:
                    continue
                window, ss, se, lo = _window(text, sents, k)
                answers = tuple(x["text"] for x in q["answers"])
                out.append(
                    Example(q["question"], window, ss, se, (at - lo, end - lo), answers, "squad")
                )
                need_negative.append((q["question"], text, sents[k][0], sents[k][1]))
    return out, need_negative


def negatives(items: list[tuple[str, str, int, int]], source: str) -> list[Example]:
    """Each question against its text's sentence closest to it by the bi-encoder, other than
    the one holding its answer (``start, end``), with no span as the target."""
    if not items:
        return []
    split = {body: _sentences(body) for _, body, _, _ in items}
    uniq = sorted({t for ss in split.values() for _, _, t in ss})
    at = {t: i for i, t in enumerate(uniq)}
    sv = _encode(uniq)
    qv = _encode([q for q, _, _, _ in items])
    out = []
    for (question, body, s0, e0), qvec in zip(items, qv):
        sents = split[body]
        order = np.argsort(-(sv[[at[t] for _, _, t in sents]] @ qvec))
        k = next((int(k) for k in order if not (sents[k][0] < e0 and s0 < sents[k][1])), None)
        if k is None:
            continue
        window, ss, se, _ = _window(body, sents, k)
        out.append(Example(question, window, ss, se, None, (), source))
    return out


# --- SQuAD's official answer normalisation and scores -------------------------------------


def normalize(s: str) -> str:
    """SQuAD v1.1's normalisation: lower case, no punctuation, articles or extra spaces."""
    import re
    import string

    s = "".join(ch for ch in s.lower() if ch not in set(string.punctuation))
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", s).split())


def exact(pred: str, golds: tuple[str, ...]) -> float:
    return float(any(normalize(pred) == normalize(g) for g in golds))


def f1(pred: str, golds: tuple[str, ...]) -> float:
    from collections import Counter

    best = 0.0
    p = normalize(pred).split()
    for g in golds:
        t = normalize(g).split()
        common = sum((Counter(p) & Counter(t)).values())
        if common:
            prec, rec = common / len(p), common / len(t)
            best = max(best, 2 * prec * rec / (prec + rec))
    return best


def holds(pred: str, golds: tuple[str, ...]) -> float:
    """Whether an accepted answer lies within the span, which is no longer than a phrase."""
    n = normalize(pred)
    return float(bool(n) and len(n.split()) <= 12 and any(normalize(g) in n for g in golds))


# --- training ------------------------------------------------------------------------------

Reader = Callable[[str, str, int, int], tuple[int, int, float]]


def torch_reader(model: Any, tokenizer: Any) -> Reader:
    """The model being trained, decoding as the shipped reader does."""
    import torch

    from embeddings.reader import reading_from

    def read(question: str, window: str, ss: int, se: int) -> tuple[int, int, float]:
        model.eval()
        enc = tokenizer(
            question,
            window,
            truncation="only_second",
            max_length=MAX_LENGTH,
            return_offsets_mapping=True,
            return_tensors="pt",
        )
        offsets = enc.pop("offset_mapping")[0].tolist()
        seq = enc.sequence_ids(0)
        with torch.no_grad():
            out = model(**enc)
        span = reading_from(
            out.start_logits[0].numpy(), out.end_logits[0].numpy(), offsets, seq, ss, se
        ).best()
        return (span.start, span.end, span.margin) if span else (0, 0, float("-inf"))

    return read


def validate(examples: list[Example], read: Reader) -> dict[str, float]:
    """Given the gold sentence: EM / F1 (SQuAD), accepted answer within the span (bbc-qa),
    and on negatives how often the reader's no-span score wins."""
    em, fs, held, null_wins = [], [], [], []
    for ex in examples:
        s, e, margin = read(ex.question, ex.window, ex.sent_start, ex.sent_end)
        if ex.answer is None:
            null_wins.append(float(margin < 0))
            continue
        pred = ex.window[s:e]
        em.append(exact(pred, ex.answers))
        fs.append(f1(pred, ex.answers))
        held.append(holds(pred, ex.answers))
    out = {
        "questions": len(em),
        "exact": round(float(np.mean(em)), 4),
        "f1": round(float(np.mean(fs)), 4),
        "holds_answer": round(float(np.mean(held)), 4),
    }
    if null_wins:
        out["negatives"] = len(null_wins)
        out["no_span_wins_on_negatives"] = round(float(np.mean(null_wins)), 4)
    return out


def features(tokenizer: Any, batch: list[Example]) -> tuple[dict[str, Any], Any, Any]:
    """A batch's inputs and start/end token targets (0, ``[CLS]``, for no span)."""
    import torch

    enc = tokenizer(
        [ex.question for ex in batch],
        [ex.window for ex in batch],
        truncation="only_second",
        max_length=MAX_LENGTH,
        padding=True,
        return_offsets_mapping=True,
        return_tensors="pt",
    )
    offsets = enc.pop("offset_mapping").tolist()
    starts, ends = [], []
    for b, ex in enumerate(batch):
        toks: list[int] = []
        if ex.answer is not None:
            a0, a1 = ex.answer
            toks = [
                t
                for t, (o, sid) in enumerate(zip(offsets[b], enc.sequence_ids(b)))
                if sid == 1 and o[1] > o[0] and o[0] < a1 and o[1] > a0
            ]
        # no span, or the answer fell outside the truncated window: the [CLS] token
        starts.append(toks[0] if toks else 0)
        ends.append(toks[-1] if toks else 0)
    return dict(enc), torch.tensor(starts), torch.tensor(ends)


def train(args: argparse.Namespace) -> dict[str, Any]:
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    from embeddings import resolve_model_path

    rng = random.Random(args.seed)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()

    def load(split: str) -> tuple[list[Example], list[Example]]:
        b, bneed = bbc_examples(split)
        s, sneed = squad_examples(split)
        if args.limit:
            b, s = b[: args.limit], s[: args.limit]
        # every unanswerable bbc question, a share of the answerable ones
        pick = [n for n in bneed if n[2] < 0]
        pick += rng.sample([n for n in bneed if n[2] >= 0], int(NEGATIVE_SHARE * len(b)))
        negs = negatives(pick, "bbc") + negatives(
            rng.sample(sneed, min(len(sneed), int(NEGATIVE_SHARE * len(s)))), "squad"
        )
        return b + s, negs

    train_pos, train_neg = load("train")
    dev_pos, dev_neg = load("dev")
    dev_bbc = [x for x in dev_pos if x.source == "bbc"] + [x for x in dev_neg if x.source == "bbc"]
    dev_squad = rng.sample([x for x in dev_pos if x.source == "squad"], args.squad_dev)
    print(
        f"data: train {len(train_pos)} spans ({sum(x.source == 'bbc' for x in train_pos)} bbc) "
        f"+ {len(train_neg)} negatives; dev bbc {len(dev_bbc)}, squad {len(dev_squad)} "
        f"({time.perf_counter() - t0:.0f}s)",
        flush=True,
    )
    base = resolve_model_path("all-MiniLM-L6-v2")
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForQuestionAnswering.from_pretrained(base)
    data = train_pos + train_neg
    steps = args.epochs * math.ceil(len(data) / args.batch)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    warm = max(1, int(0.1 * steps))

    def rate(s: int) -> float:  # linear warm-up over a tenth of the steps, then linear decay
        return (s + 1) / warm if s < warm else max(0.0, (steps - s) / (steps - warm))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, rate)
    read = torch_reader(model, tokenizer)
    figures: dict[str, Any] = {}
    curve = []
    step = 0
    for epoch in range(1, args.epochs + 1):
        order = data[:]
        rng.shuffle(order)
        batches = length_batches(order, args.batch, rng, lambda x: len(x.question) + len(x.window))
        model.train()
        total, seen, t1 = 0.0, 0, time.perf_counter()
        for batch in batches:
            enc, st, en = features(tokenizer, batch)
            out = model(**enc, start_positions=st, end_positions=en)
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            total += out.loss.item() * len(batch)
            seen += len(batch)
            step += 1
            if step % 50 == 0:
                print(
                    f"  epoch {epoch} step {step}/{steps} loss {total / seen:.4f} "
                    f"({seen / (time.perf_counter() - t1):.1f} examples/s)",
                    flush=True,
                )
        point = {
            "epoch": epoch,
            "examples": len(order),
            "loss": round(total / len(order), 4),
            "bbc_dev": validate(dev_bbc, read),
            "squad_dev": validate(dev_squad, read),
        }
        curve.append(point)
        print("epoch", json.dumps(point), flush=True)
    figures["curve"] = curve

    out_dir = Path(args.out)
    parent = out_dir.parent if out_dir.parent.exists() else None
    tmp = Path(tempfile.mkdtemp(prefix="reader-", dir=parent))
    model.save_pretrained(tmp / "torch")
    tokenizer.save_pretrained(tmp / "torch")
    onnx_file = export_onnx(tmp / "torch", tmp)
    from embeddings.reader import SpanReader

    (tmp / "manifest.json").write_text(
        json.dumps({"file": onnx_file.name, "max_length": MAX_LENGTH})
    )
    shipped = SpanReader(tmp, check=False)

    def read_shipped(question: str, window: str, ss: int, se: int) -> tuple[int, int, float]:
        s = shipped.read(question, window, ss, se)
        return s.start, s.end, s.margin

    figures["onnx_int8"] = {
        "bbc_dev": validate(dev_bbc, read_shipped),
        "squad_dev": validate(dev_squad, read_shipped),
    }
    print("exported int8:", json.dumps(figures["onnx_int8"]), flush=True)
    manifest = {
        "model": "answer-stage span reader (start/end logits over question + sentence window)",
        **common_manifest(onnx_file),
        "max_length": MAX_LENGTH,
        "input": "question, window (the sentence with one sentence either side; a BERT pair)",
        "output": "start_logits, end_logits per token; token 0 ([CLS]) means no span",
        "training_examples": {
            "spans_bbc": sum(x.source == "bbc" for x in train_pos),
            "spans_squad": sum(x.source == "squad" for x in train_pos),
            "negatives": len(train_neg),
        },
        "seed": args.seed,
        "hyperparameters": {
            "epochs": args.epochs,
            "batch": args.batch,
            "lr": args.lr,
            "negative_share": NEGATIVE_SHARE,
            "warmup": 0.1,
            "loss": "cross-entropy over start and end tokens",
        },
        "train_seconds": round(time.perf_counter() - t0),
        "figures": figures,
        "command": "python -m eval.train_reader " + " ".join(args.argv),
    }
    ship(tmp, out_dir, manifest)
    return manifest


def export_onnx(torch_dir: Path, out_dir: Path) -> Path:
    """Export the fine-tuned span reader to ONNX (start and end logits), quantised to int8."""
    import torch
    from transformers import AutoModelForQuestionAnswering

    model = AutoModelForQuestionAnswering.from_pretrained(
        str(torch_dir), attn_implementation="eager"
    ).eval()

    class _Logits(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.start_logits, out.end_logits

    return quantize_to_int8(
        _Logits(model),
        torch_dir,
        out_dir,
        {"start_logits": {0: "batch", 1: "sequence"}, "end_logits": {0: "batch", 1: "sequence"}},
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m eval.train_reader",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--epochs", type=int, default=3, help="passes over the data (default 3)")
    p.add_argument("--batch", type=int, default=16, help="examples per step (default 16)")
    p.add_argument("--lr", type=float, default=6e-5, help="peak learning rate (default 6e-5)")
    add_common_options(p, DEFAULT_OUT)
    args = p.parse_args(argv)
    args.argv = list(argv if argv is not None else sys.argv[1:])
    logging.basicConfig(level=logging.WARNING)
    train(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
