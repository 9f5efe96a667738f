"""The round protocol in one process (hpc_zkfl.fl.protocol): a run resumed after its last
complete round ends where an uninterrupted one does, and the in-memory recorder sees the same
rounds as the results file."""
import numpy as np

from small_run import SMALL_RUN, toml_text
from hpc_zkfl.config import parse_config
from hpc_zkfl.fl.federation import build_federation
from hpc_zkfl.fl.protocol import InProcess, RoundLog, RoundPlan, run_in_process, run_rounds
from hpc_zkfl.io.results import load_results

def config(rounds: int, proofs: bool):
    """The shared small run (tests/conftest.py), seed 4, batch 8, one sign-flipper of 4."""
    sections = {name: dict(keys) for name, keys in SMALL_RUN.items()}
    sections["run"] = {"seed": 4, "rounds": rounds}
    sections["model"]["batch_size"] = 8
    sections["aggregation"] = {"proofs": proofs}
    sections["attack"] = {"kind": "sign_flip", "fraction": 0.25}
    return parse_config(toml_text(sections))


def test_a_resumed_in_process_run_ends_like_a_whole_one(tmp_path):
    whole, part = tmp_path / "whole.h5", tmp_path / "part.h5"
    run_in_process(config(3, True), whole)
    run_in_process(config(1, True), part)
    key = part.with_suffix(".pk").read_bytes()
    run_in_process(config(3, True), part, resume=True)
    assert part.with_suffix(".pk").read_bytes() == key              # the run's key, reused
    a, b = load_results(whole), load_results(part)
    assert np.array_equal(a.models, b.models)
    assert np.array_equal(a.nodes["reject_reason"], b.nodes["reject_reason"])
    assert len(b.metadata["resumes"]) == 1


def test_the_round_log_sees_what_the_file_records(tmp_path):
    cfg = config(2, False)
    out = tmp_path / "run.h5"
    run_in_process(cfg, out)
    fed = build_federation(cfg)
    log = RoundLog()
    run_rounds(RoundPlan.of(cfg, 1), fed, InProcess(fed), log, fed.initial_model(), None)
    res = load_results(out)
    assert [r.round for r in log.records] == [1, 2]
    assert np.array_equal(np.stack([r.w for r in log.records]), res.models[1:])
    assert np.array_equal(np.stack([r.reject_reason for r in log.records]),
                          res.nodes["reject_reason"])
