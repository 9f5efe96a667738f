"""Run configurations: TOML files, checked completely before any MPI work starts.

Every section and key is declared below with its type, default and allowed values; an unknown
section or key, a wrong type or an impossible value is refused with a `ConfigError` naming the
file, the key and what was expected.  `configs/quickstart.toml` shows every section.

Every size has an upper bound, generous for real use, so that a typing slip cannot grow a run
until the kernel kills it; each bound is in the table `_CHECKS` with its reason.  What a
config needs in memory is estimated by `hpc_zkfl.resources` (which also checks the sizes
against the dataset's), before any MPI work too.
"""
import math
import os
import sys
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:                                   # pragma: no cover - Python 3.10
    import tomli as tomllib

from hpc_zkfl import names
from hpc_zkfl.names import ATTACK_OPTIONS

# Every name a config may use is the registry's (hpc_zkfl/names.py), which the implementations
# read too.  Backends: "auto" and what it may pick; not the reference and cuda-host backends,
# tools for checking the others that would take hours over a run.
ATTACK_KINDS = tuple(names.ATTACKS)
REPLAY_SOURCES = tuple(names.REPLAY_SOURCES)
DATASETS = tuple(names.DATASETS)
PARTITIONS = tuple(names.PARTITIONS)
MODEL_NAMES = tuple(names.MODELS)
STRATEGIES = tuple(names.STRATEGIES)
PRIVACY_MODES = tuple(names.PRIVACY_MODES)
BACKENDS = names.RUN_BACKENDS


class ConfigError(ValueError):
    """A configuration that cannot run; the message names the file and the key."""


def _positive(v):
    return v > 0


def _non_negative(v):
    return v >= 0


def _fraction(v):
    return 0 <= v <= 1


# Upper bounds of the sizes, generous for real use (each one's reason is in _CHECKS).
MAX_NODES = 100_000
MAX_ROUNDS = 100_000
MAX_BATCH = 1 << 16
MAX_HIDDEN = 4096
MAX_MERKLE_DEPTH = 16
MAX_SECONDS = 7 * 24 * 3600
MAX_SEED = (1 << 63) - 1
MAX_TREES = 2047                # (2^15 - 1) // 16: the margin bound of models/gbdt.py
MAX_TREE_DEPTH = 8
MAX_BINS = 256

# TOML keys that are not their field's name.
_KEY_FIELDS = {("model", "lambda"): "reg_lambda"}
_FIELD_KEYS = {(section, f): key for (section, key), f in _KEY_FIELDS.items()}


def _node_ids(v) -> bool:
    return len(v) <= MAX_NODES and all(isinstance(i, int) and not isinstance(i, bool) and i >= 0
                                       for i in v)


def _ints(lo: int, hi: int, why: str) -> tuple:
    """(check, expected) of an integer in [lo, hi]."""
    return (lambda v: lo <= v <= hi), f"an integer >= {lo} and <= {hi:,} ({why})"


def _seconds(positive: bool, why: str) -> tuple:
    """(check, expected) of a number of seconds > 0 (or >= 0) and <= MAX_SECONDS."""
    above, low = (_positive, "> 0") if positive else (_non_negative, ">= 0")
    return ((lambda v: above(v) and v <= MAX_SECONDS),
            f"a number of seconds {low} and <= {MAX_SECONDS:,} ({why})")


@dataclass(frozen=True)
class RunSection:
    name: str = "run"
    seed: int = 0
    rounds: int = 10
    output: str = "results/run.h5"
    backend: str = "auto"
    round_deadline_s: float = 600.0
    prover_table_mib: int = 256     # fixed-base table of the key's H query a proving rank keeps


@dataclass(frozen=True)
class DataSection:
    dataset: str = "digits"
    partition: str = "iid"
    dirichlet_alpha: float = 0.5
    samples_per_node: int = 8   # "shared" partition: overlapping parts, for more nodes than samples
    test_fraction: float = 0.2


