"""Reliability: `kill -9` during an ingest, a delete, a compaction and a format conversion;
damaged index files; two writers at once; readers while writers change the index.

Killing a process that has just paid ~20 s to load torch and the model would make each kill
cost that much, so a small "zygote" subprocess loads the model once and forks a fresh child
per run; each child runs the real CLI code (``qa.cli.main(["ingest", ...])``, ``delete``,
``compact``, ``list``) and is killed with SIGKILL at a random moment of the run, or at a
random moment after it started writing. Before each kill the index folder is restored from a
copy, so every kill starts from the same state; after it this process loads the index from
disk, checks that it is whole (counts, every live chunk row readable with its vector,
searches return live rows) and that it is the state before the operation or after it, never
between, and asks the seed question again.

The zygote embeds the batch (and finds its named entities) once before forking and its
children reuse those vectors and entities (the real model's), so an ingest takes a second or
two and the kills land among the steps that
touch the disk rather than mostly inside the pure-compute embedding step. A child can be
given values for module constants of :mod:`qa.index` (``COMPACT_MIN``...), so that an ingest
merges the segments after its commit, as a large one would.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "national-post-hajin.txt"
BBC = ROOT.parent / "shared" / "data" / "bbc-news"
LEGACY = ROOT / "tests" / "data" / "legacy-format2"
SEED_QUESTION = "How long does the SDF expect the fight to last?"
SEED_SHORT = "between two and three months"
N_KILLS = 15
#: An ingest whose child is given these merges all segments after its commit.
MERGE_ALWAYS = {"COMPACT_MIN": 0, "COMPACT_SHARE": 0.0}

ZYGOTE = r'''
import json, os, sys, traceback
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
import faiss, numpy, sqlite3, torch  # import everything before forking
import qa.cli, qa.engine, qa.index, qa.store, qa.legacy_index, qa.answer
from qa.chunking import get_tokenizer
from embeddings import load_model
model = load_model(backend="torch")
get_tokenizer().encode("warm up")
encode, memo = model.encode, {}


def memo_encode(texts, **kw):
    """The real model's vectors, computed once per text (before the children fork)."""
    todo = [t for t in dict.fromkeys(texts) if t not in memo]
    if todo:
        memo.update(zip(todo, encode(todo, **kw)))
    return numpy.stack([memo[t] for t in texts]) if texts else encode(texts, **kw)


model.encode = memo_encode
find_entities, entities = qa.index.span_entities, {}


def memo_entities(spans, **kw):
    """spaCy's entities of each sentence, found once per sentence (as the vectors)."""
    todo = [s for s in dict.fromkeys(spans) if s not in entities]
    if todo:
        entities.update(zip(todo, find_entities(todo, **kw)))
    return [entities[s] for s in spans]


