import os
import subprocess
import sys
from pathlib import Path

import pytest

import hpc_zkfl
from hpc_zkfl import cli

ROOT = Path(__file__).resolve().parents[1]


def _run(*args):
    return subprocess.run(
        [sys.executable, "-m", "hpc_zkfl.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_info_reports_threading_layer_and_cores():
    proc = _run("info")
    assert proc.returncode == 0, proc.stderr
    lines = {line.split("  ")[0]: line for line in proc.stdout.splitlines()}
    assert lines["hpc-zkfl"].split() == ["hpc-zkfl", hpc_zkfl.__version__]
    layer = lines["numba threading layer"]
    assert any(name in layer for name in ("tbb", "omp", "workqueue")), layer
    assert lines["cpu cores"].split()[2] == str(os.cpu_count())
    assert "NUMBA_NUM_THREADS" in lines


def test_version():
    proc = _run("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"hpc-zkfl {hpc_zkfl.__version__}"


@pytest.mark.parametrize("argv", [["no-such-command"], [], ["info", "--no-such-option"]])
def test_usage_errors_exit_2_with_one_line(argv):
    proc = _run(*argv)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith("hpc-zkfl: error: ")


def test_failing_command_exits_2_with_one_line(monkeypatch, capsys):
    def broken(args):
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(cli, "_COMMANDS", dict(cli._COMMANDS))
    cli.command("broken", help="always fails")(broken)
    assert cli.main(["broken"]) == 2
    err = capsys.readouterr().err
    assert err == "hpc-zkfl: error: RuntimeError: disk on fire second line\n"
