"""One list of names for each kind of thing a run can choose (attacks, strategies, partitions,
datasets, models, backends): the config reads it from the module that implements it, the
federation passes every option through, and the README documents every name."""
import re
from pathlib import Path

import pytest

from hpc_zkfl import config
from hpc_zkfl.backends import run_backends
from hpc_zkfl.config import parse_config
from hpc_zkfl.fl.attacks import (ATTACK_KINDS, ATTACK_OPTIONS, DATA_POISONING, MODEL_POISONING,
                                 REPLAY_SOURCES)
from hpc_zkfl.fl.data import DATASETS, PARTITIONS
from hpc_zkfl.fl.federation import server_step_of, build_federation
from hpc_zkfl.fl.strategies import AGGREGATORS, aggregator_options
from hpc_zkfl.models.spec import MODEL_NAMES

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_config_reads_the_implementations_names():
    assert config.STRATEGIES == tuple(AGGREGATORS)
    assert config.PARTITIONS is PARTITIONS and config.REPLAY_SOURCES is REPLAY_SOURCES
    assert config.BACKENDS == run_backends()
    checks = config._CHECKS
    for section, key, names in (("attack", "kind", ATTACK_KINDS), ("data", "dataset", DATASETS),
                                ("model", "kind", MODEL_NAMES), ("data", "partition", PARTITIONS),
                                ("aggregation", "strategy", tuple(AGGREGATORS))):
        accept = checks[section][1][key][0]
        assert all(accept(n) for n in names) and not accept("no-such-name"), (section, key)


def test_every_attack_is_classified():
    assert set(MODEL_POISONING) | set(DATA_POISONING) == set(ATTACK_KINDS) - {"none"}


@pytest.mark.parametrize("kind", [k for k in ATTACK_KINDS if k != "none"])
def test_every_attack_option_reaches_the_attack(kind):
    """Each option the attack takes is the [attack] key of the same name (scale included:
    sign_flip used to get 1.0 whatever the config said)."""
    values = {"scale": 3.0, "noise_std": 0.25, "source": "other_node"}
    lines = [f"kind = \"{kind}\"", "fraction = 0.5"]
    lines += [f"{k} = {values[k]!r}".replace("'", '"') for k in ATTACK_OPTIONS.get(kind, {})]
    cfg = parse_config("[attack]\n" + "\n".join(lines) + "\n")
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


@pytest.mark.parametrize("name", [*ATTACK_KINDS, *AGGREGATORS, *DATASETS, *MODEL_NAMES,
                                  *PARTITIONS, *run_backends()])
def test_the_readme_documents_every_name(name):
    if name == "none":
        return
    assert re.search(rf"\b{re.escape(name)}\b", README), name
