"""Write a run's outputs: ``metrics.json``, ``predictions.jsonl``, ``report.md`` and the PNGs.

``metrics.json`` is plain JSON: undefined rates (``nan``) are written as ``null``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from eval import plots
from eval.judge import NEWSQA_SCORED
from eval.runner import QuestionRecord

#: The PNG files a run writes, by purpose.
PLOTS = {"hits": "hits_at_k.png", "confidence": "confidence.png", "latency": "latency.png"}
#: Runs with at most this many questions list every question in report.md.
FULL_TABLE_MAX = 60


def clean_json(value: Any) -> Any:
    """``value`` with every ``nan``/``inf`` float replaced by None (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_json(v) for v in value]
    return value


def write_json(path: Path, data: Any) -> Path:
    """Write ``data`` as indented UTF-8 JSON, NaN as null."""
    path.write_text(
        json.dumps(clean_json(data), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return path


def pct(v: Any) -> str:
    """A rate as "81.2%", or "n/a" when undefined."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return f"{100 * float(v):.1f}%"


def num(v: Any, digits: int = 3) -> str:
    """A number with ``digits`` decimals, or "n/a"."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return f"{float(v):.{digits}f}"


def cell(text: Any, limit: int = 160) -> str:
    """Text made safe for a Markdown table cell: one line, pipes escaped, shortened."""
    s = " ".join(str(text).split())
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return s.replace("|", "\\|")


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def shown_answer(r: QuestionRecord) -> str:
    """What the system said, in a few words: the short answer or the first line of text."""
    if r.abstained:
        return f"(abstained, confidence {r.confidence:.2f})"
    if r.short:
        return r.short
    first = r.text.strip().split("\n")[0]
    return re.sub(r"\s*\[\d+\]", "", first)


def worst_failures(records: Sequence[QuestionRecord], n: int = 10) -> list[QuestionRecord]:
    """The ``n`` worst wrong answers: lowest F1 first, then the most confident."""
    wrong = [r for r in records if not r.correct]
    return sorted(wrong, key=lambda r: (r.f1 if r.f1 is not None else 0.0, -r.confidence, r.id))[:n]


def write_plots(
    out: Path,
    records: Sequence[QuestionRecord],
    metrics: Mapping[str, Any],
    threshold: float | None,
) -> dict[str, str]:
    """Draw the run's PNGs into ``out``; returns their file names by purpose."""
    curve = {
        int(k): v
        for k, v in metrics["retrieval"]["hits_curve"].items()
        if v is not None and math.isfinite(v)
    }
    plots.hits_curve_plot({"this run": curve}, out / PLOTS["hits"])
    plots.confidence_plot(
        answered=[r.confidence for r in records if not r.abstained],
        abstained=[r.confidence for r in records if r.abstained],
        correct=[r.confidence for r in records if r.correct],
        wrong=[r.confidence for r in records if not r.correct],
        path=out / PLOTS["confidence"],
        threshold=threshold,
    )
    plots.latency_plot(
        [r.retrieve_s for r in records], [r.ask_s for r in records], out / PLOTS["latency"]
    )
    return dict(PLOTS)


def _summary_lines(m: Mapping[str, Any]) -> list[str]:
    s = m["settings"]
    dist = m.get("distractors")
    corpus = f"{m['articles']} articles" + (
        f" + {dist['count']} BBC News distractors" if dist else ""
    )
    return [
        f"- Data: `{m['data_path']}` (SHA-256 `{m['data_sha256'][:16]}…`)",
        f"- Questions: {m['questions_evaluated']} of {m['questions_total']} "
        f"(limit {m['limit']}, seed {m['seed']}); corpus: {corpus}",
        f"- Model `{m['model_id']}`, commit `{m['git_commit'][:12]}`"
        + (" (uncommitted changes)" if m.get("git_dirty") else ""),
        f"- Settings: retrieval `{s['retrieval']}`, acronym expansion "
        f"{'on' if s['expand_acronyms'] else 'off'}, k={s['k']}, abstain_threshold="
        f"{s['abstain_threshold']}, answer mode `{s['answer_mode']}`",
        f"- Time: index {m['timings']['index_s']:.1f} s, questions "
        f"{m['timings']['questions_s']:.1f} s, total {m['timings']['total_s']:.1f} s",
    ]


#: The scorecard columns of the news-qa tables: (heading, key, formatter).
SCORECARD_COLUMNS: tuple[tuple[str, str, Any], ...] = (
    ("questions", "questions", str),
    ("accuracy", "accuracy", pct),
    ("answerable", "answerable_accuracy", pct),
    ("unanswerable (= abstention recall)", "unanswerable_accuracy", pct),
    ("abstention precision", "abstention_precision", pct),
    ("abstention recall", "abstention_recall", pct),
    ("evidence cited", "evidence_cited", pct),
    ("answer in text", "answer_in_text", pct),
    ("short answer right", "short_answer_right", pct),
    ("answerable wrongly abstained", "wrongly_abstained", str),
)


def _scorecard_section(m: Mapping[str, Any]) -> list[str]:
    """The news-qa README's figures, overall and by the question's ``type``."""

    def row(name: str, v: Mapping[str, Any]) -> list[str]:
        return [cell(name), *(fmt(v[key]) for _, key, fmt in SCORECARD_COLUMNS)]

    groups = m.get("by_category") or {}
    setting = (
        "each question asked of its own article only (`--per-article`)"
        if m.get("per_article")
        else "open: every question searches all the set's articles as one corpus"
    )
    return [
        "## news-qa scoring",
        "",
        f"Setting: {setting}. An answerable question is right when the answer text (short "
        "answer and quoted sentences) contains an accepted answer and a citation of the "
        "question's own article quotes a text containing the evidence span (case, spacing, "
        "quotes and dashes unified); an unanswerable one when the answer abstained. "
        "*Evidence cited* and *answer in text* are the two halves alone; *short answer "
        "right*: a non-empty `Answer.short` contains an accepted answer. Rates other than "
        "accuracy, unanswerable and abstention precision/recall are over answerable questions.",
        "",
        table(
            ["type", *(h for h, _, _ in SCORECARD_COLUMNS)],
            [row("**all**", m["scorecard"]), *(row(g, v) for g, v in groups.items())],
        ),
        "",
    ]


def _generation_section(m: Mapping[str, Any]) -> list[str]:
    """The LLM answerer's figures (``--mode llm``); nothing for an extractive run."""
    g = m.get("generation") or {}
    if not g.get("asked"):
        return []
    s = m["settings"]
    return [
        "## LLM answers",
        "",
        f"Model `{s.get('llm_model', '')}` at `{s.get('llm_base_url', '')}`. "
        "Each sentence of a reply is checked against the sentences of the passage(s) it "
        "cites; markers to nothing or to text that does not support the sentence are "
        "dropped; a reply with no supported sentence falls back to the extractive answer. "
        "*Shown as supported but not*: sentences shown with a citation whose quote does not "
        "support them, or citations that do not quote their article (must be 0).",
        "",
        table(
            [
                "asked",
                "replies checked",
                "generated sentences",
                "supported",
                "markers",
                "markers dropped",
                "fallbacks",
                "server failures",
                "shown as supported but not",
            ],
            [
                [
                    g["asked"],
                    g["replies_checked"],
                    g["sentences"],
                    pct(g["supported_share"]),
                    g["markers"],
                    pct(g["markers_dropped_share"]),
                    f"{g['fallbacks']} ({pct(g['fallback_share'])})",
                    g["server_failures"],
                    g["shown_unsupported"],
                ]
            ],
        ),
        "",
    ]


def render_report(
    m: Mapping[str, Any], records: Sequence[QuestionRecord], plot_files: Mapping[str, str]
) -> str:
    """The Markdown report of a run."""
    r, a, ab, lat = m["retrieval"], m["answers"], m["abstention"], m["latency"]
    out = [f"# Evaluation: {m['name']} ({m['dataset']})", "", *_summary_lines(m), ""]
    out += [
        "## Retrieval",
        "",
        f"Top {10} passages per question; {r['questions']} questions have a defined hit "
        f"({m['hit_rule']}).",
        "",
        table(
            ["Hits@1", "Hits@5", "Hits@10", "MRR@10"],
            [[pct(r["hits@1"]), pct(r["hits@5"]), pct(r["hits@10"]), num(r["mrr@10"])]],
        ),
        "",
        f"![Hits@k curve]({plot_files['hits']})",
        "",
    ]
    out += [
        "## Answers",
        "",
        "Exact match and F1 score `Answer.short`, or the first cited sentence when it is "
        "empty, over answerable questions (an abstention scores 0); the short answer alone "
        "scores `Answer.short` with no fallback (empty or abstained: 0). Supporting sentence: "
        f"{m['support_rule']}. Citation validity: every quote equals "
        "`article_text[start:end]`.",
        "",
        table(
            [
                "questions",
                "answerable",
                "answered",
                "exact match",
                "F1",
                "short answer alone EM",
                "short answer alone F1",
                "supporting sentence",
                "supporting (answered only)",
                "correct (answerable)",
                "correct (all)",
                "citation validity",
            ],
            [
                [
                    a["questions"],
                    a["answerable"],
                    a["answered"],
                    pct(a["exact_match"]),
                    pct(a["f1"]),
                    pct(a["short_exact_match"]),
                    pct(a["short_f1"]),
                    pct(a["supporting_sentence_accuracy"]),
                    pct(a["supporting_sentence_accuracy_answered"]),
                    pct(a["correct_answerable"]),
                    pct(a["correct_all"]),
                    pct(a["citation_validity"]) + f" ({a['invalid_citations']} invalid of "
                    f"{a['citations']})",
                ]
            ],
        ),
        "",
        f"Correct means: {m['correct_rule']}.",
        "",
    ]
    if m["dataset"] in NEWSQA_SCORED:
        out += _scorecard_section(m)
    out += _generation_section(m)
    out += [
        "## Abstention",
        "",
        "Abstaining is the positive class: precision = abstentions on unanswerable "
        "questions / abstentions; recall = unanswerable questions abstained on / "
        "unanswerable questions.",
        "",
        table(
            [
                "precision",
                "recall",
                "F1",
                "abstained",
                "unanswerable",
                "right abstentions",
                "wrong abstentions",
                "missed",
            ],
            [
                [
                    pct(ab["precision"]),
                    pct(ab["recall"]),
                    pct(ab["f1"]),
                    ab["abstained"],
                    ab["unanswerable"],
                    ab["correct"],
                    ab["wrong"],
                    ab["missed"],
                ]
            ],
        ),
        "",
        f"![Confidence distributions]({plot_files['confidence']})",
        "",
    ]
    out += [
        "## Latency",
        "",
        "Seconds per question; `ask` includes its own retrieval.",
        "",
        table(
            ["stage", "p50", "p90", "p95", "p99", "mean"],
            [
                [name, *(num(lat[key][p]) for p in ("p50", "p90", "p95", "p99", "mean"))]
                for name, key in (("retrieve (top 10)", "retrieve_s"), ("ask", "ask_s"))
            ],
        ),
        "",
        f"![Latency histogram]({plot_files['latency']})",
        "",
    ]
    for title, key in (
        ("By category (id prefix)", "by_category"),
        ("By question type", "by_question_type"),
    ):
        groups = m.get(key) or {}
        if key == "by_category" and m["dataset"] in NEWSQA_SCORED:
            continue  # the scorecard section has the by-type table
        if len(groups) > 1:
            out += [
                f"## {title}",
                "",
                table(
                    ["group", "questions", "correct", "abstained", "Hits@1", "F1"],
                    [
                        [
                            cell(g),
                            v["questions"],
                            pct(v["correct"]),
                            v["abstained"],
                            pct(v["hits@1"]),
                            pct(v["f1"]),
                        ]
                        for g, v in groups.items()
                    ],
                ),
                "",
            ]
    fails = worst_failures(records)
    out += [
        "## Worst failures",
        "",
        "Wrong answers, lowest F1 first, then the most confident."
        if fails
        else "No wrong answers.",
        "",
    ]
    if fails:
        out += [
            table(
                ["id", "question", "expected", "got", "cited quote", "conf.", "rank"],
                [
                    [
                        cell(f.id, 40),
                        cell(f.question),
                        cell(f.expected, 80),
                        cell(shown_answer(f), 100),
                        cell(f.quotes[0] if f.quotes else "", 200),
                        f"{f.confidence:.2f}",
                        f.rank if f.rank is not None else "-",
                    ]
                    for f in fails
                ],
            ),
            "",
        ]
    if len(records) <= FULL_TABLE_MAX:
        out += [
            "## Every question",
            "",
            table(
                ["id", "ok", "question", "expected", "got", "conf.", "rank", "type"],
                [
                    [
                        cell(x.id, 40),
                        "yes" if x.correct else "**no**",
                        cell(x.question),
                        cell(x.expected, 80),
                        cell(shown_answer(x), 100),
                        f"{x.confidence:.2f}",
                        x.rank if x.rank is not None else "-",
                        # the data set's label where it has one, then the answerer's kind
                        " / ".join(t for t in (x.category, x.question_type) if t),
                    ]
                    for x in records
                ],
            ),
            "",
        ]
    return "\n".join(out)


def write_run(
    out: Path,
    metrics: Mapping[str, Any],
    records: Sequence[QuestionRecord],
    threshold: float | None,
) -> dict[str, Path]:
    """Write every output of a run into ``out``; returns the paths by name."""
    out.mkdir(parents=True, exist_ok=True)
    plot_files = write_plots(out, records, metrics, threshold)
    paths = {"metrics": write_json(out / "metrics.json", metrics)}
    pred = out / "predictions.jsonl"
    with open(pred, "w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(clean_json(rec.to_dict()), ensure_ascii=False) + "\n")
    paths["predictions"] = pred
    report = out / "report.md"
    report.write_text(render_report(metrics, records, plot_files), encoding="utf-8")
    paths["report"] = report
    paths.update({k: out / v for k, v in plot_files.items()})
    return paths
