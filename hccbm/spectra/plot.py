"""Figures: raw vs processed spectrum with the He 2014 marker peaks annotated, and average
processed spectra by group (issue 8, item 5)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from numpy.typing import NDArray

from hccbm.spectra.markers import HE2014_MARKERS, Marker
from hccbm.spectra.peaks import PeakTable
from hccbm.spectra.quantify import average_by


def _annotate_markers(
    ax: plt.Axes, markers: tuple[Marker, ...], tolerance: float, lo: float, hi: float
) -> None:
    ymax = ax.get_ylim()[1]
    for k, mk in enumerate(markers):
        if not lo <= mk.mz <= hi:
            continue
        ax.axvspan(mk.mz * (1 - tolerance), mk.mz * (1 + tolerance), color="tab:red", alpha=0.12)
        ax.text(
            mk.mz,
            ymax * (0.97 - 0.09 * (k % 3)),
            f"{mk.mz:g}\n{mk.name.split('_')[0]}",
            fontsize=6.5,
            ha="center",
            va="top",
            color="darkred",
        )


def plot_spectra(
    out: str | Path,
    raw_mass: NDArray[np.floating],
    raw_intensity: NDArray[np.floating],
    mass: NDArray[np.floating],
    processed: NDArray[np.floating],
    groups: list[str],
    peaks: PeakTable | None = None,
    sample: int = 0,
    sample_label: str = "",
    zoom: tuple[float, float] = (1400.0, 3000.0),
    markers: tuple[Marker, ...] = HE2014_MARKERS,
    tolerance: float = 0.002,
) -> Path:
    """Four panels: raw spectrum ``sample``; its processed version (detected peaks marked);
    processed zoom on ``zoom`` with marker windows; mean processed spectrum per group (zoom)."""
    fig, axes = plt.subplots(4, 1, figsize=(11, 13), constrained_layout=True)
    ax = axes[0]
    ax.plot(raw_mass, raw_intensity, lw=0.5, color="0.3")
    ax.set(title=f"Raw spectrum {sample_label}", xlabel="m/z", ylabel="intensity (counts)")
    ax = axes[1]
    y = np.asarray(processed[sample])
    ax.plot(mass, y, lw=0.5, color="tab:blue")
    if peaks is not None:
        pm, pi = peaks.of(sample)
        ax.plot(pm, pi, "v", ms=3, color="tab:orange", label=f"{pm.size} detected peaks")
        ax.legend(loc="upper right", fontsize=8)
    ax.set(
        title="Processed (sqrt, Savitzky-Golay, SNIP, TIC, aligned)",
        xlabel="m/z",
        ylabel="normalised intensity",
    )
    lo, hi = zoom
    w = (mass >= lo) & (mass <= hi)
    ax = axes[2]
    ax.plot(mass[w], y[w], lw=0.7, color="tab:blue")
    if peaks is not None:
        pm, pi = peaks.of(sample)
        s = (pm >= lo) & (pm <= hi)
        ax.plot(pm[s], pi[s], "v", ms=4, color="tab:orange")
    ax.set_ylim(0, max(float(y[w].max()) * 1.35, 1e-12))
    _annotate_markers(ax, markers, tolerance, lo, hi)
    ax.set(
        title=f"Processed, {lo:g}-{hi:g} m/z, He 2014 marker windows (±{tolerance:g} rel.)",
        xlabel="m/z",
        ylabel="normalised intensity",
    )
    ax = axes[3]
    labels = [g or "all" for g in groups]
    means, uniq, _ = average_by(np.asarray(processed)[:, w], labels)
    for g, row in zip(uniq, means, strict=True):
        n = labels.count(g)
        ax.plot(mass[w], row, lw=0.8, label=f"{g} (n={n})")
    ax.set_ylim(0, float(means.max()) * 1.35)
    _annotate_markers(ax, markers, tolerance, lo, hi)
    ax.legend(loc="center right", fontsize=8)
    ax.set(title="Average processed spectrum by group", xlabel="m/z", ylabel="normalised intensity")
    path = Path(out)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
