"""One registry of names (hpc_zkfl/names.py) for each kind of thing a run can choose
(attacks, strategies, partitions, datasets, models, backends): the implementations, config
validation, the report and the docs read it, and these tests fail when any of them disagree.
The federation passes every option through, and the README documents every name."""
import re
from pathlib import Path

import numpy as np
import pytest

from hpc_zkfl import config, names
from hpc_zkfl.backends import registered_backends, run_backends
from hpc_zkfl.config import parse_config
from hpc_zkfl.fl.attacks import (ATTACK_KINDS, ATTACK_OPTIONS, DATA_POISONING, MODEL_POISONING,
                                 REPLAY_SOURCES, Attack)
from hpc_zkfl.fl.data import DATASETS, PARTITIONS, load_dataset, make_partition
from hpc_zkfl.fl.federation import build_federation, server_step_of
from hpc_zkfl.fl.strategies import AGGREGATORS, aggregate, aggregator_options
from hpc_zkfl.models.spec import MODEL_NAMES, param_shapes

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_the_implementations_have_exactly_the_registrys_names():
    assert ATTACK_KINDS == tuple(names.ATTACKS)
    assert REPLAY_SOURCES == tuple(names.REPLAY_SOURCES)
    assert tuple(AGGREGATORS) == tuple(names.STRATEGIES)
    assert DATASETS == tuple(names.DATASETS) and PARTITIONS == tuple(names.PARTITIONS)
    assert MODEL_NAMES + names.TREE_MODELS == tuple(names.MODELS)
    assert set(registered_backends()) == set(names.BACKENDS) - {"auto"}
    assert run_backends() == names.RUN_BACKENDS


def test_every_registered_name_works():
    """Each name is implemented, not only listed: a dataset loads, a partition cuts, a model
    has parameters, a strategy aggregates, an attack is built with its options."""
    ds = load_dataset("breast_cancer", seed=0)
    for name in names.DATASETS:
        assert load_dataset(name, seed=0).n_train > 0, name
    for name in names.PARTITIONS:
        parts = make_partition(ds, 4, name, 0.5, 0, per_node=8)
        assert len(parts) == 4 and all(len(p) for p in parts), name
    for name in MODEL_NAMES:
        assert param_shapes(name, 5, 2, hidden=4), name
    for name in names.TREE_MODELS:
        cfg = parse_config(f"[run]\nrounds = 30\n[data]\ndataset = \"breast_cancer\"\n"
                           f"[model]\nkind = \"{name}\"\n")
        assert build_federation(cfg, with_statement=False).initial_model().size, name
    updates = [np.arange(6, dtype=np.int64) * k for k in range(1, 8)]
    for name in names.STRATEGIES:
        options = {"n_malicious": 1} if name == "krum" else {}
        delta, used = aggregate(name, updates, [1] * 7, **options)
        assert delta.shape == (6,) and len(used) >= 1, name
    for kind in names.ATTACKS:
        Attack(kind, 0.5 if kind != "none" else 0.0, dict(ATTACK_OPTIONS.get(kind, {})))


def test_config_validation_reads_the_registry():
    assert config.STRATEGIES == tuple(names.STRATEGIES)
    assert config.PARTITIONS == PARTITIONS and config.REPLAY_SOURCES == REPLAY_SOURCES
    assert config.BACKENDS == run_backends()
    checks = config._CHECKS
    for (section, key), registered in names.CONFIG_KEYS.items():
        accept = checks[section][1][key][0]
        assert all(accept(n) for n in registered) and not accept("no-such-name"), (section, key)
    for name in names.CHECK_ONLY_BACKENDS:      # tools for the tests, never a run's backend
        assert not checks["run"][1]["backend"][0](name)


def test_the_names_page_is_the_registrys():
    """docs/names.md is `python -m hpc_zkfl.names`; regenerate it when the registry changes."""
    assert (ROOT / "docs" / "names.md").read_text() == names.markdown()


def test_every_attack_is_classified():
    assert set(MODEL_POISONING) | set(DATA_POISONING) | set(names.PRIVATE_ONLY_ATTACKS) \
        == set(ATTACK_KINDS) - {"none"}


@pytest.mark.parametrize("kind", [k for k in ATTACK_KINDS if k != "none"])
def test_every_attack_option_reaches_the_attack(kind):
    """Each option the attack takes is the [attack] key of the same name (scale included:
    sign_flip used to get 1.0 whatever the config said)."""
    values = {"scale": 3.0, "noise_std": 0.25, "source": "other_node"}
    lines = [f"kind = \"{kind}\"", "fraction = 0.5"]
    lines += [f"{k} = {values[k]!r}".replace("'", '"') for k in ATTACK_OPTIONS.get(kind, {})]
    private = "[privacy]\nmode = \"two_aggregators\"\n" \
        if kind in names.PRIVATE_ONLY_ATTACKS else ""
    if kind in names.TREE_ONLY_ATTACKS:
        private = "[run]\nrounds = 30\n[data]\ndataset = \"breast_cancer\"\n" \
                  "[model]\nkind = \"gbdt\"\n"
    cfg = parse_config(private + "[attack]\n" + "\n".join(lines) + "\n")
    attack = build_federation(cfg, with_statement=False).attack
    assert attack.options == {k: values[k] for k in ATTACK_OPTIONS.get(kind, {})}


def test_scale_zero_is_the_attacks_default_and_other_kinds_refuse_it():
    for kind in ("scaling", "sign_flip"):
        cfg = parse_config(f"[attack]\nkind = \"{kind}\"\nfraction = 0.5\n")
        attack = build_federation(cfg, with_statement=False).attack
        assert attack.options["scale"] == ATTACK_OPTIONS[kind]["scale"]
    with pytest.raises(config.ConfigError, match="scale is for kind"):
        parse_config("[attack]\nkind = \"gaussian\"\nfraction = 0.5\nscale = 2.0\n")


@pytest.mark.parametrize("strategy", list(AGGREGATORS))
def test_every_strategy_option_comes_from_the_config(strategy):
    agg = server_step_of(parse_config(f"[aggregation]\nstrategy = \"{strategy}\"\n"))
    assert set(agg.options or {}) == set(aggregator_options(strategy))


@pytest.mark.parametrize("name", [n for registered in names.CONFIG_KEYS.values()
                                  for n in registered])
def test_the_readme_documents_every_name(name):
    if name == "none":
        return
    assert re.search(rf"\b{re.escape(name)}\b", README), name