@dataclass(frozen=True)
class NodesSection:
    count: int = 10
    per_rank: int = 0           # 0: spread the nodes over the non-root ranks
    per_round: int = 0          # participants drawn each round; 0: every node, every round


@dataclass(frozen=True)
class ModelSection:
    kind: str = "ovr"
    hidden: int = 0
    batch_size: int = 8
    learning_rate: float = 0.5
    norm_bound: float = 64.0
    data_binding: bool = False
    merkle_depth: int = 0       # 0 with data binding: the smallest depth that fits every node
    # kind = "gbdt" (models/gbdt.py); learning_rate is shared, the TOML key of reg_lambda is
    # "lambda" (a Python keyword).
    n_trees: int = 10
    max_depth: int = 3
    n_bins: int = 16
    reg_lambda: float = 1.0
    gamma: float = 0.0
    min_child_weight: float = 1.0


@dataclass(frozen=True)
class AggregationSection:
    strategy: str = "fedavg"
    proofs: bool = True
    trim_fraction: float = 0.1
    krum_malicious: int = 0
    krum_multi: int = 1
    server_lr: float = 1.0
    server_lr_half_life: float = 0.0


@dataclass(frozen=True)
class PrivacySection:
    """Who may see a node's update: the root ("public"), or nobody, two aggregators each
    holding a share ("two_aggregators", fl/private.py)."""
    mode: str = "public"
    min_accepted: int = 2       # the helper releases no sum over fewer nodes


@dataclass(frozen=True)
class SetupSection:
    """Where phase 1 of the proving key comes from: a powers-of-tau file (a ceremony's), or
    "" for one the leader draws (not for production).  Phase 2: fl/ceremony.py."""
    ptau: str = ""


@dataclass(frozen=True)
class AttackSection:
    kind: str = "none"
    fraction: float = 0.0
    scale: float = 0.0          # 0: the attack's own default (ATTACK_OPTIONS)
    noise_std: float = 1.0
    source: str = "old_round"


@dataclass(frozen=True)
class FaultsSection:
    """Fault injection for tests: nodes that sleep before sending (deadline handling), and a
    root that dies right after writing a round, as a killed job would (resume)."""
    slow_nodes: tuple = ()
    slow_seconds: float = 0.0
    kill_after_round: int = 0


