"""`hpc-zkfl report`: the summary table's figures for two hand-made runs, and the PNG plots."""
import re

import numpy as np
import pytest

from hpc_zkfl.io.report import PLOT_FILES, run_report, summarize, write_plots
from hpc_zkfl.io.retention import (clean_summary, retention_rows, retention_table,
                                   write_retention_plots)
from hpc_zkfl.io.results import (RejectReason, ResultsFileError, ResultsWriter, RoundRecord,
                                 load_results)

A, L, I, S = (RejectReason.ACCEPTED, RejectReason.LATE, RejectReason.INVALID_PROOF,
              RejectReason.NOT_SELECTED)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def make_run(path, config, kinds, reasons, accuracy, proof_time, verify_time, total):
    """A results file with the given per-round reject reasons (rounds x nodes) and figures."""
    reasons = np.asarray(reasons, dtype=np.int8)
    n_rounds, n = reasons.shape
    kinds = list(kinds)
    malicious = np.array([k != "none" for k in kinds])
    meta = {"config_toml": "", "config": config, "n_ranks": 2}
    w = np.zeros(3, dtype=np.int64)
    with ResultsWriter.create(path, meta, n, 3, 16, malicious, kinds, w) as writer:
        for t in range(1, n_rounds + 1):
            r = reasons[t - 1]
            late = r == L
            w = w + t
            writer.append_round(RoundRecord.build(
                round=t, accuracy=accuracy[t - 1], loss=1.0 / t, accepted=r == A,
                reject_reason=r, late=late,
                proof_time=np.where(late, np.nan, proof_time[t - 1]),
                verify_time=np.where(late, 0.0, verify_time), update_norm=np.ones(n), w=w,
                times={"total": total[t - 1]}))
    return path


@pytest.fixture
def two_runs(tmp_path):
    # Run "attacked": 4 nodes, node 3 flips signs and is rejected every round; node 2 is late
    # in round 2.  Proofs take 1, 2, 3 s in rounds 1-3; verification 4 ms per node.
    attacked = make_run(
        tmp_path / "attacked.h5",
        {"data": {"dataset": "digits"}, "model": {"kind": "ovr"},
         "attack": {"kind": "sign_flip", "fraction": 0.25},
         "aggregation": {"strategy": "fedavg", "proofs": True}},
        ["none", "none", "none", "sign_flip"],
        [[A, A, A, I], [A, A, L, I], [A, A, A, I]],
        accuracy=[0.5, 0.75, 0.625], proof_time=[1.0, 2.0, 3.0], verify_time=0.004,
        total=[10.0, 20.0, 30.0])
    # Run "krum": no attack, an unproven Krum leaves one honest node out per round; the
    # config lacks the data and model sections (read defensively: "-").
    krum = make_run(
        tmp_path / "krum.h5",
        {"attack": {"kind": "none", "fraction": 0.0},
         "aggregation": {"strategy": "krum", "proofs": False}},
        ["none", "none", "none"],
        [[A, S, A], [S, A, A]],
        accuracy=[0.9, 0.8], proof_time=[0.0, 0.0], verify_time=0.0, total=[1.5, 2.5])
    return [load_results(attacked), load_results(krum)]


def parse_table(text):
    """{run: {column: cell}} from summarize's table (the dashed line gives the columns)."""
    lines = text.splitlines()
    header, dashes = lines[0], lines[1]
    spans, start = [], 0
    for dash in dashes.split("  "):
        spans.append((start, start + len(dash)))
        start += len(dash) + 2
    names = [header[a:b].strip() for a, b in spans]
    rows = {}
    for line in lines[2:]:
        if not line.strip():
            break
        cells = [line[a:b].strip() for a, b in spans]
        rows[cells[0]] = dict(zip(names, cells))
    return rows


