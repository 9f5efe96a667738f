"""The resource estimate: statement sizes equal to real builds without building, the memory
check and its override, and the Groth16 domain limit that no flag lifts."""
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hpc_zkfl.config import ConfigError, parse_config
from hpc_zkfl.fl.data import load_dataset
from hpc_zkfl.fl.simulation import spec_for_dataset
from hpc_zkfl.groth16.r1cs_to_qap import domain_size as qap_domain_size
from hpc_zkfl.models import NodeStatement
from hpc_zkfl.resources import (LOCAL_RANK_VARIABLES, SKIP_FLAG, available_memory,
                                check_resources, domain_size, estimate, local_ranks,
                                statement_size)

ROOT = Path(__file__).resolve().parents[1]
SMALL = "[data]\ndataset = \"breast_cancer\"\n[model]\nkind = \"logistic\"\n"
# 1.5 billion constraints: a domain of 2^31, beyond Fr's 2^28.
HUGE = "[model]\nkind = \"mlp\"\nhidden = 4096\nbatch_size = 1400\n"


@pytest.fixture(scope="module")
def datasets():
    return {name: load_dataset(name, 0) for name in ("digits", "breast_cancer")}


# (dataset, model, hidden units, batch size, learning rate, Merkle depth or None: no binding);
# the learning rate moves the update's truncation width.
STATEMENTS = [
    ("breast_cancer", "logistic", 0, 3, 0.5, None),
    ("breast_cancer", "ovr", 0, 5, 1e-4, 0),
    ("breast_cancer", "logistic", 0, 2, 30.0, 3),
    ("breast_cancer", "mlp", 3, 2, 2.0, None),
    ("breast_cancer", "mlp", 2, 3, 0.1, 2),
    ("digits", "mlp", 2, 3, 0.5, None),
    ("digits", "mlp", 1, 1, 0.25, 1),
    ("digits", "ovr", 0, 3, 0.5, None),             # ten rows: two packs of five
    ("digits", "ovr", 0, 2, 1e-3, 1),
]


@pytest.mark.parametrize("public", [False, True], ids=["committed", "public"])
@pytest.mark.parametrize("name,model,hidden,batch,lr,depth", STATEMENTS)
def test_statement_size_equals_the_real_build(datasets, name, model, hidden, batch, lr, depth,
                                              public):
    spec = spec_for_dataset(datasets[name], model, batch, lr, 4.0, hidden=hidden,
                            data_binding=depth is not None, merkle_depth=depth or 0,
                            verifier_checks_update=public)
    r1cs = NodeStatement(spec).r1cs
    size = statement_size(spec)
    assert (size.constraints, size.wires, size.public) == (r1cs.n_constraints, r1cs.n_wires,
                                                          r1cs.n_public)
    assert 0 < size.hashing < size.constraints if depth is not None else size.hashing == 0
    assert domain_size(size.constraints, size.public) == qap_domain_size(r1cs)


@pytest.mark.parametrize("text", [
    SMALL + "batch_size = 4\ndata_binding = true\n",                  # iid: the depth fitted
    "[data]\ndataset = \"breast_cancer\"\npartition = \"shared\"\nsamples_per_node = 5\n"
    "[nodes]\ncount = 40\n[model]\nkind = \"logistic\"\nbatch_size = 3\ndata_binding = true\n",
])
def test_estimate_is_the_runs_statement(text):
    from hpc_zkfl.fl.federation import build_federation
    cfg = parse_config(text)
    r1cs = build_federation(cfg).statement.r1cs
    est = estimate(cfg)
    assert (est.constraints, est.wires, est.public) == (r1cs.n_constraints, r1cs.n_wires,
                                                       r1cs.n_public)


def test_key_size_is_the_key_files():
    from hpc_zkfl.groth16 import setup
    from hpc_zkfl.groth16.formats import pk_to_bytes
    from hpc_zkfl.fl.federation import build_federation
    cfg = parse_config(SMALL + "batch_size = 1\n")
    r1cs = build_federation(cfg).statement.r1cs
    assert len(pk_to_bytes(setup(r1cs, rng=random.Random(1)))) == estimate(cfg).key_bytes


def test_memory_check_and_its_override():
    cfg = parse_config(SMALL, "small.toml")
    est = estimate(cfg)
    assert est.rank_bytes > 400 << 20 and est.domain_size == 4096
    assert check_resources(cfg, available=2 * est.rank_bytes, ranks=2) == est
    with pytest.raises(ConfigError) as exc:
        check_resources(cfg, available=2 * est.rank_bytes, ranks=3)
    message = str(exc.value)
    assert message.startswith(f"small.toml: one rank needs about 0.4 GiB ({est.constraints:,} "
                              f"constraints, domain 2^{est.domain_log2}") and \
        "for 3 rank(s)" in message
    assert SKIP_FLAG in message and "\n" not in message
    assert check_resources(cfg, skip_memory=True, available=1, ranks=3) == est


