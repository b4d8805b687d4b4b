"""Near-duplicate groups among the shared articles, as ingest finds them (qa.duplicates).

Usage::

    python -m eval.duplicates [--data DIR] [--show N] [--out FILE.json]

Reads every BBC News article (``bbc-news/``, 2,225 files) and every distinct RealTime QA
search-result article (``realtimeqa/*_gcs.jsonl``, both weeks), runs the grouping ingest
runs (:func:`qa.duplicates.group_copies`: MinHash LSH, then the exact shingle check) over
each collection, and prints how many groups and copies it finds, how the copies' Jaccard
overlaps are spread, how long detection takes per 1,000 articles, and the first groups
(headline, outlet or file, similarity). ``python -m eval.bench`` runs the same section.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval.datasets import DEFAULT_DATA_DIR, load_bbc, load_realtimeqa


def _articles(data: Path) -> dict[str, list[Any]]:
    from qa.articles import make_article

    sets: dict[str, list[Any]] = {}
    if (data / "bbc-news").is_dir():
        sets["BBC News"] = [
            make_article(a.text, title=a.title, source=a.source, url=a.url, article_id=a.id)
            for a in load_bbc(data / "bbc-news")
        ]
    weeks = sorted((data / "realtimeqa").glob("*_qa.jsonl"))
    if weeks:
        seen: set[str] = set()
        rtqa = []
        for w in weeks:
            for a in load_realtimeqa(w).articles:
                if a.id not in seen:
                    seen.add(a.id)
                    rtqa.append(
                        make_article(
                            a.text, title=a.title, source=a.source, url=a.url, article_id=a.id
                        )
                    )
        sets["RealTime QA"] = rtqa
    return sets


def measure(data: Path = DEFAULT_DATA_DIR, show: int = 5) -> dict[str, Any]:
    """Group each shared collection and print what was found; returns the figures.

    Args:
        data: The shared data folder.
        show: Groups printed per collection.

    Returns:
        Per collection: articles, groups, copies, seconds, ms per 1,000 articles, the
        Jaccard overlaps of the copies and the groups (ids, titles, similarities).
    """
    from qa.duplicates import group_copies

    out: dict[str, Any] = {}
    for name, articles in _articles(data).items():
        t0 = time.perf_counter()
        groups = group_copies(articles)
        dt = time.perf_counter() - t0
        by_id = {a.id: a for a in articles}
        sims = sorted(c.similarity for cs in groups.values() for c in cs)
        n_copies = len(sims)
        per_k = dt / max(1, len(articles)) * 1000
        exact = sum(1 for s in sims if s >= 0.999)
        print(
            f"{name}: {len(articles):,} articles, {len(groups)} near-duplicate groups, "
            f"{n_copies} copies not indexed ({exact} with identical shingles, "
            f"{n_copies - exact} near: Jaccard {sims[0] if sims else 0:.2f}-"
            f"{max((s for s in sims if s < 0.999), default=0):.2f}); "
            f"detection {dt:.1f} s, {per_k:.2f} s per 1,000 articles"
        )
        listed: list[dict[str, Any]] = []
        for kept, copies in groups.items():
            a = by_id[kept]
            listed.append(
                {
                    "kept": {"id": a.id, "title": a.title, "source": a.source, "url": a.url},
                    "copies": [c.ref().to_dict() for c in copies],
                }
            )
        # the least similar copies first: they show what "near" means here
        for g in sorted(listed, key=lambda g: min(c["similarity"] for c in g["copies"]))[:show]:
            k = g["kept"]
            print(f"  {k['title'][:60]!r} ({k['source'] or k['id']})")
            for c in g["copies"]:
                print(
                    f"    copy {c['title'][:56]!r} ({c['source'] or c['article_id']}), "
                    f"similarity {c['similarity']:.2f}"
                )
        out[name] = {
            "articles": len(articles),
            "groups": len(groups),
            "copies": n_copies,
            "identical": exact,
            "seconds": round(dt, 2),
            "seconds_per_1000": round(per_k, 3),
            "similarities": [round(s, 3) for s in sims],
            "listed": listed,
        }
    if not out:
        print(f"no shared articles under {data} (bbc-news/, realtimeqa/)")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the measurement; returns the exit code."""
    p = argparse.ArgumentParser(prog="python -m eval.duplicates", description=__doc__)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR, metavar="DIR")
    p.add_argument("--show", type=int, default=5, metavar="N", help="groups printed per set")
    p.add_argument("--out", type=Path, default=None, metavar="FILE.json")
    args = p.parse_args(argv)
    got = measure(args.data, args.show)
    if args.out:
        args.out.write_text(json.dumps(got, indent=2, ensure_ascii=False))
    return 0 if got else 1


if __name__ == "__main__":
    raise SystemExit(main())
