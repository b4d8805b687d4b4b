"""The default backend: the same sentence-transformers model run by ONNX Runtime, int8.

The bundled (or given) model folder is exported to ONNX locally, its graph is fused
(attention, GELU, skip-layer-norm) and its weights are quantised to int8 with ONNX Runtime's
dynamic quantisation; nothing is downloaded. ``./run`` makes the export when it installs the
project (``python -m embeddings.onnx_backend``); otherwise the first process that needs it
does, saying so in a log line (about 10 s on 2 cores). The export is deterministic: the same
installed model, packages and CPU preset give the same bytes. The result is cached in
``cache_dir`` (default :func:`default_cache_dir`) in the folder layout sentence-transformers
uses (``onnx/model.onnx`` and ``onnx/model_<dtype>_<config>.onnx`` beside the tokenizer and
module files), so later processes only load it (about 0.3 s).

The vectors live in the same space as the torch backend's (cosine > 0.98 per text on news
prose; see ``tests/test_embeddings_onnx.py``), so the model id is unchanged: an index built
with torch is searchable with onnx queries and the other way round.

Why not ``SentenceTransformer(path, backend="onnx")``: that path needs ``optimum-onnx``,
whose only release pins ``transformers<4.58`` while sentence-transformers 6 needs
``transformers>=5``; installing it would downgrade transformers under the torch backend. This
module needs only ``onnxruntime`` and ``onnx`` (the ``onnx`` extra) and reproduces the
export and the quantisation presets of
``sentence_transformers.backend.export_dynamic_quantized_onnx_model``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import inspect
import json
import logging
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from embeddings.base import EmbeddingModel

log = logging.getLogger(__name__)
SMALL_BATCH = 4  # up to this many texts (queries) run on the one-thread session

Quantization = Literal["auto", "avx2", "avx512", "avx512_vnni", "arm64", "none"]
QUANTIZATIONS: tuple[str, ...] = ("auto", "avx2", "avx512", "avx512_vnni", "arm64", "none")
#: Bump when the export recipe changes, so that stale cached exports are not reused.
RECIPE_VERSION = 1
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".h5", ".msgpack", ".onnx")
_SKIP_FILES = {"README.md", ".gitattributes"}
_INSTALL_HINT = (
    "the onnx backend needs onnxruntime and onnx (dependencies of article-qa: reinstall it "
    "with ./run setup or pip install -e .), or use --backend torch"
)


def cpu_quantization() -> str:
    """The dynamic-quantisation preset for this CPU, read from ``/proc/cpuinfo``.

    ``avx512_vnni`` and ``avx512`` quantise weights to signed int8; ``avx2`` to unsigned int8,
    because signed weights can saturate AVX2's ``VPMADDUBSW`` (the presets of optimum's
    ``AutoQuantizationConfig``). ARM machines get ``arm64``.
    """
    if platform.machine().lower() in ("aarch64", "arm64"):
        return "arm64"
    flags: set[str] = set()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    if "avx512_vnni" in flags or "avx512vnni" in flags:
        return "avx512_vnni"
    if "avx512f" in flags and "avx512bw" in flags:
        return "avx512"
    return "avx2"


def _quantized_file_name(preset: str) -> str:
    # the names sentence-transformers gives the same presets
    dtype = "quint8" if preset == "avx2" else "qint8"
    return f"model_{dtype}_{preset}.onnx"


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/article-qa/models`` (``~/.cache/article-qa/models``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "article-qa" / "models"


class OnnxModel(EmbeddingModel):
    """A sentence-transformers model run by ONNX Runtime on the CPU, int8 by default.

    Args:
        path: A local sentence-transformers model folder (``modules.json``, ``tokenizer.json``,
            ``config.json`` and the weights), e.g. the bundled all-MiniLM-L6-v2.
        model_id: The id stored in index manifests: the same as the torch backend's, since
            the vectors are interchangeable.
        cache_dir: Where the exported model is kept (default :func:`default_cache_dir`).
        quantization: ``auto`` (the preset for this CPU, see :func:`cpu_quantization`), a
            preset name, or ``none`` for the fused fp32 graph.
        threads: ONNX Runtime intra-op threads; ``None`` lets it use every physical core.

    Raises:
        ImportError: onnxruntime is not installed (the message says how to install it).
        ValueError: ``quantization`` is not one of :data:`QUANTIZATIONS`, or the model folder
            is not a sentence-transformers folder with mean or CLS pooling.

    Example:
        >>> from embeddings import load_model
        >>> m = load_model("all-MiniLM-L6-v2", backend="onnx")  # doctest: +SKIP
        >>> m.encode_queries(["Who leads the SDF?"]).shape  # doctest: +SKIP
        (1, 384)
    """

    def __init__(
        self,
        path: str,
        model_id: str,
        cache_dir: str | os.PathLike[str] | None = None,
        *,
        quantization: Quantization = "auto",
        threads: int | None = None,
    ) -> None:
        if quantization not in QUANTIZATIONS:
            raise ValueError(
                f"unknown quantization {quantization!r}; choose one of {', '.join(QUANTIZATIONS)}"
            )
        try:
            import onnxruntime as ort
        except ImportError as e:
            raise ImportError(_INSTALL_HINT) from e
        from tokenizers import Tokenizer

        src = Path(path)
        if not (src / "config.json").is_file():
            raise ValueError(
                f"{src} is not a local model folder (no config.json); the onnx "
                "backend exports local sentence-transformers folders only"
            )
        self.model_id = model_id
        self.quantization = cpu_quantization() if quantization == "auto" else quantization
        self.folder = _export_folder(src, model_id, Path(cache_dir or default_cache_dir()))
        self.file = (
            self.folder
            / "onnx"
            / (
                "model.onnx"
                if self.quantization == "none"
                else _quantized_file_name(self.quantization)
            )
        )
        if not self.file.is_file():
            _export(src, self.folder, self.quantization)

        self.max_tokens = _max_seq_length(src)
        self._pooling = _pooling_mode(src)
        cfg = json.loads((src / "config.json").read_text())
        self.dimension = int(cfg["hidden_size"])

        tok = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        # the shipped tokenizer.json pads and truncates to a fixed 128; sentence-transformers
        # truncates at max_seq_length (256) and pads to the longest text of a batch
        tok.enable_truncation(max_length=self.max_tokens)
        pad_id = tok.token_to_id("[PAD]")
        tok.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token="[PAD]")
        self._tokenizer = tok

        # Two sessions over the same file: batches (ingest) on every core, and queries on one
        # thread. A multi-threaded pool spins between runs and around the numpy and FAISS
        # work of a search, which costs more than a second core gains on one short query
        # (the torch backend does the same).
        self._session = self._new_session(ort, threads)
        self._query_session = self._session if threads == 1 else self._new_session(ort, 1)
        self._inputs = {i.name for i in self._session.get_inputs()}
        log.info("onnx backend: %s (%s)", self.file, self.quantization)

    def _new_session(self, ort: Any, threads: int | None) -> Any:
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            opts.intra_op_num_threads = int(threads)
        opts.log_severity_level = 3
        return ort.InferenceSession(str(self.file), opts, providers=["CPUExecutionProvider"])

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 32, show_progress: bool = False
    ) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(texts) <= SMALL_BATCH:
            return self._encode_batch(list(texts), self._query_session)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        texts = list(texts)
        # longest first, like sentence-transformers, so each batch pads to similar lengths
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        starts = range(0, len(texts), batch_size)
        if show_progress:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc="Batches (onnx)", unit="batch")
        for s in starts:
            rows = order[s : s + batch_size]
            out[rows] = self._encode_batch([texts[i] for i in rows], self._session)
        return out

    def _encode_batch(self, texts: list[str], session: Any) -> np.ndarray:
        enc = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = session.run(None, feed)[0]
        if self._pooling == "cls":
            vec = hidden[:, 0, :]
        else:
            m = mask[:, :, None].astype(np.float32)
            vec = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        norm = np.linalg.norm(vec, axis=1, keepdims=True)
        return (vec / np.clip(norm, 1e-12, None)).astype(np.float32)


# ---- the export ------------------------------------------------------------------------


def _fingerprint(src: Path) -> str:
    """A short hash of the model folder's configuration and weight sizes (cheap to compute)."""
    h = hashlib.sha256(f"recipe-{RECIPE_VERSION}".encode())
    for f in sorted(p for p in src.rglob("*") if p.is_file()):
        rel = f.relative_to(src).as_posix()
        h.update(rel.encode())
        if f.suffix in _WEIGHT_SUFFIXES:
            h.update(str(f.stat().st_size).encode())
        elif f.stat().st_size < 4_000_000:
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


