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


def _multiplier_r1cs(path):
    from hpc_zkfl.circuit.builder import ConstraintSystem
    from hpc_zkfl.circuit.iden3 import save_r1cs

    cs = ConstraintSystem()
    a = cs.public_input("a")
    b = cs.private_input("b")
    cs.public_output("c", cs.mul(a, b))
    r1cs, _ = cs.compile()
    save_r1cs(r1cs, path)
    return r1cs


def test_r1cs_info(tmp_path, capsys):
    from hpc_zkfl.cli import main

    r1cs = _multiplier_r1cs(tmp_path / "m.r1cs")
    assert main(["r1cs", "info", str(tmp_path / "m.r1cs")]) == 0
    out = capsys.readouterr().out
    assert f"constraints     {r1cs.n_constraints}" in out
    assert "public outputs  1" in out and "public inputs   1" in out and "private inputs  1" in out


@pytest.mark.parametrize("content", [None, b"", b"r1cs\x01\x00\x00\x00", b"not an r1cs file at all"])
def test_r1cs_info_refuses_bad_files_in_one_line(tmp_path, content):
    path = tmp_path / "bad.r1cs"
    if content is not None:
        path.write_bytes(content)
    proc = subprocess.run([sys.executable, "-m", "hpc_zkfl.cli", "r1cs", "info", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
