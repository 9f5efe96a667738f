"""What a run will need, estimated before any MPI work: the node statement's size, the Groth16
domain and proving key, and the peak memory of one rank; `check_resources` refuses a run that
cannot fit here.

The constraint and wire counts are exact without building the circuit: `statement_size`
follows `hpc_zkfl.models.build_circuit` gadget by gadget and takes each gadget's cost from a
scratch circuit holding that one gadget (a few thousand constraints at most), so it takes
milliseconds even for a statement of billions of constraints.  Loading the dataset, for its
shape, takes most of the check's time (scikit-learn's import, under a second).

Peak memory of one rank, in bytes: the larger of two phases, plus the partition's indices.

    build  = BUILD_BASE + BUILD_PER_CONSTRAINT * (constraints - hashing)
                        + BUILD_PER_HASH_CONSTRAINT * hashing
    prove  = PROVE_BASE + PROVE_PER_CONSTRAINT * constraints + PROVE_PER_DOMAIN * domain size
             + the fixed-base table of the H query (`[run] prover_table_mib` at most)

`build` is the statement's construction (Python objects for every constraint; the data
binding's Poseidon constraints, `hashing`, carry 254-bit constants and weigh about three times
more); `prove` is setup, key bytes and one proof on top of the statement kept, with the numba
kernels loaded.  That is a single-rank run's work; the root and the other ranks each do part
of it.  Calibration, peak RSS (`resource.getrusage`) with a warm numba cache (a cold one adds
about 230 MB, once) -> this model:

    breast_cancer logistic, batch 8      4,482 constraints, 2^13    447 MB ->   464 MB
    digits ovr, batch 8                 51,918,            2^16    546     ->   587
    digits ovr, batch 32               107,434,            2^17    680     ->   731
    digits ovr, batch 43               138,133,            2^18    794     ->   854
    digits ovr, batch 128              325,598,            2^19  1,262     -> 1,359
    digits ovr, batch 400              948,496,            2^20  2,925     -> 2,992
    breast_cancer mlp 64, batch 32     435,152,            2^19  1,482     -> 1,583
    digits ovr bound, batch 16         105,808 (35,168),   2^17    736     ->   728
    digits ovr bound, batch 64         321,044 (140,672),  2^19  1,786     -> 1,912
    breast_cancer ovr bound, batch 128 263,670 (216,704),  2^19  2,215     -> 2,173

(hashing constraints in parentheses): within -2% and +8%.  These statements kept the update's
range and norm checks in the circuit, as two-aggregator runs still do; public runs leave them
to the verifier (`StatementSpec.verifier_checks_update`), and the model counts whichever the
run has.
"""
import os
import re
from collections import Counter
from dataclasses import dataclass
from typing import NamedTuple

from hpc_zkfl.algebra.constants import FR_TWO_ADICITY
from hpc_zkfl.config import ConfigError, RunConfig

MIB = 1 << 20
BUILD_BASE = 140 * MIB              # interpreter, numpy, scikit-learn and the dataset
BUILD_PER_CONSTRAINT = 3000
BUILD_PER_HASH_CONSTRAINT = 8700
PROVE_BASE = 430 * MIB              # ... and the numba kernels
PROVE_PER_CONSTRAINT = 2048
PROVE_PER_DOMAIN = 460
INDEX_BYTES, PART_BYTES = 8, 112    # the partition: an int64 array per node
MAX_DOMAIN_LOG2 = FR_TWO_ADICITY    # Fr has roots of unity of order 2^28 at most

# The launchers' count of ranks on this host: MPICH (hydra), Open MPI, SLURM's srun.
LOCAL_RANK_VARIABLES = ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE",
                        "SLURM_NTASKS_PER_NODE", "SLURM_TASKS_PER_NODE")
SKIP_FLAG = "--skip-resource-check"


class _Cost(NamedTuple):
    """Constraints and wires that part of a circuit adds."""

    constraints: int
    wires: int

    def __add__(self, other):
        return _Cost(self.constraints + other[0], self.wires + other[1])

    def __sub__(self, other):
        return _Cost(self.constraints - other[0], self.wires - other[1])

    def __mul__(self, k: int):
        return _Cost(self.constraints * k, self.wires * k)

    __rmul__ = __mul__


_MUL = _Cost(1, 1)                  # a product of two wires


def _added(cs, build) -> _Cost:
    """What build() adds to the circuit cs."""
    before = _Cost(cs.n_constraints, cs.n_wires)
    build()
    return _Cost(cs.n_constraints, cs.n_wires) - before


def _cost(gadget, n_inputs: int = 1) -> _Cost:
    """What gadget(cs, *inputs) adds to a circuit, measured on a scratch circuit."""
    from hpc_zkfl.circuit import ConstraintSystem
    cs = ConstraintSystem()
    inputs = cs.private_inputs("x", n_inputs)
    return _added(cs, lambda: gadget(cs, *inputs))


