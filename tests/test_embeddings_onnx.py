"""The onnx backend: exported locally, same vector space and rankings as torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="onnxruntime and onnx (dependencies) are not installed")
pytest.importorskip("onnx", reason="onnxruntime and onnx (dependencies) are not installed")

SENTENCES = [
    "The Syrian Democratic Forces is preparing for a slog: between two and three months, "
    "according to one senior official with the militia.",
    "The central bank raised interest rates by a quarter of a percentage point on Thursday.",
    "The striker scored twice in the second half to win the cup final.",
    "Apple unveiled a new laptop with a faster chip and a longer battery life.",
    "Heavy rain flooded hundreds of homes along the river overnight.",
    "The film won the award for best picture at the ceremony in Los Angeles.",
]
QUESTIONS = [  # (question, index of the sentence that answers it)
    ("How long does the SDF expect the fight to last?", 0),
    ("What did the central bank do to interest rates?", 1),
    ("Who won the cup final?", 2),
    ("What did Apple announce?", 3),
    ("What caused the flooding of homes?", 4),
    ("Which film won best picture?", 5),
]


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One export per test session (about 20 s on two cores)."""
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="session")
def torch_model():
    """The torch fp32 backend (the shared ``model`` fixture is the default backend, onnx)."""
    from embeddings import load_model

    return load_model(backend="torch")


@pytest.fixture(scope="session")
def onnx_model(onnx_cache: Path):
    from embeddings import resolve_model_path
    from embeddings.onnx_backend import OnnxModel

    return OnnxModel(resolve_model_path("all-MiniLM-L6-v2"), model_id="all-MiniLM-L6-v2",
                     cache_dir=onnx_cache)


def test_same_model_id_and_shape(onnx_model, torch_model) -> None:
    assert onnx_model.model_id == torch_model.model_id == "all-MiniLM-L6-v2"
    assert onnx_model.dimension == torch_model.dimension == 384
    assert onnx_model.max_tokens == torch_model.max_tokens == 256
    v = onnx_model.encode(SENTENCES)
    assert v.shape == (len(SENTENCES), 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert onnx_model.encode([]).shape == (0, 384)


def test_vectors_match_torch(onnx_model, torch_model) -> None:
    texts = SENTENCES + [q for q, _ in QUESTIONS]
    cos = (onnx_model.encode(texts) * torch_model.encode(texts)).sum(axis=1)
    assert cos.min() > 0.98, cos


def test_same_top1_as_torch(onnx_model, torch_model) -> None:
    docs_t = torch_model.encode_documents(SENTENCES)
    docs_o = onnx_model.encode_documents(SENTENCES)
    for question, gold in QUESTIONS:
        top_t = int(np.argmax(docs_t @ torch_model.encode_queries([question])[0]))
        top_o = int(np.argmax(docs_o @ onnx_model.encode_queries([question])[0]))
        # an index built with torch is searchable with onnx queries
        top_mixed = int(np.argmax(docs_t @ onnx_model.encode_queries([question])[0]))
        assert top_t == top_o == top_mixed == gold, question


def test_batching_and_truncation_do_not_change_vectors(onnx_model) -> None:
    long_text = "word " * 1000  # past the 256-token window: truncated, not an error
    texts = [*SENTENCES, long_text]
    one_batch = onnx_model.encode(texts, batch_size=64)
    small_batches = onnx_model.encode(texts, batch_size=2)
    # dynamic quantisation scales activations per batch, so a text's vector moves slightly
    # with its batch-mates; it must stay the same point for retrieval purposes
    cos = (one_batch * small_batches).sum(axis=1)
    assert cos.min() > 0.99, cos
    assert np.isfinite(one_batch).all()


def test_second_load_reuses_the_export(onnx_model, onnx_cache: Path) -> None:
    from embeddings import resolve_model_path
    from embeddings.onnx_backend import OnnxModel

    mtime = onnx_model.file.stat().st_mtime_ns
    again = OnnxModel(resolve_model_path("all-MiniLM-L6-v2"), model_id="all-MiniLM-L6-v2",
                      cache_dir=onnx_cache)
    assert again.file == onnx_model.file and again.file.stat().st_mtime_ns == mtime
    assert again.file.is_relative_to(onnx_cache)
    assert (again.folder / "tokenizer.json").is_file()
    assert not list(again.folder.glob("*.safetensors"))  # weights are not copied


def test_bad_quantization_lists_valid_values(onnx_cache: Path) -> None:
    from embeddings import resolve_model_path
    from embeddings.onnx_backend import OnnxModel

    with pytest.raises(ValueError, match="avx512_vnni"):
        OnnxModel(resolve_model_path("all-MiniLM-L6-v2"), model_id="x", cache_dir=onnx_cache,
                  quantization="int4")  # type: ignore[arg-type]


def test_cpu_quantization_is_a_preset() -> None:
    from embeddings.onnx_backend import QUANTIZATIONS, cpu_quantization

    assert cpu_quantization() in QUANTIZATIONS
