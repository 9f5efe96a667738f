"""Fixtures of the Groth16 tests: snarkjs from npm, installed once per session."""
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "vectors"))
import gen_circom  # noqa: E402  (npm set-up shared with the circom vectors)


@pytest.fixture(scope="session")
def npm_prefix(tmp_path_factory):
    """A prefix holding snarkjs and circom from npm; the test is skipped without node/npm."""
    reason = gen_circom.node_tools_missing()
    if reason:
        pytest.skip(f"snarkjs interop needs node and npm: {reason}")
    prefix = tmp_path_factory.mktemp("npm")
    try:
        gen_circom.install(prefix)
    except (subprocess.SubprocessError, OSError) as exc:
        pytest.skip(f"could not npm-install snarkjs into {prefix}: {exc}")
    return prefix
