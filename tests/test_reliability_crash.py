"""Reliability: `kill -9` during ingest, half-written index files, and two writers at once.

Killing a process that has just paid ~20 s to load torch and the model would make each kill
cost that much, so a small "zygote" subprocess loads the model once and forks a fresh child
per ingest; each child runs the real CLI code (``qa.cli.main(["ingest", ...])``) and is
killed with SIGKILL at a random moment, or at a random moment of the index write. After each
kill this process loads the index from disk and asks the seed question again.

The zygote embeds the batch once before forking and its children reuse those vectors (the
real model's), so an ingest takes a second or two and the kills land among the steps that
touch the disk rather than mostly inside the pure-compute embedding step.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "national-post-hajin.txt"
BBC = ROOT.parent / "shared" / "data" / "bbc-news"
SEED_QUESTION = "How long does the SDF expect the fight to last?"
SEED_SHORT = "between two and three months"
N_KILLS = 15

ZYGOTE = r'''
import json, os, sys, traceback
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
import faiss, bm25s, numpy, torch  # import everything before forking
import qa.cli, qa.engine, qa.index, qa.answer
from qa.chunking import get_tokenizer
from embeddings import load_model
model = load_model()
get_tokenizer().encode("warm up")
encode, memo = model.encode, {}


def memo_encode(texts, **kw):
    """The real model's vectors, computed once per text (before the children fork)."""
    todo = [t for t in dict.fromkeys(texts) if t not in memo]
    if todo:
        memo.update(zip(todo, encode(todo, **kw)))
    return numpy.stack([memo[t] for t in texts]) if texts else encode(texts, **kw)


model.encode = memo_encode
print("ready", flush=True)
for line in sys.stdin:
    cmd = json.loads(line)
    if cmd["op"] == "prewarm":  # ingest into a scratch index: fills the memo
        from qa.engine import QA
        from qa.settings import Settings

        QA(Settings(index_dir=cmd["scratch"])).ingest(cmd["paths"])
        print(len(memo), flush=True)
    elif cmd["op"] == "fork":
        pid = os.fork()
        if pid == 0:
            rc = 99
            try:
                torch.set_num_threads(1)  # the parent's OpenMP pool does not survive fork
                fd = os.open(cmd["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.dup2(fd, 1)
                os.dup2(fd, 2)
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
        env.update(HF_HUB_OFFLINE="1", QA_DATA_DIR=str(workdir / "data"))
        self.logs = workdir
        self.n = 0
        self.ready = False
        # not waited for here: the model loads in the zygote while this process loads its own
        self.proc = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)

    def _wait_ready(self) -> None:
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
        self._wait_ready()
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()

    def prewarm(self, folder: Path) -> int:
        """Embed every text an ingest of ``folder`` needs; returns how many."""
        self._send(op="prewarm", paths=[str(folder)], scratch=str(self.logs / "scratch"))
        return int(self._read())

    def start(self, *argv: str) -> tuple[int, Path]:
        """Fork a child running ``qa.cli.main(argv)``; returns its pid and log file."""
        self.n += 1
        log = self.logs / f"child-{self.n}.log"
        self._send(op="fork", argv=list(argv), log=str(log))
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
                f"{i + 3} new homes and a park. The mayor said work starts in spring.\n")
    return folder


@pytest.fixture(scope="module")
def seed_index(work: Path, model) -> Path:
    """A saved index holding only the seed article (copy it before changing it)."""
    from qa.articles import read_file
    from qa.index import ArticleIndex

    path = work / "seed-index"
    idx = ArticleIndex.create(path, model_id=model.model_id, dimension=model.dimension)
    idx.add(read_file(SEED), model)
    return path


def fresh_copy(seed_index: Path, dest: Path) -> Path:
    shutil.copytree(seed_index, dest)
    return dest


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

    return [a.id for a in load_paths([folder]).articles]


def new_generation_dirs(index: Path, old: set[tuple[str, int]]) -> set[tuple[str, int]]:
    """Generation folders (name, inode) being written or written, not in ``old``."""
    found = set()
    for entry in os.scandir(index):
        if entry.name.startswith((".gen-", "gen-")):
            try:
                found.add((entry.name, entry.inode()))
            except OSError:
                pass
    return found - old


def live_generation(index: Path) -> str:
    return (index / "CURRENT").read_text().strip()


# ---- kill -9 ----------------------------------------------------------------------------

