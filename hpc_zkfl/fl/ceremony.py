"""The run's phase 2: before round 1 the aggregators contribute to the proving key in turn,
and every node checks the result before it proves (`hpc_zkfl.groth16.phase2`).

1. The leader (rank 0) starts the key: from the powers-of-tau file `[setup] ptau`, the
   initial key of the circuit as `snarkjs groth16 setup` makes it, or, without a file, from a
   phase 1 it draws itself (`phase2.start_local`: not for production, since the leader then
   knows tau and contributions protect nothing against it).  It contributes first.
2. In two-aggregator mode the helper (rank 1) checks that key, contributes to delta, and
   re-randomizes gamma and eta (a commitment step), which the binding of the nodes'
   commitments rests on.  It sends the key back to the leader and an `Attestation` (the
   hash of its contribution and of its step) to every node rank directly.
3. Every node checks the key it receives before its first proof (`check`): each
   contribution's proof of knowledge and the delta chain; in two-aggregator mode also the
   commitment step, the helper's attestation (on a fresh run), the key's well-formedness
   against the circuit (`key_check`), and, with a ptau file, that the key's powers of tau
   are the file's.

Soundness then needs only one honest contributor (leader or helper) on top of an honest
phase 1; in two-aggregator mode the nodes' privacy needs the helper honest anyway, so the
helper's contribution is the one the nodes rely on.  The results file records the
transcript's hash and each contribution (`metadata`).  The key and its transcript are stored
beside the results (KEY and KEY.phase2) so that a resumed run reuses them; on a resume the
helper does not contribute again, so nodes check the transcript without an attestation.
"""
from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hpc_zkfl.groth16 import phase2

log = logging.getLogger("hpc_zkfl.run")

LEADER = "leader (rank 0)"
HELPER = "helper (rank 1)"
TRANSCRIPT_SUFFIX = ".phase2"
MAX_TRANSCRIPT_BYTES = 1 << 20      # thousands of contributions


class KeyRefused(ValueError):
    """A proving key a node (or the leader, or the helper) will not use; the message says why."""


@dataclass(frozen=True)
class Attestation:
    """What the helper tells each node directly: the hashes of its contribution and of its
    commitment step, which the key's transcript must contain."""
    contribution_hash: bytes
    step_hash: bytes

    SIZE = 2 * phase2.HASH_BYTES

    def to_bytes(self) -> bytes:
        return self.contribution_hash + self.step_hash

    @classmethod
    def from_bytes(cls, data) -> "Attestation":
        data = bytes(data)
        if len(data) != cls.SIZE:
            raise ValueError(f"an attestation is {cls.SIZE} bytes, got {len(data)}")
        return cls(data[:phase2.HASH_BYTES], data[phase2.HASH_BYTES:])


def step_hash(step: phase2.CommitmentStep) -> bytes:
    return hashlib.blake2b(step.public_key(), digest_size=phase2.HASH_BYTES).digest()


def _ptau_path(fed) -> str:
    cfg = fed.config
    return cfg.setup.ptau if cfg is not None and cfg.setup.ptau else ""


def start(fed) -> phase2.Phase2Key:
    """The leader's part: the initial key, then its contribution."""
    from hpc_zkfl.groth16.ptau import start_phase2

    t0 = time.perf_counter()
    r1cs = fed.statement.r1cs
    ptau = _ptau_path(fed)
    if ptau:
        key = start_phase2(r1cs, ptau, commitment=fed.private, zkey_h=False)
    else:
        log.warning("phase 1 drawn by the leader: not for production (set [setup] ptau to a "
                    "powers-of-tau ceremony's file)")
        key = phase2.start_local(r1cs, backend=fed.backend, commitment=fed.private)
    key, chash = key.contribute(LEADER)
    log.info("setup: %d constraints, phase 1 %s, leader's contribution %s..., %.1f s",
             fed.statement.n_constraints, ptau or "local", chash.hex()[:16],
             time.perf_counter() - t0)
    return key


def helper_turn(fed, key: phase2.Phase2Key) -> tuple:
    """The helper's part: check the leader's key, contribute to delta, re-randomize gamma
    and eta.  Returns (the key, the attestation for the nodes)."""
    check(fed, key, need_helper=False)
    key, chash = key.contribute(HELPER)
    pk, transcript = phase2.contribute_commitment(key.pk, key.transcript)
    log.info("helper: contribution %s..., gamma and eta re-randomized", chash.hex()[:16])
    return (phase2.Phase2Key(pk, transcript),
            Attestation(chash, step_hash(transcript.commitment_steps[-1])))


