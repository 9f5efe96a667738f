"""A second process loads the numba machine code from the on-disk cache, not recompiles."""
import os
import subprocess
import sys
from pathlib import Path


SNIPPET = """
import time
t = time.perf_counter()
from hpc_zkfl.algebra.fields import FR
from hpc_zkfl.algebra._jit import CACHE_DIR
a = FR.encode(range(1, 9))
assert FR.decode(FR.mul(a, a)) == [i * i for i in range(1, 9)]
print(CACHE_DIR, time.perf_counter() - t)
"""


def _run(cache_root):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_root), NUMBA_DEBUG_CACHE="1")
    out = subprocess.run([sys.executable, "-c", SNIPPET], env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    return out.stdout


def _snapshot(root: Path):
    return {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def test_second_process_loads_cached_code(tmp_path):
    first = _run(tmp_path)
    assert "data saved" in first                       # the cold process compiled and stored
    files = _snapshot(tmp_path)
    assert any(p.suffix == ".nbc" for p in files)
    second = _run(tmp_path)
    assert "data loaded" in second and "data saved" not in second
    assert _snapshot(tmp_path) == files                # nothing recompiled, nothing rewritten
    # The cache directory is keyed on the sources, inside the user's NUMBA_CACHE_DIR.
    assert second.split()[-2].startswith(str(tmp_path))
