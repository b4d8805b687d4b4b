"""Reading index folders of formats 1 and 2 (one generation folder per write, everything
loaded in memory), so that :mod:`qa.index` can convert them to format 3 on first open
without embedding anything again.

Layout of those folders: ``CURRENT`` names the live ``gen-NNNNNN/`` folder, which holds
``manifest.json`` (with the size of every file), ``articles.jsonl``, ``chunks.jsonl``,
``sentences.npy``, ``chunk_sentences.npy`` and ``chunk_sentence_offsets.npy``,
``chunk_vectors.npy``, ``sentence_vectors.npy``, the FAISS and bm25s indexes (not needed
here), ``entities.npy``, ``entity_offsets.npy``, ``entity_strings.json``, ``furniture.npy``
(format 2) and ``copies.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qa.articles import Article
from qa.chunking import Chunk
from qa.duplicates import Copy
from qa.errors import IndexCorruptError

CURRENT = "CURRENT"
READ_FORMATS = (1, 2)


@dataclass
class LegacyIndex:
    """The contents of a format 1 or 2 index (see the module docstring).

    ``entities`` and ``furniture`` are None for format 1 (computed when converting).
    """

    manifest: dict[str, Any]
    articles: list[Article]
    chunks: list[Chunk]
    sentences: np.ndarray
    chunk_sent_flat: np.ndarray
    chunk_sent_offsets: np.ndarray
    chunk_vectors: np.ndarray
    sentence_vectors: np.ndarray
    entity_table: np.ndarray | None = None
    entity_offsets: np.ndarray | None = None
    entity_strings: list[str] = field(default_factory=lambda: [""])
    furniture: np.ndarray | None = None
    copies: list[Copy] = field(default_factory=list)
    apart: list[tuple[str, str]] = field(default_factory=list)


def is_legacy(path: Path) -> bool:
    """Whether the folder holds an index in format 1 or 2."""
    return (path / CURRENT).is_file()


def load_legacy(path: Path) -> LegacyIndex:
    """Read the live generation of a format 1 or 2 index folder.

    Raises:
        IndexCorruptError: A file is missing, truncated or unreadable.
    """
    name = (path / CURRENT).read_text().strip()
    gen = path / name
    try:
        manifest = json.loads((gen / "manifest.json").read_text())
    except (OSError, ValueError) as e:
        raise IndexCorruptError(
            f"{gen / 'manifest.json'} cannot be read ({e}); delete {path} and ingest again"
        ) from e
    version = manifest.get("format_version")
    if version not in READ_FORMATS:
        raise IndexCorruptError(
            f"{path} has index format {version}; delete {path} and ingest the articles again"
        )
    for fname, size in manifest.get("files", {}).items():
        f = gen / fname
        if not f.exists() or f.stat().st_size != size:
            got = f.stat().st_size if f.exists() else "missing"
            raise IndexCorruptError(
                f"{f} is damaged (expected {size} bytes, found {got}); the index was "
                f"half-written by another program. Delete {path} and ingest again"
            )
    try:
        out = LegacyIndex(
            manifest=manifest,
            articles=[
                Article.from_dict(json.loads(x))
                for x in (gen / "articles.jsonl").read_text("utf-8").splitlines()
                if x
            ],
            chunks=[
                Chunk.from_dict(json.loads(x))
                for x in (gen / "chunks.jsonl").read_text("utf-8").splitlines()
                if x
            ],
            sentences=np.load(gen / "sentences.npy"),
            chunk_sent_flat=np.load(gen / "chunk_sentences.npy"),
            chunk_sent_offsets=np.load(gen / "chunk_sentence_offsets.npy"),
            chunk_vectors=np.load(gen / "chunk_vectors.npy"),
            sentence_vectors=np.load(gen / "sentence_vectors.npy"),
        )
        if (gen / "copies.json").exists():
            doc = json.loads((gen / "copies.json").read_text("utf-8"))
            out.copies = [Copy.from_dict(d) for d in doc.get("copies", [])]
            out.apart = [(str(a), str(b)) for a, b in doc.get("apart", [])]
        if version >= 2:
            out.entity_table = np.load(gen / "entities.npy")
            out.entity_offsets = np.load(gen / "entity_offsets.npy")
            out.entity_strings = json.loads((gen / "entity_strings.json").read_text("utf-8"))
            out.furniture = np.load(gen / "furniture.npy")
    except (OSError, ValueError, KeyError) as e:
        raise IndexCorruptError(
            f"{gen} cannot be loaded ({e}); delete {path} and ingest again"
        ) from e
    n = len(out.sentences)
    if len(out.chunk_vectors) != len(out.chunks) or len(out.sentence_vectors) != n:
        raise IndexCorruptError(
            f"{gen}: vectors and rows do not match; delete {path} and ingest again"
        )
    return out


def remove_legacy(path: Path) -> None:
    """Remove the generation folders and ``CURRENT`` of a converted index."""
    import shutil

    (path / CURRENT).unlink(missing_ok=True)
    for old in [*path.glob("gen-*"), *path.glob(".gen-*.tmp"), path / ".CURRENT.tmp"]:
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        elif old.exists():
            old.unlink()
