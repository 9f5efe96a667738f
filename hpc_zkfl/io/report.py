"""`hpc-zkfl report RESULTS.h5 [MORE.h5 ...] [--out DIR]`: a plain-text summary, one row per
results file, and PNG plots that put the files side by side (accuracy per round, proof-time
distribution, rejections per attack kind).

Counting conventions (the same in the table and the plots): an update is *rejected* when it
arrived but was not aggregated (reject_reason neither ACCEPTED nor LATE nor IDLE; NOT_SELECTED by
an unproven robust aggregator counts too); a *late* update is counted apart, and a node that was
not among a round's participants (IDLE) sent nothing to count.  Rejected honest
updates are false rejections.
"""
from pathlib import Path

import numpy as np

from hpc_zkfl.names import DATA_POISONING, MODEL_POISONING, PRIVATE_ONLY_ATTACKS

from .results import RejectReason, Results, load_results
from .retention import clean_summary, retention_rows, retention_table, write_retention_plots

PLOT_FILES = ("accuracy.png", "proof_time.png", "rejections_by_attack.png")


def _config_value(config: dict, dotted: str, default="-"):
    """config["a"]["b"] for "a.b", or default when any level is missing or not a table."""
    value = config
    for key in dotted.split("."):
        if not isinstance(value, dict) or value.get(key) is None:
            return default
        value = value[key]
    return value


