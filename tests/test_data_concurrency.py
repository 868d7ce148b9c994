"""Several processes sharing one empty cache, as a sweep's workers do: they fetch and build
each file once, and all of them end with the same complete bytes.

Each test starts its processes together (they wait at a barrier of files), so that they
really race; a lock that does not hold shows up as a failed process, a second build or
different bytes.
"""

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scalinglaws.data.download import relative_path, sha256_of

MIRROR = os.environ.get("SCALINGLAWS_DATA_MIRROR")
needs_mirror = pytest.mark.skipif(not MIRROR, reason="set SCALINGLAWS_DATA_MIRROR")

# Run first in every process: wait until all of them have started, then go at once.
BARRIER = """
import pathlib, sys, time
barrier = pathlib.Path(sys.argv[1])
(barrier / f"ready-{sys.argv[2]}").touch()
while not (barrier / "go").exists():
    time.sleep(0.001)
"""


def run_together(code: str, processes: int, barrier: Path, env: dict, *args: str,
                 timeout: float = 300) -> list[str]:
    """Start ``processes`` copies of ``code`` so that they run it at the same moment; their stdout.

    ``code`` finds ``args`` from ``sys.argv[3]`` on (1 and 2 are the barrier's).
    """
    barrier.mkdir()
    children = [subprocess.Popen([sys.executable, "-c", BARRIER + code, str(barrier), str(index),
                                  *args],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env={**os.environ, **env})
                for index in range(processes)]
    deadline = time.monotonic() + timeout
    while len(list(barrier.glob("ready-*"))) < processes and time.monotonic() < deadline:
        time.sleep(0.01)
    (barrier / "go").touch()
    outputs = []
    for child in children:
        stdout, stderr = child.communicate(timeout=timeout)
        assert child.returncode == 0, stderr
        outputs.append(stdout)
    return outputs


def leftovers(folder: Path) -> list[str]:
    """Temporary and lock files left in ``folder``: there should be none."""
    return sorted(str(p) for p in folder.rglob("*") if p.suffix in (".part", ".lock"))


DOWNLOAD = """
import json
from scalinglaws.data import download as module
copies = []
copy = module._copy
module._copy = lambda *a, **k: copies.append(1) or copy(*a, **k)
url, sha256, cache, mirror = sys.argv[3:]
path = module.download(url, sha256, root=pathlib.Path(cache), mirror=pathlib.Path(mirror),
                       progress=False)
print(json.dumps({"copies": len(copies), "sha256": module.sha256_of(path)}))
"""


def test_processes_racing_one_download_copy_it_once(tmp_path):
    url = "https://example.org/data/big.bin"
    content = os.urandom(32 << 20)  # still being copied when the other processes arrive
    sha = hashlib.sha256(content).hexdigest()
    mirror, cache = tmp_path / "mirror", tmp_path / "cache"
    (mirror / relative_path(url)).parent.mkdir(parents=True)
    (mirror / relative_path(url)).write_bytes(content)
    outputs = run_together(DOWNLOAD, 4, tmp_path / "barrier", {}, url, sha, str(cache), str(mirror))
    results = [json.loads(out) for out in outputs]
    assert [r["sha256"] for r in results] == [sha] * 4
    assert sum(r["copies"] for r in results) == 1
    assert leftovers(cache) == []


LOAD = """
import hashlib, json
from scalinglaws.data import corpus
builds = []
build = corpus._build
corpus._build = lambda *a, **k: builds.append(1) or build(*a, **k)
name = sys.argv[3]
hashes = {split: hashlib.sha256(bytes(corpus.load_tokens(name, split, progress=False))).hexdigest()
          for split in corpus.SPLITS}
print(json.dumps({"builds": len(builds), "sha256": hashes}))
"""


@needs_mirror
@pytest.mark.parametrize("name, processes", [("shakespeare", 3), ("default", 2)])
def test_processes_loading_one_corpus_into_an_empty_cache_build_it_once(tmp_path, name, processes):
    cache = tmp_path / "cache"
    outputs = run_together(LOAD, processes, tmp_path / "barrier",
                           {"SCALINGLAWS_CACHE": str(cache), "SCALINGLAWS_DATA_MIRROR": MIRROR}, name)
    results = [json.loads(out) for out in outputs]
    assert sum(r["builds"] for r in results) == 1  # the others waited and reused that build
    (record,) = (cache / "tokens").glob(f"{name}-*.json")
    info = json.loads(record.read_text())
    assert [r["sha256"] for r in results] == [info["sha256"]] * processes
    for split, sha256 in info["sha256"].items():
        assert sha256_of(Path(info["paths"][split])) == sha256
    assert leftovers(cache) == []
