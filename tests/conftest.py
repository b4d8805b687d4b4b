"""Shared fixtures: the seed article, the real embedding model (loaded once), temp indexes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "national-post-hajin.txt"
SEED_QUESTION = "How long does the SDF expect the fight to last?"
SEED_SENTENCE = (
    "The Syrian Democratic Forces is preparing for a slog: between two and three "
    "months, according to one senior official with the militia."
)
DATA = ROOT.parent / "shared" / "data"
#: A format-2 index (generation folders) written by the code of 34a007f: the seed article,
#: BBC business/010 and tech/039, and an edited copy of business/010 kept as its copy
#: (tests/data/make_legacy_index.py says how it was made).
LEGACY_INDEX = ROOT / "tests" / "data" / "legacy-format2"
#: What the code that wrote it answered there: question -> (short answer, article id, quote).
LEGACY_ANSWERS = {
    SEED_QUESTION: ("between two and three months", "1e1e9d0c4a9afa93", SEED_SENTENCE),
    "How much did the US government demand from the tobacco companies?": (
        "£155bn",
        "ef9c31ac1d4828c1",
        "The demand for $280bn (£155bn) - filed by the Clinton administration in 1999 - was "
        "rejected in a 2-1 decision.",
    ),
    "Who is the FBI warning about a virus?": (
        "The US Federal Bureau of Investigation",
        "7cf80580d2f9cf33",
        "The US Federal Bureau of Investigation is warning that a computer virus is being "
        "spread via e-mails that purport to be from the FBI.",
    ),
}


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Every test gets its own data folder, so nothing touches the user's index."""
    d = tmp_path_factory.mktemp("qa-data")
    monkeypatch.setenv("QA_DATA_DIR", str(d))
    monkeypatch.delenv("QA_INDEX", raising=False)
    yield d


@pytest.fixture(scope="session")
def model():
    """The bundled all-MiniLM-L6-v2, loaded once per test session."""
    from embeddings import load_model

    return load_model()


@pytest.fixture(scope="session")
def seed_article():
    """The seed article, parsed."""
    from qa.articles import read_file

    return read_file(SEED)[0]


@pytest.fixture(scope="session")
def seed_index_dir(tmp_path_factory: pytest.TempPathFactory, model, seed_article) -> Path:
    """A saved index of the seed article (built once; copy it before changing it)."""
    from qa.index import ArticleIndex

    path = tmp_path_factory.mktemp("seed-index")
    idx = ArticleIndex.create(path, model_id=model.model_id, dimension=model.dimension)
    idx.add([seed_article], model)
    return path


@pytest.fixture()
def seed_engine(seed_index_dir: Path, tmp_path: Path, model):
    """A QA engine over a private copy of the seed index."""
    import shutil

    from qa.engine import QA
    from qa.settings import Settings

    path = tmp_path / "index"
    shutil.copytree(seed_index_dir, path)
    return QA(Settings(data_dir=tmp_path, index_dir=path))


@pytest.fixture(scope="session")
def bbc_articles():
    """Thirty BBC News articles as distractors (skipped when the shared data is absent)."""
    from qa.articles import load_paths

    folder = DATA / "bbc-news"
    if not folder.is_dir():
        pytest.skip(f"{folder} not available")
    files = sorted(folder.glob("*/0[0-9]*.txt"))[::25][:30]
    return load_paths(files).articles


@pytest.fixture()
def legacy_index(tmp_path: Path) -> Path:
    """A private copy of the format-2 index in tests/data (opening it converts it)."""
    import shutil

    path = tmp_path / "legacy-index"
    shutil.copytree(LEGACY_INDEX, path)
    return path