def _fmt(value, spec: str) -> str:
    """value formatted with spec, "-" for a missing or non-finite figure."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "-"
    return format(value, spec)


def rejected_updates(res: Results) -> np.ndarray:
    """(rounds, nodes) bool: the update arrived and was not aggregated."""
    return ~res.nodes["accepted"] & ~res.nodes["late"] & \
        (res.nodes["reject_reason"] != RejectReason.IDLE)


def _measured(a: np.ndarray) -> np.ndarray:
    """The entries that hold a measurement: the writers store NaN or 0 for "none"."""
    return a[np.isfinite(a) & (a > 0)]


def _mean(a: np.ndarray):
    return float(a.mean()) if a.size else None


def _labels(results) -> list:
    """The file stem of each results file; the parent folder as well where stems repeat
    (e.g. several runs/*/results.h5)."""
    stems = [r.path.stem for r in results]
    return [f"{r.path.parent.name}/{s}" if stems.count(s) > 1 else s
            for r, s in zip(results, stems)]


def summary_row(res: Results, label: str = None) -> dict:
    """The figures of one results file, formatted for the table (column -> text)."""
    cfg = res.config
    rejected = rejected_updates(res)
    malicious = np.broadcast_to(res.malicious, rejected.shape)
    acc = res.rounds["accuracy"]
    fraction = _config_value(cfg, "attack.fraction")
    strategy = str(_config_value(cfg, "aggregation.strategy"))
    if _config_value(cfg, "aggregation.proofs", True) is False:
        strategy += " (no proofs)"
    return {
        "run": label or res.path.stem,
        "dataset": str(_config_value(cfg, "data.dataset")),
        "model": str(_config_value(cfg, "model.kind")),
        "attack": str(_config_value(cfg, "attack.kind")),
        "fraction": _fmt(fraction, "g") if isinstance(fraction, (int, float)) else str(fraction),
        "strategy": strategy,
        "rounds": str(res.n_rounds),
        "final acc": _fmt(float(acc[-1]) if acc.size else None, ".4f"),
        "best acc": _fmt(float(np.nanmax(acc)) if np.isfinite(acc).any() else None, ".4f"),
        "accepted": str(int(res.nodes["accepted"].sum())),
        "rejected": str(int(rejected.sum())),
        "late": str(int(res.nodes["late"].sum())),
        "rej malicious": str(int((rejected & malicious).sum())),
        "rej honest": str(int((rejected & ~malicious).sum())),
        "proof s/node": _fmt(_mean(_measured(res.nodes["proof_time"])), ".3f"),
        "verify ms/node": _fmt(None if (v := _mean(_measured(res.nodes["verify_time"]))) is None
                               else 1e3 * v, ".2f"),
        "round s": _fmt(_mean(res.rounds["time_total"][np.isfinite(res.rounds["time_total"])]),
                        ".2f"),
    }


def _reason_line(res: Results, label: str) -> str:
    codes, counts = np.unique(res.nodes["reject_reason"], return_counts=True)
    names = res.reason_names
    parts = [f"{names[c] if 0 <= c < len(names) else c} {n}"
             for c, n in zip(codes.tolist(), counts.tolist()) if c != RejectReason.ACCEPTED]
    return f"  {label}: {', '.join(parts) if parts else 'none'}"


def text_table(headers, rows, right_from: int) -> str:
    """Columns padded to their widest cell; columns from index right_from on right-aligned."""
    width = [max(len(h), *(len(r[j]) for r in rows)) for j, h in enumerate(headers)]
    def line(cells):
        return "  ".join(c.rjust(width[j]) if j >= right_from else c.ljust(width[j])
                         for j, c in enumerate(cells)).rstrip()
    return "\n".join([line(headers), "  ".join("-" * w for w in width)] +
                     [line(r) for r in rows])


def summarize(results) -> str:
    """A plain-text table, one row per results file, then each file's rejections by reason."""
    results = list(results)
    if not results:
        return "(no results files)"
    labels = _labels(results)
    rows = [summary_row(r, label) for r, label in zip(results, labels)]
    cols = list(rows[0])
    lines = [text_table(cols, [[r[c] for c in cols] for r in rows], cols.index("rounds"))]
    lines += ["", "updates not aggregated, by reason (all rounds):"]
    lines += [_reason_line(r, label) for r, label in zip(results, labels)]
    return "\n".join(lines)


_MAX_LEGEND = 12                # more files than this: curves without a legend (a sweep)


def _attack_order(kinds) -> list:
    kinds = set(kinds)
    return (["none"] if "none" in kinds else []) + sorted(kinds - {"none"})


def write_plots(results, out_dir) -> list:
    """Write PLOT_FILES into out_dir (created); the paths written.  Uses matplotlib's Figure
    directly (Agg), so no display and no pyplot state are involved."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    results = list(results)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    labels = _labels(results)
    written = []

    def save(fig, name):
        path = out / name
        fig.savefig(path, dpi=120)
        written.append(path)

    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    for r, label in zip(results, labels):
        ax.plot(r.rounds["round"], r.rounds["accuracy"], marker="o", ms=3, label=label)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("round")
    ax.set_ylabel("test accuracy")
    ax.set_title("Accuracy of the global model")
    ax.grid(alpha=0.3)
    if 0 < len(results) <= _MAX_LEGEND:
        ax.legend(fontsize="small")
    save(fig, PLOT_FILES[0])

    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    times = [_measured(r.nodes["proof_time"]) for r in results]
    everything = np.concatenate(times) if times else np.zeros(0)
    if everything.size:
        bins = np.histogram_bin_edges(everything, bins=30)
        for t, label in zip(times, labels):
            if t.size:
                ax.hist(t, bins=bins, histtype="step", linewidth=1.5,
                        label=f"{label} (n={t.size})")
        if len(results) <= _MAX_LEGEND:
            ax.legend(fontsize="small")
    else:
        ax.text(0.5, 0.5, "no proof times recorded", ha="center", va="center",
                transform=ax.transAxes)
    ax.set_xlabel("proof time per node and round (s)")
    ax.set_ylabel("proofs")
    ax.set_title("Proving time")
    save(fig, PLOT_FILES[1])

    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    kinds = _attack_order(k for r in results for k in r.attack)
    x = np.arange(len(kinds))
    bar = 0.8 / max(1, len(results))
    for j, (r, label) in enumerate(zip(results, labels)):
        per_node = rejected_updates(r).sum(axis=0)
        counts = [int(per_node[r.attack == k].sum()) for k in kinds]
        bars = ax.bar(x + (j - (len(results) - 1) / 2) * bar, counts, width=bar, label=label)
        ax.bar_label(bars, fontsize="x-small")
    ax.set_xticks(x, kinds)
    ax.set_xlabel("attack kind of the node")
    ax.set_ylabel("rejected updates (all rounds)")
    ax.set_title("Rejections by the node's attack kind")
    if 0 < len(results) <= _MAX_LEGEND:
        ax.legend(fontsize="small")
    save(fig, PLOT_FILES[2])
    return written


def run_report(paths, out_dir) -> str:
    """Load every results file (ResultsFileError on the first bad one), write the plots into
    out_dir and return the text to print: the summary and the plot paths."""
    results = [load_results(p) for p in paths]
    plots = write_plots(results, out_dir)
    text = summarize(results)
    rows = retention_rows(results)
    if rows:
        order = MODEL_POISONING + DATA_POISONING + PRIVATE_ONLY_ATTACKS
        headers, table = retention_table(rows, order)
        text += (f"\n\naccuracy retention (final accuracy / clean FedAvg's of the same seed; "
                 f"clean: {clean_summary(rows)}):\n" + text_table(headers, table, 3))
        plots += write_retention_plots(rows, out_dir, order)
    return text + "\n\nplots:\n" + "\n".join(f"  {p}" for p in plots)


__all__ = ["PLOT_FILES", "rejected_updates", "run_report", "summarize", "summary_row", "text_table",
           "write_plots"]
