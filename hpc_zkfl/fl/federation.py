"""A run's federation, built from its configuration: the same on every rank and in every
transport (the MPI runtime, the in-process runs of the tests and benchmarks).

`build_federation` is deterministic from the config: data, partition, statement, attack and
malicious nodes.  The federation then gives the start model (`initial_model`), its proving key
(`with_proving_key`: made by the root, or reloaded on resume, and handed to the nodes) and its
results file (`open_results`: created with the run's metadata, or reopened to resume);
`server_step_of` is the server's strategy and step size.
"""
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from hpc_zkfl import names
from hpc_zkfl.models import DatasetTree, NodeStatement, StatementSpec

from .attacks import Attack
from .data import Dataset

log = logging.getLogger("hpc_zkfl.run")


@dataclass(frozen=True)
class Federation:
    """What every rank knows about a run: data, partition, statement, keys and attack, and the
    configuration they come from.

    Immutable: built once from the config (`build_federation`); the proving key, which the
    root makes after the statement exists, gives a new federation (`with_key`,
    `with_proving_key`).  `trees` is a cache of the nodes' Merkle trees, filled on first use.
    `config` is None for a federation built directly from its parts (`run_fixed_fedavg`),
    which has no results file."""

    dataset: Dataset
    partition: list
    spec: StatementSpec
    seed: int
    attack: Attack
    malicious: np.ndarray               # (n_nodes,) bool
    proofs: bool = True
    statement: NodeStatement = None     # None when proofs are off
    proving_key: object = None
    backend: str = "auto"
    trees: dict = field(default_factory=dict)       # node -> DatasetTree (data binding)
    per_round: int = 0                  # participants per round; 0: every node, every round
    config: object = None               # the RunConfig it was built from
    privacy: str = "public"             # or "two_aggregators" (fl/private.py)
    min_accepted: int = 2               # two_aggregators: the smallest sum the helper releases
    transcript: object = None           # the key's phase-2 transcript (fl/ceremony.py)
    tables: dict = field(default_factory=dict)      # {"key": proving key, "h": its H table}

    @property
    def private(self) -> bool:
        """Whether updates are committed and shared between two aggregators."""
        return self.privacy == "two_aggregators"

    @property
    def n_nodes(self) -> int:
        return len(self.partition)

    def node(self, node_id: int):
        """The node `node_id` of this run (hpc_zkfl.fl.node.FederatedNode)."""
        from .node import FederatedNode
        return FederatedNode(node_id, self)

    def process_round(self, t: int, w, messages: dict, step, commitments: dict = None,
                      unregistered=()):
        """The root's judgement of round t (hpc_zkfl.fl.server.process_round)."""
        from .server import process_round
        return process_round(self, t, w, messages, step, commitments, unregistered)

    def extra_metadata(self) -> dict:
        """What a results file needs beside the config to reload this model (none here)."""
        return {}

    def with_key(self, proving_key, transcript=None) -> "Federation":
        """This federation with the run's proving key and its phase-2 transcript (the tree
        cache is shared)."""
        return replace(self, proving_key=proving_key, transcript=transcript)

    def h_table(self):
        """The fixed-base table of the proving key's H query (`prover.build_h_table`), built
        on this rank's first proof and kept for the run; None on another backend than the
        CPU's, with `[run] prover_table_mib = 0`, or where no table fits that budget."""
        from hpc_zkfl.backends import as_backend
        if self.tables.get("key") is not self.proving_key:
            from hpc_zkfl.config import RunSection
            run = self.config.run if self.config is not None else RunSection()
            budget = run.prover_table_mib << 20
            table = None
            if budget and as_backend(self.backend).name == "cpu":
                from hpc_zkfl.groth16.prover import build_h_table
                try:
                    table = build_h_table(self.proving_key, budget)
                    log.info("fixed-base table of the key's H query: %.1f MiB, built in %.2f s",
                             table.nbytes / 2**20, table.build_seconds)
                except ValueError as exc:
                    log.warning("proving without a fixed-base table: %s", exc)
            self.tables.update(key=self.proving_key, h=table)
        return self.tables["h"]

    def key(self):
        """The proving key with its transcript, as `ceremony.check` takes it."""
        from hpc_zkfl.groth16.phase2 import Phase2Key
        return Phase2Key(self.proving_key, self.transcript)

    def with_proving_key(self, key_path: Path, reuse: bool, helper_turn=None) -> tuple:
        """The root's key: the one stored at key_path when resuming (the CLI has checked its
        digest against the results file), else a new one from the run's phase 2
        (`ceremony`): the leader's part here, then `helper_turn(key) -> key` (two-aggregator
        runs: the transport's way to the helper, whose key the leader then checks; by
        default the helper's part in this process, whose nodes check the key anyway), and
        stored atomically for a later resume.  Returns (this
        federation with the key, the key's bytes, its transcript's bytes) for the nodes."""
        from . import ceremony
        key_path = Path(key_path)
        if reuse and key_path.exists():
            key, data = ceremony.load(key_path)
            log.info("proving key: %s (reused)", key_path)
        else:
            key = ceremony.start(self)
            if self.private and helper_turn is None:    # the helper's part in this process
                key = ceremony.helper_turn(self, key)[0]
            elif self.private:
                key = helper_turn(key)
                ceremony.check(self, key)       # the leader's own check of what came back
            data = ceremony.save(key_path, key)
            log.info("proving key %s: transcript %s...", key_path,
                     key.transcript.digest().hex()[:16])
        return self.with_key(key.pk, key.transcript), data, key.transcript.to_bytes()

    def initial_model(self) -> np.ndarray:
        """The start model, deterministic from the seed (the float yardstick's initialisation
        on the fixed-point grid)."""
        from hpc_zkfl.fl.float_reference import init_params
        from hpc_zkfl.models import flatten
        spec = self.spec
        params = init_params(spec.model, spec.n_features, spec.n_classes,
                             hidden=spec.hidden or None, seed=self.seed)
        return spec.fixed_point.encode(flatten(spec, params))

    def open_results(self, out, resume: bool, *, n_ranks: int = 1, hosts=(),
                     registration=None) -> tuple:
        """The run's results file: created with the run's metadata and start model, or
        (resume) reopened after its last complete round.  Returns (writer, first round to run,
        w, w_prev).  registration: {node: why} of the nodes refused before round 1."""
        from hpc_zkfl.backends import resolve_backend
        from hpc_zkfl.io.results import ResultsWriter, collect_metadata, file_sha256
        from hpc_zkfl.machine import device_name

        if self.config is None:
            raise ValueError("a federation built without a run configuration has no results "
                             "file")
        cfg, out = self.config, Path(out)
        run_meta = {"registration": {str(i): why
                                     for i, why in sorted((registration or {}).items())},
                    **self.extra_metadata()}
        if self.proofs:
            from .ceremony import metadata
            run_meta["proving_key_sha256"] = file_sha256(out.with_suffix(".pk"))
            if self.transcript is not None:
                run_meta.update(metadata(self.key(), self))
        if resume:
            writer = ResultsWriter.open_for_resume(
                out, n_nodes=self.n_nodes, n_params=self.spec.n_params,
                metadata={"n_ranks": n_ranks, "hosts": list(hosts), **run_meta})
            done = writer.completed_rounds
            log.info("resuming %s after round %d of %d", out, done, cfg.run.rounds)
            return (writer, done + 1, writer.model(done),
                    writer.model(done - 1) if done >= 1 else None)
        backend = resolve_backend(self.backend)         # what "auto" picks here
        meta = collect_metadata(cfg.source, cfg.as_dict(), backend, device_name(backend),
                                n_ranks, list(hosts))
        meta.update(run_meta)
        w = self.initial_model()
        kinds = [self.attack.kind if m else "none" for m in self.malicious]
        writer = ResultsWriter.create(out, meta, self.n_nodes, self.spec.n_params,
                                      self.spec.fixed_point.frac_bits, self.malicious, kinds, w)
        return writer, 1, w, None

    def node_rng(self, round_index: int, node_id: int, purpose: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence([self.seed, round_index, node_id,
                                                             purpose]))

    def participants(self, round_index: int) -> np.ndarray:
        """(n_nodes,) bool: the nodes asked for an update in this round.  With per_round = k
        (0 < k < n_nodes), k nodes drawn uniformly without replacement, deterministically from
        the seed and the round, so every rank (and a resumed run) draws the same; FedAvg's
        client fraction C = k / n_nodes (McMahan et al., AISTATS 2017)."""
        n, k = self.n_nodes, self.per_round
        mask = np.zeros(n, dtype=bool)
        if k <= 0 or k >= n:
            mask[:] = True
            return mask
        # A stream of its own (the constant tags it), apart from the nodes' streams.
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, round_index, 0x5A3]))
        mask[rng.choice(n, size=k, replace=False)] = True
        return mask

    def tree(self, node_id: int) -> DatasetTree:
        """The node's committed dataset (built on first use)."""
        if node_id not in self.trees:
            rows = self.partition[node_id]
            self.trees[node_id] = DatasetTree.build(self.spec, self.dataset.X_train[rows],
                                                    self.dataset.y_train[rows])
        return self.trees[node_id]