# section -> (class, {key: (check, what is expected: a size's bounds with the reason)})
_CHECKS = {
    "run": (RunSection, {
        "name": (lambda v: bool(v.strip()), "a non-empty string"),
        "seed": _ints(0, MAX_SEED, "2^63 - 1: the results file stores it as a signed "
                                   "64-bit integer"),
        "rounds": _ints(1, MAX_ROUNDS, "each round adds a row per node to the results file"),
        "output": (lambda v: bool(v.strip()), "a file path"),
        "backend": (lambda v: v in BACKENDS, f"one of {', '.join(BACKENDS)}"),
        "round_deadline_s": _seconds(True, "a week, longer than batch jobs may run"),
        "prover_table_mib": _ints(0, 1 << 20, "1 TiB; 0 proves without the table"),
    }),
    "data": (DataSection, {
        "dataset": (lambda v: v in DATASETS, f"one of {', '.join(DATASETS)}"),
        "partition": (lambda v: v in PARTITIONS, f"one of {', '.join(PARTITIONS)}"),
        "dirichlet_alpha": (_positive, "a number > 0"),
        "samples_per_node": _ints(1, 1 << MAX_MERKLE_DEPTH,
                                  f"2^{MAX_MERKLE_DEPTH}, what the deepest Merkle tree holds"),
        "test_fraction": (lambda v: 0 < v < 1, "a number in (0, 1)"),
    }),
    "nodes": (NodesSection, {
        "count": _ints(1, MAX_NODES, "every rank holds each node's data and a column per node "
                                     "of every round's results"),
        "per_rank": _ints(0, MAX_NODES, "the most nodes; 0: spread over the ranks"),
        "per_round": _ints(0, MAX_NODES, "the most nodes; 0: every node, every round"),
    }),
    "model": (ModelSection, {
        "kind": (lambda v: v in MODEL_NAMES, f"one of {', '.join(MODEL_NAMES)}"),
        "hidden": _ints(0, MAX_HIDDEN, "each unit adds a parameter per feature and per class, "
                                       "and their constraints, to every proof"),
        "batch_size": _ints(1, MAX_BATCH, "each sample adds hundreds to thousands of "
                                          "constraints to every proof"),
        "learning_rate": (_positive, "a number > 0"),
        "norm_bound": (_positive, "a number > 0"),
        "data_binding": (lambda v: True, "true or false"),
        "merkle_depth": _ints(0, MAX_MERKLE_DEPTH, "each node's tree is built in full, "
                                                   "2^depth Poseidon hashes: 2^16 take half a "
                                                   "minute"),
        "n_trees": _ints(1, MAX_TREES, "every tree adds up to 16 to a margin, which stays in "
                                       "32-bit fixed point with 16 fractional bits"),
        "max_depth": _ints(1, MAX_TREE_DEPTH, "every proof holds the histograms of the "
                                              "2^(max_depth - 1) nodes of the last level"),
        "n_bins": _ints(2, MAX_BINS, "every bin adds a constraint per feature and sample to "
                                     "every proof"),
        "lambda": (_non_negative, "a number >= 0"),
        "gamma": (_non_negative, "a number >= 0"),
        "min_child_weight": (_non_negative, "a number >= 0"),
    }),
    "aggregation": (AggregationSection, {
        "strategy": (lambda v: v in STRATEGIES, f"one of {', '.join(STRATEGIES)}"),
        "proofs": (lambda v: True, "true or false"),
        "trim_fraction": (lambda v: 0 <= v < 0.5, "a number in [0, 0.5)"),
        "krum_malicious": _ints(0, (MAX_NODES - 3) // 2,
                                "krum needs nodes.count >= 2 * krum_malicious + 3"),
        "krum_multi": _ints(1, MAX_NODES, "multi-krum keeps at most every node's update"),
        "server_lr": (_positive, "a number > 0"),
        "server_lr_half_life": (_non_negative, "a number of rounds >= 0 (0: no decay)"),
    }),
    "attack": (AttackSection, {
        "kind": (lambda v: v in ATTACK_KINDS, f"one of {', '.join(ATTACK_KINDS)}"),
        "fraction": (_fraction, "a number in [0, 1]"),
        "scale": (_non_negative, "a number > 0, or 0 for the attack's default (scaling 10, "
                                 "sign_flip 1)"),
        "noise_std": (_positive, "a number > 0"),
        "source": (lambda v: v in REPLAY_SOURCES, f"one of {', '.join(REPLAY_SOURCES)}"),
    }),
    "privacy": (PrivacySection, {
        "mode": (lambda v: v in PRIVACY_MODES, f"one of {', '.join(PRIVACY_MODES)}"),
        "min_accepted": _ints(1, MAX_NODES, "the fewest nodes whose shares the helper sums"),
    }),
    "setup": (SetupSection, {
        "ptau": (lambda v: True, "a path to a .ptau file, or \"\" for a local phase 1"),
    }),
    "faults": (FaultsSection, {
        "slow_nodes": (_node_ids, f"a list of at most {MAX_NODES:,} node ids"),
        "slow_seconds": _seconds(False, "as long as the longest round deadline"),
        "kill_after_round": _ints(0, MAX_ROUNDS, "a round number; 0: never"),
    }),
}


