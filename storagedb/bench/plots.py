"""PNG plots of a benchmark run, drawn with matplotlib's Agg backend.

Three kinds, each written only when the run has the entries it needs:

* ``olap_time.png``: median time per query and system (log scale);
* ``oltp_ops.png``: operations per second per workload and system (log scale);
* ``bytes_on_disk.png``: size of lineitem per system, layout and compression.
"""

from __future__ import annotations

from pathlib import Path

from .results import Entry

__all__ = ["draw_plots"]

# Figures stay small (a few tens of KB) so that they can be committed.
_FIGSIZE = (9, 3.6)
_DPI = 80
# One colour per layout or system in every plot.
_COLOURS = {"nsm": "tab:blue", "dsm": "tab:orange", "pax": "tab:green", "sqlite": "tab:gray", "duckdb": "black"}


def _colour(entry: Entry) -> str:
    return _COLOURS.get(entry.layout or entry.system, "tab:purple")


def draw_plots(entries: list[Entry], out: Path) -> list[Path]:
    """Draw every plot the entries allow into ``out``; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    written = []
    olap = [e for e in entries if e.suite == "olap" and e.median_s and e.query != "load"]
    if olap:
        written.append(
            _grouped_bars(
                olap,
                lambda e: e.median_s,
                "median time per query (s, log scale; lower is better)",
                out / "olap_time.png",
            )
        )
    oltp = [e for e in entries if e.suite == "oltp" and e.ops_per_s]
    if oltp:
        written.append(
            _grouped_bars(
                oltp, lambda e: e.ops_per_s, "operations per second (log scale; higher is better)", out / "oltp_ops.png"
            )
        )
    sizes = [e for e in entries if e.query.startswith("bytes_on_disk") and e.extra.get("bytes")]
    if sizes:
        written.append(_sizes(sizes, out / "bytes_on_disk.png"))
    return written


def _grouped_bars(entries: list[Entry], value, ylabel: str, path: Path) -> Path:
    import matplotlib.pyplot as plt

    # Variants (q6_uncompressed, get_absent_16seg) get their own group next to their base query.
    groups = list(dict.fromkeys(e.query for e in entries))
    series = list(dict.fromkeys(e.label for e in entries))
    colours = {e.label: _colour(e) for e in entries}
    width = 0.8 / max(len(series), 1)
    figure, axes = plt.subplots(
        figsize=(max(_FIGSIZE[0], 0.55 * len(groups) * max(1, len(series) / 3)), _FIGSIZE[1]), dpi=_DPI
    )
    for index, name in enumerate(series):
        xs, ys = [], []
        for position, group in enumerate(groups):
            for entry in entries:
                if entry.query == group and entry.label == name:
                    xs.append(position + (index - (len(series) - 1) / 2) * width)
                    ys.append(value(entry))
        axes.bar(xs, ys, width=width, label=name, color=colours[name])
    axes.set_yscale("log")
    axes.set_xticks(range(len(groups)))
    axes.set_xticklabels(groups, rotation=30, ha="right", fontsize=8)
    axes.set_ylabel(ylabel, fontsize=8)
    axes.tick_params(axis="y", labelsize=8)
    axes.legend(fontsize=7, ncol=min(len(series), 6), loc="upper center", bbox_to_anchor=(0.5, 1.18), frameon=False)
    axes.grid(axis="y", which="major", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def _sizes(entries: list[Entry], path: Path) -> Path:
    import matplotlib.pyplot as plt

    def name(entry: Entry) -> str:
        if entry.system == "storagedb":
            return f"{entry.layout} {entry.extra.get('compression', 'auto')}"
        return entry.system

    ordered = sorted(entries, key=lambda e: (e.system != "storagedb", e.layout or "", name(e)))
    figure, axes = plt.subplots(figsize=_FIGSIZE, dpi=_DPI)
    bars = axes.bar(range(len(ordered)), [e.extra["bytes"] / 1e6 for e in ordered], color=[_colour(e) for e in ordered])
    axes.bar_label(bars, fmt="%.1f", fontsize=7)
    axes.set_xticks(range(len(ordered)))
    axes.set_xticklabels([name(e) for e in ordered], rotation=30, ha="right", fontsize=8)
    axes.set_ylabel("lineitem on disk (MB; lower is better)", fontsize=8)
    axes.tick_params(axis="y", labelsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path
