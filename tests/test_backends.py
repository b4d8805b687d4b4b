"""The embedding backends: onnx int8 is the default, torch stays available, an index built
with one is searched with the other, and the onnx export is offline, logged and deterministic."""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEED_QUESTION, SEED_SENTENCE


def _digests(folder: Path) -> dict[str, str]:
    return {
        f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(folder.rglob("*.onnx"))
    }


def test_onnx_is_the_default_and_torch_can_be_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    from embeddings import load_model
    from embeddings.factory import DEFAULT_BACKEND
    from embeddings.onnx_backend import OnnxModel
    from embeddings.sentence_transformers_backend import SentenceTransformerModel
    from qa.settings import Settings

    monkeypatch.delenv("QA_BACKEND", raising=False)
    assert Settings().backend == Settings.from_env().backend == DEFAULT_BACKEND == "onnx"
    assert isinstance(load_model(), OnnxModel)
    monkeypatch.setenv("QA_BACKEND", "torch")
    assert Settings.from_env().backend == "torch"
    torch_model = load_model(backend="torch")
    assert isinstance(torch_model, SentenceTransformerModel)
    # one model id for both: an index does not record which backend wrote its vectors
    assert torch_model.model_id == load_model().model_id == "all-MiniLM-L6-v2"


@pytest.mark.parametrize(("built_with", "asked_with"), [("torch", "onnx"), ("onnx", "torch")])
def test_an_index_built_with_one_backend_answers_with_the_other(
    built_with: str, asked_with: str, tmp_path: Path, seed_article, bbc_articles
) -> None:
    from qa.engine import QA
    from qa.settings import Settings

    index = tmp_path / "index"
    builder = QA(Settings(data_dir=tmp_path, index_dir=index, backend=built_with))  # type: ignore[arg-type]
    builder.add_articles([seed_article, *bbc_articles[:10]])

    asker = QA(Settings(data_dir=tmp_path, index_dir=index, backend=asked_with))  # type: ignore[arg-type]
    answer = asker.ask(SEED_QUESTION)
    assert not answer.abstained
    assert answer.citations[0].quote == SEED_SENTENCE
    assert answer.short == "between two and three months"
    # articles added with the other backend sit in the same index and are found too
    extra = bbc_articles[10]
    asker.add_articles([extra])
    top = asker.retrieve(extra.title, k=3)
    assert extra.id in {p.article_id for p in top}
    assert asker.retrieve(SEED_QUESTION, k=1)[0].article_id == seed_article.id


def test_export_is_offline_logged_and_deterministic(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Two exports, one in this process and one by ``python -m embeddings.onnx_backend`` (what
    ``./run`` calls), with the network off: the same bytes, each announced before it starts."""
    from embeddings import resolve_model_path
    from embeddings.onnx_backend import OnnxModel

    src = resolve_model_path("all-MiniLM-L6-v2")
    with caplog.at_level(logging.WARNING, logger="embeddings.onnx_backend"):
        here = OnnxModel(src, model_id="all-MiniLM-L6-v2", cache_dir=tmp_path / "a")
    exports = [r for r in caplog.records if "exporting" in r.getMessage()]
    assert len(exports) == 1 and str(here.file) in exports[0].getMessage()

    env = {
        **os.environ,
        "XDG_CACHE_HOME": str(tmp_path / "xdg"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        # any attempt to reach the network fails at once
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
    }
    run = subprocess.run(
        [sys.executable, "-m", "embeddings.onnx_backend"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    there = Path(run.stdout.strip().splitlines()[-1])
    assert there.is_file() and there.is_relative_to(tmp_path / "xdg" / "article-qa" / "models")
    assert "exporting" in run.stderr
    assert there.name == here.file.name
    assert _digests(there.parent) == _digests(here.file.parent)
    assert len(_digests(here.file.parent)) == 2  # the fused fp32 graph and the int8 one

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="embeddings.onnx_backend"):
        again = OnnxModel(src, model_id="all-MiniLM-L6-v2", cache_dir=tmp_path / "a")
    assert again.file == here.file
    assert not [r for r in caplog.records if "exporting" in r.getMessage()]