def test_summary_figures(two_runs):
    text = summarize(two_runs)
    rows = parse_table(text)
    assert set(rows) == {"attacked", "krum"}

    a = rows["attacked"]
    assert (a["dataset"], a["model"], a["attack"], a["fraction"], a["strategy"]) == \
        ("digits", "ovr", "sign_flip", "0.25", "fedavg")
    assert a["rounds"] == "3"
    assert a["final acc"] == "0.6250" and a["best acc"] == "0.7500"
    assert (a["accepted"], a["rejected"], a["late"]) == ("8", "3", "1")
    assert (a["rej malicious"], a["rej honest"]) == ("3", "0")
    assert a["proof s/node"] == f"{(4 * 1 + 3 * 2 + 4 * 3) / 11:.3f}"     # late: no proof
    assert a["verify ms/node"] == "4.00"
    assert a["round s"] == "20.00"

    k = rows["krum"]
    assert (k["dataset"], k["model"], k["attack"], k["fraction"]) == ("-", "-", "none", "0")
    assert k["strategy"] == "krum (no proofs)"
    assert k["final acc"] == "0.8000" and k["best acc"] == "0.9000"
    assert (k["accepted"], k["rejected"], k["late"]) == ("4", "2", "0")
    assert (k["rej malicious"], k["rej honest"]) == ("0", "2")            # false rejections
    assert k["proof s/node"] == "-" and k["verify ms/node"] == "-"
    assert k["round s"] == "2.00"

    assert "attacked: INVALID_PROOF 3, LATE 1" in text
    assert "krum: NOT_SELECTED 2" in text


def test_plots_are_png_files(two_runs, tmp_path):
    out = tmp_path / "plots" / "nested"
    paths = write_plots(two_runs, out)
    assert [p.name for p in paths] == list(PLOT_FILES)
    for p in paths:
        data = p.read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000, p


def test_run_report(two_runs, tmp_path):
    out = tmp_path / "report"
    text = run_report([r.path for r in two_runs], out)
    assert parse_table(text).keys() == {"attacked", "krum"}
    for name in PLOT_FILES:
        assert str(out / name) in text and (out / name).stat().st_size > 10_000


def test_report_of_a_run_without_rounds_and_same_stems(tmp_path):
    # Two results.h5 in different folders: labelled by folder; no complete round: "-".
    empty = make_run(tmp_path / "a" / "results.h5", {}, ["none", "x"], np.zeros((0, 2)),
                     [], [], 0.0, [])
    one = make_run(tmp_path / "b" / "results.h5", {}, ["none", "x"], [[A, I]], [0.5], [1.0],
                   0.01, [3.0])
    text = run_report([empty, one], tmp_path / "plots")
    rows = parse_table(text)
    assert set(rows) == {"a/results", "b/results"}
    assert rows["a/results"]["final acc"] == "-" and rows["a/results"]["round s"] == "-"
    assert rows["a/results"]["attack"] == "-" and rows["b/results"]["rej malicious"] == "1"
    assert len(list((tmp_path / "plots").glob("*.png"))) == len(PLOT_FILES)


def test_report_of_a_bad_file(tmp_path):
    bad = tmp_path / "notes.h5"
    bad.write_text("not a results file")
    with pytest.raises(ResultsFileError, match="notes.h5: not an HDF5 file"):
        run_report([bad], tmp_path / "plots")


def retention_config(partition, attack, fraction, strategy="fedavg", proofs=True, rounds=2,
                     name="x", seed=0):
    return {"run": {"name": name, "rounds": rounds, "seed": seed, "output": f"{name}.h5"},
            "data": {"dataset": "digits", "partition": partition, "dirichlet_alpha": 0.5},
            "nodes": {"count": 2, "per_rank": 0}, "model": {"kind": "ovr"},
            "attack": {"kind": attack, "fraction": fraction},
            "aggregation": {"strategy": strategy, "proofs": proofs}}


