"""Run configurations: the quickstart parses; every kind of bad input is refused clearly."""
from pathlib import Path

import pytest

from hpc_zkfl.config import ConfigError, load_config, parse_config, to_toml, with_overrides

ROOT = Path(__file__).resolve().parents[1]


def test_every_shipped_config_parses():
    configs = sorted((ROOT / "configs").glob("*.toml"))
    assert configs, "configs/ holds no configuration"
    for path in configs:
        cfg = load_config(path)
        assert cfg.run.rounds >= 1 and cfg.source


def test_defaults_and_types():
    cfg = parse_config("[run]\nrounds = 3\n[model]\nlearning_rate = 1\n")
    assert cfg.run.rounds == 3 and cfg.model.learning_rate == 1.0
    assert isinstance(cfg.model.learning_rate, float)
    assert cfg.as_dict()["faults"]["slow_nodes"] == []


@pytest.mark.parametrize("text,message", [
    ("[runn]\nrounds = 3\n", "unknown section"),
    ("[run]\nround = 3\n", "unknown key"),
    ("[run]\nrounds = \"3\"\n", "rounds must be an integer"),
    ("[run]\nrounds = 2.5\n", "rounds must be an integer"),
    ("[run]\nrounds = 0\n", "rounds must be an integer >= 1"),
    ("[run]\nbackend = \"tpu\"\n", "backend must be one of"),
    ("[model]\nbatch_size = true\n", "batch_size must be an integer"),
    ("[model]\nlearning_rate = -0.1\n", "learning_rate must be a number > 0"),
    ("[model]\nkind = \"mlp\"\n", "needs hidden >= 1"),
    ("[model]\nkind = \"logistic\"\n", "binary"),
    ("[model]\nmerkle_depth = 4\n", "needs data_binding"),
    ("[data]\ndataset = \"mnist\"\n", "dataset must be one of"),
    ("[attack]\nkind = \"sign_flip\"\n", "needs fraction > 0"),
    ("[attack]\nfraction = 0.3\n", "needs an attack kind"),
    ("[attack]\nkind = \"x\"\nfraction = 0.3\n", "kind must be one of"),
    ("[attack]\nkind = \"sign_flip\"\nfraction = 1.5\n", "fraction must be a number in"),
    ("[aggregation]\nstrategy = \"krum\"\nkrum_malicious = 5\n", "krum needs"),
    ("[faults]\nslow_nodes = [99]\n", "not node ids"),
    ("[aggregation]\nserver_lr = 0\n", "server_lr must be a number > 0"),
    ("[aggregation]\nserver_lr_half_life = -1\n", "server_lr_half_life must be a number"),
    ("[nodes]\ncount = 4\nper_round = 5\n", "more than the 4 nodes"),
    ("[nodes]\ncount = 20\nper_round = 4\n[aggregation]\nstrategy = \"krum\"\nkrum_malicious = 1\n",
     "krum needs nodes.per_round"),
    ("[run]\nrounds = 3\n[run]\nseed = 1\n", "not valid TOML"),
    ("run = 3\n", "must be a table"),
])
def test_bad_configs_are_refused(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(text, "bad.toml")


def test_unreadable_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "binary.toml"
    bad.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="UTF-8"):
        load_config(bad)


def test_toml_round_trip_and_overrides():
    cfg = load_config(ROOT / "configs" / "quickstart.toml")
    text = to_toml(cfg, header="two\nlines")
    assert text.startswith("# two\n# lines\n")
    assert parse_config(text).as_dict() == cfg.as_dict()
    other = with_overrides(cfg, {"nodes.count": 100, "run.name": 'a "quoted" \\ name'})
    assert other.nodes.count == 100 and other.run.name == 'a "quoted" \\ name'
    assert parse_config(other.source).as_dict() == other.as_dict()
    with pytest.raises(ConfigError, match="no key 'nodes.cont'"):
        with_overrides(cfg, {"nodes.cont": 3})
    with pytest.raises(ConfigError, match="count must be an integer >= 1"):
        with_overrides(cfg, {"nodes.count": 0})


def test_resume_takes_keys_missing_from_an_older_file_as_their_defaults():
    from hpc_zkfl.config import resume_conflicts
    cfg = load_config(ROOT / "configs" / "quickstart.toml")
    stored = cfg.as_dict()
    del stored["aggregation"]["server_lr"]             # written before the key existed
    assert resume_conflicts(stored, cfg) == []
    changed = with_overrides(cfg, {"aggregation.server_lr": 0.5})
    assert resume_conflicts(stored, changed) == ["aggregation.server_lr"]


