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
SEED_SENTENCE = ("The Syrian Democratic Forces is preparing for a slog: between two and three "
                 "months, according to one senior official with the militia.")
DATA = ROOT.parent / "shared" / "data"


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
