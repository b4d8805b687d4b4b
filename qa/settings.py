"""One settings object for the whole pipeline, overridable by ``QA_*`` environment variables.

Every field is documented where it is declared; :meth:`Settings.from_env` reads the
environment, the CLI overrides single fields with ``dataclasses.replace``.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from qa.errors import BadInputError

# Above this many chunk vectors an "auto" index's main segment is approximate (IVF over 8-bit
# codes, trained at compaction) rather than exact (flat fp16).
HNSW_THRESHOLD = 50_000
#: The calibrated abstention threshold (``python -m eval.calibrate``; see Settings).
ABSTAIN_THRESHOLD = 0.08

RetrievalMode = Literal["hybrid", "dense", "bm25"]
AnswerMode = Literal["extractive", "llm"]
IndexType = Literal["auto", "flat", "ivf", "hnsw"]

#: The repository's seed articles: the default corpus when no index exists yet.
SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"


def default_data_dir() -> Path:
    """The per-user data folder: ``$XDG_DATA_HOME/article-qa`` or ``~/.local/share/article-qa``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "article-qa"


def _env(name: str) -> str | None:
    v = os.environ.get(name)
    return v if v not in (None, "") else None


@dataclass(frozen=True)
class Settings:
    """Every knob of article-qa, with its environment variable in brackets."""

    data_dir: Path = field(default_factory=default_data_dir)
    """Folder of the default index [QA_DATA_DIR] (the onnx export is cached per user, in
    ``embeddings.onnx_backend.default_cache_dir()``)."""
    index_dir: Path | None = None
    """The index folder; ``data_dir/index`` when None [QA_INDEX]."""
    seeds_dir: Path = SEEDS_DIR
    """Articles indexed on demand when ``ask`` or ``serve`` find no index [QA_SEEDS]."""
    model: str = "all-MiniLM-L6-v2"
    """Embedding model: the bundled all-MiniLM-L6-v2, a local folder or a cached name [QA_MODEL]."""
    backend: Literal["torch", "onnx"] = "onnx"
    """Embedding backend: onnx (ONNX Runtime, int8; the default) or torch (fp32). Their
    vectors share one model id, so an index built with either is searched with the other
    [QA_BACKEND]."""
    chunk_tokens: int = 180
    """Chunk size in cl100k tokens (about 216 MiniLM wordpieces, inside its 256 window)."""
    chunk_overlap: int = 1
    """Sentences shared by neighbouring chunks."""
    k: int = 5
    """Passages retrieved per question [QA_K]."""
    retrieval: RetrievalMode = "hybrid"
    """``hybrid`` (BM25 + dense, fused), ``dense`` or ``bm25`` alone [QA_RETRIEVAL]."""
    expand_acronyms: bool = True
    """Expand acronyms and their spelled-out names in queries [QA_EXPAND_ACRONYMS]."""
    max_per_article: int = 3
    """Soft cap: beyond this many passages from one article, a passage of another article
    scoring within ``qa.retrieval.DIVERSITY_MARGIN`` comes first; 0 turns it off
    [QA_MAX_PER_ARTICLE]."""
    index_type: IndexType = "auto"
    """FAISS index of the main segment (made by ``qa compact``): exact ``flat``,
    approximate ``ivf`` (``hnsw``, its former name, means the same), or ``auto`` (IVF
    above ``hnsw_threshold`` chunk vectors) [QA_INDEX_TYPE]."""
    hnsw_threshold: int = HNSW_THRESHOLD
    """Chunk vector count above which ``auto`` compacts to an IVF index."""
    answer_mode: AnswerMode = "extractive"
    """``extractive`` (offline, deterministic) or ``llm`` (an OpenAI-compatible server)
    [QA_ANSWER_MODE]."""
    abstain_threshold: float = ABSTAIN_THRESHOLD
    """Answer confidence (the learned probability that the chosen sentence answers) below
    which the extractive answerer says the articles don't say; calibrated by ``python -m
    eval.calibrate`` on the bbc-qa dev questions (best accuracy) [QA_ABSTAIN_THRESHOLD]."""
    llm_base_url: str = "http://127.0.0.1:11434/v1"
    """OpenAI-compatible server, e.g. Ollama, vLLM, llama.cpp or OpenAI [QA_LLM_BASE_URL]."""
    llm_model: str = ""
    """Model name on that server; the LLM answerer is available only when set [QA_LLM_MODEL]."""
    llm_api_key: str = "not-needed"
    """API key for the server [QA_LLM_API_KEY]."""
    llm_timeout: float = 60.0
    """Seconds before an LLM call is abandoned [QA_LLM_TIMEOUT]."""
    llm_retries: int = 1
    """Retries of a failed LLM call before falling back to the extractive answer."""
    max_question_chars: int = 1000
    """Longer questions are truncated, with a note in the answer."""
    max_file_mb: float = 20.0
    """Article files (and pages fetched by URL) larger than this are refused [QA_MAX_FILE_MB]."""
    fetch_timeout: float = 20.0
    """Seconds a page or feed fetched by URL may take, redirects included [QA_FETCH_TIMEOUT]."""
    fetch_max_redirects: int = 5
    """Redirects followed when fetching a URL [QA_FETCH_MAX_REDIRECTS]."""

    def __post_init__(self) -> None:
        def check(cond: bool, message: str) -> None:
            if not cond:
                raise BadInputError(message)

        check(self.k >= 1 and self.k <= 100, f"k must be between 1 and 100, got {self.k}")
        check(self.chunk_tokens >= 16, f"chunk_tokens must be >= 16, got {self.chunk_tokens}")
        check(self.chunk_overlap >= 0, f"chunk_overlap must be >= 0, got {self.chunk_overlap}")
        check(
            self.max_per_article >= 0, f"max_per_article must be >= 0, got {self.max_per_article}"
        )
        for name, kind in (
            ("retrieval", RetrievalMode),
            ("answer_mode", AnswerMode),
            ("index_type", IndexType),
            ("backend", Literal["torch", "onnx"]),
        ):
            value, valid = getattr(self, name), get_args(kind)
            check(value in valid, f"{name} must be one of {', '.join(valid)}; got {value!r}")
        check(
            0.0 <= self.abstain_threshold <= 1.0,
            f"abstain_threshold must be between 0 and 1, got {self.abstain_threshold}",
        )
        check(
            self.max_question_chars >= 10,
            f"max_question_chars must be >= 10, got {self.max_question_chars}",
        )
        check(self.fetch_timeout > 0, f"fetch_timeout must be > 0, got {self.fetch_timeout}")
        check(
            self.fetch_max_redirects >= 0,
            f"fetch_max_redirects must be >= 0, got {self.fetch_max_redirects}",
        )
        object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser())
        object.__setattr__(self, "seeds_dir", Path(self.seeds_dir).expanduser())
        if self.index_dir is not None:
            object.__setattr__(self, "index_dir", Path(self.index_dir).expanduser())

    @property
    def index_path(self) -> Path:
        """The index folder actually used."""
        return self.index_dir if self.index_dir is not None else self.data_dir / "index"

    @property
    def llm_available(self) -> bool:
        """Whether an LLM server is configured (a model name is set)."""
        return bool(self.llm_model)

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Build settings from ``QA_*`` environment variables, then ``overrides``.

        Raises:
            BadInputError: A variable holds a value of the wrong type or out of range; the
                message names the variable.
        """
        values: dict[str, Any] = {}
        env_map = {
            "QA_DATA_DIR": ("data_dir", Path),
            "QA_INDEX": ("index_dir", Path),
            "QA_SEEDS": ("seeds_dir", Path),
            "QA_MODEL": ("model", str),
            "QA_BACKEND": ("backend", str),
            "QA_K": ("k", int),
            "QA_RETRIEVAL": ("retrieval", str),
            "QA_EXPAND_ACRONYMS": ("expand_acronyms", bool),
            "QA_MAX_PER_ARTICLE": ("max_per_article", int),
            "QA_INDEX_TYPE": ("index_type", str),
            "QA_ANSWER_MODE": ("answer_mode", str),
            "QA_ABSTAIN_THRESHOLD": ("abstain_threshold", float),
            "QA_LLM_BASE_URL": ("llm_base_url", str),
            "QA_LLM_MODEL": ("llm_model", str),
            "QA_LLM_API_KEY": ("llm_api_key", str),
            "QA_LLM_TIMEOUT": ("llm_timeout", float),
            "QA_MAX_FILE_MB": ("max_file_mb", float),
            "QA_FETCH_TIMEOUT": ("fetch_timeout", float),
            "QA_FETCH_MAX_REDIRECTS": ("fetch_max_redirects", int),
        }
        for var, (name, kind) in env_map.items():
            raw = _env(var)
            if raw is None:
                continue
            try:
                if kind is bool:
                    if raw.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                        raise ValueError(raw)
                    values[name] = raw.lower() in ("1", "true", "yes", "on")
                else:
                    values[name] = kind(raw)
            except ValueError:
                raise BadInputError(f"{var}={raw!r} is not a valid {kind.__name__}") from None
        if "llm_api_key" not in values and _env("OPENAI_API_KEY"):
            values["llm_api_key"] = _env("OPENAI_API_KEY")
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with some fields changed (``None`` values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as JSON-serialisable values, without the API key."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d = {k: str(v) if isinstance(v, Path) else v for k, v in d.items()}
        d["llm_api_key"] = "***" if self.llm_api_key not in ("", "not-needed") else ""
        return d