def check(fed, key: phase2.Phase2Key, attestation: Attestation = None, *,
          need_helper: bool = None) -> None:
    """KeyRefused unless `key` is one a node of `fed` may prove under (see the module
    docstring).  need_helper (default: the run is two-aggregator): the helper must have
    contributed; `attestation`: the helper's own word for which contribution is its."""
    need_helper = fed.private if need_helper is None else need_helper
    t = key.transcript
    try:
        key.verify()
    except phase2.Phase2Error as exc:
        raise KeyRefused(f"its phase-2 transcript does not verify: {exc}") from None
    need = 2 if need_helper else 1
    if len(t.contributions) < need:
        whose = "the leader's and the helper's" if need_helper else "the leader's"
        raise KeyRefused(f"{len(t.contributions)} phase-2 contribution(s); this run needs "
                         f"{need} ({whose})")
    if need_helper and not t.commitment_steps:
        raise KeyRefused("gamma and eta were never re-randomized by the helper")
    if attestation is not None:
        if attestation.contribution_hash not in {c.contribution_hash() for c in t.contributions}:
            raise KeyRefused("the helper's contribution is not in the key's transcript")
        if step_hash(t.commitment_steps[-1]) != attestation.step_hash:
            raise KeyRefused("the key's last commitment step is not the helper's")
    if fed.private:
        from hpc_zkfl.groth16.key_check import KeyCheckError, check_proving_key
        try:
            check_proving_key(key.pk, fed.statement.r1cs, backend=fed.backend,
                              subgroup_check=False)
        except KeyCheckError as exc:
            raise KeyRefused(str(exc)) from None
        ptau = _ptau_path(fed)
        if ptau:
            from hpc_zkfl.groth16.ptau import read_ptau
            file = read_ptau(ptau)
            if not (np.array_equal(key.pk.tau_g1, file.tau_g1(key.pk.tau_g1.shape[0]))
                    and np.array_equal(key.pk.tau_g2, file.tau_g2(2))):
                raise KeyRefused(f"its powers of tau are not those of {ptau}")


def metadata(key: phase2.Phase2Key, fed) -> dict:
    """What the results file records about the key's phase 2."""
    t = key.transcript
    return {
        "phase1": _ptau_path(fed) or "local (not for production)",
        "phase2_circuit_hash": t.circuit_hash.hex(),
        "phase2_transcript_hash": t.digest().hex(),
        "phase2_contributions": [{"name": c.name, "hash": c.contribution_hash().hex()}
                                 for c in t.contributions],
        "phase2_commitment_steps": [step_hash(s).hex() for s in t.commitment_steps],
    }


def save(path: Path, key: phase2.Phase2Key) -> bytes:
    """Store the key (this package's format) and its transcript (PATH.phase2), each written
    beside and renamed into place; returns the key's bytes."""
    from hpc_zkfl.groth16.formats import pk_to_bytes

    path = Path(path)
    data = pk_to_bytes(key.pk)
    path.parent.mkdir(parents=True, exist_ok=True)
    for target, body in ((transcript_path(path), key.transcript.to_bytes()), (path, data)):
        tmp = target.with_name(target.name + f".tmp{os.getpid()}")
        tmp.write_bytes(body)
        os.replace(tmp, target)
    return data


def transcript_path(key_path: Path) -> Path:
    return Path(key_path).with_name(Path(key_path).name + TRANSCRIPT_SUFFIX)


def load(path: Path) -> tuple:
    """(Phase2Key, key bytes) stored by `save`."""
    data = Path(path).read_bytes()
    stored = transcript_path(path)
    if not stored.exists():
        raise KeyRefused(f"{path}: no phase-2 transcript beside it ({stored.name}): a key from "
                         f"before the aggregators' ceremony cannot be resumed; start a new run")
    return key_from_bytes(data, stored.read_bytes(), subgroup_check=False), data


def key_from_bytes(key, transcript, subgroup_check: bool = True) -> phase2.Phase2Key:
    """A key and its transcript from their bytes (a file, or a frame from another rank)."""
    from hpc_zkfl.groth16.formats import pk_from_bytes
    return phase2.Phase2Key(pk_from_bytes(key, subgroup_check=subgroup_check),
                            transcript_from_bytes(transcript))


def transcript_from_bytes(data) -> phase2.Transcript:
    if len(data) > MAX_TRANSCRIPT_BYTES:
        raise KeyRefused(f"a transcript of {len(data)} bytes, over {MAX_TRANSCRIPT_BYTES}")
    try:
        return phase2.transcript_from_bytes(bytes(data))
    except phase2.Phase2Error as exc:
        raise KeyRefused(f"malformed phase-2 transcript: {exc}") from None