@dataclass(frozen=True)
class RunConfig:
    run: RunSection = field(default_factory=RunSection)
    data: DataSection = field(default_factory=DataSection)
    nodes: NodesSection = field(default_factory=NodesSection)
    model: ModelSection = field(default_factory=ModelSection)
    aggregation: AggregationSection = field(default_factory=AggregationSection)
    attack: AttackSection = field(default_factory=AttackSection)
    privacy: PrivacySection = field(default_factory=PrivacySection)
    setup: SetupSection = field(default_factory=SetupSection)
    faults: FaultsSection = field(default_factory=FaultsSection)
    source: str = ""            # the TOML text, kept with the results
    path: str = "<string>"

    def as_dict(self) -> dict:
        """{section: {TOML key: value}}."""
        return {f.name: {_FIELD_KEYS.get((f.name, k.name), k.name):
                         (list(v) if isinstance(v := getattr(getattr(self, f.name), k.name),
                                                tuple) else v)
                         for k in fields(getattr(self, f.name))}
                for f in fields(self) if f.name in _CHECKS}


def _shown(value) -> str:
    """value's repr, cut short (a list of 100,000 ids would make a useless message)."""
    if isinstance(value, tuple):
        value = list(value)
    text = repr(value)
    if len(text) <= 80:
        return text
    count = f" ({len(value)} items)" if isinstance(value, list) else ""
    return f"{text[:60]}...{count}"


def _typed(where: str, section: str, key: str, value, default):
    """value converted to the type of `default`, or a ConfigError."""
    kind = type(default)
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        value = float(value) if ok else value
    elif kind is tuple:
        ok = isinstance(value, list)
        value = tuple(value) if ok else value
    else:
        ok = isinstance(value, kind)
    if not ok:
        expected = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
                    tuple: "a list"}[kind]
        raise ConfigError(f"{where}: [{section}] {key} must be {expected}, got {_shown(value)}")
    return value


def parse_config(text: str, path: str = "<string>") -> RunConfig:
    """The RunConfig of a TOML text; ConfigError on anything that cannot run."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    unknown = sorted(set(raw) - set(_CHECKS))
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {', '.join(unknown)}; known: "
                          f"{', '.join(_CHECKS)}")
    sections = {}
    for name, (cls, checks) in _CHECKS.items():
        given = raw.get(name, {})
        if not isinstance(given, dict):
            raise ConfigError(f"{path}: [{name}] must be a table")
        bad = sorted(set(given) - set(checks))
        if bad:
            raise ConfigError(f"{path}: unknown key(s) in [{name}]: {', '.join(bad)}; known: "
                              f"{', '.join(checks)}")
        values = {}
        defaults = cls()
        for key, value in given.items():
            attr = _KEY_FIELDS.get((name, key), key)
            value = _typed(path, name, key, value, getattr(defaults, attr))
            check, expected = checks[key]
            if not check(value):
                raise ConfigError(f"{path}: [{name}] {key} must be {expected}, "
                                  f"got {_shown(value)}")
            values[attr] = value
        sections[name] = cls(**values)
    config = RunConfig(**sections, source=text, path=path)
    _check_consistency(config)
    return config


def _check_tree_model(c: RunConfig):
    """The boosted trees' rules: binary data, every node every round (a node's margins are a
    chain of proofs), public histograms summed exactly (or, unproven, their median), and the
    linear models' keys left alone."""
    where, m, defaults = c.path, c.model, ModelSection()
    tree_keys = ("n_trees", "max_depth", "n_bins", "reg_lambda", "gamma", "min_child_weight")
    linear_keys = ("hidden", "batch_size", "norm_bound", "data_binding", "merkle_depth")
    if m.kind not in names.TREE_MODELS:
        given = [_FIELD_KEYS.get(("model", k), k) for k in tree_keys
                 if getattr(m, k) != getattr(defaults, k)]
        if given:
            raise ConfigError(f"{where}: [model] {', '.join(given)} are for kind = \"gbdt\" "
                              "only")
        if c.attack.kind in names.TREE_ONLY_ATTACKS:
            raise ConfigError(f"{where}: [attack] kind {c.attack.kind!r} attacks boosted trees: "
                              "it needs [model] kind = \"gbdt\"")
        return
    given = [k for k in linear_keys if getattr(m, k) != getattr(defaults, k)]
    if given:
        raise ConfigError(f"{where}: [model] {', '.join(given)} are not for kind = \"gbdt\" "
                          "(its data are always committed, every sample in every proof)")
    if c.data.dataset not in names.BINARY_DATASETS:
        raise ConfigError(f"{where}: [model] kind = \"gbdt\" is binary: dataset "
                          f"{c.data.dataset!r} has more classes (use one of "
                          f"{', '.join(names.BINARY_DATASETS)})")
    if m.learning_rate > 1:
        raise ConfigError(f"{where}: [model] learning_rate must be <= 1 for kind = \"gbdt\", "
                          f"got {m.learning_rate!r}")
    rounds = m.n_trees * m.max_depth
    if c.run.rounds != rounds:
        raise ConfigError(f"{where}: [run] rounds must be n_trees * max_depth = {rounds} for "
                          f"kind = \"gbdt\" (a round grows one level of one tree), got "
                          f"{c.run.rounds}")
    if c.nodes.per_round:
        raise ConfigError(f"{where}: [nodes] per_round must be 0 for kind = \"gbdt\": every "
                          "node sends every level (its margins are carried from proof to proof)")
    if c.privacy.mode != "public":
        raise ConfigError(f"{where}: [privacy] mode must be \"public\" for kind = \"gbdt\" "
                          "(the root sums the nodes' histograms)")
    allowed = ("fedavg", "median") if not c.aggregation.proofs else ("fedavg",)
    if c.aggregation.strategy not in allowed:
        raise ConfigError(f"{where}: [aggregation] strategy must be "
                          f"{' or '.join(repr(a) for a in allowed)} for kind = \"gbdt\" "
                          "(fedavg: the exact sum of the histograms; median: the unproven "
                          "robust baseline)")


