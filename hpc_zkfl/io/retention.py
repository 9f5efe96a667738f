"""Accuracy retention under attack, from results files alone.

Retention = final test accuracy of a run under attack / final test accuracy of clean FedAvg
(no attack) in the same setting.  A *setting* is everything in a run's stored configuration
but the attack, the aggregation and where and how the run was launched; a *defense* is
"proofs" (FedAvg of the updates whose proofs verify) or, without proofs, the aggregator
("fedavg", "median", "trimmed_mean", "krum").  A clean baseline is a complete run with attack
kind "none" and FedAvg (the unproven one when both exist).  Incomplete runs are left out.
"""
import json
from dataclasses import dataclass

import numpy as np

DEFENSES = ("proofs", "fedavg", "median", "trimmed_mean", "krum")
# Keys that do not change what is learned: how and where the run was launched.
_LAUNCH_KEYS = {("run", "name"), ("run", "output"), ("run", "backend"),
                ("run", "round_deadline_s"), ("nodes", "per_rank")}
_NOT_SETTING = {"attack", "aggregation", "faults"}


@dataclass(frozen=True)
class RetentionRow:
    setting: str                # e.g. "iid", "dirichlet0.5"
    attack: str
    fraction: float
    defense: str
    accuracy: float             # final accuracy under attack
    clean: float                # final accuracy of the clean baseline
    path: str

    @property
    def retention(self) -> float:
        return self.accuracy / self.clean


def _setting_key(cfg: dict) -> str:
    kept = {s: {k: v for k, v in values.items() if (s, k) not in _LAUNCH_KEYS}
            for s, values in cfg.items() if s not in _NOT_SETTING}
    return json.dumps(kept, sort_keys=True)


def _partition_label(cfg: dict) -> str:
    data = cfg.get("data", {})
    part = str(data.get("partition", "?"))
    if part == "dirichlet":
        return f"dirichlet{data.get('dirichlet_alpha', '?'):g}"
    return part


def defense_of(cfg: dict) -> str:
    agg = cfg.get("aggregation", {})
    return "proofs" if agg.get("proofs", True) else str(agg.get("strategy", "fedavg"))


def _final_accuracy(res):
    rounds = res.config.get("run", {}).get("rounds")
    if rounds is None or res.n_rounds < rounds or res.n_rounds == 0:
        return None
    return float(res.rounds["accuracy"][-1])


def retention_rows(results) -> list:
    """RetentionRow for every complete attacked run whose setting has a clean baseline among
    `results` (loaded results files)."""
    settings, clean, attacked = {}, {}, []
    for res in results:
        cfg = res.config
        acc = _final_accuracy(res)
        if not cfg or acc is None:
            continue
        key = _setting_key(cfg)
        settings.setdefault(key, _partition_label(cfg))
        attack = cfg.get("attack", {})
        defense = defense_of(cfg)
        if attack.get("kind", "none") == "none":
            if cfg.get("aggregation", {}).get("strategy", "fedavg") == "fedavg":
                # the unproven clean run is the baseline when there are both
                if key not in clean or defense == "fedavg":
                    clean[key] = acc
            continue
        attacked.append((key, str(attack["kind"]), float(attack.get("fraction", 0.0)), defense,
                         acc, str(res.path)))
    # One label per setting; settings that share a partition label are numbered.
    labels, seen = {}, {}
    for key, label in settings.items():
        seen[label] = seen.get(label, 0) + 1
        labels[key] = label if seen[label] == 1 else f"{label}#{seen[label]}"
    return [RetentionRow(labels[key], attack, fraction, defense, acc, clean[key], path)
            for key, attack, fraction, defense, acc, path in attacked if clean.get(key)]


def clean_accuracy(results) -> dict:
    """setting label -> final accuracy of its clean baseline (the settings retention_rows
    reports)."""
    return {r.setting: r.clean for r in retention_rows(results)}


def _ordered(values, first=()):
    values = set(values)
    return [v for v in first if v in values] + sorted(values - set(first))


def retention_table(rows, attack_order=()) -> tuple:
    """(headers, table rows) of retention in percent: one row per (setting, attack, fraction),
    one column per defense present."""
    defenses = _ordered((r.defense for r in rows), DEFENSES)
    cell = {(r.setting, r.attack, r.fraction, r.defense): r.retention for r in rows}
    out = []
    for setting in _ordered(r.setting for r in rows):
        mine = [r for r in rows if r.setting == setting]
        for attack in _ordered((r.attack for r in mine), attack_order):
            for fraction in sorted({r.fraction for r in mine if r.attack == attack}):
                line = [setting, attack, f"{100 * fraction:g}%"]
                for d in defenses:
                    v = cell.get((setting, attack, fraction, d))
                    line.append("-" if v is None else f"{100 * v:.1f}%")
                out.append(line)
    return ["setting", "attack", "malicious", *defenses], out


def write_retention_plots(rows, out_dir, attack_order=()) -> list:
    """One PNG per setting (retention_<setting>.png): a panel per attack kind, retention
    against the malicious fraction, a line per defense, the 99% target dashed."""
    from pathlib import Path

    from matplotlib.figure import Figure

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    defenses = _ordered((r.defense for r in rows), DEFENSES)
    for setting in _ordered(r.setting for r in rows):
        mine = [r for r in rows if r.setting == setting]
        attacks = _ordered((r.attack for r in mine), attack_order)
        ncols = min(4, len(attacks))
        nrows = -(-len(attacks) // ncols)
        fig = Figure(figsize=(3.6 * ncols, 3.0 * nrows + 0.6), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
        for ax, attack in zip(axes.flat, attacks):
            for d in defenses:
                pts = sorted((r.fraction, r.retention) for r in mine
                             if r.attack == attack and r.defense == d)
                if pts:
                    x, y = zip(*pts)
                    ax.plot(100 * np.array(x), 100 * np.array(y), marker="o", ms=4, label=d,
                            linewidth=2.2 if d == "proofs" else 1.2)
            ax.axhline(99, color="gray", linestyle="--", linewidth=0.8)
            ax.set_title(attack)
            ax.set_xlabel("malicious nodes (%)")
            ax.grid(alpha=0.3)
        for ax in axes[:, 0]:
            ax.set_ylabel("retention (%)")
        for ax in list(axes.flat)[len(attacks):]:
            ax.set_visible(False)
        handles, labels = axes.flat[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=len(labels))
        fig.suptitle(f"Accuracy retention under attack ({setting}; clean FedAvg "
                     f"{mine[0].clean:.3f}; dashed: 99%)")
        path = out / f"retention_{setting.replace('#', '_')}.png"
        fig.savefig(path, dpi=110)
        written.append(path)
    return written


__all__ = ["DEFENSES", "RetentionRow", "clean_accuracy", "defense_of", "retention_rows",
           "retention_table", "write_retention_plots"]