def test_the_domain_limit_cannot_be_overridden():
    cfg = parse_config(HUGE, "huge.toml")
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match=r"^huge\.toml: the node statement has "
                                          r"1,4\d\d,\d{3},\d{3} "
                                          r"constraints: its Groth16 domain would be 2\^31, "
                                          r"beyond 2\^28"):
        check_resources(cfg, skip_memory=True)
    assert time.perf_counter() - t0 < 2.0           # no circuit is built


@pytest.mark.parametrize("text,message", [
    ("[data]\ndataset = \"breast_cancer\"\n[nodes]\ncount = 500\n",
     "count = 500 is more than the 456 training samples of breast_cancer"),
    ("[model]\nbatch_size = 2000\n", "batch_size = 2000 is more than the 1438 training"),
    ("[data]\npartition = \"shared\"\nsamples_per_node = 1500\n",
     "samples_per_node = 1500 is more than the 1438"),
    (SMALL + "data_binding = true\nmerkle_depth = 5\n",
     "merkle_depth = 5 holds 32 samples, but the largest node holds 46 or more"),
    (SMALL + "learning_rate = 1e-300\n", "the node statement cannot be built"),
    (SMALL + "norm_bound = 1e200\n", "the node statement cannot be built"),
])
def test_sizes_against_the_dataset(text, message):
    with pytest.raises(ConfigError, match=message):
        estimate(parse_config(text))


def test_more_nodes_than_samples_share_them():
    cfg = parse_config("[data]\ndataset = \"breast_cancer\"\npartition = \"shared\"\n"
                       "[nodes]\ncount = 100000\n")
    assert estimate(cfg).constraints > 0


def test_local_ranks_from_the_launchers():
    assert local_ranks({}) == 1
    assert local_ranks({"MPI_LOCALNRANKS": "4"}) == 4
    assert local_ranks({"OMPI_COMM_WORLD_LOCAL_SIZE": "8", "SLURM_TASKS_PER_NODE": "2"}) == 8
    assert local_ranks({"SLURM_NTASKS_PER_NODE": "6"}) == 6
    assert local_ranks({"SLURM_TASKS_PER_NODE": "2(x3),5"}) == 5
    assert local_ranks({"MPI_LOCALNRANKS": "", "SLURM_TASKS_PER_NODE": "junk"}) == 1
    assert available_memory() > 0


def _cli(*args, env=None):
    """(exit status, stderr) of `python -m hpc_zkfl.cli`, with no launcher's rank count."""
    clean = {k: v for k, v in os.environ.items() if k not in LOCAL_RANK_VARIABLES}
    proc = subprocess.run([sys.executable, "-m", "hpc_zkfl.cli", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, env={**clean, **(env or {})})
    return proc.returncode, proc.stderr


def test_cli_refuses_a_huge_batch_at_once(tmp_path):
    path = tmp_path / "cfg.toml"
    path.write_text("[model]\nbatch_size = 100000\n")
    t0 = time.perf_counter()
    code, err = _cli("run", path)
    assert time.perf_counter() - t0 < 10
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert "batch_size must be an integer >= 1 and <= 65,536" in err and "100000" in err


def test_cli_memory_refusal_names_the_flag_which_lifts_it(tmp_path):
    path = tmp_path / "cfg.toml"
    out = tmp_path / "exists.h5"
    path.write_text(SMALL)
    out.write_bytes(b"")
    many = {"MPI_LOCALNRANKS": "1000000000"}        # this host's memory shared by a billion
    code, err = _cli("run", path, "--output", out, env=many)
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert "for 1000000000 rank(s)" in err and SKIP_FLAG in err
    # With the flag the check passes, and the next one (an existing results file) stops it.
    code, err = _cli("run", path, "--output", out, SKIP_FLAG, env=many)
    assert code == 2 and "exists; pass --resume" in err


def test_cli_domain_limit_ignores_the_flag(tmp_path):
    path = tmp_path / "cfg.toml"
    path.write_text(HUGE)
    code, err = _cli("run", path, SKIP_FLAG)
    assert code == 2 and len(err.splitlines()) == 1 and "beyond 2^28" in err


def test_dirichlet_depth_is_bounded_from_above():
    """A Dirichlet partition is drawn later: the depth estimated holds its largest node."""
    from hpc_zkfl.fl.federation import build_federation
    cfg = parse_config(SMALL.replace("[model]", "partition = \"dirichlet\"\n[model]")
                       + "batch_size = 2\ndata_binding = true\n")
    assert estimate(cfg).constraints >= build_federation(cfg).statement.n_constraints
