"""Accuracy retention under attack, from results files alone.

Retention = final test accuracy of a run under attack / final test accuracy of clean FedAvg
(no attack) in the same setting.  A *setting* is everything in a run's stored configuration
but the attack, the aggregation and where and how the run was launched; a *defense* is
"proofs" (FedAvg of the updates whose proofs verify) or, without proofs, the aggregator
("fedavg", "median", "trimmed_mean", "krum").  A clean baseline is a complete run with attack
kind "none" and FedAvg (the unproven one when both exist) of the same setting and seed.
Incomplete runs are left out.

Runs of several seeds (run.seed) in one setting make each table cell the mean retention over
the seeds with the range beside it: one run's retention moves by a point or two with which
nodes are malicious and which batches are drawn, more than the differences being measured.
"""
import json
from dataclasses import dataclass

import numpy as np

DEFENSES = ("proofs", "fedavg", "median", "trimmed_mean", "krum")
# Keys that do not change what is learned: how and where the run was launched.
_LAUNCH_KEYS = {("run", "name"), ("run", "output"), ("run", "backend"),
                ("run", "round_deadline_s"), ("nodes", "per_rank")}
_NOT_SETTING = {"attack", "aggregation", "faults"}
_SEED = ("run", "seed")


@dataclass(frozen=True)
class RetentionRow:
    setting: str                # e.g. "iid", "dirichlet0.5"
    attack: str
    fraction: float
    defense: str
    accuracy: float             # final accuracy under attack
    clean: float                # final accuracy of the clean baseline (same setting and seed)
    path: str
    seed: int = 0

    @property
    def retention(self) -> float:
        return self.accuracy / self.clean