def _binding_cost(spec) -> _Cost:
    """One sample's leaf hash and Merkle path (`hpc_zkfl.models.binding.bind_samples`)."""
    from hpc_zkfl.circuit import ConstraintSystem
    from hpc_zkfl.models.binding import bind_samples
    cs = ConstraintSystem()
    bits = [cs.private_inputs(f"f{j}", spec.features.bits) for j in range(spec.n_features)]
    labels = cs.private_inputs("y", spec.n_outputs)
    commitment = cs.public_input("commitment")
    return _added(cs, lambda: bind_samples(cs, spec, [bits], [labels], commitment))


class StatementSize(NamedTuple):
    """The shape of a node statement's R1CS."""

    constraints: int
    wires: int                      # the constant wire included
    public: int
    hashing: int = 0                # constraints of the data binding's Poseidon hashes


def statement_size(spec) -> StatementSize:
    """The size of `NodeStatement(spec).r1cs`, counted gadget by gadget as
    `hpc_zkfl.models.build_circuit` lays the circuit out (see the tests, which compare it
    with real builds)."""
    from hpc_zkfl.circuit.fixedpoint import (in_range, norm_bound, relu, sigmoid,
                                             sigmoid_out_frac_bits, truncate)
    from hpc_zkfl.circuit.packing import pack_layout, packed_affine_floor
    from hpc_zkfl.models.linear import logit_digit_bits, update_digit_bits
    from hpc_zkfl.models.statement import check_update_shift, update_shifts
    fmt, feats = spec.fixed_point, spec.features
    spec.norm_bound_sq()                                # ValueError for a bound beyond Fr
    check_update_shift(spec)                            # the low bits travel as int64
    B, D, K, H, P = spec.batch_size, spec.n_features, spec.n_outputs, spec.hidden, spec.n_params
    f, q, fp = fmt.frac_bits, feats.frac_bits, sigmoid_out_frac_bits(fmt)

    def trunc(shift, check=True):
        return _cost(lambda cs, x: truncate(cs, x, shift, fmt, check_output=check))

    def outputs(n_in, frac, input_bound):
        """K logits of n_in inputs each (rows packed, `packed_affine_floor`), their sigmoids:
        a pack of g rows costs n_in products plus what one with a single input adds."""
        digit_bits = logit_digit_bits(fmt, n_in, frac, input_bound)
        _, m = pack_layout(digit_bits)
        cost = _Cost(0, 0)
        for g in [m] * (K // m) + ([K % m] if K % m else []):
            cost += (n_in - 1) * _MUL + _cost(
                lambda cs, x, *w: packed_affine_floor(cs, [[v] for v in w], [x], [0] * g, frac,
                                                      digit_bits, fmt), 1 + g)
        return cost + K * _cost(lambda cs, z: sigmoid(cs, z, fmt))

    T = fmt.total_bits
    public = 2 + int(spec.data_binding) + 2 * P             # round, node, commitment, w, u
    total = _Cost(0, 1 + public + B * (D + K))               # the constant wire, the inputs
    # Per sample: feature ranges, boolean labels, one class (when K > 1), the forward pass.
    sample = D * _cost(lambda cs, x: in_range(cs, x, feats.lo, feats.hi)) + _Cost(K + (K > 1), 0)
    hashing = _binding_cost(spec) if spec.data_binding else _Cost(0, 0)
    sample += hashing
    exact = spec.verifier_checks_update     # public U = -c G, else u = floor(-c G / 2^s)
    c, _ = spec.step_constant()
    if spec.model == "mlp":
        relu_cost = _cost(lambda cs, x: relu(cs, x, fmt))
        sample += H * (D * _MUL + trunc(q, check=False) + relu_cost) + outputs(H, f, 1 << (T - 1))
        sample += H * (K * _MUL + trunc(fp) + _MUL)          # backpropagated errors
        total += B * (H * D + K * H) * _MUL                  # gradient sums
    else:
        sample += outputs(D, q, max(abs(feats.lo), abs(feats.hi)))
        if exact:       # `packed_outer_equal`: per pack, B D products and D + 1 equalities
            _, m = pack_layout(update_digit_bits(spec))
            packs = -(-K // m)
            total += _Cost(packs * (B * D + D + 1), packs * B * D)
        else:
            total += B * K * D * _MUL
    total += B * sample
    if exact and spec.model == "mlp":                  # one equality an entry
        total += _Cost(P, 0)
    elif not exact:
        shifts = Counter(int(s) for s in update_shifts(spec))    # u = floor(-c G / 2^s)
        for shift, count in shifts.items():
            total += count * _cost(lambda cs, g, u: truncate(cs, -c * g, shift, fmt, out=u), 2)
        # the norm bound: a square per entry of u, then one range check
        one, two = (_cost(lambda cs, *u: norm_bound(cs, u, spec.norm_bound_sq()), k)
                    for k in (1, 2))
        total += one + (P - 1) * (two - one)
    return StatementSize(total.constraints, total.wires, public, B * hashing.constraints)


@dataclass(frozen=True)
class Estimate:
    """What one run needs; the sizes are 0 when proofs are off (no circuit, no key)."""

    constraints: int
    wires: int
    public: int
    domain_size: int
    key_bytes: int                  # the proving key file beside the results (`pk_to_bytes`)
    rank_bytes: int                 # estimated peak memory of one rank

    @property
    def domain_log2(self) -> int:
        return max(self.domain_size.bit_length() - 1, 0)


def domain_size(constraints: int, public: int) -> int:
    """`hpc_zkfl.groth16.r1cs_to_qap.domain_size` without its limit."""
    from hpc_zkfl.groth16.r1cs_to_qap import domain_size_for
    return domain_size_for(constraints, public)


def proving_key_bytes(size: StatementSize, domain: int) -> int:
    """The length of `hpc_zkfl.groth16.formats.pk_to_bytes` for a statement of this size."""
    from hpc_zkfl.groth16.formats import pk_size
    return pk_size(size.public, size.wires, domain)


def _run_spec(cfg: RunConfig):
    """The run's StatementSpec, as `hpc_zkfl.fl.federation.build_federation` derives it, and the
    count of sample indices its partition holds; first the checks that need the dataset's
    size (ConfigError)."""
    from hpc_zkfl.fl.data import load_dataset
    from hpc_zkfl.fl.simulation import spec_for_dataset
    where, d, m, count = cfg.path, cfg.data, cfg.model, cfg.nodes.count
    dataset = load_dataset(d.dataset, cfg.run.seed, d.test_fraction)
    n = dataset.n_train
    if d.partition == "shared":
        if d.samples_per_node > n:
            raise ConfigError(f"{where}: [data] samples_per_node = {d.samples_per_node} is more "
                              f"than the {n} training samples of {d.dataset}")
        largest = least = d.samples_per_node
        held = count * d.samples_per_node
    elif count > n:
        raise ConfigError(f"{where}: [nodes] count = {count} is more than the {n} training "
                          f"samples of {d.dataset}: each node needs one of its own (partition = "
                          f"\"shared\" gives nodes overlapping parts)")
    else:
        # The largest node holds at least an even share (iid: exactly that); a Dirichlet draw
        # leaves every other node one sample at least, which bounds it (so the depth
        # estimated may exceed the run's).
        least = -(-n // count)
        largest = least if d.partition == "iid" else n - count + 1
        held = n
    if m.batch_size > n:
        raise ConfigError(f"{where}: [model] batch_size = {m.batch_size} is more than the {n} "
                          f"training samples of {d.dataset}: every batch would repeat samples")
    depth = 0
    if m.data_binding:
        depth = m.merkle_depth or (largest - 1).bit_length()
        if least > 1 << depth:
            raise ConfigError(f"{where}: [model] merkle_depth = {depth} holds {1 << depth} "
                              f"samples, but the largest node holds {least} or more")
    try:
        spec = spec_for_dataset(dataset, m.kind, m.batch_size, m.learning_rate, m.norm_bound,
                                hidden=m.hidden, data_binding=m.data_binding, merkle_depth=depth,
                                verifier_checks_update=cfg.privacy.mode == "public")
    except ValueError as exc:
        raise ConfigError(f"{where}: [model] {exc}") from None
    return spec, held


def _tree_size(cfg: RunConfig) -> tuple:
    """(StatementSize, indices held) of a boosted-tree run: its statement holds every sample
    of the largest node (`hpc_zkfl.models.gbdt_statement.statement_size`)."""
    from hpc_zkfl.fl.boosting import params_of
    from hpc_zkfl.fl.data import load_float_dataset, make_partition
    from hpc_zkfl.models.gbdt_statement import (MAX_CAPACITY, GBDTStatementSpec,
                                                statement_size as tree_statement_size)
    d = cfg.data
    dataset = load_float_dataset(d.dataset, cfg.run.seed, d.test_fraction)
    try:
        parts = make_partition(dataset, cfg.nodes.count, d.partition, d.dirichlet_alpha,
                               cfg.run.seed, d.samples_per_node)
    except ValueError as exc:
        raise ConfigError(f"{cfg.path}: [data] {exc}") from None
    capacity = max(len(p) for p in parts)
    if capacity > MAX_CAPACITY:
        raise ConfigError(f"{cfg.path}: the largest node holds {capacity:,} samples; a "
                          f"boosted-tree proof holds at most {MAX_CAPACITY:,} (add nodes)")
    spec = GBDTStatementSpec(params_of(cfg.model), dataset.n_features, capacity)
    c, w, public, hashing = tree_statement_size(spec)
    return StatementSize(c, w, public, hashing), sum(len(p) for p in parts)


def estimate(cfg: RunConfig) -> Estimate:
    """The run's resource estimate (see the module docstring).  ConfigError for sizes that
    do not fit the dataset, and for a statement that cannot be built (e.g. a learning rate
    so small that the update's truncation is wider than the field)."""
    from hpc_zkfl.names import TREE_MODELS
    if cfg.model.kind in TREE_MODELS:
        size, held = _tree_size(cfg)
    else:
        spec, held = _run_spec(cfg)
    data = INDEX_BYTES * held + PART_BYTES * cfg.nodes.count
    if not cfg.aggregation.proofs:
        return Estimate(0, 0, 0, 0, 0, BUILD_BASE + data)
    try:
        if cfg.model.kind not in TREE_MODELS:
            size = statement_size(spec)
    except (ValueError, ArithmeticError) as exc:     # CircuitError is a ValueError
        raise ConfigError(f"{cfg.path}: the node statement cannot be built ({exc}); check "
                          f"[model] learning_rate, batch_size and norm_bound") from None
    n = domain_size(size.constraints, size.public)
    build = (BUILD_BASE + BUILD_PER_CONSTRAINT * (size.constraints - size.hashing)
             + BUILD_PER_HASH_CONSTRAINT * size.hashing)
    prove = (PROVE_BASE + PROVE_PER_CONSTRAINT * size.constraints + PROVE_PER_DOMAIN * n
             + h_table_bytes(n - 1, cfg.run.prover_table_mib << 20))
    return Estimate(size.constraints, size.wires, size.public, n, proving_key_bytes(size, n),
                    max(build, prove) + data)


def h_table_bytes(n: int, budget: int) -> int:
    """The fixed-base table a proving rank keeps for n bases of the H query within `budget`
    bytes (`hpc_zkfl.groth16.prover.build_h_table`): 0 when none fits."""
    from hpc_zkfl.algebra.curve import G1
    from hpc_zkfl.algebra.fixed_msm import choose_window, table_bytes
    if not budget:
        return 0
    try:
        return table_bytes(G1, n, choose_window(G1, n, budget))
    except ValueError:
        return 0


def available_memory() -> int:
    """Bytes of memory available to new processes on this host (`hpc_zkfl.machine`)."""
    from hpc_zkfl.machine import memory_available
    return memory_available()


def local_ranks(environ=None) -> int:
    """Ranks on this host, as the MPI launcher announces them (without importing mpi4py);
    1 when no launcher says.  SLURM_TASKS_PER_NODE ("4(x2),3") gives its largest count."""
    environ = os.environ if environ is None else environ
    for name in LOCAL_RANK_VARIABLES:
        counts = [int(c) for c in re.findall(r"(\d+)(?:\(x\d+\))?", environ.get(name, ""))]
        if counts and max(counts) > 0:
            return max(counts)
    return 1


def _gib(n: int) -> str:
    return f"{n / (1 << 30):.1f} GiB"


def check_resources(cfg: RunConfig, skip_memory: bool = False, available: int = None,
                    ranks: int = None) -> Estimate:
    """The run's estimate, or ConfigError when it cannot run here: a domain beyond Fr's
    largest (always), or more memory per rank than this host's available memory divided
    among its ranks (unless skip_memory).  available / ranks: this host's figures by
    default (`available_memory`, `local_ranks`)."""
    est = estimate(cfg)
    where = cfg.path
    if est.domain_log2 > MAX_DOMAIN_LOG2:
        raise ConfigError(
            f"{where}: the node statement has {est.constraints:,} constraints: its Groth16 "
            f"domain would be 2^{est.domain_log2}, beyond 2^{MAX_DOMAIN_LOG2}, the largest of "
            f"BN254's Fr; lower [model] batch_size (now {cfg.model.batch_size}) or hidden")
    if skip_memory:
        return est
    available = available_memory() if available is None else available
    ranks = local_ranks() if ranks is None else ranks
    share = available // max(ranks, 1)
    if available and est.rank_bytes > share:
        raise ConfigError(
            f"{where}: one rank needs about {_gib(est.rank_bytes)} ({est.constraints:,} "
            f"constraints, domain 2^{est.domain_log2}, proving key {_gib(est.key_bytes)}), but "
            f"this host has {_gib(available)} available for {ranks} rank(s), {_gib(share)} "
            f"each; lower [model] batch_size (now {cfg.model.batch_size}), run fewer ranks per "
            f"host, or pass {SKIP_FLAG} to run anyway")
    return est


__all__ = ["Estimate", "SKIP_FLAG", "StatementSize", "available_memory", "check_resources",
           "domain_size", "estimate", "local_ranks", "proving_key_bytes", "statement_size"]
