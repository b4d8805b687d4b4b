"""Which articles train the answer stage's models, which validate them, which only measure.

One place for the splits, so that the training scripts (``eval/train_ranker.py``) and the
evaluation (``qa eval squad --split heldout``) agree on them. Whole articles go to one side:

* SQuAD v1.1 dev, even split (24 articles, in file order): every fourth article from the
  fourth on (positions 3, 7, ..., 23) is **held out**, a measuring set no model sees; positions
  1, 9 and 17 are the **dev** articles that validate training (and fit the learned
  combination); the other 15 **train**.
* bbc-qa (200 BBC articles): an article whose path's SHA-256 is 0 modulo 5 is **dev** (about
  a fifth), the rest **train**. bbc-qa has no held-out part: ``news-qa`` and SQuAD's held-out
  articles measure.
* The team's own reader questions over other BBC articles (``eval/data/bbc-qa-extra.jsonl``,
  made the same way, checked by ``python -m eval.check_questions``) are split by the same rule
  and read beside bbc-qa's (:func:`bbc_question_rows`).
* ``news-qa`` and RealTime QA are never trained on.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from eval.datasets import DEFAULT_DATA_DIR

Split = Literal["train", "dev", "heldout"]
SQUAD_DEV_POSITIONS = frozenset({1, 9, 17})
#: bbc-qa's questions, then the team's own over other BBC articles (same format).
BBC_QUESTION_FILES: tuple[Path, ...] = (
    DEFAULT_DATA_DIR / "bbc-qa" / "questions.jsonl",
    Path(__file__).resolve().parent / "data" / "bbc-qa-extra.jsonl",
)


def squad_split(position: int) -> Split:
    """The split of the SQuAD even-split article at ``position`` (0-based, file order)."""
    if position % 4 == 3:
        return "heldout"
    return "dev" if position in SQUAD_DEV_POSITIONS else "train"


def bbc_split(article_path: str) -> Split:
    """The split of a bbc-qa article, named by its path under ``bbc-news/`` ("tech/001.txt")."""
    digest = hashlib.sha256(article_path.encode("utf-8")).hexdigest()
    return "dev" if int(digest, 16) % 5 == 0 else "train"


def bbc_question_rows(files: tuple[Path, ...] = BBC_QUESTION_FILES) -> list[dict[str, Any]]:
    """Every BBC reader question the answer stage trains and validates on: the lines of
    ``files`` (bbc-qa's ``questions.jsonl``, then ``eval/data/bbc-qa-extra.jsonl`` when
    present), each a dict with bbc-qa's fields (``id``, ``article``, ``question``,
    ``answers``, ``evidence``, ``type``). Split them with :func:`bbc_split`."""
    rows: list[dict[str, Any]] = []
    for i, path in enumerate(files):
        if i and not path.is_file():
            continue  # the additions are optional; bbc-qa itself is not
        with path.open(encoding="utf-8") as f:
            rows += [json.loads(line) for line in f if line.strip()]
    return rows
