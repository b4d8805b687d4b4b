"""Compare retrieval methods on one index: BM25 alone, dense alone, hybrid without acronym
expansion and hybrid with it.

All four search the same index folder (built once), through
``Settings.replace(retrieval=..., expand_acronyms=...)``, so only the method changes. BM25 and
dense run without acronym expansion, so each row adds one thing to the one above it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eval import plots
from eval.datasets import EvalQuestion
from eval.judge import Judge, first_hit_rank
from eval.metrics import hits_curve, mrr_at_k, percentiles
from eval.report import pct, table, write_json
from eval.runner import RETRIEVE_K

if TYPE_CHECKING:
    from qa.settings import Settings


@dataclass(frozen=True)
class Method:
    """One retrieval configuration."""

    name: str
    retrieval: str
    expand_acronyms: bool


METHODS = (
    Method("bm25", "bm25", False),
    Method("dense", "dense", False),
    Method("hybrid, no acronyms", "hybrid", False),
    Method("hybrid + acronyms", "hybrid", True),
)


def evaluate_method(
    settings: Settings,
    method: Method,
    judge: Judge,
    questions: Sequence[EvalQuestion],
    *,
    show_progress: bool = False,
) -> dict[str, Any]:
    """Retrieve the top 10 for every scored question with one method; return its figures."""
    from tqdm import tqdm

    from qa.engine import QA

    engine = QA(
        settings.replace(retrieval=method.retrieval, expand_acronyms=method.expand_acronyms)
    )
    ranks: list[int | None] = []
    times: list[float] = []
    scored = [q for q in questions if judge.retrieval_scored(q)]
    for q in tqdm(
        scored, desc=method.name, unit="q", disable=not show_progress, dynamic_ncols=True
    ):
        t0 = time.perf_counter()
        result = engine.search(q.question, k=RETRIEVE_K, history=list(q.history) or None)
        times.append(time.perf_counter() - t0)
        ranks.append(first_hit_rank(result.passages, partial(judge.is_hit, q)))
    curve = (
        hits_curve(ranks, range(1, RETRIEVE_K + 1))
        if ranks
        else {k: math.nan for k in range(1, RETRIEVE_K + 1)}
    )
    return {
        "retrieval": method.retrieval,
        "expand_acronyms": method.expand_acronyms,
        "questions": len(ranks),
        "hits@1": curve[1],
        "hits@5": curve[5],
        "hits@10": curve[10],
        "mrr@10": mrr_at_k(ranks, 10) if ranks else math.nan,
        "hits_curve": {str(k): v for k, v in curve.items()},
        "latency_s": percentiles(times, (50, 95)),
    }


def compare_methods(
    settings: Settings,
    judge: Judge,
    questions: Sequence[EvalQuestion],
    *,
    show_progress: bool = False,
) -> dict[str, dict[str, Any]]:
    """:func:`evaluate_method` for every method in :data:`METHODS`, by name."""
    return {
        m.name: evaluate_method(settings, m, judge, questions, show_progress=show_progress)
        for m in METHODS
    }


def render_methods(results: dict[str, dict[str, Any]], title: str = "") -> str:
    """The comparison as a Markdown table."""
    rows = [
        [
            name,
            pct(r["hits@1"]),
            pct(r["hits@5"]),
            pct(r["hits@10"]),
            "n/a"
            if r["mrr@10"] is None or not math.isfinite(r["mrr@10"])
            else f"{r['mrr@10']:.3f}",
            f"{1000 * r['latency_s']['p50']:.0f} ms" if r["questions"] else "n/a",
        ]
        for name, r in results.items()
    ]
    head = [f"# Retrieval methods: {title}", ""] if title else []
    return "\n".join(
        head + [table(["method", "Hits@1", "Hits@5", "Hits@10", "MRR@10", "p50 latency"], rows)]
    )


def write_methods(out: Path, meta: dict[str, Any], results: dict[str, dict[str, Any]]) -> Path:
    """Write ``methods.json``, ``methods.md`` and ``methods_hits.png`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    plots.hits_curve_plot(
        {name: {int(k): v for k, v in r["hits_curve"].items()} for name, r in results.items()},
        out / "methods_hits.png",
        title="Hits@k by retrieval method",
    )
    write_json(out / "methods.json", {**meta, "methods": results})
    n = next(iter(results.values()))["questions"] if results else 0
    md = "\n".join(
        [
            render_methods(results, meta.get("name", "")),
            "",
            f"{n} questions with a defined hit ({meta.get('hit_rule', '')}); one index of "
            f"{meta.get('articles')} articles for all methods; model `{meta.get('model_id')}`, "
            f"commit `{str(meta.get('git_commit'))[:12]}`. BM25 and dense run without acronym "
            "expansion.",
            "",
            "![Hits@k by method](methods_hits.png)",
            "",
        ]
    )
    path = out / "methods.md"
    path.write_text(md, encoding="utf-8")
    return path