qa.index.span_entities = memo_entities
print("ready", flush=True)
for line in sys.stdin:
    cmd = json.loads(line)
    if cmd["op"] == "prewarm":  # ingest into a scratch index: fills the memo
        from qa.engine import QA
        from qa.settings import Settings

        engine = QA(Settings.from_env(index_dir=cmd["scratch"]))  # QA_BACKEND: this model
        engine.ingest(cmd["paths"])
        engine.ask(cmd["question"])
        print(len(memo), flush=True)
    elif cmd["op"] == "fork":
        pid = os.fork()
        if pid == 0:
            rc = 99
            try:
                # the parent's OpenMP pools (torch's, and faiss's own libgomp) do not survive
                # fork: a child that used them would hang
                torch.set_num_threads(1)
                faiss.omp_set_num_threads(1)
                fd = os.open(cmd["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.dup2(fd, 1)
                os.dup2(fd, 2)
                for name, value in cmd.get("patch", {}).items():
                    setattr(qa.index, name, value)
                rc = qa.cli.main(cmd["argv"])
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(rc)
        print(pid, flush=True)
    elif cmd["op"] == "wait":
        _, status = os.waitpid(cmd["pid"], 0)
        print(os.waitstatus_to_exitcode(status), flush=True)
'''


class Zygote:
    """A subprocess holding the loaded model that forks CLI runs on request."""

    def __init__(self, workdir: Path) -> None:
        script = workdir / "zygote.py"
        script.write_text(ZYGOTE)
        env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
        env.update(HF_HUB_OFFLINE="1", QA_DATA_DIR=str(workdir / "data"), QA_BACKEND="torch")
        self.logs = workdir
        self.n = 0
        self.ready = False
        self.warm: set[str] = set()
        # not waited for here: the model loads in the zygote while this process loads its own
        self.proc = subprocess.Popen(
            [sys.executable, str(script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )

    def wait_ready(self) -> None:
        """Wait until the zygote has loaded the model."""
        if not self.ready:
            assert self._read() == "ready"
            self.ready = True

    def _read(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"zygote died (rc={self.proc.poll()})")
        return line.strip()

    def _send(self, **cmd: object) -> None:
        self.wait_ready()
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()

    def prewarm(self, folder: Path) -> int:
        """Embed every text an ingest of ``folder`` needs, and the seed question; returns how
        many texts the zygote holds vectors for (once per folder)."""
        if str(folder) not in self.warm:
            self.warm.add(str(folder))
            self._send(
                op="prewarm",
                paths=[str(folder)],
                question=SEED_QUESTION,
                scratch=str(self.logs / f"scratch-{len(self.warm)}"),
            )
            self.size = int(self._read())
        return self.size

    def start(self, *argv: str, patch: dict[str, Any] | None = None) -> tuple[int, Path]:
        """Fork a child running ``qa.cli.main(argv)``; returns its pid and log file."""
        self.n += 1
        log = self.logs / f"child-{self.n}.log"
        self._send(op="fork", argv=list(argv), log=str(log), patch=patch or {})
        return int(self._read()), log

    def wait(self, pid: int, timeout: float = 300) -> int:
        """Wait for a child to end; returns its exit code (-9 when killed)."""
        deadline = time.monotonic() + timeout
        while not _ended(pid):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                self._send(op="wait", pid=pid)
                self._read()
                raise AssertionError(f"child {pid} still running after {timeout}s")
            time.sleep(0.01)
        self._send(op="wait", pid=pid)
        return int(self._read())

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _time_run(
    pid: int, index: Path, marks: set[tuple[Any, ...]], t0: float
) -> tuple[float, float | None]:
    """Watch a child until it ends: its run time from ``t0`` and when it first changed the
    index folder's files (None if it never did)."""
    write_started = None
    while not _ended(pid):
        if write_started is None and write_marks(index) != marks:
            write_started = time.monotonic()
        time.sleep(0.001)
    return time.monotonic() - t0, write_started


def _ended(pid: int) -> bool:
    """Whether a child has exited (a zombie waiting to be reaped counts)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


# ---- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model():
    from embeddings import load_model

    return load_model()


@pytest.fixture(scope="module")
def qvec(model) -> np.ndarray:
    """The seed question's vector (the fixed query of every search check)."""
    return model.encode_queries([SEED_QUESTION])[0]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("crash")


@pytest.fixture(scope="module")
def zygote(work: Path, batch: Path):
    z = Zygote(work)
    yield z
    z.close()


@pytest.fixture(scope="module")
def batch(work: Path) -> Path:
    """About 30 short BBC articles (made up ones when the shared data is absent)."""
    folder = work / "batch"
    folder.mkdir()
    if BBC.is_dir():
        files = sorted(BBC.glob("*/*.txt"), key=lambda p: (p.stat().st_size, str(p)))[:30]
        for f in files:
            shutil.copy(f, folder / f"{f.parent.name}-{f.name}")
    else:
        for i in range(30):
            (folder / f"made-{i:02d}.txt").write_text(
                f"Town news {i}\n\nThe council of town {i} met on Monday. It approved "
                f"{i + 3} new homes and a park. The mayor said work starts in spring.\n"
            )
    return folder


@pytest.fixture(scope="module")
def seed_index(work: Path, model) -> Path:
    """A saved index holding only the seed article (copy it before changing it)."""
    from qa.articles import read_file
    from qa.index import ArticleIndex

    path = work / "seed-index"
    idx = ArticleIndex.create(path, model_id=model.model_id, dimension=model.dimension)
    idx.add(read_file(SEED), model)
    idx.close()
    return path


@pytest.fixture(scope="module")
def full_index(zygote: Zygote, batch: Path, seed_index: Path, work: Path) -> Path:
    """The seed and the batch, ingested in three parts (three delta segments beside the
    seed's), with two articles deleted (their vectors still in the segments): what a
    compaction has work to do on. Copy it before changing it."""
    zygote.prewarm(batch)
    path = fresh_copy(seed_index, work / "full-index")
    files = sorted(batch.iterdir())
    for k in range(3):
        part = work / f"part-{k}"
        part.mkdir()
        for f in files[k::3]:
            shutil.copy(f, part / f.name)
        pid, log = zygote.start("ingest", str(part), "--index", str(path))
        assert zygote.wait(pid) == 0, log.read_text()
    pid, log = zygote.start("delete", *batch_ids(work / "part-1")[:2], "--index", str(path))
    assert zygote.wait(pid) == 0, log.read_text()
    return path


def fresh_copy(src: Path, dest: Path) -> Path:
    """Copy an index folder (no process is writing it)."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".lock"))
    return dest


def checkpoint(index: Path) -> None:
    """Fold the database's write-ahead log into store.sqlite (so that damaging the file
    damages everything)."""
    import sqlite3

    conn = sqlite3.connect(index / "store.sqlite")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    for suffix in ("-wal", "-shm"):
        (index / f"store.sqlite{suffix}").unlink(missing_ok=True)


def ask_seed(index: Path, data: Path):
    """Load the index from disk (as a new process would) and ask the seed question."""
    from qa.engine import QA
    from qa.settings import Settings

    engine = QA(Settings(data_dir=data, index_dir=index))
    return engine.ask(SEED_QUESTION)


def held(idx: Any) -> int:
    """Articles an index holds: indexed, or kept as a near-duplicate copy of one."""
    return len(idx.articles) + len(idx.copies)


def batch_ids(folder: Path) -> list[str]:
    from qa.articles import load_paths

    return sorted({a.id for a in load_paths([folder]).articles})


def check_whole(idx: Any, qvec: np.ndarray) -> tuple[int, int, int, int]:
    """Assert that a loaded index is whole; returns its (articles, chunks, sentences,
    copies) counts."""
    assert idx.segments is not None  # loaded first: the counts below are of this snapshot
    n_a, n_c, n_s = idx.count("articles"), idx.count("chunks"), idx.count("sentences")
    alive = idx.alive_chunk_rows()
    assert len(alive) == n_c == len(idx.chunks) == idx.bm25_chunks.size
    assert len(idx.article_rows()) == n_a == len(idx.article_row)
    sent_rows = [r for a in idx.article_rows() for r in idx.article_sentence_rows(a)]
    assert len(sent_rows) == n_s == idx.bm25_sentences.size
    for row in alive.tolist():  # every live chunk row answers, with its text and vector
        c = idx.chunk_at(row)
        assert idx.article_row[c.article_id] == int(idx.chunk_article[row])
        assert idx.article(c.article_id).text[c.start : c.end] == c.text
    for vs, rows in ((idx.chunk_vectors, alive), (idx.sentence_vectors, np.array(sent_rows))):
        norms = np.linalg.norm(vs[rows], axis=1)
        assert np.allclose(norms, 1.0, atol=1e-2), "a vector row is not a unit vector"
    assert all(idx.chunk_alive[r] for r in idx.search_chunks(qvec, 10))
    assert all(idx.article_alive[int(idx.sentences[r][0])] for r in idx.search_sentences(qvec, 10))
    return n_a, n_c, n_s, len(idx.copies)


@dataclass(frozen=True)
class Seen:
    """What a new process finds in an index folder."""

    generation: int
    counts: tuple[int, int, int, int]
    hits: tuple[int, ...]  # search_chunks for the seed question
    lexical: tuple[int, ...]  # BM25 top chunks for it
    answer: tuple[str, tuple[str, ...]]  # qa.ask: short answer and cited quotes

    def same_rows(self, other: Seen) -> bool:
        return (self.counts, self.hits, self.lexical, self.answer) == (
            other.counts,
            other.hits,
            other.lexical,
            other.answer,
        )


def observe(index: Path, qvec: np.ndarray, data: Path) -> Seen:
    """Load the index from disk (must not raise), check it is whole, search and ask."""
    from qa.index import ArticleIndex
    from qa.lexical import terms

    idx = ArticleIndex.load(index)
    try:
        counts = check_whole(idx, qvec)
        for seg in idx.segments:  # a new reader's segments are all there
            assert (index / "segments" / seg.folder / "chunks.faiss").is_file(), seg
        hits = tuple(idx.search_chunks(qvec, 10).tolist())
        lexical = tuple(idx.bm25_chunks.top(terms(SEED_QUESTION), 10).tolist())
        gen = int(idx.manifest["generation"])
    finally:
        idx.close()
    answer = ask_seed(index, data)
    quotes = tuple(c.quote for c in answer.citations)
    return Seen(gen, counts, hits, lexical, (answer.short, quotes))


def write_marks(index: Path) -> set[tuple[Any, ...]]:
    """What a write changes first: the entries of segments/ (a ``.seg-*.tmp`` folder being
    written), the size of the database's write-ahead log (opening the database may create
    it empty; a commit writes to it), a conversion's work folder."""
    found: set[tuple[Any, ...]] = set()
    try:
        found |= {(e.name, e.inode()) for e in os.scandir(index / "segments")}
    except OSError:
        pass
    try:
        found.add(("wal", (index / "store.sqlite-wal").stat().st_size))
    except OSError:
        found.add(("wal", 0))
    if (index / ".convert").exists():
        found.add((".convert",))
    return found


def leftovers(index: Path) -> list[str]:
    """Files a finished writer should have removed: segment folders the database does not
    list, half-written ones, a conversion's work folder, old generation folders."""
    from qa.index import ArticleIndex

    idx = ArticleIndex.load(index)
    listed = {s.folder for s in idx.segments}
    idx.close()
    extra = sorted(p for p in os.listdir(index / "segments") if p not in listed)
    extra += sorted(
        p
        for p in os.listdir(index)
        if p.startswith(("gen-", ".gen-", ".convert")) or p == "CURRENT"
    )
    return extra


# ---- kill -9 ----------------------------------------------------------------------------


def kill_loop(
    zygote: Zygote,
    pristine: Path,
    index: Path,
    argv: list[str],
    *,
    n: int,
    seed: int,
    qvec: np.ndarray,
    data: Path,
    patch: Any = None,
    marked: bool = True,
    ok_after: tuple[int, ...] = (0,),
) -> tuple[Seen, Seen]:
    """Run ``qa ARGV --index INDEX`` on copies of ``pristine`` and kill it ``n`` times: at a
    random moment of the run (even kills) or of its write (odd kills, timed from the first
    file it changes; without ``marked``, whose first change is its commit, in the second
    half of the run). ``patch(i)`` gives the :mod:`qa.index` constants of kill ``i``'s
    child. After each kill the index must be the state before or the state an
    uninterrupted run leaves (same counts, searches, BM25 and answer), never one between."""

    def patched(i: int) -> dict[str, Any] | None:
        return patch(i) if callable(patch) else patch

    # the state before, and after one uninterrupted run (with the first kill's patch)
    zygote.wait_ready()
    fresh_copy(pristine, index)
    before = observe(index, qvec, data)
    marks = write_marks(index)
    t0 = time.monotonic()
    pid, log = zygote.start(*argv, "--index", str(index), patch=patched(1))
    duration, write_started = _time_run(pid, index, marks, t0)
    assert zygote.wait(pid) == 0, log.read_text()
    after = observe(index, qvec, data)
    assert after.generation > before.generation
    write_window = max(0.005, duration - (write_started - t0)) if write_started else 0.2

    rng = random.Random(seed)
    outcomes: Counter[str] = Counter()
    for i in range(n):
        fresh_copy(pristine, index)
        marks = write_marks(index)
        pid, log = zygote.start(*argv, "--index", str(index), patch=patched(i))
        if i % 2 == 0:  # anywhere in the run: loading, reading, embedding, writing
            delay = rng.uniform(0.0, 0.95 * duration)
            time.sleep(delay)
            where = f"at {delay:.2f}s"
        elif not marked:  # a delete: one transaction at the end of the run
            delay = rng.uniform(0.5 * duration, duration)
            time.sleep(delay)
            where = f"at {delay:.2f}s"
        else:  # inside the write: wait for the first file it changes
            t_start = time.monotonic()
            while not _ended(pid) and write_marks(index) == marks:
                time.sleep(0.0005)
            delay = rng.uniform(0.0, write_window)
            time.sleep(delay)
            where = f"{delay * 1000:.0f} ms into the write ({time.monotonic() - t_start:.2f}s)"
        os.kill(pid, signal.SIGKILL)
        rc = zygote.wait(pid)
        assert rc in (-signal.SIGKILL, 0), log.read_text()
        seen = observe(index, qvec, data)  # must not raise
        if seen.generation == before.generation:
            assert seen == before, f"kill {i} {where}: not the state before: {seen} {before}"
            outcome = "state before"
        else:
            assert seen.same_rows(after), f"kill {i} {where}: a state between: {seen} {after}"
            merge_lost = patched(i) == patched(1) and seen.generation < after.generation
            outcome = "committed, not its merge" if merge_lost else "state after"
        assert seen.answer[0] == SEED_SHORT
        outcomes[outcome] += 1
        outcomes["killed"] += rc == -signal.SIGKILL
        print(
            f"\n  kill {i + 1:2d} {where}{' (merging)' if patched(i) else ''}: rc {rc}, "
            f"{outcome}, counts {seen.counts}, answers '{seen.answer[0]}'",
            end="",
        )

    # after the last kill, a normal run on what it left works (no stale lock), leaves the
    # state after and cleans up what the killed one left
    pid, log = zygote.start(*argv, "--index", str(index), patch=patched(1))
    assert zygote.wait(pid) in ok_after, log.read_text()
    assert observe(index, qvec, data).same_rows(after)
    assert leftovers(index) == []
    print(
        f"\nqa {argv[0]}: {n - outcomes['killed']} runs ended before the kill, "
        f"{outcomes['killed']} killed; {n} of {n} kill -9s left a whole index "
        f"({dict(outcomes)}); uninterrupted run {duration:.2f}s"
        + (f", write {write_window * 1000:.0f} ms" if marked else "")
    )
    return before, after


def test_kill_9_during_ingest_never_breaks_the_index(
    zygote: Zygote, batch: Path, seed_index: Path, work: Path, qvec: np.ndarray
) -> None:
    """Half the kills hit an ingest that also merges all segments after its commit."""
    zygote.prewarm(batch)
    before, after = kill_loop(
        zygote,
        seed_index,
        work / "kill-ingest",
        ["ingest", str(batch)],
        n=N_KILLS,
        seed=20240917,
        qvec=qvec,
        data=work / "data",
        patch=lambda i: MERGE_ALWAYS if i % 4 in (1, 2) else None,
    )
    assert before.counts[0] == 1 and after.counts[0] + after.counts[3] == 1 + len(batch_ids(batch))


def test_kill_9_during_delete_never_breaks_the_index(
    zygote: Zygote, full_index: Path, work: Path, qvec: np.ndarray
) -> None:
    ids = batch_ids(work / "part-0")[:5] + batch_ids(work / "part-2")[:5]
    before, after = kill_loop(
        zygote,
        full_index,
        work / "kill-delete",
        ["delete", *ids],
        n=N_KILLS,
        seed=7,
        qvec=qvec,
        data=work / "data",
        marked=False,
        ok_after=(0, 1),
    )
    assert after.counts[0] < before.counts[0]


def test_kill_9_during_compaction_never_breaks_the_index(
    zygote: Zygote, full_index: Path, work: Path, qvec: np.ndarray
) -> None:
    from qa.index import ArticleIndex

    idx = ArticleIndex.load(full_index)
    assert [s.kind for s in idx.segments] == ["delta"] * 4
    idx.close()
    before, after = kill_loop(
        zygote,
        full_index,
        work / "kill-compact",
        ["compact"],
        n=N_KILLS,
        seed=31,
        qvec=qvec,
        data=work / "data",
    )
    idx = ArticleIndex.load(work / "kill-compact")
    assert [s.kind for s in idx.segments] == ["main"]
    assert before.same_rows(after)  # a compaction changes no answer
    idx.close()


def test_kill_9_during_format_conversion_keeps_one_format_whole(
    zygote: Zygote, work: Path, qvec: np.ndarray
) -> None:
    """`qa list` on a format-2 folder converts it; killed at random moments of that, the
    folder holds the old format whole (readable by the old reader) or the new one."""
    from qa.legacy_index import is_legacy, load_legacy

    index = work / "kill-convert"
    data = work / "data"
    want = observe(fresh_copy(LEGACY, work / "converted"), qvec, data)
    zygote.wait_ready()
    marks = write_marks(fresh_copy(LEGACY, index))
    t0 = time.monotonic()
    pid, log = zygote.start("list", "--index", str(index))
    duration, write_started = _time_run(pid, index, marks, t0)
    assert zygote.wait(pid) == 0, log.read_text()
    assert not is_legacy(index) and observe(index, qvec, data).same_rows(want)
    window = max(0.005, duration - (write_started - t0)) if write_started else 0.2
    rng = random.Random(5)
    outcomes: Counter[str] = Counter()
    n = 8
    for i in range(n):
        marks = write_marks(fresh_copy(LEGACY, index))
        pid, log = zygote.start("list", "--index", str(index))
        if i % 2 == 0:
            delay = rng.uniform(0.0, 0.95 * duration)
            time.sleep(delay)
            where = f"at {delay:.2f}s"
        else:
            while not _ended(pid) and write_marks(index) == marks:
                time.sleep(0.0005)
            delay = rng.uniform(0.0, 2 * window)  # its time varies with the machine's load
            time.sleep(delay)
            where = f"{delay * 1000:.0f} ms into the conversion"
        os.kill(pid, signal.SIGKILL)
        rc = zygote.wait(pid)
        assert rc in (-signal.SIGKILL, 0), log.read_text()
        if (index / "store.sqlite").is_file():
            outcome = "new format"
        else:
            old = load_legacy(index)  # the old format, whole
            assert len(old.articles) == 3 and len(old.chunk_vectors) == len(old.chunks)
            outcome = "old format"
        outcomes[outcome] += 1
        seen = observe(index, qvec, data)  # converts what is left, if need be
        assert seen.same_rows(want), f"kill {i} {where}: {seen} {want}"
        assert leftovers(index) == []
        print(
            f"\n  kill {i + 1} {where}: rc {rc}, {outcome} whole, answers "
            f"'{seen.answer[0]}' after opening",
            end="",
        )
    print(
        f"\nformat conversion: {n} of {n} kill -9s left one format whole "
        f"({dict(outcomes)}); uninterrupted conversion and listing {duration:.2f}s, "
        f"conversion {window * 1000:.0f} ms"
    )


# ---- half-written files ------------------------------------------------------------------


def _damage(f: Path, damage: str) -> None:
    if damage == "truncate":
        os.truncate(f, f.stat().st_size // 2)
    elif damage == "empty":
        os.truncate(f, 0)
    elif damage == "garbage":
        f.write_bytes(bytes(random.Random(f.name).randrange(256) for _ in range(f.stat().st_size)))
    else:
        f.unlink()


def _open_and_search(index: Path, qvec: np.ndarray) -> None:
    from qa.index import ArticleIndex

    idx = ArticleIndex.load(index)
    idx.search_chunks(qvec, 5)  # segments are read on the first search
    idx.search_sentences(qvec, 5)


@pytest.mark.parametrize(
    "name, damage",
    [
        ("chunks.faiss", "truncate"),
        ("sentences.npy", "truncate"),
        ("chunks.npy", "empty"),
        ("sentences.faiss", "delete"),
        ("chunks.npy", "garbage"),
        ("sentences.faiss", "garbage"),
        ("store.sqlite", "truncate"),
        ("store.sqlite", "garbage"),
        ("store.sqlite", "empty"),
    ],
)
def test_damaged_file_is_reported_by_name(
    full_index: Path, tmp_path: Path, qvec: np.ndarray, name: str, damage: str
) -> None:
    from qa.errors import IndexCorruptError
    from qa.index import ArticleIndex

    index = fresh_copy(full_index, tmp_path / "index")
    checkpoint(index)
    if name == "store.sqlite":
        f = index / name
    else:
        idx = ArticleIndex.load(index)
        f = index / "segments" / idx.segments[-1].folder / name
        idx.close()
    _damage(f, damage)
    with pytest.raises(IndexCorruptError) as e:
        _open_and_search(index, qvec)
    assert str(f) in str(e.value), str(e.value)
    assert "ingest the articles again" in str(e.value)


def test_cli_reports_a_damaged_index(zygote: Zygote, seed_index: Path, tmp_path: Path) -> None:
    from qa.index import ArticleIndex

    index = fresh_copy(seed_index, tmp_path / "index")
    idx = ArticleIndex.load(index)
    f = index / "segments" / idx.segments[0].folder / "chunks.faiss"
    idx.close()
    os.truncate(f, 100)
    pid, log = zygote.start("ask", SEED_QUESTION, "--index", str(index))
    assert zygote.wait(pid, timeout=120) == 1
    out = log.read_text()
    assert "Traceback" not in out
    assert f"error: {f} is damaged" in out, out


# ---- two writers ---------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["ingest", "compact"])
def test_a_writer_waits_for_the_lock(
    zygote: Zygote, batch: Path, seed_index: Path, full_index: Path, work: Path, op: str
) -> None:
    from qa.index import ArticleIndex

    index = fresh_copy(seed_index if op == "ingest" else full_index, work / f"lock-{op}")
    one = work / f"one-{op}"
    one.mkdir()
    for f in sorted(batch.iterdir())[:3]:
        shutil.copy(f, one / f.name)
    holder = ArticleIndex.load(index)
    n_before = holder.count("articles")
    gen = holder.manifest["generation"]
    segments = sorted(os.listdir(index / "segments"))
    with holder.write_lock():
        argv = ["ingest", str(one)] if op == "ingest" else ["compact"]
        pid, log = zygote.start(*argv, "--index", str(index))
        time.sleep(3.0)
        assert not _ended(pid), "the writer did not wait for the lock: " + log.read_text()
        assert sorted(os.listdir(index / "segments")) == segments  # nothing written
        assert not holder.refresh() and holder.manifest["generation"] == gen
    assert zygote.wait(pid) == 0, log.read_text()
    idx = ArticleIndex.load(index)
    assert idx.manifest["generation"] > gen
    if op == "ingest":
        assert idx.count("articles") + len(idx.copies) >= n_before + 1
    else:
        assert [s.kind for s in idx.segments] == ["main"]
    print(
        f"\nqa {op} blocked by the lock for 3 s, then finished: index holds "
        f"{idx.count('articles')} articles in {len(idx.segments)} segment(s)"
    )
    holder.close()
    idx.close()


def test_two_ingests_at_once_keep_both_sets(
    zygote: Zygote, batch: Path, seed_index: Path, work: Path, qvec: np.ndarray
) -> None:
    from qa.index import ArticleIndex

    index = fresh_copy(seed_index, work / "two-writers")
    files = sorted(batch.iterdir())
    sets = [work / "set-a", work / "set-b"]
    for folder, part in zip(sets, (files[:15], files[15:])):
        folder.mkdir()
        for f in part:
            shutil.copy(f, folder / f.name)
    children = [
        zygote.start("ingest", str(folder), "--index", str(index), patch=MERGE_ALWAYS)
        for folder in sets
    ]
    for pid, log in children:
        rc = zygote.wait(pid)
        assert rc == 0, log.read_text()
        assert "Traceback" not in log.read_text()
    idx = ArticleIndex.load(index)
    expected = {a for folder in sets for a in batch_ids(folder)}
    # every article is indexed or kept as a near-duplicate copy of one
    got = {a.id for a in idx.articles} | {c.article.id for c in idx.copies}
    assert expected <= got and len(got) == 1 + len(expected)
    check_whole(idx, qvec)
    idx.close()
    assert ask_seed(index, work / "data").short == SEED_SHORT
    print(
        f"\ntwo concurrent ingests (each merging after its commit): both exit 0, index "
        f"holds {len(got)} articles (1 seed + {len(expected)})"
    )


def test_finding_copies_waits_for_another_writer(full_index: Path, tmp_path: Path) -> None:
    """`qa ingest` looks for near-duplicates before it takes the write lock; a commit by
    another process meanwhile must make it wait, not fail with 'database is locked'."""
    import sqlite3

    from qa.articles import make_article
    from qa.index import ArticleIndex

    index = fresh_copy(full_index, tmp_path / "index")
    idx = ArticleIndex.load(index)
    first = idx.article_at(idx.article_rows()[1])
    edited = make_article(first.text.replace(". ", ", he said. ", 1), title=first.title)
    new = make_article("A ferry to Islay was cancelled on Monday because of gales.")
    other = sqlite3.connect(index / "store.sqlite", isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another writer, in the middle of its commit

    def commit_soon() -> None:
        time.sleep(1.0)
        other.execute("INSERT INTO meta VALUES ('another-writer', '1')")
        other.execute("COMMIT")

    writer = threading.Thread(target=commit_soon)
    writer.start()
    try:
        found = idx.find_copies([edited, new])
    finally:
        writer.join()
        other.close()
    assert [a.id for a in found.unique] == [new.id]
    assert [(c.article.id, c.of) for c in found.copies] == [(edited.id, first.id)]
    idx.close()


# ---- readers while writers work -------------------------------------------------------------


def test_a_reader_loaded_before_a_compaction_answers_after_it(
    full_index: Path, tmp_path: Path, qvec: np.ndarray
) -> None:
    """A reader's snapshot lists segments a compaction then removes (`qa ask` loads the
    index, then the model, then searches)."""
    from qa.index import ArticleIndex

    index = fresh_copy(full_index, tmp_path / "index")
    used = ArticleIndex.load(index)
    hits = used.search_chunks(qvec, 10).tolist()
    fresh = ArticleIndex.load(index)  # loaded, not searched yet
    report = ArticleIndex.load(index).compact()
    assert report.segments_before == 4 and report.segments_after == 1
    assert not any((index / "segments" / s.folder).exists() for s in used.segments)
    for idx in (used, fresh):
        assert idx.search_chunks(qvec, 10).tolist() == hits
        check_whole(idx, qvec)
    assert used.refresh() and [s.kind for s in used.segments] == ["main"]
    assert used.search_chunks(qvec, 10).tolist() == hits


def test_readers_during_writes_always_see_a_whole_state(
    zygote: Zygote, batch: Path, seed_index: Path, work: Path, qvec: np.ndarray
) -> None:
    """`qa ask` or the UI may load, refresh and search the index while `qa ingest`, `qa
    delete` and `qa compact` commit: a thread keeps one index and refreshes it, the main
    thread loads it afresh, both search, and neither sees an error or a count between."""
    from qa.index import ArticleIndex

    zygote.prewarm(batch)
    index = fresh_copy(seed_index, work / "read-while-writing")
    small = work / "small-set"
    small.mkdir()
    for f in sorted(batch.iterdir())[:4]:
        shutil.copy(f, small / f.name)
    ids = batch_ids(small)
    allowed = (1, 1 + len(ids))
    stop = threading.Event()
    problems: list[str] = []
    stats: Counter[str] = Counter()

    def look(idx: Any) -> None:
        assert held(idx) in allowed, held(idx)
        check_whole(idx, qvec)
        for row in idx.search_chunks(qvec, 5).tolist():
            idx.article_at(int(idx.chunk_article[row]))

    def reader() -> None:
        idx = ArticleIndex.load(index)
        while not stop.is_set():
            try:
                stats["refreshes that changed"] += idx.refresh()
                look(idx)
                stats["thread searches"] += 1
            except Exception as e:  # every failure is reported
                problems.append(f"reader thread: {type(e).__name__}: {e}")
                idx = ArticleIndex.load(index)
        idx.close()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    writes = 0
    try:
        for round_ in range(3):
            for argv, patch in (
                (["ingest", str(small)], MERGE_ALWAYS if round_ else None),
                (["compact"], None),
                (["delete", *ids], None),
                (["compact"], None),
            ):
                pid, log = zygote.start(*argv, "--index", str(index), patch=patch)
                while not _ended(pid):
                    try:
                        idx = ArticleIndex.load(index)
                        look(idx)
                        idx.close()
                        stats["fresh loads"] += 1
                    except Exception as e:
                        problems.append(f"round {round_} {argv[0]}: {type(e).__name__}: {e}")
                assert zygote.wait(pid) == 0, log.read_text()
                writes += 1
    finally:
        stop.set()
        thread.join(timeout=60)
    print(
        f"\nreaders during {writes} writes (ingest, compact, delete, compact; x3): "
        f"{stats['fresh loads']} fresh loads and {stats['thread searches']} searches of a "
        f"refreshed index ({stats['refreshes that changed']} refreshes saw a new state); "
        f"{len(problems)} failures"
    )
    assert not problems, "\n".join(problems[:5])
    assert stats["fresh loads"] and stats["thread searches"] and stats["refreshes that changed"]
