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