def test_retention_table_and_plots(tmp_path):
    """Retention = final accuracy / the clean FedAvg run's of the same setting; runs of
    another setting, incomplete runs and settings without a baseline are left out."""
    runs = [  # (partition, attack, fraction, strategy, proofs, final accuracy, rounds written)
        ("iid", "none", 0.0, "fedavg", False, 0.80, 2),
        ("iid", "none", 0.0, "fedavg", True, 0.70, 2),        # the unproven one is the baseline
        ("iid", "sign_flip", 0.3, "fedavg", True, 0.80, 2),
        ("iid", "sign_flip", 0.3, "fedavg", False, 0.20, 2),
        ("iid", "sign_flip", 0.3, "median", False, 0.60, 2),
        ("iid", "label_flip", 0.5, "fedavg", True, 0.40, 2),
        ("iid", "scaling", 0.3, "krum", False, 0.9, 1),        # incomplete: left out
        ("dirichlet", "none", 0.0, "fedavg", False, 0.50, 2),
        ("dirichlet", "sign_flip", 0.3, "fedavg", True, 0.45, 2),
        ("shared", "sign_flip", 0.3, "fedavg", True, 0.45, 2),  # no baseline: left out
    ]
    results = []
    for k, (part, attack, frac, strategy, proofs, acc, written) in enumerate(runs):
        cfg = retention_config(part, attack, frac, strategy, proofs, name=f"r{k}")
        path = make_run(tmp_path / f"r{k}.h5", cfg, ["none", "none"], [[A, A]] * written,
                        accuracy=[0.1, acc][:written], proof_time=[1.0] * written,
                        verify_time=0.0, total=[1.0] * written)
        results.append(load_results(path))
    rows = retention_rows(results)
    got = {(r.setting, r.attack, r.defense): round(r.retention, 6) for r in rows}
    assert got == {("iid", "sign_flip", "proofs"): 1.0, ("iid", "sign_flip", "fedavg"): 0.25,
                   ("iid", "sign_flip", "median"): 0.75, ("iid", "label_flip", "proofs"): 0.5,
                   ("dirichlet0.5", "sign_flip", "proofs"): 0.9}
    headers, table = retention_table(rows, ("sign_flip", "label_flip"))
    assert headers == ["setting", "attack", "malicious", "proofs", "fedavg", "median"]
    assert table[0] == ["dirichlet0.5", "sign_flip", "30%", "90.0%", "-", "-"]
    assert table[1] == ["iid", "sign_flip", "30%", "100.0%", "25.0%", "75.0%"]
    assert table[2] == ["iid", "label_flip", "50%", "50.0%", "-", "-"]
    plots = write_retention_plots(rows, tmp_path / "plots")
    assert sorted(p.name for p in plots) == ["retention_dirichlet0.5.png", "retention_iid.png"]
    assert all(p.read_bytes()[:8] == PNG_SIGNATURE for p in plots)
    text = run_report([r.path for r in results], tmp_path / "report")
    assert "accuracy retention" in text and "retention_iid.png" in text
    assert re.search(r"\niid +sign_flip +30% +100\.0% +25\.0% +75\.0%\n", text)


def test_retention_over_seeds(tmp_path):
    """Each run is divided by the clean run of its own seed; a cell is the mean over seeds with
    the range; a seed without its clean run is left out."""
    runs = [  # (seed, attack, proofs, final accuracy)
        (0, "none", False, 0.80), (0, "sign_flip", True, 0.80), (0, "sign_flip", False, 0.40),
        (1, "none", False, 0.90), (1, "sign_flip", True, 0.81), (1, "sign_flip", False, 0.45),
        (2, "sign_flip", True, 0.10),                          # no clean run of seed 2
    ]
    results = []
    for k, (seed, attack, proofs, acc) in enumerate(runs):
        cfg = retention_config("iid", attack, 0.3 if attack != "none" else 0.0, proofs=proofs,
                               name=f"s{k}", seed=seed)
        path = make_run(tmp_path / f"s{k}.h5", cfg, ["none", "none"], [[A, A]] * 2,
                        accuracy=[0.1, acc], proof_time=[1.0] * 2, verify_time=0.0,
                        total=[1.0] * 2)
        results.append(load_results(path))
    rows = retention_rows(results)
    assert sorted((r.seed, r.defense, round(r.retention, 6)) for r in rows) == \
        [(0, "fedavg", 0.5), (0, "proofs", 1.0), (1, "fedavg", 0.5), (1, "proofs", 0.9)]
    headers, table = retention_table(rows)
    assert headers == ["setting", "attack", "malicious", "seeds", "proofs", "fedavg"]
    assert table == [["iid", "sign_flip", "30%", "2", "95.0% (90.0-100.0)", "50.0% (50.0-50.0)"]]
    assert clean_summary(rows) == "iid 0.850 (0.800-0.900, 2 seeds)"
    plots = write_retention_plots(rows, tmp_path / "plots")
    assert [p.name for p in plots] == ["retention_iid.png"]


def test_idle_nodes_are_not_rejections(tmp_path):
    path = make_run(tmp_path / "sampled.h5", {"attack": {"kind": "none"}}, ["none"] * 3,
                    [[A, RejectReason.IDLE, I], [RejectReason.IDLE, A, RejectReason.IDLE]],
                    accuracy=[0.5, 0.6], proof_time=[1.0, 1.0], verify_time=0.0,
                    total=[1.0, 1.0])
    res = load_results(path)
    assert res.rounds["idle"].tolist() == [1, 2]
    assert res.rounds["rejected"].tolist() == [1, 0]
    assert parse_table(summarize([res]))["sampled"]["rejected"] == "1"