def _setting_key(cfg: dict) -> str:
    kept = {s: {k: v for k, v in values.items() if (s, k) not in _LAUNCH_KEYS | {_SEED}}
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


def final_accuracy(res):
    """The last round's accuracy of a complete run (loaded results); None while incomplete."""
    rounds = res.config.get("run", {}).get("rounds")
    if rounds is None or res.n_rounds < rounds or res.n_rounds == 0:
        return None
    return float(res.rounds["accuracy"][-1])


def retention_rows(results) -> list:
    """RetentionRow for every complete attacked run whose setting and seed have a clean
    baseline among `results` (loaded results files)."""
    settings, clean, attacked = {}, {}, []
    for res in results:
        cfg = res.config
        acc = final_accuracy(res)
        if not cfg or acc is None:
            continue
        key = _setting_key(cfg)
        seed = int(cfg.get("run", {}).get("seed", 0))
        settings.setdefault(key, _partition_label(cfg))
        attack = cfg.get("attack", {})
        defense = defense_of(cfg)
        if attack.get("kind", "none") == "none":
            if cfg.get("aggregation", {}).get("strategy", "fedavg") == "fedavg":
                # the unproven clean run is the baseline when there are both
                if (key, seed) not in clean or defense == "fedavg":
                    clean[key, seed] = acc
            continue
        attacked.append((key, seed, str(attack["kind"]), float(attack.get("fraction", 0.0)),
                         defense, acc, str(res.path)))
    # One label per setting; settings that share a partition label are numbered.
    labels, seen = {}, {}
    for key, label in settings.items():
        seen[label] = seen.get(label, 0) + 1
        labels[key] = label if seen[label] == 1 else f"{label}#{seen[label]}"
    return [RetentionRow(labels[key], attack, fraction, defense, acc, clean[key, seed], path,
                         seed)
            for key, seed, attack, fraction, defense, acc, path in attacked
            if clean.get((key, seed))]


def clean_accuracy(rows) -> dict:
    """setting label -> {seed: final accuracy of its clean baseline}, for RetentionRows."""
    out = {}
    for r in rows:
        out.setdefault(r.setting, {})[r.seed] = r.clean
    return out


def _clean_text(by_seed: dict) -> str:
    v = np.array(list(by_seed.values()))
    return f"{v.mean():.3f}" if v.size == 1 else \
        f"{v.mean():.3f} ({v.min():.3f}-{v.max():.3f}, {v.size} seeds)"


def clean_summary(rows) -> str:
    """The clean baselines in one line: "iid 0.877" for one seed, "iid 0.901 (0.877-0.922,
    6 seeds)" for several."""
    return ", ".join(f"{setting} {_clean_text(by_seed)}"
                     for setting, by_seed in sorted(clean_accuracy(rows).items()))


def seed_statistics(rows) -> dict:
    """(setting, attack, fraction, defense) -> (mean, min, max, number of seeds) of the
    retention over the seeds present."""
    by_cell = {}
    for r in rows:
        by_cell.setdefault((r.setting, r.attack, r.fraction, r.defense), {})[r.seed] = r.retention
    return {cell: (float(np.mean(list(v.values()))), min(v.values()), max(v.values()), len(v))
            for cell, v in by_cell.items()}


def _ordered(values, first=()):
    values = set(values)
    return [v for v in first if v in values] + sorted(values - set(first))


def retention_table(rows, attack_order=()) -> tuple:
    """(headers, table rows) of retention in percent: one row per (setting, attack, fraction),
    one column per defense present.  With several seeds a cell reads "mean% (min-max)" over
    its seeds and a "seeds" column counts them."""
    defenses = _ordered((r.defense for r in rows), DEFENSES)
    stats = seed_statistics(rows)
    several = any(n > 1 for *_, n in stats.values())
    out = []
    for setting in _ordered(r.setting for r in rows):
        mine = [r for r in rows if r.setting == setting]
        for attack in _ordered((r.attack for r in mine), attack_order):
            for fraction in sorted({r.fraction for r in mine if r.attack == attack}):
                line = [setting, attack, f"{100 * fraction:g}%"]
                cells = [stats.get((setting, attack, fraction, d)) for d in defenses]
                if several:
                    counts = sorted({c[3] for c in cells if c})
                    line.append("/".join(str(n) for n in counts))
                for c in cells:
                    if c is None:
                        line.append("-")
                    elif c[3] == 1:
                        line.append(f"{100 * c[0]:.1f}%")
                    else:
                        line.append(f"{100 * c[0]:.1f}% ({100 * c[1]:.1f}-{100 * c[2]:.1f})")
                out.append(line)
    headers = ["setting", "attack", "malicious", *(["seeds"] if several else []), *defenses]
    return headers, out


def write_retention_plots(rows, out_dir, attack_order=()) -> list:
    """One PNG per setting (retention_<setting>.png): a panel per attack kind, retention
    against the malicious fraction, a line per defense (the mean over seeds, error bars for
    their range), the 99% target dashed."""
    from pathlib import Path

    from matplotlib.figure import Figure

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    defenses = _ordered((r.defense for r in rows), DEFENSES)
    stats = seed_statistics(rows)
    for setting in _ordered(r.setting for r in rows):
        mine = [r for r in rows if r.setting == setting]
        attacks = _ordered((r.attack for r in mine), attack_order)
        ncols = min(4, len(attacks))
        nrows = -(-len(attacks) // ncols)
        fig = Figure(figsize=(3.6 * ncols, 3.0 * nrows + 0.6), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
        for ax, attack in zip(axes.flat, attacks):
            for j, d in enumerate(defenses):
                pts = sorted((f, *stats[setting, a, f, d][:3]) for (s, a, f, dd) in stats
                             if s == setting and a == attack and dd == d)
                if pts:
                    x, mean, lo, hi = (100 * np.array(v) for v in zip(*pts))
                    x = x + 0.6 * (j - (len(defenses) - 1) / 2)    # side by side, not on top
                    line, = ax.plot(x, mean, marker="o", ms=4, label=d, color=f"C{j}",
                                    linewidth=2.2 if d == "proofs" else 1.2)
                    if np.any(hi > lo):                 # the range over seeds
                        ax.errorbar(x, mean, yerr=[mean - lo, hi - mean], fmt="none",
                                    ecolor=line.get_color(), capsize=3, alpha=0.7)
            ax.set_xticks(sorted({100 * r.fraction for r in mine if r.attack == attack}))
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
                     f"{_clean_text(clean_accuracy(mine)[setting])}; dashed: 99%)")
        path = out / f"retention_{setting.replace('#', '_')}.png"
        fig.savefig(path, dpi=110)
        written.append(path)
    return written


__all__ = ["DEFENSES", "RetentionRow", "clean_accuracy", "clean_summary", "defense_of",
           "final_accuracy", "retention_rows", "retention_table", "seed_statistics", "write_retention_plots"]