def test_kill_9_during_ingest_never_breaks_the_index(zygote: Zygote, batch: Path,
                                                     seed_index: Path, work: Path) -> None:
    from qa.index import ArticleIndex

    zygote.prewarm(batch)
    index = fresh_copy(seed_index, work / "kill-index")
    data = work / "data"
    baseline = ask_seed(index, data)
    assert baseline.short == SEED_SHORT
    ids = sorted(set(batch_ids(batch)))  # the BBC set holds a few duplicate stories
    n_batch = len(ids)

    def reset() -> None:
        idx = ArticleIndex.load(index)
        if len(idx.articles) > 1:
            idx.delete(ids)

    # One uninterrupted run: how long an ingest takes, and how long its write window is.
    before = live_generation(index)
    t0 = time.monotonic()
    pid, log = zygote.start("ingest", str(batch), "--index", str(index))
    write_started = None
    old = new_generation_dirs(index, set())
    while not _ended(pid):
        if write_started is None and new_generation_dirs(index, old):
            write_started = time.monotonic()
        time.sleep(0.002)
    duration = time.monotonic() - t0
    assert zygote.wait(pid) == 0, log.read_text()
    assert live_generation(index) != before
    assert held(ArticleIndex.load(index)) == 1 + n_batch
    write_window = max(0.02, duration - (write_started - t0)) if write_started else 0.2
    reset()

    rng = random.Random(20240917)
    outcomes = {"old generation kept": 0, "new generation complete": 0, "died mid-ingest": 0}
    survived = 0
    for i in range(N_KILLS):
        before = live_generation(index)
        pid, log = zygote.start("ingest", str(batch), "--index", str(index))
        if i % 2 == 0:  # anywhere in the run: reading, chunking, embedding, writing
            delay = rng.uniform(0.0, 0.9 * duration)
            time.sleep(delay)
            where = f"at {delay:.2f}s"
        else:  # inside the write: wait for a new generation folder to appear
            t_start = time.monotonic()
            old = new_generation_dirs(index, set())  # a killed run may have left one
            while not _ended(pid) and not new_generation_dirs(index, old):
                time.sleep(0.001)
            delay = rng.uniform(0.0, write_window)
            time.sleep(delay)
            where = f"{delay * 1000:.0f} ms into the write ({time.monotonic() - t_start:.2f}s)"
        os.kill(pid, signal.SIGKILL)
        rc = zygote.wait(pid)
        assert rc in (-signal.SIGKILL, 0), log.read_text()

        idx = ArticleIndex.load(index)  # must not raise
        n = held(idx)
        assert n in (1, 1 + n_batch), f"kill {i} {where}: {n} articles, a partial ingest"
        assert idx.manifest["counts"]["articles"] == len(idx.articles)
        assert len(idx.chunks) == len(idx.chunk_vectors)
        answer = ask_seed(index, data)
        assert answer.short == baseline.short, f"kill {i} {where}: {answer.text}"
        assert [c.quote for c in answer.citations] == [c.quote for c in baseline.citations]
        changed = live_generation(index) != before
        outcomes["new generation complete" if changed else "old generation kept"] += 1
        outcomes["died mid-ingest"] += rc == -signal.SIGKILL
        survived += 1
        print(f"\n  kill {i + 1:2d} {where}: rc {rc}, {n} articles, index loads and answers "
              f"'{answer.short}'", end="")
        reset()

    # After all that, a normal ingest still works (no stale lock) and cleans up leftovers.
    pid, log = zygote.start("ingest", str(batch), "--index", str(index))
    assert zygote.wait(pid) == 0, log.read_text()
    assert held(ArticleIndex.load(index)) == 1 + n_batch
    leftovers = sorted(n for n in os.listdir(index) if n.startswith((".gen-", "gen-"))
                       and n != live_generation(index))
    assert leftovers == [], leftovers
    print(f"\nkills survived: {survived}/{N_KILLS} ({outcomes['died mid-ingest']} died "
          f"mid-ingest, the others had just finished; {outcomes['old generation kept']} kept "
          f"the old generation, {outcomes['new generation complete']} the new one); "
          f"uninterrupted ingest of {n_batch} articles: {duration:.1f}s, write "
          f"{write_window * 1000:.0f} ms")


# ---- half-written files ------------------------------------------------------------------