def _check_consistency(c: RunConfig):
    where = c.path
    _check_tree_model(c)
    if c.model.kind == "mlp" and c.model.hidden < 1:
        raise ConfigError(f"{where}: [model] kind = \"mlp\" needs hidden >= 1")
    if c.model.kind != "mlp" and c.model.hidden:
        raise ConfigError(f"{where}: [model] hidden is for kind = \"mlp\" only")
    if c.model.kind == "logistic" and c.data.dataset not in names.BINARY_DATASETS:
        raise ConfigError(f"{where}: [model] kind = \"logistic\" is binary; dataset "
                          f"{c.data.dataset!r} has more classes (use \"ovr\")")
    if c.model.merkle_depth and not c.model.data_binding:
        raise ConfigError(f"{where}: [model] merkle_depth needs data_binding = true")
    if c.attack.kind == "none" and c.attack.fraction > 0:
        raise ConfigError(f"{where}: [attack] fraction > 0 needs an attack kind")
    scaled = [k for k, options in ATTACK_OPTIONS.items() if "scale" in options]
    if c.attack.scale and c.attack.kind not in scaled:
        raise ConfigError(f"{where}: [attack] scale is for kind = {' or '.join(scaled)}, not "
                          f"{c.attack.kind!r} (leave it out, or 0)")
    if c.attack.kind != "none" and c.attack.fraction == 0:
        raise ConfigError(f"{where}: [attack] kind {c.attack.kind!r} needs fraction > 0")
    if c.aggregation.strategy == "krum" and c.nodes.count < 2 * c.aggregation.krum_malicious + 3:
        raise ConfigError(f"{where}: [aggregation] krum needs nodes.count >= 2 * krum_malicious + 3")
    if c.nodes.per_round > c.nodes.count:
        raise ConfigError(f"{where}: [nodes] per_round = {c.nodes.per_round} is more than the "
                          f"{c.nodes.count} nodes")
    if c.aggregation.strategy == "krum" and 0 < c.nodes.per_round < \
            2 * c.aggregation.krum_malicious + 3:
        raise ConfigError(f"{where}: [aggregation] krum needs nodes.per_round >= "
                          f"2 * krum_malicious + 3")
    if c.aggregation.strategy == "krum" and c.aggregation.krum_multi > c.nodes.count:
        raise ConfigError(f"{where}: [aggregation] krum_multi = {c.aggregation.krum_multi} is "
                          f"more than the {c.nodes.count} nodes")
    private = c.privacy.mode == "two_aggregators"
    if private and not c.aggregation.proofs:
        raise ConfigError(f"{where}: [privacy] mode = \"two_aggregators\" needs "
                          f"[aggregation] proofs = true (the aggregators check proofs and shares)")
    if private and c.aggregation.strategy != "fedavg":
        raise ConfigError(f"{where}: [privacy] mode = \"two_aggregators\" aggregates shares, "
                          f"which only the linear strategy fedavg can (not "
                          f"{c.aggregation.strategy!r})")
    if c.attack.kind in names.PRIVATE_ONLY_ATTACKS and not private:
        raise ConfigError(f"{where}: [attack] kind {c.attack.kind!r} attacks the two-aggregator "
                          f"protocol: it needs [privacy] mode = \"two_aggregators\"")
    bad = [i for i in c.faults.slow_nodes if i >= c.nodes.count]
    if bad:
        raise ConfigError(f"{where}: [faults] slow_nodes {bad} are not node ids "
                          f"(0..{c.nodes.count - 1})")
    if c.setup.ptau and not os.path.isfile(c.setup.ptau):
        raise ConfigError(f"{where}: [setup] ptau = {c.setup.ptau!r} is not a file (a path "
                          f"from where the run starts, or \"\" for a local phase 1)")