# (key, TOML lines that make the bounds reachable, lowest, highest, step past each; None: that
# bound is tested on another row): every size at its bounds (accepted) and one step beyond
# (refused).
_BOUNDS = [
    ("run.seed", "", 0, 2**63 - 1, 1),
    ("run.rounds", "", 1, 100_000, 1),
    ("run.round_deadline_s", "", 0.5, 604_800.0, 0.5),
    ("data.samples_per_node", "", 1, 65_536, 1),
    ("nodes.count", "", 1, 100_000, 1),
    ("nodes.per_rank", "", 0, 100_000, 1),
    ("nodes.per_round", "[nodes]\ncount = 100000\n", 0, 100_000, 1),
    ("model.hidden", "", 0, None, 1),                      # hidden >= 1 is the mlp's rule
    ("model.hidden", "[model]\nkind = \"mlp\"\n", None, 4096, 1),
    ("model.batch_size", "", 1, 65_536, 1),
    ("model.merkle_depth", "[model]\ndata_binding = true\n", 0, 16, 1),
    ("aggregation.krum_malicious", "[nodes]\ncount = 100000\n[aggregation]\n"
     "strategy = \"krum\"\n", 0, 49_998, 1),
    ("aggregation.krum_multi", "[nodes]\ncount = 100000\n[aggregation]\n"
     "strategy = \"krum\"\n", 1, 100_000, 1),
    ("faults.slow_seconds", "", 0.0, 604_800.0, 0.5),
    ("faults.kill_after_round", "", 0, 100_000, 1),
]
_CASES = [(key, extra, bound, bound + side * step) for key, extra, lo, hi, step in _BOUNDS
          for bound, side in ((lo, -1), (hi, 1)) if bound is not None]


def _with(extra: str, dotted: str, value) -> str:
    """extra's TOML with section.key = value added to its section."""
    section, key = dotted.split(".")
    line = f"{key} = {value!r}\n"
    if f"[{section}]\n" in extra:
        return extra.replace(f"[{section}]\n", f"[{section}]\n{line}", 1)
    return f"{extra}[{section}]\n{line}"


@pytest.mark.parametrize("dotted,extra,accepted,refused", _CASES,
                         ids=[f"{c[0]}={c[3]}" for c in _CASES])
def test_every_size_is_bounded(dotted, extra, accepted, refused):
    section, key = dotted.split(".")
    cfg = parse_config(_with(extra, dotted, accepted), "bounds.toml")
    assert getattr(getattr(cfg, section), key) == accepted
    with pytest.raises(ConfigError, match=rf"^bounds\.toml: \[{section}\] {key} must be .*"
                                          rf"got {refused!r}$"):
        parse_config(_with(extra, dotted, refused), "bounds.toml")


def test_a_bound_names_its_figure_and_its_reason():
    with pytest.raises(ConfigError) as exc:
        parse_config("[model]\nbatch_size = 100000\n", "big.toml")
    assert str(exc.value) == (
        "big.toml: [model] batch_size must be an integer >= 1 and <= 65,536 (each sample adds "
        "hundreds to thousands of constraints to every proof), got 100000")


def test_slow_nodes_are_bounded_and_a_long_list_is_shown_short():
    ids = ", ".join(["0"] * 100_000)
    assert len(parse_config(f"[nodes]\ncount = 100000\n[faults]\nslow_nodes = [{ids}]\n")
               .faults.slow_nodes) == 100_000
    with pytest.raises(ConfigError, match=r"slow_nodes must be a list of at most 100,000 node "
                                          r"ids, got \[0, 0.*\.\.\. \(100001 items\)$"):
        parse_config(f"[faults]\nslow_nodes = [{ids}, 0]\n")
    with pytest.raises(ConfigError, match="slow_nodes must be"):
        parse_config("[faults]\nslow_nodes = [true]\n")


def test_krum_multi_is_at_most_the_nodes():
    krum = "[aggregation]\nstrategy = \"krum\"\nkrum_multi = {}\n[nodes]\ncount = 5\n"
    assert parse_config(krum.format(5)).aggregation.krum_multi == 5
    with pytest.raises(ConfigError, match="krum_multi = 6 is more than the 5 nodes"):
        parse_config(krum.format(6))
    # Other strategies ignore it.
    assert parse_config("[aggregation]\nkrum_multi = 50\n").aggregation.krum_multi == 50


def test_run_backends_are_the_registry_s():
    """config.BACKENDS is "auto" and what it may pick, read from the backend registry: a name
    the registry lacks is never accepted, and the checking tools are refused."""
    from hpc_zkfl.backends import registered_backends, run_backends
    from hpc_zkfl.config import BACKENDS

    assert BACKENDS == run_backends()
    assert BACKENDS[0] == "auto" and set(BACKENDS[1:]) <= set(registered_backends())
    assert set(registered_backends()) - set(BACKENDS) == {"reference", "cuda-host"}
    for name in BACKENDS:
        assert parse_config(f'[run]\nbackend = "{name}"\n').run.backend == name
    for name in ("reference", "cuda-host"):
        with pytest.raises(ConfigError, match="backend must be one of auto, cpu, gpu, got"):
            parse_config(f'[run]\nbackend = "{name}"\n', "bad.toml")


def test_setup_ptau_must_be_a_file(tmp_path):
    from hpc_zkfl.config import ConfigError, parse_config
    with pytest.raises(ConfigError, match=r"\[setup\] ptau = '.*missing.ptau' is not a file"):
        parse_config(f'[setup]\nptau = "{tmp_path / "missing.ptau"}"\n', "x.toml")
    (tmp_path / "there.ptau").write_bytes(b"ptau")
    cfg = parse_config(f'[setup]\nptau = "{tmp_path / "there.ptau"}"\n', "x.toml")
    assert cfg.setup.ptau == str(tmp_path / "there.ptau")
    assert parse_config("", "x.toml").setup.ptau == ""
