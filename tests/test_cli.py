"""The `qa` command line, run as a real subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, SEED_QUESTION, SEED_SENTENCE


def run_qa(*args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "qa.cli", *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=300)


def test_help_lists_every_subcommand():
    out = run_qa("--help").stdout
    for sub in ("ingest", "ask", "search", "list", "delete", "serve", "eval"):
        assert sub in out
    ask_help = run_qa("ask", "--help").stdout
    assert "--json" in ask_help and "-k N" in ask_help and "--index DIR" in ask_help


def test_ask_json_on_seed(seed_index_dir: Path, tmp_path: Path, seed_article):
    index = tmp_path / "index"
    shutil.copytree(seed_index_dir, index)
    r = run_qa("ask", SEED_QUESTION, "--json", "-k", "3", "--index", str(index))
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["short"] == "between two and three months"
    assert d["abstained"] is False
    c = d["citations"][0]
    assert c["quote"] == SEED_SENTENCE
    assert seed_article.text[c["start"]:c["end"]] == c["quote"]
    assert len(d["passages"]) <= 3


def test_ingest_then_ask_and_unanswerable(tmp_path: Path):
    index = tmp_path / "index"
    r = run_qa("ingest", str(ROOT / "seeds"), env_extra={"QA_INDEX": str(index)})
    assert r.returncode == 0, r.stderr
    assert "1 added" in r.stdout
    r = run_qa("ingest", str(ROOT / "seeds"), env_extra={"QA_INDEX": str(index)})
    assert "1 unchanged" in r.stdout
    r = run_qa("ask", "How many fighters does the Islamic State still have in Hajin?",
               env_extra={"QA_INDEX": str(index)})
    assert r.returncode == 0
    assert r.stdout.startswith("The articles don't say")
    assert "Closest passages" in r.stdout


def test_user_errors_exit_1_without_traceback(tmp_path: Path):
    r = run_qa("ask", "  ", "--index", str(tmp_path / "i"))
    assert r.returncode == 1 and "error: the question is empty" in r.stderr
    assert "Traceback" not in r.stderr
    bad = tmp_path / "bad.docx"
    bad.write_bytes(b"PK\x03\x04")
    r = run_qa("ingest", str(bad), "--index", str(tmp_path / "i"))
    assert r.returncode == 1 and "unsupported file type" in r.stderr


def test_ask_about_one_article_and_bad_filter_dates(tmp_path: Path):
    index = tmp_path / "index"
    other = tmp_path / "bridge.json"
    other.write_text(json.dumps({"title": "Bridge reopens", "source": "Harbour Times",
                                 "text": "The Harbour bridge reopened on Monday after nine "
                                         "weeks of repairs."}))
    r = run_qa("ingest", str(ROOT / "seeds"), str(other), "--index", str(index))
    assert r.returncode == 0, r.stderr
    listed = run_qa("list", "--json", "--index", str(index))
    ids = {a["source"]: a["id"] for a in json.loads(listed.stdout)}
    for outlet in ("National Post", "Harbour Times"):
        r = run_qa("ask", "Which newspaper ran this story?", "--json", "--article", ids[outlet],
                   "--index", str(index))
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["short"] == outlet
    r = run_qa("ask", SEED_QUESTION, "--since", "11/09/2018", "--index", str(index))
    assert r.returncode == 1 and "YYYY-MM-DD" in r.stderr and "Traceback" not in r.stderr