def _export_folder(src: Path, model_id: str, cache_dir: Path) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in model_id)
    return cache_dir / f"{safe}-onnx-{_fingerprint(src)}"


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{folder.name}.lock", "a+") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _export(src: Path, folder: Path, preset: str) -> None:
    """Copy the model folder (without weights) and write the fused fp32 and int8 graphs.

    One process exports while others wait on a lock file; every file appears atomically.
    """
    with _locked(folder):
        target = (
            folder / "onnx" / ("model.onnx" if preset == "none" else _quantized_file_name(preset))
        )
        if target.is_file():  # another process finished it while we waited
            return
        t0 = time.perf_counter()
        log.warning(
            "onnx backend: exporting %s to %s (once per model and CPU, about 10 s; "
            "./run setup does it ahead)",
            src,
            target,
        )
        (folder / "onnx").mkdir(parents=True, exist_ok=True)
        # the tokenizer and module files: site-packages may be read-only, so the exported
        # graphs live beside a copy of them (sentence-transformers' folder layout)
        for f in src.rglob("*"):
            rel = f.relative_to(src)
            if f.is_dir() or f.suffix in _WEIGHT_SUFFIXES or rel.as_posix() in _SKIP_FILES:
                continue
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, folder / rel)
        fp32 = folder / "onnx" / "model.onnx"
        if not fp32.is_file():
            with tempfile.TemporaryDirectory(dir=folder) as tmp:
                raw = Path(tmp) / "raw.onnx"
                _torch_export(src, raw)
                fused = Path(tmp) / "model.onnx"
                _fuse(raw, fused, src)
                os.replace(fused, fp32)
        if preset != "none":
            with tempfile.TemporaryDirectory(dir=folder) as tmp:
                out = Path(tmp) / target.name
                _quantize(fp32, out, preset)
                os.replace(out, target)
        info = {
            "recipe_version": RECIPE_VERSION,
            "source": str(src),
            "preset": preset,
            "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (folder / "onnx" / f"{target.stem}.json").write_text(json.dumps(info, indent=2))
        log.info("exported %s to %s in %.1fs", src, target, time.perf_counter() - t0)


def _torch_export(src: Path, out: Path) -> None:
    """Trace the transformer (eager attention, so ONNX Runtime can fuse it) to ONNX."""
    import warnings

    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(src), attn_implementation="eager").eval()
    with_types = "token_type_ids" in inspect.signature(model.forward).parameters

    class _Hidden(torch.nn.Module):
        """Keyword arguments in, last hidden state out (forward's positional order varies
        between transformers versions)."""

        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, *types: Any) -> Any:
            extra = {"token_type_ids": types[0]} if types else {}
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, **extra
            ).last_hidden_state

    ids = torch.ones(2, 16, dtype=torch.long)
    args = (ids, torch.ones_like(ids)) + ((torch.zeros_like(ids),) if with_types else ())
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if with_types else [])
    axes = {0: "batch", 1: "sequence"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # the TorchScript exporter needs no extra package (the dynamo one needs onnxscript)
        torch.onnx.export(
            _Hidden(model),
            args,
            str(out),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes={**{n: axes for n in names}, "last_hidden_state": axes},
            opset_version=17,
            do_constant_folding=True,
            dynamo=False,
        )


def _fuse(raw: Path, out: Path, src: Path) -> None:
    """Fuse attention, GELU and layer norms; quantising the fused graph is about 1.4x faster
    than quantising the raw one (measured on MiniLM-L6, 2 cores)."""
    from onnxruntime.transformers.optimizer import optimize_model

    cfg = json.loads((src / "config.json").read_text())
    heads, hidden = int(cfg.get("num_attention_heads", 0)), int(cfg.get("hidden_size", 0))
    if cfg.get("model_type") not in ("bert", "roberta", "xlm-roberta"):
        shutil.copy2(raw, out)  # unknown architecture: leave fusion to the session
        return
    opt = optimize_model(
        str(raw), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=1
    )
    opt.save_model_to_file(str(out))


def _quantize(fp32: Path, out: Path, preset: str) -> None:
    """Dynamic int8 quantisation with optimum's ``AutoQuantizationConfig`` presets."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    weights = QuantType.QUInt8 if preset == "avx2" else QuantType.QInt8
    # the quantiser logs hundreds of lines and a generic warning on the root logger, which
    # no named logger can quiet; this runs once per model and machine
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        quantize_dynamic(
            fp32,
            out,
            per_channel=True,
            reduce_range=False,
            weight_type=weights,
            # fused ops (Attention, ...) hide some tensor types from shape inference
            extra_options={
                "WeightSymmetric": True,
                "ActivationSymmetric": False,
                "DefaultTensorType": onnx.TensorProto.FLOAT,
            },
        )
    finally:
        logging.disable(previous)


def _max_seq_length(src: Path) -> int:
    f = src / "sentence_bert_config.json"
    if f.is_file():
        return int(json.loads(f.read_text()).get("max_seq_length", 256))
    cfg = json.loads((src / "config.json").read_text())
    return int(cfg.get("max_position_embeddings", 512))


def _pooling_mode(src: Path) -> str:
    modules = src / "modules.json"
    if not modules.is_file():
        return "mean"
    for m in json.loads(modules.read_text()):
        if m.get("type", "").endswith("Pooling"):
            cfg = json.loads((src / m["path"] / "config.json").read_text())
            if cfg.get("pooling_mode_mean_tokens"):
                return "mean"
            if cfg.get("pooling_mode_cls_token"):
                return "cls"
            raise ValueError(
                f"{src / m['path']}: only mean or CLS pooling is supported by "
                "the onnx backend; use --backend torch"
            )
    return "mean"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m embeddings.onnx_backend [MODEL]``: make the export now (``./run`` does).

    Prints the int8 model file; an export already cached is only checked.
    """
    import argparse

    from embeddings.factory import DEFAULT_MODEL, load_model
    from embeddings.onnx_backend import OnnxModel  # not __main__'s class, when run with -m

    p = argparse.ArgumentParser(
        prog="python -m embeddings.onnx_backend",
        description="Export the embedding model to ONNX int8 into the cache, offline.",
    )
    p.add_argument("model", nargs="?", default=DEFAULT_MODEL, help="default: %(default)s")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    model = load_model(args.model, "onnx")
    assert isinstance(model, OnnxModel)
    print(model.file)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
