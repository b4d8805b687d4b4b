"""How tests/data/legacy-format2 was made: a format-2 index written by the code of 34a007f
(the last commit with generation folders), for tests/test_index.py's conversion tests.

Run from a checkout of that commit, with this project's virtual environment::

    git worktree add /tmp/oldqa 34a007f
    cd /tmp/oldqa && QA_BACKEND=torch /work/main/.venv/bin/python \\
        /work/main/tests/data/make_legacy_index.py SRC_FOLDER /work/main/tests/data/legacy-format2
    git worktree remove /tmp/oldqa

SRC_FOLDER held seeds/national-post-hajin.txt, BBC News business/010.txt and tech/039.txt,
and copy-business-010.txt (business/010.txt with two phrases edited: a near-duplicate the old
ingest keeps as a copy of the original, not indexed).
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path.cwd()))  # the old checkout's qa package
    from qa.engine import QA
    from qa.settings import Settings

    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    engine = QA(Settings(data_dir=out.parent / ".legacy-data", index_dir=out))
    result = engine.ingest([str(src)])
    print(result.to_dict())