def merkle_depth_for(partition) -> int:
    """The smallest Merkle depth whose tree holds the largest node's dataset."""
    return max(0, (max(len(p) for p in partition) - 1).bit_length())


def build_federation(cfg, proving_key=None, with_statement=True):
    """Everything a rank needs about the run, deterministic from the config."""
    from hpc_zkfl.fl.attacks import ATTACK_OPTIONS, Attack, malicious_nodes
    from hpc_zkfl.fl.data import load_dataset, make_partition
    from hpc_zkfl.fl.simulation import spec_for_dataset
    from hpc_zkfl.models import NodeStatement

    if cfg.model.kind in names.TREE_MODELS:
        from .boosting import build_boosting_federation
        return build_boosting_federation(cfg, with_statement)
    seed = cfg.run.seed
    dataset = load_dataset(cfg.data.dataset, seed, cfg.data.test_fraction)
    partition = make_partition(dataset, cfg.nodes.count, cfg.data.partition,
                               cfg.data.dirichlet_alpha, seed, cfg.data.samples_per_node)
    m = cfg.model
    depth = (m.merkle_depth or merkle_depth_for(partition)) if m.data_binding else 0
    # In public mode the verifier sees u and checks its range and norm itself; a committed u
    # (two aggregators) keeps those checks in the circuit.
    spec = spec_for_dataset(dataset, m.kind, m.batch_size, m.learning_rate, m.norm_bound,
                            hidden=m.hidden, data_binding=m.data_binding, merkle_depth=depth,
                            verifier_checks_update=cfg.privacy.mode == "public")
    # Every option the attack takes comes from the [attack] key of its name; a scale of 0
    # leaves the attack's own default.
    a = cfg.attack
    options = {k: getattr(a, k) for k in ATTACK_OPTIONS.get(a.kind, {})
               if not (k == "scale" and a.scale == 0)}
    attack = Attack(a.kind, a.fraction, options)
    malicious = malicious_nodes(cfg.nodes.count, a.fraction, seed)
    proofs = cfg.aggregation.proofs
    statement = NodeStatement(spec) if proofs and with_statement else None
    return Federation(dataset, partition, spec, seed, attack, malicious, proofs, statement,
                      proving_key, cfg.run.backend, per_round=cfg.nodes.per_round, config=cfg,
                      privacy=cfg.privacy.mode, min_accepted=cfg.privacy.min_accepted)


def server_step_of(cfg):
    """The server's strategy, its options and step size, from the [aggregation] table."""
    from hpc_zkfl.fl.server import ServerStep
    g = cfg.aggregation
    options = {"trimmed_mean": {"trim_fraction": g.trim_fraction},
               "krum": {"n_malicious": g.krum_malicious, "multi": g.krum_multi}}
    return ServerStep(g.strategy, options.get(g.strategy, {}), g.server_lr, g.server_lr_half_life)


__all__ = ["Federation", "build_federation", "merkle_depth_for", "server_step_of"]
