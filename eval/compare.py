"""Compare two runs: the differences between two ``metrics.json`` files as a table.

Example:
    $ python -m eval --compare runs/squad-a runs/squad-b
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The sections of metrics.json whose numbers are compared, in table order.
SECTIONS = ("retrieval", "answers", "abstention", "scorecard", "generation", "latency")
#: Metrics (last name part) where lower is better; every latency is too.
LOWER_IS_BETTER = frozenset(
    {
        "invalid_citations",
        "wrong",
        "missed",
        "wrongly_abstained",
        # the LLM answerer's (section "generation")
        "markers_dropped_share",
        "fallbacks",
        "fallback_share",
        "server_failures",
        "shown_unsupported",
    }
)
#: Counts that describe the run rather than its quality.
NEUTRAL = frozenset(
    {
        "questions",
        "answerable",
        "total",
        "unanswerable",
        "citations",
        "answered",
        "abstained",
        "asked",
        "replies_checked",
        "sentences",
        "markers",
    }
)


@dataclass(frozen=True)
class Row:
    """One compared metric."""

    metric: str
    a: float | None
    b: float | None

    @property
    def delta(self) -> float | None:
        """``b - a``, or None when either is undefined."""
        if self.a is None or self.b is None:
            return None
        return self.b - self.a

    @property
    def verdict(self) -> str:
        """ "better", "worse" or "" (unchanged, neutral or undefined)."""
        d = self.delta
        last = self.metric.rsplit(".", 1)[-1]
        if d is None or abs(d) < 1e-12 or last in NEUTRAL:
            return ""
        lower = self.metric.startswith("latency.") or last in LOWER_IS_BETTER
        return "better" if (d < 0) == lower else "worse"


def load_metrics(path: str | Path) -> dict[str, Any]:
    """Read a ``metrics.json`` (or the one inside a run folder).

    Raises:
        FileNotFoundError: No such file or folder, or the folder holds no metrics.json.
        ValueError: The file is not a metrics.json written by ``python -m eval``.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "metrics.json"
    if not p.is_file():
        raise FileNotFoundError(f"no metrics file at {p}; pass a run folder or its metrics.json")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{p} is not valid JSON: {e.msg} (line {e.lineno})") from e
    if not isinstance(data, dict) or not any(s in data for s in SECTIONS):
        raise ValueError(
            f"{p} is not a metrics.json written by `python -m eval` (it has none "
            f"of the sections {', '.join(SECTIONS)})"
        )
    return data


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if k == "hits_curve":
            continue  # hits@1/5/10 are already listed
        if isinstance(v, Mapping):
            out.update(_flatten(v, key + "."))
        elif isinstance(v, bool):
            continue
        elif isinstance(v, (int, float)):
            out[key] = float(v) if math.isfinite(float(v)) else None
        elif v is None:
            out[key] = None
    return out


def compare(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[Row]:
    """One row per numeric metric present in either run, in metrics.json order."""
    fa = {k: v for s in SECTIONS for k, v in _flatten(a.get(s, {}), s + ".").items()}
    fb = {k: v for s in SECTIONS for k, v in _flatten(b.get(s, {}), s + ".").items()}
    keys = list(dict.fromkeys([*fa, *fb]))
    return [Row(k, fa.get(k), fb.get(k)) for k in keys]


def context_differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """Differences in what was run: data, sample, model, commit and settings."""
    keys = [
        "dataset",
        "name",
        "data_sha256",
        "questions_evaluated",
        "limit",
        "seed",
        "articles",
        "model_id",
        "git_commit",
    ]
    out = [(k, a.get(k), b.get(k)) for k in keys if a.get(k) != b.get(k)]
    da, db = a.get("distractors") or {}, b.get("distractors") or {}
    if da.get("count") != db.get("count"):
        out.append(("distractors", da.get("count", 0), db.get("count", 0)))
    sa, sb = a.get("settings") or {}, b.get("settings") or {}
    for k in dict.fromkeys([*sa, *sb]):
        if k in ("data_dir", "index_dir"):
            continue  # temporary folders differ every run
        if sa.get(k) != sb.get(k):
            out.append((f"settings.{k}", sa.get(k), sb.get(k)))
    return out


def _fmt(v: float | None, metric: str) -> str:
    if v is None:
        return "n/a"
    if metric.startswith("latency."):
        return f"{1000 * v:.1f} ms"
    if v.is_integer() and abs(v) >= 1:
        return str(int(v))
    return f"{v:.4f}"


def _fmt_delta(d: float | None, metric: str) -> str:
    if d is None:
        return ""
    if metric.startswith("latency."):
        return f"{1000 * d:+.1f} ms"
    if d.is_integer():
        return f"{int(d):+d}"
    return f"{d:+.4f}"


def render(
    a: Mapping[str, Any],
    b: Mapping[str, Any],
    label_a: str = "A",
    label_b: str = "B",
    only_changed: bool = False,
) -> str:
    """A plain-text (Markdown) table of the differences between two runs."""
    rows = compare(a, b)
    if only_changed:
        rows = [r for r in rows if r.delta != 0 or (r.a is None) != (r.b is None)]
    lines = [f"A: {label_a}", f"B: {label_b}", ""]
    ctx = context_differences(a, b)
    if ctx:
        lines += ["What differs between the runs:", ""]
        lines += [f"- {k}: {va!r} -> {vb!r}" for k, va, vb in ctx]
        lines.append("")
    header = ["metric", "A", "B", "B - A", ""]
    body = [
        [
            r.metric,
            _fmt(r.a, r.metric),
            _fmt(r.b, r.metric),
            _fmt_delta(r.delta, r.metric),
            r.verdict,
        ]
        for r in rows
    ]
    widths = [max(len(str(x[i])) for x in [header, *body]) for i in range(len(header))]

    def fmt_row(xs: Sequence[Any]) -> str:
        cells = (str(x).ljust(w) for x, w in zip(xs, widths, strict=True))
        return "| " + " | ".join(cells) + " |"

    lines += [fmt_row(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += [fmt_row(x) for x in body]
    return "\n".join(lines)


def compare_files(
    path_a: str | Path, path_b: str | Path, *, as_json: bool = False, only_changed: bool = False
) -> str:
    """Load two metrics files and render their differences (or JSON rows)."""
    a, b = load_metrics(path_a), load_metrics(path_b)
    if as_json:
        return json.dumps(
            {
                "a": str(path_a),
                "b": str(path_b),
                "context": [
                    {"field": k, "a": va, "b": vb} for k, va, vb in context_differences(a, b)
                ],
                "metrics": [
                    {"metric": r.metric, "a": r.a, "b": r.b, "delta": r.delta, "verdict": r.verdict}
                    for r in compare(a, b)
                ],
            },
            indent=2,
        )
    return render(a, b, str(path_a), str(path_b), only_changed=only_changed)
