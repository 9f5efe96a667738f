"""The run's phase 2 (fl/ceremony.py): the leader's and the helper's contributions, what a
node checks before proving, and a whole in-process run on a powers-of-tau file whose
transcript the results file records."""
import json
import random
from dataclasses import replace

import h5py
import numpy as np
import pytest

from small_run import SMALL_RUN, toml_text
from hpc_zkfl.config import parse_config
from hpc_zkfl.fl import ceremony
from hpc_zkfl.fl.federation import build_federation
from hpc_zkfl.fl.protocol import run_in_process
from hpc_zkfl.groth16 import phase2
from hpc_zkfl.groth16.testing import write_insecure_ptau

POWER = 12                  # the small run's statement: 3,031 constraints, domain 2^12


def config(mode="two_aggregators", ptau="", rounds=1):
    sections = {name: dict(keys) for name, keys in SMALL_RUN.items()}
    sections["run"]["rounds"] = rounds
    sections["privacy"] = {"mode": mode}
    if ptau:
        sections["setup"] = {"ptau": str(ptau)}
    return parse_config(toml_text(sections))


@pytest.fixture(scope="module")
def ptau_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("ptau")
    write_insecure_ptau(d / "a.ptau", POWER + 1, 0x1234567, 0x89ABCDE, 0x31415926)
    write_insecure_ptau(d / "b.ptau", POWER + 1, 0x7654321, 0x89ABCDE, 0x31415926)
    return d / "a.ptau", d / "b.ptau"


@pytest.fixture(scope="module")
def turns():
    """The leader's key, and the helper's key and attestation, on a local phase 1."""
    fed = build_federation(config())
    leader = ceremony.start(fed)
    helper, attestation = ceremony.helper_turn(fed.with_key(leader.pk, leader.transcript),
                                               leader)
    return fed, leader, helper, attestation


def test_leader_then_helper_contribute_and_nodes_accept(turns):
    fed, leader, helper, attestation = turns
    t = helper.transcript
    assert [c.name for c in t.contributions] == [ceremony.LEADER, ceremony.HELPER]
    assert len(t.commitment_steps) == 1
    assert t.contributions[0].contribution_hash() == \
        leader.transcript.contributions[0].contribution_hash()
    ceremony.check(fed, helper, attestation)
    # the helper changed gamma, eta and delta: the leader's secrets alone no longer make it
    assert not np.array_equal(helper.pk.vk.gamma_g2, leader.pk.vk.gamma_g2)
    assert not np.array_equal(helper.pk.eta_delta_g1, leader.pk.eta_delta_g1)
    assert not np.array_equal(helper.pk.delta_g1, leader.pk.delta_g1)


def test_a_node_refuses_a_key_the_helper_did_not_contribute_to(turns):
    fed, leader, helper, attestation = turns
    with pytest.raises(ceremony.KeyRefused, match="needs 2"):
        ceremony.check(fed, leader)
    # the leader contributes twice and adds a commitment step of its own: the transcript is
    # valid, but the helper's attestation is not in it
    again, _ = leader.contribute(ceremony.HELPER, rng=random.Random(1))
    pk, t = phase2.contribute_commitment(again.pk, again.transcript)
    impostor = phase2.Phase2Key(pk, t)
    ceremony.check(fed, impostor)                      # a resume (no attestation) accepts it
    with pytest.raises(ceremony.KeyRefused, match="helper's contribution is not in"):
        ceremony.check(fed, impostor, attestation)


def test_a_node_refuses_a_tampered_key_or_transcript(turns):
    fed, _, helper, attestation = turns
    t = helper.transcript
    c = t.contributions[1]
    bad_c = replace(c, transcript=bytes(64))
    with pytest.raises(ceremony.KeyRefused, match="contribution 2"):
        ceremony.check(fed, replace(helper, transcript=replace(
            t, contributions=(t.contributions[0], bad_c))), attestation)
    # a key whose h_query is not over the transcript's delta
    pk = helper.pk
    h = pk.h_query.copy()
    h[0] = pk.h_query[1]
    with pytest.raises(ceremony.KeyRefused, match="h_query"):
        ceremony.check(fed, replace(helper, pk=replace(pk, h_query=h)), attestation)
    with pytest.raises(ceremony.KeyRefused):
        ceremony.transcript_from_bytes(t.to_bytes()[:-3])
    with pytest.raises(ValueError):
        ceremony.Attestation.from_bytes(attestation.to_bytes()[1:])


def test_a_run_on_a_ptau_records_its_transcript(tmp_path, ptau_files):
    a, b = ptau_files
    out = tmp_path / "run.h5"
    assert run_in_process(config(ptau=a), out) == 0
    key, _ = ceremony.load(out.with_suffix(".pk"))
    with h5py.File(out) as f:
        meta = {k: f.attrs[k] for k in f.attrs}
    text = json.dumps({k: str(v) for k, v in meta.items()})
    assert key.transcript.digest().hex() in text
    for c in key.transcript.contributions:
        assert c.contribution_hash().hex() in text
    assert str(a) in text
    # a node configured with another ptau refuses the key: its powers of tau are not the file's
    other = build_federation(config(ptau=b))
    with pytest.raises(ceremony.KeyRefused, match="powers of tau"):
        ceremony.check(other, key)
    ceremony.check(build_federation(config(ptau=a)), key)


def test_a_stored_key_needs_its_transcript(turns, tmp_path):
    _, _, helper, _ = turns
    ceremony.save(tmp_path / "k.pk", helper)
    key, data = ceremony.load(tmp_path / "k.pk")
    assert key.transcript.to_bytes() == helper.transcript.to_bytes()
    ceremony.transcript_path(tmp_path / "k.pk").unlink()
    with pytest.raises(ceremony.KeyRefused, match="no phase-2 transcript"):
        ceremony.load(tmp_path / "k.pk")
