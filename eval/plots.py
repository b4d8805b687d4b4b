"""PNG plots for evaluation reports, drawn with matplotlib's Agg backend (no display needed).

Every function takes plain values and a path, writes one PNG and returns the path.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def _pyplot() -> ModuleType:
    """``matplotlib.pyplot`` on the Agg backend, imported on first use."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Figure, path: Path) -> Path:
    plt = _pyplot()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def hits_curve_plot(
    curves: Mapping[str, Mapping[int, float]], path: Path, title: str = "Hits@k"
) -> Path:
    """Hits@k against k, one line per named curve (a run, or a retrieval method)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, curve in curves.items():
        ks = sorted(int(k) for k in curve)
        ys = [curve[k] for k in ks]
        ax.plot(ks, ys, marker="o", label=name)
    ax.set_xlabel("k (passages retrieved)")
    ax.set_ylabel("Hits@k")
    ax.set_ylim(0, 1.02)
    ax.set_xticks(range(1, 11))
    ax.grid(alpha=0.3)
    ax.set_title(title)
    if len(curves) > 1:
        ax.legend(loc="lower right")
    return _save(fig, path)


def _hist(
    ax: Axes,
    groups: Mapping[str, Sequence[float]],
    bins: Sequence[float],
    threshold: float | None,
    xlabel: str,
    title: str,
) -> None:
    for name, values in groups.items():
        if values:
            ax.hist(values, bins=bins, alpha=0.55, label=f"{name} (n={len(values)})")
    if threshold is not None:
        ax.axvline(
            threshold,
            color="black",
            linestyle="--",
            linewidth=1,
            label=f"threshold {threshold:.2f}",
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel("questions")
    ax.set_title(title)
    ax.legend(fontsize=8)


def confidence_plot(
    answered: Sequence[float],
    abstained: Sequence[float],
    correct: Sequence[float],
    wrong: Sequence[float],
    path: Path,
    threshold: float | None = None,
) -> Path:
    """Two histograms of ``Answer.confidence``: answered vs abstained, correct vs wrong."""
    plt = _pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    bins = [i / 20 for i in range(21)]
    _hist(
        a1,
        {"answered": answered, "abstained": abstained},
        bins,
        threshold,
        "confidence",
        "Answered vs abstained",
    )
    _hist(
        a2, {"correct": correct, "wrong": wrong}, bins, threshold, "confidence", "Correct vs wrong"
    )
    return _save(fig, path)


def latency_plot(retrieve_s: Sequence[float], ask_s: Sequence[float], path: Path) -> Path:
    """Histogram of retrieval and answer latencies, in milliseconds."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ms_r = [1000 * v for v in retrieve_s]
    ms_a = [1000 * v for v in ask_s]
    top = max(ms_r + ms_a + [1.0])
    bins = [top * i / 30 for i in range(31)]
    _hist(
        ax,
        {"retrieve (top 10)": ms_r, "ask (end to end)": ms_a},
        bins,
        None,
        "latency (ms)",
        "Latency per question",
    )
    return _save(fig, path)


def threshold_plot(
    thresholds: Sequence[float],
    series: Mapping[str, Sequence[float]],
    path: Path,
    best: float | None = None,
    title: str = "Abstention against the confidence threshold",
) -> Path:
    """Lines of several rates (precision, recall, F1, ...) against the threshold."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, ys in series.items():
        ax.plot(
            list(thresholds), [y if not math.isnan(y) else float("nan") for y in ys], label=name
        )
    if best is not None:
        ax.axvline(best, color="black", linestyle="--", linewidth=1, label=f"chosen {best:.2f}")
    ax.set_xlabel("abstain_threshold")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return _save(fig, path)


def distribution_plot(
    groups: Mapping[str, Sequence[float]],
    path: Path,
    threshold: float | None = None,
    title: str = "Confidence by group",
) -> Path:
    """Overlaid confidence histograms, one per named group, with an optional threshold."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    _hist(ax, groups, [i / 40 for i in range(41)], threshold, "confidence", title)
    return _save(fig, path)