# What may differ between a run and its resumption: the faults injected, where the results go
# and how many rounds to run in all.
_RESUMABLE_CHANGES = {("faults", k) for k in _CHECKS["faults"][1]} | {("run", "output"),
                                                                     ("run", "rounds")}


def resume_conflicts(stored: dict, cfg: RunConfig) -> list:
    """The keys ("section.key") whose values differ between a results file's stored config and
    cfg, other than those a resumed run may change."""
    new = cfg.as_dict()
    out = []
    for section, values in new.items():
        for key, value in values.items():
            if (section, key) in _RESUMABLE_CHANGES:
                continue
            # A key added since the file was written counts as its default there.
            old = stored.get(section, {}).get(key, _default(section, key))
            if old != value:
                out.append(f"{section}.{key}")
    return out


def _default(section: str, key: str):
    cls = _CHECKS.get(section, (None,))[0]
    key = _KEY_FIELDS.get((section, key), key)
    for f in fields(cls) if cls else ():
        if f.name == key and f.default is not MISSING:
            return f.default
    return None


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "[" + ", ".join(_toml_value(x) for x in v) + "]"


def _render(sections: dict, header: str) -> str:
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    for section, values in sections.items():
        lines += ["", f"[{section}]"] + [f"{k} = {_toml_value(v)}" for k, v in values.items()]
    return "\n".join(lines).lstrip("\n") + "\n"


def to_toml(cfg: RunConfig, header: str = "") -> str:
    """Every key of cfg as TOML text that parses back to an equal RunConfig (the comments of
    the file it came from are not kept; `header` lines are written first as comments)."""
    return _render(cfg.as_dict(), header)


def with_overrides(cfg: RunConfig, overrides: dict, header: str = "") -> RunConfig:
    """cfg with {"section.key": value} replaced, checked like a file (ConfigError if the
    result cannot run); its source is the rewritten TOML text."""
    sections = cfg.as_dict()
    for dotted, value in overrides.items():
        section, _, key = dotted.partition(".")
        if section not in sections or key not in sections[section]:
            raise ConfigError(f"{cfg.path}: no key {dotted!r} to override")
        sections[section][key] = value
    return parse_config(_render(sections, header), cfg.path)


def load_config(path) -> RunConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None
    return parse_config(text, str(path))


__all__ = ["BACKENDS", "ConfigError", "PARTITIONS", "RunConfig", "STRATEGIES", "load_config",
           "parse_config", "resume_conflicts", "to_toml", "with_overrides"]