@pytest.mark.parametrize("name, damage", [
    ("chunks.faiss", "truncate"),
    ("sentence_vectors.npy", "truncate"),
    ("articles.jsonl", "truncate"),
    ("bm25-chunks/vocab.index.json", "truncate"),
    ("chunks.jsonl", "empty"),
    ("sentences.faiss", "delete"),
    ("manifest.json", "truncate"),
])
def test_half_written_file_is_reported_by_name(seed_index: Path, tmp_path: Path, name: str,
                                               damage: str) -> None:
    from qa.errors import IndexCorruptError
    from qa.index import ArticleIndex

    index = fresh_copy(seed_index, tmp_path / "index")
    f = index / live_generation(index) / name
    if damage == "truncate":
        os.truncate(f, f.stat().st_size // 2)
    elif damage == "empty":
        os.truncate(f, 0)
    else:
        f.unlink()
    with pytest.raises(IndexCorruptError) as e:
        ArticleIndex.load(index)
    assert str(f) in str(e.value), str(e.value)
    assert "ingest again" in str(e.value)


@pytest.mark.parametrize("name", ["chunks.jsonl", "chunks.faiss", "sentences.npy",
                                  "bm25-sentences/params.index.json", "acronyms.json"])
def test_same_size_garbage_is_an_index_error_not_a_crash(seed_index: Path, tmp_path: Path,
                                                         name: str) -> None:
    from qa.errors import IndexCorruptError
    from qa.index import ArticleIndex

    index = fresh_copy(seed_index, tmp_path / "index")
    f = index / live_generation(index) / name
    f.write_bytes(bytes(random.Random(name).randrange(256) for _ in range(f.stat().st_size)))
    with pytest.raises(IndexCorruptError) as e:
        ArticleIndex.load(index)
    assert str(index) in str(e.value)


def test_cli_reports_a_damaged_index(zygote: Zygote, seed_index: Path, tmp_path: Path) -> None:
    index = fresh_copy(seed_index, tmp_path / "index")
    f = index / live_generation(index) / "chunks.faiss"
    os.truncate(f, 100)
    pid, log = zygote.start("ask", SEED_QUESTION, "--index", str(index))
    assert zygote.wait(pid, timeout=120) == 1
    out = log.read_text()
    assert "Traceback" not in out
    assert f"error: {f} is damaged" in out, out


# ---- two writers ---------------------------------------------------------------------------

def test_a_writer_waits_for_the_lock(zygote: Zygote, batch: Path, seed_index: Path,
                                     work: Path) -> None:
    from qa.index import ArticleIndex

    index = fresh_copy(seed_index, work / "lock-index")
    one = work / "one"
    one.mkdir()
    for f in sorted(batch.iterdir())[:3]:
        shutil.copy(f, one / f.name)
    holder = ArticleIndex.load(index)
    before = live_generation(index)
    with holder.write_lock():
        pid, log = zygote.start("ingest", str(one), "--index", str(index))
        time.sleep(3.0)
        assert not _ended(pid), "the writer did not wait for the lock: " + log.read_text()
        assert live_generation(index) == before
        assert not any(n.startswith(".gen-") for n in os.listdir(index))
    assert zygote.wait(pid) == 0, log.read_text()
    assert len(ArticleIndex.load(index).articles) == 4
    print("\nwriter blocked by the lock for 3 s, then finished: index holds 4 articles")


def test_two_ingests_at_once_keep_both_sets(zygote: Zygote, batch: Path, seed_index: Path,
                                            work: Path) -> None:
    from qa.index import ArticleIndex

    index = fresh_copy(seed_index, work / "two-writers")
    files = sorted(batch.iterdir())
    sets = [work / "set-a", work / "set-b"]
    for folder, part in zip(sets, (files[:15], files[15:])):
        folder.mkdir()
        for f in part:
            shutil.copy(f, folder / f.name)
    children = [zygote.start("ingest", str(folder), "--index", str(index)) for folder in sets]
    for pid, log in children:
        rc = zygote.wait(pid)
        assert rc == 0, log.read_text()
        assert "Traceback" not in log.read_text()
    idx = ArticleIndex.load(index)
    expected = {a for folder in sets for a in batch_ids(folder)}
    # every article is indexed or kept as a near-duplicate copy of one
    got = {a.id for a in idx.articles} | {c.article.id for c in idx.copies}
    assert expected <= got and len(got) == 1 + len(expected)
    assert len(idx.chunks) == len(idx.chunk_vectors) == idx.chunk_faiss.ntotal
    assert ask_seed(index, work / "data").short == SEED_SHORT
    print(f"\ntwo concurrent ingests: both exit 0, index holds {len(got)} articles "
          f"(1 seed + {len(expected)})")


def test_readers_during_writes_always_load_a_whole_generation(
        zygote: Zygote, batch: Path, seed_index: Path, work: Path) -> None:
    """`qa ask` or the UI may load the index while `qa ingest` swaps generations."""
    from qa.errors import QAError
    from qa.index import ArticleIndex

    index = fresh_copy(seed_index, work / "read-while-writing")
    small = work / "small-set"
    small.mkdir()
    for f in sorted(batch.iterdir())[:4]:
        shutil.copy(f, small / f.name)
    ids = sorted(set(batch_ids(small)))
    loads, failures = 0, []
    for round_ in range(4):
        for argv in (["ingest", str(small)], ["delete", *ids]):
            pid, log = zygote.start(*argv, "--index", str(index))
            while not _ended(pid):
                try:
                    idx = ArticleIndex.load(index)
                    assert held(idx) in (1, 1 + len(ids))
                    loads += 1
                except QAError as e:
                    failures.append(f"round {round_} {argv[0]}: {e}")
            assert zygote.wait(pid) == 0, log.read_text()
    print(f"\nloads during {4 * 2} writes: {loads}, failed: {len(failures)}")
    assert not failures, "\n".join(failures[:5])
